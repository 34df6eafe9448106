//! Role bodies: the built-in roles (read-only) and custom roles.

use chrono::{DateTime, Utc};
use roster_domain::role as domain;
use roster_domain::service::{CreateRoleInput, UpdateRoleInput};
use roster_domain::validation::{ValidationErrors, Validator};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::rules::{FieldRules, Rule};
use super::{not_null, patch_field};

/// The longest role name (the domain's limit).
pub(crate) const NAME_MAX: usize = 200;
/// The longest role description (the domain's limit).
pub(crate) const DESCRIPTION_MAX: usize = 2000;

/// A role of one organization.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Role {
    /// Its id.
    pub id: Uuid,
    /// The organization it belongs to.
    pub organization_id: Uuid,
    /// Its key, unique within the organization.
    #[schema(example = "billing-admin")]
    pub key: String,
    /// Display name.
    #[schema(example = "Billing admin")]
    pub name: String,
    /// What the role is for.
    pub description: String,
    /// What holding it grants; `["*"]` is every permission (the owner role). Built-in
    /// roles show the permissions the server gives them.
    #[schema(example = json!(["users.read", "projects.create"]))]
    pub permissions: Vec<String>,
    /// Whether it is one of the built-in roles `owner`, `admin` and `member`, which
    /// cannot be changed or deleted.
    pub builtin: bool,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was changed last.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version; also the `ETag`.
    #[schema(minimum = 1)]
    pub version: i64,
}

impl From<domain::Role> for Role {
    fn from(r: domain::Role) -> Self {
        Self {
            id: *r.id.as_uuid(),
            organization_id: *r.org_id.as_uuid(),
            permissions: r.grants().names(),
            key: r.key.as_str().to_owned(),
            name: r.name,
            description: r.description,
            builtin: r.builtin,
            created_at: r.created_at,
            updated_at: r.updated_at,
            version: r.version,
        }
    }
}

/// A request to create a custom role. Its permissions must all be held by the caller
/// (else 403).
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateRoleRequest {
    /// Unique key within the organization: 1–64 lowercase letters, digits, `_` and `-`.
    #[schema(value_type = String, required = true, example = "billing-admin")]
    pub key: Option<String>,
    /// Display name (1–200 characters).
    #[schema(value_type = String, required = true, example = "Billing admin")]
    pub name: Option<String>,
    /// What the role is for (at most 2000 characters).
    pub description: Option<String>,
    /// Its permissions (`resource.action`, at most 500): Roster's own and the
    /// application's, such as `projects.create`.
    #[schema(value_type = Vec<String>, required = true, example = json!(["projects.create"]))]
    pub permissions: Option<Vec<String>>,
}

impl From<CreateRoleRequest> for CreateRoleInput {
    fn from(r: CreateRoleRequest) -> Self {
        Self { key: r.key, name: r.name, description: r.description, permissions: r.permissions }
    }
}

/// A partial update of a custom role: absent fields stay as they are.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateRoleRequest {
    /// New key.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = String)]
    pub key: Option<Option<String>>,
    /// New name.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = String)]
    pub name: Option<Option<String>>,
    /// New description, or `null` to clear it.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// The new permissions, replacing the old ones.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Vec<String>)]
    pub permissions: Option<Option<Vec<String>>>,
}

impl TryFrom<UpdateRoleRequest> for UpdateRoleInput {
    type Error = ValidationErrors;

    fn try_from(r: UpdateRoleRequest) -> Result<Self, Self::Error> {
        let mut v = Validator::default();
        let input = Self {
            key: not_null(&mut v, "key", r.key),
            name: not_null(&mut v, "name", r.name),
            description: r.description.map(Option::unwrap_or_default),
            permissions: not_null(&mut v, "permissions", r.permissions),
        };
        v.finish().map(|()| input)
    }
}

/// The domain's rule of each field of the role bodies (see [`super::rules`]).
pub(crate) const FIELD_RULES: FieldRules = &[
    ("CreateRoleRequest", "key", Rule::RoleKey),
    ("CreateRoleRequest", "name", Rule::Lines { max: NAME_MAX, required: true }),
    ("CreateRoleRequest", "description", Rule::Lines { max: DESCRIPTION_MAX, required: false }),
    ("CreateRoleRequest", "permissions", Rule::Permissions),
    ("UpdateRoleRequest", "key", Rule::RoleKey),
    ("UpdateRoleRequest", "name", Rule::Lines { max: NAME_MAX, required: true }),
    ("UpdateRoleRequest", "description", Rule::Lines { max: DESCRIPTION_MAX, required: false }),
    ("UpdateRoleRequest", "permissions", Rule::Permissions),
];

/// The `{org_id}/roles/{role_id}` path parameters.
#[derive(Clone, Copy, Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct RolePath {
    /// The organization's id.
    pub org_id: Uuid,
    /// The role's id.
    pub role_id: Uuid,
}

/// Where a deleted role's holders go.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct DeleteRoleQuery {
    /// Another role of the organization, given to the users who hold the deleted one
    /// (one the caller could grant). Required when users hold it (else 409
    /// `role_in_use`).
    #[param(value_type = Option<Uuid>)]
    pub reassign_to: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_patches_tell_absent_from_null() {
        let r: UpdateRoleRequest = serde_json::from_str(r#"{"description": null, "name": "N"}"#).unwrap();
        let input = UpdateRoleInput::try_from(r).unwrap();
        assert_eq!(input.description.as_deref(), Some(""));
        assert_eq!(input.name.as_deref(), Some("N"));
        assert_eq!(input.key, None);
        let r: UpdateRoleRequest = serde_json::from_str(r#"{"key": null, "permissions": null}"#).unwrap();
        let fields: Vec<String> =
            UpdateRoleInput::try_from(r).unwrap_err().fields().iter().map(|f| f.field.clone()).collect();
        assert_eq!(fields, ["key", "permissions"]);
    }
}
