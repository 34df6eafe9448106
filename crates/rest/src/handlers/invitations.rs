//! `/v1/organizations/{org_id}/invitations` and `/v1/invitations/accept`.

use axum::extract::State;
use axum::http::HeaderMap;
use roster_domain::ids::{InvitationId, OrgId};
use roster_domain::service::ListInvitationsInput;

use super::Versioned;
use crate::RestState;
use crate::dto::invitations::{AcceptInvitationRequest, Invitation, InvitationPath, ListInvitationsQuery};
use crate::dto::organizations::OrgPath;
use crate::dto::users::User;
use crate::dto::{Data, List};
use crate::error::ApiError;
use crate::extract::{Authenticated, IfMatch, Json, Path, Query};
use crate::openapi::{
    BadRequest, Conflict, Forbidden, Gone, InternalError, NotFound, PayloadTooLarge, PreconditionFailed, Unauthorized,
    UnprocessableEntity, UnsupportedMediaType,
};

/// List an organization's invitations, oldest first. Needs `invitations.read`.
#[utoipa::path(
    get,
    path = "/v1/organizations/{org_id}/invitations",
    tag = "invitations",
    security(("bearer" = [])),
    params(OrgPath, ListInvitationsQuery),
    responses(
        (status = 200, description = "A page of invitations", body = List<Invitation>),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn list_invitations(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<OrgPath>,
    Query(query): Query<ListInvitationsQuery>,
) -> Result<Json<List<Invitation>>, ApiError> {
    let input = ListInvitationsInput::try_from(query)?;
    let page = state.roster.list_invitations(&principal, OrgId::from_uuid(path.org_id), input).await?;
    let now = state.roster.now();
    Ok(Json(List {
        data: page.items.into_iter().map(|i| Invitation::new(i, now)).collect(),
        next_cursor: page.next_cursor.map(|c| c.as_str().to_owned()),
    }))
}

/// Get one invitation. Needs `invitations.read`.
#[utoipa::path(
    get,
    path = "/v1/organizations/{org_id}/invitations/{invitation_id}",
    tag = "invitations",
    security(("bearer" = [])),
    params(InvitationPath),
    responses(
        (status = 200, description = "The invitation", body = Data<Invitation>,
            headers(("ETag" = String, description = "The version"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn get_invitation(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<InvitationPath>,
) -> Result<Versioned<Invitation>, ApiError> {
    let (org, id) = ids(path);
    let invitation = state.roster.get_invitation(&principal, org, id).await?;
    Ok(Versioned::ok(invitation.version, Invitation::new(invitation, state.roster.now())))
}

/// Send a pending or expired invitation again: a new link (the old one stops working),
/// a renewed expiry and a new email. Needs `invitations.write`.
#[utoipa::path(
    post,
    path = "/v1/organizations/{org_id}/invitations/{invitation_id}/resend",
    tag = "invitations",
    security(("bearer" = [])),
    params(InvitationPath, IfMatch),
    responses(
        (status = 200, description = "The renewed invitation", body = Data<Invitation>,
            headers(("ETag" = String, description = "The new version"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn resend_invitation(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<InvitationPath>,
    IfMatch(expected): IfMatch,
) -> Result<Versioned<Invitation>, ApiError> {
    let (org, id) = ids(path);
    let invitation = state.roster.resend_invitation(&principal, org, id, expected).await?;
    Ok(Versioned::ok(invitation.version, Invitation::new(invitation, state.roster.now())))
}

/// Revoke a pending or expired invitation: its link stops working and its invited user
/// is deleted, freeing the seat. Needs `invitations.write`.
#[utoipa::path(
    post,
    path = "/v1/organizations/{org_id}/invitations/{invitation_id}/revoke",
    tag = "invitations",
    security(("bearer" = [])),
    params(InvitationPath, IfMatch),
    responses(
        (status = 200, description = "The revoked invitation", body = Data<Invitation>,
            headers(("ETag" = String, description = "The new version"))),
        (status = 400, response = BadRequest),
        (status = 401, response = Unauthorized),
        (status = 403, response = Forbidden),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 412, response = PreconditionFailed),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn revoke_invitation(
    State(state): State<RestState>,
    Authenticated(principal): Authenticated,
    Path(path): Path<InvitationPath>,
    IfMatch(expected): IfMatch,
) -> Result<Versioned<Invitation>, ApiError> {
    let (org, id) = ids(path);
    let invitation = state.roster.revoke_invitation(&principal, org, id, expected).await?;
    Ok(Versioned::ok(invitation.version, Invitation::new(invitation, state.roster.now())))
}

/// Accept an invitation with the token from its link and a password: the user becomes
/// `active` and their roles take effect. No credential: the token is one, and works once.
///
/// An unknown (or replaced) token answers 404 `invitation_invalid`; an expired or revoked
/// one 410 `invitation_expired` / `invitation_revoked`; a used one 409
/// `invitation_already_accepted`. None of them says anything about the organization.
#[utoipa::path(
    post,
    path = "/v1/invitations/accept",
    tag = "invitations",
    request_body = AcceptInvitationRequest,
    responses(
        (status = 200, description = "Accepted: the now active user", body = Data<User>,
            headers(("ETag" = String, description = "The user's version"))),
        (status = 400, response = BadRequest),
        (status = 404, response = NotFound),
        (status = 409, response = Conflict),
        (status = 410, response = Gone),
        (status = 413, response = PayloadTooLarge),
        (status = 415, response = UnsupportedMediaType),
        (status = 422, response = UnprocessableEntity),
        (status = 500, response = InternalError),
    )
)]
pub(crate) async fn accept_invitation(
    State(state): State<RestState>,
    headers: HeaderMap,
    Json(body): Json<AcceptInvitationRequest>,
) -> Result<Versioned<User>, ApiError> {
    // The request-id middleware has run: every request has a usable id by now.
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let accepted = state.roster.accept_invitation(body.into_input(request_id)?).await?;
    Ok(Versioned::ok(accepted.user.user.version, accepted.user.into()))
}

fn ids(path: InvitationPath) -> (OrgId, InvitationId) {
    (OrgId::from_uuid(path.org_id), InvitationId::from_uuid(path.invitation_id))
}
