//! `roster.v1.PermissionGrantService`: parse → one use case → map.

use std::sync::Arc;

use prost_types::FieldMask;
use roster_domain::grant::Grant;
use roster_domain::ids::{GrantId, OrgId, UserId};
use roster_domain::service::{GrantInput, Roster};
use roster_domain::validation::Validator;
use tonic::{Request, Response, Status};

use crate::auth::principal;
use crate::convert::{self, keep, masked, timestamp};
use crate::pb;
use crate::pb::permission_grant_service_server::PermissionGrantService;
use crate::status::{invalid, rename_fields, to_status};

/// The permission grant service over Roster's use cases.
#[derive(Debug)]
pub(crate) struct Grants {
    roster: Arc<Roster>,
}

impl Grants {
    pub(crate) fn new(roster: Arc<Roster>) -> Self {
        Self { roster }
    }
}

/// A grant as `roster.v1.PermissionGrant`.
fn grant(grant: Grant) -> pb::PermissionGrant {
    pb::PermissionGrant {
        id: grant.id.to_string(),
        organization_id: grant.org_id.to_string(),
        user_id: grant.user_id.to_string(),
        permission: grant.permission.as_str().to_owned(),
        expires_at: grant.expires_at.map(timestamp),
        created_by: grant.created_by,
        created_at: Some(timestamp(grant.created_at)),
        updated_at: Some(timestamp(grant.updated_at)),
        version: grant.version,
    }
}

/// The ids of a user's path, or INVALID_ARGUMENT naming each bad one.
fn user_path(v: &mut Validator, org: &str, user: &str) -> Option<(OrgId, UserId)> {
    let org_id = convert::id(v, "organization_id", org);
    let user_id = convert::id(v, "user_id", user);
    Some((org_id?, user_id?))
}

/// The ids of a grant's path, or INVALID_ARGUMENT naming each bad one.
fn grant_path(org: &str, user: &str, grant: &str) -> Result<(OrgId, UserId, GrantId), Status> {
    let mut v = Validator::default();
    let user_path = user_path(&mut v, org, user);
    let grant_id = convert::id(&mut v, "grant_id", grant);
    v.build(|| {
        let (org_id, user_id) = user_path?;
        Some((org_id, user_id, grant_id?))
    })
    .map_err(invalid)
}

/// `UpdatePermissionGrant`'s patch and mask as the domain's raw input (AIP-134); mask
/// problems are recorded in `v` under `update_mask` or `grant.<field>`.
fn update_grant_input(
    v: &mut Validator,
    patch: Option<pb::PermissionGrantPatch>,
    mask: Option<FieldMask>,
) -> GrantInput {
    let p = patch.unwrap_or_default();
    let selected = masked(v, mask, &[("permission", p.permission.is_some()), ("expires_at", p.expires_at.is_some())]);
    let on = |field: &str| selected.contains(&field);
    let mut input = GrantInput::default();
    if on("permission") {
        input.permission = keep(v, "grant", "permission", p.permission);
    }
    if on("expires_at") {
        input.expires_at = match p.expires_at {
            None => Some(None),
            Some(at) => convert::time(v, "grant.expires_at", at).map(Some),
        };
    }
    input
}

#[tonic::async_trait]
impl PermissionGrantService for Grants {
    #[tracing::instrument(name = "roster.v1.PermissionGrantService/ListPermissionGrants", skip_all)]
    async fn list_permission_grants(
        &self,
        request: Request<pb::ListPermissionGrantsRequest>,
    ) -> Result<Response<pb::ListPermissionGrantsResponse>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.get_ref();
        let mut v = Validator::default();
        let path = user_path(&mut v, &req.organization_id, &req.user_id);
        let (org_id, user_id) = v.build(|| path).map_err(invalid)?;
        let grants = self.roster.list_grants(&principal, org_id, user_id).await.map_err(to_status)?;
        Ok(Response::new(pb::ListPermissionGrantsResponse { grants: grants.into_iter().map(grant).collect() }))
    }

    #[tracing::instrument(name = "roster.v1.PermissionGrantService/GetPermissionGrant", skip_all)]
    async fn get_permission_grant(
        &self,
        request: Request<pb::GetPermissionGrantRequest>,
    ) -> Result<Response<pb::PermissionGrant>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.get_ref();
        let (org_id, user_id, grant_id) = grant_path(&req.organization_id, &req.user_id, &req.grant_id)?;
        let found = self.roster.get_grant(&principal, org_id, user_id, grant_id).await.map_err(to_status)?;
        Ok(Response::new(grant(found)))
    }

    #[tracing::instrument(name = "roster.v1.PermissionGrantService/CreatePermissionGrant", skip_all)]
    async fn create_permission_grant(
        &self,
        request: Request<pb::CreatePermissionGrantRequest>,
    ) -> Result<Response<pb::PermissionGrant>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.into_inner();
        let mut v = Validator::default();
        let path = user_path(&mut v, &req.organization_id, &req.user_id);
        let expires_at = match req.expires_at {
            None => Some(None),
            Some(at) => convert::time(&mut v, "expires_at", at).map(Some),
        };
        let (org_id, user_id) = v.build(|| path).map_err(invalid)?;
        let input = GrantInput { permission: convert::non_empty(req.permission), expires_at };
        let created = self.roster.create_grant(&principal, org_id, user_id, input).await.map_err(to_status)?;
        Ok(Response::new(grant(created)))
    }

    #[tracing::instrument(name = "roster.v1.PermissionGrantService/UpdatePermissionGrant", skip_all)]
    async fn update_permission_grant(
        &self,
        request: Request<pb::UpdatePermissionGrantRequest>,
    ) -> Result<Response<pb::PermissionGrant>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.into_inner();
        let mut v = Validator::default();
        let path = user_path(&mut v, &req.organization_id, &req.user_id);
        let grant_id = convert::id(&mut v, "grant_id", &req.grant_id);
        let input = update_grant_input(&mut v, req.grant, req.update_mask);
        let (org_id, user_id, grant_id) = v
            .build(|| {
                let (org_id, user_id) = path?;
                Some((org_id, user_id, grant_id?))
            })
            .map_err(invalid)?;
        let updated = self
            .roster
            .update_grant(&principal, org_id, user_id, grant_id, input, req.expected_version)
            .await
            .map_err(|e| to_status(rename_fields(e, |field| format!("grant.{field}"))))?;
        Ok(Response::new(grant(updated)))
    }

    #[tracing::instrument(name = "roster.v1.PermissionGrantService/DeletePermissionGrant", skip_all)]
    async fn delete_permission_grant(
        &self,
        request: Request<pb::DeletePermissionGrantRequest>,
    ) -> Result<Response<()>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.get_ref();
        let (org_id, user_id, grant_id) = grant_path(&req.organization_id, &req.user_id, &req.grant_id)?;
        self.roster
            .delete_grant(&principal, org_id, user_id, grant_id, req.expected_version)
            .await
            .map_err(to_status)?;
        Ok(Response::new(()))
    }
}

#[cfg(test)]
mod tests {
    use prost_types::Timestamp;

    use super::*;

    fn mask(paths: &[&str]) -> Option<FieldMask> {
        Some(FieldMask { paths: paths.iter().map(|p| (*p).to_owned()).collect() })
    }

    #[test]
    fn a_masked_unset_expiry_clears_it_and_a_permission_cannot_be_cleared() {
        let mut v = Validator::default();
        let input = update_grant_input(&mut v, None, mask(&["expires_at"]));
        assert!(v.is_ok());
        assert_eq!(input, GrantInput { permission: None, expires_at: Some(None) });

        let mut v = Validator::default();
        update_grant_input(&mut v, None, mask(&["permission"]));
        let fields: Vec<String> = v.finish().unwrap_err().fields().iter().map(|f| f.field.clone()).collect();
        assert_eq!(fields, ["grant.permission"]);
    }

    #[test]
    fn without_a_mask_the_set_fields_apply() {
        let mut v = Validator::default();
        let patch = pb::PermissionGrantPatch {
            permission: Some("projects.create".into()),
            expires_at: Some(Timestamp { seconds: 1_900_000_000, nanos: 0 }),
        };
        let input = update_grant_input(&mut v, Some(patch), None);
        assert!(v.is_ok());
        assert_eq!(input.permission.as_deref(), Some("projects.create"));
        assert_eq!(input.expires_at, Some(chrono::DateTime::from_timestamp(1_900_000_000, 0)));
    }
}
