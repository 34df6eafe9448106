//! The invitation page for people: `GET /invite/{token}` shows a form to choose a
//! password, `POST /invite/{token}` accepts the invitation. Server-rendered HTML without
//! script, outside `/v1` and the OpenAPI document; the token in the path is the only
//! credential.
//!
//! The form is protected against cross-site request forgery by a double-submit token:
//! `GET` sets a random `roster_invite_csrf` cookie (`HttpOnly`, `SameSite=Strict`,
//! `Path=/invite`) and puts the same value in a hidden field; `POST` is taken only when
//! both are present and equal (compared in constant time). The cookie is not `Secure`:
//! behind a TLS-terminating proxy the server cannot tell whether the browser used https.
//! `SameSite=Strict` already keeps it out of cross-site requests; deployments serving
//! https only can add `Secure` at the proxy.
//!
//! Every page is sent with `Cache-Control: no-store` and `Referrer-Policy: no-referrer`
//! (the token is in the URL), may not be framed, and may load nothing: its only style
//! is inline.

mod html;

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Path, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use roster_domain::Error;
use roster_domain::service::{AcceptInvitationInput, InvitationPreview};
use serde::Deserialize;
use subtle::ConstantTimeEq as _;

use self::html::{Field, Trouble};
use crate::RestState;
use crate::error::ApiError;

/// The name of the CSRF cookie.
pub(crate) const CSRF_COOKIE: &str = "roster_invite_csrf";
/// The CSRF token's length: 32 random bytes as lowercase hex.
const CSRF_LEN: usize = 64;
/// The policy of every page: nothing loads, styles are inline, forms post here only.
pub(crate) const CONTENT_SECURITY_POLICY: &str =
    "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'";

/// A submitted acceptance form. Absent fields are empty (and so rejected).
#[derive(Default, Deserialize)]
pub(crate) struct AcceptForm {
    #[serde(default)]
    password: String,
    #[serde(default)]
    password_confirm: String,
    #[serde(default)]
    csrf: String,
}

impl std::fmt::Debug for AcceptForm {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcceptForm").finish_non_exhaustive()
    }
}

/// `GET /invite/{token}`: the form, or why the invitation cannot be used.
pub(crate) async fn show(State(state): State<RestState>, Path(token): Path<String>, headers: HeaderMap) -> Response {
    let preview = match state.roster.preview_invitation(&token).await {
        Ok(preview) => preview,
        Err(e) => return trouble_page(e, None),
    };
    // A second tab keeps the first one's token, so both forms stay usable.
    let csrf = cookie_values(&headers).find(|v| is_csrf_token(v)).map_or_else(new_csrf_token, str::to_owned);
    let mut res = form_page(&state, StatusCode::OK, &preview, &csrf, None);
    set_cookie(&mut res, &format!("{CSRF_COOKIE}={csrf}; Path=/invite; HttpOnly; SameSite=Strict"));
    res
}

/// `POST /invite/{token}`: accepts the invitation with the chosen password.
pub(crate) async fn submit(
    State(state): State<RestState>,
    Path(token): Path<String>,
    headers: HeaderMap,
    form: Result<Form<AcceptForm>, FormRejection>,
) -> Response {
    let Ok(Form(form)) = form else {
        return page(StatusCode::BAD_REQUEST, html::trouble(Trouble::BadForm, reload_link(&token).as_deref()));
    };
    if !csrf_matches(&headers, &form.csrf) {
        return page(StatusCode::FORBIDDEN, html::trouble(Trouble::FormExpired, reload_link(&token).as_deref()));
    }
    // The form is shown again on a mistake, so its details are needed first; this also
    // answers an unusable token before anything is checked of the password.
    let preview = match state.roster.preview_invitation(&token).await {
        Ok(preview) => preview,
        Err(e) => return trouble_page(e, None),
    };
    if form.password != form.password_confirm {
        let error = (Field::Confirm, "The passwords do not match. Type the same password in both fields.".to_owned());
        return form_page(&state, StatusCode::UNPROCESSABLE_ENTITY, &preview, &form.csrf, Some(error));
    }
    // The request-id middleware has run: every request has a usable id by now.
    let request_id = headers.get("x-request-id").and_then(|v| v.to_str().ok()).map(str::to_owned);
    let input = AcceptInvitationInput { token, password: form.password, request_id };
    match state.roster.accept_invitation(input).await {
        Ok(accepted) => {
            let login_url = accepted.login_url.as_ref().map(|u| u.as_str());
            let mut res = page(StatusCode::OK, html::success(accepted.user.user.email.as_str(), login_url));
            set_cookie(&mut res, &format!("{CSRF_COOKIE}=; Path=/invite; Max-Age=0; HttpOnly; SameSite=Strict"));
            res
        }
        Err(Error::Validation(errors)) => {
            let message = errors
                .fields()
                .iter()
                .find(|f| f.field == "password")
                .map_or_else(|| errors.to_string(), |f| f.message.clone());
            let error = Some((Field::Password, sentence(&message)));
            form_page(&state, StatusCode::UNPROCESSABLE_ENTITY, &preview, &form.csrf, error)
        }
        Err(e) => trouble_page(e, None),
    }
}

/// A domain message as a sentence: "password must …" becomes "Password must …."
fn sentence(message: &str) -> String {
    let mut chars = message.trim().chars();
    let mut out: String = chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default();
    if !out.is_empty() && !out.ends_with(['.', '!', '?']) {
        out.push('.');
    }
    out
}

fn form_page(
    state: &RestState,
    status: StatusCode,
    preview: &InvitationPreview,
    csrf: &str,
    error: Option<(Field, String)>,
) -> Response {
    let body = html::form(&html::Form {
        org_name: preview.org_name.as_str(),
        email: &preview.email,
        expires_at: preview.expires_at,
        csrf,
        password_min: state.roster.settings().password_policy.min_chars(),
        error,
    });
    page(status, body)
}

/// The page of a failed use case, with the status the API gives the same error (the
/// one mapping of [`crate::error`], which also logs internal causes).
fn trouble_page(e: Error, reload: Option<&str>) -> Response {
    let trouble = match &e {
        Error::InvitationInvalid | Error::NotFound(_) => Trouble::Invalid,
        Error::InvitationExpired => Trouble::Expired,
        Error::InvitationRevoked => Trouble::Revoked,
        Error::InvitationAccepted => Trouble::Accepted,
        _ => Trouble::Internal,
    };
    let (problem, _) = ApiError::from(e).to_problem();
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    page(status, html::trouble(trouble, reload))
}

/// An HTML response with the headers every page carries.
fn page(status: StatusCode, body: String) -> Response {
    let mut res = (status, Html(body)).into_response();
    let headers = res.headers_mut();
    let fixed: [(HeaderName, &'static str); 5] = [
        (header::CACHE_CONTROL, "no-store"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
    ];
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    // Error pages are for people: the problem middleware leaves their body alone.
    res.extensions_mut().insert(crate::problem::OwnBody);
    res
}

fn set_cookie(res: &mut Response, cookie: &str) {
    if let Ok(value) = HeaderValue::from_str(cookie) {
        res.headers_mut().append(header::SET_COOKIE, value);
    }
}

/// Where the form is reloaded from: this page, when the token can be written back into
/// a path as it is (tokens are ASCII letters, digits, `_` and `-`).
fn reload_link(token: &str) -> Option<String> {
    let plain = !token.is_empty() && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    plain.then(|| format!("/invite/{token}"))
}

/// The values of every `roster_invite_csrf` cookie the request carries.
fn cookie_values(headers: &HeaderMap) -> impl Iterator<Item = &str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .filter(|(name, _)| *name == CSRF_COOKIE)
        .map(|(_, value)| value.trim())
}

/// Whether `s` has the shape of a token this server issues.
fn is_csrf_token(s: &str) -> bool {
    s.len() == CSRF_LEN && s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// A fresh CSRF token: 32 bytes of the thread's CSPRNG (seeded from the OS), as hex.
fn new_csrf_token() -> String {
    let bytes: [u8; CSRF_LEN / 2] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Whether the form's token is one the request's cookie carries.
fn csrf_matches(headers: &HeaderMap, field: &str) -> bool {
    is_csrf_token(field) && cookie_values(headers).any(|cookie| bool::from(cookie.as_bytes().ct_eq(field.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_cookie(cookie: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(header::COOKIE, HeaderValue::from_str(cookie).unwrap());
        headers
    }

    #[test]
    fn csrf_tokens_are_random_hex() {
        let (a, b) = (new_csrf_token(), new_csrf_token());
        assert!(is_csrf_token(&a) && is_csrf_token(&b));
        assert_ne!(a, b);
    }

    #[test]
    fn the_field_must_equal_a_cookie() {
        let token = new_csrf_token();
        assert!(csrf_matches(&with_cookie(&format!("theme=dark; {CSRF_COOKIE}={token}")), &token));
        assert!(!csrf_matches(&with_cookie(&format!("{CSRF_COOKIE}={token}")), &new_csrf_token()));
        assert!(!csrf_matches(&with_cookie(&format!("other={token}")), &token));
        assert!(!csrf_matches(&HeaderMap::new(), &token));
        // Equal but not a token this server issues.
        assert!(!csrf_matches(&with_cookie(&format!("{CSRF_COOKIE}=")), ""));
        assert!(!csrf_matches(&with_cookie(&format!("{CSRF_COOKIE}=x")), "x"));
    }

    #[test]
    fn domain_messages_read_as_sentences() {
        assert_eq!(sentence("password must be at least 12 characters"), "Password must be at least 12 characters.");
        assert_eq!(sentence("Done."), "Done.");
        assert_eq!(sentence(""), "");
    }

    #[test]
    fn only_plain_tokens_are_written_back_into_links() {
        assert_eq!(reload_link("rsi_Ab-9").as_deref(), Some("/invite/rsi_Ab-9"));
        assert_eq!(reload_link("rsi_\"><script>"), None);
        assert_eq!(reload_link(""), None);
    }
}
