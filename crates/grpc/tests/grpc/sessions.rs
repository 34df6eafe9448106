//! `SessionService` and `AuditService`: listing and revoking sessions, and the audit trail
//! they leave, with each call's request id.

use roster_grpc::pb;
use roster_grpc::pb::audit_service_client::AuditServiceClient;
use roster_grpc::pb::auth_service_client::AuthServiceClient;
use roster_grpc::pb::session_service_client::SessionServiceClient;
use tonic::Code;
use tonic::service::interceptor::InterceptedService;

use crate::support::{PASSWORD, TestServer, active_user, bearer, violations};

#[tokio::test]
async fn sessions_are_listed_and_revoked_and_audited_with_the_request_id() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let ada = active_user(&server, &org, "ada@example.com", "member").await;
    let login = AuthServiceClient::new(server.authed(None))
        .login(pb::LoginRequest {
            organization: org.id.clone(),
            email: "ada@example.com".into(),
            password: PASSWORD.into(),
            client_ip: Some("192.0.2.7".into()),
        })
        .await
        .expect("login")
        .into_inner();

    // Ada lists her own sessions with her session.
    let mut own = SessionServiceClient::new(server.authed(Some(&bearer(&login.token))));
    let listed = own
        .list_sessions(pb::ListSessionsRequest {
            organization_id: org.id.clone(),
            user_id: ada.id.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.sessions.len(), 1);
    let session = &listed.sessions[0];
    assert_eq!((session.id.as_str(), session.client_ip.as_deref()), (login.session_id.as_str(), Some("192.0.2.7")));
    assert!(listed.next_page_token.is_empty());

    // An administrator (here the platform key) revokes it, naming the request.
    let auth = TestServer::auth(Some(&bearer(server.platform_token()))).with_request_id("req-revoke-42");
    SessionServiceClient::new(InterceptedService::new(server.channel.clone(), auth))
        .revoke_session(pb::RevokeSessionRequest {
            organization_id: org.id.clone(),
            user_id: ada.id.clone(),
            session_id: login.session_id.clone(),
        })
        .await
        .expect("revoke");
    let status = own
        .list_sessions(pb::ListSessionsRequest {
            organization_id: org.id.clone(),
            user_id: ada.id.clone(),
            ..Default::default()
        })
        .await
        .expect_err("the revoked session authenticates to nothing");
    assert_eq!(status.code(), Code::Unauthenticated);

    let mut audit = AuditServiceClient::new(server.platform());
    let events = audit
        .list_audit_events(pb::ListAuditEventsRequest {
            organization_id: org.id.clone(),
            action: Some("session.revoked".into()),
            ..Default::default()
        })
        .await
        .expect("audit")
        .into_inner()
        .audit_events;
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!((event.target_type.as_str(), event.target_id.as_str()), ("user", ada.id.as_str()));
    assert_eq!(event.request_id.as_deref(), Some("req-revoke-42"));
    assert!(event.actor.starts_with("api_key:"));

    // Every call gets a request id, generated when the client sent none.
    let all = audit
        .list_audit_events(pb::ListAuditEventsRequest { organization_id: org.id.clone(), ..Default::default() })
        .await
        .expect("audit")
        .into_inner()
        .audit_events;
    let created = all.iter().find(|e| e.action == "user.created").expect("the user's creation is audited");
    assert!(created.request_id.as_deref().is_some_and(|id| uuid::Uuid::parse_str(id).is_ok()), "{created:?}");
    assert_eq!(all.first().map(|e| e.action.as_str()), Some("session.revoked"), "newest first");

    let status = audit
        .list_audit_events(pb::ListAuditEventsRequest {
            organization_id: org.id.clone(),
            page_token: "garbage".into(),
            since: Some(prost_types::Timestamp { seconds: 0, nanos: -5 }),
            ..Default::default()
        })
        .await
        .expect_err("bad filters");
    assert_eq!(violations(&status), ["since"]);
}

/// A login that names no client address is throttled and recorded by the caller's own
/// (the connection's peer), so leaving `client_ip` out never turns address limits off.
#[tokio::test]
async fn a_login_without_a_client_address_records_the_peers() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let ada = active_user(&server, &org, "ada@example.com", "member").await;
    let login = AuthServiceClient::new(server.authed(None))
        .login(pb::LoginRequest {
            organization: org.id.clone(),
            email: "ada@example.com".into(),
            password: PASSWORD.into(),
            client_ip: None,
        })
        .await
        .expect("login")
        .into_inner();
    let listed = SessionServiceClient::new(server.authed(Some(&bearer(&login.token))))
        .list_sessions(pb::ListSessionsRequest {
            organization_id: org.id.clone(),
            user_id: ada.id.clone(),
            ..Default::default()
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(listed.sessions[0].client_ip.as_deref(), Some("127.0.0.1"));
}
