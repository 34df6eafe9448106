//! Authentication of bearer tokens (API keys and sessions), with a short-lived cache of
//! verified identities.

use std::collections::HashMap;
use std::sync::{Arc, PoisonError, RwLock};

use chrono::{DateTime, Duration, Utc};

use super::Roster;
use super::access::effective;
use crate::api_key::{ApiKeyOwner, SecretDigest, TokenKind, token_kind};
use crate::auth::{Identity, Principal, PrincipalKind};
use crate::error::Error;
use crate::ids::{ApiKeyId, OrgId, SessionId, UserId};
use crate::organization::OrgStatus;
use crate::permission::PermissionSet;

/// At most this many verified credentials are remembered; beyond it the cache starts afresh.
const MAX_CACHED: usize = 100_000;
/// `last_used_at` is written at most this often per credential.
const TOUCH_EVERY: Duration = Duration::minutes(1);

#[derive(Clone, Debug)]
struct Cached {
    identity: Arc<Identity>,
    expires_at: Option<DateTime<Utc>>,
    cached_at: DateTime<Utc>,
}

/// Verified credentials by digest. The lock is never held across an await.
///
/// Every eviction bumps `generation`; a verification that started before an eviction
/// does not cache its (possibly stale) result, so a revocation or suspension applies at
/// once on this instance even when it races a cache miss.
#[derive(Debug, Default)]
pub(super) struct KeyCache {
    entries: RwLock<HashMap<SecretDigest, Cached>>,
    generation: std::sync::atomic::AtomicU64,
}

impl KeyCache {
    fn get(&self, digest: &SecretDigest, now: DateTime<Utc>, ttl: Duration) -> Option<Arc<Identity>> {
        let entries = self.entries.read().unwrap_or_else(PoisonError::into_inner);
        let hit = entries.get(digest)?;
        let fresh = now - hit.cached_at < ttl && hit.expires_at.is_none_or(|exp| now < exp);
        fresh.then(|| Arc::clone(&hit.identity))
    }

    fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Caches `entry` unless something was evicted since `generation` was read.
    fn put(&self, digest: SecretDigest, entry: Cached, generation: u64) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        if self.generation() != generation {
            return;
        }
        if entries.len() >= MAX_CACHED {
            entries.clear();
        }
        entries.insert(digest, entry);
    }

    fn forget(&self, keep: impl Fn(&Identity) -> bool) {
        let mut entries = self.entries.write().unwrap_or_else(PoisonError::into_inner);
        self.generation.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        entries.retain(|_, e| keep(&e.identity));
    }

    pub(super) fn forget_credential(&self, id: uuid::Uuid) {
        self.forget(|i| i.credential_id != id);
    }

    pub(super) fn forget_user(&self, id: UserId) {
        self.forget(|i| i.user_id != Some(id));
    }

    pub(super) fn forget_org(&self, org: OrgId) {
        self.forget(|i| i.org_id != Some(org));
    }
}

/// A verified credential before caching: its identity, expiry and last use.
struct Verified {
    identity: Identity,
    expires_at: Option<DateTime<Utc>>,
    last_used_at: Option<DateTime<Utc>>,
}

fn org_alive(status: Option<OrgStatus>) -> Result<(), Error> {
    if status == Some(OrgStatus::Active) { Ok(()) } else { Err(Error::Unauthenticated) }
}

impl Roster {
    /// Who presents this bearer token (rule 7: revoked or expired keys and sessions, keys
    /// and sessions of users who are not active, and credentials of deleted organizations
    /// authenticate to nothing).
    ///
    /// # Errors
    /// [`Error::Unauthenticated`] for any token that is not a usable credential, whatever
    /// the reason, so the answer reveals nothing; [`Error::Internal`] on storage failure.
    pub async fn authenticate(&self, token: &str) -> Result<Principal, Error> {
        let kind = token_kind(token).ok_or(Error::Unauthenticated)?;
        let digest = SecretDigest::of(token);
        let now = self.clock.now();
        if let Some(identity) = self.keys.get(&digest, now, self.settings.key_cache_ttl) {
            return Ok(Principal::from_shared(identity));
        }
        let generation = self.keys.generation();
        let verified = match kind {
            TokenKind::ApiKey => self.verify_key(&digest, now).await?,
            TokenKind::Session => self.verify_session(&digest, now).await?,
        };
        if verified.last_used_at.is_none_or(|at| now - at >= TOUCH_EVERY) {
            // Bookkeeping only: the credential is valid whether or not this write lands,
            // so a failure here must not fail the caller's request.
            let _ = self.touch(&verified.identity, now).await;
        }
        let identity = Arc::new(verified.identity);
        let entry = Cached { identity: Arc::clone(&identity), expires_at: verified.expires_at, cached_at: now };
        self.keys.put(digest, entry, generation);
        Ok(Principal::from_shared(identity))
    }

    async fn touch(&self, identity: &Identity, now: DateTime<Utc>) -> Result<(), crate::error::StoreError> {
        let mut tx = self.storage.begin().await?;
        match identity.kind {
            PrincipalKind::Session => {
                let Some(org) = identity.org_id else { return Ok(()) };
                tx.touch_session(org, SessionId::from_uuid(identity.credential_id), now).await?;
            }
            _ => tx.touch_api_key(identity.org_id, ApiKeyId::from_uuid(identity.credential_id), now).await?,
        }
        tx.commit().await
    }

    async fn verify_key(&self, digest: &SecretDigest, now: DateTime<Utc>) -> Result<Verified, Error> {
        let found = self.storage.find_api_key(digest).await?.ok_or(Error::Unauthenticated)?;
        let key = found.key;
        if !(key.digest.matches(digest) && key.is_usable_at(now)) {
            return Err(Error::Unauthenticated);
        }
        let scope = key.scope.clone().unwrap_or_else(PermissionSet::all);
        let identity = match key.owner {
            ApiKeyOwner::Platform => Identity {
                kind: PrincipalKind::PlatformKey,
                credential_id: *key.id.as_uuid(),
                org_id: None,
                partner: false,
                user_id: None,
                roles: Vec::new(),
                owner: true,
                permissions: PermissionSet::all(),
            },
            ApiKeyOwner::Organization(org) => {
                org_alive(found.org_status)?;
                Identity {
                    kind: PrincipalKind::ServiceKey,
                    credential_id: *key.id.as_uuid(),
                    org_id: Some(org),
                    partner: found.org_partner,
                    user_id: None,
                    roles: Vec::new(),
                    owner: key.scope.is_none(),
                    permissions: scope,
                }
            }
            ApiKeyOwner::User(org, user) => {
                org_alive(found.org_status)?;
                let mut identity = self.user_identity(org, user, found.org_partner, now).await?;
                identity.kind = PrincipalKind::PersonalKey;
                identity.credential_id = *key.id.as_uuid();
                identity.owner &= key.scope.is_none();
                identity.permissions = identity.permissions.intersection(&scope);
                identity
            }
        };
        Ok(Verified { identity, expires_at: key.expires_at, last_used_at: key.last_used_at })
    }

    async fn verify_session(&self, digest: &SecretDigest, now: DateTime<Utc>) -> Result<Verified, Error> {
        let found = self.storage.find_session(digest).await?.ok_or(Error::Unauthenticated)?;
        let session = found.session;
        if !(session.digest.matches(digest) && session.is_usable_at(now)) {
            return Err(Error::Unauthenticated);
        }
        org_alive(found.org_status)?;
        let mut identity = self.user_identity(session.org_id, session.user_id, found.org_partner, now).await?;
        identity.credential_id = *session.id.as_uuid();
        Ok(Verified { identity, expires_at: Some(session.expires_at), last_used_at: session.last_used_at })
    }

    /// A session identity for an active user; anything else authenticates to nothing.
    async fn user_identity(
        &self,
        org: OrgId,
        user: UserId,
        partner: bool,
        now: DateTime<Utc>,
    ) -> Result<Identity, Error> {
        let found = self.storage.user_access(org, &[user], now).await?;
        let access = found.into_iter().next().ok_or(Error::Unauthenticated)?;
        let (permissions, owner) = effective(&access);
        if access.status != crate::user::UserStatus::Active {
            return Err(Error::Unauthenticated);
        }
        Ok(Identity {
            kind: PrincipalKind::Session,
            credential_id: uuid::Uuid::nil(),
            org_id: Some(org),
            partner,
            user_id: Some(user),
            roles: access.roles,
            owner,
            permissions,
        })
    }
}

#[cfg(test)]
mod cache_tests {
    use super::*;

    fn entry(user: UserId, at: DateTime<Utc>) -> Cached {
        let identity = Identity {
            kind: PrincipalKind::Session,
            credential_id: uuid::Uuid::now_v7(),
            org_id: None,
            partner: false,
            user_id: Some(user),
            roles: Vec::new(),
            owner: false,
            permissions: PermissionSet::default(),
        };
        Cached { identity: Arc::new(identity), expires_at: None, cached_at: at }
    }

    #[test]
    fn a_verification_that_raced_an_eviction_is_not_cached() {
        let cache = KeyCache::default();
        let (user, now, ttl) = (UserId::from_uuid(uuid::Uuid::now_v7()), Utc::now(), Duration::seconds(5));
        let digest = SecretDigest::of("rss_token");
        // A cache miss reads storage while the user is suspended on this instance.
        let started = cache.generation();
        cache.forget_user(user);
        cache.put(digest, entry(user, now), started);
        assert!(cache.get(&digest, now, ttl).is_none(), "the stale identity was cached");
        // Without a race, it is cached.
        cache.put(digest, entry(user, now), cache.generation());
        assert!(cache.get(&digest, now, ttl).is_some());
    }
}
