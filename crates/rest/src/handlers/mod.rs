//! The handlers: parse, call one use case, map the result. No rules live here.

pub(crate) mod access;
pub(crate) mod api_keys;
pub(crate) mod audit;
pub(crate) mod auth;
pub(crate) mod grants;
pub(crate) mod invitations;
pub(crate) mod ops;
pub(crate) mod organizations;
pub(crate) mod roles;
pub(crate) mod sessions;
pub(crate) mod users;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::dto::Data;
use crate::error::ApiError;
use crate::extract::Json;

/// A single resource in a `{"data": …}` envelope with its version as `ETag`, and a
/// `Location` when it was just created.
pub(crate) struct Versioned<T> {
    status: StatusCode,
    version: i64,
    location: Option<String>,
    no_store: bool,
    data: T,
}

impl<T> Versioned<T> {
    /// `200 OK` with the resource.
    pub(crate) fn ok(version: i64, data: T) -> Self {
        Self { status: StatusCode::OK, version, location: None, no_store: false, data }
    }

    /// `201 Created` with the resource and where it lives.
    pub(crate) fn created(location: String, version: i64, data: T) -> Self {
        Self { status: StatusCode::CREATED, version, location: Some(location), no_store: false, data }
    }

    /// Forbids caching: the body holds a secret shown once.
    pub(crate) fn no_store(mut self, no_store: bool) -> Self {
        self.no_store = no_store;
        self
    }
}

/// The strong entity tag of a resource version: `"<version>"`.
pub(crate) fn etag(version: i64) -> HeaderValue {
    // Digits and quotes are always a valid header value.
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

impl<T: Serialize> IntoResponse for Versioned<T> {
    fn into_response(self) -> Response {
        let mut res = (self.status, Json(Data { data: self.data })).into_response();
        res.headers_mut().insert(header::ETAG, etag(self.version));
        if let Some(location) = self.location.and_then(|l| HeaderValue::from_str(&l).ok()) {
            res.headers_mut().insert(header::LOCATION, location);
        }
        if self.no_store {
            res.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        }
        res
    }
}

/// Fallback for paths no route matches.
pub(crate) async fn route_not_found() -> ApiError {
    ApiError::RouteNotFound
}

/// Fallback for known paths with a method they do not support (axum adds `Allow`).
pub(crate) async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed
}
