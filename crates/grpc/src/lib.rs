//! Roster's gRPC front end (tonic).
//!
//! The `roster.v1` contract lives in `proto/roster/v1/` at the workspace root and is
//! compiled by this crate's build script (with `protox`, no system `protoc`). The
//! generated messages, enums, clients and server traits are in [`pb`]:
//!
//! - [`pb::organization_service_server::OrganizationService`] and
//!   [`pb::user_service_server::UserService`]: the server traits, implemented here;
//! - [`pb::organization_service_client::OrganizationServiceClient`] and
//!   [`pb::user_service_client::UserServiceClient`]: the matching clients;
//! - [`pb::FILE_DESCRIPTOR_SET`]: the encoded descriptor set, for `tonic-reflection`.
//!
//! The handlers are thin, like the REST ones: authenticate the `authorization: Bearer`
//! key (module `auth`), turn the request into the domain's raw input (`convert`), call
//! one [`Roster`] use case and map the result back, or map its error to a
//! `google.rpc.Status` with `ErrorInfo` and `BadRequest` details (`status`, the one
//! error mapping). No rule is decided here.
//!
//! [`routes`] assembles every service plus `grpc.health.v1` and server reflection (v1 and
//! v1alpha); [`serve`] runs them on an already-bound listener.

use std::future::Future;
use std::sync::Arc;

use roster_domain::service::Roster;
use tokio::net::TcpListener;
use tonic::service::Routes;

use crate::organizations::Organizations;
use crate::pb::organization_service_server::OrganizationServiceServer;
use crate::pb::user_service_server::UserServiceServer;
use crate::users::Users;

mod auth;
mod convert;
mod organizations;
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

/// Every Roster gRPC service (`roster.v1.OrganizationService`, `roster.v1.UserService`),
/// plus `grpc.health.v1.Health` reporting SERVING for both and for `""` (the whole
/// server), plus server reflection in both `grpc.reflection.v1` and
/// `grpc.reflection.v1alpha` (grpcurl 1.8 and Python's grpcio-reflection speak only the
/// latter). Serve the result with [`tonic::transport::Server::add_routes`], or use
/// [`serve`].
///
/// It is `async` only because tonic-health's reporter records statuses asynchronously; it
/// does no I/O.
pub async fn routes(roster: Arc<Roster>) -> Routes {
    let organizations = OrganizationServiceServer::new(Organizations::new(roster.clone()));
    let users = UserServiceServer::new(Users::new(roster));

    let (health, health_service) = tonic_health::server::health_reporter();
    // The reporter starts with "" (overall) SERVING.
    health.set_serving::<OrganizationServiceServer<Organizations>>().await;
    health.set_serving::<UserServiceServer<Users>>().await;

    let reflection = || {
        tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            // google.rpc.ErrorInfo / BadRequest, so reflection clients can decode error details.
            .register_encoded_file_descriptor_set(tonic_types::pb::FILE_DESCRIPTOR_SET)
    };
    // Both descriptor sets are embedded at compile time and checked by this crate's tests,
    // so building from them cannot fail at run time.
    let reflection_v1 = reflection().build_v1().expect("embedded descriptor sets are valid");
    let reflection_v1alpha = reflection().build_v1alpha().expect("embedded descriptor sets are valid");

    Routes::new(organizations)
        .add_service(users)
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

    use super::pb;

    #[test]
    fn descriptor_set_holds_the_contract_and_its_imports() {
        let fds = prost_types::FileDescriptorSet::decode(pb::FILE_DESCRIPTOR_SET).expect("descriptor set decodes");
        let names: Vec<&str> = fds.file.iter().map(|f| f.name()).collect();
        for expected in [
            "roster/v1/organizations.proto",
            "roster/v1/users.proto",
            "google/protobuf/timestamp.proto",
            "google/protobuf/field_mask.proto",
            "google/protobuf/empty.proto",
        ] {
            assert!(names.contains(&expected), "{expected} missing from {names:?}");
        }
        let services: Vec<&str> = fds.file.iter().flat_map(|f| &f.service).map(|s| s.name()).collect();
        assert!(services.contains(&"OrganizationService"));
        assert!(services.contains(&"UserService"));
    }

    #[test]
    fn enums_strip_their_prefixes() {
        assert_eq!(pb::UserStatus::Suspended.as_str_name(), "USER_STATUS_SUSPENDED");
        assert_eq!(pb::OrganizationStatus::Active.as_str_name(), "ORGANIZATION_STATUS_ACTIVE");
        assert_eq!(pb::BatchDeleteOutcome::NotFound.as_str_name(), "BATCH_DELETE_OUTCOME_NOT_FOUND");
    }
}
