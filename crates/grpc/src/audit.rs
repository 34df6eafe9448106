//! `roster.v1.AuditService`: parse → one use case → map.

use std::sync::Arc;

use roster_domain::audit::AuditEvent;
use roster_domain::ids::OrgId;
use roster_domain::service::{ListAuditInput, Roster};
use roster_domain::validation::Validator;
use tonic::{Request, Response, Status};

use crate::auth::principal;
use crate::convert::{self, timestamp};
use crate::pb;
use crate::pb::audit_service_server::AuditService;
use crate::status::{invalid, rename_fields, to_status};

/// The audit service over Roster's use cases.
#[derive(Debug)]
pub(crate) struct Audit {
    roster: Arc<Roster>,
}

impl Audit {
    pub(crate) fn new(roster: Arc<Roster>) -> Self {
        Self { roster }
    }
}

/// An event as `roster.v1.AuditEvent`.
fn audit_event(event: AuditEvent) -> pb::AuditEvent {
    pb::AuditEvent {
        id: event.id.to_string(),
        organization_id: event.org_id.to_string(),
        actor: event.actor,
        action: event.action,
        target_type: event.target_type,
        target_id: event.target_id,
        request_id: event.request_id,
        occurred_at: Some(timestamp(event.occurred_at)),
        details: event.details,
    }
}

#[tonic::async_trait]
impl AuditService for Audit {
    #[tracing::instrument(name = "roster.v1.AuditService/ListAuditEvents", skip_all)]
    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Result<Response<pb::ListAuditEventsResponse>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.into_inner();
        let mut v = Validator::default();
        let org_id = convert::id::<OrgId>(&mut v, "organization_id", &req.organization_id);
        let size = convert::page_size(&mut v, req.page_size);
        let since = req.since.map(|at| convert::time(&mut v, "since", at));
        let until = req.until.map(|at| convert::time(&mut v, "until", at));
        let (org_id, limit) = v.build(|| Some((org_id?, size?))).map_err(invalid)?;
        let input = ListAuditInput {
            actor: req.actor,
            action: req.action,
            target_id: req.target_id,
            since: since.flatten(),
            until: until.flatten(),
            limit,
            cursor: convert::page_token(req.page_token),
        };
        let page = self
            .roster
            .list_audit_events(&principal, org_id, input)
            .await
            .map_err(|e| to_status(rename_fields(e, convert::list_field)))?;
        Ok(Response::new(pb::ListAuditEventsResponse {
            audit_events: page.items.into_iter().map(audit_event).collect(),
            next_page_token: page.next_cursor.map(|c| c.as_str().to_owned()).unwrap_or_default(),
        }))
    }
}
