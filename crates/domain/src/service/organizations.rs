//! Organization use cases.

use super::audit::details;
use super::{Roster, check_version};
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
    /// Creates an organization with its built-in roles. Platform keys create any; a
    /// partner's callers with `organizations.create` create children of the partner.
    ///
    /// # Errors
    /// [`Error::Forbidden`] for other callers, [`Error::Validation`] for bad input (an
    /// unknown `parent_id` included), [`Error::SlugTaken`].
    pub async fn create_organization(
        &self,
        principal: &Principal,
        input: CreateOrganizationInput,
    ) -> Result<Organization, Error> {
        let mut cmd = input.validate()?;
        let parent_missing =
            || Error::from(ValidationErrors::single("parent_id", "not_found", "parent organization not found"));
        if principal.is_platform() {
            if let Some(parent) = cmd.parent_id
                && self.storage.get_organization(parent).await?.is_none()
            {
                return Err(parent_missing());
            }
        } else {
            let own = principal.org_id().filter(|_| principal.is_partner()).ok_or(Error::Forbidden)?;
            if !principal.can("organizations.create") || cmd.partner {
                return Err(Error::Forbidden);
            }
            if cmd.parent_id.is_some_and(|p| p != own) {
                return Err(parent_missing());
            }
            cmd.parent_id = Some(own);
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
            partner: cmd.partner,
            seat_limit: cmd.seat_limit,
            default_role_id,
            invitation_ttl: cmd.invitation_ttl,
            default_login_url: cmd.default_login_url,
            status: OrgStatus::Active,
            created_by: principal.actor(),
            modified_by: principal.actor(),
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let mut tx = self.storage.begin().await?;
        tx.insert_organization(&org, &roles).await?;
        let summary = details([
            ("slug", org.slug.to_string()),
            ("parent_id", org.parent_id.map(|p| p.to_string()).unwrap_or_default()),
        ]);
        self.audit(tx.as_mut(), principal, id, "organization.created", ("organization", id.to_string()), summary)
            .await?;
        tx.commit().await?;
        Ok(org)
    }

    /// One organization the caller can reach.
    ///
    /// # Errors
    /// [`Error::NotFound`] when it does not exist, is deleted or is out of reach.
    pub async fn get_organization(&self, principal: &Principal, id: OrgId) -> Result<Organization, Error> {
        match self.authorize(principal, id, "organizations.read").await? {
            Some(org) => Ok(org),
            None => self.storage.get_organization(id).await?.ok_or(Error::NotFound(Resource::Organization)),
        }
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
        if !principal.can("organizations.read") {
            return Err(Error::Forbidden);
        }
        let rows = match principal.org_id() {
            None => self.storage.list_organizations(None, after, limit.get() + 1).await?,
            Some(own) if principal.is_partner() => {
                self.storage.list_organizations(Some(own), after, limit.get() + 1).await?
            }
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
        self.authorize(principal, id, "organizations.write").await?;
        let changes = input.validate()?;
        // Partnership is the platform's to give.
        if changes.partner.is_some() && !principal.is_platform() {
            return Err(Error::Forbidden);
        }
        let mut tx = self.storage.begin().await?;
        let mut org = tx.organization_for_update(id).await?.ok_or(Error::NotFound(Resource::Organization))?;
        // The seat limit is the plan's: set by the platform or the managing partner, never
        // by the organization itself.
        if changes.seat_limit.is_some() && !(principal.is_platform() || org.parent_id == principal.org_id()) {
            return Err(Error::Forbidden);
        }
        check_version(expected_version, org.version)?;
        let mut changed: Vec<(&str, String)> = Vec::new();
        if let Some(role_id) = changes.default_role_id {
            let roles = tx.roles_of(id).await?;
            let Some(role) = roles.iter().find(|r| r.id == role_id) else {
                return Err(ValidationErrors::single(
                    "default_role_id",
                    "not_found",
                    "default_role_id must name a role of the organization",
                )
                .into());
            };
            // Every new user gets the default role: rule 5 as if the caller granted it.
            if (role.is_owner() && !principal.is_owner()) || !role.grants().is_subset(principal.permissions()) {
                return Err(Error::Forbidden);
            }
            org.default_role_id = role_id;
        }
        if let Some(slug) = changes.slug {
            changed.push(("slug", slug.to_string()));
            org.slug = slug;
        }
        if let Some(name) = changes.name {
            changed.push(("name", name.to_string()));
            org.name = name;
        }
        if let Some(domain) = changes.domain {
            changed.push(("domain", domain.as_ref().map(ToString::to_string).unwrap_or_default()));
            org.domain = domain;
        }
        if let Some(description) = changes.description {
            changed.push(("description", description.as_ref().map(ToString::to_string).unwrap_or_default()));
            org.description = description;
        }
        if let Some(logo_url) = changes.logo_url {
            changed.push(("logo_url", logo_url.as_ref().map(ToString::to_string).unwrap_or_default()));
            org.logo_url = logo_url;
        }
        if let Some(icon_url) = changes.icon_url {
            changed.push(("icon_url", icon_url.as_ref().map(ToString::to_string).unwrap_or_default()));
            org.icon_url = icon_url;
        }
        if let Some(seat_limit) = changes.seat_limit {
            changed.push(("seat_limit", seat_limit.as_ref().map(ToString::to_string).unwrap_or_default()));
            org.seat_limit = seat_limit;
        }
        if let Some(ttl) = changes.invitation_ttl {
            changed.push(("invitation_ttl_seconds", ttl.num_seconds().to_string()));
            org.invitation_ttl = ttl;
        }
        if let Some(url) = changes.default_login_url {
            changed.push(("default_login_url", url.as_ref().map(ToString::to_string).unwrap_or_default()));
            org.default_login_url = url;
        }
        if let Some(partner) = changes.partner {
            changed.push(("partner", partner.to_string()));
            org.partner = partner;
        }
        if let Some(role_id) = changes.default_role_id {
            changed.push(("default_role_id", role_id.to_string()));
        }
        org.modified_by = principal.actor();
        org.updated_at = self.clock.now();
        org.version += 1;
        tx.update_organization(&org).await?;
        let summary = changed.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        self.audit(tx.as_mut(), principal, id, "organization.updated", ("organization", id.to_string()), summary)
            .await?;
        tx.commit().await?;
        if changes.partner.is_some() {
            self.keys.forget_org(id);
        }
        Ok(org)
    }

    /// Soft-deletes an organization: it disappears from every read and its keys stop
    /// working. Platform keys may, and a managing partner's callers with
    /// `organizations.delete`; an organization's own credentials may not.
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
        self.authorize(principal, id, "organizations.delete").await?;
        if principal.org_id() == Some(id) {
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
        self.audit(tx.as_mut(), principal, id, "organization.deleted", ("organization", id.to_string()), details([]))
            .await?;
        tx.commit().await?;
        self.keys.forget_org(id);
        Ok(())
    }
}
