//! What this crate adds to access control: login and its throttling answers, session
//! tokens as bearer credentials, the client address, request ids in audit events, the
//! 409s of roles and the document of the new operations.

use std::net::SocketAddr;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use serde_json::{Value, json};

use super::support::{TestApp, authed};

const PASSWORD: &str = "correct horse battery staple";

#[tokio::test]
async fn a_login_answers_a_session_token_that_authenticates_until_logout() {
    let app = TestApp::new().await;
    let org = app.org("acme").await;
    let user = app.user(&org, "ada@example.com", PASSWORD, "admin").await;

    let reply = app.login("acme", "ada@example.com", PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header("cache-control"), "no-store");
    let data = reply.json()["data"].clone();
    let token = data["token"].as_str().unwrap().to_owned();
    assert!(token.starts_with("rss_"), "{data}");
    assert_eq!((data["user_id"].as_str(), data["organization_id"].as_str()), (Some(&*user), Some(&*org)));
    assert!(data["session_id"].is_string() && data["expires_at"].is_string(), "{data}");

    let me = app.send(app.json_as(&token, "GET", "/v1/me", &Value::Null)).await;
    assert_eq!(me.status, StatusCode::OK, "{}", me.text());
    let me = me.json()["data"].clone();
    assert_eq!(me["kind"], "session");
    assert_eq!(me["user_id"], user.as_str());
    assert_eq!(me["roles"][0]["key"], "admin");
    assert!(me["permissions"].as_array().unwrap().contains(&json!("users.write")), "{me}");

    let out = app.send(app.json_as(&token, "POST", "/v1/auth/logout", &Value::Null)).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{}", out.text());
    app.send(app.json_as(&token, "GET", "/v1/me", &Value::Null)).await.problem(401, "unauthenticated");
    // An API key has no session to end.
    app.send(app.get("POST", "/v1/auth/logout")).await.problem(403, "forbidden");
}

#[tokio::test]
async fn failed_logins_look_alike_and_then_answer_429_with_retry_after() {
    let app = TestApp::new().await;
    let org = app.org("acme").await;
    app.user(&org, "ada@example.com", PASSWORD, "member").await;

    let wrong = app.login("acme", "ada@example.com", "not the password").await;
    let unknown = app.login("acme", "nobody@example.com", PASSWORD).await;
    let (mut a, mut b) = (wrong.problem(401, "unauthenticated"), unknown.problem(401, "unauthenticated"));
    a["request_id"] = Value::Null;
    b["request_id"] = Value::Null;
    assert_eq!(a, b);
    assert_eq!(wrong.header("www-authenticate"), unknown.header("www-authenticate"));

    for _ in 0..4 {
        app.login("acme", "ada@example.com", "not the password").await.problem(401, "unauthenticated");
    }
    let limited = app.login("acme", "ada@example.com", PASSWORD).await;
    limited.problem(429, "rate_limited");
    let seconds: u64 = limited.header("retry-after").parse().expect("seconds");
    assert!((1..=31).contains(&seconds), "{seconds}");
}

#[tokio::test]
async fn login_bodies_are_validated_and_never_echo_the_password() {
    let app = TestApp::new().await;
    let req = |body: Value| {
        Request::post("/v1/auth/login")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    };
    let reply = app.send(req(json!({"email": "ada@example.com", "password": "secret-value"}))).await;
    let body = reply.problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "organization");
    assert!(!reply.text().contains("secret-value"));
    app.send(req(json!({"organization": "a", "email": "a@b.c", "password": "x", "remember": true})))
        .await
        .problem(422, "validation_failed");
}

#[tokio::test]
async fn the_client_address_is_recorded_when_the_server_knows_it() {
    let app = TestApp::new().await;
    let org = app.org("acme").await;
    let user = app.user(&org, "ada@example.com", PASSWORD, "member").await;
    let addr: SocketAddr = "203.0.113.7:50123".parse().unwrap();
    let with_addr = Request::post("/v1/auth/login")
        .header(header::CONTENT_TYPE, "application/json")
        .extension(ConnectInfo(addr))
        .body(Body::from(json!({"organization": org, "email": "ada@example.com", "password": PASSWORD}).to_string()))
        .unwrap();
    assert_eq!(app.send(with_addr).await.status, StatusCode::OK);
    assert_eq!(app.login(&org, "ada@example.com", PASSWORD).await.status, StatusCode::OK);

    let sessions = app.send(app.get("GET", &format!("/v1/organizations/{org}/users/{user}/sessions"))).await;
    assert_eq!(sessions.status, StatusCode::OK, "{}", sessions.text());
    let mut ips: Vec<Value> =
        sessions.json()["data"].as_array().unwrap().iter().map(|s| s["client_ip"].clone()).collect();
    ips.sort_by_key(Value::is_null);
    assert_eq!(ips, [json!("203.0.113.7"), Value::Null]);
    assert!(!sessions.text().contains("rss_"), "no tokens in listings");
}

#[tokio::test]
async fn audit_events_carry_the_request_id_of_the_change() {
    let app = TestApp::new().await;
    let org = app.org("acme").await;
    let req = authed("POST", &format!("/v1/organizations/{org}/roles"), &app.key)
        .header(header::CONTENT_TYPE, "application/json")
        .header("x-request-id", "req-role-1")
        .body(Body::from(json!({"key": "billing", "name": "Billing", "permissions": ["projects.create"]}).to_string()))
        .unwrap();
    let created = app.send(req).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let role = created.json()["data"]["id"].as_str().unwrap().to_owned();

    let events =
        app.send(app.get("GET", &format!("/v1/organizations/{org}/audit-events?action=role.created"))).await.json();
    let event = &events["data"][0];
    assert_eq!(event["request_id"], "req-role-1", "{events}");
    assert_eq!(event["target_type"], "role");
    assert_eq!(event["target_id"], role.as_str());
    assert_eq!(event["details"]["key"], "billing");
    assert!(events["data"].as_array().unwrap().len() == 1 && events["next_cursor"].is_null(), "{events}");
}

#[tokio::test]
async fn roles_carry_their_version_and_built_ins_do_not_change() {
    let app = TestApp::new().await;
    let org = app.org("acme").await;
    let roles = format!("/v1/organizations/{org}/roles");
    let reply = app.send(app.json("POST", &roles, &json!({"key": "ops", "name": "Ops", "permissions": []}))).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let id = reply.json()["data"]["id"].as_str().unwrap().to_owned();
    assert_eq!(reply.header("location"), format!("{roles}/{id}"));
    assert_eq!(reply.header("etag"), "\"1\"");

    let list = app.send(app.get("GET", &roles)).await.json();
    let owner = list["data"].as_array().unwrap().iter().find(|r| r["key"] == "owner").unwrap().clone();
    assert_eq!((owner["builtin"].clone(), owner["permissions"].clone()), (json!(true), json!(["*"])));
    assert!(list["next_cursor"].is_null());
    let owner_uri = format!("{roles}/{}", owner["id"].as_str().unwrap());
    app.send(app.json("PATCH", &owner_uri, &json!({"name": "Boss"}))).await.problem(409, "immutable_role");
    app.send(app.get("DELETE", &owner_uri)).await.problem(409, "immutable_role");
    app.send(app.json("POST", &roles, &json!({"key": "ops", "name": "Again", "permissions": []})))
        .await
        .problem(409, "role_key_taken");

    let uri = format!("{roles}/{id}");
    let stale = authed("DELETE", &uri, &app.key).header(header::IF_MATCH, "\"2\"").body(Body::empty()).unwrap();
    app.send(stale).await.problem(412, "version_mismatch");
    let body = app.send(app.get("DELETE", &format!("{uri}?reassign_to=nope"))).await.problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "reassign_to");
    let reply = app.send(app.get("DELETE", &uri)).await;
    assert_eq!(reply.status, StatusCode::NO_CONTENT, "an unused role needs no reassignment: {}", reply.text());
    app.send(app.get("GET", &uri)).await.problem(404, "not_found");
    app.send(app.get("DELETE", &format!("{uri}?bogus=1"))).await.problem(400, "invalid_query");
}

#[tokio::test]
async fn the_document_describes_every_access_control_operation() {
    let doc = serde_json::to_value(crate::openapi()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    let expected = [
        ("/v1/auth/login", "post"),
        ("/v1/auth/logout", "post"),
        ("/v1/me", "get"),
        ("/v1/organizations/{org_id}/roles", "get"),
        ("/v1/organizations/{org_id}/roles", "post"),
        ("/v1/organizations/{org_id}/roles/{role_id}", "get"),
        ("/v1/organizations/{org_id}/roles/{role_id}", "patch"),
        ("/v1/organizations/{org_id}/roles/{role_id}", "delete"),
        ("/v1/organizations/{org_id}/users/{user_id}/permissions", "get"),
        ("/v1/organizations/{org_id}/users/{user_id}/permissions", "post"),
        ("/v1/organizations/{org_id}/users/{user_id}/permissions/{grant_id}", "get"),
        ("/v1/organizations/{org_id}/users/{user_id}/permissions/{grant_id}", "patch"),
        ("/v1/organizations/{org_id}/users/{user_id}/permissions/{grant_id}", "delete"),
        ("/v1/organizations/{org_id}/users/{user_id}/effective-permissions", "get"),
        ("/v1/organizations/{org_id}/permission-checks", "post"),
        ("/v1/organizations/{org_id}/users/{user_id}/api-keys", "get"),
        ("/v1/organizations/{org_id}/users/{user_id}/api-keys", "post"),
        ("/v1/organizations/{org_id}/users/{user_id}/api-keys/{key_id}", "delete"),
        ("/v1/organizations/{org_id}/users/{user_id}/sessions", "get"),
        ("/v1/organizations/{org_id}/users/{user_id}/sessions/{session_id}", "delete"),
        ("/v1/organizations/{org_id}/audit-events", "get"),
    ];
    for (path, method) in expected {
        let op = &paths[path][method];
        assert!(op.is_object(), "{method} {path} is not documented");
        let secured = op.get("security").is_some();
        assert_eq!(secured, path != "/v1/auth/login", "{method} {path}");
        assert!(op["responses"]["400"].is_object(), "{method} {path}");
        if secured {
            assert!(op["responses"]["401"].is_object(), "{method} {path}");
        }
    }
    let login = &paths["/v1/auth/login"]["post"]["responses"];
    assert_eq!(login["429"]["$ref"], "#/components/responses/TooManyRequests");
    let too_many = &doc["components"]["responses"]["TooManyRequests"];
    assert_eq!(too_many["headers"]["Retry-After"]["schema"]["type"], "integer", "{too_many}");
    let schemas = &doc["components"]["schemas"];
    for name in ["Role", "Grant", "Session", "AuditEvent", "Caller", "LoginResponse", "PermissionCheckResult"] {
        assert!(schemas[name].is_object(), "{name}");
    }
    assert!(schemas["Organization"]["properties"]["partner"].is_object());
    assert!(schemas["ApiKey"]["properties"]["scope"].is_object());
    let pattern = schemas["CreateGrantRequest"]["properties"]["permission"]["pattern"].as_str().unwrap();
    assert!(pattern.contains("[a-z][a-z0-9_]"), "{pattern}");
}

#[tokio::test]
async fn a_thousand_permission_checks_fit_in_one_request() {
    let app = TestApp::new().await;
    let org = app.org("acme").await;
    let user = app.user(&org, "ada@example.com", PASSWORD, "member").await;
    let long = format!("{}.{}", "r".repeat(63), "a".repeat(63));
    let checks: Vec<Value> = (0..1000).map(|_| json!({"user_id": user, "permission": long})).collect();
    let body = json!({ "checks": checks });
    assert!(body.to_string().len() > crate::MAX_BODY_BYTES);
    let uri = format!("/v1/organizations/{org}/permission-checks");
    let reply = app.send(app.json("POST", &uri, &body)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.json()["data"].as_array().unwrap().len(), 1000);
    assert_eq!(
        reply.json()["data"][999],
        json!({"user_id": user, "permission": long, "allowed": false, "user_found": true})
    );
    // Other bodies keep the usual limit.
    let big = json!({"slug": "big", "name": "x".repeat(crate::MAX_BODY_BYTES)});
    app.send(app.json("POST", "/v1/organizations", &big)).await.problem(413, "payload_too_large");
    let huge = json!({"checks": [{"user_id": user, "permission": "x".repeat(crate::MAX_CHECKS_BODY_BYTES)}]});
    app.send(app.json("POST", &uri, &huge)).await.problem(413, "payload_too_large");
}
