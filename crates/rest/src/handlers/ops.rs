//! Operational endpoints: liveness, readiness, metrics and the API document.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::RestState;
use crate::error::ApiError;
use crate::extract::Json;
use crate::openapi::{InternalError, ServiceUnavailable};

/// A probe's answer.
#[derive(Clone, Copy, Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    /// Always `ok`.
    #[schema(example = "ok")]
    status: &'static str,
}

const OK: Health = Health { status: "ok" };

/// Liveness: the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "operations",
    responses((status = 200, description = "Alive", body = Health), (status = 500, response = InternalError))
)]
pub(crate) async fn healthz() -> Json<Health> {
    Json(OK)
}

/// Readiness: the database answers.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "operations",
    responses(
        (status = 200, description = "Ready", body = Health),
        (status = 503, response = ServiceUnavailable),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn readyz(State(state): State<RestState>) -> Result<Json<Health>, ApiError> {
    match state.roster.ping().await {
        Ok(()) => Ok(Json(OK)),
        Err(e) => {
            tracing::warn!(error = %e, cause = ?std::error::Error::source(&e), "not ready: storage does not answer");
            Err(ApiError::Unavailable)
        }
    }
}

/// Prometheus metrics in the text exposition format.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "operations",
    responses(
        (status = 200, description = "Prometheus text format", body = String, content_type = "text/plain; version=0.0.4"),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn metrics(State(state): State<RestState>) -> Response {
    (state.on_scrape)();
    let body = state.metrics.render();
    ([(header::CONTENT_TYPE, HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"))], body)
        .into_response()
}

/// The OpenAPI document, serialised once at start-up.
pub(crate) async fn openapi_json(doc: Bytes) -> Response {
    ([(header::CONTENT_TYPE, HeaderValue::from_static("application/json"))], doc).into_response()
}
