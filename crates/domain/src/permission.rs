//! Permissions: `resource.action` strings. Roster's own catalog names what its API does;
//! custom roles and direct grants may also carry application permissions
//! (`projects.create`) that other services check through Roster.
//!
//! A principal's effective permissions are the union of its roles' permissions and its
//! direct grants, intersected with its key's scope. Owners hold every permission, the
//! application's included: the set [`PermissionSet::all`], written `*`.

use std::collections::BTreeSet;
use std::fmt;

use crate::role::BuiltinRole;
use crate::validation::FieldProblem;

/// Why a permission string was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("a permission is resource.action in lowercase letters, digits and '_' (e.g. users.write)")]
pub struct PermissionError;

impl FieldProblem for PermissionError {
    fn code(&self) -> &'static str {
        "invalid"
    }
}

/// One permission, `resource.action`: each part starts with a letter and holds lowercase
/// letters, digits and `_`, at most 63 characters.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Permission(String);

impl Permission {
    /// Trims and validates a permission.
    ///
    /// # Errors
    /// [`PermissionError`] when it is not `resource.action`.
    pub fn parse(raw: impl AsRef<str>) -> Result<Self, PermissionError> {
        let s = raw.as_ref().trim();
        let part_ok = |p: &str| {
            (1..=63).contains(&p.len())
                && p.starts_with(|c: char| c.is_ascii_lowercase())
                && p.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        };
        match s.split_once('.') {
            Some((resource, action)) if part_ok(resource) && part_ok(action) => Ok(Self(s.to_owned())),
            _ => Err(PermissionError),
        }
    }

    /// The permission as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The resource part (`users` of `users.write`).
    pub fn resource(&self) -> &str {
        self.0.split_once('.').map_or("", |(r, _)| r)
    }

    /// Whether Roster's own API defines it (as opposed to an application permission).
    pub fn is_roster(&self) -> bool {
        CATALOG.contains(&self.as_str())
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Roster's own permissions, one per thing its API lets a caller do.
pub const CATALOG: &[&str] = &[
    "organizations.read",
    "organizations.write",
    "organizations.delete",
    "organizations.create",
    "users.read",
    "users.write",
    "users.delete",
    "roles.read",
    "roles.write",
    "permissions.read",
    "permissions.write",
    "invitations.read",
    "invitations.write",
    "api_keys.read",
    "api_keys.write",
    "sessions.read",
    "sessions.write",
    "audit.read",
];

/// How the set of every permission is written on the wire.
pub const ALL_PERMISSIONS: &str = "*";

/// A set of permissions, possibly the set of all of them ([`PermissionSet::all`]).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PermissionSet {
    all: bool,
    items: BTreeSet<Permission>,
}

impl PermissionSet {
    /// Validates every entry.
    ///
    /// # Errors
    /// [`PermissionError`] for the first malformed entry.
    pub fn parse<S: AsRef<str>>(raw: impl IntoIterator<Item = S>) -> Result<Self, PermissionError> {
        raw.into_iter().map(Permission::parse).collect::<Result<_, _>>().map(Self::of)
    }

    /// Reads a stored set, where `*` stands for every permission. Malformed entries,
    /// which storage never holds, are dropped rather than failing a read.
    pub fn from_stored<S: AsRef<str>>(raw: impl IntoIterator<Item = S>) -> Self {
        let mut set = Self::default();
        for entry in raw {
            let entry = entry.as_ref();
            if entry == ALL_PERMISSIONS {
                set.all = true;
            } else if let Ok(p) = Permission::parse(entry) {
                set.items.insert(p);
            }
        }
        set
    }

    fn of(items: BTreeSet<Permission>) -> Self {
        Self { all: false, items }
    }

    /// Every permission there is, Roster's and the application's.
    pub fn all() -> Self {
        Self { all: true, items: BTreeSet::new() }
    }

    /// Roster's whole catalog.
    pub fn catalog() -> Self {
        Self::of(CATALOG.iter().map(|p| Permission((*p).to_owned())).collect())
    }

    /// Whether this is the set of every permission.
    pub fn is_all(&self) -> bool {
        self.all
    }

    /// The set as wire strings: `["*"]` for every permission.
    pub fn names(&self) -> Vec<String> {
        if self.all { vec![ALL_PERMISSIONS.to_owned()] } else { self.items.iter().map(|p| p.0.clone()).collect() }
    }

    /// What a built-in role grants: owners everything (application permissions too);
    /// admins Roster's catalog but deleting the organization (and, by rule 5, they cannot
    /// make owners); members read access.
    pub fn of_builtin(role: BuiltinRole) -> Self {
        match role {
            BuiltinRole::Owner => Self::all(),
            BuiltinRole::Admin => {
                let mut set = Self::catalog();
                set.items.retain(|p| p.as_str() != "organizations.delete");
                set
            }
            BuiltinRole::Member => Self::parse(["organizations.read", "users.read", "roles.read"]).unwrap_or_default(),
        }
    }

    /// Whether the set holds `permission`.
    pub fn contains(&self, permission: &str) -> bool {
        self.all || self.items.iter().any(|p| p.as_str() == permission)
    }

    /// Whether every permission of `self` is in `other` (rule 5: an actor grants only
    /// what it holds).
    pub fn is_subset(&self, other: &Self) -> bool {
        other.all || (!self.all && self.items.is_subset(&other.items))
    }

    /// Everything in either set.
    #[must_use]
    pub fn union(&self, other: &Self) -> Self {
        if self.all || other.all {
            return Self::all();
        }
        Self::of(self.items.union(&other.items).cloned().collect())
    }

    /// What both sets hold (a key's scope applied to its owner's permissions).
    #[must_use]
    pub fn intersection(&self, other: &Self) -> Self {
        match (self.all, other.all) {
            (true, _) => other.clone(),
            (_, true) => self.clone(),
            _ => Self::of(self.items.intersection(&other.items).cloned().collect()),
        }
    }

    /// The listed permissions, sorted (empty for [`PermissionSet::all`]).
    pub fn iter(&self) -> impl Iterator<Item = &Permission> {
        self.items.iter()
    }

    /// How many are listed.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        !self.all && self.items.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn permissions_are_resource_dot_action() {
        assert_eq!(Permission::parse(" users.write ").unwrap().as_str(), "users.write");
        assert_eq!(Permission::parse("projects.create").unwrap().resource(), "projects");
        for bad in ["users", "Users.write", "users.", ".write", "users.write.all", "1users.write", "users.wr-ite"] {
            assert!(Permission::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(Permission::parse("users.write").unwrap().is_roster());
        assert!(!Permission::parse("projects.create").unwrap().is_roster());
    }

    #[test]
    fn the_catalog_is_well_formed() {
        assert_eq!(PermissionSet::catalog().len(), CATALOG.len());
        assert!(CATALOG.iter().all(|p| Permission::parse(p).is_ok()));
    }

    #[test]
    fn builtin_roles_nest() {
        let owner = PermissionSet::of_builtin(BuiltinRole::Owner);
        let admin = PermissionSet::of_builtin(BuiltinRole::Admin);
        let member = PermissionSet::of_builtin(BuiltinRole::Member);
        assert!(member.is_subset(&admin) && admin.is_subset(&owner));
        assert!(owner.contains("organizations.delete") && !admin.contains("organizations.delete"));
        assert!(owner.contains("projects.create") && owner.is_all());
        assert!(member.contains("users.read") && !member.contains("users.write"));
    }

    #[test]
    fn effective_permissions_are_roles_and_grants_within_scope() {
        let roles = PermissionSet::of_builtin(BuiltinRole::Member);
        let grants = PermissionSet::parse(["projects.create"]).unwrap();
        let scope = PermissionSet::parse(["users.read", "projects.create", "users.write"]).unwrap();
        let effective = roles.union(&grants).intersection(&scope);
        let names: Vec<&str> = effective.iter().map(Permission::as_str).collect();
        assert_eq!(names, ["projects.create", "users.read"]);
        let owner = PermissionSet::all();
        assert_eq!(owner.intersection(&scope), scope);
        assert!(scope.is_subset(&owner) && !owner.is_subset(&scope));
        assert_eq!(owner.union(&grants).names(), ["*"]);
        assert_eq!(PermissionSet::from_stored(["*", "bad"]), owner);
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_accepts_only_canonical_text(raw in "\\PC{0,80}") {
            if let Ok(p) = Permission::parse(&raw) {
                prop_assert_eq!(Permission::parse(p.as_str()), Ok(p.clone()));
                prop_assert!(p.as_str().contains('.'));
            }
        }
    }
}
