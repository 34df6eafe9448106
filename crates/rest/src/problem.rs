//! RFC 9457 problem details: the one body every error response carries.
//!
//! An error becomes a [`Problem`] (see [`crate::error`]); [`finish`] then stamps the
//! request id into it and turns any other error response (axum's own 405, a layer's 413)
//! into a problem too, so clients never see a body of another shape. The one exception
//! is the HTML of the invitation pages ([`OwnBody`]).

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of problem bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";
/// Problem `type` URIs are this followed by the `code`.
pub const TYPE_BASE: &str = "https://roster.dev/problems/";

/// An RFC 9457 problem details body.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[schema(example = json!({
    "type": "https://roster.dev/problems/validation_failed",
    "title": "Validation failed",
    "status": 422,
    "detail": "invalid fields: email",
    "code": "validation_failed",
    "errors": [{"field": "email", "code": "invalid", "message": "email must look like name@example.com"}],
    "request_id": "0192f0c2-6c1e-7a3b-9d4e-5f6a7b8c9d0e"
}))]
pub struct Problem {
    /// A URI naming the kind of problem: `https://roster.dev/problems/<code>`.
    #[serde(rename = "type")]
    #[schema(format = "uri")]
    pub type_uri: String,
    /// A short human summary of the kind of problem.
    pub title: String,
    /// The HTTP status code.
    #[schema(minimum = 400, maximum = 599)]
    pub status: u16,
    /// A human explanation of this occurrence.
    pub detail: String,
    /// The stable machine code (`validation_failed`, `email_taken`, `not_found`, …).
    pub code: String,
    /// The invalid fields (only for `validation_failed`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    #[schema(required = false)]
    pub errors: Vec<FieldError>,
    /// The id of the request (the `x-request-id` header), to quote in support requests.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, value_type = String)]
    pub request_id: Option<String>,
}

/// One invalid field of a request.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// Where the field is, as the caller spelled it (`email`, `role_ids[1]`,
    /// `metadata.plan`).
    pub field: String,
    /// A stable machine code (`required`, `invalid`, `too_long`, `unknown_field`, …).
    pub code: String,
    /// A human explanation.
    pub message: String,
}

impl Problem {
    /// A problem with the given status, machine code and detail.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            type_uri: format!("{TYPE_BASE}{code}"),
            title: title_of(code, status).to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_owned(),
            errors: Vec::new(),
            request_id: None,
        }
    }

    /// Adds field errors.
    #[must_use]
    pub fn with_errors(mut self, errors: Vec<FieldError>) -> Self {
        self.errors = errors;
        self
    }

    /// The problem for an error response some layer produced without a body of ours.
    pub fn for_status(status: StatusCode) -> Self {
        let (code, detail) = match status {
            StatusCode::NOT_FOUND => ("not_found", "no such resource"),
            StatusCode::METHOD_NOT_ALLOWED => ("method_not_allowed", "the method is not allowed on this resource"),
            StatusCode::PAYLOAD_TOO_LARGE => ("payload_too_large", "the request body is too large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ("unsupported_media_type", "the request body must be JSON"),
            StatusCode::REQUEST_TIMEOUT => ("request_timeout", "the request took too long"),
            StatusCode::TOO_MANY_REQUESTS => ("rate_limited", "too many requests"),
            StatusCode::SERVICE_UNAVAILABLE => ("unavailable", "the service is unavailable"),
            s if s.is_server_error() => ("internal", "an internal error occurred"),
            _ => ("bad_request", "the request is invalid"),
        };
        Self::new(status, code, detail)
    }

    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn to_body(&self) -> Body {
        // A struct of strings always serialises.
        Body::from(serde_json::to_vec(self).unwrap_or_default())
    }
}

/// The human title of each code; unknown codes fall back to the status's reason phrase.
fn title_of(code: &str, status: StatusCode) -> &'static str {
    match code {
        "validation_failed" => "Validation failed",
        "malformed_json" => "Malformed JSON",
        "unsupported_media_type" => "Unsupported media type",
        "payload_too_large" => "Payload too large",
        "invalid_id" => "Invalid id",
        "invalid_query" => "Invalid query",
        "invalid_if_match" => "Invalid If-Match header",
        "unsupported_version" => "Unsupported API version",
        "unauthenticated" => "Unauthenticated",
        "forbidden" => "Forbidden",
        "not_found" => "Not found",
        "method_not_allowed" => "Method not allowed",
        "email_taken" => "Email taken",
        "username_taken" => "Username taken",
        "slug_taken" => "Slug taken",
        "seat_limit_reached" => "Seat limit reached",
        "version_mismatch" => "Version mismatch",
        "last_owner" => "Last owner",
        "role_in_use" => "Role in use",
        "immutable_role" => "Immutable role",
        "role_key_taken" => "Role key taken",
        "grant_exists" => "Grant exists",
        "invitation_invalid" => "Invitation not valid",
        "invitation_expired" => "Invitation expired",
        "invitation_revoked" => "Invitation revoked",
        "invitation_already_accepted" => "Invitation already accepted",
        "invitation_not_pending" => "Invitation not pending",
        "rate_limited" => "Too many requests",
        "unavailable" => "Service unavailable",
        "internal" => "Internal error",
        _ => status.canonical_reason().unwrap_or("Error"),
    }
}

impl IntoResponse for Problem {
    fn into_response(self) -> Response {
        let mut res =
            (self.status_code(), [(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON))]).into_response();
        *res.body_mut() = self.to_body();
        // `finish` re-renders the body with the request id from this copy.
        res.extensions_mut().insert(self);
        res
    }
}

/// Marks a response whose body is meant for people (the invitation pages): [`finish`]
/// leaves it as it is, whatever its status.
#[derive(Clone, Copy, Debug)]
pub(crate) struct OwnBody;

fn is_problem(headers: &HeaderMap) -> bool {
    headers.get(header::CONTENT_TYPE).is_some_and(|v| v.as_bytes().starts_with(PROBLEM_JSON.as_bytes()))
}

/// Middleware: every error response leaves as a problem that carries the request id.
pub async fn finish(req: Request, next: Next) -> Response {
    let request_id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let mut res = next.run(req).await;
    if res.extensions().get::<OwnBody>().is_some() {
        return res;
    }
    let problem = match res.extensions_mut().remove::<Problem>() {
        Some(problem) => problem,
        None if (res.status().is_client_error() || res.status().is_server_error()) && !is_problem(res.headers()) => {
            Problem::for_status(res.status())
        }
        None => return res,
    };
    let problem = Problem { request_id, ..problem };
    let (mut parts, _) = res.into_parts();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    Response::from_parts(parts, problem.to_body())
}
