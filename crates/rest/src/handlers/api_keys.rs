//! `/v1/organizations/{org_id}/api-keys`: service keys.

use axum::extract::State;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use roster_domain::ids::{ApiKeyId, OrgId};

use crate::RestState;
use crate::dto::api_keys::{ApiKey, ApiKeyPath, CreateApiKeyRequest, CreatedApiKey};
use crate::dto::organizations::OrgPath;
use crate::dto::{Data, List, PageQuery};
use crate::error::ApiError;
use crate::extract::{Authenticated, Json, Path, Query};
use crate::openapi::{
    BadRequest, InternalError, NotFound, PayloadTooLarge, Unauthorized, UnprocessableEntity, UnsupportedMediaType,
};

/// Create a service key for the organization. The secret is in this response only.
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
    let created = state.roster.create_service_key(&principal, OrgId::from_uuid(path.org_id), body.into()).await?;
    let body: CreatedApiKey = created.into();
    let location = format!("/v1/organizations/{}/api-keys/{}", path.org_id, body.key.id);
    let mut res = (StatusCode::CREATED, Json(Data { data: body })).into_response();
    if let Ok(location) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, location);
    }
    // The secret must not linger in any cache.
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// List the organization's keys, revoked ones included; never their secrets.
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
    let page = state.roster.list_api_keys(&principal, OrgId::from_uuid(path.org_id), limit, cursor.as_deref()).await?;
    Ok(Json(page.into()))
}

/// Revoke a key: it stops working at once.
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
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn revoke_api_key(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<ApiKeyPath>,
) -> Result<StatusCode, ApiError> {
    state.roster.revoke_api_key(&principal, OrgId::from_uuid(path.org_id), ApiKeyId::from_uuid(path.key_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
