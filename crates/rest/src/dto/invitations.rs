//! Invitation bodies, the invitation list query and the acceptance body. Tokens and their
//! digests never appear in a response: the token is only in the invitation email.

use std::fmt;

use chrono::{DateTime, Utc};
use roster_domain::invitation::{self as domain, InvitationStatus as DomainStatus};
use roster_domain::page::PageSize;
use roster_domain::service::{AcceptInvitationInput, ListInvitationsInput};
use roster_domain::validation::{ValidationErrors, Validator};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::rules::{FieldRules, ParamRules, Rule};

/// An invitation to join an organization, made when a user is created without a
/// password. Its token is never shown: it is only in the email sent to the user.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Invitation {
    /// Its id.
    pub id: Uuid,
    /// The organization.
    pub organization_id: Uuid,
    /// The invited user (`invited` until the invitation is accepted).
    pub user_id: Uuid,
    /// The invited user's email.
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// The roles the user holds once active.
    pub role_ids: Vec<Uuid>,
    /// Its status now; a pending invitation past `expires_at` is `expired`.
    pub status: InvitationStatus,
    /// Who invited (`user:<id>`, `api_key:<id>`, …).
    pub invited_by: String,
    /// Where the user is sent after accepting.
    pub login_url: Option<String>,
    /// When the link stops working (renewed by a resend).
    pub expires_at: DateTime<Utc>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it changed last.
    pub updated_at: DateTime<Utc>,
    /// When it was accepted.
    pub accepted_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Optimistic-concurrency version; also the `ETag`.
    #[schema(minimum = 1)]
    pub version: i64,
}

impl Invitation {
    /// The wire form of an invitation, its status judged at `now` (the service's clock).
    pub fn new(i: domain::Invitation, now: DateTime<Utc>) -> Self {
        Self {
            id: *i.id.as_uuid(),
            organization_id: *i.org_id.as_uuid(),
            user_id: *i.user_id.as_uuid(),
            email: i.email.as_str().to_owned(),
            role_ids: i.role_ids.iter().map(|r| *r.as_uuid()).collect(),
            status: i.status_at(now).into(),
            invited_by: i.invited_by,
            login_url: i.login_url.map(|u| u.as_str().to_owned()),
            expires_at: i.expires_at,
            created_at: i.created_at,
            updated_at: i.updated_at,
            accepted_at: i.accepted_at,
            revoked_at: i.revoked_at,
            version: i.version,
        }
    }
}

/// What became of an invitation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum InvitationStatus {
    /// Waiting for the invitee.
    Pending,
    /// Accepted: the user is active.
    Accepted,
    /// Revoked (or its user deleted); the seat is free again.
    Revoked,
    /// Not accepted in time; a resend renews it.
    Expired,
}

impl From<DomainStatus> for InvitationStatus {
    fn from(s: DomainStatus) -> Self {
        match s {
            DomainStatus::Pending => Self::Pending,
            DomainStatus::Accepted => Self::Accepted,
            DomainStatus::Revoked => Self::Revoked,
            DomainStatus::Expired => Self::Expired,
        }
    }
}

/// Filter and page of an invitation list.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListInvitationsQuery {
    /// Only invitations with this status now (`pending` excludes expired ones).
    #[param(value_type = Option<InvitationStatus>, inline)]
    pub status: Option<String>,
    /// Page size.
    #[param(default = 50)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page; other values answer 422.
    pub cursor: Option<String>,
}

impl TryFrom<ListInvitationsQuery> for ListInvitationsInput {
    type Error = ValidationErrors;

    fn try_from(q: ListInvitationsQuery) -> Result<Self, Self::Error> {
        let mut v = Validator::default();
        let limit = v.check_opt("limit", q.limit, PageSize::new);
        v.build(|| Some(Self { status: q.status, limit: limit?.unwrap_or_default(), cursor: q.cursor }))
    }
}

/// The rules of the invitation list parameters (see [`super::rules`]).
pub(crate) const PARAM_RULES: ParamRules =
    &[("list_invitations", "limit", Rule::PageSize), ("list_invitations", "cursor", Rule::Cursor)];

/// The `{org_id}/invitations/{invitation_id}` path parameters.
#[derive(Clone, Copy, Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct InvitationPath {
    /// The organization's id.
    pub org_id: Uuid,
    /// The invitation's id.
    pub invitation_id: Uuid,
}

/// An invitee's acceptance: the token from the invitation link and a password.
#[derive(Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AcceptInvitationRequest {
    /// The token: the last part of the invitation link (`…/invite/<token>`).
    #[schema(value_type = String, required = true, example = "rsi_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg")]
    pub token: Option<String>,
    /// The user's new password (12–256 characters by default; not the email, which
    /// answers 422). Checked only once the token is known to be usable.
    #[schema(value_type = String, required = true, format = Password)]
    pub password: Option<String>,
}

impl fmt::Debug for AcceptInvitationRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AcceptInvitationRequest").finish_non_exhaustive()
    }
}

impl AcceptInvitationRequest {
    /// The use case's input, with the request id for the audit log.
    ///
    /// # Errors
    /// [`ValidationErrors`] naming the missing fields.
    pub fn into_input(self, request_id: Option<String>) -> Result<AcceptInvitationInput, ValidationErrors> {
        let mut v = Validator::default();
        if self.token.is_none() {
            v.missing("token");
        }
        if self.password.is_none() {
            v.missing("password");
        }
        v.build(|| Some(AcceptInvitationInput { token: self.token?, password: self.password?, request_id }))
    }
}

/// The domain's rule of each field of the acceptance body (see [`super::rules`]).
pub(crate) const FIELD_RULES: FieldRules = &[("AcceptInvitationRequest", "password", Rule::Password)];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_acceptance_needs_a_token_and_a_password() {
        let err = AcceptInvitationRequest::default().into_input(None).unwrap_err();
        let fields: Vec<_> = err.fields().iter().map(|f| (f.field.as_str(), f.code)).collect();
        assert_eq!(fields, [("token", "required"), ("password", "required")]);
        let r: AcceptInvitationRequest = serde_json::from_str(r#"{"token": "rsi_x", "password": "p"}"#).unwrap();
        let input = r.into_input(Some("req".into())).unwrap();
        assert_eq!((input.token.as_str(), input.password.as_str()), ("rsi_x", "p"));
        assert!(serde_json::from_str::<AcceptInvitationRequest>(r#"{"token": "t", "extra": 1}"#).is_err());
    }

    #[test]
    fn the_acceptance_body_never_shows_its_secrets() {
        let r = AcceptInvitationRequest { token: Some("rsi_secret".into()), password: Some("hunter2".into()) };
        let shown = format!("{r:?}");
        assert!(!shown.contains("rsi_secret") && !shown.contains("hunter2"), "{shown}");
    }

    #[test]
    fn a_bad_limit_is_a_validation_error() {
        let q = ListInvitationsQuery { limit: Some(0), ..Default::default() };
        let err = ListInvitationsInput::try_from(q).unwrap_err();
        assert_eq!(err.fields()[0].field, "limit");
    }
}
