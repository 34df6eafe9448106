//! Login, the session token it returns, and the caller as `/v1/me` shows it.

use std::fmt;

use chrono::{DateTime, Utc};
use roster_domain::auth::PrincipalKind;
use roster_domain::ports::RoleRef;
use roster_domain::service::{LoginInput, LoginOutcome, Me};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::rules::{FieldRules, Rule};

/// A password login. Wrong passwords, unknown emails or organizations and users who are
/// not active all answer the same 401; repeated failures answer 429 for a while.
#[derive(Clone, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The organization's id or slug.
    #[schema(value_type = String, required = true, min_length = 1, max_length = 200, example = "acme")]
    pub organization: Option<String>,
    /// The user's email.
    #[schema(value_type = String, required = true, example = "ada@example.com")]
    pub email: Option<String>,
    /// The user's password.
    #[schema(value_type = String, required = true, format = Password, min_length = 1, max_length = 4096)]
    pub password: Option<String>,
}

impl fmt::Debug for LoginRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginRequest")
            .field("organization", &self.organization)
            .field("email", &self.email)
            .finish_non_exhaustive()
    }
}

impl LoginRequest {
    /// The use case's input, with the client's address for throttling and the request id
    /// for the audit log.
    pub fn into_input(self, client_ip: Option<String>, request_id: Option<String>) -> LoginInput {
        LoginInput {
            organization: self.organization,
            email: self.email,
            password: self.password,
            client_ip,
            request_id,
        }
    }
}

/// The domain's rule of each field of the login body (see [`super::rules`]).
pub(crate) const FIELD_RULES: FieldRules = &[("LoginRequest", "email", Rule::Email)];

/// A new session: its bearer token, shown only in this response.
#[derive(Clone, Serialize, ToSchema)]
pub struct LoginResponse {
    /// The bearer token (`rss_…`): send it as `Authorization: Bearer <token>`.
    #[schema(example = "rss_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg")]
    pub token: String,
    /// When the session ends, unless it is revoked (logout) before.
    pub expires_at: DateTime<Utc>,
    /// The session's id (see the user's sessions).
    pub session_id: Uuid,
    /// The user who logged in.
    pub user_id: Uuid,
    /// The user's organization.
    pub organization_id: Uuid,
}

impl fmt::Debug for LoginResponse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoginResponse").field("session_id", &self.session_id).finish_non_exhaustive()
    }
}

impl From<LoginOutcome> for LoginResponse {
    fn from(o: LoginOutcome) -> Self {
        Self {
            token: o.token.expose().to_owned(),
            expires_at: o.session.expires_at,
            session_id: *o.session.id.as_uuid(),
            user_id: *o.session.user_id.as_uuid(),
            organization_id: *o.session.org_id.as_uuid(),
        }
    }
}

/// What kind of credential the caller presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CredentialKind {
    /// A platform key: every organization.
    PlatformKey,
    /// An organization's service key.
    ServiceKey,
    /// A user's personal key.
    PersonalKey,
    /// A login session.
    Session,
}

impl From<PrincipalKind> for CredentialKind {
    fn from(k: PrincipalKind) -> Self {
        match k {
            PrincipalKind::PlatformKey => Self::PlatformKey,
            PrincipalKind::ServiceKey => Self::ServiceKey,
            PrincipalKind::PersonalKey => Self::PersonalKey,
            PrincipalKind::Session => Self::Session,
        }
    }
}

/// A role, by id and key.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct RoleSummary {
    /// The role's id.
    pub id: Uuid,
    /// Its key.
    #[schema(example = "admin")]
    pub key: String,
}

impl From<&RoleRef> for RoleSummary {
    fn from(r: &RoleRef) -> Self {
        Self { id: *r.id.as_uuid(), key: r.key.clone() }
    }
}

/// The caller: its credential, organization, user, roles and effective permissions.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Caller {
    /// The credential's kind.
    pub kind: CredentialKind,
    /// The caller's organization (`null` for platform keys).
    pub organization_id: Option<Uuid>,
    /// The user it acts for (personal keys and sessions).
    pub user_id: Option<Uuid>,
    /// The user's roles (empty for keys that act for no user).
    pub roles: Vec<RoleSummary>,
    /// The effective permissions — roles and direct grants, within a key's scope;
    /// `["*"]` means every permission.
    #[schema(example = json!(["organizations.read", "users.read"]))]
    pub permissions: Vec<String>,
}

impl From<Me> for Caller {
    fn from(me: Me) -> Self {
        Self {
            kind: me.kind.into(),
            organization_id: me.organization_id.map(|o| *o.as_uuid()),
            user_id: me.user_id.map(|u| *u.as_uuid()),
            roles: me.roles.iter().map(RoleSummary::from).collect(),
            permissions: me.permissions.names(),
        }
    }
}
