//! Extractor rejections, each a problem: credentials, JSON bodies, path ids, queries.

use axum::body::Body;
use axum::http::{Request, header};
use serde_json::json;

use super::support::{TestApp, authed};

#[tokio::test]
async fn a_missing_credential_is_401_with_a_bearer_challenge() {
    let app = TestApp::new().await;
    let reply = app.send(Request::get("/v1/organizations").body(Body::empty()).unwrap()).await;
    reply.problem(401, "unauthenticated");
    assert!(reply.header("www-authenticate").starts_with("Bearer"), "{:?}", reply.headers);
}

#[tokio::test]
async fn an_unknown_or_malformed_credential_is_401_with_a_bearer_challenge() {
    let app = TestApp::new().await;
    let unknown = format!("rst_{}", "A".repeat(43));
    for token in [unknown.as_str(), "nonsense"] {
        let reply = app.send(authed("GET", "/v1/organizations", token).body(Body::empty()).unwrap()).await;
        reply.problem(401, "unauthenticated");
        assert!(reply.header("www-authenticate").starts_with("Bearer"));
    }
    let basic = Request::get("/v1/organizations").header(header::AUTHORIZATION, "Basic dXNlcjpwYXNz");
    app.send(basic.body(Body::empty()).unwrap()).await.problem(401, "unauthenticated");
}

#[tokio::test]
async fn credentials_are_checked_before_ids() {
    let app = TestApp::new().await;
    let reply = app.send(Request::get("/v1/organizations/not-a-uuid").body(Body::empty()).unwrap()).await;
    reply.problem(401, "unauthenticated");
}

fn raw(app: &TestApp, content_type: Option<&str>, body: impl Into<Body>) -> Request<Body> {
    let mut req = authed("POST", "/v1/organizations", &app.key);
    if let Some(ct) = content_type {
        req = req.header(header::CONTENT_TYPE, ct);
    }
    req.body(body.into()).unwrap()
}

#[tokio::test]
async fn malformed_json_is_400() {
    let app = TestApp::new().await;
    for body in ["{\"slug\": ", "", "not json", "{} trailing"] {
        app.send(raw(&app, Some("application/json"), body)).await.problem(400, "malformed_json");
    }
}

#[tokio::test]
async fn a_body_not_declared_as_json_is_415() {
    let app = TestApp::new().await;
    app.send(raw(&app, Some("text/plain"), "{}")).await.problem(415, "unsupported_media_type");
    app.send(raw(&app, None, "{}")).await.problem(415, "unsupported_media_type");
}

#[tokio::test]
async fn unknown_fields_and_wrong_types_are_422_naming_the_field() {
    let app = TestApp::new().await;
    let reply =
        app.send(app.json("POST", "/v1/organizations", &json!({"slug": "a", "name": "A", "colour": "red"}))).await;
    let body = reply.problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "colour", "{body}");
    assert_eq!(body["errors"][0]["code"], "unknown_field");

    let reply = app.send(app.json("POST", "/v1/organizations", &json!({"slug": "a", "seat_limit": "ten"}))).await;
    let body = reply.problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "seat_limit", "{body}");

    let org = app.org("acme").await;
    let uri = format!("/v1/organizations/{org}/users");
    let reply = app.send(app.json("POST", &uri, &json!({"email": "a@example.com", "metadata": {"plan": 3}}))).await;
    let body = reply.problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "metadata.plan", "{body}");
}

#[tokio::test]
async fn an_oversized_body_is_413_as_a_problem() {
    let app = TestApp::new().await;
    let big = json!({"slug": "big", "name": "x".repeat(crate::MAX_BODY_BYTES)});
    app.send(app.json("POST", "/v1/organizations", &big)).await.problem(413, "payload_too_large");
}

#[tokio::test]
async fn path_ids_that_are_not_uuids_are_400_naming_the_parameter() {
    let app = TestApp::new().await;
    let reply = app.send(app.get("GET", "/v1/organizations/acme")).await;
    let body = reply.problem(400, "invalid_id");
    assert!(body["detail"].as_str().unwrap().contains("org_id"), "{body}");

    let org = app.org("acme").await;
    let reply = app.send(app.get("GET", &format!("/v1/organizations/{org}/users/42"))).await;
    let body = reply.problem(400, "invalid_id");
    assert!(body["detail"].as_str().unwrap().contains("user_id"), "{body}");

    let reply = app.send(app.get("DELETE", &format!("/v1/organizations/{org}/api-keys/k"))).await;
    let body = reply.problem(400, "invalid_id");
    assert!(body["detail"].as_str().unwrap().contains("key_id"), "{body}");
}

#[tokio::test]
async fn unparsable_query_strings_are_400_and_bad_values_422() {
    let app = TestApp::new().await;
    app.send(app.get("GET", "/v1/organizations?limit=ten")).await.problem(400, "invalid_query");
    app.send(app.get("GET", "/v1/organizations?lmit=10")).await.problem(400, "invalid_query");
    let body = app.send(app.get("GET", "/v1/organizations?limit=500")).await.problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "limit");

    let org = app.org("acme").await;
    let body = app
        .send(app.get("GET", &format!("/v1/organizations/{org}/users?status=deleted&sort=age")))
        .await
        .problem(422, "validation_failed");
    let fields: Vec<_> = body["errors"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["status", "sort"]);
}

#[tokio::test]
async fn a_malformed_if_match_is_400() {
    let app = TestApp::new().await;
    let org = app.org("acme").await;
    let req = authed("PATCH", &format!("/v1/organizations/{org}"), &app.key)
        .header(header::CONTENT_TYPE, "application/json")
        .header(header::IF_MATCH, "version-1")
        .body(Body::from("{}"))
        .unwrap();
    app.send(req).await.problem(400, "invalid_if_match");
}
