//! Authorization questions: a user's effective permissions and batched permission checks
//! (the REST twin of gRPC's `AuthorizationService`).

use axum::extract::State;
use roster_domain::ids::{OrgId, UserId};

use crate::RestState;
use crate::dto::Data;
use crate::dto::grants::{EffectivePermissions, PermissionCheckResult, PermissionChecksRequest};
use crate::dto::organizations::OrgPath;
use crate::dto::users::UserPath;
use crate::error::ApiError;
use crate::extract::{Authenticated, Json, Path};
use crate::openapi::{
    BadRequest, Forbidden, InternalError, NotFound, PayloadTooLarge, Unauthorized, UnprocessableEntity,
    UnsupportedMediaType,
};

/// A user's effective permissions: their roles' and their unexpired direct grants (none
/// unless the user is active). Needs `permissions.read`.
#[utoipa::path(
    get,
    path = "/v1/organizations/{org_id}/users/{user_id}/effective-permissions",
    tag = "permissions",
    security(("bearer" = [])),
    params(UserPath),
    responses(
        (status = 200, description = "The user's permissions", body = Data<EffectivePermissions>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn effective_permissions(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<UserPath>,
) -> Result<Json<Data<EffectivePermissions>>, ApiError> {
    let (org, user) = (OrgId::from_uuid(path.org_id), UserId::from_uuid(path.user_id));
    let permissions = state.roster.user_permissions(&principal, org, user).await?;
    Ok(Json(Data { data: permissions.into() }))
}

/// Ask whether users may do things in the organization, up to 1000 questions at once,
/// answered in order. Needs `permissions.read`.
#[utoipa::path(
    post,
    path = "/v1/organizations/{org_id}/permission-checks",
    tag = "permissions",
    security(("bearer" = [])),
    params(OrgPath),
    request_body = PermissionChecksRequest,
    responses(
        (status = 200, description = "One answer per question, in request order", body = Data<Vec<PermissionCheckResult>>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn check_permissions(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<OrgPath>,
    Json(body): Json<PermissionChecksRequest>,
) -> Result<Json<Data<Vec<PermissionCheckResult>>>, ApiError> {
    let outcomes = state.roster.check_permissions(&principal, OrgId::from_uuid(path.org_id), &body.pairs()).await?;
    let results = body.checks.into_iter().zip(outcomes).map(|(c, o)| PermissionCheckResult::new(c, o)).collect();
    Ok(Json(Data { data: results }))
}
