//! The test harness: a router over a fresh SQLite database and a platform key.

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, Request, StatusCode, header};
use http_body_util::BodyExt as _;
use metrics_exporter_prometheus::PrometheusHandle;
use roster_domain::clock::Clock;
use roster_domain::hashing::PasswordHash;
use roster_domain::mocks::{FixedClock, MockPasswordHasher};
use roster_domain::outbox::Mail;
use roster_domain::ports::{Outbox as _, Storage};
use roster_domain::service::{Roster, Settings};
use roster_sqlite::SqliteStorage;
use serde_json::Value;
use tempfile::TempDir;
use tower::ServiceExt as _;

use crate::RestState;

/// One recorder per process: the HTTP metrics go to the global one.
pub(crate) fn metrics_handle() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = crate::metrics::prometheus_builder().build_recorder();
            let handle = recorder.handle();
            // Another test binary's recorder cannot be installed here; ignoring is safe.
            let _ = metrics::set_global_recorder(recorder);
            handle
        })
        .clone()
}

/// Hashing is the domain's business; a stand-in keeps these tests fast. Its "hash"
/// holds the password in clear, so logins work.
pub(crate) fn fake_hasher() -> MockPasswordHasher {
    let mut hasher = MockPasswordHasher::new();
    hasher.expect_hash().returning(|p| Ok(PasswordHash::from_phc(format!("$fake${}", p.expose()))));
    hasher.expect_verify().returning(|candidate, hash| hash.as_phc() == format!("$fake${candidate}"));
    hasher
}

/// The state over any storage.
pub(crate) fn state(storage: Arc<dyn Storage>, on_scrape: Arc<dyn Fn() + Send + Sync>) -> RestState {
    state_with(Roster::new(storage, Arc::new(fake_hasher()), Settings::default()), on_scrape)
}

fn state_with(roster: Roster, on_scrape: Arc<dyn Fn() + Send + Sync>) -> RestState {
    RestState { roster: Arc::new(roster), metrics: metrics_handle(), on_scrape }
}

/// Where the invitation links of the tests point.
pub(crate) const PUBLIC_URL: &str = "https://roster.test";

/// The router over a fresh database, with a platform key.
pub(crate) struct TestApp {
    pub(crate) router: Router,
    pub(crate) key: String,
    /// The database, for what the API does not show (the outbox).
    pub(crate) storage: SqliteStorage,
    /// The service's clock, when the test moves it ([`TestApp::with_clock`]).
    pub(crate) clock: Option<Arc<FixedClock>>,
    _dir: TempDir,
}

impl TestApp {
    pub(crate) async fn new() -> Self {
        Self::with_scrape_hook(Arc::new(|| {})).await
    }

    pub(crate) async fn with_scrape_hook(on_scrape: Arc<dyn Fn() + Send + Sync>) -> Self {
        Self::build(on_scrape, None).await
    }

    /// An app whose clock moves only when the test says so ([`TestApp::advance`]).
    pub(crate) async fn with_clock() -> Self {
        let now = roster_domain::clock::SystemClock.now();
        Self::build(Arc::new(|| {}), Some(Arc::new(FixedClock::new(now)))).await
    }

    async fn build(on_scrape: Arc<dyn Fn() + Send + Sync>, clock: Option<Arc<FixedClock>>) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let storage = SqliteStorage::open(&dir.path().join("roster.db")).await.expect("open");
        storage.migrate().await.expect("migrate");
        let mut roster = Roster::new(Arc::new(storage.clone()), Arc::new(fake_hasher()), Settings::default())
            .with_public_url(PUBLIC_URL);
        if let Some(clock) = &clock {
            roster = roster.with_clock(clock.clone());
        }
        let state = state_with(roster, on_scrape);
        let (_, secret) = state.roster.create_platform_key("test").await.expect("platform key");
        Self { router: crate::router(state), key: secret.expose().to_owned(), storage, clock, _dir: dir }
    }

    /// Moves the clock of an app made [`TestApp::with_clock`].
    pub(crate) fn advance(&self, by: chrono::Duration) {
        self.clock.as_ref().expect("an app made with_clock").advance(by);
    }

    /// The link of the latest invitation email to `email`, read from the outbox.
    pub(crate) async fn invitation_link(&self, email: &str) -> String {
        let messages = self.storage.list_messages(None, 1000).await.expect("outbox");
        messages
            .into_iter()
            .rev()
            .filter(|m| m.recipient.as_str() == email)
            .find_map(|m| match m.mail {
                Some(Mail::Invitation { accept_url, .. }) => Some(accept_url),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no invitation email to {email}"))
    }

    /// The token of the latest invitation email to `email`.
    pub(crate) async fn invitation_token(&self, email: &str) -> String {
        let link = self.invitation_link(email).await;
        let token = link.strip_prefix(&format!("{PUBLIC_URL}/invite/")).unwrap_or_else(|| panic!("a link: {link}"));
        token.to_owned()
    }

    /// Creates an invited user (no password) and returns its id.
    pub(crate) async fn invite(&self, org: &str, email: &str) -> String {
        let body = serde_json::json!({"email": email, "name": email});
        let reply = self.send(self.json("POST", &format!("/v1/organizations/{org}/users"), &body)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        assert_eq!(reply.json()["data"]["status"], "invited");
        reply.json()["data"]["id"].as_str().expect("id").to_owned()
    }

    /// An authenticated request without a body.
    pub(crate) fn get(&self, method: &str, uri: &str) -> Request<Body> {
        authed(method, uri, &self.key).body(Body::empty()).expect("request")
    }

    /// An authenticated JSON request.
    pub(crate) fn json(&self, method: &str, uri: &str, body: &Value) -> Request<Body> {
        authed(method, uri, &self.key)
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request")
    }

    pub(crate) async fn send(&self, req: Request<Body>) -> Reply {
        send(&self.router, req).await
    }

    /// A JSON request (or none with `Value::Null`) with another bearer token.
    pub(crate) fn json_as(&self, token: &str, method: &str, uri: &str, body: &Value) -> Request<Body> {
        let builder = authed(method, uri, token);
        if body.is_null() {
            return builder.body(Body::empty()).expect("request");
        }
        builder.header(header::CONTENT_TYPE, "application/json").body(Body::from(body.to_string())).expect("request")
    }

    /// Creates an active user with `password` holding `roles` (keys) and returns its id.
    pub(crate) async fn user(&self, org: &str, email: &str, password: &str, role: &str) -> String {
        let body = serde_json::json!({"email": email, "name": email, "password": password, "role": role});
        let reply = self.send(self.json("POST", &format!("/v1/organizations/{org}/users"), &body)).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        reply.json()["data"]["id"].as_str().expect("id").to_owned()
    }

    /// Logs in and returns the reply.
    pub(crate) async fn login(&self, org: &str, email: &str, password: &str) -> Reply {
        let body = serde_json::json!({"organization": org, "email": email, "password": password});
        let req = Request::post("/v1/auth/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .expect("request");
        self.send(req).await
    }

    /// Creates an organization and returns its id.
    pub(crate) async fn org(&self, slug: &str) -> String {
        let reply =
            self.send(self.json("POST", "/v1/organizations", &serde_json::json!({"slug": slug, "name": slug}))).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
        reply.json()["data"]["id"].as_str().expect("id").to_owned()
    }
}

/// A request builder with `Authorization: Bearer <key>`.
pub(crate) fn authed(method: &str, uri: &str, key: &str) -> http::request::Builder {
    Request::builder().method(method).uri(uri).header(header::AUTHORIZATION, format!("Bearer {key}"))
}

/// A response, read whole.
#[derive(Debug)]
pub(crate) struct Reply {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
}

impl Reply {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    pub(crate) fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub(crate) fn header(&self, name: &str) -> &str {
        self.headers.get(name).map_or("", |v| v.to_str().unwrap_or(""))
    }

    /// Asserts a problem body of this status and code, and returns it.
    #[track_caller]
    pub(crate) fn problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "{}", self.text());
        assert_eq!(self.header("content-type"), "application/problem+json");
        let body = self.json();
        assert_eq!(body["code"], code, "{body}");
        body
    }
}

pub(crate) async fn send(router: &Router, req: Request<Body>) -> Reply {
    let res = router.clone().oneshot(req).await.expect("infallible");
    let (parts, body) = res.into_parts();
    let body = body.collect().await.expect("body").to_bytes();
    Reply { status: parts.status, headers: parts.headers, body }
}
