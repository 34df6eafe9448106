//! The one mapping from errors to HTTP: each [`roster_domain::Error`] variant and each
//! edge failure (bad JSON, bad id, …) gets its status and problem body here, and only
//! here.
//!
//! | error | status | code |
//! |---|---|---|
//! | `Validation` | 422 | `validation_failed` (with `errors`) |
//! | `NotFound` | 404 | `not_found` |
//! | `EmailTaken`, `UsernameTaken`, `SlugTaken` | 409 | `email_taken`, … |
//! | `SeatLimitReached` | 409 | `seat_limit_reached` |
//! | `LastOwner`, `RoleInUse`, `ImmutableRole`, `RoleKeyTaken`, `GrantExists` | 409 | `last_owner`, … |
//! | `InvitationInvalid` | 404 | `invitation_invalid` |
//! | `InvitationExpired`, `InvitationRevoked` | 410 | `invitation_expired`, `invitation_revoked` |
//! | `InvitationAccepted`, `InvitationSettled` | 409 | `invitation_already_accepted`, `invitation_not_pending` |
//! | `VersionMismatch` | 412 | `version_mismatch` (current version in `detail`) |
//! | `RateLimited` | 429 + `Retry-After` (seconds) | `rate_limited` |
//! | `Unauthenticated` | 401 + `WWW-Authenticate` | `unauthenticated` |
//! | `Forbidden` | 403 | `forbidden` |
//! | `Internal` | 500 | `internal` (generic detail; the cause is logged, never sent) |
//!
//! A reached seat limit is 409, not 422: the request itself is valid and would succeed
//! once a seat is freed, so it conflicts with the organization's current state. The same
//! holds for the last owner, a role still held, a built-in role and a taken role key or
//! grant, and for an invitation that was already accepted (its token is single-use) or
//! settled (it can no longer be resent or revoked). An expired or revoked invitation token is 410: the link worked
//! once and never will again. An unknown token is 404 and says nothing of any
//! organization.

use std::error::Error as StdError;
use std::fmt::Write as _;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use roster_domain::Error;
use roster_domain::validation::ValidationErrors;

use crate::problem::{FieldError, Problem};

/// The `WWW-Authenticate` challenge sent with every 401 (RFC 6750).
const CHALLENGE: &str = "Bearer realm=\"roster\"";
/// The challenge when a token was presented but is not usable.
const CHALLENGE_INVALID: &str = "Bearer realm=\"roster\", error=\"invalid_token\"";

/// Why a request failed: a use case's [`Error`], or a problem found at the edge before
/// any use case ran.
#[derive(Debug)]
pub enum ApiError {
    /// A use case failed.
    Domain(Error),
    /// No `Authorization: Bearer` header.
    MissingCredentials,
    /// The body is not syntactically valid JSON.
    MalformedJson(String),
    /// The body is not declared as JSON.
    UnsupportedMediaType,
    /// The body exceeds [`crate::MAX_BODY_BYTES`] ([`crate::MAX_CHECKS_BODY_BYTES`] for
    /// permission checks).
    PayloadTooLarge,
    /// The body could not be read.
    UnreadableBody,
    /// A path parameter is not a UUID.
    InvalidId {
        /// The parameter's name (`org_id`, `user_id`, …).
        param: String,
    },
    /// The query string does not parse (unknown parameter, wrong type, repeated key).
    InvalidQuery(String),
    /// `If-Match` is not `*`, `"<version>"` or `W/"<version>"`.
    InvalidIfMatch(&'static str),
    /// `Roster-Version` names a version this server does not speak.
    UnsupportedVersion,
    /// No route matches the path.
    RouteNotFound,
    /// The route exists but not with this method.
    MethodNotAllowed,
    /// A dependency (the database) does not answer.
    Unavailable,
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self::Domain(e)
    }
}

impl From<ValidationErrors> for ApiError {
    fn from(e: ValidationErrors) -> Self {
        Self::Domain(Error::Validation(e))
    }
}

impl ApiError {
    /// The problem body this error is answered with, and the `WWW-Authenticate`
    /// challenge for 401s. Internal causes are logged here and left out of the body.
    pub fn to_problem(&self) -> (Problem, Option<&'static str>) {
        use StatusCode as S;
        let problem = match self {
            Self::Domain(e) => return domain_problem(e),
            Self::MissingCredentials => {
                let p = Problem::new(
                    S::UNAUTHORIZED,
                    "unauthenticated",
                    "an `Authorization: Bearer <key>` header is required",
                );
                return (p, Some(CHALLENGE));
            }
            Self::MalformedJson(detail) => Problem::new(S::BAD_REQUEST, "malformed_json", detail.clone()),
            Self::UnsupportedMediaType => Problem::new(
                S::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "the request body must be sent with `Content-Type: application/json`",
            ),
            Self::PayloadTooLarge => Problem::new(
                S::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                format!(
                    "the request body must be at most {} bytes ({} for permission checks)",
                    crate::MAX_BODY_BYTES,
                    crate::MAX_CHECKS_BODY_BYTES
                ),
            ),
            Self::UnreadableBody => {
                Problem::new(S::BAD_REQUEST, "malformed_json", "the request body could not be read")
            }
            Self::InvalidId { param } => {
                Problem::new(S::BAD_REQUEST, "invalid_id", format!("path parameter `{param}` must be a UUID"))
            }
            Self::InvalidQuery(detail) => Problem::new(S::BAD_REQUEST, "invalid_query", detail.clone()),
            Self::InvalidIfMatch(detail) => Problem::new(S::BAD_REQUEST, "invalid_if_match", *detail),
            Self::UnsupportedVersion => {
                Problem::new(S::BAD_REQUEST, "unsupported_version", "the `Roster-Version` header must be absent or `1`")
            }
            Self::RouteNotFound => Problem::new(S::NOT_FOUND, "not_found", "no such resource"),
            Self::MethodNotAllowed => Problem::new(
                S::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "the method is not allowed on this resource; see the `Allow` header",
            ),
            Self::Unavailable => {
                Problem::new(S::SERVICE_UNAVAILABLE, "unavailable", "the service cannot reach its database")
            }
        };
        (problem, None)
    }

    /// The seconds a client should wait before retrying, sent as `Retry-After`.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::Domain(Error::RateLimited { retry_after_secs }) => Some(*retry_after_secs),
            _ => None,
        }
    }
}

fn domain_problem(e: &Error) -> (Problem, Option<&'static str>) {
    use StatusCode as S;
    let status = match e {
        Error::Validation(_) => S::UNPROCESSABLE_ENTITY,
        Error::NotFound(_) | Error::InvitationInvalid => S::NOT_FOUND,
        Error::InvitationExpired | Error::InvitationRevoked => S::GONE,
        Error::EmailTaken
        | Error::UsernameTaken
        | Error::SlugTaken
        | Error::SeatLimitReached { .. }
        | Error::LastOwner
        | Error::RoleInUse { .. }
        | Error::ImmutableRole
        | Error::RoleKeyTaken
        | Error::GrantExists
        | Error::InvitationAccepted
        | Error::InvitationSettled { .. } => S::CONFLICT,
        Error::VersionMismatch { .. } => S::PRECONDITION_FAILED,
        Error::RateLimited { .. } => S::TOO_MANY_REQUESTS,
        Error::Unauthenticated => S::UNAUTHORIZED,
        Error::Forbidden => S::FORBIDDEN,
        Error::Internal(source) => {
            tracing::error!(error = %cause_chain(source.as_ref()), "internal error");
            S::INTERNAL_SERVER_ERROR
        }
    };
    let detail = match e {
        Error::Internal(_) => "an internal error occurred; quote the request id when reporting it".to_owned(),
        Error::VersionMismatch { current } => {
            format!("the resource was modified: its current version is {current} (ETag \"{current}\")")
        }
        other => other.to_string(),
    };
    let mut problem = Problem::new(status, e.code(), detail);
    if let Error::Validation(errors) = e {
        problem = problem.with_errors(
            errors
                .fields()
                .iter()
                .map(|f| FieldError { field: f.field.clone(), code: f.code.to_owned(), message: f.message.clone() })
                .collect(),
        );
    }
    let challenge = matches!(e, Error::Unauthenticated).then_some(CHALLENGE_INVALID);
    (problem, challenge)
}

/// `outer: inner: innermost`, for logs.
fn cause_chain(e: &(dyn StdError + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        let _ = write!(out, ": {cause}");
        source = cause.source();
    }
    out
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (problem, challenge) = self.to_problem();
        let mut res = problem.into_response();
        if let Some(challenge) = challenge {
            res.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(challenge));
        }
        if let Some(seconds) = self.retry_after() {
            res.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use roster_domain::error::Resource;

    use super::*;

    fn status_and_code(e: Error) -> (u16, String) {
        let (p, _) = ApiError::from(e).to_problem();
        (p.status, p.code)
    }

    #[test]
    fn every_domain_error_has_its_status_and_code() {
        let table: Vec<(Error, u16, &str)> = vec![
            (ValidationErrors::single("email", "invalid", "bad").into(), 422, "validation_failed"),
            (Error::NotFound(Resource::User), 404, "not_found"),
            (Error::EmailTaken, 409, "email_taken"),
            (Error::UsernameTaken, 409, "username_taken"),
            (Error::SlugTaken, 409, "slug_taken"),
            (Error::SeatLimitReached { limit: 3 }, 409, "seat_limit_reached"),
            (Error::LastOwner, 409, "last_owner"),
            (Error::RoleInUse { holders: 2 }, 409, "role_in_use"),
            (Error::ImmutableRole, 409, "immutable_role"),
            (Error::RoleKeyTaken, 409, "role_key_taken"),
            (Error::GrantExists, 409, "grant_exists"),
            (Error::NotFound(Resource::Invitation), 404, "not_found"),
            (Error::InvitationInvalid, 404, "invitation_invalid"),
            (Error::InvitationExpired, 410, "invitation_expired"),
            (Error::InvitationRevoked, 410, "invitation_revoked"),
            (Error::InvitationAccepted, 409, "invitation_already_accepted"),
            (Error::InvitationSettled { status: "accepted" }, 409, "invitation_not_pending"),
            (Error::RateLimited { retry_after_secs: 30 }, 429, "rate_limited"),
            (Error::VersionMismatch { current: 7 }, 412, "version_mismatch"),
            (Error::Unauthenticated, 401, "unauthenticated"),
            (Error::Forbidden, 403, "forbidden"),
            (Error::Internal("db gone".into()), 500, "internal"),
        ];
        for (error, status, code) in table {
            assert_eq!(status_and_code(error), (status, code.to_owned()));
        }
    }

    #[test]
    fn edge_errors_have_their_status_and_code() {
        let table = [
            (ApiError::MissingCredentials, 401, "unauthenticated"),
            (ApiError::MalformedJson("x".into()), 400, "malformed_json"),
            (ApiError::UnsupportedMediaType, 415, "unsupported_media_type"),
            (ApiError::PayloadTooLarge, 413, "payload_too_large"),
            (ApiError::InvalidId { param: "org_id".into() }, 400, "invalid_id"),
            (ApiError::InvalidQuery("x".into()), 400, "invalid_query"),
            (ApiError::InvalidIfMatch("x"), 400, "invalid_if_match"),
            (ApiError::UnsupportedVersion, 400, "unsupported_version"),
            (ApiError::RouteNotFound, 404, "not_found"),
            (ApiError::MethodNotAllowed, 405, "method_not_allowed"),
            (ApiError::Unavailable, 503, "unavailable"),
        ];
        for (error, status, code) in table {
            let (p, _) = error.to_problem();
            assert_eq!((p.status, p.code.as_str()), (status, code));
            assert_eq!(p.type_uri, format!("https://roster.dev/problems/{code}"));
        }
    }

    #[test]
    fn internal_details_never_reach_the_body() {
        let (p, _) = ApiError::from(Error::Internal("password=hunter2 at db.internal".into())).to_problem();
        assert!(!p.detail.contains("hunter2"));
        assert!(p.errors.is_empty());
    }

    #[test]
    fn invitation_problems_say_what_became_of_the_invitation() {
        let detail = |e: Error| ApiError::from(e).to_problem().0.detail;
        assert!(detail(Error::InvitationExpired).contains("expired"));
        assert!(detail(Error::InvitationRevoked).contains("revoked"));
        assert!(detail(Error::InvitationAccepted).contains("already accepted"));
        assert!(detail(Error::InvitationSettled { status: "revoked" }).contains("is revoked"));
        assert!(detail(Error::InvitationInvalid).contains("not valid"));
    }

    #[test]
    fn a_version_mismatch_names_the_current_version() {
        let (p, _) = ApiError::from(Error::VersionMismatch { current: 42 }).to_problem();
        assert!(p.detail.contains("42"), "{}", p.detail);
    }

    #[test]
    fn validation_problems_list_every_field() {
        let mut errors = ValidationErrors::single("email", "invalid", "bad email");
        errors.push("role_ids[1]", "not_found", "no such role");
        let (p, _) = ApiError::from(errors).to_problem();
        let fields: Vec<_> = p.errors.iter().map(|f| (f.field.as_str(), f.code.as_str())).collect();
        assert_eq!(fields, [("email", "invalid"), ("role_ids[1]", "not_found")]);
    }

    #[test]
    fn unauthenticated_answers_carry_a_bearer_challenge() {
        for e in [ApiError::MissingCredentials, ApiError::Domain(Error::Unauthenticated)] {
            let res = e.into_response();
            assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
            let challenge = res.headers()[header::WWW_AUTHENTICATE].to_str().unwrap();
            assert!(challenge.starts_with("Bearer "), "{challenge}");
        }
    }

    #[test]
    fn rate_limited_answers_say_when_to_retry() {
        let res = ApiError::from(Error::RateLimited { retry_after_secs: 31 }).into_response();
        assert_eq!(res.status(), StatusCode::TOO_MANY_REQUESTS);
        assert_eq!(res.headers()[header::RETRY_AFTER], "31");
        let res = ApiError::from(Error::Forbidden).into_response();
        assert!(res.headers().get(header::RETRY_AFTER).is_none());
    }

    #[test]
    fn the_cause_chain_is_flattened_for_logs() {
        #[derive(Debug)]
        struct Outer(std::io::Error);
        impl std::fmt::Display for Outer {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("storage failure")
            }
        }
        impl StdError for Outer {
            fn source(&self) -> Option<&(dyn StdError + 'static)> {
                Some(&self.0)
            }
        }
        let e = Outer(std::io::Error::other("connection reset"));
        assert_eq!(cause_chain(&e), "storage failure: connection reset");
    }
}
