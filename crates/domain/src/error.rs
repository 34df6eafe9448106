//! What can go wrong in a use case, and in a storage port.

use crate::validation::ValidationErrors;

/// The kinds of resource a use case can fail to find.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Resource {
    /// An organization.
    Organization,
    /// A user.
    User,
    /// A role.
    Role,
    /// An API key.
    ApiKey,
    /// A login session.
    Session,
    /// A direct permission grant.
    Grant,
    /// An invitation.
    Invitation,
}

impl Resource {
    /// The lowercase name used in messages.
    pub fn name(self) -> &'static str {
        match self {
            Self::Organization => "organization",
            Self::User => "user",
            Self::Role => "role",
            Self::ApiKey => "api key",
            Self::Session => "session",
            Self::Grant => "permission grant",
            Self::Invitation => "invitation",
        }
    }
}

/// Why a use case failed. Front ends map each variant to a status and its [`Error::code`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// One or more input fields are invalid.
    #[error(transparent)]
    Validation(#[from] ValidationErrors),
    /// The resource does not exist, is deleted, or is outside the caller's reach (rule 10).
    #[error("{} not found", .0.name())]
    NotFound(Resource),
    /// Another non-deleted user of the organization has this email (rule 1).
    #[error("a user with this email already exists in the organization")]
    EmailTaken,
    /// Another non-deleted user of the organization has this username.
    #[error("a user with this username already exists in the organization")]
    UsernameTaken,
    /// Another organization has this slug.
    #[error("an organization with this slug already exists")]
    SlugTaken,
    /// The organization's seat limit is reached (rule 2).
    #[error("the organization's seat limit of {limit} is reached")]
    SeatLimitReached {
        /// The limit in force.
        limit: u32,
    },
    /// The caller's version is not the current one (rule 9); nothing changed.
    #[error("the resource was modified: current version is {current}")]
    VersionMismatch {
        /// The version the resource has now.
        current: i64,
    },
    /// The change would leave the organization without an active owner (rule 3).
    #[error("the organization's last active owner cannot be removed, demoted, suspended or deleted")]
    LastOwner,
    /// Users still hold the role; say where they go (`reassign_to`) or change them first.
    #[error("{holders} users hold this role; reassign them first")]
    RoleInUse {
        /// How many non-deleted users hold it.
        holders: u64,
    },
    /// Built-in roles cannot be changed or deleted.
    #[error("built-in roles cannot be changed or deleted")]
    ImmutableRole,
    /// The organization already has a role with this key.
    #[error("a role with this key already exists in the organization")]
    RoleKeyTaken,
    /// The user already has a direct grant of this permission.
    #[error("the user already has a grant of this permission")]
    GrantExists,
    /// No invitation has this token: it is malformed, unknown, or was replaced by a resend.
    #[error("this invitation link is not valid; it may have been replaced by a newer invitation")]
    InvitationInvalid,
    /// The invitation's token expired; an administrator can resend it.
    #[error("this invitation has expired; ask for a new one")]
    InvitationExpired,
    /// The invitation was revoked (or its user removed).
    #[error("this invitation was revoked")]
    InvitationRevoked,
    /// The invitation was already accepted; tokens are single-use.
    #[error("this invitation was already accepted; sign in instead")]
    InvitationAccepted,
    /// Only a pending (or expired) invitation can be resent or revoked.
    #[error("the invitation is {status}; only pending or expired invitations can be resent or revoked")]
    InvitationSettled {
        /// Its status: `accepted` or `revoked`.
        status: &'static str,
    },
    /// Too many failed attempts; try again after the given number of seconds.
    #[error("too many failed attempts; retry in {retry_after_secs} seconds")]
    RateLimited {
        /// Seconds until the next attempt may succeed.
        retry_after_secs: u64,
    },
    /// No valid credential was presented.
    #[error("missing, unknown, expired or revoked credential")]
    Unauthenticated,
    /// The caller may see the resource but not do this to it.
    #[error("the caller is not allowed to do this")]
    Forbidden,
    /// Storage or another port failed unexpectedly; the details are for logs only.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl Error {
    /// The stable machine code shared by REST (`code`) and gRPC (`ErrorInfo.reason`).
    pub fn code(&self) -> &'static str {
        match self {
            Self::Validation(_) => "validation_failed",
            Self::NotFound(_) => "not_found",
            Self::EmailTaken => "email_taken",
            Self::UsernameTaken => "username_taken",
            Self::SlugTaken => "slug_taken",
            Self::SeatLimitReached { .. } => "seat_limit_reached",
            Self::VersionMismatch { .. } => "version_mismatch",
            Self::LastOwner => "last_owner",
            Self::RoleInUse { .. } => "role_in_use",
            Self::ImmutableRole => "immutable_role",
            Self::RoleKeyTaken => "role_key_taken",
            Self::GrantExists => "grant_exists",
            Self::InvitationInvalid => "invitation_invalid",
            Self::InvitationExpired => "invitation_expired",
            Self::InvitationRevoked => "invitation_revoked",
            Self::InvitationAccepted => "invitation_already_accepted",
            Self::InvitationSettled { .. } => "invitation_not_pending",
            Self::RateLimited { .. } => "rate_limited",
            Self::Unauthenticated => "unauthenticated",
            Self::Forbidden => "forbidden",
            Self::Internal(_) => "internal",
        }
    }
}

/// A uniqueness rule the database enforces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Unique {
    /// Email among an organization's non-deleted users.
    UserEmail,
    /// Username among an organization's non-deleted users.
    UserUsername,
    /// Slug among non-deleted organizations.
    OrganizationSlug,
    /// Key among an organization's roles.
    RoleKey,
    /// Permission among a user's direct grants.
    GrantPermission,
}

/// Why a storage port call failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness constraint was violated; adapters MUST map their constraint names here.
    #[error("unique constraint violated: {0:?}")]
    Duplicate(Unique),
    /// Anything else: connection loss, a bug, a timeout.
    #[error("storage failure")]
    Other(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Wraps any adapter error as [`StoreError::Other`].
    pub fn other(e: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Other(Box::new(e))
    }
}

impl From<StoreError> for Error {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Duplicate(Unique::UserEmail) => Self::EmailTaken,
            StoreError::Duplicate(Unique::UserUsername) => Self::UsernameTaken,
            StoreError::Duplicate(Unique::OrganizationSlug) => Self::SlugTaken,
            StoreError::Duplicate(Unique::RoleKey) => Self::RoleKeyTaken,
            StoreError::Duplicate(Unique::GrantPermission) => Self::GrantExists,
            StoreError::Other(source) => Self::Internal(source),
        }
    }
}
