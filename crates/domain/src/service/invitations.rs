//! Invitations and the emails of new users: an invited user gets a single-use link to set
//! a password; a user with a generated password gets their credentials. Both emails are
//! queued in the outbox inside the transaction that creates the user.

use chrono::{DateTime, Utc};

use super::Roster;
use super::audit::details;
use crate::api_key::NewSecret;
use crate::auth::Principal;
use crate::error::{Error, Resource};
use crate::ids::{InvitationId, MessageId, OrgId};
use crate::invitation::{self, Invitation, InvitationQuery, InvitationStatus};
use crate::organization::Organization;
use crate::outbox::{Mail, OutboxMessage};
use crate::page::{Cursor, Page, PageSize};
use crate::ports::{NewUser, Transaction};
use crate::user::{UserStatus, UserView};
use crate::validation::{FieldProblem as _, ValidationErrors, Validator};
use crate::values::{HttpUrl, OrgName, Password};

const CURSOR_SCOPE: &str = "invitations";

/// Filters for listing invitations, as the caller sent them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListInvitationsInput {
    /// `pending`, `accepted`, `revoked` or `expired`.
    pub status: Option<String>,
    /// Page size.
    pub limit: PageSize,
    /// Where the previous page ended.
    pub cursor: Option<String>,
}

/// An invitee's acceptance: the token from their link and the password they chose.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AcceptInvitationInput {
    /// The token from the link.
    pub token: String,
    /// The new password (rule 8).
    pub password: String,
    /// The request's id, for the audit event.
    pub request_id: Option<String>,
}

/// The outcome of an acceptance.
#[derive(Debug)]
pub struct AcceptedInvitation {
    /// The now active user.
    pub user: UserView,
    /// Where to send them to sign in.
    pub login_url: Option<HttpUrl>,
}

/// What the acceptance page shows about a valid token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InvitationPreview {
    /// The organization's name.
    pub org_name: OrgName,
    /// The invitee's email.
    pub email: String,
    /// When the link stops working.
    pub expires_at: DateTime<Utc>,
}

/// Rule 6: only a pending, unexpired invitation can be accepted. Each other state has its
/// own error; none of them says anything about the organization.
fn ensure_acceptable(inv: &Invitation, now: DateTime<Utc>) -> Result<(), Error> {
    match inv.status_at(now) {
        InvitationStatus::Pending => Ok(()),
        InvitationStatus::Expired => Err(Error::InvitationExpired),
        InvitationStatus::Revoked => Err(Error::InvitationRevoked),
        InvitationStatus::Accepted => Err(Error::InvitationAccepted),
    }
}

/// Only pending (or expired) invitations can be resent or revoked.
fn ensure_unsettled(inv: &Invitation) -> Result<(), Error> {
    match inv.status {
        InvitationStatus::Accepted | InvitationStatus::Revoked => {
            Err(Error::InvitationSettled { status: inv.status.as_str() })
        }
        InvitationStatus::Pending | InvitationStatus::Expired => Ok(()),
    }
}

impl Roster {
    /// The invitation email: who invites to what, and the link with `token` until `expires_at`.
    fn invitation_mail(
        &self,
        org: &Organization,
        inviter: String,
        token: &NewSecret,
        expires_at: DateTime<Utc>,
    ) -> Mail {
        let accept_url = format!("{}/invite/{}", self.public_url.trim_end_matches('/'), token.expose());
        Mail::Invitation { org_name: org.name.to_string(), inviter, accept_url, expires_at }
    }

    /// Tells the delivery worker that mail was queued (after the commit).
    pub(super) fn mail_queued(&self) {
        if let Some(signal) = &self.mail_signal {
            signal();
        }
    }

    /// Who an email says invited the user: the calling person, or the organization.
    pub(super) async fn inviter_name(&self, principal: &Principal, org: &Organization) -> Result<String, Error> {
        if let (Some(user), Some(own)) = (principal.user_id(), principal.org_id())
            && let Some(view) = self.storage.get_user(own, user).await?
        {
            return Ok(view.user.name.to_string());
        }
        Ok(org.name.to_string())
    }

    /// An email to `to`, queued when it is written.
    fn message(&self, org: OrgId, to: &crate::values::Email, mail: Mail) -> OutboxMessage {
        OutboxMessage::queued(MessageId::from_uuid(self.new_id()), Some(org), to.clone(), mail, self.clock.now())
    }

    /// Queues an email to `to` in the change's transaction.
    async fn queue_mail(
        &self,
        tx: &mut dyn Transaction,
        org: OrgId,
        to: &crate::values::Email,
        mail: Mail,
    ) -> Result<(), Error> {
        Ok(tx.insert_outbox_message(&self.message(org, to, mail)).await?)
    }

    /// Adds to a new invited user its invitation, the invitation's email and its audit event.
    pub(super) fn invite(
        &self,
        new: &mut NewUser,
        principal: &Principal,
        org: &Organization,
        login_url: Option<HttpUrl>,
        inviter: &str,
    ) {
        let now = self.clock.now();
        let token = invitation::new_token();
        let user = &new.user;
        let inv = Invitation {
            id: InvitationId::from_uuid(self.new_id()),
            org_id: org.id,
            user_id: user.id,
            email: user.email.clone(),
            role_ids: user.role_ids.clone(),
            status: InvitationStatus::Pending,
            digest: token.digest(),
            invited_by: principal.actor(),
            login_url,
            expires_at: now + org.invitation_ttl,
            created_at: now,
            updated_at: now,
            accepted_at: None,
            revoked_at: None,
            version: 1,
        };
        let mail = self.invitation_mail(org, inviter.to_owned(), &token, inv.expires_at);
        new.outbox_messages.push(self.message(org.id, &user.email, mail));
        let summary = details([("user_id", user.id.to_string()), ("expires_at", inv.expires_at.to_rfc3339())]);
        let target = ("invitation", inv.id.to_string());
        new.audit_events.push(self.event_of(principal, org.id, "invitation.created", target, summary));
        new.invitation = Some(inv);
    }

    /// Adds to a new user the email carrying its generated password and where to sign in.
    pub(super) fn send_credentials(
        &self,
        new: &mut NewUser,
        org: &Organization,
        login_url: &HttpUrl,
        password: &Password,
    ) {
        let user = &new.user;
        let mail = Mail::Credentials {
            org_name: org.name.to_string(),
            login_url: login_url.to_string(),
            email: user.email.to_string(),
            username: user.username.to_string(),
            password: password.expose().to_owned(),
        };
        new.outbox_messages.push(self.message(org.id, &user.email, mail));
    }

    /// A page of an organization's invitations, oldest first. Needs `invitations.read`.
    ///
    /// # Errors
    /// [`Error::NotFound`] / [`Error::Forbidden`] by reach and permission,
    /// [`Error::Validation`] for a bad status or a foreign cursor.
    pub async fn list_invitations(
        &self,
        principal: &Principal,
        org: OrgId,
        input: ListInvitationsInput,
    ) -> Result<Page<Invitation>, Error> {
        self.authorize(principal, org, "invitations.read").await?;
        let mut v = Validator::default();
        let status = input.status.as_deref().and_then(|s| {
            let parsed = InvitationStatus::from_name(s);
            if parsed.is_none() {
                v.push("status", "invalid", "status must be pending, accepted, revoked or expired");
            }
            parsed
        });
        let after = match input.cursor.as_deref().map(|raw| Cursor::decode(raw, CURSOR_SCOPE)) {
            None => None,
            Some(Ok((_, id))) => Some(InvitationId::from_uuid(id)),
            Some(Err(e)) => {
                v.push("cursor", "invalid", e.to_string());
                None
            }
        };
        v.finish()?;
        let query = InvitationQuery { status, now: self.clock.now(), after, limit: input.limit.get() + 1 };
        let rows = self.storage.list_invitations(org, &query).await?;
        Ok(Page::from_rows(rows, input.limit, |i| Cursor::encode(CURSOR_SCOPE, "", i.id.as_uuid())))
    }

    /// One invitation. Needs `invitations.read`.
    ///
    /// # Errors
    /// [`Error::NotFound`] when it does not exist or is out of reach.
    pub async fn get_invitation(
        &self,
        principal: &Principal,
        org: OrgId,
        id: InvitationId,
    ) -> Result<Invitation, Error> {
        self.authorize(principal, org, "invitations.read").await?;
        self.storage.get_invitation(org, id).await?.ok_or(Error::NotFound(Resource::Invitation))
    }

    /// Sends a pending or expired invitation again: a new token (the old link stops
    /// working), a renewed expiry and a new email. Needs `invitations.write`.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::VersionMismatch`], [`Error::InvitationSettled`].
    pub async fn resend_invitation(
        &self,
        principal: &Principal,
        org_id: OrgId,
        id: InvitationId,
        expected_version: Option<i64>,
    ) -> Result<Invitation, Error> {
        self.authorize(principal, org_id, "invitations.write").await?;
        let org = self.storage.get_organization(org_id).await?.ok_or(Error::NotFound(Resource::Organization))?;
        let inviter = self.inviter_name(principal, &org).await?;
        let mut tx = self.storage.begin().await?;
        let mut inv = tx.invitation_for_update(org_id, id).await?.ok_or(Error::NotFound(Resource::Invitation))?;
        super::check_version(expected_version, inv.version)?;
        ensure_unsettled(&inv)?;
        let now = self.clock.now();
        let token = invitation::new_token();
        inv.digest = token.digest();
        inv.expires_at = now + org.invitation_ttl;
        inv.updated_at = now;
        inv.version += 1;
        tx.update_invitation(&inv).await?;
        let mail = self.invitation_mail(&org, inviter, &token, inv.expires_at);
        self.queue_mail(tx.as_mut(), org_id, &inv.email, mail).await?;
        let summary = details([("expires_at", inv.expires_at.to_rfc3339())]);
        self.audit(tx.as_mut(), principal, org_id, "invitation.resent", ("invitation", id.to_string()), summary)
            .await?;
        tx.commit().await?;
        self.mail_queued();
        Ok(inv)
    }

    /// Revokes a pending or expired invitation and deletes its invited user, freeing the
    /// seat. Needs `invitations.write`.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::VersionMismatch`], [`Error::InvitationSettled`].
    pub async fn revoke_invitation(
        &self,
        principal: &Principal,
        org_id: OrgId,
        id: InvitationId,
        expected_version: Option<i64>,
    ) -> Result<Invitation, Error> {
        self.authorize(principal, org_id, "invitations.write").await?;
        let seen = self.storage.get_invitation(org_id, id).await?.ok_or(Error::NotFound(Resource::Invitation))?;
        let mut tx = self.storage.begin().await?;
        // Lock order: the user, then its invitation (as acceptance does).
        let user = tx.user_for_update(org_id, seen.user_id).await?;
        let mut inv = tx.invitation_for_update(org_id, id).await?.ok_or(Error::NotFound(Resource::Invitation))?;
        super::check_version(expected_version, inv.version)?;
        ensure_unsettled(&inv)?;
        let now = self.clock.now();
        inv.status = InvitationStatus::Revoked;
        inv.revoked_at = Some(now);
        inv.updated_at = now;
        inv.version += 1;
        tx.update_invitation(&inv).await?;
        if user.is_some_and(|u| u.status == UserStatus::Invited) {
            tx.delete_users(org_id, &[inv.user_id], now).await?;
        }
        let summary = details([("user_id", inv.user_id.to_string())]);
        self.audit(tx.as_mut(), principal, org_id, "invitation.revoked", ("invitation", id.to_string()), summary)
            .await?;
        tx.commit().await?;
        self.keys.forget_user(inv.user_id);
        Ok(inv)
    }

    /// The valid invitation a token belongs to; for the acceptance page. Needs no
    /// principal: the token is the credential.
    ///
    /// # Errors
    /// [`Error::InvitationInvalid`], [`Error::InvitationExpired`],
    /// [`Error::InvitationRevoked`], [`Error::InvitationAccepted`].
    pub async fn preview_invitation(&self, token: &str) -> Result<InvitationPreview, Error> {
        let (inv, org) = self.invitation_by_token(token).await?;
        ensure_acceptable(&inv, self.clock.now())?;
        Ok(InvitationPreview { org_name: org.name, email: inv.email.to_string(), expires_at: inv.expires_at })
    }

    async fn invitation_by_token(&self, token: &str) -> Result<(Invitation, Organization), Error> {
        let digest = invitation::digest_of_presented(token).ok_or(Error::InvitationInvalid)?;
        let inv = self.storage.find_invitation(&digest).await?.ok_or(Error::InvitationInvalid)?;
        // A deleted organization's invitations are as good as unknown.
        let org = self.storage.get_organization(inv.org_id).await?.ok_or(Error::InvitationInvalid)?;
        Ok((inv, org))
    }

    /// Accepts an invitation: sets the invitee's password (rule 8), makes them `active`
    /// (their roles take effect) and marks the invitation accepted, in one transaction.
    /// The token is single-use.
    ///
    /// # Errors
    /// [`Error::InvitationInvalid`], [`Error::InvitationExpired`],
    /// [`Error::InvitationRevoked`], [`Error::InvitationAccepted`], and
    /// [`Error::Validation`] naming `password` (checked only for a usable token, so a
    /// guess learns nothing more).
    pub async fn accept_invitation(&self, input: AcceptInvitationInput) -> Result<AcceptedInvitation, Error> {
        let (seen, org) = self.invitation_by_token(&input.token).await?;
        ensure_acceptable(&seen, self.clock.now())?;
        let password = Password::parse(&input.password, self.settings.password_policy, &seen.email)
            .map_err(|e| ValidationErrors::single("password", e.code(), e.to_string()))?;
        // Hash before the transaction: argon2 must not hold row locks.
        let hash = self.hash(&password).await?;
        let mut tx = self.storage.begin().await?;
        let user = tx.user_for_update(org.id, seen.user_id).await?;
        let mut inv = tx.invitation_for_update(org.id, seen.id).await?.ok_or(Error::InvitationInvalid)?;
        // A resend since the first read replaced the token: this one is dead.
        if !inv.digest.matches(&seen.digest) {
            return Err(Error::InvitationInvalid);
        }
        let now = self.clock.now();
        ensure_acceptable(&inv, now)?;
        let mut user = match user {
            Some(u) if u.status == UserStatus::Invited => u,
            _ => return Err(Error::InvitationRevoked),
        };
        user.status = UserStatus::Active;
        user.password_hash = Some(hash);
        user.updated_at = now;
        user.version += 1;
        tx.update_user(&user).await?;
        inv.status = InvitationStatus::Accepted;
        inv.accepted_at = Some(now);
        inv.updated_at = now;
        inv.version += 1;
        tx.update_invitation(&inv).await?;
        let actor = (format!("user:{}", user.id), input.request_id.as_deref());
        let summary = details([("user_id", user.id.to_string())]);
        self.audit_as(tx.as_mut(), actor, org.id, "invitation.accepted", ("invitation", inv.id.to_string()), summary)
            .await?;
        tx.commit().await?;
        Ok(AcceptedInvitation { user: UserView { user, organization: org.summary() }, login_url: inv.login_url })
    }
}
