//! `/v1/organizations/{org_id}/users`.

use axum::extract::State;
use axum::http::StatusCode;
use roster_domain::ids::{OrgId, UserId};
use roster_domain::user_input::UpdateUserInput;

use super::Versioned;
use crate::RestState;
use crate::dto::organizations::OrgPath;
use crate::dto::users::{
    BatchDeleteItem, BatchDeleteRequest, CreateUserRequest, CreatedUserBody, ListUsersQuery, UpdateUserRequest, User,
    UserPath,
};
use crate::dto::{Data, List};
use crate::error::ApiError;
use crate::extract::{Authenticated, IfMatch, Json, Path, Query};
use crate::openapi::{
    BadRequest, Conflict, Forbidden, InternalError, NotFound, PayloadTooLarge, PreconditionFailed, Unauthorized,
    UnprocessableEntity, UnsupportedMediaType,
};

/// Create a user: `active` with `password` or `generate_password`, else `invited`.
#[utoipa::path(
    post,
    path = "/v1/organizations/{org_id}/users",
    tag = "users",
    security(("bearer" = [])),
    params(OrgPath),
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created; `generated_password` only when asked for", body = Data<CreatedUserBody>,
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
pub(crate) async fn create_user(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<OrgPath>,
    Json(body): Json<CreateUserRequest>,
) -> Result<Versioned<CreatedUserBody>, ApiError> {
    let created = state.roster.create_user(&principal, OrgId::from_uuid(path.org_id), body.into()).await?;
    let user = &created.view.user;
    let location = format!("/v1/organizations/{}/users/{}", user.org_id, user.id);
    let (version, secret) = (user.version, created.generated_password.is_some());
    Ok(Versioned::created(location, version, created.into()).no_store(secret))
}

/// List an organization's users, filtered and ordered.
#[utoipa::path(
    get,
    path = "/v1/organizations/{org_id}/users",
    tag = "users",
    security(("bearer" = [])),
    params(OrgPath, ListUsersQuery),
    responses(
        (status = 200, description = "A page of users", body = List<User>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn list_users(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<OrgPath>,
    Query(query): Query<ListUsersQuery>,
) -> Result<Json<List<User>>, ApiError> {
    let org_id = OrgId::from_uuid(path.org_id);
    // The page holds bare users; each item embeds its organization's summary.
    let (org, page) = state.roster.list_users_with_organization(&principal, org_id, query.into()).await?;
    Ok(Json(List {
        data: page.items.into_iter().map(|u| User::new(u, &org)).collect(),
        next_cursor: page.next_cursor.map(|c| c.as_str().to_owned()),
    }))
}

/// Get one user with its organization's summary.
#[utoipa::path(
    get,
    path = "/v1/organizations/{org_id}/users/{user_id}",
    tag = "users",
    security(("bearer" = [])),
    params(UserPath),
    responses(
        (status = 200, description = "The user", body = Data<User>,
            headers(("ETag" = String, description = "The version"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn get_user(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<UserPath>,
) -> Result<Versioned<User>, ApiError> {
    let view =
        state.roster.get_user(&principal, OrgId::from_uuid(path.org_id), UserId::from_uuid(path.user_id)).await?;
    Ok(Versioned::ok(view.user.version, view.into()))
}

/// Change a user. With `If-Match`, a stale version changes nothing (412).
#[utoipa::path(
    patch,
    path = "/v1/organizations/{org_id}/users/{user_id}",
    tag = "users",
    security(("bearer" = [])),
    params(UserPath, IfMatch),
    request_body = UpdateUserRequest,
    responses(
        (status = 200, description = "The changed user", body = Data<User>,
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
pub(crate) async fn update_user(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<UserPath>,
    IfMatch(expected): IfMatch,
    Json(body): Json<UpdateUserRequest>,
) -> Result<Versioned<User>, ApiError> {
    let input = UpdateUserInput::try_from(body)?;
    let (org_id, user_id) = (OrgId::from_uuid(path.org_id), UserId::from_uuid(path.user_id));
    let view = state.roster.update_user(&principal, org_id, user_id, input, expected).await?;
    Ok(Versioned::ok(view.user.version, view.into()))
}

/// Delete a user: hidden from reads, its email and username free again.
#[utoipa::path(
    delete,
    path = "/v1/organizations/{org_id}/users/{user_id}",
    tag = "users",
    security(("bearer" = [])),
    params(UserPath, IfMatch),
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn delete_user(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<UserPath>,
    IfMatch(expected): IfMatch,
) -> Result<StatusCode, ApiError> {
    let (org_id, user_id) = (OrgId::from_uuid(path.org_id), UserId::from_uuid(path.user_id));
    state.roster.delete_user(&principal, org_id, user_id, expected).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Delete up to 100 users at once, with a result per id.
#[utoipa::path(
    post,
    path = "/v1/organizations/{org_id}/users/batch-delete",
    tag = "users",
    security(("bearer" = [])),
    params(OrgPath),
    request_body = BatchDeleteRequest,
    responses(
        (status = 200, description = "One result per id, in request order", body = Data<Vec<BatchDeleteItem>>),
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
pub(crate) async fn batch_delete_users(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<OrgPath>,
    Json(body): Json<BatchDeleteRequest>,
) -> Result<Json<Data<Vec<BatchDeleteItem>>>, ApiError> {
    let results = state.roster.batch_delete_users(&principal, OrgId::from_uuid(path.org_id), &body.user_ids).await?;
    Ok(Json(Data { data: results.into_iter().map(BatchDeleteItem::from).collect() }))
}
