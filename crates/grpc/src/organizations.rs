//! `roster.v1.OrganizationService`: parse → one use case → map.

use std::sync::Arc;

use roster_domain::ids::OrgId;
use roster_domain::service::Roster;
use roster_domain::validation::Validator;
use tonic::{Request, Response, Status};

use crate::auth::principal;
use crate::convert;
use crate::pb;
use crate::pb::organization_service_server::OrganizationService;
use crate::status::{invalid, rename_fields, to_status};

/// The organization service over Roster's use cases.
#[derive(Debug)]
pub(crate) struct Organizations {
    roster: Arc<Roster>,
}

impl Organizations {
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

#[tonic::async_trait]
impl OrganizationService for Organizations {
    #[tracing::instrument(name = "roster.v1.OrganizationService/CreateOrganization", skip_all)]
    async fn create_organization(
        &self,
        request: Request<pb::CreateOrganizationRequest>,
    ) -> Result<Response<pb::Organization>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let input = convert::create_organization_input(request.into_inner());
        let org = self.roster.create_organization(&principal, input).await.map_err(to_status)?;
        Ok(Response::new(convert::organization(org)))
    }

    #[tracing::instrument(name = "roster.v1.OrganizationService/GetOrganization", skip_all)]
    async fn get_organization(
        &self,
        request: Request<pb::GetOrganizationRequest>,
    ) -> Result<Response<pb::Organization>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let id = organization_id(&request.get_ref().organization_id)?;
        let org = self.roster.get_organization(&principal, id).await.map_err(to_status)?;
        Ok(Response::new(convert::organization(org)))
    }

    #[tracing::instrument(name = "roster.v1.OrganizationService/ListOrganizations", skip_all)]
    async fn list_organizations(
        &self,
        request: Request<pb::ListOrganizationsRequest>,
    ) -> Result<Response<pb::ListOrganizationsResponse>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.into_inner();
        let mut v = Validator::default();
        let size = convert::page_size(&mut v, req.page_size);
        let size = v.build(|| size).map_err(invalid)?;
        let token = convert::page_token(req.page_token);
        let page = self
            .roster
            .list_organizations(&principal, size, token.as_deref())
            .await
            .map_err(|e| to_status(rename_fields(e, convert::list_field)))?;
        Ok(Response::new(pb::ListOrganizationsResponse {
            organizations: page.items.into_iter().map(convert::organization).collect(),
            next_page_token: page.next_cursor.map(|c| c.as_str().to_owned()).unwrap_or_default(),
        }))
    }

    #[tracing::instrument(name = "roster.v1.OrganizationService/UpdateOrganization", skip_all)]
    async fn update_organization(
        &self,
        request: Request<pb::UpdateOrganizationRequest>,
    ) -> Result<Response<pb::Organization>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.into_inner();
        let mut v = Validator::default();
        let id = convert::id(&mut v, "organization_id", &req.organization_id);
        let input = convert::update_organization_input(&mut v, req.organization, req.update_mask);
        let id = v.build(|| id).map_err(invalid)?;
        let org = self
            .roster
            .update_organization(&principal, id, input, req.expected_version)
            .await
            .map_err(|e| to_status(rename_fields(e, |field| format!("organization.{field}"))))?;
        Ok(Response::new(convert::organization(org)))
    }

    #[tracing::instrument(name = "roster.v1.OrganizationService/DeleteOrganization", skip_all)]
    async fn delete_organization(
        &self,
        request: Request<pb::DeleteOrganizationRequest>,
    ) -> Result<Response<()>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.into_inner();
        let id = organization_id(&req.organization_id)?;
        self.roster.delete_organization(&principal, id, req.expected_version).await.map_err(to_status)?;
        Ok(Response::new(()))
    }
}
