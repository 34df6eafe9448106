//! # roster-rest
//!
//! Roster's HTTP/JSON front end on axum. It is thin on purpose: every handler parses the
//! request, calls one [`Roster`] use case and maps the result; every rule lives in the
//! domain crate.
//!
//! ```no_run
//! # fn demo(roster: std::sync::Arc<roster_domain::service::Roster>) {
//! use std::sync::Arc;
//!
//! let recorder = roster_rest::metrics::prometheus_builder().build_recorder();
//! let handle = recorder.handle();
//! metrics::set_global_recorder(recorder).expect("the first recorder");
//! let state = roster_rest::RestState { roster, metrics: handle, on_scrape: Arc::new(|| {}) };
//! let app: axum::Router = roster_rest::router(state);
//! # let _ = app; }
//! ```
//!
//! Conventions every route follows (see `PRODUCT.md`):
//! - `{"data": …}` envelopes; lists add `next_cursor`.
//! - Errors are RFC 9457 `application/problem+json` with a stable `code` and the
//!   request id ([`problem::Problem`]); the status of each domain error is chosen in one
//!   place, [`error`].
//! - `Authorization: Bearer <token>` — an API key (`rst_…`) or a login session (`rss_…`) —
//!   on every `/v1` route but `POST /v1/auth/login` and `POST /v1/invitations/accept`; `Roster-Version: 1` (or none) on
//!   requests, always on responses; `x-request-id` taken or generated and echoed;
//!   `ETag` / `If-Match` carry resource versions.
#![warn(missing_docs)]

pub mod dto;
pub mod error;
pub mod extract;
mod handlers;
pub mod metrics;
mod middleware;
pub mod openapi;
mod pages;
pub mod problem;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::DefaultBodyLimit;
use axum::http::header;
use metrics_exporter_prometheus::PrometheusHandle;
use roster_domain::service::Roster;
use tower::ServiceBuilder;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::sensitive_headers::SetSensitiveHeadersLayer;
use tower_http::trace::{DefaultOnResponse, TraceLayer};
use utoipa_axum::router::{OpenApiRouter, UtoipaMethodRouterExt as _};
use utoipa_axum::routes;
use utoipa_scalar::{Scalar, Servable as _};

use crate::handlers::{access, api_keys, audit, auth, grants, invitations, ops, organizations, roles, sessions, users};

/// The largest request body accepted: 64 KiB. Larger ones get `413 payload_too_large`.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
/// The largest body of a permission-check request: 1000 checks of long permissions fit.
pub const MAX_CHECKS_BODY_BYTES: usize = 256 * 1024;

/// What the handlers share: the use cases and the metrics recorder.
#[derive(Clone)]
pub struct RestState {
    /// The use cases.
    pub roster: Arc<Roster>,
    /// Renders the Prometheus exposition for `GET /metrics`: the handle of the recorder
    /// installed as the global `metrics` recorder (build it with
    /// [`metrics::prometheus_builder`] so request latencies are a histogram).
    pub metrics: PrometheusHandle,
    /// Called before each scrape, e.g. to update connection-pool gauges.
    pub on_scrape: Arc<dyn Fn() + Send + Sync>,
}

impl fmt::Debug for RestState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RestState").field("roster", &self.roster).finish_non_exhaustive()
    }
}

/// Every documented route, each registered together with its OpenAPI operation so the
/// document and the router cannot drift apart.
fn api_routes() -> OpenApiRouter<RestState> {
    OpenApiRouter::with_openapi(openapi::base())
        .routes(routes!(organizations::create_organization, organizations::list_organizations))
        .routes(routes!(
            organizations::get_organization,
            organizations::update_organization,
            organizations::delete_organization
        ))
        .routes(routes!(users::create_user, users::list_users))
        .routes(routes!(users::get_user, users::update_user, users::delete_user))
        .routes(routes!(users::batch_delete_users))
        .routes(routes!(api_keys::create_api_key, api_keys::list_api_keys))
        .routes(routes!(api_keys::revoke_api_key))
        .routes(routes!(api_keys::create_personal_api_key, api_keys::list_personal_api_keys))
        .routes(routes!(api_keys::revoke_personal_api_key))
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::me))
        .routes(routes!(roles::list_roles, roles::create_role))
        .routes(routes!(roles::get_role, roles::update_role, roles::delete_role))
        .routes(routes!(grants::list_grants, grants::create_grant))
        .routes(routes!(grants::get_grant, grants::update_grant, grants::delete_grant))
        .routes(routes!(access::effective_permissions))
        // The route's limit applies inside the router's, so it wins.
        .routes(routes!(access::check_permissions).layer(DefaultBodyLimit::max(MAX_CHECKS_BODY_BYTES)))
        .routes(routes!(invitations::list_invitations))
        .routes(routes!(invitations::get_invitation))
        .routes(routes!(invitations::resend_invitation))
        .routes(routes!(invitations::revoke_invitation))
        .routes(routes!(invitations::accept_invitation))
        .routes(routes!(sessions::list_sessions))
        .routes(routes!(sessions::revoke_session))
        .routes(routes!(audit::list_audit_events))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::readyz))
        .routes(routes!(ops::metrics))
}

/// The OpenAPI 3.1 document of the API, as served at `/openapi.json`.
///
/// Password lengths are those of the default policy; [`router`] serves the document
/// with the configured one.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, doc) = api_routes().split_for_parts();
    openapi::finish(doc, roster_domain::values::PasswordPolicy::default().min_chars())
}

/// The whole HTTP application: the `/v1` API, the operational endpoints (`/healthz`,
/// `/readyz`, `/metrics`, `/openapi.json`, `/docs`), the invitation page for people
/// (`/invite/{token}`, HTML, not in the API document) and all middleware.
pub fn router(state: RestState) -> Router {
    let (api, doc) = api_routes().split_for_parts();
    let doc = openapi::finish(doc, state.roster.settings().password_policy.min_chars());
    let doc_json = match serde_json::to_vec(&doc) {
        Ok(json) => Bytes::from(json),
        Err(e) => {
            tracing::error!(error = %e, "the OpenAPI document does not serialise");
            Bytes::from_static(b"{}")
        }
    };
    let app = api
        .route("/openapi.json", axum::routing::get(move || ops::openapi_json(doc_json.clone())))
        .route("/invite/{token}", axum::routing::get(pages::show).post(pages::submit))
        .merge(Scalar::with_url("/docs", doc))
        .fallback(handlers::route_not_found)
        .method_not_allowed_fallback(handlers::method_not_allowed)
        .with_state(state);
    with_middleware(app)
}

/// Wraps every route of `app` in the middleware stack. `Router::layer` applies after
/// routing, so the middleware sees the matched path template (for metrics and spans).
/// Outermost first.
fn with_middleware(app: Router) -> Router {
    app.layer(
        ServiceBuilder::new()
            .layer(SetSensitiveHeadersLayer::new([
                header::AUTHORIZATION,
                header::PROXY_AUTHORIZATION,
                header::COOKIE,
                header::SET_COOKIE,
            ]))
            .layer(axum::middleware::from_fn(middleware::drop_unusable_request_id))
            .layer(SetRequestIdLayer::x_request_id(middleware::MakeRequestId))
            .layer(
                TraceLayer::new_for_http()
                    .make_span_with(middleware::request_span)
                    .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)),
            )
            .layer(PropagateRequestIdLayer::x_request_id())
            .layer(axum::middleware::from_fn(metrics::track))
            .layer(axum::middleware::from_fn(problem::finish))
            .layer(axum::middleware::from_fn(middleware::api_version))
            .layer(CatchPanicLayer::custom(middleware::panic_response))
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES)),
    )
}
