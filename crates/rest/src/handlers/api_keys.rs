//! `/v1/organizations/{org_id}/api-keys` (service keys) and
//! `/v1/organizations/{org_id}/users/{user_id}/api-keys` (personal keys).

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use roster_domain::api_key::{self as domain, NewSecret};
use roster_domain::ids::{ApiKeyId, OrgId, UserId};
use roster_domain::ports::KeyOwnerFilter;

use crate::RestState;
use crate::dto::api_keys::{ApiKey, ApiKeyPath, CreateApiKeyRequest, CreatedApiKey, PersonalKeyPath};
use crate::dto::organizations::OrgPath;
use crate::dto::users::UserPath;
use crate::dto::{Data, List, PageQuery};
use crate::error::ApiError;
use crate::extract::{Authenticated, Json, Path, Query};
use crate::openapi::{
    BadRequest, Forbidden, InternalError, NotFound, PayloadTooLarge, Unauthorized, UnprocessableEntity,
    UnsupportedMediaType,
};

/// `201 Created` with the key and its secret, which no cache may keep.
fn created(key: (domain::ApiKey, NewSecret), collection: &str) -> Response {
    let body: CreatedApiKey = key.into();
    let location = format!("{collection}/{}", body.key.id);
    let mut res = (StatusCode::CREATED, Json(Data { data: body })).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, location);
    }
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}

/// Create a service key for the organization. The secret is in this response only.
///
/// Needs `api_keys.write` and every permission of the `scope`; an unscoped key acts as
/// an owner, so only owners (and platform keys) make one.
#[utoipa::path(
    post,
    path = "/v1/organizations/{org_id}/api-keys",
    tag = "api-keys",
    security(("bearer" = [])),
    params(OrgPath),
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, description = "Created, with the secret shown once", body = Data<CreatedApiKey>,
            headers(("Location" = String, description = "The new key"))),
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
pub(crate) async fn create_api_key(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<OrgPath>,
    Json(body): Json<CreateApiKeyRequest>,
) -> Result<Response, ApiError> {
    let key = state.roster.create_service_key(&principal, OrgId::from_uuid(path.org_id), body.into()).await?;
    Ok(created(key, &format!("/v1/organizations/{}/api-keys", path.org_id)))
}

/// List the organization's service keys, revoked ones included; never their secrets.
#[utoipa::path(
    get,
    path = "/v1/organizations/{org_id}/api-keys",
    tag = "api-keys",
    security(("bearer" = [])),
    params(OrgPath, PageQuery),
    responses(
        (status = 200, description = "A page of keys", body = List<ApiKey>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn list_api_keys(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<OrgPath>,
    Query(query): Query<PageQuery>,
) -> Result<Json<List<ApiKey>>, ApiError> {
    let (limit, cursor) = query.into_parts()?;
    let org = OrgId::from_uuid(path.org_id);
    let page = state.roster.list_api_keys(&principal, org, KeyOwnerFilter::Service, limit, cursor.as_deref()).await?;
    Ok(Json(page.into()))
}

/// Revoke a service key: it stops working at once.
#[utoipa::path(
    delete,
    path = "/v1/organizations/{org_id}/api-keys/{key_id}",
    tag = "api-keys",
    security(("bearer" = [])),
    params(ApiKeyPath),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn revoke_api_key(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<ApiKeyPath>,
) -> Result<StatusCode, ApiError> {
    let (org, key) = (OrgId::from_uuid(path.org_id), ApiKeyId::from_uuid(path.key_id));
    state.roster.revoke_api_key(&principal, org, KeyOwnerFilter::Service, key).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Create a personal key for a user: it acts as that user, within its `scope`. The
/// secret is in this response only.
///
/// The user themself (logged in with a session) may, or a caller with `api_keys.write`;
/// the key never does more than the user may, nor more than its maker may.
#[utoipa::path(
    post,
    path = "/v1/organizations/{org_id}/users/{user_id}/api-keys",
    tag = "api-keys",
    security(("bearer" = [])),
    params(UserPath),
    request_body = CreateApiKeyRequest,
    responses(
        (status = 201, description = "Created, with the secret shown once", body = Data<CreatedApiKey>,
            headers(("Location" = String, description = "The new key"))),
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
pub(crate) async fn create_personal_api_key(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<UserPath>,
    Json(body): Json<CreateApiKeyRequest>,
) -> Result<Response, ApiError> {
    let (org, user) = (OrgId::from_uuid(path.org_id), UserId::from_uuid(path.user_id));
    let key = state.roster.create_personal_key(&principal, org, user, body.into()).await?;
    Ok(created(key, &format!("/v1/organizations/{}/users/{}/api-keys", path.org_id, path.user_id)))
}

/// List a user's personal keys, revoked ones included; never their secrets. The user
/// themself (logged in with a session) may, or a caller with `api_keys.read`.
#[utoipa::path(
    get,
    path = "/v1/organizations/{org_id}/users/{user_id}/api-keys",
    tag = "api-keys",
    security(("bearer" = [])),
    params(UserPath, PageQuery),
    responses(
        (status = 200, description = "A page of keys", body = List<ApiKey>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn list_personal_api_keys(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<UserPath>,
    Query(query): Query<PageQuery>,
) -> Result<Json<List<ApiKey>>, ApiError> {
    let (limit, cursor) = query.into_parts()?;
    let (org, owner) = (OrgId::from_uuid(path.org_id), KeyOwnerFilter::User(UserId::from_uuid(path.user_id)));
    let page = state.roster.list_api_keys(&principal, org, owner, limit, cursor.as_deref()).await?;
    Ok(Json(page.into()))
}

/// Revoke a personal key: it stops working at once. The user themself (logged in with a
/// session) may, or a caller with `api_keys.write`.
#[utoipa::path(
    delete,
    path = "/v1/organizations/{org_id}/users/{user_id}/api-keys/{key_id}",
    tag = "api-keys",
    security(("bearer" = [])),
    params(PersonalKeyPath),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn revoke_personal_api_key(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<PersonalKeyPath>,
) -> Result<StatusCode, ApiError> {
    let (org, owner) = (OrgId::from_uuid(path.org_id), KeyOwnerFilter::User(UserId::from_uuid(path.user_id)));
    state.roster.revoke_api_key(&principal, org, owner, ApiKeyId::from_uuid(path.key_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
