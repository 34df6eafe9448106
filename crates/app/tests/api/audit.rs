//! Audit events: every change is recorded with its actor and request id, and the list
//! filters and pages.

use chrono::Duration;
use http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::harness::{PASSWORD, Reply, TestApp, at};

crate::on_both_backends!(audit_events_record_who_changed_what_with_the_request_id_and_filter);

fn actions(reply: &Reply) -> Vec<String> {
    assert_eq!(reply.status, StatusCode::OK, "{reply:?}");
    reply.data().as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap().to_owned()).collect()
}

async fn audit_events_record_who_changed_what_with_the_request_id_and_filter(app: TestApp) {
    let org = app.org("acme", json!({})).await;
    let key = app.call(Method::POST, &format!("/v1/organizations/{org}/api-keys"), Some(json!({"name": "svc"}))).await;
    let (key_id, secret) =
        (key.data()["id"].as_str().unwrap().to_owned(), key.data()["secret"].as_str().unwrap().to_owned());
    let users = format!("/v1/organizations/{org}/users");
    let body = json!({"email": "ada@acme.test", "name": "Ada", "password": PASSWORD});
    let ada = app.call_traced(&secret, "req-create-ada", Method::POST, &users, Some(body)).await;
    assert_eq!(ada.status, StatusCode::CREATED, "{ada:?}");
    let ada = ada.data()["id"].as_str().unwrap().to_owned();
    let patched = app
        .call_traced(&secret, "req-patch-ada", Method::PATCH, &format!("{users}/{ada}"), Some(json!({"name": "Ada L"})))
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{patched:?}");
    let midway = app.now() + Duration::minutes(30);
    app.clock.advance(Duration::hours(1));
    let role = json!({"key": "ops", "name": "Ops", "permissions": ["users.read"]});
    let role =
        app.call_traced(&secret, "req-role", Method::POST, &format!("/v1/organizations/{org}/roles"), Some(role)).await;
    assert_eq!(role.status, StatusCode::CREATED, "{role:?}");

    let events = format!("/v1/organizations/{org}/audit-events");
    let all = app.call(Method::GET, &events, None).await;
    assert_eq!(
        actions(&all),
        ["role.created", "user.updated", "user.created", "api_key.created", "organization.created"],
        "newest first"
    );
    assert!(all.body["next_cursor"].is_null());
    let text = all.body.to_string();
    assert!(!text.contains(&secret) && !text.contains(PASSWORD), "no secrets in audit events");
    let created = &all.data()[2];
    assert_eq!(created["actor"], format!("api_key:{key_id}"));
    assert_eq!((created["target_type"].as_str(), created["target_id"].as_str()), (Some("user"), Some(&*ada)));
    assert_eq!(created["request_id"], "req-create-ada");
    assert_eq!(created["details"]["email"], "ada@acme.test");
    assert!(created["occurred_at"].is_string() && created["id"].is_string());
    assert_eq!(all.data()[0]["request_id"], "req-role");
    assert!(all.data()[4]["request_id"].is_string(), "generated when the client sends none");

    let only = |query: String| {
        let (app, uri) = (&app, format!("{events}?{query}"));
        async move { app.call(Method::GET, &uri, None).await }
    };
    let updated = only("action=user.updated".into()).await;
    assert_eq!(actions(&updated), ["user.updated"]);
    assert_eq!(updated.data()[0]["request_id"], "req-patch-ada");
    assert_eq!(updated.data()[0]["details"]["name"], "Ada L");
    assert_eq!(actions(&only(format!("target_id={ada}")).await), ["user.updated", "user.created"]);
    assert_eq!(
        actions(&only(format!("actor=api_key:{key_id}")).await),
        ["role.created", "user.updated", "user.created"]
    );
    assert_eq!(actions(&only(format!("since={}", at(midway))).await), ["role.created"]);
    assert_eq!(actions(&only(format!("until={}", at(midway))).await).len(), 4);
    assert_eq!(
        actions(&only(format!("action=user.created&actor=api_key:{key_id}&until={}", at(midway))).await).len(),
        1
    );

    let mut seen: Vec<Value> = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let query = cursor.as_ref().map_or_else(|| "limit=2".to_owned(), |c| format!("limit=2&cursor={c}"));
        let page = only(query).await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        seen.extend(page.data().as_array().unwrap().iter().map(|e| e["id"].clone()));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let ids: Vec<Value> = all.data().as_array().unwrap().iter().map(|e| e["id"].clone()).collect();
    assert_eq!(seen, ids, "pages cover the list once, in order");

    for (query, field) in [
        (format!("since={}&until={}", at(midway), at(midway)), "until"),
        ("limit=0".to_owned(), "limit"),
        ("cursor=bogus".to_owned(), "cursor"),
        ("actor=".to_owned(), "actor"),
    ] {
        let bad = only(query.clone()).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {bad:?}");
        assert_eq!(bad.fields(), [field], "{query}");
    }
    assert_eq!(only("since=yesterday".into()).await.status, StatusCode::BAD_REQUEST);
    assert_eq!(only("colour=red".into()).await.status, StatusCode::BAD_REQUEST);

    // Members may not read the audit trail.
    let member = app.session(&org, "ada@acme.test").await;
    let forbidden = app.call_as(&member, Method::GET, &events, None).await;
    assert_eq!((forbidden.status, forbidden.code()), (StatusCode::FORBIDDEN, "forbidden"));
    let logins = app.call(Method::GET, &format!("{events}?action=session.created"), None).await;
    assert_eq!(logins.data()[0]["actor"], format!("user:{ada}"), "{logins:?}");
}
