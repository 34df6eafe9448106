//! A Roster gRPC server on 127.0.0.1:0 over a fresh SQLite file, and authenticated clients.

use std::sync::Arc;

use async_trait::async_trait;
use roster_domain::hashing::{Argon2id, HashingError, PasswordHash, PasswordHasher};
use roster_domain::ids::OrgId;
use roster_domain::service::{CreateApiKeyInput, Roster, Settings};
use roster_domain::values::Password;
use roster_grpc::pb;
use roster_grpc::pb::organization_service_client::OrganizationServiceClient;
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

/// Adds `authorization` metadata (or none) to every call.
#[derive(Clone, Debug)]
pub struct Auth(Option<AsciiMetadataValue>);

impl Interceptor for Auth {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request.metadata_mut().insert("authorization", value.clone());
        }
        Ok(request)
    }
}

pub type Users = UserServiceClient<InterceptedService<Channel, Auth>>;
pub type Orgs = OrganizationServiceClient<InterceptedService<Channel, Auth>>;

/// A running server. Dropping it shuts the server down.
pub struct TestServer {
    pub roster: Arc<Roster>,
    pub channel: Channel,
    platform_token: String,
    _shutdown: oneshot::Sender<()>,
    _dir: tempfile::TempDir,
}

impl TestServer {
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let storage = SqliteStorage::open(&dir.path().join("roster.db")).await.expect("open sqlite");
        storage.migrate().await.expect("migrate");
        let roster = Arc::new(Roster::new(Arc::new(storage), Arc::new(TestHasher), Settings::default()));
        let (_, secret) = roster.create_platform_key("test").await.expect("platform key");

        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let (shutdown, stopped) = oneshot::channel::<()>();
        tokio::spawn(roster_grpc::serve(listener, roster.clone(), async {
            let _ = stopped.await;
        }));
        // The socket is already listening, so connecting needs no wait for the server task.
        let channel = Endpoint::from_shared(format!("http://{addr}")).expect("uri").connect().await.expect("connect");
        Self { roster, channel, platform_token: secret.expose().to_owned(), _shutdown: shutdown, _dir: dir }
    }

    pub fn platform_token(&self) -> &str {
        &self.platform_token
    }

    fn auth(authorization: Option<&str>) -> Auth {
        Auth(authorization.map(|v| MetadataValue::try_from(v).expect("ASCII metadata")))
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
        let input = CreateApiKeyInput { name: Some("service".into()), expires_at: None };
        let (_, secret) = self.roster.create_service_key(&platform, org_id, input).await.expect("service key");
        secret.expose().to_owned()
    }
}

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
