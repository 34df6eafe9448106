//! Health checking and server reflection.

use futures::StreamExt as _;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;

use crate::support::TestServer;

/// Every `roster.v1` service.
const SERVICES: [&str; 10] = [
    "roster.v1.OrganizationService",
    "roster.v1.UserService",
    "roster.v1.AuthService",
    "roster.v1.AuthorizationService",
    "roster.v1.RoleService",
    "roster.v1.PermissionGrantService",
    "roster.v1.ApiKeyService",
    "roster.v1.SessionService",
    "roster.v1.AuditService",
    "roster.v1.InvitationService",
];

#[tokio::test]
async fn health_reports_serving_for_the_server_and_each_service() {
    let server = TestServer::start().await;
    let mut health = HealthClient::new(server.channel.clone());
    for service in std::iter::once("").chain(SERVICES) {
        let response = health
            .check(HealthCheckRequest { service: service.to_owned() })
            .await
            .unwrap_or_else(|e| panic!("{service:?}: {e}"))
            .into_inner();
        assert_eq!(response.status(), ServingStatus::Serving, "{service:?}");
    }
}

#[tokio::test]
async fn reflection_v1_lists_the_roster_services_too() {
    use tonic_reflection::pb::v1::ServerReflectionRequest;
    use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
    use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
    use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

    let server = TestServer::start().await;
    let mut reflection = ServerReflectionClient::new(server.channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .expect("reflection stream")
        .into_inner();
    let response = responses.next().await.expect("one response").expect("no error");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection response: {response:?}");
    };
    for expected in SERVICES {
        assert!(list.service.iter().any(|s| s.name == expected), "{expected} missing from {list:?}");
    }
}

#[tokio::test]
async fn reflection_v1alpha_lists_the_roster_services() {
    let server = TestServer::start().await;
    let mut reflection = ServerReflectionClient::new(server.channel.clone());
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = reflection
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .expect("reflection stream")
        .into_inner();
    let response = responses.next().await.expect("one response").expect("no error");
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!("unexpected reflection response: {response:?}");
    };
    let names: Vec<&str> = list.service.iter().map(|s| s.name.as_str()).collect();
    for expected in SERVICES.into_iter().chain(["grpc.health.v1.Health"]) {
        assert!(names.contains(&expected), "{expected} missing from {names:?}");
    }
}
