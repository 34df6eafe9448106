//! Cross-cutting request handling: the API version header, request ids in spans, panics.

use std::any::Any;

use axum::extract::{MatchedPath, Request};
use axum::http::{self as http, HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tracing::Span;

use crate::error::ApiError;
use crate::problem::Problem;

/// The header that selects the API version.
pub(crate) static ROSTER_VERSION: HeaderName = HeaderName::from_static("roster-version");
/// The only version there is.
const VERSION: &str = "1";
/// Incoming request ids longer than this are replaced, to keep logs sane.
const MAX_REQUEST_ID_LEN: usize = 128;

/// Accepts `Roster-Version` absent or `1` (400 `unsupported_version` otherwise) and
/// stamps `Roster-Version: 1` on every response.
pub(crate) async fn api_version(req: Request, next: Next) -> Response {
    let supported = req.headers().get_all(&ROSTER_VERSION).iter().all(|v| v.as_bytes().trim_ascii() == b"1");
    let mut res = if supported { next.run(req).await } else { ApiError::UnsupportedVersion.into_response() };
    res.headers_mut().insert(ROSTER_VERSION.clone(), HeaderValue::from_static(VERSION));
    res
}

/// Drops an incoming `x-request-id` that is empty, too long or not printable ASCII, so
/// that a fresh one is generated instead of logging whatever the client sent.
pub(crate) async fn drop_unusable_request_id(mut req: Request, next: Next) -> Response {
    let usable = |v: &HeaderValue| {
        let b = v.as_bytes();
        !b.is_empty() && b.len() <= MAX_REQUEST_ID_LEN && b.iter().all(|c| c.is_ascii_graphic())
    };
    let ids = req.headers().get_all("x-request-id");
    if ids.iter().count() > 1 || ids.iter().any(|v| !usable(v)) {
        req.headers_mut().remove("x-request-id");
    }
    next.run(req).await
}

/// Makes the `x-request-id` of requests that come without a usable one: a random
/// (version 4) UUID, like tower-http's `MakeRequestUuid`, but drawn from the thread's
/// CSPRNG (seeded, and reseeded, from the OS) rather than from a `getrandom` system call
/// per request, which showed as ~1.7% of the server's CPU under load.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct MakeRequestId;

impl tower_http::request_id::MakeRequestId for MakeRequestId {
    fn make_request_id<B>(&mut self, _: &http::Request<B>) -> Option<tower_http::request_id::RequestId> {
        let uuid = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
        let mut text = uuid::Uuid::encode_buffer();
        let text = uuid.hyphenated().encode_lower(&mut text);
        HeaderValue::from_str(text).ok().map(tower_http::request_id::RequestId::new)
    }
}

/// One span per request with the request id and the matched route (never the raw URI:
/// query strings may hold emails).
pub(crate) fn request_span<B>(req: &http::Request<B>) -> Span {
    let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or_default();
    let route = req.extensions().get::<MatchedPath>().map_or("unmatched", MatchedPath::as_str);
    tracing::info_span!("request", method = %req.method(), route, request_id)
}

/// A panicking handler answers 500 `internal` instead of dropping the connection.
pub(crate) fn panic_response(panic: Box<dyn Any + Send + 'static>) -> Response {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    tracing::error!(panic = %message, "handler panicked");
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "an internal error occurred; quote the request id when reporting it",
    )
    .into_response()
}

#[cfg(test)]
mod tests {
    use tower_http::request_id::MakeRequestId as _;

    use super::*;

    #[test]
    fn made_request_ids_are_distinct_random_uuids() {
        let request = http::Request::new(());
        let mut ids = std::collections::HashSet::new();
        for _ in 0..1000 {
            let id = MakeRequestId.make_request_id(&request).expect("an id");
            let text = id.header_value().to_str().expect("ASCII");
            let uuid = uuid::Uuid::parse_str(text).expect("a UUID");
            assert_eq!(uuid.get_version(), Some(uuid::Version::Random));
            assert_eq!(text, uuid.hyphenated().to_string());
            assert!(ids.insert(uuid), "{uuid} twice");
        }
    }
}
