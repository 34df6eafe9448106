//! `/v1/organizations`.

use axum::extract::State;
use axum::http::StatusCode;
use roster_domain::ids::OrgId;
use roster_domain::organization_input::UpdateOrganizationInput;

use super::Versioned;
use crate::RestState;
use crate::dto::organizations::{CreateOrganizationRequest, OrgPath, Organization, UpdateOrganizationRequest};
use crate::dto::{List, PageQuery};
use crate::error::ApiError;
use crate::extract::{Authenticated, IfMatch, Json, Path, Query};
use crate::openapi::{
    BadRequest, Conflict, Forbidden, InternalError, NotFound, PayloadTooLarge, PreconditionFailed, Unauthorized,
    UnprocessableEntity, UnsupportedMediaType,
};

/// Create an organization: platform keys create any; a partner's callers with
/// `organizations.create` create children of their partner (not partners).
#[utoipa::path(
    post,
    path = "/v1/organizations",
    tag = "organizations",
    security(("bearer" = [])),
    request_body = CreateOrganizationRequest,
    responses(
        (status = 201, description = "Created", body = crate::dto::Data<Organization>,
            headers(("ETag" = String, description = "The version"), ("Location" = String, description = "The new resource"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn create_organization(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Json(body): Json<CreateOrganizationRequest>,
) -> Result<Versioned<Organization>, ApiError> {
    let org = state.roster.create_organization(&principal, body.into()).await?;
    Ok(Versioned::created(format!("/v1/organizations/{}", org.id), org.version, org.into()))
}

/// List the organizations the caller can reach, oldest first.
#[utoipa::path(
    get,
    path = "/v1/organizations",
    tag = "organizations",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, description = "A page of organizations", body = List<Organization>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn list_organizations(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Query(query): Query<PageQuery>,
) -> Result<Json<List<Organization>>, ApiError> {
    let (limit, cursor) = query.into_parts()?;
    let page = state.roster.list_organizations(&principal, limit, cursor.as_deref()).await?;
    Ok(Json(page.into()))
}

/// Get one organization.
#[utoipa::path(
    get,
    path = "/v1/organizations/{org_id}",
    tag = "organizations",
    security(("bearer" = [])),
    params(OrgPath),
    responses(
        (status = 200, description = "The organization", body = crate::dto::Data<Organization>,
            headers(("ETag" = String, description = "The version"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn get_organization(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<OrgPath>,
) -> Result<Versioned<Organization>, ApiError> {
    let org = state.roster.get_organization(&principal, OrgId::from_uuid(path.org_id)).await?;
    Ok(Versioned::ok(org.version, org.into()))
}

/// Change an organization. With `If-Match`, a stale version changes nothing (412).
#[utoipa::path(
    patch,
    path = "/v1/organizations/{org_id}",
    tag = "organizations",
    security(("bearer" = [])),
    params(OrgPath, IfMatch),
    request_body = UpdateOrganizationRequest,
    responses(
        (status = 200, description = "The changed organization", body = crate::dto::Data<Organization>,
            headers(("ETag" = String, description = "The new version"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn update_organization(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<OrgPath>,
    IfMatch(expected): IfMatch,
    Json(body): Json<UpdateOrganizationRequest>,
) -> Result<Versioned<Organization>, ApiError> {
    let input = UpdateOrganizationInput::try_from(body)?;
    let org = state.roster.update_organization(&principal, OrgId::from_uuid(path.org_id), input, expected).await?;
    Ok(Versioned::ok(org.version, org.into()))
}

/// Delete an organization: it disappears and its credentials stop working. Platform keys
/// may, and the managing partner's callers with `organizations.delete`; an
/// organization's own credentials may not (403).
#[utoipa::path(
    delete,
    path = "/v1/organizations/{org_id}",
    tag = "organizations",
    security(("bearer" = [])),
    params(OrgPath, IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 412, response = PreconditionFailed),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn delete_organization(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<OrgPath>,
    IfMatch(expected): IfMatch,
) -> Result<StatusCode, ApiError> {
    state.roster.delete_organization(&principal, OrgId::from_uuid(path.org_id), expected).await?;
    Ok(StatusCode::NO_CONTENT)
}
