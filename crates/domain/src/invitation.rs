//! Invitations: how a user created without a password joins. The invited user exists
//! (status `invited`, counted as a seat, holding no permissions) from the moment the
//! invitation is made; accepting it with a password makes the user `active`, and only then
//! do their roles take effect (rule 6).

use chrono::{DateTime, Utc};

use crate::api_key::{NewSecret, SecretDigest};
use crate::ids::{InvitationId, OrgId, RoleId, UserId};
use crate::values::{Email, HttpUrl};

/// The prefix of invitation tokens, so a leaked one is recognisable.
pub const TOKEN_PREFIX: &str = "rsi_";

/// What became of an invitation, as stored. `Expired` is never stored: a pending invitation
/// past its expiry is reported as expired (see [`Invitation::status_at`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum InvitationStatus {
    /// Waiting for the invitee.
    Pending,
    /// The invitee set a password; the user is active.
    Accepted,
    /// Withdrawn (or its user deleted); the seat is free again.
    Revoked,
    /// Still pending, but past its expiry.
    Expired,
}

impl InvitationStatus {
    /// The lowercase wire and storage name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Accepted => "accepted",
            Self::Revoked => "revoked",
            Self::Expired => "expired",
        }
    }

    /// Parses a wire or storage name.
    pub fn from_name(s: &str) -> Option<Self> {
        match s {
            "pending" => Some(Self::Pending),
            "accepted" => Some(Self::Accepted),
            "revoked" => Some(Self::Revoked),
            "expired" => Some(Self::Expired),
            _ => None,
        }
    }
}

/// An invitation to join an organization.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Invitation {
    /// Its id.
    pub id: InvitationId,
    /// The organization.
    pub org_id: OrgId,
    /// The invited user (status `invited` until acceptance).
    pub user_id: UserId,
    /// The invited user's email, read with the invitation (storage keeps it on the user).
    pub email: Email,
    /// The roles the user will hold once active, read with the invitation from the user.
    pub role_ids: Vec<RoleId>,
    /// Stored status: pending, accepted or revoked (never expired).
    pub status: InvitationStatus,
    /// The digest of the current token; a resend replaces it, killing the old token.
    pub digest: SecretDigest,
    /// Who invited (an actor label such as `user:<id>`).
    pub invited_by: String,
    /// Where the invitee is sent after accepting.
    pub login_url: Option<HttpUrl>,
    /// After this instant the token no longer works.
    pub expires_at: DateTime<Utc>,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it changed last (resent, accepted, revoked).
    pub updated_at: DateTime<Utc>,
    /// When it was accepted.
    pub accepted_at: Option<DateTime<Utc>>,
    /// When it was revoked.
    pub revoked_at: Option<DateTime<Utc>>,
    /// Optimistic-concurrency version, starting at 1 (rule 9).
    pub version: i64,
}

impl Invitation {
    /// The status as of `now`: a pending invitation past its expiry is expired.
    pub fn status_at(&self, now: DateTime<Utc>) -> InvitationStatus {
        match self.status {
            InvitationStatus::Pending if now >= self.expires_at => InvitationStatus::Expired,
            s => s,
        }
    }
}

/// A fresh single-use invitation token: 32 bytes from the OS CSPRNG, stored only as its
/// SHA-256 digest.
pub fn new_token() -> NewSecret {
    NewSecret::with_prefix(TOKEN_PREFIX)
}

/// The digest of a presented token, or `None` when it cannot be an invitation token (so
/// nothing is looked up for it).
pub fn digest_of_presented(token: &str) -> Option<SecretDigest> {
    let token = token.trim();
    let plausible = token.starts_with(TOKEN_PREFIX)
        && token.len() <= 128
        && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    plausible.then(|| SecretDigest::of(token))
}

/// Which of an organization's invitations to list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvitationQuery {
    /// Only those with this status as of `now`.
    pub status: Option<InvitationStatus>,
    /// The instant expiry is judged at.
    pub now: DateTime<Utc>,
    /// Only ids greater than this.
    pub after: Option<InvitationId>,
    /// At most this many.
    pub limit: u32,
}

#[cfg(test)]
mod tests {
    use chrono::{Duration, TimeZone as _};

    use super::*;

    #[test]
    fn a_pending_invitation_expires_at_its_expiry_and_a_settled_one_never_does() {
        let t0 = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
        let mut inv = Invitation {
            id: InvitationId::from_uuid(uuid::Uuid::nil()),
            org_id: OrgId::from_uuid(uuid::Uuid::nil()),
            user_id: UserId::from_uuid(uuid::Uuid::nil()),
            email: Email::parse("a@example.com").unwrap(),
            role_ids: vec![],
            status: InvitationStatus::Pending,
            digest: SecretDigest::of("x"),
            invited_by: "platform".into(),
            login_url: None,
            expires_at: t0 + Duration::days(7),
            created_at: t0,
            updated_at: t0,
            accepted_at: None,
            revoked_at: None,
            version: 1,
        };
        assert_eq!(inv.status_at(t0), InvitationStatus::Pending);
        assert_eq!(inv.status_at(t0 + Duration::days(7)), InvitationStatus::Expired);
        inv.status = InvitationStatus::Accepted;
        assert_eq!(inv.status_at(t0 + Duration::days(8)), InvitationStatus::Accepted);
    }

    #[test]
    fn only_plausible_tokens_are_looked_up() {
        let token = new_token();
        assert!(token.expose().starts_with(TOKEN_PREFIX));
        assert!(token.expose().len() > 40);
        assert!(digest_of_presented(token.expose()).unwrap().matches(&token.digest()));
        assert!(digest_of_presented("rst_not-an-invitation").is_none());
        assert!(digest_of_presented("rsi_<script>").is_none());
        assert!(digest_of_presented(&format!("rsi_{}", "a".repeat(200))).is_none());
    }
}
