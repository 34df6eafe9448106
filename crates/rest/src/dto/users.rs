//! User bodies and the user list query.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use roster_domain::organization::OrgSummary;
use roster_domain::service::{BatchOutcome, CreatedUser};
use roster_domain::user as domain;
use roster_domain::user_input::{CreateUserInput, ListUsersInput, UpdateUserInput};
use roster_domain::validation::{ValidationErrors, Validator};
use roster_domain::values::{DisplayName, Location, NamePart};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::organizations::{BuiltinRoleKey, OrganizationSummary};
use super::rules::{FieldRules, Joint, JointRules, ParamRules, Rule};
use super::{not_null, patch_field};

/// A user of one organization. Password hashes never leave the server.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct User {
    /// Its id.
    pub id: Uuid,
    /// The organization it belongs to.
    pub organization_id: Uuid,
    /// That organization, in short.
    pub organization: OrganizationSummary,
    /// Email, unique (case-insensitively) within the organization.
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// Handle, unique within the organization.
    #[schema(example = "ada")]
    pub username: String,
    /// Display name.
    #[schema(example = "Ada Lovelace")]
    pub name: String,
    /// First name.
    pub first_name: Option<String>,
    /// Last name.
    pub last_name: Option<String>,
    /// Where the user is.
    pub location: Option<String>,
    /// Preferred language (BCP 47).
    pub locale: Option<String>,
    /// Labels, sorted.
    pub tags: Vec<String>,
    /// Small string-to-string data for the caller's own use.
    pub metadata: BTreeMap<String, String>,
    /// Life-cycle status.
    pub status: UserStatus,
    /// The roles held.
    pub role_ids: Vec<Uuid>,
    /// When the user last logged in.
    pub last_login_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was changed last.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version; also the `ETag`.
    #[schema(minimum = 1)]
    pub version: i64,
}

impl User {
    /// The wire form of a user and its organization's summary.
    pub fn new(u: domain::User, organization: &OrgSummary) -> Self {
        Self {
            id: *u.id.as_uuid(),
            organization_id: *u.org_id.as_uuid(),
            organization: organization.into(),
            email: u.email.as_str().to_owned(),
            username: u.username.as_str().to_owned(),
            name: u.name.as_str().to_owned(),
            first_name: u.first_name.map(|n| n.as_str().to_owned()),
            last_name: u.last_name.map(|n| n.as_str().to_owned()),
            location: u.location.map(|l| l.as_str().to_owned()),
            locale: u.locale.map(|l| l.as_str().to_owned()),
            tags: u.tags.to_strings(),
            metadata: u.metadata.as_map().clone(),
            status: u.status.into(),
            role_ids: u.role_ids.iter().map(|r| *r.as_uuid()).collect(),
            last_login_at: u.last_login_at,
            created_at: u.created_at,
            updated_at: u.updated_at,
            version: u.version,
        }
    }
}

impl From<domain::UserView> for User {
    fn from(v: domain::UserView) -> Self {
        Self::new(v.user, &v.organization)
    }
}

/// A created user; `generated_password` is present, once, only when it was asked for.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct CreatedUserBody {
    /// The user.
    #[serde(flatten)]
    pub user: User,
    /// The generated password. Shown only in this response; store it now.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(value_type = String, required = false)]
    pub generated_password: Option<String>,
}

impl From<CreatedUser> for CreatedUserBody {
    fn from(c: CreatedUser) -> Self {
        Self { user: c.view.into(), generated_password: c.generated_password.map(|p| p.expose().to_owned()) }
    }
}

/// Where a user is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UserStatus {
    /// Waits for an invitation to be accepted.
    Invited,
    /// A working account.
    Active,
    /// Blocked.
    Suspended,
    /// Soft-deleted (never returned by reads).
    Deleted,
}

impl From<domain::UserStatus> for UserStatus {
    fn from(s: domain::UserStatus) -> Self {
        match s {
            domain::UserStatus::Invited => Self::Invited,
            domain::UserStatus::Active => Self::Active,
            domain::UserStatus::Suspended => Self::Suspended,
            domain::UserStatus::Deleted => Self::Deleted,
        }
    }
}

/// The statuses a list can filter on.
#[derive(Clone, Copy, Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum StatusFilter {
    /// Invited users.
    Invited,
    /// Active users.
    Active,
    /// Suspended users.
    Suspended,
}

/// The statuses an update may set.
#[derive(Clone, Copy, Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum SettableStatus {
    /// Re-activate.
    Active,
    /// Block.
    Suspended,
}

/// The orders of a user list; `-` is descending.
#[derive(Clone, Copy, Debug, ToSchema)]
pub enum UserSortKey {
    /// Oldest first (default).
    #[schema(rename = "created_at")]
    CreatedAt,
    /// Newest first.
    #[schema(rename = "-created_at")]
    CreatedAtDesc,
    /// By email, A→Z.
    #[schema(rename = "email")]
    Email,
    /// By email, Z→A.
    #[schema(rename = "-email")]
    EmailDesc,
    /// By name, A→Z.
    #[schema(rename = "name")]
    Name,
    /// By name, Z→A.
    #[schema(rename = "-name")]
    NameDesc,
}

/// A request to create a user: with `password` or `generate_password` the user is
/// `active` (a generated password is also emailed to the user with the login URL),
/// otherwise `invited`: the user gets an invitation email with a single-use link and
/// becomes `active`, with their roles, on accepting it.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateUserRequest {
    /// Email, unique within the organization (at most 254 characters, ASCII).
    #[schema(value_type = String, required = true, example = "ada@example.com")]
    pub email: Option<String>,
    /// A password (12–256 characters by default; not the email, which answers 422). Not
    /// with `generate_password`.
    pub password: Option<String>,
    /// Generate a password and return it once as `generated_password`.
    pub generate_password: Option<bool>,
    /// Handle (2–64 letters, digits, `.`, `_` and `-`, stored lowercase); derived from
    /// the email when absent.
    pub username: Option<String>,
    /// Display name (1–200 characters); derived from `first_name` and `last_name` when
    /// absent (one of the three is required).
    pub name: Option<String>,
    /// First name (1–100 characters).
    pub first_name: Option<String>,
    /// Last name (1–100 characters).
    pub last_name: Option<String>,
    /// Where the user is (1–200 characters).
    pub location: Option<String>,
    /// Preferred language (BCP 47), such as `en` or `pt-BR`.
    #[schema(example = "en")]
    pub locale: Option<String>,
    /// Labels (at most 20): letters, digits, `-`, `_`, `:` and `.`, stored lowercase.
    pub tags: Option<Vec<String>>,
    /// Up to 50 string values (at most 500 characters) under keys of 1–40 letters,
    /// digits, `_`, `-` and `.`.
    pub metadata: Option<BTreeMap<String, String>>,
    /// The roles to grant (at least one, each a role of the organization, or 422); the
    /// organization's default role when absent. Not with `role`.
    #[schema(value_type = Option<Vec<Uuid>>, min_items = 1)]
    pub role_ids: Option<Vec<String>>,
    /// Deprecated: one role by key. Use `role_ids`.
    #[schema(value_type = Option<BuiltinRoleKey>, deprecated)]
    pub role: Option<String>,
    /// Absolute http(s) URL where the user signs in (at most 2048 characters): the link
    /// of the credentials email with `generate_password`, and where an invitee is sent
    /// after accepting. Defaults to the organization's `default_login_url`;
    /// `generate_password` needs one of the two (else 422 naming `login_url`).
    #[schema(example = "https://app.acme.example/login")]
    pub login_url: Option<String>,
}

impl From<CreateUserRequest> for CreateUserInput {
    fn from(r: CreateUserRequest) -> Self {
        Self {
            email: r.email,
            password: r.password,
            generate_password: r.generate_password.unwrap_or(false),
            username: r.username,
            name: r.name,
            first_name: r.first_name,
            last_name: r.last_name,
            location: r.location,
            locale: r.locale,
            tags: r.tags,
            metadata: r.metadata,
            role_ids: r.role_ids,
            role: r.role,
            login_url: r.login_url,
        }
    }
}

/// A partial update: absent fields stay as they are; `null` clears a nullable field.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateUserRequest {
    /// New email.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = String)]
    pub email: Option<Option<String>>,
    /// New username.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = String)]
    pub username: Option<Option<String>>,
    /// New display name.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = String)]
    pub name: Option<Option<String>>,
    /// New first name, or `null` to clear it.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub first_name: Option<Option<String>>,
    /// New last name, or `null` to clear it.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub last_name: Option<Option<String>>,
    /// New location, or `null` to clear it.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub location: Option<Option<String>>,
    /// New locale, or `null` to clear it.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub locale: Option<Option<String>>,
    /// Replacement tags (`[]` removes all).
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Vec<String>)]
    pub tags: Option<Option<Vec<String>>>,
    /// Replacement metadata (`{}` removes all).
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = BTreeMap<String, String>)]
    pub metadata: Option<Option<BTreeMap<String, String>>>,
    /// `active` or `suspended` (invited users become active by accepting their
    /// invitation: setting an invited user's status answers 422).
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = SettableStatus)]
    pub status: Option<Option<String>>,
    /// Replacement roles (at least one, each a role of the organization, or 422). Not
    /// with `role`.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Vec<Uuid>, min_items = 1)]
    pub role_ids: Option<Option<Vec<String>>>,
    /// Deprecated: one role by key, replacing all roles. Use `role_ids`.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = BuiltinRoleKey, deprecated)]
    pub role: Option<Option<String>>,
    /// A new password (12–256 characters by default; not the email, which answers 422).
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = String)]
    pub password: Option<Option<String>>,
}

impl TryFrom<UpdateUserRequest> for UpdateUserInput {
    type Error = ValidationErrors;

    fn try_from(r: UpdateUserRequest) -> Result<Self, Self::Error> {
        let mut v = Validator::default();
        let input = Self {
            email: not_null(&mut v, "email", r.email),
            username: not_null(&mut v, "username", r.username),
            name: not_null(&mut v, "name", r.name),
            first_name: r.first_name,
            last_name: r.last_name,
            location: r.location,
            locale: r.locale,
            tags: not_null(&mut v, "tags", r.tags),
            metadata: not_null(&mut v, "metadata", r.metadata),
            status: not_null(&mut v, "status", r.status),
            role_ids: not_null(&mut v, "role_ids", r.role_ids),
            role: not_null(&mut v, "role", r.role),
            password: not_null(&mut v, "password", r.password),
        };
        v.finish().map(|()| input)
    }
}

/// Filters, order and page of a user list.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListUsersQuery {
    /// Page size.
    #[param(default = 50)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page (of the same `sort`); other values answer
    /// 422.
    pub cursor: Option<String>,
    /// Exactly this email (case-insensitive).
    pub email: Option<String>,
    /// A case-insensitive substring of name, email or username (1–100 characters).
    pub q: Option<String>,
    /// Only users in this status.
    #[param(value_type = Option<StatusFilter>, inline)]
    pub status: Option<String>,
    /// Only holders of this role.
    #[param(value_type = Option<Uuid>)]
    pub role_id: Option<String>,
    /// Only users with this tag.
    pub tag: Option<String>,
    /// The order (default `created_at`).
    #[param(value_type = Option<UserSortKey>, inline)]
    pub sort: Option<String>,
}

impl From<ListUsersQuery> for ListUsersInput {
    fn from(q: ListUsersQuery) -> Self {
        Self {
            limit: q.limit,
            cursor: q.cursor,
            email: q.email,
            q: q.q,
            status: q.status,
            role_id: q.role_id,
            tag: q.tag,
            sort: q.sort,
        }
    }
}

/// The domain's rule of each field of the user bodies (see [`super::rules`]).
pub(crate) const FIELD_RULES: FieldRules = &[
    ("CreateUserRequest", "email", Rule::Email),
    ("CreateUserRequest", "password", Rule::Password),
    ("CreateUserRequest", "username", Rule::Username),
    ("CreateUserRequest", "name", Rule::Text(DisplayName::MAX_CHARS)),
    ("CreateUserRequest", "first_name", Rule::Text(NamePart::MAX_CHARS)),
    ("CreateUserRequest", "last_name", Rule::Text(NamePart::MAX_CHARS)),
    ("CreateUserRequest", "location", Rule::Text(Location::MAX_CHARS)),
    ("CreateUserRequest", "locale", Rule::Locale),
    ("CreateUserRequest", "tags", Rule::Tags),
    ("CreateUserRequest", "metadata", Rule::Metadata),
    ("CreateUserRequest", "login_url", Rule::HttpUrl),
    ("UpdateUserRequest", "email", Rule::Email),
    ("UpdateUserRequest", "password", Rule::Password),
    ("UpdateUserRequest", "username", Rule::Username),
    ("UpdateUserRequest", "name", Rule::Text(DisplayName::MAX_CHARS)),
    ("UpdateUserRequest", "first_name", Rule::Text(NamePart::MAX_CHARS)),
    ("UpdateUserRequest", "last_name", Rule::Text(NamePart::MAX_CHARS)),
    ("UpdateUserRequest", "location", Rule::Text(Location::MAX_CHARS)),
    ("UpdateUserRequest", "locale", Rule::Locale),
    ("UpdateUserRequest", "tags", Rule::Tags),
    ("UpdateUserRequest", "metadata", Rule::Metadata),
];

/// The domain's rules across fields of the user bodies.
pub(crate) const JOINT_RULES: JointRules = &[
    ("CreateUserRequest", Joint::AnyOf(&["name", "first_name", "last_name"])),
    ("CreateUserRequest", Joint::NotWithTrue("password", "generate_password")),
    ("CreateUserRequest", Joint::NotBoth("role_ids", "role")),
    ("UpdateUserRequest", Joint::NotBoth("role_ids", "role")),
];

/// The domain's rule of each user list parameter.
pub(crate) const PARAM_RULES: ParamRules = &[
    ("list_users", "limit", Rule::PageSize),
    ("list_users", "cursor", Rule::Cursor),
    ("list_users", "email", Rule::Email),
    ("list_users", "q", Rule::Text(100)),
    ("list_users", "tag", Rule::Tag),
];

/// The `{org_id}/users/{user_id}` path parameters.
#[derive(Clone, Copy, Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct UserPath {
    /// The organization's id.
    pub org_id: Uuid,
    /// The user's id.
    pub user_id: Uuid,
}

/// Users to delete at once.
#[derive(Clone, Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BatchDeleteRequest {
    /// 1 to 100 user ids. Ids that name no user are reported as `not_found`.
    #[schema(min_items = 1, max_items = 100)]
    pub user_ids: Vec<String>,
}

/// What a batch delete did to one id.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct BatchDeleteItem {
    /// The id as it was sent.
    pub user_id: String,
    /// The outcome.
    pub result: BatchDeleteResult,
}

/// The outcome of one id in a batch delete.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BatchDeleteResult {
    /// The user was deleted.
    Deleted,
    /// No such user.
    NotFound,
}

impl From<(String, BatchOutcome)> for BatchDeleteItem {
    fn from((user_id, outcome): (String, BatchOutcome)) -> Self {
        let result = match outcome {
            BatchOutcome::Deleted => BatchDeleteResult::Deleted,
            BatchOutcome::NotFound => BatchDeleteResult::NotFound,
        };
        Self { user_id, result }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_patches_tell_absent_from_null() {
        let r: UpdateUserRequest = serde_json::from_str(r#"{"locale": null, "tags": ["a"]}"#).unwrap();
        let input = UpdateUserInput::try_from(r).unwrap();
        assert_eq!(input.locale, Some(None));
        assert_eq!(input.first_name, None);
        assert_eq!(input.tags, Some(vec!["a".to_owned()]));
    }

    #[test]
    fn null_is_rejected_on_fields_that_cannot_be_empty() {
        let r: UpdateUserRequest = serde_json::from_str(r#"{"email": null, "tags": null, "role_ids": null}"#).unwrap();
        let err = UpdateUserInput::try_from(r).unwrap_err();
        let fields: Vec<_> = err.fields().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["email", "tags", "role_ids"]);
    }
}
