//! Direct permission grants: a permission given to one user beside their roles.

use chrono::{DateTime, Utc};

use super::audit::details;
use super::{Roster, check_version};
use crate::auth::Principal;
use crate::error::{Error, Resource};
use crate::grant::Grant;
use crate::ids::{GrantId, OrgId, UserId};
use crate::permission::{Permission, PermissionSet};
use crate::validation::{ValidationErrors, Validator};

/// A grant to create, or the fields of one to change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GrantInput {
    /// The permission (required on create).
    pub permission: Option<String>,
    /// When it stops counting; `Some(None)` on update clears it.
    pub expires_at: Option<Option<DateTime<Utc>>>,
}

/// A validated [`GrantInput`]: the permission and the expiry change, each if given.
type ValidGrant = (Option<Permission>, Option<Option<DateTime<Utc>>>);

impl Roster {
    fn validate_grant(&self, input: GrantInput, create: bool) -> Result<ValidGrant, Error> {
        let mut v = Validator::default();
        let permission = match input.permission {
            None if create => {
                v.missing("permission");
                None
            }
            None => None,
            Some(raw) => v.check("permission", Permission::parse(raw)),
        };
        if let Some(Some(at)) = input.expires_at
            && at <= self.clock.now()
        {
            v.push("expires_at", "in_past", "expires_at must be in the future");
        }
        v.finish()?;
        Ok((permission, input.expires_at))
    }

    async fn ensure_user(&self, org: OrgId, user: UserId) -> Result<(), Error> {
        self.storage.get_user(org, user).await?.map(|_| ()).ok_or(Error::NotFound(Resource::User))
    }

    /// A user's direct grants. Needs `permissions.read`.
    ///
    /// # Errors
    /// [`Error::NotFound`] / [`Error::Forbidden`].
    pub async fn list_grants(&self, principal: &Principal, org: OrgId, user: UserId) -> Result<Vec<Grant>, Error> {
        self.authorize(principal, org, "permissions.read").await?;
        self.ensure_user(org, user).await?;
        Ok(self.storage.list_grants(org, user).await?)
    }

    /// One direct grant. Needs `permissions.read`.
    ///
    /// # Errors
    /// [`Error::NotFound`] / [`Error::Forbidden`].
    pub async fn get_grant(
        &self,
        principal: &Principal,
        org: OrgId,
        user: UserId,
        id: GrantId,
    ) -> Result<Grant, Error> {
        let grants = self.list_grants(principal, org, user).await?;
        grants.into_iter().find(|g| g.id == id).ok_or(Error::NotFound(Resource::Grant))
    }

    /// Grants a permission to a user. Needs `permissions.write` and the permission itself
    /// (rule 5).
    ///
    /// # Errors
    /// [`Error::Validation`], [`Error::GrantExists`], [`Error::NotFound`],
    /// [`Error::Forbidden`].
    pub async fn create_grant(
        &self,
        principal: &Principal,
        org: OrgId,
        user: UserId,
        input: GrantInput,
    ) -> Result<Grant, Error> {
        self.authorize(principal, org, "permissions.write").await?;
        let (permission, expires_at) = self.validate_grant(input, true)?;
        let permission = permission.ok_or_else(|| ValidationErrors::single("permission", "required", "is required"))?;
        Self::ensure_holds(
            &self.granting(principal).await?,
            &PermissionSet::parse([permission.as_str()]).unwrap_or_default(),
        )?;
        let now = self.clock.now();
        let grant = Grant {
            id: GrantId::from_uuid(self.new_id()),
            org_id: org,
            user_id: user,
            permission,
            expires_at: expires_at.flatten(),
            created_by: principal.actor(),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let mut tx = self.storage.begin().await?;
        tx.user_for_update(org, user).await?.ok_or(Error::NotFound(Resource::User))?;
        tx.insert_grant(&grant).await?;
        let summary = details([("user_id", user.to_string()), ("permission", grant.permission.to_string())]);
        self.audit(tx.as_mut(), principal, org, "grant.created", ("grant", grant.id.to_string()), summary).await?;
        tx.commit().await?;
        self.keys.forget_user(user);
        Ok(grant)
    }

    /// Changes a grant's permission or expiry. Needs `permissions.write` and the new
    /// permission.
    ///
    /// # Errors
    /// [`Error::Validation`], [`Error::GrantExists`], [`Error::NotFound`],
    /// [`Error::VersionMismatch`], [`Error::Forbidden`].
    pub async fn update_grant(
        &self,
        principal: &Principal,
        org: OrgId,
        user: UserId,
        id: GrantId,
        input: GrantInput,
        expected_version: Option<i64>,
    ) -> Result<Grant, Error> {
        self.authorize(principal, org, "permissions.write").await?;
        let (permission, expires_at) = self.validate_grant(input, false)?;
        let granting = self.granting(principal).await?;
        let mut tx = self.storage.begin().await?;
        let mut grant = tx.grant_for_update(org, user, id).await?.ok_or(Error::NotFound(Resource::Grant))?;
        check_version(expected_version, grant.version)?;
        if let Some(p) = permission {
            grant.permission = p;
        }
        // Even an expiry change hands the permission out again (reviving or extending
        // it): the caller must hold whatever the grant ends up granting.
        Self::ensure_holds(&granting, &PermissionSet::parse([grant.permission.as_str()]).unwrap_or_default())?;
        if let Some(at) = expires_at {
            grant.expires_at = at;
        }
        grant.updated_at = self.clock.now();
        grant.version += 1;
        tx.update_grant(&grant).await?;
        let summary = details([
            ("permission", grant.permission.to_string()),
            ("expires_at", grant.expires_at.map(|t| t.to_rfc3339()).unwrap_or_default()),
        ]);
        self.audit(tx.as_mut(), principal, org, "grant.updated", ("grant", id.to_string()), summary).await?;
        tx.commit().await?;
        self.keys.forget_user(user);
        Ok(grant)
    }

    /// Removes a grant. Needs `permissions.write`.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::VersionMismatch`], [`Error::Forbidden`].
    pub async fn delete_grant(
        &self,
        principal: &Principal,
        org: OrgId,
        user: UserId,
        id: GrantId,
        expected_version: Option<i64>,
    ) -> Result<(), Error> {
        self.authorize(principal, org, "permissions.write").await?;
        let mut tx = self.storage.begin().await?;
        let grant = tx.grant_for_update(org, user, id).await?.ok_or(Error::NotFound(Resource::Grant))?;
        check_version(expected_version, grant.version)?;
        tx.delete_grant(org, id).await?;
        let summary = details([("user_id", user.to_string()), ("permission", grant.permission.to_string())]);
        self.audit(tx.as_mut(), principal, org, "grant.deleted", ("grant", id.to_string()), summary).await?;
        tx.commit().await?;
        self.keys.forget_user(user);
        Ok(())
    }
}
