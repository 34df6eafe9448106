//! The permission matrix: who may do what, as the API answers it. Each row is a kind of
//! caller, each column a request against an organization; a cell is the exact status.
//! It reads as the specification of rules 5, 7 and 10 and of the built-in roles.

use std::fmt::Write as _;

use chrono::Duration;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::TestApp;

crate::on_both_backends!(every_caller_gets_exactly_the_answers_its_rights_allow);

/// The callers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    /// The operator's platform key.
    Platform,
    /// A partner organization's service key, on a child organization.
    PartnerOnChild,
    /// The same partner key, on an organization it does not manage.
    PartnerOnUnrelated,
    /// The session of a user holding `owner`.
    OwnerSession,
    /// The session of a user holding `admin`.
    AdminSession,
    /// The session of a user holding `member`.
    MemberSession,
    /// The admin's personal key scoped to `users.read`.
    ScopedPersonalKey,
    /// The personal key of an admin who was then suspended.
    SuspendedUsersKey,
    /// A revoked service key.
    RevokedKey,
    /// A session past its lifetime.
    ExpiredSession,
}

/// The requests, in the order each caller sends them. Each caller works on its own
/// victim user (made by the platform key), so a cell never depends on another row.
const REQUESTS: [&str; 11] = [
    "GET org",
    "PATCH org",
    "GET users",
    "POST user",
    "PATCH user",
    "GET roles",
    "POST role",
    "POST grant",
    "GET audit",
    "POST service key",
    "DELETE user",
];

#[rustfmt::skip]
const MATRIX: [(Caller, [u16; 11]); 10] = [
    //                              GET  PATCH  GET  POST PATCH  GET  POST  POST  GET   POST  DELETE
    //                              org   org  users user  user roles role grant audit  key   user
    (Caller::Platform,             [200,  200,  200, 201,  200,  200, 201,  201,  200,  201,  204]),
    (Caller::PartnerOnChild,       [200,  200,  200, 201,  200,  200, 201,  201,  200,  201,  204]),
    (Caller::PartnerOnUnrelated,   [404,  404,  404, 404,  404,  404, 404,  404,  404,  404,  404]),
    (Caller::OwnerSession,         [200,  200,  200, 201,  200,  200, 201,  201,  200,  201,  204]),
    (Caller::AdminSession,         [200,  200,  200, 201,  200,  200, 201,  201,  200,  201,  204]),
    (Caller::MemberSession,        [200,  403,  200, 403,  403,  200, 403,  403,  403,  403,  403]),
    (Caller::ScopedPersonalKey,    [403,  403,  200, 403,  403,  403, 403,  403,  403,  403,  403]),
    (Caller::SuspendedUsersKey,    [401,  401,  401, 401,  401,  401, 401,  401,  401,  401,  401]),
    (Caller::RevokedKey,           [401,  401,  401, 401,  401,  401, 401,  401,  401,  401,  401]),
    (Caller::ExpiredSession,       [401,  401,  401, 401,  401,  401, 401,  401,  401,  401,  401]),
];

/// One row's caller: its bearer token, the organization it targets and its victim.
struct Row {
    caller: Caller,
    token: String,
    org: String,
    victim: String,
}

/// The request of column `column` for row `n`.
fn request(column: usize, n: usize, row: &Row) -> (Method, String, Option<Value>) {
    let org = format!("/v1/organizations/{}", row.org);
    let victim = format!("{org}/users/{}", row.victim);
    match REQUESTS[column] {
        "GET org" => (Method::GET, org, None),
        "PATCH org" => (Method::PATCH, org, Some(json!({"description": format!("changed by row {n}")}))),
        "GET users" => (Method::GET, format!("{org}/users"), None),
        "POST user" => (
            Method::POST,
            format!("{org}/users"),
            Some(json!({"email": format!("new-{n}@matrix.test"), "name": "New"})),
        ),
        "PATCH user" => (Method::PATCH, victim, Some(json!({"location": "Matrix"}))),
        "GET roles" => (Method::GET, format!("{org}/roles"), None),
        "POST role" => (
            Method::POST,
            format!("{org}/roles"),
            Some(json!({"key": format!("role-{n}"), "name": "Readers", "permissions": ["users.read"]})),
        ),
        "POST grant" => (Method::POST, format!("{victim}/permissions"), Some(json!({"permission": "users.read"}))),
        "GET audit" => (Method::GET, format!("{org}/audit-events"), None),
        "POST service key" => {
            (Method::POST, format!("{org}/api-keys"), Some(json!({"name": "k", "scope": ["users.read"]})))
        }
        "DELETE user" => (Method::DELETE, victim, None),
        other => unreachable!("no request {other}"),
    }
}

fn secret(reply: &crate::harness::Reply) -> String {
    assert_eq!(reply.status, StatusCode::CREATED, "{reply:?}");
    reply.data()["secret"].as_str().expect("secret").to_owned()
}

/// Makes every caller of [`MATRIX`] with the organization it targets: `child`, managed
/// by a partner, or for the partner's key also `unrelated`.
async fn callers(app: &TestApp) -> Vec<(Caller, String, String)> {
    let partner = app.org("partner", json!({"partner": true})).await;
    let child = app.org("child", json!({"parent_id": partner})).await;
    let unrelated = app.org("unrelated", json!({})).await;
    let partner_key = app.service_key(&partner).await;

    app.active_user(&child, "owner@child.test", &["owner"]).await;
    app.active_user(&child, "admin@child.test", &["admin"]).await;
    app.active_user(&child, "member@child.test", &["member"]).await;
    let suspended = app.active_user(&child, "suspended@child.test", &["admin"]).await;
    app.active_user(&child, "expired@child.test", &["member"]).await;

    // The expired session first: then time passes beyond its lifetime (12 hours).
    let expired = app.session(&child, "expired@child.test").await;
    app.clock.advance(Duration::hours(13));

    let owner_session = app.session(&child, "owner@child.test").await;
    let admin_session = app.session(&child, "admin@child.test").await;
    let member_session = app.session(&child, "member@child.test").await;
    let admin = app.call_as(&admin_session, Method::GET, "/v1/me", None).await.data()["user_id"].clone();
    let admin = admin.as_str().expect("admin id").to_owned();
    let scoped = app.personal_key(&admin_session, &child, &admin, Some(json!(["users.read"]))).await;
    let scoped = scoped["secret"].as_str().expect("secret").to_owned();

    let suspended_key = app.personal_key(&app.platform_key, &child, &suspended, None).await;
    let suspended_key = suspended_key["secret"].as_str().expect("secret").to_owned();
    let suspend = app
        .call(
            Method::PATCH,
            &format!("/v1/organizations/{child}/users/{suspended}"),
            Some(json!({"status": "suspended"})),
        )
        .await;
    assert_eq!(suspend.status, StatusCode::OK, "{suspend:?}");

    let revoked =
        app.call(Method::POST, &format!("/v1/organizations/{child}/api-keys"), Some(json!({"name": "gone"}))).await;
    let (revoked_id, revoked) = (revoked.data()["id"].as_str().expect("id").to_owned(), secret(&revoked));
    let revoke = app.call(Method::DELETE, &format!("/v1/organizations/{child}/api-keys/{revoked_id}"), None).await;
    assert_eq!(revoke.status, StatusCode::NO_CONTENT);

    vec![
        (Caller::Platform, app.platform_key.clone(), child.clone()),
        (Caller::PartnerOnChild, partner_key.clone(), child.clone()),
        (Caller::PartnerOnUnrelated, partner_key, unrelated),
        (Caller::OwnerSession, owner_session, child.clone()),
        (Caller::AdminSession, admin_session, child.clone()),
        (Caller::MemberSession, member_session, child.clone()),
        (Caller::ScopedPersonalKey, scoped, child.clone()),
        (Caller::SuspendedUsersKey, suspended_key, child.clone()),
        (Caller::RevokedKey, revoked, child.clone()),
        (Caller::ExpiredSession, expired, child),
    ]
}

async fn every_caller_gets_exactly_the_answers_its_rights_allow(app: TestApp) {
    let made = callers(&app).await;
    let mut rows = Vec::new();
    for (n, (caller, token, org)) in made.into_iter().enumerate() {
        let victim = app.user(&org, &format!("victim-{n}@matrix.test")).await;
        rows.push(Row { caller, token, org, victim: victim["id"].as_str().expect("id").to_owned() });
    }

    let mut mismatches = String::new();
    for (n, (caller, expected)) in MATRIX.iter().enumerate() {
        let row = rows.iter().find(|r| r.caller == *caller).expect("a row per caller");
        for (column, want) in expected.iter().enumerate() {
            let (method, uri, body) = request(column, n, row);
            let reply = app.call_as(&row.token, method, &uri, body).await;
            let code = match want {
                401 => "unauthenticated",
                403 => "forbidden",
                404 => "not_found",
                _ => "",
            };
            if reply.status.as_u16() != *want || reply.code() != code {
                let _ = writeln!(
                    mismatches,
                    "{caller:?} / {}: expected {want}, got {} {}",
                    REQUESTS[column],
                    reply.status.as_u16(),
                    reply.code()
                );
            }
        }
    }
    assert!(mismatches.is_empty(), "the matrix does not hold:\n{mismatches}");
}
