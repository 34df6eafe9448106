//! Login sessions: opaque bearer tokens from password login, stored as a digest.

use chrono::{DateTime, Utc};

use crate::api_key::SecretDigest;
use crate::ids::{OrgId, SessionId, UserId};

/// A session as stored: everything but the token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Session {
    /// Its id.
    pub id: SessionId,
    /// The user's organization.
    pub org_id: OrgId,
    /// The user who logged in.
    pub user_id: UserId,
    /// The token's digest.
    pub digest: SecretDigest,
    /// The client address that logged in, if known.
    pub client_ip: Option<String>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it was revoked (by logout or an administrator), if it was.
    pub revoked_at: Option<DateTime<Utc>>,
    /// When it last authenticated a request (to within a minute).
    pub last_used_at: Option<DateTime<Utc>>,
}

impl Session {
    /// Whether the session authenticates at `now` (rule 7).
    pub fn is_usable_at(&self, now: DateTime<Utc>) -> bool {
        self.revoked_at.is_none() && now < self.expires_at
    }
}

/// How failed logins are throttled: per account and per client address, after `limit`
/// failures within `window` the key is locked for `base_lock`, doubling with each further
/// failure up to `max_lock`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures tolerated within the window.
    pub limit: u32,
    /// How long failures are remembered.
    pub window: chrono::Duration,
    /// The first lock's length.
    pub base_lock: chrono::Duration,
    /// The longest lock.
    pub max_lock: chrono::Duration,
}

impl ThrottlePolicy {
    /// How long to lock after `failures` failures within the window, if at all.
    pub fn lock_for(&self, failures: u32) -> Option<chrono::Duration> {
        let over = failures.checked_sub(self.limit)?;
        let factor = 1_i32 << over.min(16);
        Some((self.base_lock * factor).min(self.max_lock))
    }
}

/// The login-throttle state of one key (`account:…` or `ip:…`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottleState {
    /// Failures within the current window.
    pub failures: u32,
    /// Until when logins for the key are refused, if they are.
    pub locked_until: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use chrono::Duration;

    use super::*;

    #[test]
    fn locks_double_from_the_limit_up_to_the_maximum() {
        let policy = ThrottlePolicy {
            limit: 5,
            window: Duration::minutes(15),
            base_lock: Duration::seconds(30),
            max_lock: Duration::minutes(15),
        };
        assert_eq!(policy.lock_for(4), None);
        assert_eq!(policy.lock_for(5), Some(Duration::seconds(30)));
        assert_eq!(policy.lock_for(6), Some(Duration::seconds(60)));
        assert_eq!(policy.lock_for(60), Some(Duration::minutes(15)));
    }
}
