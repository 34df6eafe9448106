//! Users: people (or robots) of one organization.

use chrono::{DateTime, Utc};

use crate::hashing::PasswordHash;
use crate::ids::{OrgId, RoleId, UserId};
use crate::organization::OrgSummary;
use crate::values::{DisplayName, Email, Locale, Location, Metadata, NamePart, Tag, Tags, Username};

/// Where a user is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UserStatus {
    /// Created without a password; waits for an invitation to be accepted. Holds no
    /// permissions and cannot log in.
    Invited,
    /// A working account.
    Active,
    /// Blocked by an administrator; authenticates to nothing.
    Suspended,
    /// Soft-deleted: hidden from reads, its email and username free again.
    Deleted,
}

impl UserStatus {
    /// The lowercase wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Invited => "invited",
            Self::Active => "active",
            Self::Suspended => "suspended",
            Self::Deleted => "deleted",
        }
    }

    /// Parses the wire or storage name.
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "invited" => Some(Self::Invited),
            "active" => Some(Self::Active),
            "suspended" => Some(Self::Suspended),
            "deleted" => Some(Self::Deleted),
            _ => None,
        }
    }
}

/// A user of one organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct User {
    /// Its id.
    pub id: UserId,
    /// The organization it belongs to.
    pub org_id: OrgId,
    /// Email, unique (case-insensitively) among the organization's non-deleted users.
    pub email: Email,
    /// Handle, unique among the organization's non-deleted users.
    pub username: Username,
    /// Display name.
    pub name: DisplayName,
    /// First name.
    pub first_name: Option<NamePart>,
    /// Last name.
    pub last_name: Option<NamePart>,
    /// Where the user is.
    pub location: Option<Location>,
    /// Preferred language.
    pub locale: Option<Locale>,
    /// Labels.
    pub tags: Tags,
    /// Small key/value data for the caller's own use.
    pub metadata: Metadata,
    /// Life-cycle status.
    pub status: UserStatus,
    /// The argon2id hash of the password, if one is set.
    pub password_hash: Option<PasswordHash>,
    /// The roles held (at least one).
    pub role_ids: Vec<RoleId>,
    /// When the user last logged in.
    pub last_login_at: Option<DateTime<Utc>>,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was changed last.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version, starting at 1 (rule 9).
    pub version: i64,
}

/// A user read together with its organization's summary.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserView {
    /// The user.
    pub user: User,
    /// Its organization.
    pub organization: OrgSummary,
}

/// The display name from first and last name, when no name was given.
pub fn derive_display_name(first: Option<&NamePart>, last: Option<&NamePart>) -> Option<DisplayName> {
    let joined =
        [first.map(NamePart::as_str), last.map(NamePart::as_str)].into_iter().flatten().collect::<Vec<_>>().join(" ");
    DisplayName::parse(joined).ok()
}

/// The orders a user list can come in. Each is total: ties break on id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum UserSort {
    /// Oldest first (the default).
    #[default]
    CreatedAsc,
    /// Newest first.
    CreatedDesc,
    /// By normalised email, A→Z.
    EmailAsc,
    /// By normalised email, Z→A.
    EmailDesc,
    /// By display name, A→Z.
    NameAsc,
    /// By display name, Z→A.
    NameDesc,
}

impl UserSort {
    /// The wire name: `created_at`, `-created_at`, `email`, `-email`, `name`, `-name`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CreatedAsc => "created_at",
            Self::CreatedDesc => "-created_at",
            Self::EmailAsc => "email",
            Self::EmailDesc => "-email",
            Self::NameAsc => "name",
            Self::NameDesc => "-name",
        }
    }

    /// Parses the wire name.
    pub fn from_name(s: &str) -> Option<Self> {
        [Self::CreatedAsc, Self::CreatedDesc, Self::EmailAsc, Self::EmailDesc, Self::NameAsc, Self::NameDesc]
            .into_iter()
            .find(|sort| sort.as_str() == s)
    }

    /// Whether the order is descending.
    pub fn is_descending(self) -> bool {
        matches!(self, Self::CreatedDesc | Self::EmailDesc | Self::NameDesc)
    }

    /// The sort key of `user` under this order (empty for creation order, where the id is
    /// the whole key).
    pub fn key_of(self, user: &User) -> String {
        match self {
            Self::CreatedAsc | Self::CreatedDesc => String::new(),
            Self::EmailAsc | Self::EmailDesc => user.email.normalized().to_owned(),
            Self::NameAsc | Self::NameDesc => user.name.as_str().to_owned(),
        }
    }
}

/// Narrows a user list. Deleted users are never listed.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UserFilter {
    /// Exactly this email (case-insensitive).
    pub email: Option<Email>,
    /// A case-insensitive substring of the name, email or username.
    pub q: Option<String>,
    /// Only users in this status.
    pub status: Option<UserStatus>,
    /// Only holders of this role.
    pub role_id: Option<RoleId>,
    /// Only users with this tag.
    pub tag: Option<Tag>,
}

/// Where the previous page ended: the last row's sort key and id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserCursor {
    /// The sort key of the last row ([`UserSort::key_of`]).
    pub key: String,
    /// The id of the last row.
    pub id: UserId,
}

/// A page request for users, as the storage port receives it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserQuery {
    /// Which users.
    pub filter: UserFilter,
    /// In what order.
    pub sort: UserSort,
    /// Start strictly after this row.
    pub after: Option<UserCursor>,
    /// How many rows at most. The service asks for one more than the page size to learn
    /// whether there is a next page.
    pub limit: u32,
}
