//! Invitations over the API: list, get, resend, revoke and acceptance, each error code,
//! and the login URLs of users and organizations.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::{DateTime, Duration, Utc};
use roster_domain::outbox::Mail;
use roster_domain::ports::Outbox as _;
use serde_json::{Value, json};

use super::support::{Reply, TestApp, authed};

const PASSWORD: &str = "correct horse battery staple";
const LOGIN_URL: &str = "https://app.acme.example/login";

/// An unauthenticated acceptance.
fn accept(token: &str, password: &str) -> Request<Body> {
    accept_body(&json!({"token": token, "password": password}))
}

fn accept_body(body: &Value) -> Request<Body> {
    Request::post("/v1/invitations/accept")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(body.to_string()))
        .unwrap()
}

fn invitations(org: &str) -> String {
    format!("/v1/organizations/{org}/invitations")
}

/// The org's invitations, as the list shows them.
async fn listed(app: &TestApp, org: &str, query: &str) -> Value {
    let reply = app.send(app.get("GET", &format!("{}{query}", invitations(org)))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    reply.json()
}

/// The only invitation of the org.
async fn only_invitation(app: &TestApp, org: &str) -> Value {
    let list = listed(app, org, "").await;
    assert_eq!(list["data"].as_array().unwrap().len(), 1, "{list}");
    list["data"][0].clone()
}

fn post_with(app: &TestApp, uri: &str, if_match: &str) -> Request<Body> {
    authed("POST", uri, &app.key).header(header::IF_MATCH, if_match).body(Body::empty()).unwrap()
}

fn time(v: &Value) -> DateTime<Utc> {
    v.as_str().unwrap().parse().unwrap()
}

#[tokio::test]
async fn an_invitee_accepts_with_the_emailed_token_and_becomes_active() {
    let app = TestApp::new().await;
    let org = app.org("acme").await;
    let body = json!({"email": "ada@example.com", "name": "Ada", "role": "admin", "login_url": LOGIN_URL});
    let created = app.send(app.json("POST", &format!("/v1/organizations/{org}/users"), &body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text());
    let user = created.json()["data"].clone();
    assert_eq!(user["status"], "invited");
    let token = app.invitation_token("ada@example.com").await;
    assert!(token.starts_with("rsi_"), "{token}");

    let inv = only_invitation(&app, &org).await;
    assert_eq!(inv["status"], "pending");
    assert_eq!(inv["organization_id"], org.as_str());
    assert_eq!(inv["user_id"], user["id"]);
    assert_eq!(inv["email"], "ada@example.com");
    assert_eq!(inv["role_ids"], user["role_ids"]);
    assert_eq!(inv["login_url"], LOGIN_URL);
    assert_eq!(inv["invited_by"].as_str().unwrap().split(':').next(), Some("api_key"));
    assert_eq!(inv["version"], 1);
    assert!(time(&inv["expires_at"]) > time(&inv["created_at"]) + Duration::days(6), "{inv}");
    assert_eq!((inv["accepted_at"].clone(), inv["revoked_at"].clone()), (Value::Null, Value::Null));
    let keys: Vec<&str> = inv.as_object().unwrap().keys().map(String::as_str).collect();
    assert!(!keys.iter().any(|k| k.contains("token") || k.contains("digest")), "{keys:?}");

    let uri = format!("{}/{}", invitations(&org), inv["id"].as_str().unwrap());
    let reply = app.send(app.get("GET", &uri)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header("etag"), "\"1\"");
    assert_eq!(reply.json()["data"], inv);
    assert!(!reply.text().contains(&token));

    // An invited user cannot log in yet.
    app.login("acme", "ada@example.com", PASSWORD).await.problem(401, "unauthenticated");

    let reply = app.send(accept(&token, PASSWORD)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    let accepted = reply.json()["data"].clone();
    assert_eq!(accepted["status"], "active");
    assert_eq!(accepted["id"], user["id"]);
    assert_eq!(accepted["organization"]["slug"], "acme");
    assert_eq!(reply.header("etag"), format!("\"{}\"", accepted["version"]));
    let fetched = app.send(app.get("GET", &format!("/v1/organizations/{org}/users/{}", user["id"].as_str().unwrap())));
    assert_eq!(fetched.await.json()["data"], accepted, "the same representation as GET user");
    assert_eq!(app.login("acme", "ada@example.com", PASSWORD).await.status, StatusCode::OK);

    let inv = app.send(app.get("GET", &uri)).await.json()["data"].clone();
    assert_eq!(inv["status"], "accepted");
    assert!(inv["accepted_at"].is_string());
    assert_eq!(inv["version"], 2);

    // Single use.
    let body = app.send(accept(&token, PASSWORD)).await.problem(409, "invitation_already_accepted");
    assert!(body["detail"].as_str().unwrap().contains("already accepted"), "{body}");
}

#[tokio::test]
async fn acceptances_with_unknown_tokens_or_bad_bodies_are_refused() {
    let app = TestApp::new().await;
    let org = app.org("acme").await;
    app.invite(&org, "ada@example.com").await;
    let token = app.invitation_token("ada@example.com").await;

    for unknown in ["rsi_nope", "", "not even a token", "rst_AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg"] {
        let body = app.send(accept(unknown, PASSWORD)).await.problem(404, "invitation_invalid");
        assert!(!body["detail"].as_str().unwrap().contains("acme"), "{body}");
    }
    let body = app.send(accept(&token, "short")).await.problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "password", "{body}");
    let body = app.send(accept(&token, "ada@example.com")).await.problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "password", "{body}");
    let body = app.send(accept_body(&json!({"token": token}))).await.problem(422, "validation_failed");
    assert_eq!((&body["errors"][0]["field"], &body["errors"][0]["code"]), (&json!("password"), &json!("required")));
    let body = app.send(accept_body(&json!({"token": token, "password": PASSWORD, "admin": true}))).await;
    assert_eq!(body.problem(422, "validation_failed")["errors"][0]["code"], "unknown_field");
    let not_json = Request::post("/v1/invitations/accept").body(Body::from("token=x")).unwrap();
    app.send(not_json).await.problem(415, "unsupported_media_type");

    // None of that used the invitation up.
    assert_eq!(app.send(accept(&token, PASSWORD)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn resending_replaces_the_link_and_renews_the_expiry() {
    let app = TestApp::with_clock().await;
    let org = app.org("acme").await;
    app.invite(&org, "ada@example.com").await;
    let old = app.invitation_token("ada@example.com").await;
    let inv = only_invitation(&app, &org).await;
    let uri = format!("{}/{}", invitations(&org), inv["id"].as_str().unwrap());

    app.advance(Duration::hours(1));
    let reply = app.send(post_with(&app, &format!("{uri}/resend"), "\"1\"")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header("etag"), "\"2\"");
    let resent = reply.json()["data"].clone();
    assert_eq!(resent["status"], "pending");
    assert_eq!(time(&resent["expires_at"]) - time(&inv["expires_at"]), Duration::hours(1));
    let new = app.invitation_token("ada@example.com").await;
    assert_ne!(new, old);

    app.send(accept(&old, PASSWORD)).await.problem(404, "invitation_invalid");
    app.send(post_with(&app, &format!("{uri}/resend"), "\"1\"")).await.problem(412, "version_mismatch");
    assert_eq!(app.send(accept(&new, PASSWORD)).await.status, StatusCode::OK);

    let body = app.send(app.get("POST", &format!("{uri}/resend"))).await.problem(409, "invitation_not_pending");
    assert!(body["detail"].as_str().unwrap().contains("accepted"), "{body}");
    app.send(app.get("POST", &format!("{uri}/revoke"))).await.problem(409, "invitation_not_pending");
}

#[tokio::test]
async fn revoking_kills_the_link_and_frees_the_seat() {
    let app = TestApp::new().await;
    let reply =
        app.send(app.json("POST", "/v1/organizations", &json!({"slug": "acme", "name": "Acme", "seat_limit": 1})));
    let org = reply.await.json()["data"]["id"].as_str().unwrap().to_owned();
    let user = app.invite(&org, "ada@example.com").await;
    let token = app.invitation_token("ada@example.com").await;
    let users = format!("/v1/organizations/{org}/users");
    let bob = json!({"email": "bob@example.com", "name": "Bob"});
    app.send(app.json("POST", &users, &bob)).await.problem(409, "seat_limit_reached");

    let inv = only_invitation(&app, &org).await;
    let uri = format!("{}/{}", invitations(&org), inv["id"].as_str().unwrap());
    app.send(post_with(&app, &format!("{uri}/revoke"), "\"7\"")).await.problem(412, "version_mismatch");
    let reply = app.send(post_with(&app, &format!("{uri}/revoke"), "\"1\"")).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    assert_eq!(reply.header("etag"), "\"2\"");
    let revoked = reply.json()["data"].clone();
    assert_eq!(revoked["status"], "revoked");
    assert!(revoked["revoked_at"].is_string());

    app.send(app.get("GET", &format!("{users}/{user}"))).await.problem(404, "not_found");
    assert_eq!(app.send(app.json("POST", &users, &bob)).await.status, StatusCode::CREATED);
    let body = app.send(accept(&token, PASSWORD)).await.problem(410, "invitation_revoked");
    assert!(body["detail"].as_str().unwrap().contains("revoked"), "{body}");
    app.send(app.get("POST", &format!("{uri}/revoke"))).await.problem(409, "invitation_not_pending");
    app.send(app.get("POST", &format!("{uri}/resend"))).await.problem(409, "invitation_not_pending");
}

#[tokio::test]
async fn an_expired_invitation_answers_410_until_it_is_resent() {
    let app = TestApp::with_clock().await;
    let org = app.org("acme").await;
    app.invite(&org, "ada@example.com").await;
    let token = app.invitation_token("ada@example.com").await;
    app.advance(Duration::days(7));

    let body = app.send(accept(&token, PASSWORD)).await.problem(410, "invitation_expired");
    assert!(body["detail"].as_str().unwrap().contains("expired"), "{body}");
    let inv = only_invitation(&app, &org).await;
    assert_eq!(inv["status"], "expired");
    let uri = format!("{}/{}", invitations(&org), inv["id"].as_str().unwrap());
    assert_eq!(app.send(app.get("GET", &uri)).await.json()["data"]["status"], "expired");

    let reply = app.send(app.get("POST", &format!("{uri}/resend"))).await;
    assert_eq!(reply.json()["data"]["status"], "pending", "{}", reply.text());
    let token = app.invitation_token("ada@example.com").await;
    assert_eq!(app.send(accept(&token, PASSWORD)).await.status, StatusCode::OK);
}

#[tokio::test]
async fn lists_filter_by_status_and_page_with_a_cursor() {
    let app = TestApp::with_clock().await;
    let org = app.org("acme").await;
    for name in ["a", "b", "c", "d"] {
        app.invite(&org, &format!("{name}@example.com")).await;
    }
    let all = listed(&app, &org, "").await["data"].clone();
    let id = |i: usize| all[i]["id"].as_str().unwrap().to_owned();
    let token = app.invitation_token("a@example.com").await;
    assert_eq!(app.send(accept(&token, PASSWORD)).await.status, StatusCode::OK);
    let reply = app.send(app.get("POST", &format!("{}/{}/revoke", invitations(&org), id(1)))).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.text());
    app.advance(Duration::days(6));
    app.send(app.get("POST", &format!("{}/{}/resend", invitations(&org), id(3)))).await;
    app.advance(Duration::days(2));

    let ids = |list: &Value| -> Vec<String> {
        list["data"].as_array().unwrap().iter().map(|i| i["id"].as_str().unwrap().to_owned()).collect()
    };
    assert_eq!(ids(&listed(&app, &org, "?status=accepted").await), [id(0)]);
    assert_eq!(ids(&listed(&app, &org, "?status=revoked").await), [id(1)]);
    assert_eq!(ids(&listed(&app, &org, "?status=expired").await), [id(2)]);
    assert_eq!(ids(&listed(&app, &org, "?status=pending").await), [id(3)]);

    let first = listed(&app, &org, "?limit=3").await;
    assert_eq!(ids(&first), [id(0), id(1), id(2)]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let rest = listed(&app, &org, &format!("?limit=3&cursor={cursor}")).await;
    assert_eq!(ids(&rest), [id(3)]);
    assert_eq!(rest["next_cursor"], Value::Null);

    let list = invitations(&org);
    let body = app.send(app.get("GET", &format!("{list}?status=lost"))).await.problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "status");
    let body = app.send(app.get("GET", &format!("{list}?limit=0"))).await.problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "limit");
    let body = app.send(app.get("GET", &format!("{list}?cursor=bogus"))).await.problem(422, "validation_failed");
    assert_eq!(body["errors"][0]["field"], "cursor");
    app.send(app.get("GET", &format!("{list}?bogus=1"))).await.problem(400, "invalid_query");
}

#[tokio::test]
async fn invitations_out_of_reach_are_not_found() {
    let app = TestApp::new().await;
    let (acme, other) = (app.org("acme").await, app.org("other").await);
    app.invite(&acme, "ada@example.com").await;
    let inv = only_invitation(&app, &acme).await;
    let id = inv["id"].as_str().unwrap();

    app.send(app.get("GET", &format!("{}/{id}", invitations(&other)))).await.problem(404, "not_found");
    app.send(app.get("POST", &format!("{}/{id}/resend", invitations(&other)))).await.problem(404, "not_found");
    app.send(app.get("POST", &format!("{}/{id}/revoke", invitations(&other)))).await.problem(404, "not_found");
    let random = uuid::Uuid::now_v7();
    app.send(app.get("GET", &format!("{}/{random}", invitations(&acme)))).await.problem(404, "not_found");
    app.send(app.get("GET", &format!("{}/nope", invitations(&acme)))).await.problem(400, "invalid_id");
    let anonymous = Request::get(invitations(&acme)).body(Body::empty()).unwrap();
    app.send(anonymous).await.problem(401, "unauthenticated");

    // A member may not see invitations.
    app.user(&acme, "mia@example.com", PASSWORD, "member").await;
    let session = app.login("acme", "mia@example.com", PASSWORD).await.json()["data"]["token"].clone();
    let session = session.as_str().unwrap();
    app.send(app.json_as(session, "GET", &invitations(&acme), &Value::Null)).await.problem(403, "forbidden");
}

#[tokio::test]
async fn generated_passwords_are_emailed_to_the_login_url() {
    let app = TestApp::new().await;
    let org = app.org("acme").await;
    let users = format!("/v1/organizations/{org}/users");
    let body = json!({"email": "ada@example.com", "name": "Ada", "generate_password": true});
    let problem = app.send(app.json("POST", &users, &body)).await.problem(422, "validation_failed");
    assert_eq!(problem["errors"][0]["field"], "login_url", "{problem}");
    let bad = json!({"email": "ada@example.com", "name": "Ada", "generate_password": true, "login_url": "ftp://x"});
    let problem = app.send(app.json("POST", &users, &bad)).await.problem(422, "validation_failed");
    assert_eq!(problem["errors"][0]["field"], "login_url", "{problem}");

    // The organization's default serves when the request gives none.
    let reply =
        app.send(app.json("PATCH", &format!("/v1/organizations/{org}"), &json!({"default_login_url": LOGIN_URL})));
    assert_eq!(reply.await.json()["data"]["default_login_url"], LOGIN_URL);
    let reply = app.send(app.json("POST", &users, &body)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let password = reply.json()["data"]["generated_password"].as_str().unwrap().to_owned();
    let messages = app.storage.list_messages(None, 100).await.unwrap();
    let mail = messages.iter().find_map(|m| match &m.mail {
        Some(Mail::Credentials { login_url, password, .. }) => Some((login_url.clone(), password.clone())),
        _ => None,
    });
    assert_eq!(mail, Some((LOGIN_URL.to_owned(), password)));
}

#[tokio::test]
async fn organizations_carry_a_nullable_default_login_url() {
    let app = TestApp::new().await;
    let body = json!({"slug": "acme", "name": "Acme", "default_login_url": LOGIN_URL});
    let reply = app.send(app.json("POST", "/v1/organizations", &body)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    let org = reply.json()["data"].clone();
    assert_eq!(org["default_login_url"], LOGIN_URL);
    let uri = format!("/v1/organizations/{}", org["id"].as_str().unwrap());
    let cleared: Reply = app.send(app.json("PATCH", &uri, &json!({"default_login_url": null}))).await;
    assert_eq!(cleared.json()["data"]["default_login_url"], Value::Null, "{}", cleared.text());
    let body = app.send(app.json("PATCH", &uri, &json!({"default_login_url": "not a url"}))).await;
    assert_eq!(body.problem(422, "validation_failed")["errors"][0]["field"], "default_login_url");
    let other = app.send(app.json("POST", "/v1/organizations", &json!({"slug": "other", "name": "Other"}))).await;
    assert_eq!(other.json()["data"]["default_login_url"], Value::Null);
}

#[test]
fn the_document_describes_the_invitation_operations() {
    let doc = serde_json::to_value(crate::openapi()).unwrap();
    let paths = &doc["paths"];
    let accept = &paths["/v1/invitations/accept"]["post"];
    assert!(accept.get("security").is_none());
    assert_eq!(accept["responses"]["410"]["$ref"], "#/components/responses/Gone");
    for (path, method) in [
        ("/v1/organizations/{org_id}/invitations", "get"),
        ("/v1/organizations/{org_id}/invitations/{invitation_id}", "get"),
        ("/v1/organizations/{org_id}/invitations/{invitation_id}/resend", "post"),
        ("/v1/organizations/{org_id}/invitations/{invitation_id}/revoke", "post"),
    ] {
        assert_eq!(paths[path][method]["tags"][0], "invitations", "{method} {path}");
    }
    assert!(paths.get("/invite/{token}").is_none(), "the HTML page is not part of the API");
    let schemas = &doc["components"]["schemas"];
    let invitation = &schemas["Invitation"]["properties"];
    assert_eq!(invitation["status"]["$ref"], "#/components/schemas/InvitationStatus");
    assert!(invitation.get("token").is_none() && invitation.get("digest").is_none());
    assert_eq!(schemas["AcceptInvitationRequest"]["properties"]["password"]["minLength"], 12);
    assert!(schemas["CreateUserRequest"]["allOf"][0]["properties"]["login_url"]["pattern"].is_string());
    assert!(schemas["Organization"]["properties"]["default_login_url"].is_object());
    assert!(schemas["UpdateOrganizationRequest"]["properties"]["default_login_url"]["pattern"].is_string());
}
