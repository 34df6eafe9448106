//! `roster.v1.SessionService`: parse → one use case → map.

use std::sync::Arc;

use roster_domain::ids::{OrgId, SessionId, UserId};
use roster_domain::service::Roster;
use roster_domain::session::Session;
use roster_domain::validation::Validator;
use tonic::{Request, Response, Status};

use crate::auth::principal;
use crate::convert::{self, timestamp};
use crate::pb;
use crate::pb::session_service_server::SessionService;
use crate::status::{invalid, rename_fields, to_status};

/// The session service over Roster's use cases.
#[derive(Debug)]
pub(crate) struct Sessions {
    roster: Arc<Roster>,
}

impl Sessions {
    pub(crate) fn new(roster: Arc<Roster>) -> Self {
        Self { roster }
    }
}

/// A session, without its token, as `roster.v1.Session`.
fn session(session: Session) -> pb::Session {
    pb::Session {
        id: session.id.to_string(),
        organization_id: session.org_id.to_string(),
        user_id: session.user_id.to_string(),
        client_ip: session.client_ip,
        created_at: Some(timestamp(session.created_at)),
        expires_at: Some(timestamp(session.expires_at)),
        last_used_at: session.last_used_at.map(timestamp),
    }
}

#[tonic::async_trait]
impl SessionService for Sessions {
    #[tracing::instrument(name = "roster.v1.SessionService/ListSessions", skip_all)]
    async fn list_sessions(
        &self,
        request: Request<pb::ListSessionsRequest>,
    ) -> Result<Response<pb::ListSessionsResponse>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.into_inner();
        let mut v = Validator::default();
        let org_id = convert::id::<OrgId>(&mut v, "organization_id", &req.organization_id);
        let user_id = convert::id::<UserId>(&mut v, "user_id", &req.user_id);
        let size = convert::page_size(&mut v, req.page_size);
        let (org_id, user_id, size) = v.build(|| Some((org_id?, user_id?, size?))).map_err(invalid)?;
        let token = convert::page_token(req.page_token);
        let page = self
            .roster
            .list_sessions(&principal, org_id, user_id, size, token.as_deref())
            .await
            .map_err(|e| to_status(rename_fields(e, convert::list_field)))?;
        Ok(Response::new(pb::ListSessionsResponse {
            sessions: page.items.into_iter().map(session).collect(),
            next_page_token: page.next_cursor.map(|c| c.as_str().to_owned()).unwrap_or_default(),
        }))
    }

    #[tracing::instrument(name = "roster.v1.SessionService/RevokeSession", skip_all)]
    async fn revoke_session(&self, request: Request<pb::RevokeSessionRequest>) -> Result<Response<()>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.get_ref();
        let mut v = Validator::default();
        let org_id = convert::id::<OrgId>(&mut v, "organization_id", &req.organization_id);
        let user_id = convert::id::<UserId>(&mut v, "user_id", &req.user_id);
        let session_id = convert::id::<SessionId>(&mut v, "session_id", &req.session_id);
        let (org_id, user_id, session_id) = v.build(|| Some((org_id?, user_id?, session_id?))).map_err(invalid)?;
        self.roster.revoke_session(&principal, org_id, user_id, session_id).await.map_err(to_status)?;
        Ok(Response::new(()))
    }
}
