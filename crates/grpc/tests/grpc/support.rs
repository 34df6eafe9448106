//! A Roster gRPC server on 127.0.0.1:0 over a fresh SQLite file, with a clock that moves
//! only when a test says so, and authenticated clients.

use std::sync::Arc;

use async_trait::async_trait;
use roster_domain::hashing::{Argon2id, HashingError, PasswordHash, PasswordHasher};
use roster_domain::ids::OrgId;
use roster_domain::mocks::FixedClock;
use roster_domain::outbox::Mail;
use roster_domain::ports::Outbox as _;
use roster_domain::service::{CreateApiKeyInput, Roster, Settings};
use roster_domain::values::Password;
use roster_grpc::pb;
use roster_grpc::pb::api_key_service_client::ApiKeyServiceClient;
use roster_grpc::pb::invitation_service_client::InvitationServiceClient;
use roster_grpc::pb::organization_service_client::OrganizationServiceClient;
use roster_grpc::pb::permission_grant_service_client::PermissionGrantServiceClient;
use roster_grpc::pb::user_service_client::UserServiceClient;
use roster_sqlite::SqliteStorage;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::service::Interceptor;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Status};
use tonic_types::StatusExt as _;

/// Argon2id off the async workers, as the app's hasher does.
#[derive(Debug)]
struct TestHasher;

#[async_trait]
impl PasswordHasher for TestHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashingError> {
        let raw = password.expose().to_owned();
        tokio::task::spawn_blocking(move || Argon2id::owasp().hash_blocking(&raw)).await.expect("hashing task")
    }

    async fn verify(&self, candidate: &str, hash: &PasswordHash) -> bool {
        let (candidate, hash) = (candidate.to_owned(), hash.clone());
        tokio::task::spawn_blocking(move || Argon2id::owasp().verify_blocking(&candidate, &hash))
            .await
            .expect("verification task")
    }
}

/// Adds `authorization` metadata (or none), and optionally `x-request-id`, to every call.
#[derive(Clone, Debug)]
pub struct Auth {
    authorization: Option<AsciiMetadataValue>,
    request_id: Option<AsciiMetadataValue>,
}

impl Auth {
    /// The same, sending `x-request-id: <id>` too.
    pub fn with_request_id(mut self, id: &str) -> Self {
        self.request_id = Some(MetadataValue::try_from(id).expect("ASCII metadata"));
        self
    }
}

impl Interceptor for Auth {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.authorization {
            request.metadata_mut().insert("authorization", value.clone());
        }
        if let Some(value) = &self.request_id {
            request.metadata_mut().insert("x-request-id", value.clone());
        }
        Ok(request)
    }
}

/// A channel that adds [`Auth`]'s metadata: wrap it in any generated client.
pub type Authed = InterceptedService<Channel, Auth>;
pub type Users = UserServiceClient<Authed>;
pub type Orgs = OrganizationServiceClient<Authed>;
pub type Invitations = InvitationServiceClient<Authed>;

/// `Bearer <token>`.
pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// A running server. Dropping it shuts the server down.
pub struct TestServer {
    pub roster: Arc<Roster>,
    pub channel: Channel,
    /// The server's clock, at 2025-01-01T00:00:00Z until a test moves it.
    pub clock: Arc<FixedClock>,
    /// The server's storage, for what no API shows (the queued emails).
    pub storage: SqliteStorage,
    platform_token: String,
    _shutdown: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> Self {
        Self::start_with(Settings::default()).await
    }

    pub async fn start_with(settings: Settings) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let storage = SqliteStorage::open(&dir.path().join("roster.db")).await.expect("open sqlite");
        storage.migrate().await.expect("migrate");
        let clock = Arc::new(FixedClock::default());
        let roster = Roster::new(Arc::new(storage.clone()), Arc::new(TestHasher), settings).with_clock(clock.clone());
        let roster = Arc::new(roster);
        let (_, secret) = roster.create_platform_key("test").await.expect("platform key");

        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(roster_grpc::serve(listener, roster.clone(), async {
            let _ = stopped.await;
        }));
        // The socket is already listening, so connecting needs no wait for the server task.
        let channel = Endpoint::from_shared(format!("http://{addr}")).expect("uri").connect().await.expect("connect");
        Self {
            roster,
            channel,
            clock,
            storage,
            platform_token: secret.expose().to_owned(),
            _shutdown: shutdown,
            _dir: dir,
        }
    }

    pub fn platform_token(&self) -> &str {
        &self.platform_token
    }

    pub fn auth(authorization: Option<&str>) -> Auth {
        Auth {
            authorization: authorization.map(|v| MetadataValue::try_from(v).expect("ASCII metadata")),
            request_id: None,
        }
    }

    /// The channel, sending `authorization: <value>` or no header at all, for any client:
    /// `RoleServiceClient::new(server.authed(Some(&bearer(token))))`.
    pub fn authed(&self, authorization: Option<&str>) -> Authed {
        InterceptedService::new(self.channel.clone(), Self::auth(authorization))
    }

    /// The channel with the platform key.
    pub fn platform(&self) -> Authed {
        self.authed(Some(&bearer(&self.platform_token)))
    }

    /// A user client sending `authorization: <value>`, or no header at all.
    pub fn users_with(&self, authorization: Option<&str>) -> Users {
        UserServiceClient::with_interceptor(self.channel.clone(), Self::auth(authorization))
    }

    /// A user client with the platform key.
    pub fn users(&self) -> Users {
        self.users_with(Some(&format!("Bearer {}", self.platform_token)))
    }

    /// An organization client sending `authorization: <value>`, or no header at all.
    pub fn orgs_with(&self, authorization: Option<&str>) -> Orgs {
        OrganizationServiceClient::with_interceptor(self.channel.clone(), Self::auth(authorization))
    }

    /// An organization client with the platform key.
    pub fn orgs(&self) -> Orgs {
        self.orgs_with(Some(&format!("Bearer {}", self.platform_token)))
    }

    /// An invitation client sending `authorization: <value>`, or no header at all
    /// (`AcceptInvitation` needs none).
    pub fn invitations_with(&self, authorization: Option<&str>) -> Invitations {
        InvitationServiceClient::new(self.authed(authorization))
    }

    /// An invitation client with the platform key.
    pub fn invitations(&self) -> Invitations {
        self.invitations_with(Some(&bearer(&self.platform_token)))
    }

    /// The emails queued so far, oldest first.
    pub async fn mails(&self) -> Vec<(String, Mail)> {
        let messages = self.storage.list_messages(None, 200).await.expect("list outbox");
        messages.into_iter().filter_map(|m| Some((m.recipient.as_str().to_owned(), m.mail?))).collect()
    }

    /// The token of the latest invitation emailed to `email`: the last segment of the
    /// email's `/invite/<token>` link.
    pub async fn invitation_token(&self, email: &str) -> String {
        let link = self
            .mails()
            .await
            .into_iter()
            .rev()
            .find_map(|(to, mail)| match mail {
                Mail::Invitation { accept_url, .. } if to == email => Some(accept_url),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no invitation emailed to {email}"));
        let (_, token) = link.rsplit_once("/invite/").unwrap_or_else(|| panic!("not an invitation link: {link}"));
        token.to_owned()
    }

    /// Creates an organization with the platform key.
    pub async fn create_org(&self, slug: &str) -> pb::Organization {
        self.orgs()
            .create_organization(pb::CreateOrganizationRequest {
                slug: slug.to_owned(),
                name: format!("Org {slug}"),
                ..Default::default()
            })
            .await
            .expect("create organization")
            .into_inner()
    }

    /// A service key of `org`, as a bearer token.
    pub async fn service_token(&self, org: &pb::Organization) -> String {
        let platform = self.roster.authenticate(&self.platform_token).await.expect("platform principal");
        let org_id: OrgId = org.id.parse().expect("org id");
        let input = CreateApiKeyInput { name: Some("service".into()), ..Default::default() };
        let (_, secret) = self.roster.create_service_key(&platform, org_id, input).await.expect("service key");
        secret.expose().to_owned()
    }
}

/// Creates an active user (with a password, so one hash) holding the role with this key,
/// with the platform key.
pub async fn active_user(server: &TestServer, org: &pb::Organization, email: &str, role: &str) -> pb::User {
    server
        .users()
        .create_user(pb::CreateUserRequest {
            organization_id: org.id.clone(),
            email: email.to_owned(),
            name: Some(email.split('@').next().unwrap_or(email).to_owned()),
            password: Some(PASSWORD.to_owned()),
            role: Some(role.to_owned()),
            ..Default::default()
        })
        .await
        .expect("create active user")
        .into_inner()
        .user
        .expect("user in response")
}

/// The password of [`active_user`]s.
pub const PASSWORD: &str = "correct horse battery staple";

/// Creates an invited user (no password: no hashing) with the platform key.
pub async fn create_user(users: &mut Users, org: &pb::Organization, email: &str) -> pb::User {
    users
        .create_user(pb::CreateUserRequest {
            organization_id: org.id.clone(),
            email: email.to_owned(),
            name: Some(email.split('@').next().unwrap_or(email).to_owned()),
            ..Default::default()
        })
        .await
        .expect("create user")
        .into_inner()
        .user
        .expect("user in response")
}

/// `ErrorInfo.reason`, checking the domain on the way.
pub fn reason(status: &Status) -> String {
    let details = status.get_error_details();
    let info = details.error_info().unwrap_or_else(|| panic!("no ErrorInfo in {status:?}"));
    assert_eq!(info.domain, "roster");
    info.reason.clone()
}

/// The fields of the `BadRequest` violations.
pub fn violations(status: &Status) -> Vec<String> {
    let details = status.get_error_details();
    let bad = details.bad_request().unwrap_or_else(|| panic!("no BadRequest in {status:?}"));
    bad.field_violations.iter().map(|v| v.field.clone()).collect()
}

/// A service key of `org` limited to `scope`, made with the platform key.
pub async fn scoped_service_token(server: &TestServer, org: &pb::Organization, scope: &[&str]) -> String {
    ApiKeyServiceClient::new(server.platform())
        .create_api_key(pb::CreateApiKeyRequest {
            organization_id: org.id.clone(),
            name: "scoped".into(),
            scope: Some(pb::PermissionScope { permissions: scope.iter().map(|p| (*p).to_owned()).collect() }),
            ..Default::default()
        })
        .await
        .expect("scoped service key")
        .into_inner()
        .secret
}

/// Grants `permission` to `user` directly, with the platform key.
pub async fn grant(
    server: &TestServer,
    org: &pb::Organization,
    user: &pb::User,
    permission: &str,
) -> pb::PermissionGrant {
    PermissionGrantServiceClient::new(server.platform())
        .create_permission_grant(pb::CreatePermissionGrantRequest {
            organization_id: org.id.clone(),
            user_id: user.id.clone(),
            permission: permission.to_owned(),
            expires_at: None,
        })
        .await
        .expect("grant")
        .into_inner()
}
