//! Who is calling: the `authorization: Bearer <api key>` request metadata, checked by the
//! domain's [`Roster::authenticate`].

use roster_domain::Error;
use roster_domain::auth::Principal;
use roster_domain::service::Roster;
use tonic::metadata::MetadataMap;
use tonic::{Request, Status};

use crate::status::to_status;

/// The caller of `request`. A missing or malformed header, and any key the domain does
/// not accept, fail alike with UNAUTHENTICATED (reason `unauthenticated`).
pub(crate) async fn principal<T>(roster: &Roster, request: &Request<T>) -> Result<Principal, Status> {
    let token = bearer_token(request.metadata()).ok_or_else(|| to_status(Error::Unauthenticated))?;
    roster.authenticate(token).await.map_err(to_status)
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
    fn other_schemes_and_empty_tokens_are_refused() {
        assert_eq!(bearer_token(&MetadataMap::new()), None);
        assert_eq!(bearer_token(&with_authorization("Basic dXNlcjpwdw==")), None);
        assert_eq!(bearer_token(&with_authorization("Bearer ")), None);
        assert_eq!(bearer_token(&with_authorization("rk_abc")), None);
    }
}
