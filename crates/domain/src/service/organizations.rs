//! Organization use cases.

use super::{Roster, check_version, ensure_reach};
use crate::auth::Principal;
use crate::error::{Error, Resource};
use crate::ids::{OrgId, RoleId};
use crate::organization::{OrgStatus, Organization};
use crate::organization_input::{CreateOrganizationInput, UpdateOrganizationInput};
use crate::page::{Cursor, Page, PageSize};
use crate::role::{BuiltinRole, Role};
use crate::validation::ValidationErrors;

const CURSOR_SCOPE: &str = "organizations";

impl Roster {
    /// Creates an organization with its built-in roles. Only platform keys may.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for other callers, [`Error::Validation`] for bad input (an
    /// unknown `parent_id` included), [`Error::SlugTaken`].
    pub async fn create_organization(
        &self,
        principal: &Principal,
        input: CreateOrganizationInput,
    ) -> Result<Organization, Error> {
        if !principal.is_platform() {
            return Err(Error::Forbidden);
        }
        let cmd = input.validate()?;
        if let Some(parent) = cmd.parent_id
            && self.storage.get_organization(parent).await?.is_none()
        {
            return Err(ValidationErrors::single("parent_id", "not_found", "parent organization not found").into());
        }
        let now = self.clock.now();
        let id = OrgId::from_uuid(self.new_id());
        let roles: Vec<Role> = BuiltinRole::ALL
            .iter()
            .map(|&which| Role::builtin(RoleId::from_uuid(self.new_id()), id, which, now))
            .collect();
        let default_role_id = roles.iter().find(|r| r.key == cmd.default_role).map(|r| r.id).ok_or_else(|| {
            ValidationErrors::single("default_role", "not_found", "default_role must be owner, admin or member")
        })?;
        let org = Organization {
            id,
            slug: cmd.slug,
            name: cmd.name,
            domain: cmd.domain,
            description: cmd.description,
            logo_url: cmd.logo_url,
            icon_url: cmd.icon_url,
            parent_id: cmd.parent_id,
            seat_limit: cmd.seat_limit,
            default_role_id,
            invitation_ttl: cmd.invitation_ttl,
            status: OrgStatus::Active,
            created_by: principal.actor(),
            modified_by: principal.actor(),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let mut tx = self.storage.begin().await?;
        tx.insert_organization(&org, &roles).await?;
        tx.commit().await?;
        Ok(org)
    }

    /// One organization the caller can reach.
    ///
    /// # Errors
    /// [`Error::NotFound`] when it does not exist, is deleted or is out of reach.
    pub async fn get_organization(&self, principal: &Principal, id: OrgId) -> Result<Organization, Error> {
        ensure_reach(principal, id)?;
        self.storage.get_organization(id).await?.ok_or(Error::NotFound(Resource::Organization))
    }

    /// The organizations the caller can reach, by creation order.
    ///
    /// # Errors
    /// [`Error::Validation`] for a bad cursor.
    pub async fn list_organizations(
        &self,
        principal: &Principal,
        limit: PageSize,
        cursor: Option<&str>,
    ) -> Result<Page<Organization>, Error> {
        let after = match cursor {
            None => None,
            Some(raw) => {
                let (_, id) = Cursor::decode(raw, CURSOR_SCOPE)
                    .map_err(|e| ValidationErrors::single("cursor", "invalid", e.to_string()))?;
                Some(OrgId::from_uuid(id))
            }
        };
        let rows = match principal.org_id() {
            None => self.storage.list_organizations(after, limit.get() + 1).await?,
            Some(own) => match self.storage.get_organization(own).await? {
                Some(org) if after.is_none_or(|a| a < own) => vec![org],
                _ => Vec::new(),
            },
        };
        Ok(Page::from_rows(rows, limit, |o| Cursor::encode(CURSOR_SCOPE, "", o.id.as_uuid())))
    }

    /// Changes an organization (rule 9: with `expected_version`, a stale version changes
    /// nothing).
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Validation`] (a `default_role_id` that is not one of
    /// the organization's roles included), [`Error::VersionMismatch`], [`Error::SlugTaken`].
    pub async fn update_organization(
        &self,
        principal: &Principal,
        id: OrgId,
        input: UpdateOrganizationInput,
        expected_version: Option<i64>,
    ) -> Result<Organization, Error> {
        ensure_reach(principal, id)?;
        let changes = input.validate()?;
        // The seat limit is the plan's: an organization's own keys cannot raise it.
        if changes.seat_limit.is_some() && !principal.is_platform() {
            return Err(Error::Forbidden);
        }
        let mut tx = self.storage.begin().await?;
        let mut org = tx.organization_for_update(id).await?.ok_or(Error::NotFound(Resource::Organization))?;
        check_version(expected_version, org.version)?;
        if let Some(role_id) = changes.default_role_id {
            if !tx.roles_of(id).await?.iter().any(|r| r.id == role_id) {
                return Err(ValidationErrors::single(
                    "default_role_id",
                    "not_found",
                    "default_role_id must name a role of the organization",
                )
                .into());
            }
            org.default_role_id = role_id;
        }
        if let Some(slug) = changes.slug {
            org.slug = slug;
        }
        if let Some(name) = changes.name {
            org.name = name;
        }
        if let Some(domain) = changes.domain {
            org.domain = domain;
        }
        if let Some(description) = changes.description {
            org.description = description;
        }
        if let Some(logo_url) = changes.logo_url {
            org.logo_url = logo_url;
        }
        if let Some(icon_url) = changes.icon_url {
            org.icon_url = icon_url;
        }
        if let Some(seat_limit) = changes.seat_limit {
            org.seat_limit = seat_limit;
        }
        if let Some(ttl) = changes.invitation_ttl {
            org.invitation_ttl = ttl;
        }
        org.modified_by = principal.actor();
        org.updated_at = self.clock.now();
        org.version += 1;
        tx.update_organization(&org).await?;
        tx.commit().await?;
        Ok(org)
    }

    /// Soft-deletes an organization: it disappears from every read and its keys stop
    /// working. Only platform keys may.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Forbidden`] for a key of the organization itself,
    /// [`Error::VersionMismatch`].
    pub async fn delete_organization(
        &self,
        principal: &Principal,
        id: OrgId,
        expected_version: Option<i64>,
    ) -> Result<(), Error> {
        ensure_reach(principal, id)?;
        if !principal.is_platform() {
            return Err(Error::Forbidden);
        }
        let mut tx = self.storage.begin().await?;
        let mut org = tx.organization_for_update(id).await?.ok_or(Error::NotFound(Resource::Organization))?;
        check_version(expected_version, org.version)?;
        org.status = OrgStatus::Deleted;
        org.modified_by = principal.actor();
        org.updated_at = self.clock.now();
        org.version += 1;
        tx.update_organization(&org).await?;
        tx.commit().await?;
        self.keys.forget_org(id);
        Ok(())
    }
}
