//! Users end to end over REST.

use http::{Method, Request, StatusCode};
use serde_json::{Value, json};

use crate::harness::TestApp;

crate::on_both_backends!(
    a_user_goes_through_create_get_list_patch_delete_and_batch_delete,
    creating_a_user_with_a_taken_email_returns_409,
    missing_and_invalid_fields_return_422_with_the_field_list,
    generate_password_returns_the_password_once_and_activates_the_user,
    the_seat_limit_counts_invited_users_and_is_never_exceeded,
    role_ids_and_the_legacy_role_key_are_resolved,
    lists_filter_sort_and_page_with_cursors,
);

fn users(org: &str) -> String {
    format!("/v1/organizations/{org}/users")
}

async fn a_user_goes_through_create_get_list_patch_delete_and_batch_delete(app: TestApp) {
    let org = app.org("acme", json!({})).await;
    let created = app
        .call(
            Method::POST,
            &users(&org),
            Some(json!({
                "email": " Ada@Acme.test ", "first_name": "Ada", "last_name": "Lovelace",
                "password": "correct horse battery staple", "tags": ["Eng"], "metadata": {"plan": "pro"},
                "location": "London", "locale": "en-GB"
            })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let user = created.data().clone();
    let id = user["id"].as_str().unwrap().to_owned();
    assert_eq!(user["email"], "Ada@Acme.test");
    assert_eq!(user["name"], "Ada Lovelace");
    assert_eq!(user["username"], "ada");
    assert_eq!(user["status"], "active");
    assert_eq!(user["tags"], json!(["eng"]));
    assert_eq!(user["organization"]["slug"], "acme");
    assert_eq!(user["role_ids"].as_array().unwrap().len(), 1);
    assert!(user.get("password_hash").is_none() && user.get("password").is_none());
    assert!(created.headers["location"].to_str().unwrap().ends_with(&id));

    let got = app.call(Method::GET, &format!("{}/{id}", users(&org)), None).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.data()["organization"]["id"], org.as_str());
    assert_eq!(got.headers["etag"], "\"1\"");

    let listed = app.call(Method::GET, &users(&org), None).await;
    assert_eq!(listed.data().as_array().unwrap().len(), 1);

    let patch = |if_match: &'static str, body: Value| {
        Request::patch(format!("{}/{id}", users(&org)))
            .header("authorization", format!("Bearer {}", app.platform_key))
            .header("content-type", "application/json")
            .header("if-match", if_match)
            .body(body.to_string().into())
            .unwrap()
    };
    let ok = app.send(patch("\"1\"", json!({"name": "Countess", "location": null, "status": "suspended"}))).await;
    assert_eq!(ok.status, StatusCode::OK, "{ok:?}");
    assert_eq!(ok.data()["name"], "Countess");
    assert!(ok.data()["location"].is_null());
    assert_eq!(ok.data()["status"], "suspended");
    assert_eq!(ok.data()["version"], 2);
    let stale = app.send(patch("\"1\"", json!({"name": "Stale"}))).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    assert_eq!(stale.code(), "version_mismatch");
    let unchanged = app.call(Method::GET, &format!("{}/{id}", users(&org)), None).await;
    assert_eq!(unchanged.data()["name"], "Countess");

    let deleted = app.call(Method::DELETE, &format!("{}/{id}", users(&org)), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(app.call(Method::GET, &format!("{}/{id}", users(&org)), None).await.status, StatusCode::NOT_FOUND);
    // The email is free again.
    let again = app.user(&org, "ada@acme.test").await;

    let other = app.user(&org, "bob@acme.test").await;
    let batch = app
        .call(
            Method::POST,
            &format!("{}/batch-delete", users(&org)),
            Some(json!({"user_ids": [again["id"], other["id"], id, "not-an-id"]})),
        )
        .await;
    assert_eq!(batch.status, StatusCode::OK, "{batch:?}");
    let results: Vec<&str> = batch.data().as_array().unwrap().iter().map(|r| r["result"].as_str().unwrap()).collect();
    assert_eq!(results, ["deleted", "deleted", "not_found", "not_found"]);
    assert!(app.call(Method::GET, &users(&org), None).await.data().as_array().unwrap().is_empty());
}

async fn creating_a_user_with_a_taken_email_returns_409(app: TestApp) {
    let org = app.org("acme", json!({})).await;
    app.user(&org, "ada@acme.test").await;
    let dup = app.call(Method::POST, &users(&org), Some(json!({"email": "ADA@acme.test ", "name": "Ada"}))).await;
    assert_eq!(dup.status, StatusCode::CONFLICT);
    assert_eq!(dup.code(), "email_taken");
    // The same email in another organization is another person.
    let other = app.org("other", json!({})).await;
    app.user(&other, "ada@acme.test").await;
}

async fn missing_and_invalid_fields_return_422_with_the_field_list(app: TestApp) {
    let org = app.org("acme", json!({})).await;
    let missing = app.call(Method::POST, &users(&org), Some(json!({}))).await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.code(), "validation_failed");
    assert_eq!(missing.fields(), ["email", "name"]);

    let invalid = app
        .call(
            Method::POST,
            &users(&org),
            Some(json!({"email": "nope", "name": "N", "password": "short", "role_ids": [], "tags": ["a b"]})),
        )
        .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(invalid.fields(), ["email", "password", "tags", "role_ids"]);

    let both = app
        .call(
            Method::POST,
            &users(&org),
            Some(json!({"email": "a@acme.test", "name": "A", "role": "admin", "role_ids": ["x"]})),
        )
        .await;
    assert_eq!(both.fields(), ["role"]);
    let password_is_email = app
        .call(
            Method::POST,
            &users(&org),
            Some(json!({"email": "longer.address@acme.test", "name": "A", "password": "longer.address@acme.test"})),
        )
        .await;
    assert_eq!(password_is_email.fields(), ["password"]);
}

async fn generate_password_returns_the_password_once_and_activates_the_user(app: TestApp) {
    let org = app.org("acme", json!({"default_login_url": "https://app.acme.test/login"})).await;
    let created = app
        .call(
            Method::POST,
            &users(&org),
            Some(json!({"email": "gen@acme.test", "name": "Gen", "generate_password": true})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let password = created.data()["generated_password"].as_str().unwrap();
    assert!(password.len() >= 20);
    assert_eq!(created.data()["status"], "active");
    let id = created.data()["id"].as_str().unwrap();
    let got = app.call(Method::GET, &format!("{}/{id}", users(&org)), None).await;
    assert!(got.data().get("generated_password").is_none());

    let invited = app.user(&org, "inv@acme.test").await;
    assert_eq!(invited["status"], "invited");
}

async fn the_seat_limit_counts_invited_users_and_is_never_exceeded(app: TestApp) {
    let org = app.org("small", json!({"seat_limit": 2})).await;
    app.user(&org, "a@small.test").await;
    let b = app.user(&org, "b@small.test").await;
    let full = app.call(Method::POST, &users(&org), Some(json!({"email": "c@small.test", "name": "C"}))).await;
    assert_eq!(full.status, StatusCode::CONFLICT, "{full:?}");
    assert_eq!(full.code(), "seat_limit_reached");
    // Deleting frees a seat.
    app.call(Method::DELETE, &format!("{}/{}", users(&org), b["id"].as_str().unwrap()), None).await;
    app.user(&org, "c@small.test").await;
}

async fn role_ids_and_the_legacy_role_key_are_resolved(app: TestApp) {
    let org = app.org("acme", json!({"default_role": "admin"})).await;
    let org_json = app.call(Method::GET, &format!("/v1/organizations/{org}"), None).await;
    let default_role = org_json.data()["default_role_id"].clone();

    let defaulted = app.user(&org, "d@acme.test").await;
    assert_eq!(defaulted["role_ids"], json!([default_role]));

    let legacy =
        app.call(Method::POST, &users(&org), Some(json!({"email": "o@acme.test", "name": "O", "role": "owner"}))).await;
    assert_eq!(legacy.status, StatusCode::CREATED, "{legacy:?}");
    let owner_role = legacy.data()["role_ids"][0].clone();
    assert_ne!(owner_role, default_role);

    let explicit = app
        .call(
            Method::POST,
            &users(&org),
            Some(json!({"email": "e@acme.test", "name": "E", "role_ids": [owner_role, default_role]})),
        )
        .await;
    assert_eq!(explicit.status, StatusCode::CREATED);
    assert_eq!(explicit.data()["role_ids"].as_array().unwrap().len(), 2);

    let foreign_org = app.org("other", json!({})).await;
    let foreign = app.call(Method::GET, &format!("/v1/organizations/{foreign_org}"), None).await;
    let bad = app
        .call(
            Method::POST,
            &users(&org),
            Some(json!({"email": "f@acme.test", "name": "F", "role_ids": [foreign.data()["default_role_id"]]})),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.fields(), ["role_ids[0]"]);
    let unknown_key = app
        .call(Method::POST, &users(&org), Some(json!({"email": "g@acme.test", "name": "G", "role": "wizard"})))
        .await;
    assert_eq!(unknown_key.fields(), ["role"]);
}

async fn lists_filter_sort_and_page_with_cursors(app: TestApp) {
    let org = app.org("acme", json!({})).await;
    for (email, name, tag) in [
        ("carol@acme.test", "Carol", "sales"),
        ("alice@acme.test", "Alice", "eng"),
        ("bob@acme.test", "Bob", "eng"),
        ("dave@acme.test", "Dave", "ops"),
    ] {
        let reply =
            app.call(Method::POST, &users(&org), Some(json!({"email": email, "name": name, "tags": [tag]}))).await;
        assert_eq!(reply.status, StatusCode::CREATED);
    }
    let names = |reply: &crate::harness::Reply| -> Vec<String> {
        reply.data().as_array().unwrap().iter().map(|u| u["name"].as_str().unwrap().to_owned()).collect()
    };
    let by_email = app.call(Method::GET, &format!("{}?sort=email", users(&org)), None).await;
    assert_eq!(names(&by_email), ["Alice", "Bob", "Carol", "Dave"]);
    let newest_first = app.call(Method::GET, &format!("{}?sort=-created_at", users(&org)), None).await;
    assert_eq!(names(&newest_first), ["Dave", "Bob", "Alice", "Carol"]);
    let eng = app.call(Method::GET, &format!("{}?tag=eng&sort=name", users(&org)), None).await;
    assert_eq!(names(&eng), ["Alice", "Bob"]);
    let q = app.call(Method::GET, &format!("{}?q=AR", users(&org)), None).await;
    assert_eq!(names(&q), ["Carol"]);
    let exact = app.call(Method::GET, &format!("{}?email=BOB@acme.test", users(&org)), None).await;
    assert_eq!(names(&exact), ["Bob"]);
    let invited = app.call(Method::GET, &format!("{}?status=invited&limit=200", users(&org)), None).await;
    assert_eq!(names(&invited).len(), 4);

    let mut seen = Vec::new();
    let mut uri = format!("{}?sort=-name&limit=3", users(&org));
    loop {
        let page = app.call(Method::GET, &uri, None).await;
        assert_eq!(page.status, StatusCode::OK, "{page:?}");
        seen.extend(names(&page));
        match page.body["next_cursor"].as_str() {
            Some(cursor) => uri = format!("{}?sort=-name&limit=3&cursor={cursor}", users(&org)),
            None => break,
        }
    }
    assert_eq!(seen, ["Dave", "Carol", "Bob", "Alice"]);

    let cursor = app.call(Method::GET, &format!("{}?sort=name&limit=1", users(&org)), None).await;
    let cursor = cursor.body["next_cursor"].as_str().unwrap();
    let mismatched = app.call(Method::GET, &format!("{}?sort=email&cursor={cursor}", users(&org)), None).await;
    assert_eq!(mismatched.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(mismatched.fields(), ["cursor"]);
    let bad = app.call(Method::GET, &format!("{}?limit=0&status=deleted&sort=age", users(&org)), None).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(bad.fields(), ["limit", "status", "sort"]);
}
