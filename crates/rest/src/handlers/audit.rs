//! `/v1/organizations/{org_id}/audit-events`.

use axum::extract::State;
use roster_domain::ids::OrgId;
use roster_domain::service::ListAuditInput;

use crate::RestState;
use crate::dto::List;
use crate::dto::audit::{AuditEvent, ListAuditQuery};
use crate::dto::organizations::OrgPath;
use crate::error::ApiError;
use crate::extract::{Authenticated, Json, Path, Query};
use crate::openapi::{BadRequest, Forbidden, InternalError, NotFound, Unauthorized, UnprocessableEntity};

/// List the organization's audit events, newest first, filtered. Needs `audit.read`.
#[utoipa::path(
    get,
    path = "/v1/organizations/{org_id}/audit-events",
    tag = "audit",
    security(("bearer" = [])),
    params(OrgPath, ListAuditQuery),
    responses(
        (status = 200, description = "A page of events", body = List<AuditEvent>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn list_audit_events(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<OrgPath>,
    Query(query): Query<ListAuditQuery>,
) -> Result<Json<List<AuditEvent>>, ApiError> {
    let input = ListAuditInput::try_from(query)?;
    let page = state.roster.list_audit_events(&principal, OrgId::from_uuid(path.org_id), input).await?;
    Ok(Json(page.into()))
}
