//! Roles, direct permission grants, effective permissions and permission checks.

use chrono::Duration;
use http::{Method, Request, StatusCode};
use serde_json::{Value, json};

use crate::harness::{TestApp, at};

crate::on_both_backends!(
    custom_roles_are_created_changed_and_deleted_with_versions,
    role_conflicts_answer_409_with_their_code,
    the_last_owner_cannot_be_demoted_suspended_or_deleted,
    callers_hand_out_only_permissions_they_hold,
    direct_grants_go_through_create_read_update_delete,
    grants_count_until_they_expire_and_checks_answer_in_order,
);

fn roles(org: &str) -> String {
    format!("/v1/organizations/{org}/roles")
}

async fn with_if_match(
    app: &TestApp,
    method: Method,
    uri: &str,
    if_match: &str,
    body: Option<Value>,
) -> crate::harness::Reply {
    let request = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {}", app.platform_key))
        .header("if-match", if_match);
    let request = match body {
        Some(body) => request.header("content-type", "application/json").body(body.to_string().into()),
        None => request.body(axum::body::Body::empty()),
    };
    app.send(request.expect("request")).await
}

async fn custom_roles_are_created_changed_and_deleted_with_versions(app: TestApp) {
    let org = app.org("acme", json!({})).await;
    let listed = app.call(Method::GET, &roles(&org), None).await;
    assert_eq!(listed.status, StatusCode::OK, "{listed:?}");
    assert!(listed.body["next_cursor"].is_null());
    let builtins: Vec<(String, Value)> = listed
        .data()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["key"].as_str().unwrap().to_owned(), r["permissions"].clone()))
        .collect();
    assert_eq!(builtins.len(), 3, "{builtins:?}");
    let permissions_of = |key: &str| builtins.iter().find(|(k, _)| k == key).map(|(_, p)| p.clone()).unwrap();
    assert_eq!(permissions_of("owner"), json!(["*"]));
    assert_eq!(permissions_of("member"), json!(["organizations.read", "roles.read", "users.read"]));
    let admin = permissions_of("admin");
    assert!(admin.as_array().unwrap().contains(&json!("users.write")));
    assert!(!admin.as_array().unwrap().contains(&json!("organizations.delete")));

    let created = app
        .call(
            Method::POST,
            &roles(&org),
            Some(json!({"key": "billing", "name": "Billing", "description": "Pays", "permissions": ["invoices.read", "users.read"]})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let role = created.data().clone();
    let uri = format!("{}/{}", roles(&org), role["id"].as_str().unwrap());
    assert_eq!(created.headers["location"], uri.as_str());
    assert_eq!(created.headers["etag"], "\"1\"");
    assert_eq!(role["organization_id"], org.as_str());
    assert_eq!(role["permissions"], json!(["invoices.read", "users.read"]));
    assert_eq!((role["builtin"].clone(), role["version"].clone()), (json!(false), json!(1)));

    let got = app.call(Method::GET, &uri, None).await;
    assert_eq!((got.status, got.data()["key"].clone()), (StatusCode::OK, json!("billing")));
    assert_eq!(got.headers["etag"], "\"1\"");

    let stale = with_if_match(&app, Method::PATCH, &uri, "\"9\"", Some(json!({"name": "Nope"}))).await;
    assert_eq!((stale.status, stale.code()), (StatusCode::PRECONDITION_FAILED, "version_mismatch"));
    let changed = with_if_match(
        &app,
        Method::PATCH,
        &uri,
        "\"1\"",
        Some(json!({"permissions": ["invoices.read"], "description": null})),
    )
    .await;
    assert_eq!(changed.status, StatusCode::OK, "{changed:?}");
    assert_eq!(changed.headers["etag"], "\"2\"");
    assert_eq!(changed.data()["permissions"], json!(["invoices.read"]));
    assert_eq!(changed.data()["description"], "");
    assert_eq!(changed.data()["name"], "Billing");

    let bad = app
        .call(Method::POST, &roles(&org), Some(json!({"key": "Bad Key", "name": "", "permissions": ["nope"]})))
        .await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
    assert_eq!(bad.fields(), ["key", "name", "permissions[0]"]);

    let stale = with_if_match(&app, Method::DELETE, &uri, "\"1\"", None).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let deleted = with_if_match(&app, Method::DELETE, &uri, "\"2\"", None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{deleted:?}");
    assert_eq!(app.call(Method::GET, &uri, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.call(Method::GET, &roles(&org), None).await.data().as_array().unwrap().len(), 3);
}

async fn role_conflicts_answer_409_with_their_code(app: TestApp) {
    let org = app.org("acme", json!({})).await;
    let ops = app.call(Method::POST, &roles(&org), Some(json!({"key": "ops", "name": "Ops", "permissions": []}))).await;
    assert_eq!(ops.status, StatusCode::CREATED, "{ops:?}");
    let ops_id = ops.data()["id"].as_str().unwrap().to_owned();

    let taken =
        app.call(Method::POST, &roles(&org), Some(json!({"key": "ops", "name": "Other", "permissions": []}))).await;
    assert_eq!((taken.status, taken.code()), (StatusCode::CONFLICT, "role_key_taken"));
    let admin = app.role_id(&org, "admin").await;
    let admin_uri = format!("{}/{admin}", roles(&org));
    let immutable = app.call(Method::PATCH, &admin_uri, Some(json!({"name": "Boss"}))).await;
    assert_eq!((immutable.status, immutable.code()), (StatusCode::CONFLICT, "immutable_role"));
    let immutable = app.call(Method::DELETE, &admin_uri, None).await;
    assert_eq!((immutable.status, immutable.code()), (StatusCode::CONFLICT, "immutable_role"));

    // A role still held needs somewhere for its holders to go.
    let ada = app.active_user(&org, "ada@acme.test", &["ops"]).await;
    let ops_uri = format!("{}/{ops_id}", roles(&org));
    let in_use = app.call(Method::DELETE, &ops_uri, None).await;
    assert_eq!((in_use.status, in_use.code()), (StatusCode::CONFLICT, "role_in_use"), "{in_use:?}");
    assert_eq!(in_use.headers["content-type"], "application/problem+json");
    let member = app.role_id(&org, "member").await;
    let moved = app.call(Method::DELETE, &format!("{ops_uri}?reassign_to={member}"), None).await;
    assert_eq!(moved.status, StatusCode::NO_CONTENT, "{moved:?}");
    let user = app.call(Method::GET, &format!("/v1/organizations/{org}/users/{ada}"), None).await;
    assert_eq!(user.data()["role_ids"], json!([member]));
}

async fn the_last_owner_cannot_be_demoted_suspended_or_deleted(app: TestApp) {
    let org = app.org("acme", json!({})).await;
    let ada = app.active_user(&org, "ada@acme.test", &["owner"]).await;
    let member = app.role_id(&org, "member").await;
    let ada_uri = format!("/v1/organizations/{org}/users/{ada}");
    for (method, body) in [
        (Method::PATCH, Some(json!({"role_ids": [member]}))),
        (Method::PATCH, Some(json!({"status": "suspended"}))),
        (Method::DELETE, None),
    ] {
        let reply = app.call(method.clone(), &ada_uri, body.clone()).await;
        assert_eq!((reply.status, reply.code()), (StatusCode::CONFLICT, "last_owner"), "{method} {body:?}: {reply:?}");
    }
    let batch = app
        .call(Method::POST, &format!("/v1/organizations/{org}/users/batch-delete"), Some(json!({"user_ids": [ada]})))
        .await;
    assert_eq!((batch.status, batch.code()), (StatusCode::CONFLICT, "last_owner"), "{batch:?}");
    assert_eq!(app.call(Method::GET, &ada_uri, None).await.data()["status"], "active");

    // With a second owner, the first may step down.
    app.active_user(&org, "bob@acme.test", &["owner"]).await;
    let demoted = app.call(Method::PATCH, &ada_uri, Some(json!({"role_ids": [member]}))).await;
    assert_eq!(demoted.status, StatusCode::OK, "{demoted:?}");
}

async fn callers_hand_out_only_permissions_they_hold(app: TestApp) {
    let org = app.org("acme", json!({})).await;
    app.active_user(&org, "root@acme.test", &["admin"]).await;
    let admin = app.session(&org, "root@acme.test").await;
    let create = |key: &str, permissions: Value| {
        let (uri, body) = (roles(&org), json!({"key": key, "name": key, "permissions": permissions}));
        let (app, admin) = (&app, &admin);
        async move { app.call_as(admin, Method::POST, &uri, Some(body)).await }
    };
    assert_eq!(create("readers", json!(["users.read"])).await.status, StatusCode::CREATED);
    let beyond = create("deleters", json!(["organizations.delete"])).await;
    assert_eq!((beyond.status, beyond.code()), (StatusCode::FORBIDDEN, "forbidden"));
    let application = create("projects", json!(["projects.create"])).await;
    assert_eq!(application.status, StatusCode::FORBIDDEN, "admins hold Roster's permissions only: {application:?}");

    // Admins cannot make owners either.
    let owner = app.role_id(&org, "owner").await;
    let made = app
        .call_as(
            &admin,
            Method::POST,
            &format!("/v1/organizations/{org}/users"),
            Some(json!({"email": "eve@acme.test", "name": "Eve", "role_ids": [owner]})),
        )
        .await;
    assert_eq!(made.status, StatusCode::FORBIDDEN, "{made:?}");
    let unscoped_key = app
        .call_as(&admin, Method::POST, &format!("/v1/organizations/{org}/api-keys"), Some(json!({"name": "k"})))
        .await;
    assert_eq!(unscoped_key.status, StatusCode::FORBIDDEN, "an unscoped service key is an owner's: {unscoped_key:?}");
    let scoped_key = app
        .call_as(
            &admin,
            Method::POST,
            &format!("/v1/organizations/{org}/api-keys"),
            Some(json!({"name": "k", "scope": ["users.read"]})),
        )
        .await;
    assert_eq!(scoped_key.status, StatusCode::CREATED, "{scoped_key:?}");
    assert_eq!(scoped_key.data()["scope"], json!(["users.read"]));
    assert!(scoped_key.data()["user_id"].is_null());
}

async fn direct_grants_go_through_create_read_update_delete(app: TestApp) {
    let org = app.org("acme", json!({})).await;
    let ada = app.active_user(&org, "ada@acme.test", &["member"]).await;
    let grants = format!("/v1/organizations/{org}/users/{ada}/permissions");

    let created = app.call(Method::POST, &grants, Some(json!({"permission": "projects.create"}))).await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let grant = created.data().clone();
    let uri = format!("{grants}/{}", grant["id"].as_str().unwrap());
    assert_eq!(created.headers["location"], uri.as_str());
    assert_eq!(created.headers["etag"], "\"1\"");
    assert_eq!((grant["user_id"].as_str(), grant["permission"].as_str()), (Some(&*ada), Some("projects.create")));
    assert!(grant["expires_at"].is_null());
    assert!(grant["created_by"].as_str().unwrap().starts_with("api_key:"));

    let again = app.call(Method::POST, &grants, Some(json!({"permission": "projects.create"}))).await;
    assert_eq!((again.status, again.code()), (StatusCode::CONFLICT, "grant_exists"));
    for (body, field) in [
        (json!({"permission": "Projects"}), "permission"),
        (json!({}), "permission"),
        (json!({"permission": "projects.read", "expires_at": "2000-01-01T00:00:00Z"}), "expires_at"),
    ] {
        let bad = app.call(Method::POST, &grants, Some(body.clone())).await;
        assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}: {bad:?}");
        assert_eq!(bad.fields(), [field], "{body}");
    }

    let listed = app.call(Method::GET, &grants, None).await;
    assert_eq!(listed.data().as_array().unwrap().len(), 1, "{listed:?}");
    assert!(listed.body["next_cursor"].is_null());
    let got = app.call(Method::GET, &uri, None).await;
    assert_eq!((got.status, got.headers["etag"].to_str().unwrap()), (StatusCode::OK, "\"1\""));

    let later = at(app.now() + Duration::days(30));
    let stale = with_if_match(&app, Method::PATCH, &uri, "\"5\"", Some(json!({"expires_at": later}))).await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED);
    let dated = with_if_match(&app, Method::PATCH, &uri, "\"1\"", Some(json!({"expires_at": later}))).await;
    assert_eq!(dated.status, StatusCode::OK, "{dated:?}");
    assert_eq!(dated.headers["etag"], "\"2\"");
    assert!(dated.data()["expires_at"].is_string());
    let renamed = app.call(Method::PATCH, &uri, Some(json!({"permission": "projects.read", "expires_at": null}))).await;
    assert_eq!(renamed.status, StatusCode::OK, "{renamed:?}");
    assert_eq!(
        (renamed.data()["permission"].clone(), renamed.data()["expires_at"].clone()),
        (json!("projects.read"), Value::Null)
    );
    let null_permission = app.call(Method::PATCH, &uri, Some(json!({"permission": null}))).await;
    assert_eq!(null_permission.fields(), ["permission"]);

    let deleted = with_if_match(&app, Method::DELETE, &uri, "\"3\"", None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{deleted:?}");
    assert_eq!(app.call(Method::GET, &uri, None).await.status, StatusCode::NOT_FOUND);
    assert_eq!(app.call(Method::DELETE, &uri, None).await.status, StatusCode::NOT_FOUND);
    let unknown_user = format!("/v1/organizations/{org}/users/{}/permissions", uuid::Uuid::now_v7());
    assert_eq!(app.call(Method::GET, &unknown_user, None).await.status, StatusCode::NOT_FOUND);
}

async fn grants_count_until_they_expire_and_checks_answer_in_order(app: TestApp) {
    let org = app.org("acme", json!({})).await;
    let ada = app.active_user(&org, "ada@acme.test", &["member"]).await;
    let invited = app.user(&org, "ivy@acme.test").await["id"].as_str().unwrap().to_owned();
    let effective = format!("/v1/organizations/{org}/users/{ada}/effective-permissions");
    let before = app.call(Method::GET, &effective, None).await;
    assert_eq!(before.status, StatusCode::OK, "{before:?}");
    assert_eq!(before.data()["permissions"], json!(["organizations.read", "roles.read", "users.read"]));

    let expires = at(app.now() + Duration::hours(1));
    let grant = app
        .call(
            Method::POST,
            &format!("/v1/organizations/{org}/users/{ada}/permissions"),
            Some(json!({"permission": "projects.create", "expires_at": expires})),
        )
        .await;
    assert_eq!(grant.status, StatusCode::CREATED, "{grant:?}");
    let with_grant = app.call(Method::GET, &effective, None).await;
    assert_eq!(
        with_grant.data()["permissions"],
        json!(["organizations.read", "projects.create", "roles.read", "users.read"])
    );

    let nobody = uuid::Uuid::now_v7().to_string();
    let checks = json!({"checks": [
        {"user_id": ada, "permission": "projects.create"},
        {"user_id": ada, "permission": "projects.delete"},
        {"user_id": invited, "permission": "users.read"},
        {"user_id": nobody, "permission": "users.read"},
    ]});
    let checks_uri = format!("/v1/organizations/{org}/permission-checks");
    let answered = app.call(Method::POST, &checks_uri, Some(checks.clone())).await;
    assert_eq!(answered.status, StatusCode::OK, "{answered:?}");
    let flags = |reply: &crate::harness::Reply| -> Vec<(bool, bool)> {
        reply.data().as_array().unwrap().iter().map(|r| (r["allowed"] == true, r["user_found"] == true)).collect()
    };
    assert_eq!(flags(&answered), [(true, true), (false, true), (false, true), (false, false)]);
    assert_eq!(answered.data()[3]["user_id"], nobody.as_str());
    assert_eq!(answered.data()[1]["permission"], "projects.delete");

    // An hour later the grant no longer counts.
    app.clock.advance(Duration::hours(2));
    let after = app.call(Method::GET, &effective, None).await;
    assert_eq!(after.data()["permissions"], json!(["organizations.read", "roles.read", "users.read"]));
    assert_eq!(flags(&app.call(Method::POST, &checks_uri, Some(checks)).await)[0], (false, true));

    let bad =
        app.call(Method::POST, &checks_uri, Some(json!({"checks": [{"user_id": "nope", "permission": "Bad"}]}))).await;
    assert_eq!(bad.status, StatusCode::UNPROCESSABLE_ENTITY, "{bad:?}");
    assert_eq!(bad.fields(), ["checks[0].user_id", "checks[0].permission"]);
    let empty = app.call(Method::POST, &checks_uri, Some(json!({"checks": []}))).await;
    assert_eq!(empty.fields(), ["checks"]);
    // Members may not ask.
    let member = app.session(&org, "ada@acme.test").await;
    let forbidden = app
        .call_as(
            &member,
            Method::POST,
            &checks_uri,
            Some(json!({"checks": [{"user_id": ada, "permission": "users.read"}]})),
        )
        .await;
    assert_eq!(forbidden.status, StatusCode::FORBIDDEN);
}
