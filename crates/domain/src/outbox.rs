//! The transactional outbox: emails are written in the same transaction as the change
//! that causes them, and a worker (crate `roster-mail`) delivers them afterwards with
//! retries. A crash can therefore neither lose a committed change's email nor send the
//! email of a change that rolled back.
//!
//! A message stores *what* to say ([`Mail`]), not rendered text: the mail crate renders
//! the plain-text and HTML bodies when it delivers or shows one.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};

use crate::ids::{MessageId, OrgId};
use crate::values::Email;

/// What an email says. Every field is already checked data; renderers escape it.
#[derive(Clone, PartialEq, Eq)]
pub enum Mail {
    /// "You are invited to join {org}": the acceptance link and its expiry.
    Invitation {
        /// The organization's name.
        org_name: String,
        /// Who invited (a person's name or email, or the organization's name).
        inviter: String,
        /// The link to the acceptance page, token included.
        accept_url: String,
        /// When the link stops working.
        expires_at: DateTime<Utc>,
    },
    /// "Your account at {org}": where to sign in and the generated credentials.
    Credentials {
        /// The organization's name.
        org_name: String,
        /// Where to sign in.
        login_url: String,
        /// The email to sign in with.
        email: String,
        /// The username.
        username: String,
        /// The generated password.
        password: String,
    },
}

impl std::fmt::Debug for Mail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Links and passwords are secrets: never in logs.
        f.write_str(self.template())
    }
}

impl Mail {
    /// The template's stored name.
    pub fn template(&self) -> &'static str {
        match self {
            Self::Invitation { .. } => "invitation",
            Self::Credentials { .. } => "credentials",
        }
    }

    /// The fields to store beside [`Self::template`].
    pub fn params(&self) -> BTreeMap<String, String> {
        let pairs: Vec<(&str, String)> = match self {
            Self::Invitation { org_name, inviter, accept_url, expires_at } => vec![
                ("org_name", org_name.clone()),
                ("inviter", inviter.clone()),
                ("accept_url", accept_url.clone()),
                ("expires_at", expires_at.to_rfc3339()),
            ],
            Self::Credentials { org_name, login_url, email, username, password } => vec![
                ("org_name", org_name.clone()),
                ("login_url", login_url.clone()),
                ("email", email.clone()),
                ("username", username.clone()),
                ("password", password.clone()),
            ],
        };
        pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
    }

    /// Rebuilds a stored mail; `None` when the template is unknown or a field is missing
    /// (or was erased after delivery).
    pub fn from_parts(template: &str, params: &BTreeMap<String, String>) -> Option<Self> {
        let get = |k: &str| params.get(k).cloned();
        match template {
            "invitation" => Some(Self::Invitation {
                org_name: get("org_name")?,
                inviter: get("inviter")?,
                accept_url: get("accept_url")?,
                expires_at: DateTime::parse_from_rfc3339(&get("expires_at")?).ok()?.with_timezone(&Utc),
            }),
            "credentials" => Some(Self::Credentials {
                org_name: get("org_name")?,
                login_url: get("login_url")?,
                email: get("email")?,
                username: get("username")?,
                password: get("password")?,
            }),
            _ => None,
        }
    }
}

/// Where a message is in its delivery.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageStatus {
    /// Waiting for (another) delivery attempt.
    Pending,
    /// Delivered.
    Sent,
    /// Given up on after the last attempt; `last_error` says why.
    Failed,
}

impl MessageStatus {
    /// The lowercase wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    /// Parses the storage name.
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "sent" => Some(Self::Sent),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// One email in the outbox.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OutboxMessage {
    /// Its id.
    pub id: MessageId,
    /// The organization it concerns.
    pub org_id: Option<OrgId>,
    /// The recipient.
    pub recipient: Email,
    /// What it says; `None` once its secrets were erased after delivery.
    pub mail: Option<Mail>,
    /// Where it is in its delivery.
    pub status: MessageStatus,
    /// How many delivery attempts were started.
    pub attempts: u32,
    /// The earliest time of the next attempt (while pending).
    pub next_attempt_at: DateTime<Utc>,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// How it was delivered (`smtp`, `mailbox`).
    pub delivered_via: Option<String>,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// When it was delivered.
    pub sent_at: Option<DateTime<Utc>>,
}

impl OutboxMessage {
    /// A message ready for its first attempt at `now`.
    pub fn queued(id: MessageId, org_id: Option<OrgId>, recipient: Email, mail: Mail, now: DateTime<Utc>) -> Self {
        Self {
            id,
            org_id,
            recipient,
            mail: Some(mail),
            status: MessageStatus::Pending,
            attempts: 0,
            next_attempt_at: now,
            last_error: None,
            delivered_via: None,
            created_at: now,
            sent_at: None,
        }
    }

    /// The claim this copy of the message was returned under (see [`Claim`]).
    pub fn claim(&self) -> Claim {
        Claim { id: self.id, attempts: self.attempts }
    }
}

/// A worker's hold on a claimed message: its id and the attempt count the claim gave it.
/// The count is the claim's fencing token: an outcome is recorded only while the message
/// still carries it, so a worker whose lease lapsed cannot overwrite a newer claim's.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Claim {
    /// The message.
    pub id: MessageId,
    /// Its attempt count as claimed.
    pub attempts: u32,
}

/// When to try again after a failed attempt: exponential backoff from `base`, capped at
/// `max`; `None` after `max_attempts` (give up).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failure.
    pub base: Duration,
    /// The longest wait.
    pub max: Duration,
    /// Attempts before a message is marked failed.
    pub max_attempts: u32,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self { base: Duration::seconds(5), max: Duration::hours(1), max_attempts: 12 }
    }
}

impl RetryPolicy {
    /// The wait before attempt `attempts + 1`, after `attempts` failures; `None` to give up.
    pub fn delay_after(&self, attempts: u32) -> Option<Duration> {
        if attempts >= self.max_attempts {
            return None;
        }
        let doublings = attempts.saturating_sub(1).min(30);
        let delay = self.base.checked_mul(1 << doublings).unwrap_or(self.max);
        Some(delay.min(self.max))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_then_gives_up() {
        let p = RetryPolicy { base: Duration::seconds(2), max: Duration::seconds(30), max_attempts: 6 };
        let waits: Vec<_> = (1..=6).map(|n| p.delay_after(n).map(|d| d.num_seconds())).collect();
        assert_eq!(waits, [Some(2), Some(4), Some(8), Some(16), Some(30), None]);
    }

    #[test]
    fn a_mail_survives_storage_and_its_debug_form_shows_no_secret() {
        let mail = Mail::Credentials {
            org_name: "Acme".into(),
            login_url: "https://acme.example/login".into(),
            email: "a@acme.example".into(),
            username: "a".into(),
            password: "s3cret-s3cret-s3cret".into(),
        };
        assert_eq!(Mail::from_parts(mail.template(), &mail.params()), Some(mail.clone()));
        assert!(!format!("{mail:?}").contains("s3cret"));
        assert_eq!(Mail::from_parts("credentials", &BTreeMap::new()), None);
    }
}
