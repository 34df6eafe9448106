//! Organizations: the tenants.

use chrono::{DateTime, Duration, Utc};

use crate::ids::{OrgId, RoleId};
use crate::values::{Description, DomainName, HttpUrl, OrgName, Slug};

/// Whether an organization is usable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OrgStatus {
    /// In use.
    Active,
    /// Soft-deleted: hidden from every read, its keys authenticate to nothing.
    Deleted,
}

impl OrgStatus {
    /// The lowercase wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Active => "active",
            Self::Deleted => "deleted",
        }
    }

    /// Parses the storage name.
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "active" => Some(Self::Active),
            "deleted" => Some(Self::Deleted),
            _ => None,
        }
    }
}

/// A tenant. Every user, role and key belongs to exactly one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Organization {
    /// Its id.
    pub id: OrgId,
    /// Unique lowercase handle.
    pub slug: Slug,
    /// Display name.
    pub name: OrgName,
    /// The organization's internet domain, if any.
    pub domain: Option<DomainName>,
    /// Free-text description.
    pub description: Option<Description>,
    /// Logo image URL.
    pub logo_url: Option<HttpUrl>,
    /// Icon image URL.
    pub icon_url: Option<HttpUrl>,
    /// The partner organization that manages this one, if any.
    pub parent_id: Option<OrgId>,
    /// Whether this organization is a partner: its keys and admins manage its child
    /// organizations. Only platform keys set it.
    pub partner: bool,
    /// The most non-deleted users (invited included) it may have; `None` is unlimited.
    pub seat_limit: Option<u32>,
    /// The role new users get when a request names none (rule 4).
    pub default_role_id: RoleId,
    /// How long invitations stay valid.
    pub invitation_ttl: Duration,
    /// Where new users sign in: linked from invitation and generated-credential emails
    /// when a request names no `login_url`.
    pub default_login_url: Option<HttpUrl>,
    /// Active or deleted.
    pub status: OrgStatus,
    /// Who created it (an actor label such as `api_key:<id>`).
    pub created_by: String,
    /// Who changed it last.
    pub modified_by: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was changed last.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version, starting at 1 (rule 9).
    pub version: i64,
}

impl Organization {
    /// The default invitation lifetime: 7 days.
    pub fn default_invitation_ttl() -> Duration {
        Duration::days(7)
    }

    /// The small summary embedded in other resources.
    pub fn summary(&self) -> OrgSummary {
        OrgSummary { id: self.id, slug: self.slug.clone(), name: self.name.clone() }
    }
}

/// What a user read carries about its organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgSummary {
    /// The organization's id.
    pub id: OrgId,
    /// Its slug.
    pub slug: Slug,
    /// Its name.
    pub name: OrgName,
}
