//! Organizations, API keys, authentication and the cross-cutting HTTP conventions.

use http::{Method, Request, StatusCode};
use serde_json::json;

use crate::harness::TestApp;

crate::on_both_backends!(
    organizations_are_created_read_listed_patched_and_deleted,
    a_duplicate_slug_returns_409_slug_taken,
    requests_without_a_valid_key_return_401,
    a_service_key_sees_only_its_own_organization,
    a_revoked_service_key_stops_working_at_once,
    malformed_and_unknown_json_gets_a_clear_4xx,
    the_version_header_is_checked_and_echoed,
    operational_endpoints_answer,
    a_partner_reaches_its_children_and_nothing_else,
);

async fn organizations_are_created_read_listed_patched_and_deleted(app: TestApp) {
    let created = app
        .call(
            Method::POST,
            "/v1/organizations",
            Some(json!({"slug": "acme", "name": "Acme", "domain": "Acme.test", "seat_limit": 5})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{created:?}");
    let org = created.data()["id"].as_str().unwrap().to_owned();
    assert_eq!(created.data()["domain"], "acme.test");
    assert_eq!(created.data()["version"], 1);
    assert_eq!(created.headers["etag"], "\"1\"");

    let got = app.call(Method::GET, &format!("/v1/organizations/{org}"), None).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.data()["slug"], "acme");

    app.org("beta", json!({})).await;
    let page = app.call(Method::GET, "/v1/organizations?limit=1", None).await;
    assert_eq!(page.data().as_array().unwrap().len(), 1);
    let cursor = page.body["next_cursor"].as_str().unwrap().to_owned();
    let rest = app.call(Method::GET, &format!("/v1/organizations?limit=1&cursor={cursor}"), None).await;
    assert_eq!(rest.data()[0]["slug"], "beta");
    assert!(rest.body["next_cursor"].is_null());

    let stale = app
        .send(
            Request::patch(format!("/v1/organizations/{org}"))
                .header("authorization", format!("Bearer {}", app.platform_key))
                .header("content-type", "application/json")
                .header("if-match", "\"7\"")
                .body(json!({"name": "Nope"}).to_string().into())
                .unwrap(),
        )
        .await;
    assert_eq!(stale.status, StatusCode::PRECONDITION_FAILED, "{stale:?}");
    assert_eq!(stale.code(), "version_mismatch");

    let patched = app
        .call(Method::PATCH, &format!("/v1/organizations/{org}"), Some(json!({"name": "Acme 2", "domain": null})))
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{patched:?}");
    assert_eq!(patched.data()["name"], "Acme 2");
    assert!(patched.data()["domain"].is_null());
    assert_eq!(patched.data()["version"], 2);

    let deleted = app.call(Method::DELETE, &format!("/v1/organizations/{org}"), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let gone = app.call(Method::GET, &format!("/v1/organizations/{org}"), None).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.code(), "not_found");
    // The slug is free again.
    app.org("acme", json!({})).await;
}

async fn a_duplicate_slug_returns_409_slug_taken(app: TestApp) {
    app.org("acme", json!({})).await;
    let again = app.call(Method::POST, "/v1/organizations", Some(json!({"slug": "acme", "name": "Other"}))).await;
    assert_eq!(again.status, StatusCode::CONFLICT);
    assert_eq!(again.code(), "slug_taken");
    assert_eq!(again.headers["content-type"], "application/problem+json");
}

async fn requests_without_a_valid_key_return_401(app: TestApp) {
    for key in ["", "rst_not-a-real-key", "Bearer", &format!("rst_{}", "A".repeat(43))] {
        let reply = app.call_as(key, Method::GET, "/v1/organizations", None).await;
        assert_eq!(reply.status, StatusCode::UNAUTHORIZED, "{key:?}");
        assert_eq!(reply.code(), "unauthenticated");
        assert!(reply.headers.contains_key("www-authenticate"));
    }
}

async fn a_service_key_sees_only_its_own_organization(app: TestApp) {
    let a = app.org("org-a", json!({})).await;
    let b = app.org("org-b", json!({})).await;
    let user_b = app.user(&b, "bob@b.test").await;
    let key_a = app.service_key(&a).await;

    let own = app.call_as(&key_a, Method::GET, &format!("/v1/organizations/{a}"), None).await;
    assert_eq!(own.status, StatusCode::OK);
    let listed = app.call_as(&key_a, Method::GET, "/v1/organizations", None).await;
    assert_eq!(listed.data().as_array().unwrap().len(), 1);
    assert_eq!(listed.data()[0]["id"], a.as_str());

    let user_b_id = user_b["id"].as_str().unwrap();
    for (method, uri, body) in [
        (Method::GET, format!("/v1/organizations/{b}"), None),
        (Method::PATCH, format!("/v1/organizations/{b}"), Some(json!({"name": "x"}))),
        (Method::GET, format!("/v1/organizations/{b}/users"), None),
        (Method::POST, format!("/v1/organizations/{b}/users"), Some(json!({"email": "e@b.test", "name": "E"}))),
        (Method::GET, format!("/v1/organizations/{b}/users/{user_b_id}"), None),
        (Method::DELETE, format!("/v1/organizations/{b}/users/{user_b_id}"), None),
        (Method::GET, format!("/v1/organizations/{b}/api-keys"), None),
        // Another org's user id under the caller's own org is just as unknown.
        (Method::GET, format!("/v1/organizations/{a}/users/{user_b_id}"), None),
    ] {
        let reply = app.call_as(&key_a, method.clone(), &uri, body).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "{method} {uri}: {reply:?}");
        assert_eq!(reply.code(), "not_found");
    }
    // Only platform keys and partners create organizations.
    let create_org =
        app.call_as(&key_a, Method::POST, "/v1/organizations", Some(json!({"slug": "org-c", "name": "C"}))).await;
    assert_eq!(create_org.status, StatusCode::FORBIDDEN);
    // Nothing of org B changed.
    let still = app.call(Method::GET, &format!("/v1/organizations/{b}/users/{user_b_id}"), None).await;
    assert_eq!(still.status, StatusCode::OK);
}

async fn a_revoked_service_key_stops_working_at_once(app: TestApp) {
    let org = app.org("acme", json!({})).await;
    let created =
        app.call(Method::POST, &format!("/v1/organizations/{org}/api-keys"), Some(json!({"name": "ci"}))).await;
    let key = created.data()["secret"].as_str().unwrap().to_owned();
    let key_id = created.data()["id"].as_str().unwrap().to_owned();
    assert_eq!(app.call_as(&key, Method::GET, &format!("/v1/organizations/{org}"), None).await.status, StatusCode::OK);

    let listed = app.call(Method::GET, &format!("/v1/organizations/{org}/api-keys"), None).await;
    assert_eq!(listed.data()[0]["id"], key_id.as_str());
    assert!(listed.data()[0].get("secret").is_none(), "secrets are shown once");

    let revoked = app.call(Method::DELETE, &format!("/v1/organizations/{org}/api-keys/{key_id}"), None).await;
    assert_eq!(revoked.status, StatusCode::NO_CONTENT);
    let after = app.call_as(&key, Method::GET, &format!("/v1/organizations/{org}"), None).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
    let again = app.call(Method::DELETE, &format!("/v1/organizations/{org}/api-keys/{key_id}"), None).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
}

async fn malformed_and_unknown_json_gets_a_clear_4xx(app: TestApp) {
    let raw = |body: &'static str, content_type: &'static str| {
        Request::post("/v1/organizations")
            .header("authorization", format!("Bearer {}", app.platform_key))
            .header("content-type", content_type)
            .body(body.into())
            .unwrap()
    };
    let malformed = app.send(raw("{\"slug\": ", "application/json")).await;
    assert_eq!(malformed.status, StatusCode::BAD_REQUEST, "{malformed:?}");
    let unknown = app.send(raw(r#"{"slug": "x1", "name": "X", "colour": "red"}"#, "application/json")).await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY, "{unknown:?}");
    assert_eq!(unknown.code(), "validation_failed");
    let wrong_type = app.send(raw(r#"{"slug": 5, "name": "X"}"#, "application/json")).await;
    assert_eq!(wrong_type.status, StatusCode::UNPROCESSABLE_ENTITY, "{wrong_type:?}");
    let not_json = app.send(raw("slug=x", "text/plain")).await;
    assert_eq!(not_json.status, StatusCode::UNSUPPORTED_MEDIA_TYPE, "{not_json:?}");
    let huge = format!(r#"{{"slug": "x2", "name": "{}"}}"#, "x".repeat(200_000));
    let too_big = app
        .send(
            Request::post("/v1/organizations")
                .header("authorization", format!("Bearer {}", app.platform_key))
                .header("content-type", "application/json")
                .body(huge.into())
                .unwrap(),
        )
        .await;
    assert_eq!(too_big.status, StatusCode::PAYLOAD_TOO_LARGE, "{too_big:?}");
    let bad_id = app.call(Method::GET, "/v1/organizations/not-a-uuid", None).await;
    assert_eq!(bad_id.status, StatusCode::BAD_REQUEST, "{bad_id:?}");
    let unknown_route = app.call(Method::GET, "/v1/nothing-here", None).await;
    assert_eq!(unknown_route.status, StatusCode::NOT_FOUND);
    for reply in [&malformed, &unknown, &not_json, &too_big, &bad_id, &unknown_route] {
        assert!(reply.body["request_id"].is_string(), "{reply:?}");
    }
}

async fn the_version_header_is_checked_and_echoed(app: TestApp) {
    let request = |version: &'static str| {
        Request::get("/v1/organizations")
            .header("authorization", format!("Bearer {}", app.platform_key))
            .header("roster-version", version)
            .body(axum::body::Body::empty())
            .unwrap()
    };
    let ok = app.send(request("1")).await;
    assert_eq!(ok.status, StatusCode::OK);
    assert_eq!(ok.headers["roster-version"], "1");
    let unknown = app.send(request("2")).await;
    assert_eq!(unknown.status, StatusCode::BAD_REQUEST);
    assert_eq!(unknown.code(), "unsupported_version");
}

async fn operational_endpoints_answer(app: TestApp) {
    assert_eq!(app.call_as("", Method::GET, "/healthz", None).await.status, StatusCode::OK);
    assert_eq!(app.call_as("", Method::GET, "/readyz", None).await.status, StatusCode::OK);
    let openapi = app.call_as("", Method::GET, "/openapi.json", None).await;
    assert_eq!(openapi.status, StatusCode::OK);
    assert!(openapi.body["paths"]["/v1/organizations/{org_id}/users"].is_object());
    assert_eq!(app.call_as("", Method::GET, "/docs", None).await.status, StatusCode::OK);
    app.call(Method::GET, "/v1/organizations", None).await;
    let metrics = app.call_as("", Method::GET, "/metrics", None).await;
    assert_eq!(metrics.status, StatusCode::OK);
    let text = metrics.body.as_str().unwrap_or_default();
    assert!(text.contains("roster_http_requests_total"), "{text}");
    assert!(text.contains("roster_db_pool_connections"), "{text}");
}

async fn a_partner_reaches_its_children_and_nothing_else(app: TestApp) {
    let partner = app.org("partner", json!({"partner": true})).await;
    let child = app.org("child", json!({"parent_id": partner})).await;
    let unrelated = app.org("unrelated", json!({})).await;
    let got = app.call(Method::GET, &format!("/v1/organizations/{partner}"), None).await;
    assert_eq!(got.data()["partner"], true);
    assert_eq!(app.call(Method::GET, &format!("/v1/organizations/{child}"), None).await.data()["partner"], false);
    let key = app.service_key(&partner).await;

    // The partner's key manages its child as its own.
    let org_uri = format!("/v1/organizations/{child}");
    assert_eq!(app.call_as(&key, Method::GET, &org_uri, None).await.status, StatusCode::OK);
    assert_eq!(app.call_as(&key, Method::GET, &format!("{org_uri}/users"), None).await.status, StatusCode::OK);
    let user = app
        .call_as(&key, Method::POST, &format!("{org_uri}/users"), Some(json!({"email": "c@child.test", "name": "C"})))
        .await;
    assert_eq!(user.status, StatusCode::CREATED, "{user:?}");
    let seats = app.call_as(&key, Method::PATCH, &org_uri, Some(json!({"seat_limit": 10}))).await;
    assert_eq!(seats.status, StatusCode::OK, "the managing partner sets the plan: {seats:?}");

    // Anything else is not found, not forbidden.
    for (method, uri, body) in [
        (Method::GET, format!("/v1/organizations/{unrelated}"), None),
        (Method::GET, format!("/v1/organizations/{unrelated}/users"), None),
        (Method::POST, format!("/v1/organizations/{unrelated}/users"), Some(json!({"email": "x@u.test", "name": "X"}))),
        (Method::GET, format!("/v1/organizations/{unrelated}/roles"), None),
    ] {
        let reply = app.call_as(&key, method.clone(), &uri, body).await;
        assert_eq!((reply.status, reply.code()), (StatusCode::NOT_FOUND, "not_found"), "{method} {uri}");
    }
    let listed = app.call_as(&key, Method::GET, "/v1/organizations", None).await;
    let mut ids: Vec<&str> = listed.data().as_array().unwrap().iter().filter_map(|o| o["id"].as_str()).collect();
    ids.sort_unstable();
    let mut expected = vec![partner.as_str(), child.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected);

    // A partner makes children, but not partners; only the platform confers partnership.
    let made =
        app.call_as(&key, Method::POST, "/v1/organizations", Some(json!({"slug": "child-2", "name": "C2"}))).await;
    assert_eq!(made.status, StatusCode::CREATED, "{made:?}");
    assert_eq!(made.data()["parent_id"], partner.as_str());
    assert_eq!(made.data()["partner"], false);
    let sub_partner = app
        .call_as(
            &key,
            Method::POST,
            "/v1/organizations",
            Some(json!({"slug": "child-3", "name": "C3", "partner": true})),
        )
        .await;
    assert_eq!(sub_partner.status, StatusCode::FORBIDDEN, "{sub_partner:?}");
    let promote = app.call_as(&key, Method::PATCH, &org_uri, Some(json!({"partner": true}))).await;
    assert_eq!(promote.status, StatusCode::FORBIDDEN, "{promote:?}");

    // A child's own key sees neither its partner nor its own plan.
    let child_key = app.service_key(&child).await;
    let up = app.call_as(&child_key, Method::GET, &format!("/v1/organizations/{partner}"), None).await;
    assert_eq!(up.status, StatusCode::NOT_FOUND);
    let own_seats = app.call_as(&child_key, Method::PATCH, &org_uri, Some(json!({"seat_limit": 99}))).await;
    assert_eq!(own_seats.status, StatusCode::FORBIDDEN, "{own_seats:?}");

    // Withdrawn partnership ends the reach at once.
    let withdrawn =
        app.call(Method::PATCH, &format!("/v1/organizations/{partner}"), Some(json!({"partner": false}))).await;
    assert_eq!((withdrawn.status, withdrawn.data()["partner"].clone()), (StatusCode::OK, json!(false)));
    assert_eq!(app.call_as(&key, Method::GET, &org_uri, None).await.status, StatusCode::NOT_FOUND);
}
