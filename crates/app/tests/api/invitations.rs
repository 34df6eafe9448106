//! Invitations, acceptance and generated credentials, through the public REST API; the
//! emails are read from the outbox the way the delivery worker reads them.

use chrono::Duration;
use http::{Method, StatusCode};
use roster_domain::outbox::{Mail, MessageStatus};
use serde_json::json;

use crate::harness::{PASSWORD, TestApp};

crate::on_both_backends!(
    an_invited_user_becomes_active_with_their_roles_only_on_acceptance,
    each_unusable_token_fails_with_its_own_code,
    seats_count_invited_users_and_revoking_frees_one,
    generated_credentials_are_emailed_with_a_login_url_or_nothing_is_created,
    acceptance_checks_the_password_rules,
);

fn users(org: &str) -> String {
    format!("/v1/organizations/{org}/users")
}

fn invitations(org: &str) -> String {
    format!("/v1/organizations/{org}/invitations")
}

async fn accept(app: &TestApp, token: &str, password: &str) -> crate::harness::Reply {
    let body = json!({"token": token, "password": password});
    app.call_as("", Method::POST, "/v1/invitations/accept", Some(body)).await
}

async fn an_invited_user_becomes_active_with_their_roles_only_on_acceptance(app: TestApp) {
    let org = app.org("acme", json!({})).await;
    let admin = app.role_id(&org, "admin").await;
    let body = json!({"email": "ada@acme.test", "name": "Ada", "role_ids": [admin], "login_url": "https://app.acme.test/login"});
    let created = app.call(Method::POST, &users(&org), Some(body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert_eq!(created.data()["status"], "invited");
    let user_id = created.data()["id"].as_str().expect("id").to_owned();

    // Invited: no login, no permissions.
    assert_eq!(app.login("acme", "ada@acme.test", PASSWORD).await.status, StatusCode::UNAUTHORIZED);

    // The invitation is listed, pending, with the user's roles, inviter and expiry.
    let list = app.call(Method::GET, &format!("{}?status=pending", invitations(&org)), None).await;
    assert_eq!(list.status, StatusCode::OK, "{list:?}");
    let invitation = list.data()[0].clone();
    assert_eq!(invitation["user_id"], user_id.as_str());
    assert_eq!(invitation["email"], "ada@acme.test");
    assert_eq!(invitation["role_ids"], json!([admin]));
    assert_eq!(invitation["status"], "pending");
    assert_eq!(invitation["login_url"], "https://app.acme.test/login");
    assert!(invitation["invited_by"].as_str().is_some_and(|a| a.starts_with("api_key:")), "{invitation}");
    assert!(invitation.get("token").is_none() && invitation.get("digest").is_none());
    let id = invitation["id"].as_str().expect("id").to_owned();
    let got = app.call(Method::GET, &format!("{}/{id}", invitations(&org)), None).await;
    assert_eq!(got.data(), &invitation);

    // Exactly one email, queued with the user, carrying the link to the page.
    let mail = app.mail_to("ada@acme.test").await;
    assert_eq!(mail.len(), 1);
    assert_eq!(mail[0].status, MessageStatus::Pending);
    let link = app.invitation_link("ada@acme.test").await;
    assert!(link.starts_with(&format!("http://{}/invite/rsi_", app.http_addr)), "{link}");
    let Some(Mail::Invitation { org_name, inviter, .. }) = &mail[0].mail else { panic!("{mail:?}") };
    assert_eq!((org_name.as_str(), inviter.as_str()), ("Org acme", "Org acme"));

    let token = app.invitation_token("ada@acme.test").await;
    let accepted = accept(&app, &token, PASSWORD).await;
    assert_eq!(accepted.status, StatusCode::OK, "{accepted:?}");
    assert_eq!(accepted.data()["id"], user_id.as_str());
    assert_eq!(accepted.data()["status"], "active");

    // Now the roles count: an admin's session may create users.
    let session = app.session("acme", "ada@acme.test").await;
    let me = app.call_as(&session, Method::GET, "/v1/me", None).await;
    assert_eq!(me.status, StatusCode::OK, "{me:?}");
    assert!(me.data()["permissions"].as_array().is_some_and(|p| p.contains(&json!("users.write"))), "{me:?}");
    let got = app.call(Method::GET, &format!("{}/{id}", invitations(&org)), None).await;
    assert_eq!(got.data()["status"], "accepted");
    assert!(got.data()["accepted_at"].is_string());

    // Single use.
    let again = accept(&app, &token, PASSWORD).await;
    assert_eq!((again.status, again.code()), (StatusCode::CONFLICT, "invitation_already_accepted"));
    let resend = app.call(Method::POST, &format!("{}/{id}/resend", invitations(&org)), None).await;
    assert_eq!((resend.status, resend.code()), (StatusCode::CONFLICT, "invitation_not_pending"));
}

async fn each_unusable_token_fails_with_its_own_code(app: TestApp) {
    let org = app.org("acme", json!({"invitation_ttl_seconds": 3600})).await;
    let other = app.org("other", json!({})).await;
    app.user(&org, "bo@acme.test").await;
    let unknown = accept(&app, "rsi_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", PASSWORD).await;
    assert_eq!((unknown.status, unknown.code()), (StatusCode::NOT_FOUND, "invitation_invalid"));
    let malformed = accept(&app, "not a token", PASSWORD).await;
    assert_eq!((malformed.status, malformed.code()), (StatusCode::NOT_FOUND, "invitation_invalid"));

    // Expired by the clock: the token fails, the listing says so, a resend revives it.
    let old = app.invitation_token("bo@acme.test").await;
    app.clock.advance(Duration::hours(2));
    let expired = accept(&app, &old, PASSWORD).await;
    assert_eq!((expired.status, expired.code()), (StatusCode::GONE, "invitation_expired"));
    assert!(!expired.body.to_string().contains(&org), "errors say nothing about the tenant: {expired:?}");
    let list = app.call(Method::GET, &format!("{}?status=expired", invitations(&org)), None).await;
    assert_eq!(list.data().as_array().map(Vec::len), Some(1), "{list:?}");
    let id = list.data()[0]["id"].as_str().expect("id").to_owned();
    let pending = app.call(Method::GET, &format!("{}?status=pending", invitations(&org)), None).await;
    assert_eq!(pending.data(), &json!([]));

    // Another tenant cannot see or touch it.
    let foreign = app.call(Method::POST, &format!("{}/{id}/resend", invitations(&other)), None).await;
    assert_eq!(foreign.status, StatusCode::NOT_FOUND);

    let resent = app.call(Method::POST, &format!("{}/{id}/resend", invitations(&org)), None).await;
    assert_eq!(resent.status, StatusCode::OK, "{resent:?}");
    assert_eq!(resent.data()["status"], "pending");
    assert_eq!(resent.data()["version"], 2);
    assert_eq!(app.mail_to("bo@acme.test").await.len(), 2, "a resend emails a new link");
    let new = app.invitation_token("bo@acme.test").await;
    assert_ne!(new, old);
    let dead = accept(&app, &old, PASSWORD).await;
    assert_eq!((dead.status, dead.code()), (StatusCode::NOT_FOUND, "invitation_invalid"));

    // Revoked: the new token fails too, and a second revoke is refused.
    let stale = app
        .send(
            http::Request::post(format!("{}/{id}/revoke", invitations(&org)))
                .header("authorization", format!("Bearer {}", app.platform_key))
                .header("if-match", "\"1\"")
                .body(axum::body::Body::empty())
                .expect("request"),
        )
        .await;
    assert_eq!((stale.status, stale.code()), (StatusCode::PRECONDITION_FAILED, "version_mismatch"));
    let revoked = app.call(Method::POST, &format!("{}/{id}/revoke", invitations(&org)), None).await;
    assert_eq!(revoked.status, StatusCode::OK, "{revoked:?}");
    assert_eq!(revoked.data()["status"], "revoked");
    let gone = accept(&app, &new, PASSWORD).await;
    assert_eq!((gone.status, gone.code()), (StatusCode::GONE, "invitation_revoked"));
    let twice = app.call(Method::POST, &format!("{}/{id}/revoke", invitations(&org)), None).await;
    assert_eq!((twice.status, twice.code()), (StatusCode::CONFLICT, "invitation_not_pending"));
    let bad = app.call(Method::GET, &format!("{}?status=lost", invitations(&org)), None).await;
    assert_eq!(bad.fields(), ["status"]);
}

async fn seats_count_invited_users_and_revoking_frees_one(app: TestApp) {
    let org = app.org("small", json!({"seat_limit": 2})).await;
    app.user(&org, "a@small.test").await;
    app.user(&org, "b@small.test").await;
    let full = app.call(Method::POST, &users(&org), Some(json!({"email": "c@small.test", "name": "C"}))).await;
    assert_eq!((full.status, full.code()), (StatusCode::CONFLICT, "seat_limit_reached"));

    let list = app.call(Method::GET, &invitations(&org), None).await;
    let id = list.data()[0]["id"].as_str().expect("id").to_owned();
    let user = list.data()[0]["user_id"].as_str().expect("user").to_owned();
    let revoked = app.call(Method::POST, &format!("{}/{id}/revoke", invitations(&org)), None).await;
    assert_eq!(revoked.status, StatusCode::OK, "{revoked:?}");
    // The invited user is gone with the invitation, and the seat is free again.
    let gone = app.call(Method::GET, &format!("{}/{user}", users(&org)), None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    let fits = app.call(Method::POST, &users(&org), Some(json!({"email": "c@small.test", "name": "C"}))).await;
    assert_eq!(fits.status, StatusCode::CREATED, "{fits:?}");

    // Deleting an invited user revokes the invitation.
    let c = fits.data()["id"].as_str().expect("id").to_owned();
    let token = app.invitation_token("c@small.test").await;
    let deleted = app.call(Method::DELETE, &format!("{}/{c}", users(&org)), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{deleted:?}");
    let refused = accept(&app, &token, PASSWORD).await;
    assert_eq!((refused.status, refused.code()), (StatusCode::GONE, "invitation_revoked"));
}

async fn generated_credentials_are_emailed_with_a_login_url_or_nothing_is_created(app: TestApp) {
    let org = app.org("acme", json!({})).await;
    let body = json!({"email": "cy@acme.test", "name": "Cy", "generate_password": true});
    let refused = app.call(Method::POST, &users(&org), Some(body.clone())).await;
    assert_eq!((refused.status, refused.code()), (StatusCode::UNPROCESSABLE_ENTITY, "validation_failed"));
    assert_eq!(refused.fields(), ["login_url"]);
    let none = app.call(Method::GET, &users(&org), None).await;
    assert_eq!(none.data(), &json!([]), "nothing was created");
    assert!(app.mail_to("cy@acme.test").await.is_empty());

    let mut with_url = body.clone();
    with_url["login_url"] = json!("https://app.acme.test/login");
    let created = app.call(Method::POST, &users(&org), Some(with_url)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    assert_eq!(created.data()["status"], "active");
    let password = created.data()["generated_password"].as_str().expect("generated password, once").to_owned();
    let mail = app.mail_to("cy@acme.test").await;
    let Some(Mail::Credentials { login_url, password: emailed, username, .. }) = &mail[0].mail else {
        panic!("{mail:?}")
    };
    assert_eq!((login_url.as_str(), emailed.as_str()), ("https://app.acme.test/login", password.as_str()));
    assert_eq!(username, created.data()["username"].as_str().expect("username"));
    assert_eq!(app.login("acme", "cy@acme.test", &password).await.status, StatusCode::OK);

    // The organization's default login URL serves when the request names none.
    let patched = app
        .call(
            Method::PATCH,
            &format!("/v1/organizations/{org}"),
            Some(json!({"default_login_url": "https://sso.acme.test/"})),
        )
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{patched:?}");
    assert_eq!(patched.data()["default_login_url"], "https://sso.acme.test/");
    let mut other = body;
    other["email"] = json!("di@acme.test");
    let created = app.call(Method::POST, &users(&org), Some(other)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let mail = app.mail_to("di@acme.test").await;
    assert!(
        matches!(&mail[0].mail, Some(Mail::Credentials { login_url, .. }) if login_url == "https://sso.acme.test/")
    );
}

async fn acceptance_checks_the_password_rules(app: TestApp) {
    let org = app.org("acme", json!({})).await;
    app.user(&org, "ed@acme.test").await;
    let token = app.invitation_token("ed@acme.test").await;
    let short = accept(&app, &token, "short").await;
    assert_eq!((short.status, short.fields()), (StatusCode::UNPROCESSABLE_ENTITY, vec!["password".to_owned()]));
    let same = accept(&app, &token, "ed@acme.test").await;
    assert_eq!(same.fields(), ["password"]);
    // A failed attempt spends nothing: the token still works.
    assert_eq!(accept(&app, &token, PASSWORD).await.status, StatusCode::OK);
}
