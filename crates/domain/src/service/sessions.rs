//! Password login, logout and session management, with throttling of failed logins per
//! account and per client address that holds across app instances (it lives in storage).

use chrono::{DateTime, Utc};

use super::Roster;
use super::audit::details;
use crate::api_key::NewSecret;
use crate::auth::{Principal, PrincipalKind};
use crate::error::{Error, Resource};
use crate::hashing::PasswordHash;
use crate::ids::{OrgId, SessionId, UserId};
use crate::page::{Cursor, Page, PageSize};
use crate::session::{Session, ThrottlePolicy};
use crate::user::UserStatus;
use crate::validation::{ValidationErrors, Validator};
use crate::values::{Email, Password, Slug};

const CURSOR_SCOPE: &str = "sessions";
/// Longer inputs cannot be a valid password and are not worth hashing.
const MAX_PASSWORD_BYTES: usize = 4096;

/// A login request.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct LoginInput {
    /// The organization's id or slug.
    pub organization: Option<String>,
    /// The user's email.
    pub email: Option<String>,
    /// The password.
    pub password: Option<String>,
    /// The client's address, for per-address throttling.
    pub client_ip: Option<String>,
    /// The request's id, recorded in the login's audit event.
    pub request_id: Option<String>,
}

impl std::fmt::Debug for LoginInput {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginInput")
            .field("organization", &self.organization)
            .field("email", &self.email)
            .field("client_ip", &self.client_ip)
            .field("request_id", &self.request_id)
            .finish_non_exhaustive()
    }
}

/// A new session and its token, shown once.
#[derive(Debug)]
pub struct LoginOutcome {
    /// The session.
    pub session: Session,
    /// The bearer token.
    pub token: NewSecret,
}

impl Roster {
    /// Logs a user in with their password. Unknown organizations, unknown users, wrong
    /// passwords and users who are not active all fail the same way, after the same
    /// amount of hashing work. Failures are counted per account and per client address;
    /// past the limits, logins are refused with [`Error::RateLimited`] for a while.
    ///
    /// # Errors
    /// [`Error::Validation`] for missing fields, [`Error::Unauthenticated`],
    /// [`Error::RateLimited`].
    pub async fn login(&self, input: LoginInput) -> Result<LoginOutcome, Error> {
        let mut v = Validator::default();
        let org_ref = match input.organization {
            Some(s) if !s.trim().is_empty() && s.len() <= 200 => Some(s.trim().to_owned()),
            Some(_) => {
                v.push("organization", "invalid", "organization must be an organization id or slug");
                None
            }
            None => {
                v.missing("organization");
                None
            }
        };
        let email = match input.email {
            None => {
                v.missing("email");
                None
            }
            Some(raw) => v.check("email", Email::parse(raw)),
        };
        let password = match input.password {
            None => {
                v.missing("password");
                None
            }
            Some(p) if p.is_empty() || p.len() > MAX_PASSWORD_BYTES => {
                v.push("password", "invalid", "password must be 1-4096 bytes");
                None
            }
            Some(p) => Some(p),
        };
        let (org_ref, email, password) = v.build(|| Some((org_ref?, email?, password?)))?;
        let org = match org_ref.parse::<OrgId>() {
            Ok(id) => self.storage.get_organization(id).await?,
            Err(_) => match Slug::parse(&org_ref) {
                Ok(slug) => self.storage.get_organization_by_slug(&slug).await?,
                Err(_) => None,
            },
        };
        let account = format!(
            "account:{}:{}",
            org.as_ref().map_or_else(|| org_ref.to_lowercase(), |o| o.id.to_string()),
            email.normalized()
        );
        let address = input.client_ip.map(|ip| format!("ip:{ip}"));
        let keys: Vec<String> = std::iter::once(account.clone()).chain(address.clone()).collect();
        let now = self.clock.now();
        let states = self.storage.login_throttle(&keys).await?;
        let locked_until = states.iter().filter_map(|(_, state)| state.locked_until).filter(|until| *until > now).max();
        if let Some(until) = locked_until {
            return Err(retry_after(now, until));
        }
        // Count the attempt against the account *before* checking the password, so that
        // parallel guesses cannot all pass the check above while the count is low: an
        // attempt that finds others counted since it looked, beyond the limit, is refused
        // without hashing. A success forgets the count.
        let seen = states.iter().find(|(key, _)| *key == account).map_or(0, |(_, state)| state.failures);
        let policy = self.settings.account_throttle;
        let attempt = self.count_attempt(&account, policy, now).await?;
        if attempt > policy.limit && attempt > seen + 1 {
            return Err(retry_after(now, now + policy.lock_for(attempt).unwrap_or(policy.base_lock)));
        }
        let user = match &org {
            Some(org) => self.storage.user_by_email(org.id, &email).await?,
            None => None,
        };
        let verified = match user.as_ref().and_then(|u| u.password_hash.as_ref()) {
            Some(hash) => self.hasher.verify(&password, hash).await,
            None => {
                // Spend the same work as a real check, so timing reveals nothing.
                let dummy = self.dummy_hash().await?;
                let _ = self.hasher.verify(&password, &dummy).await;
                false
            }
        };
        let user = match user {
            Some(user) if verified && user.status == UserStatus::Active => user,
            _ => {
                if let Some(address) = &address {
                    self.count_attempt(address, self.settings.address_throttle, now).await?;
                }
                return Err(Error::Unauthenticated);
            }
        };
        let token = NewSecret::generate_session();
        let session = Session {
            id: SessionId::from_uuid(self.new_id()),
            org_id: user.org_id,
            user_id: user.id,
            digest: token.digest(),
            client_ip: address.map(|a| a.trim_start_matches("ip:").to_owned()),
            created_at: now,
            expires_at: now + self.settings.session_ttl,
            revoked_at: None,
            last_used_at: None,
        };
        let mut tx = self.storage.begin().await?;
        let mut locked = tx.user_for_update(user.org_id, user.id).await?.ok_or(Error::Unauthenticated)?;
        if locked.status != UserStatus::Active {
            return Err(Error::Unauthenticated);
        }
        locked.last_login_at = Some(now);
        tx.update_user(&locked).await?;
        tx.clear_login_failures(&account).await?;
        tx.insert_session(&session).await?;
        let actor = Principal::new(crate::auth::Identity {
            kind: PrincipalKind::Session,
            credential_id: *session.id.as_uuid(),
            org_id: Some(user.org_id),
            partner: false,
            user_id: Some(user.id),
            roles: Vec::new(),
            owner: false,
            permissions: crate::permission::PermissionSet::default(),
        });
        let actor = match input.request_id {
            Some(id) => actor.with_request_id(id),
            None => actor,
        };
        let summary = details([("session_id", session.id.to_string())]);
        self.audit(tx.as_mut(), &actor, user.org_id, "session.created", ("user", user.id.to_string()), summary).await?;
        tx.commit().await?;
        Ok(LoginOutcome { session, token })
    }

    async fn dummy_hash(&self) -> Result<PasswordHash, Error> {
        if let Some(hash) = self.dummy_hash.get() {
            return Ok(hash.clone());
        }
        let password = Password::generate(self.settings.password_policy);
        let hash = self.hash(&password).await?;
        Ok(self.dummy_hash.get_or_init(|| hash).clone())
    }

    /// Counts one attempt against `key`, locking it when the count reaches the limit;
    /// returns the count within the window.
    async fn count_attempt(&self, key: &str, policy: ThrottlePolicy, now: DateTime<Utc>) -> Result<u32, Error> {
        let mut tx = self.storage.begin().await?;
        let failures = tx.record_login_failure(key, now, policy.window).await?;
        if let Some(lock) = policy.lock_for(failures) {
            tx.lock_login(key, now + lock).await?;
        }
        tx.commit().await?;
        Ok(failures)
    }

    /// Ends the caller's own session.
    ///
    /// # Errors
    /// [`Error::Forbidden`] when the caller did not authenticate with a session.
    pub async fn logout(&self, principal: &Principal) -> Result<(), Error> {
        let (PrincipalKind::Session, Some(org), Some(user)) =
            (principal.kind(), principal.org_id(), principal.user_id())
        else {
            return Err(Error::Forbidden);
        };
        let id = SessionId::from_uuid(principal.credential_id());
        let mut tx = self.storage.begin().await?;
        if tx.revoke_session(org, user, id, self.clock.now()).await? {
            let summary = details([("session_id", id.to_string())]);
            self.audit(tx.as_mut(), principal, org, "session.revoked", ("user", user.to_string()), summary).await?;
        }
        tx.commit().await?;
        self.keys.forget_credential(*id.as_uuid());
        Ok(())
    }

    /// A user's live sessions. The user themself, or a caller with `sessions.read`.
    ///
    /// # Errors
    /// [`Error::NotFound`] / [`Error::Forbidden`], [`Error::Validation`] for a bad cursor.
    pub async fn list_sessions(
        &self,
        principal: &Principal,
        org: OrgId,
        user: UserId,
        limit: PageSize,
        cursor: Option<&str>,
    ) -> Result<Page<Session>, Error> {
        self.authorize_self_or(principal, org, user, "sessions.read").await?;
        let after = match cursor {
            None => None,
            Some(raw) => {
                let (_, id) = Cursor::decode(raw, CURSOR_SCOPE)
                    .map_err(|e| ValidationErrors::single("cursor", "invalid", e.to_string()))?;
                Some(SessionId::from_uuid(id))
            }
        };
        self.storage.get_user(org, user).await?.ok_or(Error::NotFound(Resource::User))?;
        let rows = self.storage.list_sessions(org, user, self.clock.now(), after, limit.get() + 1).await?;
        Ok(Page::from_rows(rows, limit, |s| Cursor::encode(CURSOR_SCOPE, "", s.id.as_uuid())))
    }

    /// Revokes one of a user's sessions: it stops working at once on this instance and
    /// within the credential cache's lifetime everywhere. The user themself, or a caller
    /// with `sessions.write`.
    ///
    /// # Errors
    /// [`Error::NotFound`] / [`Error::Forbidden`].
    pub async fn revoke_session(
        &self,
        principal: &Principal,
        org: OrgId,
        user: UserId,
        id: SessionId,
    ) -> Result<(), Error> {
        self.authorize_self_or(principal, org, user, "sessions.write").await?;
        let mut tx = self.storage.begin().await?;
        if !tx.revoke_session(org, user, id, self.clock.now()).await? {
            return Err(Error::NotFound(Resource::Session));
        }
        let summary = details([("session_id", id.to_string())]);
        self.audit(tx.as_mut(), principal, org, "session.revoked", ("user", user.to_string()), summary).await?;
        tx.commit().await?;
        self.keys.forget_credential(*id.as_uuid());
        Ok(())
    }

    /// A user logged in with a session may manage their own keys and sessions; anyone
    /// else (a personal key included, which stays within its scope) needs `permission`.
    pub(super) async fn authorize_self_or(
        &self,
        principal: &Principal,
        org: OrgId,
        user: UserId,
        permission: &str,
    ) -> Result<(), Error> {
        if principal.kind() == PrincipalKind::Session
            && principal.org_id() == Some(org)
            && principal.user_id() == Some(user)
        {
            return Ok(());
        }
        self.authorize(principal, org, permission).await.map(|_| ())
    }
}

fn retry_after(now: DateTime<Utc>, until: DateTime<Utc>) -> Error {
    let secs = (until - now).num_seconds().max(0).unsigned_abs() + 1;
    Error::RateLimited { retry_after_secs: secs }
}
