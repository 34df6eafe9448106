//! Authorization: what a principal may do where (rule 10, then its permissions), and the
//! "may user U do P?" questions internal services ask.

use std::collections::HashMap;

use super::Roster;
use crate::auth::{Principal, PrincipalKind};
use crate::error::{Error, Resource};
use crate::ids::{OrgId, UserId};
use crate::organization::Organization;
use crate::permission::{Permission, PermissionSet};
use crate::ports::{RoleRef, UserAccess};
use crate::role::BuiltinRole;
use crate::user::UserStatus;
use crate::validation::ValidationErrors;

/// The most `(user, permission)` pairs one batched check may ask about.
pub const MAX_CHECKS: usize = 1000;

/// The caller as `/v1/me` shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Me {
    /// The credential's kind.
    pub kind: PrincipalKind,
    /// The caller's organization (`None` for platform keys).
    pub organization_id: Option<OrgId>,
    /// The user it acts for.
    pub user_id: Option<UserId>,
    /// The user's roles.
    pub roles: Vec<RoleRef>,
    /// The effective permissions (`*` is all).
    pub permissions: PermissionSet,
}

/// The answer to one `(user, permission)` question.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CheckOutcome {
    /// The user holds the permission.
    Allowed,
    /// The user exists but does not hold it (or is not active).
    Denied,
    /// No such user in the organization.
    UserNotFound,
}

/// What a user's stored access grants: nothing unless active (rules 6 and 7); the union
/// of the roles' and the direct grants' permissions otherwise.
pub(super) fn effective(access: &UserAccess) -> (PermissionSet, bool) {
    if access.status != UserStatus::Active {
        return (PermissionSet::default(), false);
    }
    let mut set = PermissionSet::from_stored(&access.permissions);
    let mut owner = false;
    for role in access.roles.iter().filter(|r| r.builtin) {
        if let Some(which) = BuiltinRole::from_key(&role.key) {
            owner |= which == BuiltinRole::Owner;
            set = set.union(&PermissionSet::of_builtin(which));
        }
    }
    (set, owner)
}

impl Roster {
    /// Rule 10, then the permission: an organization out of the caller's reach is not
    /// found; one within reach where the caller lacks `permission` is forbidden. Returns
    /// the organization when it had to be read (partner reach), else `None`.
    pub(super) async fn authorize(
        &self,
        principal: &Principal,
        org: OrgId,
        permission: &str,
    ) -> Result<Option<Organization>, Error> {
        let target = match principal.org_id() {
            None if principal.is_platform() => None,
            Some(own) if own == org => None,
            Some(_) if principal.is_partner() => {
                let target = self.storage.get_organization(org).await?;
                match target {
                    Some(t) if principal.reaches(org, t.parent_id) => Some(t),
                    _ => return Err(Error::NotFound(Resource::Organization)),
                }
            }
            _ => return Err(Error::NotFound(Resource::Organization)),
        };
        if principal.can(permission) { Ok(target) } else { Err(Error::Forbidden) }
    }

    /// Rule 5 across instances: before a user's session or personal key hands out roles,
    /// permissions or keys, what the user may do *now* is read again, so a demotion or
    /// suspension committed on another instance counts even while this instance still
    /// caches the credential. The result never exceeds the cached principal (a key's scope
    /// stays applied). Other principals are returned as they are.
    pub(super) async fn granting(&self, principal: &Principal) -> Result<Principal, Error> {
        let (Some(org), Some(user)) = (principal.org_id(), principal.user_id()) else {
            return Ok(principal.clone());
        };
        let found = self.storage.user_access(org, &[user], self.clock.now()).await?;
        let access = found.first().filter(|a| a.status == UserStatus::Active).ok_or(Error::Unauthenticated)?;
        let (held, owner) = effective(access);
        let mut identity = principal.identity().clone();
        identity.permissions = identity.permissions.intersection(&held);
        identity.owner &= owner;
        Ok(principal.with_identity(identity))
    }

    /// Rule 5: the caller may hand out only what it holds itself.
    pub(super) fn ensure_holds(principal: &Principal, granted: &PermissionSet) -> Result<(), Error> {
        if granted.is_subset(principal.permissions()) { Ok(()) } else { Err(Error::Forbidden) }
    }

    /// The caller, as `/v1/me` and `AuthService.Authenticate` show it.
    pub fn me(&self, principal: &Principal) -> Me {
        let identity = principal.identity();
        Me {
            kind: identity.kind,
            organization_id: identity.org_id,
            user_id: identity.user_id,
            roles: identity.roles.clone(),
            permissions: identity.permissions.clone(),
        }
    }

    /// Whether each user holds each permission in `org`, for internal services, in one
    /// storage round trip. The caller needs `permissions.read` there.
    ///
    /// # Errors
    /// [`Error::NotFound`] / [`Error::Forbidden`] by reach and permission,
    /// [`Error::Validation`] for malformed ids or permissions or too many pairs.
    pub async fn check_permissions(
        &self,
        principal: &Principal,
        org: OrgId,
        checks: &[(String, String)],
    ) -> Result<Vec<CheckOutcome>, Error> {
        self.authorize(principal, org, "permissions.read").await?;
        let mut errors = ValidationErrors::default();
        if checks.is_empty() || checks.len() > MAX_CHECKS {
            errors.push("checks", "out_of_range", format!("give between 1 and {MAX_CHECKS} checks"));
        }
        let mut parsed = Vec::with_capacity(checks.len());
        for (i, (user, permission)) in checks.iter().enumerate() {
            let user = user.parse::<UserId>();
            let permission = Permission::parse(permission);
            if user.is_err() {
                errors.push(format!("checks[{i}].user_id"), "invalid_id", "not a valid id (expected a UUID)");
            }
            if let Err(e) = &permission {
                errors.push(format!("checks[{i}].permission"), "invalid", e.to_string());
            }
            if let (Ok(user), Ok(permission)) = (user, permission) {
                parsed.push((user, permission));
            }
        }
        if !errors.is_empty() {
            return Err(errors.into());
        }
        let mut ids: Vec<UserId> = parsed.iter().map(|(u, _)| *u).collect();
        ids.sort_unstable();
        ids.dedup();
        let found = self.storage.user_access(org, &ids, self.clock.now()).await?;
        let sets: HashMap<UserId, PermissionSet> = found.iter().map(|a| (a.user_id, effective(a).0)).collect();
        Ok(parsed
            .iter()
            .map(|(user, permission)| match sets.get(user) {
                None => CheckOutcome::UserNotFound,
                Some(set) if set.contains(permission.as_str()) => CheckOutcome::Allowed,
                Some(_) => CheckOutcome::Denied,
            })
            .collect())
    }

    /// The effective permissions of one user of `org` (empty unless active).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown user or one out of reach.
    pub async fn user_permissions(
        &self,
        principal: &Principal,
        org: OrgId,
        user: UserId,
    ) -> Result<PermissionSet, Error> {
        self.authorize(principal, org, "permissions.read").await?;
        let found = self.storage.user_access(org, &[user], self.clock.now()).await?;
        found.first().map(|a| effective(a).0).ok_or(Error::NotFound(Resource::User))
    }
}
