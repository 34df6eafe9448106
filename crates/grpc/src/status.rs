//! The one mapping from [`roster_domain::Error`] to a gRPC [`Status`].
//!
//! Every failure carries a `google.rpc.ErrorInfo` with `domain` = "roster" and `reason`
//! equal to the REST `code` ([`Error::code`]); validation failures add a
//! `google.rpc.BadRequest` with one field violation per bad field, and rate limits a
//! `google.rpc.RetryInfo` with the delay before the next attempt. Internal failures are
//! logged with their cause chain and reach the client only as a generic message.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::time::Duration;

use roster_domain::Error;
use roster_domain::validation::ValidationErrors;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation, StatusExt as _};

/// `ErrorInfo.domain` of every Roster error.
pub(crate) const ERROR_DOMAIN: &str = "roster";

/// The gRPC status for a failed use case (or a request the edge could not parse).
pub(crate) fn to_status(err: Error) -> Status {
    let code = match &err {
        Error::Validation(_) => Code::InvalidArgument,
        // An unusable invitation token is as good as unknown, whoever asks.
        Error::NotFound(_) | Error::InvitationInvalid => Code::NotFound,
        Error::EmailTaken | Error::UsernameTaken | Error::SlugTaken | Error::RoleKeyTaken | Error::GrantExists => {
            Code::AlreadyExists
        }
        Error::SeatLimitReached { .. }
        | Error::LastOwner
        | Error::RoleInUse { .. }
        | Error::ImmutableRole
        | Error::InvitationExpired
        | Error::InvitationRevoked
        | Error::InvitationAccepted
        | Error::InvitationSettled { .. } => Code::FailedPrecondition,
        Error::VersionMismatch { .. } => Code::Aborted,
        Error::RateLimited { .. } => Code::ResourceExhausted,
        Error::Unauthenticated => Code::Unauthenticated,
        Error::Forbidden => Code::PermissionDenied,
        Error::Internal(_) => Code::Internal,
    };
    let metadata: HashMap<String, String> = match &err {
        Error::SeatLimitReached { limit } => HashMap::from([("limit".to_owned(), limit.to_string())]),
        Error::VersionMismatch { current } => HashMap::from([("current_version".to_owned(), current.to_string())]),
        Error::RoleInUse { holders } => HashMap::from([("holders".to_owned(), holders.to_string())]),
        Error::InvitationSettled { status } => HashMap::from([("status".to_owned(), (*status).to_owned())]),
        Error::RateLimited { retry_after_secs } => {
            HashMap::from([("retry_after_seconds".to_owned(), retry_after_secs.to_string())])
        }
        _ => HashMap::new(),
    };
    let mut details = ErrorDetails::with_error_info(err.code(), ERROR_DOMAIN, metadata);
    match &err {
        Error::Validation(errors) => {
            details.set_bad_request(errors.fields().iter().map(violation).collect::<Vec<_>>());
        }
        Error::RateLimited { retry_after_secs } => {
            details.set_retry_info(Some(Duration::from_secs(*retry_after_secs)));
        }
        _ => {}
    }
    let message = match &err {
        Error::Internal(_) => {
            tracing::error!(error = %cause_chain(&err), "internal error in a gRPC call");
            "internal error".to_owned()
        }
        _ => err.to_string(),
    };
    Status::with_error_details(code, message, details)
}

/// A request the edge rejected before any use case ran (malformed ids, bad field masks).
pub(crate) fn invalid(errors: ValidationErrors) -> Status {
    to_status(Error::Validation(errors))
}

/// Renames the fields of a validation error (e.g. `name` → `organization.name` for a
/// patch, `cursor` → `page_token`), leaving every other error alone.
pub(crate) fn rename_fields(err: Error, rename: impl Fn(&str) -> String) -> Error {
    match err {
        Error::Validation(errors) => {
            let mut renamed = ValidationErrors::default();
            for field in errors.fields() {
                renamed.push(rename(&field.field), field.code, field.message.clone());
            }
            Error::Validation(renamed)
        }
        other => other,
    }
}

fn violation(field: &roster_domain::validation::FieldError) -> FieldViolation {
    FieldViolation {
        field: field.field.clone(),
        description: field.message.clone(),
        // google.rpc.BadRequest wants UPPER_SNAKE_CASE reasons; the codes are lower_snake.
        reason: field.code.to_ascii_uppercase(),
        localized_message: None,
    }
}

/// `error: cause: cause …`, for the log only.
fn cause_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut chain = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let _ = write!(chain, ": {cause}");
        source = cause.source();
    }
    chain
}

#[cfg(test)]
mod tests {
    use roster_domain::error::Resource;

    use super::*;

    fn info(status: &Status) -> tonic_types::ErrorInfo {
        status.get_details_error_info().expect("ErrorInfo is attached")
    }

    #[test]
    fn every_error_has_its_code_and_reason() {
        let cases = [
            (Error::NotFound(Resource::User), Code::NotFound),
            (Error::EmailTaken, Code::AlreadyExists),
            (Error::UsernameTaken, Code::AlreadyExists),
            (Error::SlugTaken, Code::AlreadyExists),
            (Error::SeatLimitReached { limit: 3 }, Code::FailedPrecondition),
            (Error::VersionMismatch { current: 4 }, Code::Aborted),
            (Error::LastOwner, Code::FailedPrecondition),
            (Error::RoleInUse { holders: 2 }, Code::FailedPrecondition),
            (Error::ImmutableRole, Code::FailedPrecondition),
            (Error::RoleKeyTaken, Code::AlreadyExists),
            (Error::GrantExists, Code::AlreadyExists),
            (Error::NotFound(Resource::Invitation), Code::NotFound),
            (Error::InvitationInvalid, Code::NotFound),
            (Error::InvitationExpired, Code::FailedPrecondition),
            (Error::InvitationRevoked, Code::FailedPrecondition),
            (Error::InvitationAccepted, Code::FailedPrecondition),
            (Error::InvitationSettled { status: "accepted" }, Code::FailedPrecondition),
            (Error::RateLimited { retry_after_secs: 30 }, Code::ResourceExhausted),
            (Error::Unauthenticated, Code::Unauthenticated),
            (Error::Forbidden, Code::PermissionDenied),
        ];
        for (err, code) in cases {
            let reason = err.code();
            let status = to_status(err);
            assert_eq!(status.code(), code, "{reason}");
            let info = info(&status);
            assert_eq!(info.reason, reason);
            assert_eq!(info.domain, "roster");
        }
    }

    #[test]
    fn limits_and_versions_travel_in_the_metadata() {
        let status = to_status(Error::SeatLimitReached { limit: 3 });
        assert_eq!(info(&status).metadata.get("limit").map(String::as_str), Some("3"));
        let status = to_status(Error::VersionMismatch { current: 4 });
        assert_eq!(info(&status).metadata.get("current_version").map(String::as_str), Some("4"));
    }

    #[test]
    fn invitation_failures_carry_their_own_reasons() {
        let reasons: Vec<String> = [
            Error::InvitationInvalid,
            Error::InvitationExpired,
            Error::InvitationRevoked,
            Error::InvitationAccepted,
            Error::InvitationSettled { status: "revoked" },
        ]
        .into_iter()
        .map(|err| info(&to_status(err)).reason)
        .collect();
        assert_eq!(
            reasons,
            [
                "invitation_invalid",
                "invitation_expired",
                "invitation_revoked",
                "invitation_already_accepted",
                "invitation_not_pending"
            ]
        );
        let status = to_status(Error::InvitationSettled { status: "revoked" });
        assert_eq!(info(&status).metadata.get("status").map(String::as_str), Some("revoked"));
    }

    #[test]
    fn rate_limits_say_when_to_retry() {
        let status = to_status(Error::RateLimited { retry_after_secs: 31 });
        let retry = status.get_details_retry_info().expect("RetryInfo is attached");
        assert_eq!(retry.retry_delay, Some(Duration::from_secs(31)));
        assert_eq!(info(&status).metadata.get("retry_after_seconds").map(String::as_str), Some("31"));
        let status = to_status(Error::RoleInUse { holders: 2 });
        assert_eq!(info(&status).metadata.get("holders").map(String::as_str), Some("2"));
    }

    #[test]
    fn validation_errors_list_every_field() {
        let mut errors = ValidationErrors::single("email", "required", "email is required");
        errors.push("role_ids[1]", "invalid_id", "not a valid id");
        let status = to_status(Error::Validation(errors));
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(info(&status).reason, "validation_failed");
        let bad = status.get_details_bad_request().expect("BadRequest is attached");
        let fields: Vec<(&str, &str)> =
            bad.field_violations.iter().map(|v| (v.field.as_str(), v.reason.as_str())).collect();
        assert_eq!(fields, [("email", "REQUIRED"), ("role_ids[1]", "INVALID_ID")]);
    }

    #[test]
    fn internal_errors_keep_their_cause_to_the_log() {
        let cause = std::io::Error::other("disk on fire at /var/lib/roster");
        let status = to_status(Error::Internal(Box::new(cause)));
        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "internal error");
        assert_eq!(info(&status).reason, "internal");
        assert!(!format!("{status:?}").contains("disk on fire"));
    }

    #[test]
    fn renaming_touches_only_validation_errors() {
        let err = rename_fields(ValidationErrors::single("name", "required", "x").into(), |f| format!("user.{f}"));
        let Error::Validation(errors) = err else { panic!("still a validation error") };
        assert_eq!(errors.fields()[0].field, "user.name");
        assert!(matches!(rename_fields(Error::EmailTaken, |f| f.to_owned()), Error::EmailTaken));
    }
}
