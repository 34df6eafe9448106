//! `/v1/auth/login`, `/v1/auth/logout` and `/v1/me`.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

use crate::RestState;
use crate::dto::Data;
use crate::dto::auth::{Caller, LoginRequest, LoginResponse};
use crate::error::ApiError;
use crate::extract::{Authenticated, ClientAddr, Json};
use crate::openapi::{
    BadRequest, Forbidden, InternalError, PayloadTooLarge, TooManyRequests, Unauthorized, UnprocessableEntity,
    UnsupportedMediaType,
};

/// Log in with an email and password: answers a session token for
/// `Authorization: Bearer`, shown only in this response.
///
/// Every failure — unknown organization or email, wrong password, a user who is not
/// active — answers the same 401. After repeated failures for an account (or from an
/// address) logins answer 429 with `Retry-After` until the lock ends.
#[utoipa::path(
    post,
    path = "/v1/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "Logged in", body = Data<LoginResponse>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 429, response = TooManyRequests),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn login(
    State(state): State<RestState>,
    client: ClientAddr,
    headers: HeaderMap,
    Json(body): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    // The request-id middleware has run: every request has a usable id by now.
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let outcome = state.roster.login(body.into_input(client.ip(), request_id)).await?;
    let mut res = Json(Data { data: LoginResponse::from(outcome) }).into_response();
    // The token must not linger in any cache.
    res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(res)
}

/// End the caller's own session: its token stops working at once. Only a session token
/// can log out (an API key gets 403; revoke keys instead).
#[utoipa::path(
    post,
    path = "/v1/auth/logout",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 204, description = "Logged out"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn logout(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
) -> Result<StatusCode, ApiError> {
    state.roster.logout(&principal).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Who the caller is: its credential's kind, organization, user, roles and effective
/// permissions.
#[utoipa::path(
    get,
    path = "/v1/me",
    tag = "auth",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller", body = Data<Caller>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn me(State(state): State<RestState>, Authenticated(principal): Authenticated) -> Json<Data<Caller>> {
    Json(Data { data: state.roster.me(&principal).into() })
}
