//! `/v1/organizations/{org_id}/users/{user_id}/sessions`.

use axum::extract::State;
use axum::http::StatusCode;
use roster_domain::ids::{OrgId, SessionId, UserId};

use crate::RestState;
use crate::dto::sessions::{Session, SessionPath};
use crate::dto::users::UserPath;
use crate::dto::{List, PageQuery};
use crate::error::ApiError;
use crate::extract::{Authenticated, Json, Path, Query};
use crate::openapi::{BadRequest, Forbidden, InternalError, NotFound, Unauthorized, UnprocessableEntity};

/// List a user's live sessions. The user themself (logged in with a session) may, or a
/// caller with `sessions.read`.
#[utoipa::path(
    get,
    path = "/v1/organizations/{org_id}/users/{user_id}/sessions",
    tag = "sessions",
    security(("bearer" = [])),
    params(UserPath, PageQuery),
    responses(
        (status = 200, description = "A page of sessions", body = List<Session>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn list_sessions(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<UserPath>,
    Query(query): Query<PageQuery>,
) -> Result<Json<List<Session>>, ApiError> {
    let (limit, cursor) = query.into_parts()?;
    let (org, user) = (OrgId::from_uuid(path.org_id), UserId::from_uuid(path.user_id));
    let page = state.roster.list_sessions(&principal, org, user, limit, cursor.as_deref()).await?;
    Ok(Json(page.into()))
}

/// Revoke one of a user's sessions: its token stops working at once. The user themself
/// (logged in with a session) may, or a caller with `sessions.write`.
#[utoipa::path(
    delete,
    path = "/v1/organizations/{org_id}/users/{user_id}/sessions/{session_id}",
    tag = "sessions",
    security(("bearer" = [])),
    params(SessionPath),
    responses(
        (status = 204, description = "Revoked"),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn revoke_session(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<SessionPath>,
) -> Result<StatusCode, ApiError> {
    let (org, user) = (OrgId::from_uuid(path.org_id), UserId::from_uuid(path.user_id));
    state.roster.revoke_session(&principal, org, user, SessionId::from_uuid(path.session_id)).await?;
    Ok(StatusCode::NO_CONTENT)
}
