//! The use cases. Every front end (REST, gRPC, an embedder) calls these, so every rule
//! holds the same way everywhere. Each use case takes the caller's [`Principal`] and
//! decides itself what the caller may do; writes happen in one storage transaction.

mod api_keys;
mod auth;
mod organizations;
mod users;

use std::fmt;
use std::sync::Arc;

use chrono::Duration;

pub use api_keys::CreateApiKeyInput;
pub use users::{BatchOutcome, CreatedUser};

use crate::auth::Principal;
use crate::clock::{Clock, SystemClock};
use crate::error::{Error, Resource};
use crate::hashing::PasswordHasher;
use crate::ids::{IdGenerator, OrgId, UuidV7Ids};
use crate::ports::Storage;
use crate::values::PasswordPolicy;

/// Tunables of the use cases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Password length rules.
    pub password_policy: PasswordPolicy,
    /// How long a verified API key is trusted without asking storage again. Revocations
    /// made through this instance apply at once; those made through another instance
    /// apply within this bound.
    pub key_cache_ttl: Duration,
}

impl Default for Settings {
    fn default() -> Self {
        Self { password_policy: PasswordPolicy::default(), key_cache_ttl: Duration::seconds(5) }
    }
}

/// Roster's use cases over a storage adapter.
pub struct Roster {
    storage: Arc<dyn Storage>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
    ids: Arc<dyn IdGenerator>,
    settings: Settings,
    keys: auth::KeyCache,
}

impl fmt::Debug for Roster {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Roster").field("settings", &self.settings).finish_non_exhaustive()
    }
}

impl Roster {
    /// The use cases with the system clock and UUIDv7 ids.
    pub fn new(storage: Arc<dyn Storage>, hasher: Arc<dyn PasswordHasher>, settings: Settings) -> Self {
        Self {
            storage,
            hasher,
            clock: Arc::new(SystemClock),
            ids: Arc::new(UuidV7Ids),
            settings,
            keys: auth::KeyCache::default(),
        }
    }

    /// Replaces the clock (tests use a fixed or steppable one).
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// Replaces the id generator.
    #[must_use]
    pub fn with_ids(mut self, ids: Arc<dyn IdGenerator>) -> Self {
        self.ids = ids;
        self
    }

    /// The settings in force.
    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// Whether storage answers (for readiness probes).
    ///
    /// # Errors
    /// [`Error::Internal`] when it does not.
    pub async fn ping(&self) -> Result<(), Error> {
        Ok(self.storage.ping().await?)
    }

    fn new_id(&self) -> uuid::Uuid {
        self.ids.new_uuid()
    }
}

/// Rule 10: what the caller cannot reach does not exist for it.
fn ensure_reach(principal: &Principal, org: OrgId) -> Result<(), Error> {
    if principal.reaches(org) { Ok(()) } else { Err(Error::NotFound(Resource::Organization)) }
}

/// Rule 9: a stale version changes nothing.
fn check_version(expected: Option<i64>, current: i64) -> Result<(), Error> {
    match expected {
        Some(v) if v != current => Err(Error::VersionMismatch { current }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
