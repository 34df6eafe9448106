//! The invitation page for people: the form, its CSRF protection, its messages and the
//! headers every page carries.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use chrono::Duration;
use serde_json::json;

use super::support::{Reply, TestApp};

const PASSWORD: &str = "correct horse battery staple";

/// An app with an org `acme` and one invitee; returns the token of the invitation.
async fn invited(app: &TestApp, login_url: Option<&str>) -> (String, String) {
    let org = app.org("acme").await;
    let mut body = json!({"email": "ada@example.com", "name": "Ada"});
    if let Some(url) = login_url {
        body["login_url"] = json!(url);
    }
    let reply = app.send(app.json("POST", &format!("/v1/organizations/{org}/users"), &body)).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.text());
    (org, app.invitation_token("ada@example.com").await)
}

async fn open(app: &TestApp, token: &str) -> Reply {
    app.send(Request::get(format!("/invite/{token}")).body(Body::empty()).unwrap()).await
}

/// Percent-encodes a form value.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// Submits the form with `fields`, sending `cookie` (if any) as the CSRF cookie.
async fn submit(app: &TestApp, token: &str, cookie: Option<&str>, fields: &[(&str, &str)]) -> Reply {
    let body: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={}", encode(v))).collect();
    let mut req =
        Request::post(format!("/invite/{token}")).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(cookie) = cookie {
        req = req.header(header::COOKIE, format!("roster_invite_csrf={cookie}"));
    }
    app.send(req.body(Body::from(body.join("&"))).unwrap()).await
}

/// Opens the page and returns the CSRF token of its cookie, checking the field holds it.
async fn csrf_of(app: &TestApp, token: &str) -> String {
    let page = open(app, token).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text());
    let cookie = page.header("set-cookie");
    let value = cookie.strip_prefix("roster_invite_csrf=").and_then(|c| c.split(';').next()).unwrap().to_owned();
    assert!(page.text().contains(&format!("<input type=\"hidden\" name=\"csrf\" value=\"{value}\">")));
    value
}

/// Asserts the headers every page carries.
#[track_caller]
fn assert_page(reply: &Reply, status: u16) {
    assert_eq!(reply.status.as_u16(), status, "{}", reply.text());
    assert_eq!(reply.header("content-type"), "text/html; charset=utf-8");
    assert_eq!(reply.header("cache-control"), "no-store");
    assert_eq!(reply.header("referrer-policy"), "no-referrer");
    assert_eq!(reply.header("x-frame-options"), "DENY");
    assert_eq!(
        reply.header("content-security-policy"),
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    );
    let text = reply.text();
    assert!(text.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"), "{text}");
    assert!(text.contains("<title>") && text.contains(":focus-visible"), "{text}");
    assert!(!text.contains("<script"), "{text}");
}

async fn user_status(app: &TestApp, org: &str) -> String {
    let users = app.send(app.get("GET", &format!("/v1/organizations/{org}/users"))).await.json();
    users["data"][0]["status"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_link_opens_a_labelled_form_protected_by_a_csrf_cookie() {
    let app = TestApp::new().await;
    let (_, token) = invited(&app, None).await;
    let page = open(&app, &token).await;
    assert_page(&page, 200);
    let html = page.text();
    assert!(html.contains("<h1>Join acme</h1>"), "{html}");
    assert!(html.contains("<strong>ada@example.com</strong>"), "{html}");
    assert!(html.contains("<label for=\"password\">Choose a password</label>"), "{html}");
    assert!(
        html.contains(
            "<input type=\"password\" name=\"password\" id=\"password\" autocomplete=\"new-password\" required \
             minlength=\"12\""
        ),
        "{html}"
    );
    assert!(html.contains("<label for=\"password_confirm\">"), "{html}");
    assert!(html.contains("<button type=\"submit\">Set password and join</button>"), "{html}");
    let cookie = page.header("set-cookie");
    assert!(cookie.starts_with("roster_invite_csrf="), "{cookie}");
    for attribute in ["HttpOnly", "SameSite=Strict", "Path=/invite"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    let csrf = csrf_of(&app, &token).await;
    assert_eq!(csrf.len(), 64);
    assert_ne!(csrf, csrf_of(&app, &token).await, "each visit without a cookie gets its own token");
}

#[tokio::test]
async fn a_second_visit_keeps_the_cookie_it_brings() {
    let app = TestApp::new().await;
    let (_, token) = invited(&app, None).await;
    let csrf = csrf_of(&app, &token).await;
    let req = Request::get(format!("/invite/{token}"))
        .header(header::COOKIE, format!("roster_invite_csrf={csrf}"))
        .body(Body::empty())
        .unwrap();
    let page = app.send(req).await;
    assert!(page.text().contains(&format!("value=\"{csrf}\"")));
    assert!(page.header("set-cookie").starts_with(&format!("roster_invite_csrf={csrf};")));
}

#[tokio::test]
async fn a_submission_without_the_matching_cookie_is_refused() {
    let app = TestApp::new().await;
    let (org, token) = invited(&app, None).await;
    let csrf = csrf_of(&app, &token).await;
    let fields = [("password", PASSWORD), ("password_confirm", PASSWORD), ("csrf", csrf.as_str())];
    let other = "0".repeat(64);
    for cookie in [None, Some(other.as_str())] {
        let reply = submit(&app, &token, cookie, &fields).await;
        assert_page(&reply, 403);
        let html = reply.text();
        assert!(html.contains("This form has expired, reload the page"), "{html}");
        assert!(html.contains("role=\"alert\""), "{html}");
        assert!(html.contains(&format!("<a href=\"/invite/{token}\">Reload the page</a>")), "{html}");
    }
    let without_field = [("password", PASSWORD), ("password_confirm", PASSWORD)];
    assert_page(&submit(&app, &token, Some(&csrf), &without_field).await, 403);
    assert_eq!(user_status(&app, &org).await, "invited");
}

#[tokio::test]
async fn mismatched_passwords_show_the_form_again_with_the_message() {
    let app = TestApp::new().await;
    let (org, token) = invited(&app, None).await;
    let csrf = csrf_of(&app, &token).await;
    let fields = [("password", PASSWORD), ("password_confirm", "correct horse battery stapler"), ("csrf", &csrf)];
    let reply = submit(&app, &token, Some(&csrf), &fields).await;
    assert_page(&reply, 422);
    let html = reply.text();
    assert!(html.contains("<h1>Join acme</h1>"), "{html}");
    assert!(html.contains("aria-describedby=\"password_confirm-error\" aria-invalid=\"true\""), "{html}");
    assert!(
        html.contains("<p class=\"error\" id=\"password_confirm-error\" role=\"alert\">The passwords do not match.")
    );
    assert!(html.contains(&format!("name=\"csrf\" value=\"{csrf}\"")), "the form stays submittable: {html}");
    assert!(!html.contains(PASSWORD), "passwords are never echoed");
    assert_eq!(user_status(&app, &org).await, "invited");
}

#[tokio::test]
async fn a_password_the_rules_refuse_shows_their_message() {
    let app = TestApp::new().await;
    let (org, token) = invited(&app, None).await;
    let csrf = csrf_of(&app, &token).await;
    for password in ["too short", "ada@example.com"] {
        let fields = [("password", password), ("password_confirm", password), ("csrf", csrf.as_str())];
        let reply = submit(&app, &token, Some(&csrf), &fields).await;
        assert_page(&reply, 422);
        let html = reply.text();
        assert!(html.contains("aria-describedby=\"password-hint password-error\" aria-invalid=\"true\""), "{html}");
        let message = html.split("id=\"password-error\" role=\"alert\">").nth(1).unwrap().split("</p>").next().unwrap();
        assert!(message.starts_with("Password must"), "the domain's message: {message}");
    }
    assert_eq!(user_status(&app, &org).await, "invited");
}

#[tokio::test]
async fn a_valid_submission_activates_the_account_and_leads_to_the_login_url() {
    let app = TestApp::new().await;
    let login_url = "https://app.acme.example/login?next=/home&from=invite";
    let (org, token) = invited(&app, Some(login_url)).await;
    let csrf = csrf_of(&app, &token).await;
    let fields = [("password", PASSWORD), ("password_confirm", PASSWORD), ("csrf", csrf.as_str())];
    let reply = submit(&app, &token, Some(&csrf), &fields).await;
    assert_page(&reply, 200);
    let html = reply.text();
    assert!(html.contains("role=\"status\">\n<h1>Your account is ready</h1>"), "{html}");
    let escaped = "https://app.acme.example/login?next=/home&amp;from=invite";
    assert!(html.contains(&format!("<a href=\"{escaped}\">Continue to sign in</a>")), "{html}");
    assert!(html.contains(&format!("<meta http-equiv=\"refresh\" content=\"5;url={escaped}\">")), "{html}");
    assert!(reply.header("set-cookie").contains("Max-Age=0"), "the CSRF cookie is dropped");
    assert_eq!(user_status(&app, &org).await, "active");
    assert_eq!(app.login("acme", "ada@example.com", PASSWORD).await.status, StatusCode::OK);

    // The link is used up.
    let again = open(&app, &token).await;
    assert_page(&again, 409);
    assert!(again.text().contains("already accepted"), "{}", again.text());
    let reply = submit(&app, &token, Some(&csrf), &fields).await;
    assert_page(&reply, 409);
}

#[tokio::test]
async fn without_a_login_url_the_success_page_stays() {
    let app = TestApp::new().await;
    let (_, token) = invited(&app, None).await;
    let csrf = csrf_of(&app, &token).await;
    let fields = [("password", PASSWORD), ("password_confirm", PASSWORD), ("csrf", csrf.as_str())];
    let reply = submit(&app, &token, Some(&csrf), &fields).await;
    assert_page(&reply, 200);
    assert!(reply.text().contains("Your account is ready"));
    assert!(!reply.text().contains("http-equiv") && !reply.text().contains("Continue to sign in"));
}

#[tokio::test]
async fn an_expired_link_says_it_expired() {
    let app = TestApp::with_clock().await;
    let (_, token) = invited(&app, None).await;
    let csrf = csrf_of(&app, &token).await;
    app.advance(Duration::days(7) + Duration::seconds(1));
    let page = open(&app, &token).await;
    assert_page(&page, 410);
    let html = page.text();
    assert!(html.contains("<div class=\"alert\" role=\"alert\">"), "{html}");
    assert!(html.contains("This invitation has expired"), "{html}");
    assert!(page.header("set-cookie").is_empty());
    let fields = [("password", PASSWORD), ("password_confirm", PASSWORD), ("csrf", csrf.as_str())];
    let reply = submit(&app, &token, Some(&csrf), &fields).await;
    assert_page(&reply, 410);
    assert!(reply.text().contains("expired"));
}

#[tokio::test]
async fn unknown_and_revoked_links_explain_themselves() {
    let app = TestApp::new().await;
    let page = open(&app, "rsi_unknown").await;
    assert_page(&page, 404);
    assert!(page.text().contains("This invitation link is not valid"), "{}", page.text());
    let page = open(&app, "%3Cscript%3E").await;
    assert_page(&page, 404);
    assert!(!page.text().contains("<script>"));

    let (org, token) = invited(&app, None).await;
    let list = app.send(app.get("GET", &format!("/v1/organizations/{org}/invitations"))).await.json();
    let id = list["data"][0]["id"].as_str().unwrap();
    let revoked = app.send(app.get("POST", &format!("/v1/organizations/{org}/invitations/{id}/revoke"))).await;
    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.text());
    let page = open(&app, &token).await;
    assert_page(&page, 410);
    assert!(page.text().contains("revoked"), "{}", page.text());
}

#[tokio::test]
async fn a_submission_that_is_not_a_form_is_refused() {
    let app = TestApp::new().await;
    let (_, token) = invited(&app, None).await;
    let req = Request::post(format!("/invite/{token}"))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{}"))
        .unwrap();
    let reply = app.send(req).await;
    assert_eq!(reply.status.as_u16() / 100, 4);
    assert_eq!(reply.header("content-type"), "text/html; charset=utf-8");
    assert!(reply.text().contains("role=\"alert\""));
}
