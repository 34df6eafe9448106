//! What the handlers add around the use cases: envelopes, `Location`, `ETag` and
//! `If-Match`, PATCH nulls, secrets shown once.

use axum::body::Body;
use axum::http::{StatusCode, header};
use serde_json::json;

use super::support::{TestApp, authed};

#[tokio::test]
async fn single_resources_carry_their_version_as_etag_and_honour_if_match() {
    let app = TestApp::new().await;
    let reply = app.send(app.json("POST", "/v1/organizations", &json!({"slug": "acme", "name": "Acme"}))).await;
    assert_eq!(reply.status, StatusCode::CREATED);
    assert_eq!(reply.header("etag"), "\"1\"");
    let id = reply.json()["data"]["id"].as_str().unwrap().to_owned();
    let uri = format!("/v1/organizations/{id}");
    assert_eq!(reply.header("location"), uri);
    assert_eq!(app.send(app.get("GET", &uri)).await.header("etag"), "\"1\"");

    let patch = |if_match: &str, name: &str| {
        authed("PATCH", &uri, &app.key)
            .header(header::CONTENT_TYPE, "application/json")
            .header(header::IF_MATCH, if_match)
            .body(Body::from(json!({"name": name}).to_string()))
            .unwrap()
    };
    let reply = app.send(patch("\"1\"", "Acme 2")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header("etag"), "\"2\"");
    assert_eq!(reply.json()["data"]["version"], 2);

    let body = app.send(patch("\"1\"", "stale")).await.problem(412, "version_mismatch");
    assert!(body["detail"].as_str().unwrap().contains('2'), "{body}");
    assert_eq!(app.send(patch("W/\"2\"", "Acme 3")).await.header("etag"), "\"3\"");
    assert_eq!(app.send(patch("*", "Acme 4")).await.header("etag"), "\"4\"");

    let delete = |if_match: &str| authed("DELETE", &uri, &app.key).header(header::IF_MATCH, if_match);
    app.send(delete("\"3\"").body(Body::empty()).unwrap()).await.problem(412, "version_mismatch");
    let reply = app.send(delete("\"4\"").body(Body::empty()).unwrap()).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT);
    assert!(reply.body.is_empty());
}

#[tokio::test]
async fn patch_null_clears_and_absent_keeps() {
    let app = TestApp::new().await;
    let org = app.org("acme").await;
    let uri = format!("/v1/organizations/{org}");
    let reply = app.send(app.json("PATCH", &uri, &json!({"domain": "acme.example", "description": "d"}))).await;
    assert_eq!(reply.json()["data"]["domain"], "acme.example");
    let data = app.send(app.json("PATCH", &uri, &json!({"domain": null}))).await.json()["data"].clone();
    assert_eq!(data["domain"], serde_json::Value::Null);
    assert_eq!(data["description"], "d");
    let body = app.send(app.json("PATCH", &uri, &json!({"name": null}))).await.problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "name");
}

#[tokio::test]
async fn a_generated_password_is_returned_only_when_generated() {
    let app = TestApp::new().await;
    let org = app.org("acme").await;
    let uri = format!("/v1/organizations/{org}/users");
    let reply = app
        .send(app.json(
            "POST",
            &uri,
            &json!({"email": "ada@example.com", "name": "Ada", "generate_password": true,
                "login_url": "https://app.acme.example/login"}),
        ))
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    assert_eq!(reply.header("cache-control"), "no-store");
    let data = &reply.json()["data"];
    assert!(data["generated_password"].as_str().is_some_and(|p| p.len() >= 20), "{data}");
    assert_eq!(data["status"], "active");
    assert_eq!(data["organization"]["slug"], "acme");
    assert!(data.get("password_hash").is_none());
    let user_uri = format!("{uri}/{}", data["id"].as_str().unwrap());
    assert_eq!(reply.header("location"), user_uri);
    assert_eq!(reply.header("etag"), "\"1\"");

    let fetched = app.send(app.get("GET", &user_uri)).await.json();
    assert!(fetched["data"].get("generated_password").is_none());

    let reply = app.send(app.json("POST", &uri, &json!({"email": "bob@example.com", "name": "Bob"}))).await;
    let data = &reply.json()["data"];
    assert!(data.get("generated_password").is_none(), "{data}");
    assert_eq!(data["status"], "invited");

    let list = app.send(app.get("GET", &format!("{uri}?sort=email&limit=1"))).await.json();
    assert_eq!(list["data"][0]["email"], "ada@example.com");
    assert_eq!(list["data"][0]["organization"]["slug"], "acme");
    assert!(list["next_cursor"].is_string());
}

#[tokio::test]
async fn batch_delete_reports_per_id() {
    let app = TestApp::new().await;
    let org = app.org("acme").await;
    let users = format!("/v1/organizations/{org}/users");
    let created = app.send(app.json("POST", &users, &json!({"email": "a@example.com", "name": "A"}))).await.json();
    let id = created["data"]["id"].as_str().unwrap().to_owned();
    let reply =
        app.send(app.json("POST", &format!("{users}/batch-delete"), &json!({"user_ids": [id.clone(), "nope"]}))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(
        reply.json(),
        json!({"data": [{"user_id": id, "result": "deleted"}, {"user_id": "nope", "result": "not_found"}]})
    );
    let body = app
        .send(app.json("POST", &format!("{users}/batch-delete"), &json!({})))
        .await
        .problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "user_ids");
}

#[tokio::test]
async fn an_api_key_secret_is_shown_once() {
    let app = TestApp::new().await;
    let org = app.org("acme").await;
    let uri = format!("/v1/organizations/{org}/api-keys");
    let reply = app.send(app.json("POST", &uri, &json!({"name": "ci"}))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let data = reply.json()["data"].clone();
    let secret = data["secret"].as_str().unwrap().to_owned();
    assert!(secret.starts_with("rst_"));
    assert_eq!(data["organization_id"], org.as_str());

    let list = app.send(app.get("GET", &uri)).await;
    assert!(!list.text().contains(&secret));
    assert!(list.json()["data"][0].get("secret").is_none());

    // The new key works, then stops working once revoked.
    let own = app.send(authed("GET", &format!("/v1/organizations/{org}"), &secret).body(Body::empty()).unwrap()).await;
    assert_eq!(own.status, StatusCode::OK);
    let key_uri = format!("{uri}/{}", data["id"].as_str().unwrap());
    assert_eq!(app.send(app.get("DELETE", &key_uri)).await.status, StatusCode::NO_CONTENT);
    let after =
        app.send(authed("GET", &format!("/v1/organizations/{org}"), &secret).body(Body::empty()).unwrap()).await;
    after.problem(401, "unauthenticated");
}
