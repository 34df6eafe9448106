//! Direct permission grants: a permission given to one user, beside their roles.

use chrono::{DateTime, Utc};

use crate::ids::{GrantId, OrgId, UserId};
use crate::permission::Permission;

/// One permission granted directly to one user.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// Its id.
    pub id: GrantId,
    /// The user's organization.
    pub org_id: OrgId,
    /// The user who holds it.
    pub user_id: UserId,
    /// What it grants; unique per user.
    pub permission: Permission,
    /// When it stops counting, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// Who granted it.
    pub created_by: String,
    /// When it was granted.
    pub created_at: DateTime<Utc>,
    /// When it was changed last.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version, starting at 1 (rule 9).
    pub version: i64,
}

impl Grant {
    /// Whether the grant counts at `now`.
    pub fn is_active_at(&self, now: DateTime<Utc>) -> bool {
        self.expires_at.is_none_or(|exp| now < exp)
    }
}
