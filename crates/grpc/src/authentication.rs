//! `roster.v1.AuthService`: tokens to principals, password login and logout.

use std::net::IpAddr;
use std::sync::Arc;

use roster_domain::auth::{Identity, PrincipalKind};
use roster_domain::service::{LoginInput, Roster};
use roster_domain::validation::Validator;
use tonic::{Request, Response, Status};

use crate::auth::principal;
use crate::convert::{self, non_empty};
use crate::pb;
use crate::pb::auth_service_server::AuthService;
use crate::status::{invalid, to_status};

/// The authentication service over Roster's use cases.
#[derive(Debug)]
pub(crate) struct Authentication {
    roster: Arc<Roster>,
}

impl Authentication {
    pub(crate) fn new(roster: Arc<Roster>) -> Self {
        Self { roster }
    }
}

/// A verified identity as `roster.v1.Principal`: what [`Roster::me`] shows (and REST's
/// `/v1/me`), read straight from the shared identity so `Authenticate`, a hot path, copies
/// each string once.
pub(crate) fn principal_message(identity: &Identity) -> pb::Principal {
    let kind = match identity.kind {
        PrincipalKind::PlatformKey => pb::PrincipalKind::PlatformKey,
        PrincipalKind::ServiceKey => pb::PrincipalKind::ServiceKey,
        PrincipalKind::PersonalKey => pb::PrincipalKind::PersonalKey,
        PrincipalKind::Session => pb::PrincipalKind::Session,
    };
    pb::Principal {
        kind: kind.into(),
        organization_id: identity.org_id.map(|id| id.to_string()),
        user_id: identity.user_id.map(|id| id.to_string()),
        roles: identity.roles.iter().map(|r| pb::RoleRef { id: r.id.to_string(), key: r.key.clone() }).collect(),
        permissions: identity.permissions.names(),
    }
}

/// `client_ip`, normalised; anything but an IP address is `invalid`.
fn client_ip(v: &mut Validator, raw: Option<String>) -> Option<String> {
    let raw = raw?;
    match raw.trim().parse::<IpAddr>() {
        Ok(ip) => Some(ip.to_string()),
        Err(_) => {
            v.push("client_ip", "invalid", "client_ip must be an IPv4 or IPv6 address");
            None
        }
    }
}

#[tonic::async_trait]
impl AuthService for Authentication {
    #[tracing::instrument(name = "roster.v1.AuthService/Authenticate", skip_all)]
    async fn authenticate(&self, request: Request<pb::AuthenticateRequest>) -> Result<Response<pb::Principal>, Status> {
        let verified = self.roster.authenticate(&request.get_ref().token).await.map_err(to_status)?;
        Ok(Response::new(principal_message(verified.identity())))
    }

    #[tracing::instrument(name = "roster.v1.AuthService/Login", skip_all)]
    async fn login(&self, request: Request<pb::LoginRequest>) -> Result<Response<pb::LoginResponse>, Status> {
        let request_id = crate::auth::request_id(request.metadata()).to_string();
        // The end user's address when the calling service gives it, else the caller's own
        // (so leaving it out never turns per-address throttling off).
        let peer = request.remote_addr().map(|addr| addr.ip().to_string());
        let req = request.into_inner();
        let mut v = Validator::default();
        let client_ip = client_ip(&mut v, req.client_ip).or(peer);
        v.finish().map_err(invalid)?;
        let input = LoginInput {
            organization: non_empty(req.organization),
            email: non_empty(req.email),
            password: non_empty(req.password),
            client_ip,
            request_id: Some(request_id),
        };
        let outcome = self.roster.login(input).await.map_err(to_status)?;
        let session = outcome.session;
        Ok(Response::new(pb::LoginResponse {
            token: outcome.token.expose().to_owned(),
            expires_at: Some(convert::timestamp(session.expires_at)),
            session_id: session.id.to_string(),
            user_id: session.user_id.to_string(),
            organization_id: session.org_id.to_string(),
        }))
    }

    #[tracing::instrument(name = "roster.v1.AuthService/Logout", skip_all)]
    async fn logout(&self, request: Request<pb::LogoutRequest>) -> Result<Response<()>, Status> {
        let principal = principal(&self.roster, &request).await?;
        self.roster.logout(&principal).await.map_err(to_status)?;
        Ok(Response::new(()))
    }

    #[tracing::instrument(name = "roster.v1.AuthService/GetMe", skip_all)]
    async fn get_me(&self, request: Request<pb::GetMeRequest>) -> Result<Response<pb::Principal>, Status> {
        let principal = principal(&self.roster, &request).await?;
        Ok(Response::new(principal_message(principal.identity())))
    }
}

#[cfg(test)]
mod tests {
    use roster_domain::ids::{OrgId, RoleId, UserId};
    use roster_domain::permission::PermissionSet;
    use roster_domain::ports::RoleRef;

    use super::*;

    #[test]
    fn a_principal_shows_what_me_shows() {
        let (org, user, role) = (uuid::Uuid::now_v7(), uuid::Uuid::now_v7(), uuid::Uuid::now_v7());
        let identity = Identity {
            kind: PrincipalKind::PersonalKey,
            credential_id: uuid::Uuid::now_v7(),
            org_id: Some(OrgId::from_uuid(org)),
            partner: false,
            user_id: Some(UserId::from_uuid(user)),
            roles: vec![RoleRef { id: RoleId::from_uuid(role), key: "member".into(), builtin: true }],
            owner: false,
            permissions: PermissionSet::parse(["users.read", "projects.create"]).expect("permissions"),
        };
        let message = principal_message(&identity);
        assert_eq!(message.kind(), pb::PrincipalKind::PersonalKey);
        assert_eq!(message.organization_id, Some(org.to_string()));
        assert_eq!(message.user_id, Some(user.to_string()));
        assert_eq!(message.roles, [pb::RoleRef { id: role.to_string(), key: "member".into() }]);
        assert_eq!(message.permissions, ["projects.create", "users.read"]);

        let platform =
            Identity { kind: PrincipalKind::PlatformKey, org_id: None, user_id: None, roles: vec![], ..identity };
        let platform = principal_message(&Identity { permissions: PermissionSet::all(), ..platform });
        assert_eq!((platform.organization_id, platform.user_id), (None, None));
        assert_eq!(platform.permissions, ["*"]);
    }

    #[test]
    fn client_addresses_are_normalised_or_refused() {
        let mut v = Validator::default();
        assert_eq!(client_ip(&mut v, Some(" 2001:DB8::1 ".into())), Some("2001:db8::1".into()));
        assert_eq!(client_ip(&mut v, None), None);
        assert!(v.is_ok());
        assert_eq!(client_ip(&mut v, Some("example.com".into())), None);
        assert!(!v.is_ok());
    }
}
