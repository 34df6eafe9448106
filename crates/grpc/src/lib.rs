//! Roster's gRPC front end (tonic).
//!
//! The `roster.v1` contract lives in `proto/roster/v1/` at the workspace root and is
//! compiled by this crate's build script (with `protox`, no system `protoc`). The
//! generated messages, enums, clients and server traits are in [`pb`]:
//!
//! - the server traits, implemented here, one per service: `OrganizationService`,
//!   `UserService`, `AuthService`, `AuthorizationService`, `RoleService`,
//!   `PermissionGrantService`, `ApiKeyService`, `SessionService`, `AuditService` and
//!   `InvitationService` (e.g. [`pb::user_service_server::UserService`]);
//! - the matching clients (e.g. [`pb::user_service_client::UserServiceClient`]);
//! - the messages, which are plain `prost` messages: a client may also encode them itself
//!   (a load generator speaking HTTP/2 directly, say);
//! - [`pb::FILE_DESCRIPTOR_SET`]: the encoded descriptor set, for `tonic-reflection`.
//!
//! The handlers are thin, like the REST ones: authenticate the `authorization: Bearer`
//! token (all but `AuthService.Authenticate` / `Login` and
//! `InvitationService.AcceptInvitation`, whose request carries the credential) and take
//! the request id (module `auth`), turn the request into the domain's raw
//! input (`convert`), call one [`Roster`] use case and map the result back, or map its
//! error to a `google.rpc.Status` with `ErrorInfo`, `BadRequest` and `RetryInfo` details
//! (`status`, the one error mapping). No rule is decided here.
//!
//! [`routes`] assembles every service plus `grpc.health.v1` and server reflection (v1 and
//! v1alpha); [`serve`] runs them on an already-bound listener.

use std::future::Future;
use std::sync::Arc;

use roster_domain::service::Roster;
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::api_keys::ApiKeys;
use crate::audit::Audit;
use crate::authentication::Authentication;
use crate::authorization::Authorization;
use crate::grants::Grants;
use crate::invitations::Invitations;
use crate::organizations::Organizations;
use crate::pb::api_key_service_server::ApiKeyServiceServer;
use crate::pb::audit_service_server::AuditServiceServer;
use crate::pb::auth_service_server::AuthServiceServer;
use crate::pb::authorization_service_server::AuthorizationServiceServer;
use crate::pb::invitation_service_server::InvitationServiceServer;
use crate::pb::organization_service_server::OrganizationServiceServer;
use crate::pb::permission_grant_service_server::PermissionGrantServiceServer;
use crate::pb::role_service_server::RoleServiceServer;
use crate::pb::session_service_server::SessionServiceServer;
use crate::pb::user_service_server::UserServiceServer;
use crate::roles::Roles;
use crate::sessions::Sessions;
use crate::users::Users;

mod api_keys;
mod audit;
mod auth;
mod authentication;
mod authorization;
mod convert;
mod grants;
mod invitations;
mod organizations;
mod roles;
mod sessions;
mod status;
mod transport;
mod users;

/// Code generated from the `roster.v1` protobuf package.
#[allow(
    missing_docs,
    missing_debug_implementations,
    unused_qualifications,
    clippy::all,
    clippy::pedantic,
    clippy::nursery
)]
pub mod pb {
    tonic::include_proto!("roster.v1");

    /// The encoded `google.protobuf.FileDescriptorSet` of the `roster.v1` contract
    /// (including its imports), for gRPC server reflection.
    pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("roster_descriptor");
}

/// Every Roster gRPC service (`roster.v1.OrganizationService`, `UserService`,
/// `AuthService`, `AuthorizationService`, `RoleService`, `PermissionGrantService`,
/// `ApiKeyService`, `SessionService`, `AuditService`, `InvitationService`), plus `grpc.health.v1.Health`
/// reporting SERVING for each and for `""` (the whole server), plus server reflection in
/// both `grpc.reflection.v1` and `grpc.reflection.v1alpha` (grpcurl 1.8 and Python's
/// grpcio-reflection speak only the latter). Serve the result with [`tonic::transport::Server::add_routes`], or use
/// [`serve`].
///
/// It is `async` only because tonic-health's reporter records statuses asynchronously; it
/// does no I/O.
pub async fn routes(roster: Arc<Roster>) -> Routes {
    let organizations = OrganizationServiceServer::new(Organizations::new(roster.clone()));
    let users = UserServiceServer::new(Users::new(roster.clone()));
    let authentication = AuthServiceServer::new(Authentication::new(roster.clone()));
    let authorization = AuthorizationServiceServer::new(Authorization::new(roster.clone()));
    let roles = RoleServiceServer::new(Roles::new(roster.clone()));
    let grants = PermissionGrantServiceServer::new(Grants::new(roster.clone()));
    let api_keys = ApiKeyServiceServer::new(ApiKeys::new(roster.clone()));
    let sessions = SessionServiceServer::new(Sessions::new(roster.clone()));
    let audit = AuditServiceServer::new(Audit::new(roster.clone()));
    let invitations = InvitationServiceServer::new(Invitations::new(roster));

    let (health, health_service) = tonic_health::server::health_reporter();
    // The reporter starts with "" (overall) SERVING.
    health.set_serving::<OrganizationServiceServer<Organizations>>().await;
    health.set_serving::<UserServiceServer<Users>>().await;
    health.set_serving::<AuthServiceServer<Authentication>>().await;
    health.set_serving::<AuthorizationServiceServer<Authorization>>().await;
    health.set_serving::<RoleServiceServer<Roles>>().await;
    health.set_serving::<PermissionGrantServiceServer<Grants>>().await;
    health.set_serving::<ApiKeyServiceServer<ApiKeys>>().await;
    health.set_serving::<SessionServiceServer<Sessions>>().await;
    health.set_serving::<AuditServiceServer<Audit>>().await;
    health.set_serving::<InvitationServiceServer<Invitations>>().await;

    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            // google.rpc.ErrorInfo / BadRequest / RetryInfo, so reflection clients can decode
            // error details.
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
    };
    // Both descriptor sets are embedded at compile time and checked by this crate's tests,
    // so building from them cannot fail at run time.
    let reflection_v1 = reflection().build_v1().expect("embedded descriptor sets are valid");
    let reflection_v1alpha = reflection().build_v1alpha().expect("embedded descriptor sets are valid");

    Routes::new(organizations)
        .add_service(users)
        .add_service(authentication)
        .add_service(authorization)
        .add_service(roles)
        .add_service(grants)
        .add_service(api_keys)
        .add_service(sessions)
        .add_service(audit)
        .add_service(invitations)
        .add_service(health_service)
        .add_service(reflection_v1)
        .add_service(reflection_v1alpha)
}

/// Serves [`routes`] on an already-bound `listener` (tests bind port 0) until `shutdown`
/// completes, then lets in-flight calls finish.
///
/// The server is hyper's HTTP/2 under tonic's routes, as `tonic::transport::Server`, but
/// runs each call in its connection's task rather than spawning one per call (see the
/// `transport` module): a unary call then crosses no tasks and is answered in one write.
///
/// # Errors
/// None at present: a failed `accept` is logged and retried, a failed connection logged
/// and closed. The `Result` keeps the signature of a server that may fail to start.
pub async fn serve(
    listener: TcpListener,
    roster: Arc<Roster>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), tonic::transport::Error> {
    transport::serve(listener, routes(roster).await, shutdown).await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use prost::Message as _;
    use tonic::server::NamedService;

    use super::*;

    /// Every `roster.v1` service the server registers.
    const SERVICES: [&str; 10] = [
        OrganizationServiceServer::<Organizations>::NAME,
        UserServiceServer::<Users>::NAME,
        AuthServiceServer::<Authentication>::NAME,
        AuthorizationServiceServer::<Authorization>::NAME,
        RoleServiceServer::<Roles>::NAME,
        PermissionGrantServiceServer::<Grants>::NAME,
        ApiKeyServiceServer::<ApiKeys>::NAME,
        SessionServiceServer::<Sessions>::NAME,
        AuditServiceServer::<Audit>::NAME,
        InvitationServiceServer::<Invitations>::NAME,
    ];

    #[test]
    fn descriptor_set_holds_the_contract_and_its_imports() {
        let fds = prost_types::FileDescriptorSet::decode(pb::FILE_DESCRIPTOR_SET).expect("descriptor set decodes");
        let names: Vec<&str> = fds.file.iter().map(|f| f.name()).collect();
        for expected in [
            "roster/v1/organizations.proto",
            "roster/v1/users.proto",
            "roster/v1/auth.proto",
            "roster/v1/authorization.proto",
            "roster/v1/roles.proto",
            "roster/v1/permission_grants.proto",
            "roster/v1/api_keys.proto",
            "roster/v1/sessions.proto",
            "roster/v1/audit.proto",
            "roster/v1/invitations.proto",
            "google/protobuf/timestamp.proto",
            "google/protobuf/field_mask.proto",
            "google/protobuf/empty.proto",
        ] {
            assert!(names.contains(&expected), "{expected} missing from {names:?}");
        }
        let services: Vec<&str> = fds.file.iter().flat_map(|f| &f.service).map(|s| s.name()).collect();
        for expected in SERVICES {
            let name = expected.trim_start_matches("roster.v1.");
            assert!(services.contains(&name), "{name} missing from {services:?}");
        }
    }

    #[test]
    fn enums_strip_their_prefixes() {
        assert_eq!(pb::UserStatus::Suspended.as_str_name(), "USER_STATUS_SUSPENDED");
        assert_eq!(pb::OrganizationStatus::Active.as_str_name(), "ORGANIZATION_STATUS_ACTIVE");
        assert_eq!(pb::BatchDeleteOutcome::NotFound.as_str_name(), "BATCH_DELETE_OUTCOME_NOT_FOUND");
        assert_eq!(pb::PrincipalKind::ServiceKey.as_str_name(), "PRINCIPAL_KIND_SERVICE_KEY");
        assert_eq!(pb::InvitationStatus::Expired.as_str_name(), "INVITATION_STATUS_EXPIRED");
    }
}
