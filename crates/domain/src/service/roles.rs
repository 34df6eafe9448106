//! Role use cases: the built-ins are read-only; custom roles carry any permissions the
//! caller holds itself (rule 5).

use super::audit::details;
use super::{Roster, check_version};
use crate::auth::Principal;
use crate::error::{Error, Resource};
use crate::ids::{OrgId, RoleId};
use crate::permission::PermissionSet;
use crate::role::{Role, RoleKey};
use crate::validation::{ValidationErrors, Validator};

/// The longest role name and description.
const MAX_NAME: usize = 200;
const MAX_DESCRIPTION: usize = 2000;
/// The most permissions one role may carry.
pub const MAX_ROLE_PERMISSIONS: usize = 500;

/// A request to create a custom role.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateRoleInput {
    /// Required: unique key within the organization.
    pub key: Option<String>,
    /// Required: display name.
    pub name: Option<String>,
    /// What the role is for.
    pub description: Option<String>,
    /// Required: its permissions (Roster's and the application's).
    pub permissions: Option<Vec<String>>,
}

/// A partial update of a custom role.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct UpdateRoleInput {
    /// New key.
    pub key: Option<String>,
    /// New name.
    pub name: Option<String>,
    /// New description.
    pub description: Option<String>,
    /// New permissions (replacing the old ones).
    pub permissions: Option<Vec<String>>,
}

fn text(v: &mut Validator, field: &str, raw: String, max: usize, required: bool) -> Option<String> {
    let s = raw.trim();
    if (required && s.is_empty()) || s.chars().count() > max || s.chars().any(|c| c.is_control() && c != '\n') {
        v.push(field, "invalid", format!("{field} must be {}-{max} printable characters", u8::from(required)));
        None
    } else {
        Some(s.to_owned())
    }
}

fn permissions(v: &mut Validator, raw: Vec<String>) -> Option<PermissionSet> {
    if raw.len() > MAX_ROLE_PERMISSIONS {
        v.push("permissions", "out_of_range", format!("a role carries at most {MAX_ROLE_PERMISSIONS} permissions"));
        return None;
    }
    let mut ok = true;
    for (i, p) in raw.iter().enumerate() {
        if let Err(e) = crate::permission::Permission::parse(p) {
            v.push(&format!("permissions[{i}]"), "invalid", e.to_string());
            ok = false;
        }
    }
    ok.then(|| PermissionSet::parse(&raw).unwrap_or_default())
}

impl Roster {
    /// The organization's roles, built-ins first. Needs `roles.read`.
    ///
    /// # Errors
    /// [`Error::NotFound`] / [`Error::Forbidden`] by reach and permission.
    pub async fn list_roles(&self, principal: &Principal, org: OrgId) -> Result<Vec<Role>, Error> {
        self.authorize(principal, org, "roles.read").await?;
        let roles = self.storage.list_roles(org).await?;
        if roles.is_empty() {
            // Every organization has its built-ins: none means no such organization.
            return Err(Error::NotFound(Resource::Organization));
        }
        Ok(roles)
    }

    /// One role. Needs `roles.read`.
    ///
    /// # Errors
    /// [`Error::NotFound`] / [`Error::Forbidden`].
    pub async fn get_role(&self, principal: &Principal, org: OrgId, id: RoleId) -> Result<Role, Error> {
        let roles = self.list_roles(principal, org).await?;
        roles.into_iter().find(|r| r.id == id).ok_or(Error::NotFound(Resource::Role))
    }

    /// Creates a custom role. Needs `roles.write` and every permission it carries.
    ///
    /// # Errors
    /// [`Error::Validation`], [`Error::RoleKeyTaken`], [`Error::Forbidden`].
    pub async fn create_role(&self, principal: &Principal, org: OrgId, input: CreateRoleInput) -> Result<Role, Error> {
        self.authorize(principal, org, "roles.write").await?;
        let mut v = Validator::default();
        let key = match input.key {
            None => {
                v.missing("key");
                None
            }
            Some(raw) => v.check("key", RoleKey::parse(raw)),
        };
        let name = match input.name {
            None => {
                v.missing("name");
                None
            }
            Some(raw) => text(&mut v, "name", raw, MAX_NAME, true),
        };
        let description = text(&mut v, "description", input.description.unwrap_or_default(), MAX_DESCRIPTION, false);
        let perms = match input.permissions {
            None => {
                v.missing("permissions");
                None
            }
            Some(raw) => permissions(&mut v, raw),
        };
        let (key, name, description, perms) = v.build(|| Some((key?, name?, description?, perms?)))?;
        Self::ensure_holds(&self.granting(principal).await?, &perms)?;
        let now = self.clock.now();
        let role = Role {
            id: RoleId::from_uuid(self.new_id()),
            org_id: org,
            key,
            name,
            description,
            builtin: false,
            permissions: perms,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let mut tx = self.storage.begin().await?;
        tx.organization_for_share(org).await?.ok_or(Error::NotFound(Resource::Organization))?;
        tx.insert_role(&role).await?;
        let summary = details([("key", role.key.to_string()), ("permissions", role.permissions.names().join(" "))]);
        self.audit(tx.as_mut(), principal, org, "role.created", ("role", role.id.to_string()), summary).await?;
        tx.commit().await?;
        Ok(role)
    }

    /// Changes a custom role. Needs `roles.write` and every permission it will carry.
    ///
    /// # Errors
    /// [`Error::ImmutableRole`] for built-ins, [`Error::VersionMismatch`],
    /// [`Error::Validation`], [`Error::RoleKeyTaken`], [`Error::Forbidden`].
    pub async fn update_role(
        &self,
        principal: &Principal,
        org: OrgId,
        id: RoleId,
        input: UpdateRoleInput,
        expected_version: Option<i64>,
    ) -> Result<Role, Error> {
        self.authorize(principal, org, "roles.write").await?;
        let mut v = Validator::default();
        let key = input.key.and_then(|raw| v.check("key", RoleKey::parse(raw)));
        let name = input.name.and_then(|raw| text(&mut v, "name", raw, MAX_NAME, true));
        let description = input.description.and_then(|raw| text(&mut v, "description", raw, MAX_DESCRIPTION, false));
        let perms = input.permissions.and_then(|raw| permissions(&mut v, raw));
        v.finish()?;
        if let Some(perms) = &perms {
            Self::ensure_holds(&self.granting(principal).await?, perms)?;
        }
        let mut tx = self.storage.begin().await?;
        let mut role = tx.role_for_update(org, id).await?.ok_or(Error::NotFound(Resource::Role))?;
        if role.builtin {
            return Err(Error::ImmutableRole);
        }
        check_version(expected_version, role.version)?;
        let mut changed = Vec::new();
        if let Some(key) = key {
            changed.push(("key", key.to_string()));
            role.key = key;
        }
        if let Some(name) = name {
            changed.push(("name", name.clone()));
            role.name = name;
        }
        if let Some(description) = description {
            changed.push(("description", String::new()));
            role.description = description;
        }
        if let Some(perms) = perms {
            changed.push(("permissions", perms.names().join(" ")));
            role.permissions = perms;
        }
        role.updated_at = self.clock.now();
        role.version += 1;
        tx.update_role(&role).await?;
        let summary = changed.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
        self.audit(tx.as_mut(), principal, org, "role.updated", ("role", id.to_string()), summary).await?;
        tx.commit().await?;
        // Holders' cached permissions change: re-verify this organization's credentials.
        self.keys.forget_org(org);
        Ok(role)
    }

    /// Deletes a custom role. When users hold it, `reassign_to` must name the role they
    /// get instead (one the caller could grant); otherwise it fails with
    /// [`Error::RoleInUse`].
    ///
    /// # Errors
    /// [`Error::ImmutableRole`], [`Error::RoleInUse`], [`Error::VersionMismatch`],
    /// [`Error::Validation`] for a bad `reassign_to` or the default role,
    /// [`Error::Forbidden`].
    pub async fn delete_role(
        &self,
        principal: &Principal,
        org: OrgId,
        id: RoleId,
        reassign_to: Option<&str>,
        expected_version: Option<i64>,
    ) -> Result<(), Error> {
        self.authorize(principal, org, "roles.write").await?;
        let reassign_to = match reassign_to {
            None => None,
            Some(raw) => Some(
                raw.parse::<RoleId>()
                    .map_err(|e| ValidationErrors::single("reassign_to", "invalid_id", e.to_string()))?,
            ),
        };
        // Needed only to reassign holders; read before the organization is locked, as it
        // may use another connection.
        let granting = if reassign_to.is_some() { self.granting(principal).await? } else { principal.clone() };
        let mut tx = self.storage.begin().await?;
        let organization = tx.organization_for_update(org).await?.ok_or(Error::NotFound(Resource::Organization))?;
        let role = tx.role_for_update(org, id).await?.ok_or(Error::NotFound(Resource::Role))?;
        if role.builtin {
            return Err(Error::ImmutableRole);
        }
        check_version(expected_version, role.version)?;
        if organization.default_role_id == id {
            return Err(ValidationErrors::single(
                "role_id",
                "default_role",
                "the organization's default role cannot be deleted; change default_role_id first",
            )
            .into());
        }
        let holders = tx.count_role_holders(org, id).await?;
        if holders > 0 {
            let Some(to) = reassign_to else {
                return Err(Error::RoleInUse { holders });
            };
            let roles = tx.roles_of(org).await?;
            let target = roles.iter().find(|r| r.id == to && r.id != id).ok_or_else(|| {
                ValidationErrors::single(
                    "reassign_to",
                    "not_found",
                    "reassign_to must name another role of the organization",
                )
            })?;
            if target.is_owner() && !granting.is_owner() {
                return Err(Error::Forbidden);
            }
            Self::ensure_holds(&granting, &target.grants())?;
            tx.reassign_role(org, id, to, self.clock.now()).await?;
        }
        tx.delete_role(org, id).await?;
        let summary = details([
            ("key", role.key.to_string()),
            ("reassigned_to", reassign_to.map(|r| r.to_string()).unwrap_or_default()),
        ]);
        self.audit(tx.as_mut(), principal, org, "role.deleted", ("role", id.to_string()), summary).await?;
        tx.commit().await?;
        self.keys.forget_org(org);
        Ok(())
    }
}
