//! The measured scenarios. Each is a [`Scenario`] entry in [`ALL`] and a
//! [`loadgen::Client`] that sends one request per call over its own connection.
//!
//! To add one (Authenticate, BatchCheckPermissions, a create-user rate, …): write a client,
//! a `run_*` function connecting `spec.connections` of them through [`loadgen::run`], and an
//! entry in [`ALL`]; the report picks it up. A gRPC call is a [`wire::GrpcMethod`] and an
//! encoded request ([`wire::grpc_frame`]) on a [`wire::GrpcH2`] connection.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;

use http::header::CONTENT_TYPE;
use http::header::{AUTHORIZATION, HOST};
use http::{HeaderValue, Method, Request, StatusCode, Uri};
use http_body_util::Full;
use hyper::body::Bytes;
use prost::Message as _;
use roster_domain::ids::{OrgId, UserId};
use roster_domain::ports::UserReads as _;
use roster_grpc::pb::user_service_client::UserServiceClient;
use roster_grpc::pb::{self, GetUserRequest};
use roster_postgres::PostgresStorage;
use tonic::metadata::{Ascii, MetadataValue};
use tonic::transport::{Channel, Endpoint};

use super::cpu::Probe;
use super::loadgen::{self, Client, LoadSpec, SplitMix64, Stats};
use super::seed;
use super::wire::{self, Http1};
use crate::Result;

/// What every scenario may use: the server and the seeded data.
#[derive(Debug)]
pub struct Context {
    /// The database Roster serves from.
    pub database_url: String,
    pub http_addr: SocketAddr,
    pub grpc_addr: SocketAddr,
    /// A platform key's secret.
    pub api_key: String,
    /// A service key of the seeded organization.
    pub service_key: String,
    /// A session of a member of the seeded organization.
    pub session_token: String,
    pub org_id: OrgId,
    pub user_ids: Arc<[UserId]>,
    /// Connections of the GET latency probes (at rest and while hashing).
    pub probe_connections: usize,
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// One measured scenario.
#[derive(Debug)]
pub struct Scenario {
    /// Name in `--only` and in results.json.
    pub name: &'static str,
    /// Label in the printed table.
    pub label: &'static str,
    /// Runs the load and returns what was measured.
    pub run: fn(Arc<Context>, LoadSpec, Probe) -> BoxFuture<Result<Stats>>,
    /// What it must reach.
    pub target: Target,
    /// Whether it runs without being named in `--only` (diagnostics do not).
    pub default: bool,
}

/// A scenario's target on this machine.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Target {
    /// None: a diagnostic.
    None,
    /// At least [`super::report::MIN_RATIO`] × pgbench's select-only tps, p99 ≤
    /// [`super::report::MAX_P99_MS`].
    Pgbench,
    /// At least `min_rps` calls per second with a p99 of at most `max_p99_ms`.
    Absolute { min_rps: f64, max_p99_ms: f64 },
    /// At most `max_overhead` (a fraction) slower than the scenario `baseline` in the same run.
    Overhead { baseline: &'static str, max_overhead: f64 },
    /// At least `min_ratio` × pgbench's single-row INSERT rate into a users-like table.
    PgbenchInsert { min_ratio: f64 },
    /// At least `min_ratio` × the machine's argon2id rate, measured in the same run.
    Argon2 { min_ratio: f64 },
    /// A p99 latency at most `max_factor` × that of the scenario `baseline` in the same run.
    P99Factor { baseline: &'static str, max_factor: f64 },
}

/// Every scenario, in the order they run.
pub const ALL: &[Scenario] = &[
    Scenario {
        name: "rest_get_user",
        label: "REST GET user",
        run: rest_get_user,
        target: Target::Pgbench,
        default: true,
    },
    // The same GET authenticated by a member's login session: what authorization (a session
    // principal whose roles grant users.read) adds to the platform key's path.
    Scenario {
        name: "rest_get_user_session",
        label: "REST GET (sess.)",
        run: rest_get_user_session,
        target: Target::Overhead { baseline: "rest_get_user", max_overhead: 0.10 },
        default: true,
    },
    Scenario {
        name: "grpc_get_user",
        label: "gRPC GET user",
        run: grpc_get_user,
        target: Target::Pgbench,
        default: true,
    },
    Scenario {
        name: "grpc_authenticate",
        label: "gRPC Authenticate",
        run: grpc_authenticate,
        target: Target::Absolute { min_rps: 20_000.0, max_p99_ms: 5.0 },
        default: true,
    },
    Scenario {
        name: "grpc_batch_check",
        label: "gRPC BatchCheck10",
        run: grpc_batch_check,
        target: Target::None,
        default: true,
    },
    // Creating invited users: one transaction (user, invitation, outbox email, audit
    // event), no hashing.
    Scenario {
        name: "rest_create_invited",
        label: "REST create (inv.)",
        run: rest_create_invited,
        target: Target::PgbenchInsert { min_ratio: 0.2 },
        default: true,
    },
    // Creating users with a password: bound by argon2id.
    Scenario {
        name: "rest_create_password",
        label: "REST create (pwd)",
        run: rest_create_password,
        target: Target::Argon2 { min_ratio: 0.85 },
        default: true,
    },
    // GET latency at rest and while --connections clients create users with passwords
    // (hashing on every core), both with --probe-connections readers.
    Scenario {
        name: "rest_get_probe",
        label: "REST GET probe",
        run: rest_get_probe,
        target: Target::None,
        default: true,
    },
    Scenario {
        name: "rest_get_while_hashing",
        label: "GET while hashing",
        run: rest_get_while_hashing,
        target: Target::P99Factor { baseline: "rest_get_probe", max_factor: 2.0 },
        default: true,
    },
    // Diagnostic: GetUser from tonic's generated client (tower buffer, codec, body layers),
    // which costs the load generator about three times what the h2 client above does.
    Scenario {
        name: "grpc_get_user_tonic",
        label: "gRPC (tonic cl.)",
        run: grpc_get_user_tonic,
        target: Target::None,
        default: false,
    },
    // Diagnostic: the storage adapter alone, in this process (no HTTP, no gRPC, no auth), to
    // tell the database's share of a GET from the front ends'. The load generator's CPU
    // then includes sqlx.
    Scenario {
        name: "storage_get_user",
        label: "storage get_user",
        run: storage_get_user,
        target: Target::None,
        default: false,
    },
];

fn bearer(api_key: &str) -> String {
    format!("Bearer {api_key}")
}

// --- REST: GET /v1/organizations/{org}/users/{id} ---------------------------------------

fn rest_get_user(context: Arc<Context>, spec: LoadSpec, probe: Probe) -> BoxFuture<Result<Stats>> {
    let token = context.api_key.clone();
    rest_get_user_as(context, token, spec, probe)
}

fn rest_get_user_session(context: Arc<Context>, spec: LoadSpec, probe: Probe) -> BoxFuture<Result<Stats>> {
    let token = context.session_token.clone();
    rest_get_user_as(context, token, spec, probe)
}

fn rest_get_user_as(context: Arc<Context>, token: String, spec: LoadSpec, probe: Probe) -> BoxFuture<Result<Stats>> {
    Box::pin(async move {
        let uris: Arc<[Uri]> = context
            .user_ids
            .iter()
            .map(|id| format!("/v1/organizations/{}/users/{id}", context.org_id).parse::<Uri>())
            .collect::<Result<_, _>>()
            .map_err(|err| format!("bad request path: {err}"))?;
        let auth = HeaderValue::try_from(bearer(&token)).map_err(|err| err.to_string())?;
        let host = HeaderValue::try_from(context.http_addr.to_string()).map_err(|err| err.to_string())?;
        let addr = context.http_addr;
        let connect = |index: usize| {
            let (uris, auth, host) = (uris.clone(), auth.clone(), host.clone());
            async move {
                let http = Http1::connect(addr).await?;
                Ok(RestGetUser { http, uris, auth, host, rng: SplitMix64::new(index as u64 + 1) })
            }
        };
        loadgen::run(&spec, connect, probe).await
    })
}

struct RestGetUser {
    http: Http1,
    uris: Arc<[Uri]>,
    auth: HeaderValue,
    host: HeaderValue,
    rng: SplitMix64,
}

impl Client for RestGetUser {
    async fn call(&mut self) -> Result<(), String> {
        let uri = self.uris[self.rng.below(self.uris.len())].clone();
        let request = Request::builder()
            .method(Method::GET)
            .uri(uri)
            .header(HOST, self.host.clone())
            .header(AUTHORIZATION, self.auth.clone())
            .body(Full::new(Bytes::new()))
            .map_err(|err| format!("cannot build the request: {err}"))?;
        let (status, body) = self.http.send(request).await?;
        if status == StatusCode::OK { Ok(()) } else { Err(format!("HTTP {status}: {}", excerpt(&body))) }
    }
}

fn rest_get_probe(context: Arc<Context>, spec: LoadSpec, probe: Probe) -> BoxFuture<Result<Stats>> {
    let token = context.api_key.clone();
    let connections = context.probe_connections;
    rest_get_user_as(context, token, LoadSpec { connections, ..spec }, probe)
}

/// The GET probe while `spec.connections` clients create users with passwords, from before
/// its warm-up until after its window.
fn rest_get_while_hashing(context: Arc<Context>, spec: LoadSpec, probe: Probe) -> BoxFuture<Result<Stats>> {
    Box::pin(async move {
        let hashing = LoadSpec {
            connections: spec.connections,
            warmup: std::time::Duration::ZERO,
            duration: spec.warmup + spec.duration + std::time::Duration::from_secs(2),
        };
        let creations = rest_create_users(context.clone(), "hashing", Some(seed::PASSWORD), hashing, probe.clone());
        // The probe connects after the creators and warms up while hashing is under way.
        let reads = async {
            tokio::task::yield_now().await;
            rest_get_probe(context, spec, probe).await
        };
        let (reads, creations) = tokio::join!(reads, creations);
        let creations = creations?;
        if creations.errors > 0 {
            return Err(format!("password creations failed meanwhile: {:?}", creations.error_samples));
        }
        reads
    })
}

// --- REST: POST /v1/organizations/{org}/users ----------------------------------------------

fn rest_create_invited(context: Arc<Context>, spec: LoadSpec, probe: Probe) -> BoxFuture<Result<Stats>> {
    rest_create_users(context, "invited", None, spec, probe)
}

fn rest_create_password(context: Arc<Context>, spec: LoadSpec, probe: Probe) -> BoxFuture<Result<Stats>> {
    rest_create_users(context, "password", Some(seed::PASSWORD), spec, probe)
}

/// Creates users with fresh emails (`{kind}-{run}-{connection}-{n}@load.example`), with a
/// password or invited.
fn rest_create_users(
    context: Arc<Context>,
    kind: &'static str,
    password: Option<&'static str>,
    spec: LoadSpec,
    probe: Probe,
) -> BoxFuture<Result<Stats>> {
    Box::pin(async move {
        let uri: Uri = format!("/v1/organizations/{}/users", context.org_id)
            .parse()
            .map_err(|err| format!("bad request path: {err}"))?;
        let auth = HeaderValue::try_from(bearer(&context.api_key)).map_err(|err| err.to_string())?;
        let host = HeaderValue::try_from(context.http_addr.to_string()).map_err(|err| err.to_string())?;
        let run = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis());
        let addr = context.http_addr;
        let connect = |index: usize| {
            let (uri, auth, host) = (uri.clone(), auth.clone(), host.clone());
            async move {
                let http = Http1::connect(addr).await?;
                let prefix = format!("{kind}-{run}-{index}");
                Ok(RestCreateUser { http, uri, auth, host, prefix, password, next: 0 })
            }
        };
        loadgen::run(&spec, connect, probe).await
    })
}

struct RestCreateUser {
    http: Http1,
    uri: Uri,
    auth: HeaderValue,
    host: HeaderValue,
    prefix: String,
    password: Option<&'static str>,
    next: u64,
}

impl Client for RestCreateUser {
    async fn call(&mut self) -> Result<(), String> {
        self.next += 1;
        let mut body = serde_json::json!({
            "email": format!("{}-{}@load.example", self.prefix, self.next),
            "name": "Load User",
        });
        if let Some(password) = self.password {
            body["password"] = password.into();
        }
        let request = Request::builder()
            .method(Method::POST)
            .uri(self.uri.clone())
            .header(HOST, self.host.clone())
            .header(AUTHORIZATION, self.auth.clone())
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|err| format!("cannot build the request: {err}"))?;
        let (status, body) = self.http.send(request).await?;
        if status == StatusCode::CREATED { Ok(()) } else { Err(format!("HTTP {status}: {}", excerpt(&body))) }
    }
}

fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(300)]);
    text.trim().to_owned()
}

// --- gRPC: roster.v1.UserService/GetUser --------------------------------------------------

/// The full name of the method, as the request path.
const GET_USER_PATH: &str = "/roster.v1.UserService/GetUser";
/// One answer in this many is decoded and checked to be the user asked for (all of them
/// are checked for HTTP status, content type, length prefix and `grpc-status`).
const DECODE_EVERY: u64 = 64;

/// Every `GetUserRequest` of the run, encoded once as gRPC frames: one buffer, sliced.
struct EncodedGetUsers {
    frames: Bytes,
    ends: Vec<usize>,
}

impl EncodedGetUsers {
    fn new(org_id: OrgId, user_ids: &[UserId]) -> Result<Self> {
        let organization_id = org_id.to_string();
        let mut frames = Vec::new();
        let mut ends = Vec::with_capacity(user_ids.len());
        for id in user_ids {
            let request = GetUserRequest { organization_id: organization_id.clone(), user_id: id.to_string() };
            frames.extend_from_slice(&wire::grpc_frame(&request.encode_to_vec())?);
            ends.push(frames.len());
        }
        Ok(Self { frames: Bytes::from(frames), ends })
    }

    /// The frame asking for the `index`th user.
    fn frame(&self, index: usize) -> Bytes {
        let start = if index == 0 { 0 } else { self.ends[index - 1] };
        self.frames.slice(start..self.ends[index])
    }
}

fn grpc_get_user(context: Arc<Context>, spec: LoadSpec, probe: Probe) -> BoxFuture<Result<Stats>> {
    Box::pin(async move {
        let requests = Arc::new(EncodedGetUsers::new(context.org_id, &context.user_ids)?);
        let auth = HeaderValue::try_from(bearer(&context.api_key)).map_err(|err| err.to_string())?;
        let method = wire::GrpcMethod::new(context.grpc_addr, GET_USER_PATH, auth)?;
        let addr = context.grpc_addr;
        let connect = |index: usize| {
            let (requests, method, context) = (requests.clone(), method.clone(), context.clone());
            async move {
                let grpc = wire::GrpcH2::connect(addr).await?;
                Ok(GrpcGetUser { grpc, method, requests, context, rng: SplitMix64::new(index as u64 + 1), calls: 0 })
            }
        };
        loadgen::run(&spec, connect, probe).await
    })
}

/// GetUser over its own HTTP/2 connection, spoken with `h2` directly.
struct GrpcGetUser {
    grpc: wire::GrpcH2,
    method: wire::GrpcMethod,
    requests: Arc<EncodedGetUsers>,
    context: Arc<Context>,
    rng: SplitMix64,
    calls: u64,
}

impl Client for GrpcGetUser {
    async fn call(&mut self) -> Result<(), String> {
        let index = self.rng.below(self.requests.ends.len());
        let body = self.grpc.unary(&self.method, self.requests.frame(index)).await?;
        let message = wire::grpc_message(&body)?;
        self.calls += 1;
        if self.calls % DECODE_EVERY == 1 {
            let user = pb::User::decode(message).map_err(|err| format!("cannot decode the User: {err}"))?;
            let expected = self.context.user_ids[index].to_string();
            if user.id != expected {
                return Err(format!("asked for user {expected}, got {:?}", user.id));
            }
        }
        Ok(())
    }
}

// --- gRPC: roster.v1.AuthService/Authenticate ----------------------------------------------

const AUTHENTICATE_PATH: &str = "/roster.v1.AuthService/Authenticate";

/// Authenticate of the service key, the way an internal service asks "who is this token?".
fn grpc_authenticate(context: Arc<Context>, spec: LoadSpec, probe: Probe) -> BoxFuture<Result<Stats>> {
    Box::pin(async move {
        let request = pb::AuthenticateRequest { token: context.service_key.clone() };
        let frame = Bytes::from(wire::grpc_frame(&request.encode_to_vec())?);
        let auth = HeaderValue::try_from(bearer(&context.service_key)).map_err(|err| err.to_string())?;
        let method = wire::GrpcMethod::new(context.grpc_addr, AUTHENTICATE_PATH, auth)?;
        let org = context.org_id.to_string();
        let addr = context.grpc_addr;
        let connect = |_index: usize| {
            let (frame, method, org) = (frame.clone(), method.clone(), org.clone());
            async move {
                let grpc = wire::GrpcH2::connect(addr).await?;
                Ok(GrpcAuthenticate { grpc, method, frame, org, calls: 0 })
            }
        };
        loadgen::run(&spec, connect, probe).await
    })
}

struct GrpcAuthenticate {
    grpc: wire::GrpcH2,
    method: wire::GrpcMethod,
    frame: Bytes,
    org: String,
    calls: u64,
}

impl Client for GrpcAuthenticate {
    async fn call(&mut self) -> Result<(), String> {
        let body = self.grpc.unary(&self.method, self.frame.clone()).await?;
        let message = wire::grpc_message(&body)?;
        self.calls += 1;
        if self.calls % DECODE_EVERY == 1 {
            let principal =
                pb::Principal::decode(message).map_err(|err| format!("cannot decode the principal: {err}"))?;
            let org = principal.organization_id.unwrap_or_default();
            if org != self.org {
                return Err(format!("expected a principal of {}, got {org:?}", self.org));
            }
        }
        Ok(())
    }
}

// --- gRPC: roster.v1.AuthorizationService/BatchCheckPermissions (10 pairs) -------------------

const BATCH_CHECK_PATH: &str = "/roster.v1.AuthorizationService/BatchCheckPermissions";
/// Pairs per call.
const CHECKS_PER_CALL: usize = 10;
/// Distinct encoded requests cycled through.
const BATCH_REQUESTS: usize = 4096;

fn grpc_batch_check(context: Arc<Context>, spec: LoadSpec, probe: Probe) -> BoxFuture<Result<Stats>> {
    Box::pin(async move {
        let mut rng = SplitMix64::new(42);
        let organization_id = context.org_id.to_string();
        let frames: Arc<[Bytes]> = (0..BATCH_REQUESTS)
            .map(|_| {
                let checks = (0..CHECKS_PER_CALL)
                    .map(|i| pb::PermissionCheck {
                        user_id: context.user_ids[rng.below(context.user_ids.len())].to_string(),
                        permission: if i % 2 == 0 { "users.read" } else { "users.write" }.to_owned(),
                    })
                    .collect();
                let request = pb::BatchCheckPermissionsRequest { organization_id: organization_id.clone(), checks };
                wire::grpc_frame(&request.encode_to_vec()).map(Bytes::from)
            })
            .collect::<Result<_>>()?;
        let auth = HeaderValue::try_from(bearer(&context.service_key)).map_err(|err| err.to_string())?;
        let method = wire::GrpcMethod::new(context.grpc_addr, BATCH_CHECK_PATH, auth)?;
        let addr = context.grpc_addr;
        let connect = |index: usize| {
            let (frames, method) = (frames.clone(), method.clone());
            async move {
                let grpc = wire::GrpcH2::connect(addr).await?;
                Ok(GrpcBatchCheck { grpc, method, frames, rng: SplitMix64::new(index as u64 + 1), calls: 0 })
            }
        };
        loadgen::run(&spec, connect, probe).await
    })
}

struct GrpcBatchCheck {
    grpc: wire::GrpcH2,
    method: wire::GrpcMethod,
    frames: Arc<[Bytes]>,
    rng: SplitMix64,
    calls: u64,
}

impl Client for GrpcBatchCheck {
    async fn call(&mut self) -> Result<(), String> {
        let frame = self.frames[self.rng.below(self.frames.len())].clone();
        let body = self.grpc.unary(&self.method, frame).await?;
        let message = wire::grpc_message(&body)?;
        self.calls += 1;
        if self.calls % DECODE_EVERY == 1 {
            let response = pb::BatchCheckPermissionsResponse::decode(message)
                .map_err(|err| format!("cannot decode the results: {err}"))?;
            // Seeded users are members: users.read yes, users.write no.
            let expected: Vec<bool> = (0..CHECKS_PER_CALL).map(|i| i % 2 == 0).collect();
            let got: Vec<bool> = response.results.iter().map(|r| r.allowed).collect();
            if got != expected {
                return Err(format!("expected {expected:?}, got {got:?}"));
            }
        }
        Ok(())
    }
}

// --- Diagnostic: the same GetUser from tonic's generated client ------------------------------

fn grpc_get_user_tonic(context: Arc<Context>, spec: LoadSpec, probe: Probe) -> BoxFuture<Result<Stats>> {
    Box::pin(async move {
        let ids: Arc<[String]> = context.user_ids.iter().map(ToString::to_string).collect();
        let org = context.org_id.to_string();
        let auth: MetadataValue<Ascii> = bearer(&context.api_key).parse().map_err(|err| format!("{err}"))?;
        let endpoint = Endpoint::from_shared(format!("http://{}", context.grpc_addr))
            .map_err(|err| format!("bad gRPC address: {err}"))?
            .tcp_nodelay(true);
        let connect = |index: usize| {
            let (ids, org, auth, endpoint) = (ids.clone(), org.clone(), auth.clone(), endpoint.clone());
            async move {
                // One Channel per task: each is its own HTTP/2 connection.
                let channel: Channel =
                    endpoint.connect().await.map_err(|err| format!("cannot connect to {}: {err}", endpoint.uri()))?;
                let client = UserServiceClient::new(channel);
                Ok(TonicGetUser { client, org, ids, auth, rng: SplitMix64::new(index as u64 + 1) })
            }
        };
        loadgen::run(&spec, connect, probe).await
    })
}

struct TonicGetUser {
    client: UserServiceClient<Channel>,
    org: String,
    ids: Arc<[String]>,
    auth: MetadataValue<Ascii>,
    rng: SplitMix64,
}

impl Client for TonicGetUser {
    async fn call(&mut self) -> Result<(), String> {
        let user_id = self.ids[self.rng.below(self.ids.len())].clone();
        let mut request = tonic::Request::new(GetUserRequest { organization_id: self.org.clone(), user_id });
        request.metadata_mut().insert("authorization", self.auth.clone());
        match self.client.get_user(request).await {
            Ok(_) => Ok(()),
            Err(status) => Err(format!("gRPC {:?}: {}", status.code(), status.message())),
        }
    }
}

// --- Diagnostic: PostgresStorage::get_user in-process ---------------------------------------

fn storage_get_user(context: Arc<Context>, spec: LoadSpec, probe: Probe) -> BoxFuture<Result<Stats>> {
    Box::pin(async move {
        let connections = u32::try_from(spec.connections).unwrap_or(u32::MAX);
        let storage = PostgresStorage::connect(&context.database_url, connections)
            .await
            .map_err(|err| format!("cannot connect to the database: {err}"))?;
        let connect = |index: usize| {
            let (storage, context) = (storage.clone(), context.clone());
            async move { Ok(StorageGetUser { storage, context, rng: SplitMix64::new(index as u64 + 1) }) }
        };
        let stats = loadgen::run(&spec, connect, probe).await;
        storage.pool().close().await;
        stats
    })
}

struct StorageGetUser {
    storage: PostgresStorage,
    context: Arc<Context>,
    rng: SplitMix64,
}

impl Client for StorageGetUser {
    async fn call(&mut self) -> Result<(), String> {
        let id = self.context.user_ids[self.rng.below(self.context.user_ids.len())];
        match self.storage.get_user(self.context.org_id, id).await {
            Ok(Some(_)) => Ok(()),
            Ok(None) => Err(format!("user {id} not found")),
            Err(err) => Err(format!("storage error: {err}")),
        }
    }
}
