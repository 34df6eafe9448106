//! API keys: high-entropy bearer secrets, shown once and stored as a SHA-256 digest.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::ids::{ApiKeyId, OrgId, UserId};
use crate::permission::PermissionSet;
use crate::values::KeyName;

/// Every Roster API key starts with this, so leaked keys are easy to recognise and scan for.
pub const KEY_PREFIX: &str = "rst_";
/// Every session token starts with this.
pub const SESSION_PREFIX: &str = "rss_";
/// 32 random bytes in unpadded base64url.
const SECRET_CHARS: usize = 43;

/// Whom a key acts for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ApiKeyOwner {
    /// The operator: every organization.
    Platform,
    /// One organization (a service key), with the rights of its scope inside it.
    Organization(OrgId),
    /// One user (a personal key): that user's permissions, within the key's scope.
    User(OrgId, UserId),
}

impl ApiKeyOwner {
    /// The organization, for organization and personal keys.
    pub fn org_id(self) -> Option<OrgId> {
        match self {
            Self::Platform => None,
            Self::Organization(id) | Self::User(id, _) => Some(id),
        }
    }

    /// The user, for personal keys.
    pub fn user_id(self) -> Option<UserId> {
        match self {
            Self::User(_, id) => Some(id),
            _ => None,
        }
    }
}

/// The SHA-256 digest of a key's secret: what storage keeps and looks keys up by. A
/// plain hash suffices because the secret has 256 bits of entropy, so there is nothing to
/// brute-force; it also keeps authentication to one indexed look-up.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SecretDigest([u8; 32]);

impl SecretDigest {
    /// The digest of a presented token.
    pub fn of(token: &str) -> Self {
        Self(Sha256::digest(token.as_bytes()).into())
    }

    /// Wraps a stored digest.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The digest's bytes, for storage.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Compares in constant time.
    pub fn matches(&self, other: &Self) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl fmt::Debug for SecretDigest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretDigest(..)")
    }
}

/// A freshly generated key secret. Returned to the caller once; never stored.
pub struct NewSecret(SecretString);

impl NewSecret {
    /// An API key: 32 bytes from the operating system's CSPRNG.
    pub fn generate() -> Self {
        Self::with_prefix(KEY_PREFIX)
    }

    /// A session token, made as an API key is.
    pub fn generate_session() -> Self {
        Self::with_prefix(SESSION_PREFIX)
    }

    pub(crate) fn with_prefix(prefix: &str) -> Self {
        let mut bytes = [0u8; 32];
        OsRng.fill_bytes(&mut bytes);
        Self(SecretString::from(format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))))
    }

    /// The full token, to show once.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }

    /// The digest to store.
    pub fn digest(&self) -> SecretDigest {
        SecretDigest::of(self.expose())
    }

    /// The non-secret start of the token shown in listings (`rst_AbCdEfGh`).
    pub fn display_prefix(&self) -> String {
        self.expose().chars().take(KEY_PREFIX.len() + 8).collect()
    }
}

impl fmt::Debug for NewSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("NewSecret(<redacted>)")
    }
}

/// What kind of bearer token a string looks like.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenKind {
    /// An API key (`rst_…`).
    ApiKey,
    /// A login session (`rss_…`).
    Session,
}

/// What kind of Roster token a presented string has the shape of, checked before any
/// look-up; `None` for anything else.
pub fn token_kind(token: &str) -> Option<TokenKind> {
    let well_formed = |prefix: &str| {
        token.len() == prefix.len() + SECRET_CHARS
            && token.starts_with(prefix)
            && token[prefix.len()..].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    };
    if well_formed(KEY_PREFIX) {
        Some(TokenKind::ApiKey)
    } else if well_formed(SESSION_PREFIX) {
        Some(TokenKind::Session)
    } else {
        None
    }
}

/// Whether a presented token has the shape of a Roster API key.
pub fn looks_like_key(token: &str) -> bool {
    token_kind(token) == Some(TokenKind::ApiKey)
}

/// An API key as stored: everything but the secret.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiKey {
    /// Its id.
    pub id: ApiKeyId,
    /// Whom it acts for.
    pub owner: ApiKeyOwner,
    /// A human label.
    pub name: KeyName,
    /// The first characters of the token, to recognise it by.
    pub prefix: String,
    /// The secret's digest.
    pub digest: SecretDigest,
    /// What it may do, at most; `None` is everything its owner may do. A personal key's
    /// scope is a subset of its user's permissions when made, and is intersected with
    /// them on every use, so a demoted user's keys lose what the user lost.
    pub scope: Option<PermissionSet>,
    /// Who made it.
    pub created_by: String,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it last authenticated a request (to within a minute).
    pub last_used_at: Option<DateTime<Utc>>,
}

impl ApiKey {
    /// Whether the key authenticates at `now` (rule 7).
    pub fn is_usable_at(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && self.expires_at.is_none_or(|exp| now < exp)
    }
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn new_secrets_are_unique_well_formed_and_hashed() {
        let a = NewSecret::generate();
        let b = NewSecret::generate();
        assert_ne!(a.expose(), b.expose());
        assert!(looks_like_key(a.expose()));
        assert!(a.digest().matches(&SecretDigest::of(a.expose())));
        assert!(!a.digest().matches(&b.digest()));
        assert!(!format!("{a:?}").contains(&a.expose()[4..]));
        assert!(a.expose().starts_with(&a.display_prefix()));
    }

    #[test]
    fn malformed_tokens_are_recognised_without_a_lookup() {
        assert!(!looks_like_key("Bearer"));
        assert!(!looks_like_key(&format!("{KEY_PREFIX}{}", "a".repeat(42))));
        assert!(!looks_like_key(&format!("xyz_{}", "a".repeat(43))));
        assert_eq!(token_kind(NewSecret::generate_session().expose()), Some(TokenKind::Session));
        assert_eq!(token_kind(NewSecret::generate().expose()), Some(TokenKind::ApiKey));
    }

    #[test]
    fn revoked_and_expired_keys_are_unusable() {
        let now = Utc::now();
        let secret = NewSecret::generate();
        let mut key = ApiKey {
            id: ApiKeyId::from_uuid(uuid::Uuid::now_v7()),
            owner: ApiKeyOwner::Platform,
            name: KeyName::parse("k").unwrap(),
            prefix: secret.display_prefix(),
            digest: secret.digest(),
            scope: None,
            created_by: "cli".into(),
            created_at: now,
            expires_at: Some(now + Duration::hours(1)),
            revoked_at: None,
            last_used_at: None,
        };
        assert!(key.is_usable_at(now));
        assert!(!key.is_usable_at(now + Duration::hours(1)));
        key.revoked_at = Some(now);
        assert!(!key.is_usable_at(now));
    }
}
