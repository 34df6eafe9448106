//! Raw organization requests as front ends receive them, and their validation into
//! commands that hold only valid values.

use chrono::Duration;

use crate::ids::{OrgId, RoleId};
use crate::role::RoleKey;
use crate::validation::{ValidationErrors, Validator};
use crate::values::{Description, DomainName, HttpUrl, OrgName, Slug};

/// The longest invitation lifetime an organization may set: 90 days.
pub const MAX_INVITATION_TTL_SECONDS: i64 = 90 * 24 * 3600;
/// The largest seat limit.
pub const MAX_SEAT_LIMIT: i64 = 10_000_000;

/// A request to create an organization, field by field as the caller sent it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateOrganizationInput {
    /// Required: the unique handle.
    pub slug: Option<String>,
    /// Required: the display name.
    pub name: Option<String>,
    /// The organization's domain.
    pub domain: Option<String>,
    /// A description.
    pub description: Option<String>,
    /// Logo URL.
    pub logo_url: Option<String>,
    /// Icon URL.
    pub icon_url: Option<String>,
    /// The managing (partner) organization's id.
    pub parent_id: Option<String>,
    /// Whether the new organization is a partner (platform keys only).
    pub partner: Option<bool>,
    /// The seat limit; absent is unlimited.
    pub seat_limit: Option<i64>,
    /// The key of the default role for new users (`owner`, `admin` or `member`;
    /// `member` when absent).
    pub default_role: Option<String>,
    /// How long invitations stay valid, in seconds (7 days when absent).
    pub invitation_ttl_seconds: Option<i64>,
    /// Where new users sign in, when a request names no `login_url`.
    pub default_login_url: Option<String>,
}

/// A validated [`CreateOrganizationInput`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateOrganization {
    /// The handle.
    pub slug: Slug,
    /// The name.
    pub name: OrgName,
    /// The domain.
    pub domain: Option<DomainName>,
    /// The description.
    pub description: Option<Description>,
    /// Logo URL.
    pub logo_url: Option<HttpUrl>,
    /// Icon URL.
    pub icon_url: Option<HttpUrl>,
    /// The parent organization.
    pub parent_id: Option<OrgId>,
    /// Whether it is a partner.
    pub partner: bool,
    /// The seat limit.
    pub seat_limit: Option<u32>,
    /// The default role's key.
    pub default_role: RoleKey,
    /// The invitation lifetime.
    pub invitation_ttl: Duration,
    /// The default login URL.
    pub default_login_url: Option<HttpUrl>,
}

pub(crate) fn seat_limit(raw: i64) -> Result<u32, RangeError> {
    u32::try_from(raw)
        .ok()
        .filter(|n| i64::from(*n) <= MAX_SEAT_LIMIT)
        .ok_or(RangeError("seat_limit must be between 0 and 10000000"))
}

pub(crate) fn invitation_ttl(raw: i64) -> Result<Duration, RangeError> {
    if (60..=MAX_INVITATION_TTL_SECONDS).contains(&raw) {
        Ok(Duration::seconds(raw))
    } else {
        Err(RangeError("invitation_ttl_seconds must be between 60 and 7776000 (90 days)"))
    }
}

/// A number outside its allowed range.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct RangeError(pub &'static str);

impl crate::validation::FieldProblem for RangeError {
    fn code(&self) -> &'static str {
        "out_of_range"
    }
}

impl crate::validation::FieldProblem for crate::ids::InvalidId {
    fn code(&self) -> &'static str {
        "invalid_id"
    }
}

impl CreateOrganizationInput {
    /// Checks every field, reporting all problems at once.
    ///
    /// # Errors
    /// [`ValidationErrors`] listing each bad or missing field.
    pub fn validate(self) -> Result<CreateOrganization, ValidationErrors> {
        let mut v = Validator::default();
        let slug = required(&mut v, "slug", self.slug, Slug::parse);
        let name = required(&mut v, "name", self.name, OrgName::parse);
        let domain = v.check_opt("domain", self.domain, DomainName::parse_normalized);
        let description = v.check_opt("description", self.description, Description::parse);
        let logo_url = v.check_opt("logo_url", self.logo_url, HttpUrl::parse);
        let icon_url = v.check_opt("icon_url", self.icon_url, HttpUrl::parse);
        let parent_id = v.check_opt("parent_id", self.parent_id, |s| s.parse::<OrgId>());
        let seat_limit = v.check_opt("seat_limit", self.seat_limit, seat_limit);
        let default_role = v.check("default_role", RoleKey::parse(self.default_role.as_deref().unwrap_or("member")));
        let ttl = v.check_opt("invitation_ttl_seconds", self.invitation_ttl_seconds, invitation_ttl);
        let default_login_url = v.check_opt("default_login_url", self.default_login_url, HttpUrl::parse);
        v.build(|| {
            Some(CreateOrganization {
                slug: slug?,
                name: name?,
                domain: domain?,
                description: description?,
                logo_url: logo_url?,
                icon_url: icon_url?,
                parent_id: parent_id?,
                partner: self.partner.unwrap_or(false),
                seat_limit: seat_limit?,
                default_role: default_role?,
                invitation_ttl: ttl?.unwrap_or_else(crate::organization::Organization::default_invitation_ttl),
                default_login_url: default_login_url?,
            })
        })
    }
}

/// A partial update of an organization. Outer `None`: leave the field alone; for
/// nullable fields, `Some(None)` clears it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateOrganizationInput {
    /// New slug.
    pub slug: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// New or cleared domain.
    pub domain: Option<Option<String>>,
    /// New or cleared description.
    pub description: Option<Option<String>>,
    /// New or cleared logo URL.
    pub logo_url: Option<Option<String>>,
    /// New or cleared icon URL.
    pub icon_url: Option<Option<String>>,
    /// New or cleared seat limit.
    pub seat_limit: Option<Option<i64>>,
    /// Whether it is a partner (platform keys only).
    pub partner: Option<bool>,
    /// New default role id.
    pub default_role_id: Option<String>,
    /// New invitation lifetime in seconds.
    pub invitation_ttl_seconds: Option<i64>,
    /// New or cleared default login URL.
    pub default_login_url: Option<Option<String>>,
}

/// A validated [`UpdateOrganizationInput`].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrganizationChanges {
    /// New slug.
    pub slug: Option<Slug>,
    /// New name.
    pub name: Option<OrgName>,
    /// New or cleared domain.
    pub domain: Option<Option<DomainName>>,
    /// New or cleared description.
    pub description: Option<Option<Description>>,
    /// New or cleared logo URL.
    pub logo_url: Option<Option<HttpUrl>>,
    /// New or cleared icon URL.
    pub icon_url: Option<Option<HttpUrl>>,
    /// New or cleared seat limit.
    pub seat_limit: Option<Option<u32>>,
    /// Partner or not.
    pub partner: Option<bool>,
    /// New default role.
    pub default_role_id: Option<RoleId>,
    /// New invitation lifetime.
    pub invitation_ttl: Option<Duration>,
    /// New or cleared default login URL.
    pub default_login_url: Option<Option<HttpUrl>>,
}

impl UpdateOrganizationInput {
    /// Checks every given field.
    ///
    /// # Errors
    /// [`ValidationErrors`] listing each bad field.
    pub fn validate(self) -> Result<OrganizationChanges, ValidationErrors> {
        let mut v = Validator::default();
        let changes = OrganizationChanges {
            slug: v.check_opt("slug", self.slug, Slug::parse).flatten(),
            name: v.check_opt("name", self.name, OrgName::parse).flatten(),
            domain: nullable(&mut v, "domain", self.domain, DomainName::parse_normalized),
            description: nullable(&mut v, "description", self.description, Description::parse),
            logo_url: nullable(&mut v, "logo_url", self.logo_url, HttpUrl::parse),
            icon_url: nullable(&mut v, "icon_url", self.icon_url, HttpUrl::parse),
            seat_limit: nullable(&mut v, "seat_limit", self.seat_limit, seat_limit),
            partner: self.partner,
            default_role_id: v.check_opt("default_role_id", self.default_role_id, |s| s.parse::<RoleId>()).flatten(),
            invitation_ttl: v
                .check_opt("invitation_ttl_seconds", self.invitation_ttl_seconds, invitation_ttl)
                .flatten(),
            default_login_url: nullable(&mut v, "default_login_url", self.default_login_url, HttpUrl::parse),
        };
        v.finish().map(|()| changes)
    }
}

/// Parses a required field, recording `required` when absent.
pub(crate) fn required<T, E: crate::validation::FieldProblem>(
    v: &mut Validator,
    field: &str,
    raw: Option<String>,
    parse: impl FnOnce(String) -> Result<T, E>,
) -> Option<T> {
    match raw {
        None => {
            v.missing(field);
            None
        }
        Some(raw) => v.check(field, parse(raw)),
    }
}

/// Parses a nullable patch field: absent → `None`, null → `Some(None)`.
pub(crate) fn nullable<I, T, E: crate::validation::FieldProblem>(
    v: &mut Validator,
    field: &str,
    raw: Option<Option<I>>,
    parse: impl FnOnce(I) -> Result<T, E>,
) -> Option<Option<T>> {
    match raw {
        None => None,
        Some(None) => Some(None),
        Some(Some(raw)) => v.check(field, parse(raw)).map(Some),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_and_bad_fields_are_all_reported() {
        let err = CreateOrganizationInput { slug: Some("Bad Slug".into()), seat_limit: Some(-1), ..Default::default() }
            .validate()
            .unwrap_err();
        let fields: Vec<_> = err.fields().iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, ["slug", "name", "seat_limit"]);
    }

    #[test]
    fn defaults_apply() {
        let cmd =
            CreateOrganizationInput { slug: Some("acme".into()), name: Some("Acme".into()), ..Default::default() }
                .validate()
                .unwrap();
        assert_eq!(cmd.default_role.as_str(), "member");
        assert_eq!(cmd.invitation_ttl, Duration::days(7));
        assert_eq!(cmd.seat_limit, None);
    }

    #[test]
    fn patches_distinguish_absent_from_null() {
        let changes =
            UpdateOrganizationInput { domain: Some(None), logo_url: None, ..Default::default() }.validate().unwrap();
        assert_eq!(changes.domain, Some(None));
        assert_eq!(changes.logo_url, None);
    }
}
