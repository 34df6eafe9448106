//! Credentials end to end: the README walkthrough, password login and its throttling,
//! logout, sessions and personal keys, and what suspending a user does to them.

use chrono::Duration;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{PASSWORD, TestApp};

crate::on_both_backends!(
    the_readme_walkthrough_from_platform_key_to_scoped_personal_key,
    failed_logins_look_alike_and_lock_the_account_with_retry_after,
    logout_ends_the_session_at_once,
    sessions_are_listed_without_tokens_and_revoked_by_an_administrator,
    suspending_a_user_stops_their_session_and_personal_key_at_once,
    personal_keys_are_listed_and_revoked_by_their_user,
);

fn me_of(reply: &crate::harness::Reply) -> Value {
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply.data().clone()
}

async fn the_readme_walkthrough_from_platform_key_to_scoped_personal_key(app: TestApp) {
    // The operator's platform key makes a tenant and a service key for it.
    let org = app.org("acme", json!({})).await;
    let service_key = app.service_key(&org).await;
    let me = me_of(&app.call_as(&service_key, Method::GET, "/v1/me", None).await);
    assert_eq!(me["kind"], "service_key");
    assert_eq!(me["organization_id"], org.as_str());
    assert_eq!(me["permissions"], json!(["*"]), "an unscoped service key may do everything in its org");

    // The service key defines an application role and a user who holds it.
    let role = app
        .call_as(
            &service_key,
            Method::POST,
            &format!("/v1/organizations/{org}/roles"),
            Some(json!({"key": "project-creator", "name": "Project creator", "permissions": ["projects.create"]})),
        )
        .await;
    assert_eq!(role.status, StatusCode::CREATED, "{role:?}");
    assert_eq!(role.data()["permissions"], json!(["projects.create"]));
    assert_eq!(role.data()["builtin"], false);
    let role_id = role.data()["id"].as_str().unwrap().to_owned();
    let member = app.role_id(&org, "member").await;
    let user = app
        .call_as(
            &service_key,
            Method::POST,
            &format!("/v1/organizations/{org}/users"),
            Some(json!({"email": "ada@acme.test", "name": "Ada", "password": PASSWORD, "role_ids": [member, role_id]})),
        )
        .await;
    assert_eq!(user.status, StatusCode::CREATED, "{user:?}");
    assert_eq!(user.data()["status"], "active");
    let user_id = user.data()["id"].as_str().unwrap().to_owned();

    // She logs in with the organization's slug and sees who she is.
    let login = app.login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK, "{login:?}");
    assert_eq!(login.headers["cache-control"], "no-store");
    assert_eq!(login.data()["user_id"], user_id.as_str());
    assert_eq!(login.data()["organization_id"], org.as_str());
    let session = login.data()["token"].as_str().unwrap().to_owned();
    assert!(session.starts_with("rss_"));
    let me = me_of(&app.call_as(&session, Method::GET, "/v1/me", None).await);
    assert_eq!(me["kind"], "session");
    assert_eq!(me["organization_id"], org.as_str());
    assert_eq!(me["user_id"], user_id.as_str());
    let mut role_keys: Vec<&str> = me["roles"].as_array().unwrap().iter().filter_map(|r| r["key"].as_str()).collect();
    role_keys.sort_unstable();
    assert_eq!(role_keys, ["member", "project-creator"]);
    assert_eq!(me["permissions"], json!(["organizations.read", "projects.create", "roles.read", "users.read"]));

    // With her session she makes herself a key that can only read users and create
    // projects: it shows only what both her roles and its scope allow.
    let key = app.personal_key(&session, &org, &user_id, Some(json!(["users.read", "projects.create"]))).await;
    assert_eq!(key["user_id"], user_id.as_str());
    assert_eq!(key["scope"], json!(["projects.create", "users.read"]));
    let secret = key["secret"].as_str().unwrap().to_owned();
    let me = me_of(&app.call_as(&secret, Method::GET, "/v1/me", None).await);
    assert_eq!(me["kind"], "personal_key");
    assert_eq!(me["user_id"], user_id.as_str());
    assert_eq!(me["permissions"], json!(["projects.create", "users.read"]));
    let users = app.call_as(&secret, Method::GET, &format!("/v1/organizations/{org}/users"), None).await;
    assert_eq!(users.status, StatusCode::OK, "{users:?}");
    let roles = app.call_as(&secret, Method::GET, &format!("/v1/organizations/{org}/roles"), None).await;
    assert_eq!(roles.status, StatusCode::FORBIDDEN, "roles.read is outside the key's scope: {roles:?}");

    // A key cannot reach beyond its user, nor can a user escalate.
    let wider = app
        .call_as(
            &session,
            Method::POST,
            &format!("/v1/organizations/{org}/users/{user_id}/api-keys"),
            Some(json!({"name": "wide", "scope": ["users.write"]})),
        )
        .await;
    assert_eq!(wider.status, StatusCode::UNPROCESSABLE_ENTITY, "{wider:?}");
    assert_eq!(wider.fields(), ["scope"]);
}

async fn failed_logins_look_alike_and_lock_the_account_with_retry_after(app: TestApp) {
    let org = app.org("acme", json!({})).await;
    app.active_user(&org, "ada@acme.test", &["member"]).await;
    let attempt = |email: &'static str, password: &'static str| {
        let body = json!({"organization": "acme", "email": email, "password": password});
        app.call_traced("", "login-attempt", Method::POST, "/v1/auth/login", Some(body))
    };

    let wrong_password = attempt("ada@acme.test", "not her password").await;
    let unknown_email = attempt("nobody@acme.test", PASSWORD).await;
    assert_eq!(wrong_password.status, StatusCode::UNAUTHORIZED, "{wrong_password:?}");
    assert_eq!(wrong_password.code(), "unauthenticated");
    assert_eq!(wrong_password.body, unknown_email.body, "the answers tell nothing apart");
    assert_eq!(wrong_password.headers["www-authenticate"], unknown_email.headers["www-authenticate"]);
    let unknown_org = app.login("no-such-org", "ada@acme.test", PASSWORD).await;
    assert_eq!((unknown_org.status, unknown_org.code()), (StatusCode::UNAUTHORIZED, "unauthenticated"));

    // Five failures lock the account: even the right password is refused for a while.
    for _ in 0..4 {
        assert_eq!(attempt("ada@acme.test", "still wrong").await.status, StatusCode::UNAUTHORIZED);
    }
    let locked = app.login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(locked.status, StatusCode::TOO_MANY_REQUESTS, "{locked:?}");
    assert_eq!(locked.code(), "rate_limited");
    assert_eq!(locked.headers["content-type"], "application/problem+json");
    let retry_after: i64 = locked.headers["retry-after"].to_str().unwrap().parse().expect("seconds");
    assert!((1..=31).contains(&retry_after), "{retry_after}");
    // Other accounts are not locked.
    app.active_user(&org, "bob@acme.test", &["member"]).await;
    assert_eq!(app.login("acme", "bob@acme.test", PASSWORD).await.status, StatusCode::OK);

    // Once the lock has passed, the right password works again.
    app.clock.advance(Duration::seconds(retry_after));
    let after = app.login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(after.status, StatusCode::OK, "{after:?}");
}

async fn logout_ends_the_session_at_once(app: TestApp) {
    let org = app.org("acme", json!({})).await;
    app.active_user(&org, "ada@acme.test", &["member"]).await;
    let session = app.session(&org, "ada@acme.test").await;
    assert_eq!(
        app.call_as(&session, Method::GET, &format!("/v1/organizations/{org}"), None).await.status,
        StatusCode::OK
    );

    let out = app.call_as(&session, Method::POST, "/v1/auth/logout", None).await;
    assert_eq!(out.status, StatusCode::NO_CONTENT, "{out:?}");
    for (method, uri) in [(Method::GET, "/v1/me".to_owned()), (Method::GET, format!("/v1/organizations/{org}"))] {
        let after = app.call_as(&session, method, &uri, None).await;
        assert_eq!((after.status, after.code()), (StatusCode::UNAUTHORIZED, "unauthenticated"), "{uri}");
        assert!(after.headers.contains_key("www-authenticate"));
    }
    assert_eq!(app.call_as(&session, Method::POST, "/v1/auth/logout", None).await.status, StatusCode::UNAUTHORIZED);
    // Keys have no session to end.
    let logout_with_key = app.call(Method::POST, "/v1/auth/logout", None).await;
    assert_eq!((logout_with_key.status, logout_with_key.code()), (StatusCode::FORBIDDEN, "forbidden"));
}

async fn sessions_are_listed_without_tokens_and_revoked_by_an_administrator(app: TestApp) {
    let org = app.org("acme", json!({})).await;
    let ada = app.active_user(&org, "ada@acme.test", &["member"]).await;
    let first = app.session(&org, "ada@acme.test").await;
    let second = app.login("acme", "ada@acme.test", PASSWORD).await;
    let (second, second_id) =
        (second.data()["token"].as_str().unwrap().to_owned(), second.data()["session_id"].as_str().unwrap().to_owned());
    let uri = format!("/v1/organizations/{org}/users/{ada}/sessions");

    // Ada sees her own sessions; listings never show tokens.
    let own = app.call_as(&first, Method::GET, &uri, None).await;
    assert_eq!(own.status, StatusCode::OK, "{own:?}");
    let sessions = own.data().as_array().unwrap().clone();
    assert_eq!(sessions.len(), 2);
    assert!(sessions.iter().any(|s| s["id"] == second_id.as_str()), "{sessions:?}");
    for s in &sessions {
        assert_eq!(s["user_id"], ada.as_str());
        assert!(s["expires_at"].is_string() && s["created_at"].is_string(), "{s}");
        assert!(s["client_ip"].is_null(), "the router is driven without a socket: {s}");
        assert!(s.get("token").is_none() && s.get("digest").is_none(), "{s}");
    }
    let text = own.body.to_string();
    assert!(!text.contains(&first) && !text.contains(&second));
    let page = app.call_as(&first, Method::GET, &format!("{uri}?limit=1"), None).await;
    assert_eq!(page.data().as_array().unwrap().len(), 1);
    let cursor = page.body["next_cursor"].as_str().expect("a next page").to_owned();
    let rest = app.call_as(&first, Method::GET, &format!("{uri}?limit=1&cursor={cursor}"), None).await;
    assert_eq!(rest.data().as_array().unwrap().len(), 1);
    assert_ne!(rest.data()[0]["id"], page.data()[0]["id"]);
    assert!(rest.body["next_cursor"].is_null());

    // Another member may not look; an administrator may, and revokes one of them.
    app.active_user(&org, "bob@acme.test", &["member"]).await;
    let bob = app.session(&org, "bob@acme.test").await;
    assert_eq!(app.call_as(&bob, Method::GET, &uri, None).await.status, StatusCode::FORBIDDEN);
    app.active_user(&org, "root@acme.test", &["admin"]).await;
    let admin = app.session(&org, "root@acme.test").await;
    let revoked = app.call_as(&admin, Method::DELETE, &format!("{uri}/{second_id}"), None).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{revoked:?}");
    let again = app.call_as(&admin, Method::DELETE, &format!("{uri}/{second_id}"), None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(app.call_as(&second, Method::GET, "/v1/me", None).await.status, StatusCode::UNAUTHORIZED);
    assert_eq!(app.call_as(&first, Method::GET, "/v1/me", None).await.status, StatusCode::OK);
    let left = app.call_as(&admin, Method::GET, &uri, None).await;
    assert_eq!(left.data().as_array().unwrap().len(), 1, "{left:?}");
}

async fn suspending_a_user_stops_their_session_and_personal_key_at_once(app: TestApp) {
    let org = app.org("acme", json!({})).await;
    let ada = app.active_user(&org, "ada@acme.test", &["member"]).await;
    let session = app.session(&org, "ada@acme.test").await;
    let key = app.personal_key(&session, &org, &ada, None).await;
    assert!(key["scope"].is_null(), "unscoped: {key}");
    let key = key["secret"].as_str().unwrap().to_owned();
    let org_uri = format!("/v1/organizations/{org}");
    for token in [&session, &key] {
        assert_eq!(app.call_as(token, Method::GET, &org_uri, None).await.status, StatusCode::OK);
    }

    let user_uri = format!("{org_uri}/users/{ada}");
    let suspended = app.call(Method::PATCH, &user_uri, Some(json!({"status": "suspended"}))).await;
    assert_eq!(suspended.status, StatusCode::OK, "{suspended:?}");
    for token in [&session, &key] {
        let reply = app.call_as(token, Method::GET, &org_uri, None).await;
        assert_eq!((reply.status, reply.code()), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    }
    let login = app.login("acme", "ada@acme.test", PASSWORD).await;
    assert_eq!(login.status, StatusCode::UNAUTHORIZED, "a suspended user cannot log in: {login:?}");

    // Re-activated, the user's personal key works again; the suspension ended the session
    // for good (a new login is needed).
    let active = app.call(Method::PATCH, &user_uri, Some(json!({"status": "active"}))).await;
    assert_eq!(active.status, StatusCode::OK, "{active:?}");
    assert_eq!(app.call_as(&key, Method::GET, &org_uri, None).await.status, StatusCode::OK);
    let old = app.call_as(&session, Method::GET, &org_uri, None).await;
    assert_eq!((old.status, old.code()), (StatusCode::UNAUTHORIZED, "unauthenticated"));
    let fresh = app.session(&org, "ada@acme.test").await;
    assert_eq!(app.call_as(&fresh, Method::GET, &org_uri, None).await.status, StatusCode::OK);
}

async fn personal_keys_are_listed_and_revoked_by_their_user(app: TestApp) {
    let org = app.org("acme", json!({})).await;
    let ada = app.active_user(&org, "ada@acme.test", &["member"]).await;
    let bob = app.active_user(&org, "bob@acme.test", &["member"]).await;
    let session = app.session(&org, "ada@acme.test").await;
    let created = app.personal_key(&session, &org, &ada, Some(json!(["users.read"]))).await;
    let (id, secret) = (created["id"].as_str().unwrap().to_owned(), created["secret"].as_str().unwrap().to_owned());
    let keys = format!("/v1/organizations/{org}/users/{ada}/api-keys");

    let listed = app.call_as(&session, Method::GET, &keys, None).await;
    assert_eq!(listed.status, StatusCode::OK, "{listed:?}");
    let key = &listed.data()[0];
    assert_eq!((key["id"].as_str(), key["user_id"].as_str()), (Some(&*id), Some(&*ada)));
    assert_eq!(key["scope"], json!(["users.read"]));
    assert!(key.get("secret").is_none() && !listed.body.to_string().contains(&secret));
    assert!(key["last_used_at"].is_null(), "not used yet: {key}");
    assert_eq!(app.call_as(&secret, Method::GET, "/v1/me", None).await.status, StatusCode::OK);
    let used = app.call_as(&session, Method::GET, &keys, None).await;
    assert!(used.data()[0]["last_used_at"].is_string(), "{used:?}");
    // Personal keys are not service keys, and another member cannot touch them.
    let service = app.call(Method::GET, &format!("/v1/organizations/{org}/api-keys"), None).await;
    assert_eq!(service.data().as_array().unwrap().len(), 0, "{service:?}");
    let bob_session = app.session(&org, "bob@acme.test").await;
    let foreign = app.call_as(&bob_session, Method::DELETE, &format!("{keys}/{id}"), None).await;
    assert_eq!(foreign.status, StatusCode::FORBIDDEN, "{foreign:?}");
    let wrong_user =
        app.call(Method::DELETE, &format!("/v1/organizations/{org}/users/{bob}/api-keys/{id}"), None).await;
    assert_eq!(wrong_user.status, StatusCode::NOT_FOUND, "a key is revoked under its own user: {wrong_user:?}");

    let revoked = app.call_as(&session, Method::DELETE, &format!("{keys}/{id}"), None).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT, "{revoked:?}");
    assert_eq!(app.call_as(&secret, Method::GET, "/v1/me", None).await.status, StatusCode::UNAUTHORIZED);
    let after = app.call_as(&session, Method::GET, &keys, None).await;
    assert!(after.data()[0]["revoked_at"].is_string(), "{after:?}");
}
