//! `roster.v1.InvitationService`: parse → one use case → map.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use roster_domain::ids::{InvitationId, OrgId};
use roster_domain::invitation::{Invitation, InvitationStatus};
use roster_domain::service::{AcceptInvitationInput, ListInvitationsInput, Roster};
use roster_domain::validation::Validator;
use tonic::{Request, Response, Status};

use crate::auth::{principal, request_id};
use crate::convert::{self, timestamp};
use crate::pb;
use crate::pb::invitation_service_server::InvitationService;
use crate::status::{invalid, rename_fields, to_status};

/// The invitation service over Roster's use cases.
#[derive(Debug)]
pub(crate) struct Invitations {
    roster: Arc<Roster>,
}

impl Invitations {
    pub(crate) fn new(roster: Arc<Roster>) -> Self {
        Self { roster }
    }
}

/// An invitation, without its token, as `roster.v1.Invitation`, its status judged at
/// `now` (a pending invitation past its expiry is expired).
fn invitation(inv: Invitation, now: DateTime<Utc>) -> pb::Invitation {
    let status = match inv.status_at(now) {
        InvitationStatus::Pending => pb::InvitationStatus::Pending,
        InvitationStatus::Accepted => pb::InvitationStatus::Accepted,
        InvitationStatus::Revoked => pb::InvitationStatus::Revoked,
        InvitationStatus::Expired => pb::InvitationStatus::Expired,
    };
    pb::Invitation {
        id: inv.id.to_string(),
        organization_id: inv.org_id.to_string(),
        user_id: inv.user_id.to_string(),
        email: inv.email.as_str().to_owned(),
        role_ids: inv.role_ids.iter().map(ToString::to_string).collect(),
        status: status.into(),
        invited_by: inv.invited_by,
        login_url: inv.login_url.map(|u| u.as_str().to_owned()),
        expires_at: Some(timestamp(inv.expires_at)),
        created_at: Some(timestamp(inv.created_at)),
        updated_at: Some(timestamp(inv.updated_at)),
        accepted_at: inv.accepted_at.map(timestamp),
        revoked_at: inv.revoked_at.map(timestamp),
        version: inv.version,
    }
}

/// The domain's name for a wire status filter; the domain rejects what it does not know
/// (`UNSPECIFIED` included), naming `status`.
fn status_name(raw: i32) -> String {
    match pb::InvitationStatus::try_from(raw) {
        Ok(pb::InvitationStatus::Pending) => InvitationStatus::Pending.as_str().to_owned(),
        Ok(pb::InvitationStatus::Accepted) => InvitationStatus::Accepted.as_str().to_owned(),
        Ok(pb::InvitationStatus::Revoked) => InvitationStatus::Revoked.as_str().to_owned(),
        Ok(pb::InvitationStatus::Expired) => InvitationStatus::Expired.as_str().to_owned(),
        Ok(pb::InvitationStatus::Unspecified) => "unspecified".to_owned(),
        Err(_) => raw.to_string(),
    }
}

/// The ids in `organization_id` and `invitation_id`, or INVALID_ARGUMENT naming each bad
/// one.
fn invitation_path(org: &str, invitation: &str) -> Result<(OrgId, InvitationId), Status> {
    let mut v = Validator::default();
    let org_id = convert::id(&mut v, "organization_id", org);
    let invitation_id = convert::id(&mut v, "invitation_id", invitation);
    v.build(|| Some((org_id?, invitation_id?))).map_err(invalid)
}

#[tonic::async_trait]
impl InvitationService for Invitations {
    #[tracing::instrument(name = "roster.v1.InvitationService/ListInvitations", skip_all)]
    async fn list_invitations(
        &self,
        request: Request<pb::ListInvitationsRequest>,
    ) -> Result<Response<pb::ListInvitationsResponse>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.into_inner();
        let mut v = Validator::default();
        let org_id = convert::id(&mut v, "organization_id", &req.organization_id);
        let size = convert::page_size(&mut v, req.page_size);
        let (org_id, limit) = v.build(|| Some((org_id?, size?))).map_err(invalid)?;
        let input = ListInvitationsInput {
            status: req.status.map(status_name),
            limit,
            cursor: convert::page_token(req.page_token),
        };
        let page = self
            .roster
            .list_invitations(&principal, org_id, input)
            .await
            .map_err(|e| to_status(rename_fields(e, convert::list_field)))?;
        let now = self.roster.now();
        Ok(Response::new(pb::ListInvitationsResponse {
            invitations: page.items.into_iter().map(|i| invitation(i, now)).collect(),
            next_page_token: page.next_cursor.map(|c| c.as_str().to_owned()).unwrap_or_default(),
        }))
    }

    #[tracing::instrument(name = "roster.v1.InvitationService/GetInvitation", skip_all)]
    async fn get_invitation(
        &self,
        request: Request<pb::GetInvitationRequest>,
    ) -> Result<Response<pb::Invitation>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.get_ref();
        let (org_id, id) = invitation_path(&req.organization_id, &req.invitation_id)?;
        let inv = self.roster.get_invitation(&principal, org_id, id).await.map_err(to_status)?;
        Ok(Response::new(invitation(inv, self.roster.now())))
    }

    #[tracing::instrument(name = "roster.v1.InvitationService/ResendInvitation", skip_all)]
    async fn resend_invitation(
        &self,
        request: Request<pb::ResendInvitationRequest>,
    ) -> Result<Response<pb::Invitation>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.get_ref();
        let (org_id, id) = invitation_path(&req.organization_id, &req.invitation_id)?;
        let inv =
            self.roster.resend_invitation(&principal, org_id, id, req.expected_version).await.map_err(to_status)?;
        Ok(Response::new(invitation(inv, self.roster.now())))
    }

    #[tracing::instrument(name = "roster.v1.InvitationService/RevokeInvitation", skip_all)]
    async fn revoke_invitation(
        &self,
        request: Request<pb::RevokeInvitationRequest>,
    ) -> Result<Response<pb::Invitation>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.get_ref();
        let (org_id, id) = invitation_path(&req.organization_id, &req.invitation_id)?;
        let inv =
            self.roster.revoke_invitation(&principal, org_id, id, req.expected_version).await.map_err(to_status)?;
        Ok(Response::new(invitation(inv, self.roster.now())))
    }

    /// No principal: the token is the credential, as `AuthService.Login`'s password is.
    #[tracing::instrument(name = "roster.v1.InvitationService/AcceptInvitation", skip_all)]
    async fn accept_invitation(
        &self,
        request: Request<pb::AcceptInvitationRequest>,
    ) -> Result<Response<pb::AcceptInvitationResponse>, Status> {
        let request_id = request_id(request.metadata()).to_string();
        let req = request.into_inner();
        let input = AcceptInvitationInput { token: req.token, password: req.password, request_id: Some(request_id) };
        let accepted = self.roster.accept_invitation(input).await.map_err(to_status)?;
        Ok(Response::new(pb::AcceptInvitationResponse {
            user: Some(convert::user_view(accepted.user)),
            login_url: accepted.login_url.map(|u| u.as_str().to_owned()),
        }))
    }
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone as _};
    use roster_domain::api_key::SecretDigest;
    use roster_domain::ids::{RoleId, UserId};
    use roster_domain::values::{Email, HttpUrl};

    use super::*;

    fn pending(expires_at: DateTime<Utc>) -> Invitation {
        let t0 = expires_at - Duration::days(7);
        Invitation {
            id: InvitationId::from_uuid(uuid::Uuid::now_v7()),
            org_id: OrgId::from_uuid(uuid::Uuid::now_v7()),
            user_id: UserId::from_uuid(uuid::Uuid::now_v7()),
            email: Email::parse("ada@example.com").expect("email"),
            role_ids: vec![RoleId::from_uuid(uuid::Uuid::now_v7())],
            status: InvitationStatus::Pending,
            digest: SecretDigest::of("rsi_secret-token"),
            invited_by: "api_key:abc".into(),
            login_url: Some(HttpUrl::parse("https://app.example.com/login").expect("url")),
            expires_at,
            created_at: t0,
            updated_at: t0,
            accepted_at: None,
            revoked_at: None,
            version: 1,
        }
    }

    #[test]
    fn an_invitation_shows_everything_but_its_token() {
        let expires_at = Utc.with_ymd_and_hms(2026, 1, 8, 0, 0, 0).unwrap();
        let inv = pending(expires_at);
        let message = invitation(inv.clone(), expires_at - Duration::seconds(1));
        assert_eq!(message.id, inv.id.to_string());
        assert_eq!(message.organization_id, inv.org_id.to_string());
        assert_eq!(message.user_id, inv.user_id.to_string());
        assert_eq!(message.email, "ada@example.com");
        assert_eq!(message.role_ids, [inv.role_ids[0].to_string()]);
        assert_eq!(message.status(), pb::InvitationStatus::Pending);
        assert_eq!(message.invited_by, "api_key:abc");
        assert_eq!(message.login_url.as_deref(), Some("https://app.example.com/login"));
        assert_eq!(message.expires_at, Some(timestamp(expires_at)));
        assert_eq!(message.created_at, Some(timestamp(inv.created_at)));
        assert_eq!((message.accepted_at, message.revoked_at), (None, None));
        assert_eq!(message.version, 1);
        // The message has no field that could carry the token or its digest.
        let debug = format!("{message:?}");
        assert!(!debug.contains("rsi_") && !debug.contains("digest"), "{debug}");
    }

    #[test]
    fn the_status_is_judged_at_the_given_time() {
        let expires_at = Utc.with_ymd_and_hms(2026, 1, 8, 0, 0, 0).unwrap();
        assert_eq!(invitation(pending(expires_at), expires_at).status(), pb::InvitationStatus::Expired);
        let accepted = Invitation {
            status: InvitationStatus::Accepted,
            accepted_at: Some(expires_at - Duration::days(1)),
            ..pending(expires_at)
        };
        let message = invitation(accepted, expires_at + Duration::days(30));
        assert_eq!(message.status(), pb::InvitationStatus::Accepted, "a settled invitation never expires");
        assert!(message.accepted_at.is_some());
        let revoked =
            Invitation { status: InvitationStatus::Revoked, revoked_at: Some(expires_at), ..pending(expires_at) };
        let message = invitation(revoked, expires_at);
        assert_eq!(message.status(), pb::InvitationStatus::Revoked);
        assert_eq!(message.revoked_at, Some(timestamp(expires_at)));
    }

    #[test]
    fn status_filters_map_to_domain_names_and_unknown_ones_pass_through() {
        assert_eq!(status_name(pb::InvitationStatus::Pending.into()), "pending");
        assert_eq!(status_name(pb::InvitationStatus::Expired.into()), "expired");
        assert_eq!(status_name(pb::InvitationStatus::Accepted.into()), "accepted");
        assert_eq!(status_name(pb::InvitationStatus::Revoked.into()), "revoked");
        for raw in [0, 99] {
            assert!(InvitationStatus::from_name(&status_name(raw)).is_none(), "{raw} is refused by the domain");
        }
    }

    #[test]
    fn malformed_ids_are_named() {
        let status = invitation_path("", "42").expect_err("bad ids");
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        let org = uuid::Uuid::now_v7().to_string();
        let inv = uuid::Uuid::now_v7().to_string();
        assert!(invitation_path(&org, &inv).is_ok());
    }
}
