//! `/v1/organizations/{org_id}/roles`.

use axum::extract::State;
use axum::http::StatusCode;
use roster_domain::ids::{OrgId, RoleId};
use roster_domain::service::UpdateRoleInput;

use super::Versioned;
use crate::RestState;
use crate::dto::List;
use crate::dto::organizations::OrgPath;
use crate::dto::roles::{CreateRoleRequest, DeleteRoleQuery, Role, RolePath, UpdateRoleRequest};
use crate::error::ApiError;
use crate::extract::{Authenticated, IfMatch, Json, Path, Query};
use crate::openapi::{
    BadRequest, Conflict, Forbidden, InternalError, NotFound, PayloadTooLarge, PreconditionFailed, Unauthorized,
    UnprocessableEntity, UnsupportedMediaType,
};

/// List the organization's roles, built-ins first, in one page (`next_cursor` is always
/// `null`). Needs `roles.read`.
#[utoipa::path(
    get,
    path = "/v1/organizations/{org_id}/roles",
    tag = "roles",
    security(("bearer" = [])),
    params(OrgPath),
    responses(
        (status = 200, description = "Every role of the organization", body = List<Role>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn list_roles(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<OrgPath>,
) -> Result<Json<List<Role>>, ApiError> {
    let roles = state.roster.list_roles(&principal, OrgId::from_uuid(path.org_id)).await?;
    Ok(Json(List { data: roles.into_iter().map(Role::from).collect(), next_cursor: None }))
}

/// Create a custom role. Needs `roles.write` and every permission it carries.
#[utoipa::path(
    post,
    path = "/v1/organizations/{org_id}/roles",
    tag = "roles",
    security(("bearer" = [])),
    params(OrgPath),
    request_body = CreateRoleRequest,
    responses(
        (status = 201, description = "Created", body = crate::dto::Data<Role>,
            headers(("ETag" = String, description = "The version"), ("Location" = String, description = "The new resource"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn create_role(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<OrgPath>,
    Json(body): Json<CreateRoleRequest>,
) -> Result<Versioned<Role>, ApiError> {
    let role = state.roster.create_role(&principal, OrgId::from_uuid(path.org_id), body.into()).await?;
    let location = format!("/v1/organizations/{}/roles/{}", path.org_id, role.id);
    Ok(Versioned::created(location, role.version, role.into()))
}

/// Get one role. Needs `roles.read`.
#[utoipa::path(
    get,
    path = "/v1/organizations/{org_id}/roles/{role_id}",
    tag = "roles",
    security(("bearer" = [])),
    params(RolePath),
    responses(
        (status = 200, description = "The role", body = crate::dto::Data<Role>,
            headers(("ETag" = String, description = "The version"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn get_role(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<RolePath>,
) -> Result<Versioned<Role>, ApiError> {
    let role =
        state.roster.get_role(&principal, OrgId::from_uuid(path.org_id), RoleId::from_uuid(path.role_id)).await?;
    Ok(Versioned::ok(role.version, role.into()))
}

/// Change a custom role (built-ins answer 409 `immutable_role`). Needs `roles.write` and
/// every permission it will carry. With `If-Match`, a stale version changes nothing
/// (412).
#[utoipa::path(
    patch,
    path = "/v1/organizations/{org_id}/roles/{role_id}",
    tag = "roles",
    security(("bearer" = [])),
    params(RolePath, IfMatch),
    request_body = UpdateRoleRequest,
    responses(
        (status = 200, description = "The changed role", body = crate::dto::Data<Role>,
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
pub(crate) async fn update_role(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<RolePath>,
    IfMatch(expected): IfMatch,
    Json(body): Json<UpdateRoleRequest>,
) -> Result<Versioned<Role>, ApiError> {
    let input = UpdateRoleInput::try_from(body)?;
    let (org, id) = (OrgId::from_uuid(path.org_id), RoleId::from_uuid(path.role_id));
    let role = state.roster.update_role(&principal, org, id, input, expected).await?;
    Ok(Versioned::ok(role.version, role.into()))
}

/// Delete a custom role. When users hold it, `reassign_to` names the role they get
/// instead; without it the answer is 409 `role_in_use`. Built-ins answer 409
/// `immutable_role`; the default role 422. Needs `roles.write`.
#[utoipa::path(
    delete,
    path = "/v1/organizations/{org_id}/roles/{role_id}",
    tag = "roles",
    security(("bearer" = [])),
    params(RolePath, DeleteRoleQuery, IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn delete_role(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<RolePath>,
    Query(query): Query<DeleteRoleQuery>,
    IfMatch(expected): IfMatch,
) -> Result<StatusCode, ApiError> {
    let (org, id) = (OrgId::from_uuid(path.org_id), RoleId::from_uuid(path.role_id));
    state.roster.delete_role(&principal, org, id, query.reassign_to.as_deref(), expected).await?;
    Ok(StatusCode::NO_CONTENT)
}
