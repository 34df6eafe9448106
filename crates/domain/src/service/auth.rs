//! Authentication of bearer API keys, with a short-lived cache of verified keys.

use std::collections::HashMap;
use std::sync::RwLock;

use chrono::{DateTime, Utc};

use super::Roster;
use crate::api_key::{ApiKeyOwner, SecretDigest, looks_like_key};
use crate::auth::{Principal, PrincipalKind};
use crate::error::Error;
use crate::ids::{ApiKeyId, OrgId};
use crate::organization::OrgStatus;

/// At most this many verified keys are remembered; beyond it the cache starts afresh.
const MAX_CACHED_KEYS: usize = 100_000;

#[derive(Clone, Copy, Debug)]
struct Cached {
    principal: Principal,
    expires_at: Option<DateTime<Utc>>,
    cached_at: DateTime<Utc>,
}

/// Verified keys by digest. The lock is never held across an await.
#[derive(Debug, Default)]
pub(super) struct KeyCache {
    entries: RwLock<HashMap<SecretDigest, Cached>>,
}

impl KeyCache {
    fn get(&self, digest: &SecretDigest, now: DateTime<Utc>, ttl: chrono::Duration) -> Option<Principal> {
        let entries = self.entries.read().unwrap_or_else(std::sync::PoisonError::into_inner);
        let hit = entries.get(digest)?;
        let fresh = now - hit.cached_at < ttl && hit.expires_at.is_none_or(|exp| now < exp);
        fresh.then_some(hit.principal)
    }

    fn put(&self, digest: SecretDigest, entry: Cached) {
        let mut entries = self.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        if entries.len() >= MAX_CACHED_KEYS {
            entries.clear();
        }
        entries.insert(digest, entry);
    }

    fn forget(&self, keep: impl Fn(&Principal) -> bool) {
        self.entries.write().unwrap_or_else(std::sync::PoisonError::into_inner).retain(|_, e| keep(&e.principal));
    }

    pub(super) fn forget_key(&self, id: ApiKeyId) {
        self.forget(|p| p.key_id != id);
    }

    pub(super) fn forget_org(&self, org: OrgId) {
        self.forget(|p| p.org_id() != Some(org));
    }
}

impl Roster {
    /// Who presents this bearer token (rule 7: revoked or expired keys, and keys of
    /// deleted organizations, authenticate to nothing).
    ///
    /// # Errors
    /// [`Error::Unauthenticated`] for any token that is not a usable key, whatever the
    /// reason, so the answer reveals nothing; [`Error::Internal`] on storage failure.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, Error> {
        if !looks_like_key(token) {
            return Err(Error::Unauthenticated);
        }
        let digest = SecretDigest::of(token);
        let now = self.clock.now();
        if let Some(principal) = self.keys.get(&digest, now, self.settings.key_cache_ttl) {
            return Ok(principal);
        }
        let found = self.storage.find_api_key(&digest).await?.ok_or(Error::Unauthenticated)?;
        let org_alive = match (found.key.owner, found.org_status) {
            (ApiKeyOwner::Platform, _) | (_, Some(OrgStatus::Active)) => true,
            // An organization key whose organization is deleted, or missing altogether.
            _ => false,
        };
        if !(found.key.digest.matches(&digest) && found.key.is_usable_at(now) && org_alive) {
            return Err(Error::Unauthenticated);
        }
        let kind = match found.key.owner {
            ApiKeyOwner::Platform => PrincipalKind::PlatformKey,
            ApiKeyOwner::Organization(org_id) => PrincipalKind::ServiceKey { org_id },
        };
        let principal = Principal { key_id: found.key.id, kind };
        self.keys.put(digest, Cached { principal, expires_at: found.key.expires_at, cached_at: now });
        Ok(principal)
    }
}
