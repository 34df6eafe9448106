//! Conventions every response follows: problem bodies, request ids, the version header,
//! 404/405, panics, internal errors and sensitive headers.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Request, StatusCode, header};
use axum::routing::get;
use chrono::Utc;
use roster_domain::api_key::{ApiKey, ApiKeyOwner, NewSecret};
use roster_domain::error::StoreError;
use roster_domain::ids::ApiKeyId;
use roster_domain::mocks::MockStorage;
use roster_domain::ports::KeyLookup;
use roster_domain::values::KeyName;

use super::support::{TestApp, authed, send, state};

#[tokio::test]
async fn unknown_routes_answer_a_problem_with_the_request_id() {
    let app = TestApp::new().await;
    let reply = app.send(app.get("GET", "/v1/nothing-here")).await;
    let body = reply.problem(404, "not_found");
    assert_eq!(body["type"], "https://roster.dev/problems/not_found");
    assert_eq!(body["status"], 404);
    assert!(body["title"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(body["detail"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(body.get("errors").is_none(), "errors only on validation problems: {body}");
    let request_id = reply.header("x-request-id");
    assert!(uuid::Uuid::parse_str(request_id).is_ok(), "a generated request id: {request_id:?}");
    assert_eq!(body["request_id"], request_id);
}

#[tokio::test]
async fn a_given_request_id_is_echoed_and_quoted_in_problems() {
    let app = TestApp::new().await;
    let req = Request::get("/v1/organizations").header("x-request-id", "trace-abc-123").body(Body::empty()).unwrap();
    let reply = app.send(req).await;
    let body = reply.problem(401, "unauthenticated");
    assert_eq!(reply.header("x-request-id"), "trace-abc-123");
    assert_eq!(body["request_id"], "trace-abc-123");
}

#[tokio::test]
async fn an_unusable_request_id_is_replaced() {
    let app = TestApp::new().await;
    let long = "x".repeat(500);
    let req = Request::get("/healthz").header("x-request-id", &long).body(Body::empty()).unwrap();
    let reply = app.send(req).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(uuid::Uuid::parse_str(reply.header("x-request-id")).is_ok());
}

#[tokio::test]
async fn a_wrong_method_answers_405_listing_the_allowed_ones() {
    let app = TestApp::new().await;
    let reply = app.send(app.get("PUT", "/v1/organizations")).await;
    reply.problem(405, "method_not_allowed");
    let allow = reply.header("allow");
    for method in ["GET", "POST"] {
        assert!(allow.contains(method), "{allow}");
    }
    let reply = app.send(app.get("POST", "/v1/organizations/0192f0c2-6c1e-7a3b-9d4e-5f6a7b8c9d0e")).await;
    reply.problem(405, "method_not_allowed");
    let allow = reply.header("allow");
    for method in ["GET", "PATCH", "DELETE"] {
        assert!(allow.contains(method), "{allow}");
    }
}

#[tokio::test]
async fn every_response_carries_the_api_version() {
    let app = TestApp::new().await;
    for uri in ["/healthz", "/v1/organizations", "/nowhere", "/openapi.json"] {
        let reply = app.send(app.get("GET", uri)).await;
        assert_eq!(reply.header("roster-version"), "1", "{uri}");
    }
}

#[tokio::test]
async fn version_1_or_none_is_accepted_and_any_other_rejected() {
    let app = TestApp::new().await;
    let with = |v: &str| authed("GET", "/v1/organizations", &app.key).header("roster-version", v).body(Body::empty());
    assert_eq!(app.send(app.get("GET", "/v1/organizations")).await.status, StatusCode::OK);
    assert_eq!(app.send(with("1").unwrap()).await.status, StatusCode::OK);
    for bad in ["2", "0", "v1", "1.0", ""] {
        let reply = app.send(with(bad).unwrap()).await;
        reply.problem(400, "unsupported_version");
        assert_eq!(reply.header("roster-version"), "1");
    }
}

#[tokio::test]
async fn a_panicking_handler_answers_a_500_problem() {
    async fn boom() -> &'static str {
        panic!("kaboom: secret internals")
    }
    let app = crate::with_middleware(Router::new().route("/boom", get(boom)));
    let reply = send(&app, Request::get("/boom").body(Body::empty()).unwrap()).await;
    let body = reply.problem(500, "internal");
    assert!(!reply.text().contains("kaboom"));
    assert_eq!(body["request_id"], reply.header("x-request-id"));
    assert_eq!(reply.header("roster-version"), "1");
}

#[tokio::test]
async fn the_authorization_header_is_marked_sensitive() {
    let probe = |headers: HeaderMap| async move {
        headers.get(header::AUTHORIZATION).map_or("absent", |v| if v.is_sensitive() { "sensitive" } else { "plain" })
    };
    let app = crate::with_middleware(Router::new().route("/probe", get(probe)));
    let reply = send(&app, authed("GET", "/probe", "rst_x").body(Body::empty()).unwrap()).await;
    assert_eq!(reply.text(), "sensitive");
}

/// Storage that knows one platform key and fails everything else with a revealing cause.
fn broken_storage(secret: &NewSecret) -> MockStorage {
    let key = ApiKey {
        id: ApiKeyId::from_uuid(uuid::Uuid::now_v7()),
        owner: ApiKeyOwner::Platform,
        name: KeyName::parse("test").unwrap(),
        prefix: secret.display_prefix(),
        digest: secret.digest(),
        scope: None,
        created_by: "test".into(),
        created_at: Utc::now(),
        expires_at: None,
        revoked_at: None,
        // Recently used: authenticating it writes nothing.
        last_used_at: Some(Utc::now()),
    };
    let fail = || StoreError::other(std::io::Error::other("connection refused by db.internal:5432"));
    let mut storage = MockStorage::new();
    storage
        .expect_find_api_key()
        .returning(move |_| Ok(Some(KeyLookup { key: key.clone(), org_status: None, org_partner: false })));
    storage.expect_get_organization().returning(move |_| Err(fail()));
    storage.expect_ping().returning(move || Err(fail()));
    storage
}

#[tokio::test]
async fn internal_errors_answer_500_without_their_cause() {
    let secret = NewSecret::generate();
    let app = crate::router(state(Arc::new(broken_storage(&secret)), Arc::new(|| {})));
    let uri = format!("/v1/organizations/{}", uuid::Uuid::now_v7());
    let reply = send(&app, authed("GET", &uri, secret.expose()).body(Body::empty()).unwrap()).await;
    let body = reply.problem(500, "internal");
    assert!(!reply.text().contains("db.internal"), "{body}");
    assert_eq!(body["request_id"], reply.header("x-request-id"));
}

#[tokio::test]
async fn readiness_fails_with_503_when_the_database_is_down() {
    let secret = NewSecret::generate();
    let app = crate::router(state(Arc::new(broken_storage(&secret)), Arc::new(|| {})));
    let reply = send(&app, Request::get("/readyz").body(Body::empty()).unwrap()).await;
    reply.problem(503, "unavailable");
    assert!(!reply.text().contains("db.internal"));
}
