//! `/v1/organizations/{org_id}/users/{user_id}/permissions`: direct permission grants.

use axum::extract::State;
use axum::http::StatusCode;
use roster_domain::ids::{GrantId, OrgId, UserId};
use roster_domain::service::GrantInput;

use super::Versioned;
use crate::RestState;
use crate::dto::grants::{CreateGrantRequest, Grant, GrantPath, UpdateGrantRequest};
use crate::dto::users::UserPath;
use crate::dto::{Data, List};
use crate::error::ApiError;
use crate::extract::{Authenticated, IfMatch, Json, Path};
use crate::openapi::{
    BadRequest, Conflict, Forbidden, InternalError, NotFound, PayloadTooLarge, PreconditionFailed, Unauthorized,
    UnprocessableEntity, UnsupportedMediaType,
};

fn ids(path: &GrantPath) -> (OrgId, UserId, GrantId) {
    (OrgId::from_uuid(path.org_id), UserId::from_uuid(path.user_id), GrantId::from_uuid(path.grant_id))
}

/// List a user's direct grants, expired ones included, in one page (`next_cursor` is
/// always `null`). Needs `permissions.read`.
#[utoipa::path(
    get,
    path = "/v1/organizations/{org_id}/users/{user_id}/permissions",
    tag = "permissions",
    security(("bearer" = [])),
    params(UserPath),
    responses(
        (status = 200, description = "The user's grants", body = List<Grant>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn list_grants(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<UserPath>,
) -> Result<Json<List<Grant>>, ApiError> {
    let (org, user) = (OrgId::from_uuid(path.org_id), UserId::from_uuid(path.user_id));
    let grants = state.roster.list_grants(&principal, org, user).await?;
    Ok(Json(List { data: grants.into_iter().map(Grant::from).collect(), next_cursor: None }))
}

/// Grant a permission to a user. Needs `permissions.write` and the permission itself; a
/// user holds each permission once (else 409 `grant_exists`).
#[utoipa::path(
    post,
    path = "/v1/organizations/{org_id}/users/{user_id}/permissions",
    tag = "permissions",
    security(("bearer" = [])),
    params(UserPath),
    request_body = CreateGrantRequest,
    responses(
        (status = 201, description = "Granted", body = Data<Grant>,
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
pub(crate) async fn create_grant(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<UserPath>,
    Json(body): Json<CreateGrantRequest>,
) -> Result<Versioned<Grant>, ApiError> {
    let (org, user) = (OrgId::from_uuid(path.org_id), UserId::from_uuid(path.user_id));
    let grant = state.roster.create_grant(&principal, org, user, body.into()).await?;
    let location = format!("/v1/organizations/{}/users/{}/permissions/{}", path.org_id, path.user_id, grant.id);
    Ok(Versioned::created(location, grant.version, grant.into()))
}

/// Get one grant. Needs `permissions.read`.
#[utoipa::path(
    get,
    path = "/v1/organizations/{org_id}/users/{user_id}/permissions/{grant_id}",
    tag = "permissions",
    security(("bearer" = [])),
    params(GrantPath),
    responses(
        (status = 200, description = "The grant", body = Data<Grant>,
            headers(("ETag" = String, description = "The version"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn get_grant(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<GrantPath>,
) -> Result<Versioned<Grant>, ApiError> {
    let (org, user, id) = ids(&path);
    let grant = state.roster.get_grant(&principal, org, user, id).await?;
    Ok(Versioned::ok(grant.version, grant.into()))
}

/// Change a grant's permission or expiry (`null` for never). Needs `permissions.write`
/// and the new permission. With `If-Match`, a stale version changes nothing (412).
#[utoipa::path(
    patch,
    path = "/v1/organizations/{org_id}/users/{user_id}/permissions/{grant_id}",
    tag = "permissions",
    security(("bearer" = [])),
    params(GrantPath, IfMatch),
    request_body = UpdateGrantRequest,
    responses(
        (status = 200, description = "The changed grant", body = Data<Grant>,
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
pub(crate) async fn update_grant(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<GrantPath>,
    IfMatch(expected): IfMatch,
    Json(body): Json<UpdateGrantRequest>,
) -> Result<Versioned<Grant>, ApiError> {
    let input = GrantInput::try_from(body)?;
    let (org, user, id) = ids(&path);
    let grant = state.roster.update_grant(&principal, org, user, id, input, expected).await?;
    Ok(Versioned::ok(grant.version, grant.into()))
}

/// Remove a grant. Needs `permissions.write`. With `If-Match`, a stale version changes
/// nothing (412).
#[utoipa::path(
    delete,
    path = "/v1/organizations/{org_id}/users/{user_id}/permissions/{grant_id}",
    tag = "permissions",
    security(("bearer" = [])),
    params(GrantPath, IfMatch),
    responses(
        (status = 204, description = "Removed"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 412, response = PreconditionFailed),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn delete_grant(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<GrantPath>,
    IfMatch(expected): IfMatch,
) -> Result<StatusCode, ApiError> {
    let (org, user, id) = ids(&path);
    state.roster.delete_grant(&principal, org, user, id, expected).await?;
    Ok(StatusCode::NO_CONTENT)
}
