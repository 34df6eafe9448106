//! `roster.v1.RoleService`: parse → one use case → map.

use std::sync::Arc;

use prost_types::FieldMask;
use roster_domain::ids::{OrgId, RoleId};
use roster_domain::role::Role;
use roster_domain::service::{CreateRoleInput, Roster, UpdateRoleInput};
use roster_domain::validation::Validator;
use tonic::{Request, Response, Status};

use crate::auth::principal;
use crate::convert::{self, keep, masked, non_empty, timestamp};
use crate::pb;
use crate::pb::role_service_server::RoleService;
use crate::status::{invalid, rename_fields, to_status};

/// The role service over Roster's use cases.
#[derive(Debug)]
pub(crate) struct Roles {
    roster: Arc<Roster>,
}

impl Roles {
    pub(crate) fn new(roster: Arc<Roster>) -> Self {
        Self { roster }
    }
}

/// A role as `roster.v1.Role`, with what it grants (fixed by code for built-ins).
fn role(role: Role) -> pb::Role {
    pb::Role {
        id: role.id.to_string(),
        organization_id: role.org_id.to_string(),
        permissions: role.grants().names(),
        key: role.key.as_str().to_owned(),
        name: role.name,
        description: role.description,
        builtin: role.builtin,
        created_at: Some(timestamp(role.created_at)),
        updated_at: Some(timestamp(role.updated_at)),
        version: role.version,
    }
}

/// The ids in `organization_id` and `role_id`, or INVALID_ARGUMENT naming each bad one.
fn role_path(org: &str, role: &str) -> Result<(OrgId, RoleId), Status> {
    let mut v = Validator::default();
    let org_id = convert::id(&mut v, "organization_id", org);
    let role_id = convert::id(&mut v, "role_id", role);
    v.build(|| Some((org_id?, role_id?))).map_err(invalid)
}

/// `UpdateRole`'s patch and mask as the domain's raw input (AIP-134, as for users);
/// mask problems are recorded in `v` under `update_mask` or `role.<field>`.
fn update_role_input(v: &mut Validator, patch: Option<pb::RolePatch>, mask: Option<FieldMask>) -> UpdateRoleInput {
    let p = patch.unwrap_or_default();
    let selected = masked(
        v,
        mask,
        &[
            ("key", p.key.is_some()),
            ("name", p.name.is_some()),
            ("description", p.description.is_some()),
            ("permissions", !p.permissions.is_empty()),
        ],
    );
    let on = |field: &str| selected.contains(&field);
    let mut input = UpdateRoleInput::default();
    if on("key") {
        input.key = keep(v, "role", "key", p.key);
    }
    if on("name") {
        input.name = keep(v, "role", "name", p.name);
    }
    if on("description") {
        // Clearing a description leaves it empty.
        input.description = Some(p.description.unwrap_or_default());
    }
    if on("permissions") {
        input.permissions = Some(p.permissions);
    }
    input
}

#[tonic::async_trait]
impl RoleService for Roles {
    #[tracing::instrument(name = "roster.v1.RoleService/ListRoles", skip_all)]
    async fn list_roles(
        &self,
        request: Request<pb::ListRolesRequest>,
    ) -> Result<Response<pb::ListRolesResponse>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let mut v = Validator::default();
        let org_id = convert::id(&mut v, "organization_id", &request.get_ref().organization_id);
        let org_id = v.build(|| org_id).map_err(invalid)?;
        let roles = self.roster.list_roles(&principal, org_id).await.map_err(to_status)?;
        Ok(Response::new(pb::ListRolesResponse { roles: roles.into_iter().map(role).collect() }))
    }

    #[tracing::instrument(name = "roster.v1.RoleService/GetRole", skip_all)]
    async fn get_role(&self, request: Request<pb::GetRoleRequest>) -> Result<Response<pb::Role>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.get_ref();
        let (org_id, role_id) = role_path(&req.organization_id, &req.role_id)?;
        let found = self.roster.get_role(&principal, org_id, role_id).await.map_err(to_status)?;
        Ok(Response::new(role(found)))
    }

    #[tracing::instrument(name = "roster.v1.RoleService/CreateRole", skip_all)]
    async fn create_role(&self, request: Request<pb::CreateRoleRequest>) -> Result<Response<pb::Role>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.into_inner();
        let mut v = Validator::default();
        let org_id = convert::id(&mut v, "organization_id", &req.organization_id);
        let org_id = v.build(|| org_id).map_err(invalid)?;
        let input = CreateRoleInput {
            key: non_empty(req.key),
            name: non_empty(req.name),
            description: req.description,
            // proto3 cannot tell an unset list from an empty one: a role granting nothing.
            permissions: Some(req.permissions),
        };
        let created = self.roster.create_role(&principal, org_id, input).await.map_err(to_status)?;
        Ok(Response::new(role(created)))
    }

    #[tracing::instrument(name = "roster.v1.RoleService/UpdateRole", skip_all)]
    async fn update_role(&self, request: Request<pb::UpdateRoleRequest>) -> Result<Response<pb::Role>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.into_inner();
        let mut v = Validator::default();
        let org_id = convert::id(&mut v, "organization_id", &req.organization_id);
        let role_id = convert::id(&mut v, "role_id", &req.role_id);
        let input = update_role_input(&mut v, req.role, req.update_mask);
        let (org_id, role_id) = v.build(|| Some((org_id?, role_id?))).map_err(invalid)?;
        let updated = self
            .roster
            .update_role(&principal, org_id, role_id, input, req.expected_version)
            .await
            .map_err(|e| to_status(rename_fields(e, |field| format!("role.{field}"))))?;
        Ok(Response::new(role(updated)))
    }

    #[tracing::instrument(name = "roster.v1.RoleService/DeleteRole", skip_all)]
    async fn delete_role(&self, request: Request<pb::DeleteRoleRequest>) -> Result<Response<()>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.into_inner();
        let (org_id, role_id) = role_path(&req.organization_id, &req.role_id)?;
        self.roster
            .delete_role(&principal, org_id, role_id, req.reassign_to.as_deref(), req.expected_version)
            .await
            .map_err(to_status)?;
        Ok(Response::new(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(paths: &[&str]) -> Option<FieldMask> {
        Some(FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() })
    }

    fn fields(v: Validator) -> Vec<String> {
        v.finish().err().map(|e| e.fields().iter().map(|f| f.field.clone()).collect()).unwrap_or_default()
    }

    #[test]
    fn a_role_patch_applies_the_masked_fields() {
        let patch = pb::RolePatch {
            name: Some("Billing".into()),
            key: Some("ignored".into()),
            permissions: vec!["invoices.read".into()],
            ..Default::default()
        };
        let mut v = Validator::default();
        let input = update_role_input(&mut v, Some(patch), mask(&["name", "permissions", "description"]));
        assert!(v.is_ok());
        assert_eq!(
            input,
            UpdateRoleInput {
                name: Some("Billing".into()),
                description: Some(String::new()),
                permissions: Some(vec!["invoices.read".into()]),
                ..Default::default()
            }
        );
    }

    #[test]
    fn without_a_mask_only_set_fields_apply_and_keys_cannot_be_cleared() {
        let mut v = Validator::default();
        let patch = pb::RolePatch { description: Some("x".into()), ..Default::default() };
        let input = update_role_input(&mut v, Some(patch), None);
        assert_eq!(input, UpdateRoleInput { description: Some("x".into()), ..Default::default() });
        assert!(v.is_ok());
        let mut v = Validator::default();
        update_role_input(&mut v, None, mask(&["key", "colour"]));
        assert_eq!(fields(v), ["update_mask", "role.key"]);
    }
}
