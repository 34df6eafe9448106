//! `roster.v1.AuthorizationService`: "may user U do P?", one question or a batch, and
//! "what may user U do?".
//!
//! `CheckPermission` and `BatchCheckPermissions` are internal services' hot path: each is
//! one authentication (normally a cache hit) and one [`Roster::check_permissions`] call,
//! which is one storage round trip. The request's strings are moved into the use case's
//! input and back out into the response, never copied.

use std::sync::Arc;

use roster_domain::Error;
use roster_domain::error::Resource;
use roster_domain::ids::OrgId;
use roster_domain::service::{CheckOutcome, Roster};
use roster_domain::validation::Validator;
use tonic::{Request, Response, Status};

use crate::auth::principal;
use crate::convert;
use crate::pb;
use crate::pb::authorization_service_server::AuthorizationService;
use crate::status::{invalid, rename_fields, to_status};

/// The authorization service over Roster's use cases.
#[derive(Debug)]
pub(crate) struct Authorization {
    roster: Arc<Roster>,
}

impl Authorization {
    pub(crate) fn new(roster: Arc<Roster>) -> Self {
        Self { roster }
    }
}

/// The id in `organization_id`, or INVALID_ARGUMENT naming it.
fn organization_id(raw: &str) -> Result<OrgId, Status> {
    let mut v = Validator::default();
    let id = convert::id(&mut v, "organization_id", raw);
    v.build(|| id).map_err(invalid)
}

/// `CheckPermission` asks the batch use case one question; its field names lose the
/// batch's `checks[0].` prefix.
fn single_check_field(field: &str) -> String {
    field.strip_prefix("checks[0].").unwrap_or(field).to_owned()
}

#[tonic::async_trait]
impl AuthorizationService for Authorization {
    #[tracing::instrument(name = "roster.v1.AuthorizationService/CheckPermission", skip_all)]
    async fn check_permission(
        &self,
        request: Request<pb::CheckPermissionRequest>,
    ) -> Result<Response<pb::CheckPermissionResponse>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.into_inner();
        let org_id = organization_id(&req.organization_id)?;
        let checks = [(req.user_id, req.permission)];
        let outcomes = self
            .roster
            .check_permissions(&principal, org_id, &checks)
            .await
            .map_err(|e| to_status(rename_fields(e, single_check_field)))?;
        let allowed = match outcomes.first() {
            Some(CheckOutcome::Allowed) => true,
            Some(CheckOutcome::Denied) => false,
            Some(CheckOutcome::UserNotFound) | None => return Err(to_status(Error::NotFound(Resource::User))),
        };
        Ok(Response::new(pb::CheckPermissionResponse { allowed }))
    }

    #[tracing::instrument(name = "roster.v1.AuthorizationService/BatchCheckPermissions", skip_all)]
    async fn batch_check_permissions(
        &self,
        request: Request<pb::BatchCheckPermissionsRequest>,
    ) -> Result<Response<pb::BatchCheckPermissionsResponse>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.into_inner();
        let org_id = organization_id(&req.organization_id)?;
        let checks: Vec<(String, String)> = req.checks.into_iter().map(|c| (c.user_id, c.permission)).collect();
        let outcomes = self.roster.check_permissions(&principal, org_id, &checks).await.map_err(to_status)?;
        let results = checks
            .into_iter()
            .zip(outcomes)
            .map(|((user_id, permission), outcome)| pb::PermissionCheckResult {
                user_id,
                permission,
                allowed: outcome == CheckOutcome::Allowed,
                user_found: outcome != CheckOutcome::UserNotFound,
            })
            .collect();
        Ok(Response::new(pb::BatchCheckPermissionsResponse { results }))
    }

    #[tracing::instrument(name = "roster.v1.AuthorizationService/GetEffectivePermissions", skip_all)]
    async fn get_effective_permissions(
        &self,
        request: Request<pb::GetEffectivePermissionsRequest>,
    ) -> Result<Response<pb::GetEffectivePermissionsResponse>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.get_ref();
        let mut v = Validator::default();
        let org_id = convert::id(&mut v, "organization_id", &req.organization_id);
        let user_id = convert::id(&mut v, "user_id", &req.user_id);
        let (org_id, user_id) = v.build(|| Some((org_id?, user_id?))).map_err(invalid)?;
        let permissions = self.roster.user_permissions(&principal, org_id, user_id).await.map_err(to_status)?;
        Ok(Response::new(pb::GetEffectivePermissionsResponse { permissions: permissions.names() }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_check_names_its_own_fields() {
        assert_eq!(single_check_field("checks[0].user_id"), "user_id");
        assert_eq!(single_check_field("checks[0].permission"), "permission");
        assert_eq!(single_check_field("checks"), "checks");
    }
}
