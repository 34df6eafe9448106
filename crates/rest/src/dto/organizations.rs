//! Organization bodies.

use chrono::{DateTime, Utc};
use roster_domain::organization as domain;
use roster_domain::organization_input::{CreateOrganizationInput, UpdateOrganizationInput};
use roster_domain::validation::{ValidationErrors, Validator};
use roster_domain::values::{Description, OrgName};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::rules::{FieldRules, Rule};
use super::{integer, not_null, patch_field, patch_integer};

/// An organization (a tenant).
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Organization {
    /// Its id.
    pub id: Uuid,
    /// Unique lowercase handle.
    #[schema(example = "acme")]
    pub slug: String,
    /// Display name.
    #[schema(example = "Acme Inc.")]
    pub name: String,
    /// Internet domain.
    #[schema(example = "acme.example")]
    pub domain: Option<String>,
    /// Free-text description.
    pub description: Option<String>,
    /// Logo image URL (`http` or `https`).
    pub logo_url: Option<String>,
    /// Icon image URL (`http` or `https`).
    pub icon_url: Option<String>,
    /// The partner organization that manages this one.
    pub parent_id: Option<Uuid>,
    /// Whether this organization is a partner: its credentials also reach the
    /// organizations whose `parent_id` it is.
    pub partner: bool,
    /// The most non-deleted users (invited included); `null` is unlimited.
    #[schema(minimum = 0, maximum = 10_000_000)]
    pub seat_limit: Option<u32>,
    /// The role new users get when a request names none.
    pub default_role_id: Uuid,
    /// How long invitations stay valid, in seconds.
    #[schema(example = 604_800)]
    pub invitation_ttl_seconds: i64,
    /// Where users created with `generate_password` (and invitees, after accepting) are
    /// sent to sign in when their request gives no `login_url`; `null` is none.
    #[schema(example = "https://app.acme.example/login")]
    pub default_login_url: Option<String>,
    /// Life-cycle status.
    pub status: OrganizationStatus,
    /// Who created it (`api_key:<id>`).
    pub created_by: String,
    /// Who changed it last.
    pub modified_by: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was changed last.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version; also the `ETag`.
    #[schema(minimum = 1)]
    pub version: i64,
}

/// Whether an organization is usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrganizationStatus {
    /// In use.
    Active,
    /// Soft-deleted.
    Deleted,
}

impl From<domain::OrgStatus> for OrganizationStatus {
    fn from(s: domain::OrgStatus) -> Self {
        match s {
            domain::OrgStatus::Active => Self::Active,
            domain::OrgStatus::Deleted => Self::Deleted,
        }
    }
}

impl From<domain::Organization> for Organization {
    fn from(o: domain::Organization) -> Self {
        Self {
            id: *o.id.as_uuid(),
            slug: o.slug.as_str().to_owned(),
            name: o.name.as_str().to_owned(),
            domain: o.domain.map(|d| d.as_str().to_owned()),
            description: o.description.map(|d| d.as_str().to_owned()),
            logo_url: o.logo_url.map(|u| u.as_str().to_owned()),
            icon_url: o.icon_url.map(|u| u.as_str().to_owned()),
            parent_id: o.parent_id.map(|p| *p.as_uuid()),
            partner: o.partner,
            seat_limit: o.seat_limit,
            default_role_id: *o.default_role_id.as_uuid(),
            invitation_ttl_seconds: o.invitation_ttl.num_seconds(),
            default_login_url: o.default_login_url.map(|u| u.as_str().to_owned()),
            status: o.status.into(),
            created_by: o.created_by,
            modified_by: o.modified_by,
            created_at: o.created_at,
            updated_at: o.updated_at,
            version: o.version,
        }
    }
}

/// The organization summary embedded in a user.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct OrganizationSummary {
    /// The organization's id.
    pub id: Uuid,
    /// Its slug.
    pub slug: String,
    /// Its name.
    pub name: String,
}

impl From<&domain::OrgSummary> for OrganizationSummary {
    fn from(s: &domain::OrgSummary) -> Self {
        Self { id: *s.id.as_uuid(), slug: s.slug.as_str().to_owned(), name: s.name.as_str().to_owned() }
    }
}

/// The key of a built-in role.
#[derive(Clone, Copy, Debug, ToSchema)]
#[schema(rename_all = "snake_case")]
pub enum BuiltinRoleKey {
    /// Full control.
    Owner,
    /// Manages users, roles and keys.
    Admin,
    /// An ordinary member.
    Member,
}

/// A request to create an organization: platform keys create any; a partner's callers
/// with `organizations.create` create children of their partner.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CreateOrganizationRequest {
    /// Unique handle: 2–63 lowercase letters, digits and inner hyphens.
    #[schema(value_type = String, required = true, example = "acme")]
    pub slug: Option<String>,
    /// Display name: 1–200 characters, no control characters.
    #[schema(value_type = String, required = true, example = "Acme Inc.")]
    pub name: Option<String>,
    /// Internet domain, such as `acme.example` (at most 253 characters).
    #[schema(example = "acme.example")]
    pub domain: Option<String>,
    /// Free-text description (at most 2000 characters).
    pub description: Option<String>,
    /// Absolute http(s) URL of a logo (at most 2048 characters).
    pub logo_url: Option<String>,
    /// Absolute http(s) URL of an icon (at most 2048 characters).
    pub icon_url: Option<String>,
    /// The managing (partner) organization; an unknown one answers 422. A partner's
    /// callers may leave it out: their own organization is the parent.
    #[schema(value_type = Option<Uuid>)]
    pub parent_id: Option<String>,
    /// Whether the new organization is a partner, reaching its children (platform keys
    /// only; others get 403). Default `false`.
    pub partner: Option<bool>,
    /// The most users the organization may have; absent or `null` is unlimited.
    #[serde(default, deserialize_with = "integer")]
    pub seat_limit: Option<i64>,
    /// The key of the role new users get when a request names none (default `member`).
    #[schema(value_type = Option<BuiltinRoleKey>)]
    pub default_role: Option<String>,
    /// How long invitations stay valid, in seconds (60 s to 90 days; default 7 days).
    #[serde(default, deserialize_with = "integer")]
    pub invitation_ttl_seconds: Option<i64>,
    /// Absolute http(s) URL where users sign in (at most 2048 characters): the link of
    /// the emails of users created with `generate_password` and where invitees are sent
    /// after accepting, when the creating request gives no `login_url`. Absent or `null`
    /// is none.
    #[schema(example = "https://app.acme.example/login")]
    pub default_login_url: Option<String>,
}

impl From<CreateOrganizationRequest> for CreateOrganizationInput {
    fn from(r: CreateOrganizationRequest) -> Self {
        Self {
            slug: r.slug,
            name: r.name,
            domain: r.domain,
            description: r.description,
            logo_url: r.logo_url,
            icon_url: r.icon_url,
            parent_id: r.parent_id,
            partner: r.partner,
            seat_limit: r.seat_limit,
            default_role: r.default_role,
            invitation_ttl_seconds: r.invitation_ttl_seconds,
            default_login_url: r.default_login_url,
        }
    }
}

/// A partial update: absent fields stay as they are; `null` clears a nullable field.
#[derive(Clone, Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateOrganizationRequest {
    /// New slug.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = String)]
    pub slug: Option<Option<String>>,
    /// New name.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = String)]
    pub name: Option<Option<String>>,
    /// New domain, or `null` to clear it.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub domain: Option<Option<String>>,
    /// New description, or `null` to clear it.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub description: Option<Option<String>>,
    /// New logo URL, or `null` to clear it.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub logo_url: Option<Option<String>>,
    /// New icon URL, or `null` to clear it.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub icon_url: Option<Option<String>>,
    /// New seat limit, or `null` for unlimited (platform keys and the managing partner
    /// only; others get 403).
    #[serde(default, deserialize_with = "patch_integer")]
    #[schema(value_type = Option<i64>)]
    pub seat_limit: Option<Option<i64>>,
    /// Make it a partner or not (platform keys only; others get 403).
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = bool)]
    pub partner: Option<Option<bool>>,
    /// The id of one of the organization's roles; another id answers 422.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Uuid)]
    pub default_role_id: Option<Option<String>>,
    /// New invitation lifetime in seconds.
    #[serde(default, deserialize_with = "patch_integer")]
    #[schema(value_type = i64)]
    pub invitation_ttl_seconds: Option<Option<i64>>,
    /// New default login URL, or `null` to clear it.
    #[serde(default, deserialize_with = "patch_field")]
    #[schema(value_type = Option<String>)]
    pub default_login_url: Option<Option<String>>,
}

impl TryFrom<UpdateOrganizationRequest> for UpdateOrganizationInput {
    type Error = ValidationErrors;

    fn try_from(r: UpdateOrganizationRequest) -> Result<Self, Self::Error> {
        let mut v = Validator::default();
        let input = Self {
            slug: not_null(&mut v, "slug", r.slug),
            name: not_null(&mut v, "name", r.name),
            domain: r.domain,
            description: r.description,
            logo_url: r.logo_url,
            icon_url: r.icon_url,
            seat_limit: r.seat_limit,
            partner: not_null(&mut v, "partner", r.partner),
            default_role_id: not_null(&mut v, "default_role_id", r.default_role_id),
            invitation_ttl_seconds: not_null(&mut v, "invitation_ttl_seconds", r.invitation_ttl_seconds),
            default_login_url: r.default_login_url,
        };
        v.finish().map(|()| input)
    }
}

/// The domain's rule of each field of the organization bodies (see [`super::rules`]).
pub(crate) const FIELD_RULES: FieldRules = &[
    ("CreateOrganizationRequest", "slug", Rule::Slug),
    ("CreateOrganizationRequest", "name", Rule::Text(OrgName::MAX_CHARS)),
    ("CreateOrganizationRequest", "domain", Rule::DomainName),
    ("CreateOrganizationRequest", "description", Rule::Text(Description::MAX_CHARS)),
    ("CreateOrganizationRequest", "logo_url", Rule::HttpUrl),
    ("CreateOrganizationRequest", "icon_url", Rule::HttpUrl),
    ("CreateOrganizationRequest", "seat_limit", Rule::SeatLimit),
    ("CreateOrganizationRequest", "invitation_ttl_seconds", Rule::InvitationTtl),
    ("CreateOrganizationRequest", "default_login_url", Rule::HttpUrl),
    ("UpdateOrganizationRequest", "slug", Rule::Slug),
    ("UpdateOrganizationRequest", "name", Rule::Text(OrgName::MAX_CHARS)),
    ("UpdateOrganizationRequest", "domain", Rule::DomainName),
    ("UpdateOrganizationRequest", "description", Rule::Text(Description::MAX_CHARS)),
    ("UpdateOrganizationRequest", "logo_url", Rule::HttpUrl),
    ("UpdateOrganizationRequest", "icon_url", Rule::HttpUrl),
    ("UpdateOrganizationRequest", "seat_limit", Rule::SeatLimit),
    ("UpdateOrganizationRequest", "invitation_ttl_seconds", Rule::InvitationTtl),
    ("UpdateOrganizationRequest", "default_login_url", Rule::HttpUrl),
];

/// The `{org_id}` path parameter.
#[derive(Clone, Copy, Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct OrgPath {
    /// The organization's id.
    pub org_id: Uuid,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patches_tell_absent_from_null() {
        let r: UpdateOrganizationRequest = serde_json::from_str(r#"{"domain": null, "name": "N"}"#).unwrap();
        let input = UpdateOrganizationInput::try_from(r).unwrap();
        assert_eq!(input.domain, Some(None));
        assert_eq!(input.description, None);
        assert_eq!(input.name.as_deref(), Some("N"));
    }

    #[test]
    fn integers_may_be_written_as_integral_numbers() {
        let r: CreateOrganizationRequest =
            serde_json::from_str(r#"{"seat_limit": 5.0, "invitation_ttl_seconds": 6e1}"#).unwrap();
        assert_eq!((r.seat_limit, r.invitation_ttl_seconds), (Some(5), Some(60)));
        let r: UpdateOrganizationRequest = serde_json::from_str(r#"{"seat_limit": null}"#).unwrap();
        assert_eq!((r.seat_limit, r.invitation_ttl_seconds), (Some(None), None));
        for bad in [r#"{"seat_limit": 5.5}"#, r#"{"seat_limit": "5"}"#, r#"{"seat_limit": 1e19}"#] {
            assert!(serde_json::from_str::<CreateOrganizationRequest>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn null_is_rejected_where_a_value_is_required() {
        let r: UpdateOrganizationRequest = serde_json::from_str(r#"{"slug": null, "name": null}"#).unwrap();
        let err = UpdateOrganizationInput::try_from(r).unwrap_err();
        let fields: Vec<_> = err.fields().iter().map(|f| (f.field.as_str(), f.code)).collect();
        assert_eq!(fields, [("slug", "null"), ("name", "null")]);
    }
}
