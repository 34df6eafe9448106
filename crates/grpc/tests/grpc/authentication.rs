//! `AuthService`: tokens to principals, login, logout, and throttled logins.

use std::time::Duration;

use roster_domain::service::Settings;
use roster_grpc::pb;
use roster_grpc::pb::api_key_service_client::ApiKeyServiceClient;
use roster_grpc::pb::auth_service_client::AuthServiceClient;
use tonic::Code;
use tonic_types::StatusExt as _;

use crate::support::{Authed, PASSWORD, TestServer, active_user, bearer, reason};

/// An `AuthService` client without credentials: `Authenticate` and `Login` need none.
fn anonymous(server: &TestServer) -> AuthServiceClient<Authed> {
    AuthServiceClient::new(server.authed(None))
}

async fn authenticate(server: &TestServer, token: &str) -> Result<pb::Principal, tonic::Status> {
    anonymous(server).authenticate(pb::AuthenticateRequest { token: token.to_owned() }).await.map(|r| r.into_inner())
}

fn login_request(org: &pb::Organization, email: &str, password: &str) -> pb::LoginRequest {
    pb::LoginRequest {
        organization: org.slug.clone(),
        email: email.to_owned(),
        password: password.to_owned(),
        client_ip: None,
    }
}

#[tokio::test]
async fn a_service_key_authenticates_as_its_organization_with_every_permission() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let key = server.service_token(&org).await;

    let principal = authenticate(&server, &key).await.expect("a valid service key");
    assert_eq!(principal.kind(), pb::PrincipalKind::ServiceKey);
    assert_eq!(principal.organization_id.as_deref(), Some(org.id.as_str()));
    assert_eq!(principal.user_id, None);
    assert!(principal.roles.is_empty());
    assert_eq!(principal.permissions, ["*"], "an unscoped service key acts as an owner");

    let platform = authenticate(&server, server.platform_token()).await.expect("the platform key");
    assert_eq!(platform.kind(), pb::PrincipalKind::PlatformKey);
    assert_eq!(platform.organization_id, None);
}

#[tokio::test]
async fn a_session_token_from_login_authenticates_as_its_user_until_logout() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let ada = active_user(&server, &org, "ada@example.com", "admin").await;

    let login =
        anonymous(&server).login(login_request(&org, "ADA@example.com", PASSWORD)).await.expect("login").into_inner();
    assert!(login.token.starts_with("rss_"));
    assert_eq!((login.user_id.as_str(), login.organization_id.as_str()), (ada.id.as_str(), org.id.as_str()));
    let expires_at = login.expires_at.expect("expiry");
    assert!(expires_at.seconds > 1_735_689_600, "after the test clock's now");

    let principal = authenticate(&server, &login.token).await.expect("a live session");
    assert_eq!(principal.kind(), pb::PrincipalKind::Session);
    assert_eq!(principal.organization_id.as_deref(), Some(org.id.as_str()));
    assert_eq!(principal.user_id.as_deref(), Some(ada.id.as_str()));
    let roles: Vec<&str> = principal.roles.iter().map(|r| r.key.as_str()).collect();
    assert_eq!(roles, ["admin"]);
    assert_eq!(principal.roles[0].id, ada.role_ids[0]);
    assert!(principal.permissions.iter().any(|p| p == "users.write"));
    assert!(!principal.permissions.iter().any(|p| p == "organizations.delete"));

    // The caller itself, with the session as its credential.
    let mut own = AuthServiceClient::new(server.authed(Some(&bearer(&login.token))));
    let me = own.get_me(pb::GetMeRequest {}).await.expect("me").into_inner();
    assert_eq!(me, principal);

    own.logout(pb::LogoutRequest {}).await.expect("logout");
    let status = authenticate(&server, &login.token).await.expect_err("logged out");
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(reason(&status), "unauthenticated");
}

#[tokio::test]
async fn a_personal_key_authenticates_as_its_user_within_its_scope() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let ada = active_user(&server, &org, "ada@example.com", "member").await;

    let created = ApiKeyServiceClient::new(server.platform())
        .create_api_key(pb::CreateApiKeyRequest {
            organization_id: org.id.clone(),
            user_id: Some(ada.id.clone()),
            name: "ada's laptop".into(),
            scope: Some(pb::PermissionScope { permissions: vec!["users.read".into()] }),
            ..Default::default()
        })
        .await
        .expect("personal key")
        .into_inner();
    let key = created.api_key.expect("key");
    assert_eq!(key.user_id.as_deref(), Some(ada.id.as_str()));
    assert!(created.secret.starts_with(&key.prefix));

    let principal = authenticate(&server, &created.secret).await.expect("a valid personal key");
    assert_eq!(principal.kind(), pb::PrincipalKind::PersonalKey);
    assert_eq!(principal.user_id.as_deref(), Some(ada.id.as_str()));
    assert_eq!(principal.roles.iter().map(|r| r.key.as_str()).collect::<Vec<_>>(), ["member"]);
    assert_eq!(principal.permissions, ["users.read"], "the member's permissions within the key's scope");

    // A personal key can never exceed its user.
    let status = ApiKeyServiceClient::new(server.platform())
        .create_api_key(pb::CreateApiKeyRequest {
            organization_id: org.id.clone(),
            user_id: Some(ada.id.clone()),
            name: "too much".into(),
            scope: Some(pb::PermissionScope { permissions: vec!["users.write".into()] }),
            ..Default::default()
        })
        .await
        .expect_err("scope beyond the user");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(crate::support::violations(&status), ["scope"]);
}

#[tokio::test]
async fn unknown_and_malformed_tokens_are_unauthenticated() {
    let server = TestServer::start().await;
    let well_formed_unknown = format!("rst_{}", "A".repeat(43));
    let unknown_session = format!("rss_{}", "b".repeat(43));
    for token in ["", "not-a-token", &well_formed_unknown, &unknown_session, &format!("Bearer {well_formed_unknown}")] {
        let status = authenticate(&server, token).await.expect_err("unknown token");
        assert_eq!(status.code(), Code::Unauthenticated, "{token:?}");
        assert_eq!(reason(&status), "unauthenticated");
    }
}

#[tokio::test]
async fn a_revoked_key_is_unauthenticated_at_once() {
    let server = TestServer::start().await;
    let org = server.create_org("acme").await;
    let mut keys = ApiKeyServiceClient::new(server.platform());
    let created = keys
        .create_api_key(pb::CreateApiKeyRequest {
            organization_id: org.id.clone(),
            name: "ci".into(),
            scope: Some(pb::PermissionScope { permissions: vec!["users.read".into(), "permissions.read".into()] }),
            ..Default::default()
        })
        .await
        .expect("service key")
        .into_inner();
    let key = created.api_key.expect("key");
    assert_eq!(key.user_id, None);
    let principal = authenticate(&server, &created.secret).await.expect("valid before revocation");
    assert_eq!(principal.permissions, ["permissions.read", "users.read"]);

    keys.revoke_api_key(pb::RevokeApiKeyRequest {
        organization_id: org.id.clone(),
        user_id: None,
        api_key_id: key.id.clone(),
    })
    .await
    .expect("revoke");
    let status = authenticate(&server, &created.secret).await.expect_err("revoked");
    assert_eq!(status.code(), Code::Unauthenticated);

    let listed = keys
        .list_api_keys(pb::ListApiKeysRequest { organization_id: org.id.clone(), ..Default::default() })
        .await
        .expect("list")
        .into_inner();
    let listed: Vec<(&str, bool)> = listed.api_keys.iter().map(|k| (k.id.as_str(), k.revoked_at.is_some())).collect();
    assert_eq!(listed, [(key.id.as_str(), true)]);

    let again = keys
        .revoke_api_key(pb::RevokeApiKeyRequest { organization_id: org.id, user_id: None, api_key_id: key.id })
        .await
        .expect_err("already revoked");
    assert_eq!(again.code(), Code::NotFound);
}

#[tokio::test]
async fn failed_logins_past_the_limit_are_rate_limited_with_a_retry_delay() {
    let mut settings = Settings::default();
    settings.account_throttle.limit = 1;
    settings.account_throttle.base_lock = chrono::Duration::seconds(30);
    let server = TestServer::start_with(settings).await;
    let org = server.create_org("acme").await;
    active_user(&server, &org, "ada@example.com", "member").await;
    let mut auth = anonymous(&server);

    let wrong = auth.login(login_request(&org, "ada@example.com", "not the password")).await.expect_err("wrong");
    assert_eq!(wrong.code(), Code::Unauthenticated);
    assert_eq!(reason(&wrong), "unauthenticated");

    // Locked now: even the right password is refused, before any hashing.
    let limited = auth.login(login_request(&org, "ada@example.com", PASSWORD)).await.expect_err("locked");
    assert_eq!(limited.code(), Code::ResourceExhausted);
    assert_eq!(reason(&limited), "rate_limited");
    let retry = limited.get_details_retry_info().expect("RetryInfo");
    assert_eq!(retry.retry_delay, Some(Duration::from_secs(31)));
    let info = limited.get_details_error_info().expect("ErrorInfo");
    assert_eq!(info.metadata.get("retry_after_seconds").map(String::as_str), Some("31"));

    server.clock.advance(chrono::Duration::seconds(31));
    auth.login(login_request(&org, "ada@example.com", PASSWORD)).await.expect("the lock has passed");
}

#[tokio::test]
async fn a_malformed_login_names_every_bad_field() {
    let server = TestServer::start().await;
    let status = anonymous(&server)
        .login(pb::LoginRequest { client_ip: Some("somewhere".into()), ..Default::default() })
        .await
        .expect_err("bad address");
    assert_eq!(status.code(), Code::InvalidArgument);
    assert_eq!(crate::support::violations(&status), ["client_ip"]);

    let status = anonymous(&server).login(pb::LoginRequest::default()).await.expect_err("nothing given");
    assert_eq!(crate::support::violations(&status), ["organization", "email", "password"]);
}

#[tokio::test]
async fn logout_needs_a_session() {
    let server = TestServer::start().await;
    let status = AuthServiceClient::new(server.platform()).logout(pb::LogoutRequest {}).await.expect_err("a key");
    assert_eq!(status.code(), Code::PermissionDenied);
    let status = anonymous(&server).get_me(pb::GetMeRequest {}).await.expect_err("no credential");
    assert_eq!(status.code(), Code::Unauthenticated);
}
