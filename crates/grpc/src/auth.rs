//! Who is calling: the `authorization: Bearer <token>` request metadata (an API key or a
//! session token), checked by the domain's [`Roster::authenticate`], and the request's id
//! (`x-request-id`), which the domain records in the audit events the call writes.

use std::sync::Arc;

use roster_domain::Error;
use roster_domain::auth::Principal;
use roster_domain::service::Roster;
use tonic::metadata::MetadataMap;
use tonic::{Request, Status};

use crate::status::to_status;

/// Incoming request ids longer than this are replaced, as REST does.
const MAX_REQUEST_ID_LEN: usize = 128;

/// The caller of `request`, carrying the request's id. A missing or malformed header, and
/// any token the domain does not accept, fail alike with UNAUTHENTICATED (reason
/// `unauthenticated`).
pub(crate) async fn principal<T>(roster: &Roster, request: &Request<T>) -> Result<Principal, Status> {
    let metadata = request.metadata();
    let token = bearer_token(metadata).ok_or_else(|| to_status(Error::Unauthenticated))?;
    let principal = roster.authenticate(token).await.map_err(to_status)?;
    Ok(principal.with_request_id(request_id(metadata)))
}

/// The call's `x-request-id`: the client's when it sent exactly one usable id (1-128
/// printable ASCII characters), else a fresh random UUID, as the REST front end does.
pub(crate) fn request_id(metadata: &MetadataMap) -> Arc<str> {
    let mut ids = metadata.get_all("x-request-id").iter();
    if let (Some(id), None) = (ids.next(), ids.next()) {
        let bytes = id.as_bytes();
        if !bytes.is_empty() && bytes.len() <= MAX_REQUEST_ID_LEN && bytes.iter().all(u8::is_ascii_graphic) {
            // Printable ASCII, so this cannot fail.
            if let Ok(id) = id.to_str() {
                return Arc::from(id);
            }
        }
    }
    // The thread's CSPRNG (seeded from the OS), not a system call per request.
    let uuid = uuid::Builder::from_random_bytes(rand::random()).into_uuid();
    Arc::from(uuid.hyphenated().encode_lower(&mut uuid::Uuid::encode_buffer()) as &str)
}

/// The token of an `authorization: Bearer <token>` entry (the scheme is case-insensitive,
/// RFC 9110 §11.1).
fn bearer_token(metadata: &MetadataMap) -> Option<&str> {
    let value = metadata.get("authorization")?.to_str().ok()?;
    let (scheme, token) = value.trim().split_once(' ')?;
    let token = token.trim_start();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use tonic::metadata::MetadataValue;

    use super::*;

    fn with_authorization(value: &'static str) -> MetadataMap {
        let mut metadata = MetadataMap::new();
        metadata.insert("authorization", MetadataValue::from_static(value));
        metadata
    }

    #[test]
    fn bearer_tokens_are_read_whatever_the_scheme_case() {
        assert_eq!(bearer_token(&with_authorization("Bearer rk_abc")), Some("rk_abc"));
        assert_eq!(bearer_token(&with_authorization("bearer  rk_abc")), Some("rk_abc"));
    }

    #[test]
    fn a_usable_request_id_is_kept_and_anything_else_replaced() {
        let mut metadata = MetadataMap::new();
        metadata.insert("x-request-id", MetadataValue::from_static("trace-abc-123"));
        assert_eq!(&*request_id(&metadata), "trace-abc-123");

        let generated = request_id(&MetadataMap::new());
        assert!(uuid::Uuid::parse_str(&generated).is_ok(), "{generated}");
        assert_ne!(generated, request_id(&MetadataMap::new()));

        let long = "x".repeat(MAX_REQUEST_ID_LEN + 1);
        for bad in [long.as_str(), "has space", ""] {
            let mut metadata = MetadataMap::new();
            metadata.insert("x-request-id", bad.parse().expect("ASCII"));
            assert!(uuid::Uuid::parse_str(&request_id(&metadata)).is_ok(), "{bad:?} replaced");
        }
        let mut twice = MetadataMap::new();
        twice.append("x-request-id", MetadataValue::from_static("a"));
        twice.append("x-request-id", MetadataValue::from_static("b"));
        assert!(uuid::Uuid::parse_str(&request_id(&twice)).is_ok(), "two ids: replaced");
    }

    #[test]
    fn other_schemes_and_empty_tokens_are_refused() {
        assert_eq!(bearer_token(&MetadataMap::new()), None);
        assert_eq!(bearer_token(&with_authorization("Basic dXNlcjpwdw==")), None);
        assert_eq!(bearer_token(&with_authorization("Bearer ")), None);
        assert_eq!(bearer_token(&with_authorization("rk_abc")), None);
    }
}
