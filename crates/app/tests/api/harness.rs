//! Starts the service for one test and speaks to it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use axum::body::Body;
use chrono::{DateTime, Duration, Utc};
use http::{HeaderMap, Method, Request, StatusCode};
use http_body_util::BodyExt as _;
use roster::server::rest_router;
use roster::wiring::Backend;
use roster_domain::StoreError;
use roster_domain::clock::{Clock, SystemClock};
use roster_domain::ids::MessageId;
use roster_domain::outbox::{Claim, Mail, OutboxMessage, RetryPolicy};
use roster_domain::ports::Outbox;
use roster_domain::service::{Roster, Settings};
use roster_mail::{SmtpSettings, SmtpTransport, Worker, WorkerConfig};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use tower::ServiceExt as _;

/// The wall clock moved forward by however much a test asked, so sessions, grants and
/// login locks can expire without waiting.
#[derive(Debug, Default)]
pub struct TestClock {
    offset: Mutex<Duration>,
}

impl TestClock {
    /// Moves the service's time forward.
    pub fn advance(&self, by: Duration) {
        *self.offset.lock().unwrap_or_else(PoisonError::into_inner) += by;
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        SystemClock.now() + *self.offset.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Where the service's email goes.
#[derive(Debug, Clone, Default)]
pub enum MailTo {
    /// Nowhere: messages stay queued in the outbox, where tests read them.
    #[default]
    Outbox,
    /// This SMTP server, through the delivery worker `roster serve` runs (fast retries).
    Smtp(String),
}

/// One running service on a fresh database.
pub struct TestApp {
    router: axum::Router,
    /// The REST server's address (the same router also serves in-process requests).
    pub http_addr: SocketAddr,
    /// The gRPC server's address.
    pub grpc_addr: SocketAddr,
    /// A platform key's secret.
    pub platform_key: String,
    /// The service's clock.
    pub clock: Arc<TestClock>,
    backend: Backend,
    sent: tokio::sync::watch::Receiver<usize>,
    _stop: Vec<oneshot::Sender<()>>,
    _dir: Option<tempfile::TempDir>,
}

/// The outbox as the worker sees it, counting the outcomes it records, so tests can await
/// "the worker recorded a delivery" instead of sleeping.
struct RecordingOutbox {
    inner: Arc<dyn Outbox>,
    sent: tokio::sync::watch::Sender<usize>,
}

#[async_trait::async_trait]
impl Outbox for RecordingOutbox {
    async fn claim_due_messages(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<OutboxMessage>, StoreError> {
        self.inner.claim_due_messages(now, lease, limit).await
    }

    async fn mark_sent(
        &self,
        claims: &[Claim],
        at: DateTime<Utc>,
        via: &str,
        erase_mail: bool,
    ) -> Result<Vec<MessageId>, StoreError> {
        let marked = self.inner.mark_sent(claims, at, via, erase_mail).await?;
        self.sent.send_modify(|n| *n += marked.len());
        Ok(marked)
    }

    async fn mark_failed(
        &self,
        id: MessageId,
        attempts: u32,
        error: &str,
        retry_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        self.inner.mark_failed(id, attempts, error, retry_at).await
    }

    async fn list_messages(&self, after: Option<MessageId>, limit: u32) -> Result<Vec<OutboxMessage>, StoreError> {
        self.inner.list_messages(after, limit).await
    }

    async fn get_message(&self, id: MessageId) -> Result<Option<OutboxMessage>, StoreError> {
        self.inner.get_message(id).await
    }
}

/// A delivery worker sending to `url` on the test clock, retrying quickly; `sent` counts
/// the deliveries it records.
fn smtp_worker(backend: &Backend, url: &str, clock: Arc<TestClock>, sent: tokio::sync::watch::Sender<usize>) -> Worker {
    let smtp = SmtpTransport::new(&SmtpSettings {
        url: url.to_owned().into(),
        from: "Roster <roster@test.example>".to_owned(),
        timeout: std::time::Duration::from_secs(10),
    })
    .expect("smtp transport");
    let config = WorkerConfig {
        poll_interval: std::time::Duration::from_millis(50),
        lease: std::time::Duration::from_secs(30),
        batch: 16,
        retry: RetryPolicy { base: Duration::milliseconds(20), max: Duration::milliseconds(200), max_attempts: 10 },
    };
    let outbox = Arc::new(RecordingOutbox { inner: backend.outbox(), sent });
    Worker::new(outbox, Arc::new(smtp), clock, config)
}

/// An RFC 3339 time (UTC, `Z`) for request bodies and query strings.
pub fn at(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The password of the users [`TestApp::active_user`] makes.
pub const PASSWORD: &str = "correct horse battery staple";

/// A response, its body parsed as JSON (`Value::Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    /// `body.data`.
    pub fn data(&self) -> &Value {
        &self.body["data"]
    }

    /// `body.code` of a problem.
    pub fn code(&self) -> &str {
        self.body["code"].as_str().unwrap_or_default()
    }

    /// The field names of a validation problem.
    pub fn fields(&self) -> Vec<String> {
        self.body["errors"]
            .as_array()
            .map(|errors| errors.iter().filter_map(|e| e["field"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default()
    }
}

impl TestApp {
    pub async fn sqlite() -> Self {
        Self::sqlite_with(MailTo::Outbox).await
    }

    pub async fn postgres() -> Self {
        Self::postgres_with(MailTo::Outbox).await
    }

    pub async fn sqlite_with(mail: MailTo) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let backend = Backend::sqlite(&dir.path().join("roster.db")).await.expect("open sqlite");
        Self::start(backend, Some(dir), mail).await
    }

    pub async fn postgres_with(mail: MailTo) -> Self {
        let storage = roster_postgres::testing::fresh_database().await;
        Self::start(Backend::Postgres(storage), None, mail).await
    }

    async fn start(backend: Backend, dir: Option<tempfile::TempDir>, mail: MailTo) -> Self {
        backend.migrate().await.expect("migrate");
        let clock = Arc::new(TestClock::default());
        let http = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let http_addr = http.local_addr().expect("addr");
        let mut roster =
            Roster::new(backend.storage(), Arc::new(roster::hasher::BlockingHasher::new(2)), Settings::default())
                .with_clock(clock.clone())
                .with_public_url(format!("http://{http_addr}"));
        let mut stops = Vec::new();
        let (sent, sent_count) = tokio::sync::watch::channel(0);
        if let MailTo::Smtp(url) = mail {
            let worker = smtp_worker(&backend, &url, clock.clone(), sent);
            roster = roster.with_mail_signal(worker.mail_signal());
            let (stop, stopped) = oneshot::channel::<()>();
            stops.push(stop);
            tokio::spawn(async move {
                worker
                    .run(async move {
                        let _ = stopped.await;
                    })
                    .await;
            });
        }
        let roster = Arc::new(roster);
        let (_, secret) = roster.create_platform_key("test").await.expect("platform key");
        let metrics = roster::telemetry::metrics_handle();
        let router = rest_router(roster.clone(), backend.clone(), metrics);
        let (stop, stopped) = oneshot::channel::<()>();
        stops.push(stop);
        let app = router.clone().into_make_service_with_connect_info::<SocketAddr>();
        tokio::spawn(async move {
            let _ = axum::serve(http, app)
                .with_graceful_shutdown(async move {
                    let _ = stopped.await;
                })
                .await;
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let grpc_addr = listener.local_addr().expect("addr");
        let (stop, stopped) = oneshot::channel::<()>();
        stops.push(stop);
        tokio::spawn(roster_grpc::serve(listener, roster.clone(), async move {
            let _ = stopped.await;
        }));
        Self {
            router,
            http_addr,
            grpc_addr,
            platform_key: secret.expose().to_owned(),
            clock,
            backend,
            sent: sent_count,
            _stop: stops,
            _dir: dir,
        }
    }

    /// The outbox, as the delivery worker sees it.
    pub fn outbox(&self) -> Arc<dyn Outbox> {
        self.backend.outbox()
    }

    /// Waits (30 s at most) until the delivery worker has recorded `n` deliveries.
    pub async fn deliveries_recorded(&self, n: usize) {
        let mut sent = self.sent.clone();
        let waited = tokio::time::timeout(std::time::Duration::from_secs(30), sent.wait_for(|count| *count >= n)).await;
        assert!(matches!(waited, Ok(Ok(_))), "the worker did not record {n} deliveries within 30 s");
    }

    /// Every email queued for `recipient`, oldest first.
    pub async fn mail_to(&self, recipient: &str) -> Vec<OutboxMessage> {
        let all = self.outbox().list_messages(None, 200).await.expect("outbox");
        all.into_iter().filter(|m| m.recipient.as_str() == recipient).collect()
    }

    /// The link of the last invitation emailed to `recipient`.
    pub async fn invitation_link(&self, recipient: &str) -> String {
        let mail = self.mail_to(recipient).await.into_iter().rev().find_map(|m| m.mail);
        match mail {
            Some(Mail::Invitation { accept_url, .. }) => accept_url,
            other => panic!("no invitation email to {recipient}: {other:?}"),
        }
    }

    /// The token of the last invitation emailed to `recipient`.
    pub async fn invitation_token(&self, recipient: &str) -> String {
        let link = self.invitation_link(recipient).await;
        link.rsplit('/').next().expect("token").to_owned()
    }

    /// The service's current time.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Sends a request with the platform key.
    pub async fn call(&self, method: Method, uri: &str, body: Option<Value>) -> Reply {
        self.call_as(&self.platform_key, method, uri, body).await
    }

    /// Sends a request with `key` (empty: no Authorization header).
    pub async fn call_as(&self, key: &str, method: Method, uri: &str, body: Option<Value>) -> Reply {
        let mut request = Request::builder().method(method).uri(uri);
        if !key.is_empty() {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        let request = match body {
            Some(json) => {
                request.header("content-type", "application/json").body(Body::from(json.to_string())).expect("request")
            }
            None => request.body(Body::empty()).expect("request"),
        };
        self.send(request).await
    }

    /// Sends a request with `key` and an `x-request-id`.
    pub async fn call_traced(
        &self,
        key: &str,
        request_id: &str,
        method: Method,
        uri: &str,
        body: Option<Value>,
    ) -> Reply {
        let mut request = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {key}"))
            .header("x-request-id", request_id);
        if body.is_some() {
            request = request.header("content-type", "application/json");
        }
        let body = body.map_or_else(Body::empty, |json| Body::from(json.to_string()));
        self.send(request.body(body).expect("request")).await
    }

    /// Sends any request.
    pub async fn send(&self, request: Request<Body>) -> Reply {
        let response = self.router.clone().oneshot(request).await.expect("router is infallible");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.expect("body").to_bytes();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&bytes).into_owned()))
        };
        Reply { status, headers, body }
    }

    /// Creates an organization and returns its id.
    pub async fn org(&self, slug: &str, extra: Value) -> String {
        let mut body = serde_json::json!({"slug": slug, "name": format!("Org {slug}")});
        if let (Some(body), Some(extra)) = (body.as_object_mut(), extra.as_object()) {
            body.extend(extra.clone());
        }
        let reply = self.call(Method::POST, "/v1/organizations", Some(body)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        reply.data()["id"].as_str().expect("org id").to_owned()
    }

    /// Creates an invited user and returns its JSON.
    pub async fn user(&self, org: &str, email: &str) -> Value {
        let reply = self
            .call(
                Method::POST,
                &format!("/v1/organizations/{org}/users"),
                Some(serde_json::json!({"email": email, "name": email})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        reply.data().clone()
    }

    /// The id of the organization's role with this key.
    pub async fn role_id(&self, org: &str, key: &str) -> String {
        let roles = self.call(Method::GET, &format!("/v1/organizations/{org}/roles"), None).await;
        assert_eq!(roles.status, StatusCode::OK, "{roles:?}");
        let role = roles.data().as_array().and_then(|all| all.iter().find(|r| r["key"] == key).cloned());
        role.and_then(|r| r["id"].as_str().map(str::to_owned)).unwrap_or_else(|| panic!("no role {key}: {roles:?}"))
    }

    /// Creates an active user with [`PASSWORD`] holding the roles with these keys, and
    /// returns its id.
    pub async fn active_user(&self, org: &str, email: &str, roles: &[&str]) -> String {
        let mut role_ids = Vec::new();
        for key in roles {
            role_ids.push(self.role_id(org, key).await);
        }
        let body = json!({"email": email, "name": email, "password": PASSWORD, "role_ids": role_ids});
        let reply = self.call(Method::POST, &format!("/v1/organizations/{org}/users"), Some(body)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        reply.data()["id"].as_str().expect("user id").to_owned()
    }

    /// Logs in (`organization` is an id or a slug).
    pub async fn login(&self, organization: &str, email: &str, password: &str) -> Reply {
        let body = json!({"organization": organization, "email": email, "password": password});
        self.call_as("", Method::POST, "/v1/auth/login", Some(body)).await
    }

    /// Logs in with [`PASSWORD`] and returns the session token.
    pub async fn session(&self, organization: &str, email: &str) -> String {
        let reply = self.login(organization, email, PASSWORD).await;
        assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
        reply.data()["token"].as_str().expect("token").to_owned()
    }

    /// Makes a personal key for a user with `key` (the user's own session, say) and
    /// returns its JSON, secret included.
    pub async fn personal_key(&self, key: &str, org: &str, user: &str, scope: Option<Value>) -> Value {
        let mut body = json!({"name": "personal"});
        if let Some(scope) = scope {
            body["scope"] = scope;
        }
        let uri = format!("/v1/organizations/{org}/users/{user}/api-keys");
        let reply = self.call_as(key, Method::POST, &uri, Some(body)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        reply.data().clone()
    }

    /// Makes a service key for `org` and returns its secret.
    pub async fn service_key(&self, org: &str) -> String {
        let reply = self
            .call(Method::POST, &format!("/v1/organizations/{org}/api-keys"), Some(serde_json::json!({"name": "svc"})))
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
        reply.data()["secret"].as_str().expect("secret").to_owned()
    }
}
