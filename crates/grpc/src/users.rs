//! `roster.v1.UserService`: parse → one use case → map.

use std::collections::HashSet;
use std::sync::Arc;

use roster_domain::ids::{OrgId, UserId};
use roster_domain::service::Roster;
use roster_domain::validation::Validator;
use tonic::{Request, Response, Status};

use crate::auth::principal;
use crate::convert;
use crate::pb;
use crate::pb::user_service_server::UserService;
use crate::status::{invalid, rename_fields, to_status};

/// The user service over Roster's use cases.
#[derive(Debug)]
pub(crate) struct Users {
    roster: Arc<Roster>,
}

impl Users {
    pub(crate) fn new(roster: Arc<Roster>) -> Self {
        Self { roster }
    }
}

/// The ids in `organization_id` and `user_id`, or INVALID_ARGUMENT naming each bad one.
fn user_path(org: &str, user: &str) -> Result<(OrgId, UserId), Status> {
    let mut v = Validator::default();
    let org_id = convert::id(&mut v, "organization_id", org);
    let user_id = convert::id(&mut v, "user_id", user);
    v.build(|| Some((org_id?, user_id?))).map_err(invalid)
}

#[tonic::async_trait]
impl UserService for Users {
    #[tracing::instrument(name = "roster.v1.UserService/CreateUser", skip_all)]
    async fn create_user(
        &self,
        request: Request<pb::CreateUserRequest>,
    ) -> Result<Response<pb::CreateUserResponse>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let mut req = request.into_inner();
        let mut v = Validator::default();
        let org_id = convert::id(&mut v, "organization_id", &std::mem::take(&mut req.organization_id));
        let org_id = v.build(|| org_id).map_err(invalid)?;
        let created =
            self.roster.create_user(&principal, org_id, convert::create_user_input(req)).await.map_err(to_status)?;
        Ok(Response::new(pb::CreateUserResponse {
            user: Some(convert::user_view(created.view)),
            generated_password: created.generated_password.map(|p| p.expose().to_owned()),
        }))
    }

    #[tracing::instrument(name = "roster.v1.UserService/GetUser", skip_all)]
    async fn get_user(&self, request: Request<pb::GetUserRequest>) -> Result<Response<pb::User>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.get_ref();
        let (org_id, user_id) = user_path(&req.organization_id, &req.user_id)?;
        let view = self.roster.get_user(&principal, org_id, user_id).await.map_err(to_status)?;
        Ok(Response::new(convert::user_view(view)))
    }

    #[tracing::instrument(name = "roster.v1.UserService/ListUsers", skip_all)]
    async fn list_users(
        &self,
        request: Request<pb::ListUsersRequest>,
    ) -> Result<Response<pb::ListUsersResponse>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.into_inner();
        let mut v = Validator::default();
        let org_id = convert::id(&mut v, "organization_id", &req.organization_id);
        let size = convert::page_size(&mut v, req.page_size);
        let (org_id, size) = v.build(|| Some((org_id?, size?))).map_err(invalid)?;
        let page = self
            .roster
            .list_users(&principal, org_id, convert::list_users_input(size, req))
            .await
            .map_err(|e| to_status(rename_fields(e, convert::list_field)))?;
        // Users carry their organization's summary; a page needs it once.
        let organization = self.roster.get_organization(&principal, org_id).await.map_err(to_status)?;
        let summary = convert::organization_summary(&organization.summary());
        Ok(Response::new(pb::ListUsersResponse {
            users: page.items.into_iter().map(|u| convert::user(u, summary.clone())).collect(),
            next_page_token: page.next_cursor.map(|c| c.as_str().to_owned()).unwrap_or_default(),
        }))
    }

    #[tracing::instrument(name = "roster.v1.UserService/UpdateUser", skip_all)]
    async fn update_user(&self, request: Request<pb::UpdateUserRequest>) -> Result<Response<pb::User>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.into_inner();
        let mut v = Validator::default();
        let org_id = convert::id(&mut v, "organization_id", &req.organization_id);
        let user_id = convert::id(&mut v, "user_id", &req.user_id);
        let input = convert::update_user_input(&mut v, req.user, req.update_mask);
        let (org_id, user_id) = v.build(|| Some((org_id?, user_id?))).map_err(invalid)?;
        let view = self
            .roster
            .update_user(&principal, org_id, user_id, input, req.expected_version)
            .await
            .map_err(|e| to_status(rename_fields(e, |field| format!("user.{field}"))))?;
        Ok(Response::new(convert::user_view(view)))
    }

    #[tracing::instrument(name = "roster.v1.UserService/DeleteUser", skip_all)]
    async fn delete_user(&self, request: Request<pb::DeleteUserRequest>) -> Result<Response<()>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.into_inner();
        let (org_id, user_id) = user_path(&req.organization_id, &req.user_id)?;
        self.roster.delete_user(&principal, org_id, user_id, req.expected_version).await.map_err(to_status)?;
        Ok(Response::new(()))
    }

    #[tracing::instrument(name = "roster.v1.UserService/BatchDeleteUsers", skip_all)]
    async fn batch_delete_users(
        &self,
        request: Request<pb::BatchDeleteUsersRequest>,
    ) -> Result<Response<pb::BatchDeleteUsersResponse>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.into_inner();
        let mut v = Validator::default();
        let org_id = convert::id(&mut v, "organization_id", &req.organization_id);
        // The contract reports a malformed id as invalid (not per item) and each distinct
        // id once, in request order.
        let mut seen = HashSet::new();
        let mut user_ids = Vec::with_capacity(req.user_ids.len());
        for (i, raw) in req.user_ids.into_iter().enumerate() {
            if let Some(id) = convert::id::<UserId>(&mut v, &format!("user_ids[{i}]"), &raw)
                && seen.insert(id)
            {
                user_ids.push(raw);
            }
        }
        let org_id = v.build(|| org_id).map_err(invalid)?;
        let results = self.roster.batch_delete_users(&principal, org_id, &user_ids).await.map_err(to_status)?;
        Ok(Response::new(pb::BatchDeleteUsersResponse {
            results: results
                .into_iter()
                .map(|(user_id, outcome)| pb::BatchDeleteResult {
                    user_id,
                    outcome: convert::batch_outcome(outcome).into(),
                })
                .collect(),
        }))
    }
}
