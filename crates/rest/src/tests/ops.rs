//! Probes, metrics and the API document.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::http::StatusCode;
use serde_json::Value;

use super::support::TestApp;

#[tokio::test]
async fn probes_answer_ok() {
    let app = TestApp::new().await;
    for uri in ["/healthz", "/readyz"] {
        let reply = app.send(app.get("GET", uri)).await;
        assert_eq!(reply.status, StatusCode::OK, "{uri}");
        assert_eq!(reply.json(), serde_json::json!({"status": "ok"}));
    }
}

#[tokio::test]
async fn metrics_are_labelled_by_route_template_after_the_scrape_hook() {
    let scrapes = Arc::new(AtomicUsize::new(0));
    let counter = scrapes.clone();
    let app = TestApp::with_scrape_hook(Arc::new(move || {
        counter.fetch_add(1, Ordering::SeqCst);
    }))
    .await;
    let org = app.org("metered").await;
    assert_eq!(app.send(app.get("GET", &format!("/v1/organizations/{org}"))).await.status, StatusCode::OK);
    app.send(app.get("GET", "/no/such/route")).await;

    let reply = app.send(app.get("GET", "/metrics")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert!(reply.header("content-type").starts_with("text/plain"));
    assert_eq!(scrapes.load(Ordering::SeqCst), 1);
    let text = reply.text();
    assert!(
        text.contains(r#"roster_http_requests_total{method="GET",route="/v1/organizations/{org_id}",status="200"}"#),
        "{text}"
    );
    assert!(text.contains(r#"route="unmatched""#), "{text}");
    assert!(text.contains("roster_http_request_duration_seconds_bucket{"), "a histogram: {text}");
    assert!(!text.contains(&org), "raw ids must not become labels");
}

#[tokio::test]
async fn the_served_document_is_the_published_one() {
    let app = TestApp::new().await;
    let reply = app.send(app.get("GET", "/openapi.json")).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.json(), serde_json::to_value(crate::openapi()).unwrap());
    let docs = app.send(app.get("GET", "/docs")).await;
    assert_eq!(docs.status, StatusCode::OK);
    assert!(docs.header("content-type").starts_with("text/html"));
}

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut out = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            out.push((method.clone(), path.clone(), op));
        }
    }
    out
}

#[test]
fn every_operation_documents_the_statuses_it_can_return() {
    let doc = serde_json::to_value(crate::openapi()).unwrap();
    assert_eq!(doc["components"]["securitySchemes"]["bearer"]["scheme"], "bearer");
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    let ops = operations(&doc);
    assert_eq!(ops.iter().filter(|(_, path, _)| path.starts_with("/v1")).count(), 40);
    for (method, path, op) in ops {
        let statuses: Vec<&str> = op["responses"].as_object().unwrap().keys().map(String::as_str).collect();
        let has = |s: &str| statuses.contains(&s);
        let name = format!("{method} {path}: {statuses:?}");
        assert!(has("500"), "{name}");
        if !path.starts_with("/v1") {
            continue;
        }
        // The credential of these is in the body: a password, an invitation token.
        let public = matches!(path.as_str(), "/v1/auth/login" | "/v1/invitations/accept");
        if public {
            assert!(op.get("security").is_none(), "{name}");
        } else {
            assert_eq!(op["security"][0]["bearer"], serde_json::json!([]), "{name}");
            assert!(has("401"), "{name}");
        }
        if path == "/v1/auth/login" {
            assert!(has("429"), "{name}");
        }
        assert!(has("400"), "{name}");
        // Every use case decides what its caller may do; only these have nothing to deny.
        if !public && path != "/v1/me" {
            assert!(has("403"), "{name}");
        }
        if path.contains('{') || path == "/v1/invitations/accept" {
            assert!(has("404"), "{name}");
        }
        if op.get("requestBody").is_some() {
            assert!(has("413") && has("415") && has("422"), "{name}");
        }
        let versioned = ["{org_id}", "{user_id}", "{role_id}", "{grant_id}"].iter().any(|id| path.ends_with(id));
        let settles = path.ends_with("/resend") || path.ends_with("/revoke");
        if (versioned && matches!(method.as_str(), "patch" | "delete")) || settles {
            assert!(has("412"), "{name}");
            assert!(op["parameters"].as_array().unwrap().iter().any(|p| p["name"] == "If-Match"), "{name}");
        }
        let params = op["parameters"].as_array().unwrap();
        assert!(params.iter().any(|p| p["name"] == "Roster-Version" && p["in"] == "header"), "{name}");
    }
}

#[test]
fn schemas_use_formats_and_nullability() {
    let doc = serde_json::to_value(crate::openapi()).unwrap();
    let user = &doc["components"]["schemas"]["User"]["properties"];
    assert_eq!(user["id"]["format"], "uuid");
    assert_eq!(user["created_at"]["format"], "date-time");
    assert_eq!(user["last_login_at"]["type"], serde_json::json!(["string", "null"]));
    assert!(user.get("password_hash").is_none());
    let limit = doc["paths"]["/v1/organizations"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "limit")
        .cloned()
        .unwrap();
    assert_eq!((limit["schema"]["minimum"].as_i64(), limit["schema"]["maximum"].as_i64()), (Some(1), Some(200)));
}

#[test]
fn every_field_rule_names_a_part_of_the_document() {
    let (_, mut doc) = crate::api_routes().split_for_parts();
    assert_eq!(crate::dto::rules::apply(&mut doc, 12), Vec::<String>::new());
}

#[test]
fn fields_carry_the_domain_rules() {
    let doc = serde_json::to_value(crate::openapi()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let org = &schemas["CreateOrganizationRequest"]["properties"];
    assert!(org["slug"]["pattern"].as_str().unwrap().contains("[a-z0-9][a-z0-9-]{0,61}[a-z0-9]"));
    assert_eq!(org["seat_limit"]["maximum"], 10_000_000);
    assert_eq!(org["invitation_ttl_seconds"]["minimum"], 60);
    let user = &schemas["CreateUserRequest"]["allOf"][0]["properties"];
    assert_eq!(user["password"]["minLength"], 12);
    assert_eq!(user["metadata"]["maxProperties"], 50);
    assert_eq!(user["metadata"]["propertyNames"]["type"], "string");
    assert_eq!(user["tags"]["maxItems"], 20);
    assert!(schemas["CreateUserRequest"]["allOf"][1]["anyOf"].is_array());
}

#[tokio::test]
async fn the_served_document_uses_the_configured_password_policy() {
    let app = TestApp::new().await;
    let doc = app.send(app.get("GET", "/openapi.json")).await.json();
    let min = roster_domain::values::PasswordPolicy::default().min_chars();
    assert_eq!(
        doc["components"]["schemas"]["UpdateUserRequest"]["allOf"][0]["properties"]["password"]["minLength"],
        min
    );
}

#[test]
fn created_resources_link_to_the_operations_on_them() {
    let doc = serde_json::to_value(crate::openapi()).unwrap();
    let links = &doc["paths"]["/v1/organizations"]["post"]["responses"]["201"]["links"];
    assert_eq!(links["GetOrganization"]["operationId"], "get_organization");
    assert_eq!(links["GetOrganization"]["parameters"]["org_id"], "$response.body#/data/id");
    assert_eq!(links["UpdateOrganization"]["parameters"]["If-Match"], "$response.header.ETag");
    let ids: Vec<&str> = operations(&doc).iter().filter_map(|(_, _, op)| op["operationId"].as_str()).collect();
    for (_, _, op) in operations(&doc) {
        for response in op["responses"].as_object().unwrap().values() {
            for link in response["links"].as_object().into_iter().flat_map(|l| l.values()) {
                assert!(ids.contains(&link["operationId"].as_str().unwrap()), "{link}");
            }
        }
    }
}
