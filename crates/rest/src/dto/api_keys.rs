//! API key bodies: service keys of an organization and personal keys of a user. A key's
//! secret appears once, in the response that created it.

use chrono::{DateTime, Utc};
use roster_domain::api_key::{self as domain, NewSecret};
use roster_domain::service::CreateApiKeyInput;
use roster_domain::values::KeyName;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::rules::{FieldRules, Rule};

/// An API key, without its secret.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct ApiKey {
    /// Its id.
    pub id: Uuid,
    /// The organization it acts for (`null` for platform keys).
    pub organization_id: Option<Uuid>,
    /// The user it acts for: set on personal keys, `null` on service keys.
    pub user_id: Option<Uuid>,
    /// A human label.
    pub name: String,
    /// The start of the token, to recognise it by.
    #[schema(example = "rst_AbCdEfGh")]
    pub prefix: String,
    /// The most it may do (permissions); `null` is everything its owner may do. A
    /// personal key never does more than its user may, whatever its scope.
    #[schema(example = json!(["users.read"]))]
    pub scope: Option<Vec<String>>,
    /// Who made it.
    pub created_by: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it last authenticated a request (to within a minute).
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<domain::ApiKey> for ApiKey {
    fn from(k: domain::ApiKey) -> Self {
        Self {
            id: *k.id.as_uuid(),
            organization_id: k.owner.org_id().map(|o| *o.as_uuid()),
            user_id: k.owner.user_id().map(|u| *u.as_uuid()),
            name: k.name.as_str().to_owned(),
            prefix: k.prefix,
            scope: k.scope.map(|s| s.names()),
            created_by: k.created_by,
            created_at: k.created_at,
            expires_at: k.expires_at,
            revoked_at: k.revoked_at,
            last_used_at: k.last_used_at,
        }
    }
}

/// A created key with its secret, shown only in this response.
#[derive(Clone, Serialize, ToSchema)]
pub struct CreatedApiKey {
    /// The key.
    #[serde(flatten)]
    pub key: ApiKey,
    /// The bearer token. Store it now: it cannot be shown again.
    #[schema(example = "rst_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg")]
    pub secret: String,
}

impl std::fmt::Debug for CreatedApiKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CreatedApiKey").field("key", &self.key).finish_non_exhaustive()
    }
}

impl From<(domain::ApiKey, NewSecret)> for CreatedApiKey {
    fn from((key, secret): (domain::ApiKey, NewSecret)) -> Self {
        Self { key: key.into(), secret: secret.expose().to_owned() }
    }
}

/// A request to create a service key for an organization or a personal key for a user.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateApiKeyRequest {
    /// A human label (1–100 characters).
    #[schema(value_type = String, required = true, example = "billing sync")]
    pub name: Option<String>,
    /// When the key stops working; must be in the future (else 422).
    pub expires_at: Option<DateTime<Utc>>,
    /// The most the key may do: permissions the caller holds itself (else 403), at most
    /// 500. Absent or `null`: everything its owner may do — for a service key that is
    /// an owner's reach, which only owners may hand out. A personal key's scope must be
    /// within its user's permissions (else 422).
    #[schema(example = json!(["users.read"]))]
    pub scope: Option<Vec<String>>,
}

/// The domain's rule of each field of the key bodies (see [`super::rules`]).
pub(crate) const FIELD_RULES: FieldRules = &[
    ("CreateApiKeyRequest", "name", Rule::Text(KeyName::MAX_CHARS)),
    ("CreateApiKeyRequest", "scope", Rule::Permissions),
];

impl From<CreateApiKeyRequest> for CreateApiKeyInput {
    fn from(r: CreateApiKeyRequest) -> Self {
        Self { name: r.name, expires_at: r.expires_at, scope: r.scope }
    }
}

/// The `{org_id}/api-keys/{key_id}` path parameters.
#[derive(Clone, Copy, Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct ApiKeyPath {
    /// The organization's id.
    pub org_id: Uuid,
    /// The key's id.
    pub key_id: Uuid,
}

/// The `{org_id}/users/{user_id}/api-keys/{key_id}` path parameters.
#[derive(Clone, Copy, Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct PersonalKeyPath {
    /// The organization's id.
    pub org_id: Uuid,
    /// The user's id.
    pub user_id: Uuid,
    /// The key's id.
    pub key_id: Uuid,
}
