//! Roles. Every organization has the built-in roles `owner`, `admin` and `member`.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::ids::{OrgId, RoleId};
use crate::permission::PermissionSet;
use crate::validation::FieldProblem;

/// Why a role key was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("role key must be 1-64 characters of lowercase letters, digits, '_' or '-'")]
pub struct RoleKeyError;

impl FieldProblem for RoleKeyError {
    fn code(&self) -> &'static str {
        "invalid"
    }
}

/// A role's key, unique within its organization: `owner`, `billing-admin`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RoleKey(String);

impl RoleKey {
    /// Trims and validates a key.
    ///
    /// # Errors
    /// [`RoleKeyError`] when the length or characters are wrong.
    pub fn parse(raw: impl AsRef<str>) -> Result<Self, RoleKeyError> {
        let s = raw.as_ref().trim();
        let ok = (1..=64).contains(&s.len())
            && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '_' | '-'));
        if ok { Ok(Self(s.to_owned())) } else { Err(RoleKeyError) }
    }

    /// The key as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RoleKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The roles every organization has from its creation; they cannot change.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BuiltinRole {
    /// Full control, including making other owners.
    Owner,
    /// Manages users, roles and keys.
    Admin,
    /// An ordinary member.
    Member,
}

impl BuiltinRole {
    /// All built-in roles.
    pub const ALL: [Self; 3] = [Self::Owner, Self::Admin, Self::Member];

    /// The built-in role with this key.
    pub fn from_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.key() == key)
    }

    /// The role's key.
    pub fn key(self) -> &'static str {
        match self {
            Self::Owner => "owner",
            Self::Admin => "admin",
            Self::Member => "member",
        }
    }

    /// The role's display name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Owner => "Owner",
            Self::Admin => "Admin",
            Self::Member => "Member",
        }
    }

    /// The role's description.
    pub fn description(self) -> &'static str {
        match self {
            Self::Owner => "Full control of the organization",
            Self::Admin => "Manages users, roles and API keys",
            Self::Member => "A member of the organization",
        }
    }
}

/// A role of one organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Role {
    /// Its id.
    pub id: RoleId,
    /// The organization it belongs to.
    pub org_id: OrgId,
    /// Its key, unique within the organization.
    pub key: RoleKey,
    /// Display name.
    pub name: String,
    /// What the role is for.
    pub description: String,
    /// Whether it is one of the immutable built-in roles.
    pub builtin: bool,
    /// What holding it grants (for built-ins, fixed by [`PermissionSet::of_builtin`]).
    pub permissions: PermissionSet,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was changed last.
    pub updated_at: DateTime<Utc>,
    /// Optimistic-concurrency version, starting at 1 (rule 9).
    pub version: i64,
}

impl Role {
    /// A built-in role for a new organization.
    pub fn builtin(id: RoleId, org_id: OrgId, which: BuiltinRole, now: DateTime<Utc>) -> Self {
        Self {
            id,
            org_id,
            key: RoleKey(which.key().to_owned()),
            name: which.name().to_owned(),
            description: which.description().to_owned(),
            builtin: true,
            permissions: PermissionSet::of_builtin(which),
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// Which built-in role this is, if any.
    pub fn builtin_kind(&self) -> Option<BuiltinRole> {
        if self.builtin { BuiltinRole::from_key(self.key.as_str()) } else { None }
    }

    /// Whether this is the organization's `owner` role.
    pub fn is_owner(&self) -> bool {
        self.builtin_kind() == Some(BuiltinRole::Owner)
    }

    /// What holding the role grants. Built-ins always grant what the code says, whatever
    /// storage holds for them.
    pub fn grants(&self) -> PermissionSet {
        self.builtin_kind().map_or_else(|| self.permissions.clone(), PermissionSet::of_builtin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_keys_are_validated() {
        assert!(RoleKey::parse("billing-admin").is_ok());
        assert!(RoleKey::parse("Billing").is_err());
        assert!(RoleKey::parse("").is_err());
    }
}
