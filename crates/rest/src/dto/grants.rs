//! Direct permission grants, effective permissions and batched permission checks.

use chrono::{DateTime, Utc};
use roster_domain::grant as domain;
use roster_domain::permission::PermissionSet;
use roster_domain::service::{CheckOutcome, GrantInput};
use roster_domain::validation::{ValidationErrors, Validator};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::rules::{FieldRules, Rule};
use super::{not_null, patch_field};

/// A permission given directly to one user, beside their roles.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Grant {
    /// Its id.
    pub id: Uuid,
    /// The user's organization.
    pub organization_id: Uuid,
    /// The user who holds it.
    pub user_id: Uuid,
    /// What it grants; a user holds each permission at most once.
    #[schema(example = "projects.create")]
    pub permission: String,
    /// When it stops counting, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// Who granted it.
    pub created_by: String,
    /// When it was granted.
    pub created_at: DateTime<Utc>,
    /// When it was changed last.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version; also the `ETag`.
    #[schema(minimum = 1)]
    pub version: i64,
}

impl From<domain::Grant> for Grant {
    fn from(g: domain::Grant) -> Self {
        Self {
            id: *g.id.as_uuid(),
            organization_id: *g.org_id.as_uuid(),
            user_id: *g.user_id.as_uuid(),
            permission: g.permission.as_str().to_owned(),
            expires_at: g.expires_at,
            created_by: g.created_by,
            created_at: g.created_at,
            updated_at: g.updated_at,
            version: g.version,
        }
    }
}

/// A request to grant a permission to a user. The caller must hold it itself (else 403).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateGrantRequest {
    /// The permission, `resource.action`.
    #[schema(value_type = String, required = true, example = "projects.create")]
    pub permission: Option<String>,
    /// When it stops counting; must be in the future (else 422). Absent: never.
    pub expires_at: Option<DateTime<Utc>>,
}

impl From<CreateGrantRequest> for GrantInput {
    fn from(r: CreateGrantRequest) -> Self {
        Self { permission: r.permission, expires_at: r.expires_at.map(Some) }
    }
}

/// A partial update of a grant: absent fields stay as they are.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateGrantRequest {
    /// The new permission.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = String)]
    pub permission: Option<Option<String>>,
    /// A new expiry in the future, or `null` for never.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<DateTime<Utc>>)]
    pub expires_at: Option<Option<DateTime<Utc>>>,
}

impl TryFrom<UpdateGrantRequest> for GrantInput {
    type Error = ValidationErrors;

    fn try_from(r: UpdateGrantRequest) -> Result<Self, Self::Error> {
        let mut v = Validator::default();
        let input = Self { permission: not_null(&mut v, "permission", r.permission), expires_at: r.expires_at };
        v.finish().map(|()| input)
    }
}

/// The `{org_id}/users/{user_id}/permissions/{grant_id}` path parameters.
#[derive(Clone, Copy, Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct GrantPath {
    /// The organization's id.
    pub org_id: Uuid,
    /// The user's id.
    pub user_id: Uuid,
    /// The grant's id.
    pub grant_id: Uuid,
}

/// A user's effective permissions.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct EffectivePermissions {
    /// Their roles' permissions and their unexpired direct grants (none unless the user
    /// is active); `["*"]` means every permission (owners).
    #[schema(example = json!(["organizations.read", "projects.create", "users.read"]))]
    pub permissions: Vec<String>,
}

impl From<PermissionSet> for EffectivePermissions {
    fn from(set: PermissionSet) -> Self {
        Self { permissions: set.names() }
    }
}

/// Questions "may this user do this?" in one organization.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionChecksRequest {
    /// 1 to 1000 questions, answered in the same order.
    #[schema(min_items = 1, max_items = 1000)]
    pub checks: Vec<PermissionCheck>,
}

/// One question.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PermissionCheck {
    /// The user's id.
    #[schema(value_type = Uuid)]
    pub user_id: String,
    /// The permission, `resource.action`.
    #[schema(example = "projects.create")]
    pub permission: String,
}

impl PermissionChecksRequest {
    /// The `(user, permission)` pairs, as the use case takes them.
    pub fn pairs(&self) -> Vec<(String, String)> {
        self.checks.iter().map(|c| (c.user_id.clone(), c.permission.clone())).collect()
    }
}

/// The answer to one question.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct PermissionCheckResult {
    /// The user's id, as asked.
    pub user_id: String,
    /// The permission, as asked.
    pub permission: String,
    /// Whether the user holds the permission (an inactive user holds none).
    pub allowed: bool,
    /// Whether the organization has this user.
    pub user_found: bool,
}

impl PermissionCheckResult {
    /// The answer to `check`.
    pub fn new(check: PermissionCheck, outcome: CheckOutcome) -> Self {
        Self {
            user_id: check.user_id,
            permission: check.permission,
            allowed: outcome == CheckOutcome::Allowed,
            user_found: outcome != CheckOutcome::UserNotFound,
        }
    }
}

/// The domain's rule of each field of the grant and check bodies (see [`super::rules`]).
pub(crate) const FIELD_RULES: FieldRules = &[
    ("CreateGrantRequest", "permission", Rule::Permission),
    ("UpdateGrantRequest", "permission", Rule::Permission),
    ("PermissionCheck", "permission", Rule::Permission),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_grant_patch_may_clear_the_expiry_but_not_the_permission() {
        let r: UpdateGrantRequest = serde_json::from_str(r#"{"expires_at": null}"#).unwrap();
        let input = GrantInput::try_from(r).unwrap();
        assert_eq!((input.permission, input.expires_at), (None, Some(None)));
        let r: UpdateGrantRequest = serde_json::from_str(r#"{}"#).unwrap();
        assert_eq!(GrantInput::try_from(r).unwrap().expires_at, None);
        let r: UpdateGrantRequest = serde_json::from_str(r#"{"permission": null}"#).unwrap();
        assert_eq!(GrantInput::try_from(r).unwrap_err().fields()[0].field, "permission");
    }

    #[test]
    fn check_outcomes_become_two_flags() {
        let check = || PermissionCheck { user_id: "u".into(), permission: "p.q".into() };
        let flags = |o| {
            let r = PermissionCheckResult::new(check(), o);
            (r.allowed, r.user_found)
        };
        assert_eq!(flags(CheckOutcome::Allowed), (true, true));
        assert_eq!(flags(CheckOutcome::Denied), (false, true));
        assert_eq!(flags(CheckOutcome::UserNotFound), (false, false));
    }
}
