//! Extractors whose rejections are problems: JSON bodies, path ids, query strings, the
//! bearer credential, `If-Match` and the client's address.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::rejection::PathRejection;
use axum::extract::{ConnectInfo, FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use roster_domain::auth::Principal;
use roster_domain::validation::ValidationErrors;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::RestState;
use crate::error::ApiError;

/// The authenticated caller, from `Authorization: Bearer <token>`: an API key (`rst_…`)
/// or a login session (`rss_…`). The principal carries the request id (`x-request-id`),
/// so the audit events of its changes name the request.
///
/// Rejects with 401 and a `WWW-Authenticate: Bearer` challenge when the header is
/// missing or the token is not usable.
#[derive(Clone, Debug)]
pub struct Authenticated(pub Principal);

impl FromRequestParts<RestState> for Authenticated {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &RestState) -> Result<Self, Self::Rejection> {
        let token = bearer_token(&parts.headers).ok_or(ApiError::MissingCredentials)?;
        let principal = state.roster.authenticate(token).await?;
        // The request-id middleware has run: every request has a usable id by now.
        let principal = match parts.headers.get("x-request-id").and_then(|v| v.to_str().ok()) {
            Some(id) => principal.with_request_id(id),
            None => principal,
        };
        Ok(Self(principal))
    }
}

/// The client's address when the server was started with connect info
/// (`into_make_service_with_connect_info::<SocketAddr>()`); `None` otherwise, e.g. when
/// the router is driven directly in tests. Never rejects.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ClientAddr(pub Option<SocketAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|ConnectInfo(addr)| *addr)))
    }
}

impl ClientAddr {
    /// The address's IP as text (no port: one client opens many connections).
    pub fn ip(self) -> Option<String> {
        self.0.map(|addr| addr.ip().to_string())
    }
}

/// The token of an `Authorization: Bearer <token>` header (scheme case-insensitive).
fn bearer_token(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then(|| token.trim()).filter(|t| !t.is_empty())
}

/// A JSON request body, or a problem: 415 when not declared as JSON, 413 when over
/// [`crate::MAX_BODY_BYTES`], 400 `malformed_json` when not JSON, 422
/// `validation_failed` naming the field when it does not fit `T` (unknown field, wrong
/// type, missing field). As a response, serialises `T` as `application/json`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Json<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for Json<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !is_json(req.headers()) {
            return Err(ApiError::UnsupportedMediaType);
        }
        let bytes = Bytes::from_request(req, state).await.map_err(|rejection| {
            if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::PayloadTooLarge
            } else {
                ApiError::UnreadableBody
            }
        })?;
        decode_json(&bytes).map(Self)
    }
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// `application/json` or any `application/*+json`, with or without parameters.
fn is_json(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

/// Deserialises a body, telling syntax errors (400) from errors of shape (422).
pub(crate) fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    // serde also reads structs from arrays (`["acme", "Acme"]`); every body here is an
    // object, so anything else that is valid JSON is of the wrong shape.
    let opens_object = bytes.iter().find(|b| !b.is_ascii_whitespace()) == Some(&b'{');
    if !opens_object && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok() {
        return Err(ValidationErrors::single("body", "invalid_type", "the request body must be a JSON object").into());
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        match inner.classify() {
            serde_json::error::Category::Data => ApiError::from(shape_error(&path, &inner)),
            _ => ApiError::MalformedJson(format!("the request body is not valid JSON: {inner}")),
        }
    })?;
    de.end().map_err(|e| ApiError::MalformedJson(format!("the request body is not valid JSON: {e}")))?;
    Ok(value)
}

/// A field-level error from serde's message: the field is the path to the offending
/// value, including the name of an unknown or missing field.
fn shape_error(path: &str, e: &serde_json::Error) -> ValidationErrors {
    let message = e.to_string();
    // serde_json appends " at line L column C": positions mean nothing to a field list.
    let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(m, _)| m);
    // serde_path_to_error's path already ends with an unknown field's name, but stops at
    // the parent of a missing one.
    let join = |name: &str| {
        if path == "." {
            name.to_owned()
        } else if path == name || path.ends_with(&format!(".{name}")) {
            path.to_owned()
        } else {
            format!("{path}.{name}")
        }
    };
    let backticked = |prefix: &str| {
        message.strip_prefix(prefix).and_then(|rest| rest.strip_prefix('`')).and_then(|rest| rest.split('`').next())
    };
    if let Some(name) = backticked("unknown field ") {
        ValidationErrors::single(join(name), "unknown_field", format!("unknown field `{name}`"))
    } else if let Some(name) = backticked("missing field ") {
        ValidationErrors::single(join(name), "required", format!("{name} is required"))
    } else {
        let field = if path == "." { "body".to_owned() } else { path.to_owned() };
        ValidationErrors::single(field, "invalid_type", message)
    }
}

/// Path parameters, or 400 `invalid_id` naming the parameter that is not a UUID.
#[derive(Clone, Copy, Debug)]
pub struct Path<T>(pub T);

impl<T: DeserializeOwned + Send, S: Send + Sync> FromRequestParts<S> for Path<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        use axum::extract::path::ErrorKind;
        match axum::extract::Path::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Path(value)) => Ok(Self(value)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => match e.kind() {
                ErrorKind::ParseErrorAtKey { key, .. }
                | ErrorKind::DeserializeError { key, .. }
                | ErrorKind::InvalidUtf8InPathParam { key } => Err(ApiError::InvalidId { param: key.clone() }),
                _ if e.status() == StatusCode::BAD_REQUEST => Err(ApiError::InvalidId { param: "id".to_owned() }),
                _ => Err(roster_domain::Error::Internal(Box::new(e)).into()),
            },
            Err(other) => Err(roster_domain::Error::Internal(other.to_string().into()).into()),
        }
    }
}

/// A query string, or 400 `invalid_query` (unknown parameter, wrong type, repeated
/// parameter). Values that parse but break a rule are the use case's to reject (422).
#[derive(Clone, Copy, Debug, Default)]
pub struct Query<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for Query<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::try_from_uri(&parts.uri)
            .map(|axum::extract::Query(value)| Self(value))
            .map_err(|rejection| ApiError::InvalidQuery(rejection.body_text()))
    }
}

/// The version an `If-Match` header demands: `None` when absent or `*` (any current
/// version), else the version of `"<version>"` or `W/"<version>"`. Anything else is
/// 400 `invalid_if_match`, including lists of several tags: a resource has one version.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IfMatch(pub Option<i64>);

impl<S: Send + Sync> FromRequestParts<S> for IfMatch {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_if_match(&parts.headers).map(Self)
    }
}

/// Documents the optional `If-Match` header on the operations that honour it.
impl utoipa::IntoParams for IfMatch {
    fn into_params(
        _parameter_in_provider: impl Fn() -> Option<utoipa::openapi::path::ParameterIn>,
    ) -> Vec<utoipa::openapi::path::Parameter> {
        use utoipa::openapi::path::{ParameterBuilder, ParameterIn};
        use utoipa::openapi::schema::{AnyOfBuilder, ObjectBuilder, Type};
        // `*` on its own first: generators that draw the first option get a value that
        // works on any resource.
        let schema = AnyOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["*"])))
            .item(ObjectBuilder::new().schema_type(Type::String).pattern(Some(IF_MATCH_PATTERN)));
        vec![
            ParameterBuilder::new()
                .name("If-Match")
                .parameter_in(ParameterIn::Header)
                .required(utoipa::openapi::Required::False)
                .description(Some(
                    "Act only on this version: `\"<version>\"` as in the `ETag` (also `W/\"<version>\"`), or `*` \
                     for any. A stale version answers 412 and changes nothing.",
                ))
                .schema(Some(schema))
                .build(),
        ]
    }
}

/// The `If-Match` values [`parse_if_match`] accepts: `*` or one entity tag of a version
/// (digits; 18 of them always fit an `i64`), between optional blanks.
pub(crate) const IF_MATCH_PATTERN: &str = r#"^[ \t]*(\*|(W/)?"[0-9]{1,18}")[ \t]*$"#;

/// Parses every `If-Match` header line (see [`IfMatch`]).
pub(crate) fn parse_if_match(headers: &HeaderMap) -> Result<Option<i64>, ApiError> {
    const MALFORMED: &str = "If-Match must be `*` or one entity tag such as \"3\" (a resource version)";
    let mut lines = headers.get_all(header::IF_MATCH).iter();
    let Some(first) = lines.next() else { return Ok(None) };
    if lines.next().is_some() {
        return Err(ApiError::InvalidIfMatch(MALFORMED));
    }
    let value = first.to_str().map_err(|_| ApiError::InvalidIfMatch(MALFORMED))?.trim();
    if value == "*" {
        return Ok(None);
    }
    let tag = value.strip_prefix("W/").unwrap_or(value);
    let version = tag
        .strip_prefix('"')
        .and_then(|t| t.strip_suffix('"'))
        .filter(|v| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<i64>().ok())
        .ok_or(ApiError::InvalidIfMatch(MALFORMED))?;
    Ok(Some(version))
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;
    use serde::Deserialize;

    use super::*;

    fn if_match(values: &[&str]) -> Result<Option<i64>, String> {
        let mut headers = HeaderMap::new();
        for v in values {
            headers.append(header::IF_MATCH, HeaderValue::from_str(v).unwrap());
        }
        parse_if_match(&headers).map_err(|e| e.to_problem().0.code)
    }

    #[test]
    fn if_match_accepts_strong_weak_and_star() {
        assert_eq!(if_match(&[]), Ok(None));
        assert_eq!(if_match(&["*"]), Ok(None));
        assert_eq!(if_match(&["\"3\""]), Ok(Some(3)));
        assert_eq!(if_match(&["W/\"12\""]), Ok(Some(12)));
        assert_eq!(if_match(&[" \"7\" "]), Ok(Some(7)));
    }

    #[test]
    fn malformed_if_match_is_rejected() {
        for bad in ["3", "\"\"", "\"abc\"", "\"-1\"", "\"1\", \"2\"", "w/\"1\"", "\"99999999999999999999\"", ""] {
            assert_eq!(if_match(&[bad]), Err("invalid_if_match".to_owned()), "{bad:?}");
        }
        assert_eq!(if_match(&["\"1\"", "\"2\""]), Err("invalid_if_match".to_owned()));
    }

    #[test]
    fn the_documented_if_match_pattern_is_what_parses() {
        let pattern = regex::Regex::new(IF_MATCH_PATTERN).unwrap();
        let values = [
            "*",
            " * ",
            "\"3\"",
            "W/\"12\"",
            "\t\"7\" ",
            "\"000000000000000042\"",
            "\"999999999999999999\"",
            "3",
            "\"\"",
            "\"abc\"",
            "\"-1\"",
            "w/\"1\"",
            "\"1\", \"2\"",
            "\"99999999999999999999\"",
            "",
        ];
        for v in values {
            assert_eq!(pattern.is_match(v), if_match(&[v]).is_ok(), "{v:?}");
        }
    }

    #[test]
    fn bearer_tokens_are_read_case_insensitively() {
        let mut headers = HeaderMap::new();
        assert_eq!(bearer_token(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("bearer abc"));
        assert_eq!(bearer_token(&headers), Some("abc"));
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer_token(&headers), None);
        headers.insert(header::AUTHORIZATION, HeaderValue::from_static("Bearer "));
        assert_eq!(bearer_token(&headers), None);
    }

    #[test]
    fn json_content_types_are_recognised() {
        let with = |ct: &'static str| {
            let mut h = HeaderMap::new();
            h.insert(header::CONTENT_TYPE, HeaderValue::from_static(ct));
            is_json(&h)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("text/plain"));
        assert!(!with("application/jsonx"));
        assert!(!is_json(&HeaderMap::new()));
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Body {
        name: Option<String>,
        tags: Option<Vec<String>>,
        inner: Option<Inner>,
        required: Option<Required>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Inner {
        limit: Option<u32>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)]
    struct Required {
        ids: Vec<String>,
    }

    fn decode_err(json: &str) -> (String, Vec<(String, String)>) {
        let (p, _) = decode_json::<Body>(json.as_bytes()).unwrap_err().to_problem();
        (p.code, p.errors.into_iter().map(|f| (f.field, f.code)).collect())
    }

    #[test]
    fn body_shape_errors_name_the_field() {
        let field = |f: &str, c: &str| vec![(f.to_owned(), c.to_owned())];
        assert_eq!(decode_err(r#"{"nmae": "x"}"#), ("validation_failed".into(), field("nmae", "unknown_field")));
        assert_eq!(decode_err(r#"{"name": 3}"#), ("validation_failed".into(), field("name", "invalid_type")));
        assert_eq!(decode_err(r#"{"tags": ["a", 1]}"#), ("validation_failed".into(), field("tags[1]", "invalid_type")));
        assert_eq!(
            decode_err(r#"{"inner": {"bogus": 1}}"#),
            ("validation_failed".into(), field("inner.bogus", "unknown_field"))
        );
        assert_eq!(
            decode_err(r#"{"inner": {"limit": -1}}"#),
            ("validation_failed".into(), field("inner.limit", "invalid_type"))
        );
        assert_eq!(decode_err(r#"{"required": {}}"#), ("validation_failed".into(), field("required.ids", "required")));
        for not_an_object in ["[1]", "[\"a\", null, null, null]", "\"text\"", "null"] {
            assert_eq!(decode_err(not_an_object), ("validation_failed".into(), field("body", "invalid_type")));
        }
    }

    #[test]
    fn syntax_errors_are_malformed_json() {
        for bad in ["{", "", "{\"name\": }", "{} {}", "nul"] {
            assert_eq!(decode_err(bad).0, "malformed_json", "{bad:?}");
        }
    }
}
