//! The use cases. Every front end (REST, gRPC, an embedder) calls these, so every rule
//! holds the same way everywhere. Each use case takes the caller's [`Principal`] and
//! decides itself what the caller may do; writes happen in one storage transaction.

mod access;
mod api_keys;
mod audit;
mod auth;
mod grants;
mod invitations;
mod organizations;
mod roles;
mod sessions;
mod users;

use std::fmt;
use std::sync::Arc;

use chrono::Duration;

pub use access::{CheckOutcome, Me};
pub use api_keys::CreateApiKeyInput;
pub use audit::ListAuditInput;
pub use grants::GrantInput;
pub use invitations::{AcceptInvitationInput, AcceptedInvitation, InvitationPreview, ListInvitationsInput};
pub use roles::{CreateRoleInput, UpdateRoleInput};
pub use sessions::{LoginInput, LoginOutcome};
pub use users::{BatchOutcome, CreatedUser};

use crate::clock::{Clock, SystemClock};
use crate::error::Error;
use crate::hashing::PasswordHasher;
use crate::ids::{IdGenerator, UuidV7Ids};
use crate::ports::Storage;
use crate::session::ThrottlePolicy;
use crate::values::PasswordPolicy;

/// Tunables of the use cases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settings {
    /// Password length rules.
    pub password_policy: PasswordPolicy,
    /// How long a verified API key is trusted without asking storage again. Revocations
    /// made through this instance apply at once; those made through another instance
    /// apply within this bound. The same holds for sessions, suspended or deleted users
    /// and changed roles or grants.
    pub key_cache_ttl: Duration,
    /// How long a login session lasts.
    pub session_ttl: Duration,
    /// Failed logins per account before it is locked out for a while.
    pub account_throttle: ThrottlePolicy,
    /// Failed logins per client address before it is locked out for a while.
    pub address_throttle: ThrottlePolicy,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            password_policy: PasswordPolicy::default(),
            key_cache_ttl: Duration::seconds(5),
            session_ttl: Duration::hours(12),
            account_throttle: ThrottlePolicy {
                limit: 5,
                window: Duration::minutes(15),
                base_lock: Duration::seconds(30),
                max_lock: Duration::minutes(15),
            },
            address_throttle: ThrottlePolicy {
                limit: 50,
                window: Duration::minutes(15),
                base_lock: Duration::seconds(30),
                max_lock: Duration::minutes(15),
            },
        }
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
    dummy_hash: std::sync::OnceLock<crate::hashing::PasswordHash>,
    public_url: String,
    mail_signal: Option<MailSignal>,
}

/// Called after a transaction that queued email commits, to wake the delivery worker.
pub type MailSignal = Arc<dyn Fn() + Send + Sync>;

/// Where the service is reached when nothing else is configured; links in emails start
/// with it.
pub const DEFAULT_PUBLIC_URL: &str = "http://127.0.0.1:8080";

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
            dummy_hash: std::sync::OnceLock::new(),
            public_url: DEFAULT_PUBLIC_URL.to_owned(),
            mail_signal: None,
        }
    }

    /// Sets the public base URL that links in emails start with (`https://id.example.com`);
    /// an invitation links to `{public_url}/invite/{token}`.
    #[must_use]
    pub fn with_public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = url.into();
        self
    }

    /// Sets what to call after a transaction that queued email commits.
    #[must_use]
    pub fn with_mail_signal(mut self, signal: MailSignal) -> Self {
        self.mail_signal = Some(signal);
        self
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

    /// The current time on the service's clock (what expiries are judged against).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
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

/// Rule 9: a stale version changes nothing.
fn check_version(expected: Option<i64>, current: i64) -> Result<(), Error> {
    match expected {
        Some(v) if v != current => Err(Error::VersionMismatch { current }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests;
