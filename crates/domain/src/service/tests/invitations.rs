//! Accepting, resending and revoking invitations (rule 6), against mocked storage.

use std::sync::Arc;

use chrono::Duration;

use super::support::*;
use crate::api_key::SecretDigest;
use crate::error::Error;
use crate::ids::InvitationId;
use crate::invitation::{self, Invitation, InvitationStatus};
use crate::mocks::{FixedClock, MockStorage, MockTransaction};
use crate::service::AcceptInvitationInput;
use crate::user::{User, UserStatus};

const PASSWORD: &str = "a long enough password";

fn invitation(tenant: &Tenant, user: &User, digest: SecretDigest) -> Invitation {
    Invitation {
        id: InvitationId::from_uuid(uuid()),
        org_id: tenant.id(),
        user_id: user.id,
        email: user.email.clone(),
        role_ids: user.role_ids.clone(),
        status: InvitationStatus::Pending,
        digest,
        invited_by: "platform".into(),
        login_url: None,
        expires_at: now() + Duration::days(7),
        created_at: now(),
        updated_at: now(),
        accepted_at: None,
        revoked_at: None,
        version: 1,
    }
}

/// Storage where `token` finds `seen`; the transaction then locks `user` and `locked`.
fn storage_for(
    tenant: &Tenant,
    seen: &Invitation,
    user: Option<User>,
    locked: Invitation,
) -> (MockStorage, MockTransaction) {
    let mut storage = tenant.storage();
    let found = seen.clone();
    storage.expect_find_invitation().returning(move |_| Ok(Some(found.clone())));
    let mut tx = tenant.tx();
    tx.expect_user_for_update().return_once(move |_, _| Ok(user));
    tx.expect_invitation_for_update().return_once(move |_, _| Ok(Some(locked)));
    (storage, tx)
}

fn accept_input(token: &str) -> AcceptInvitationInput {
    AcceptInvitationInput { token: token.to_owned(), password: PASSWORD.to_owned(), request_id: Some("req-1".into()) }
}

#[test]
fn acceptance_activates_the_user_and_settles_the_invitation_in_one_transaction() {
    let tenant = Tenant::new("acme");
    let user = User { status: UserStatus::Invited, ..tenant.user("ada@example.com") };
    let token = invitation::new_token();
    let inv = invitation(&tenant, &user, token.digest());
    let (mut storage, mut tx) = storage_for(&tenant, &inv, Some(user.clone()), inv.clone());
    let updated = captured::<User>();
    let slot = updated.clone();
    tx.expect_update_user().times(1).returning(move |u| {
        *slot.lock().unwrap() = Some(u.clone());
        Ok(())
    });
    tx.expect_update_invitation()
        .times(1)
        .withf(|i| i.status == InvitationStatus::Accepted && i.accepted_at == Some(now()) && i.version == 2)
        .returning(|_| Ok(()));
    tx.expect_commit().times(1).returning(|| Ok(()));
    begins(&mut storage, tx);
    let accepted = run(roster_with(storage, fake_hasher(1)).accept_invitation(accept_input(token.expose()))).unwrap();
    let user = take(&updated);
    assert_eq!((user.status, user.version), (UserStatus::Active, 2));
    assert_eq!(user.password_hash, Some(fake_hash(PASSWORD)));
    assert_eq!(accepted.user.user.id, user.id);
    let events = tenant.audit_events();
    assert_eq!(events[0].action, "invitation.accepted");
    assert_eq!(events[0].actor, format!("user:{}", user.id));
    assert_eq!(events[0].request_id.as_deref(), Some("req-1"));
}

#[test]
fn a_token_replaced_by_a_resend_after_it_was_read_is_dead() {
    let tenant = Tenant::new("acme");
    let user = User { status: UserStatus::Invited, ..tenant.user("ada@example.com") };
    let token = invitation::new_token();
    let seen = invitation(&tenant, &user, token.digest());
    let resent = Invitation { digest: invitation::new_token().digest(), version: 2, ..seen.clone() };
    let (mut storage, mut tx) = storage_for(&tenant, &seen, Some(user), resent);
    tx.expect_update_user().times(0);
    tx.expect_commit().times(0);
    begins(&mut storage, tx);
    let result = run(roster_with(storage, fake_hasher(1)).accept_invitation(accept_input(token.expose())));
    assert!(matches!(result, Err(Error::InvitationInvalid)), "{result:?}");
}

#[test]
fn an_invitation_whose_user_was_deleted_meanwhile_is_revoked() {
    let tenant = Tenant::new("acme");
    let user = User { status: UserStatus::Invited, ..tenant.user("ada@example.com") };
    let token = invitation::new_token();
    let inv = invitation(&tenant, &user, token.digest());
    let (mut storage, mut tx) = storage_for(&tenant, &inv, None, inv.clone());
    tx.expect_update_user().times(0);
    tx.expect_commit().times(0);
    begins(&mut storage, tx);
    let result = run(roster_with(storage, fake_hasher(1)).accept_invitation(accept_input(token.expose())));
    assert!(matches!(result, Err(Error::InvitationRevoked)), "{result:?}");
}

#[test]
fn expiry_is_judged_by_the_injected_clock_before_any_hashing() {
    let tenant = Tenant::new("acme");
    let user = User { status: UserStatus::Invited, ..tenant.user("ada@example.com") };
    let token = invitation::new_token();
    let inv = invitation(&tenant, &user, token.digest());
    let mut storage = tenant.storage();
    let found = inv.clone();
    storage.expect_find_invitation().returning(move |_| Ok(Some(found.clone())));
    let clock = Arc::new(FixedClock::default());
    clock.advance(Duration::days(7));
    let roster = roster_at(storage, fake_hasher(0), clock);
    assert!(matches!(run(roster.preview_invitation(token.expose())), Err(Error::InvitationExpired)));
    assert!(matches!(run(roster.accept_invitation(accept_input(token.expose()))), Err(Error::InvitationExpired)));
}

#[test]
fn settled_and_unknown_tokens_fail_with_their_own_errors_and_malformed_ones_are_not_looked_up() {
    let tenant = Tenant::new("acme");
    let user = tenant.user("ada@example.com");
    let token = invitation::new_token();
    for (status, expected) in
        [(InvitationStatus::Accepted, "invitation_already_accepted"), (InvitationStatus::Revoked, "invitation_revoked")]
    {
        let mut storage = tenant.storage();
        let found = Invitation { status, ..invitation(&tenant, &user, token.digest()) };
        storage.expect_find_invitation().returning(move |_| Ok(Some(found.clone())));
        let result = run(roster(storage).accept_invitation(accept_input(token.expose())));
        assert_eq!(result.map(|_| ()).unwrap_err().code(), expected);
    }
    let mut storage = tenant.storage();
    storage.expect_find_invitation().times(1).returning(|_| Ok(None));
    let roster = roster(storage);
    assert!(matches!(run(roster.accept_invitation(accept_input(token.expose()))), Err(Error::InvitationInvalid)));
    assert!(matches!(run(roster.accept_invitation(accept_input("rst_an-api-key"))), Err(Error::InvitationInvalid)));
}

#[test]
fn only_pending_or_expired_invitations_are_resent_with_a_new_token_and_expiry() {
    let tenant = Tenant::new("acme");
    let user = User { status: UserStatus::Invited, ..tenant.user("ada@example.com") };
    let old = invitation::new_token().digest();
    let inv = Invitation { expires_at: now() - Duration::days(1), ..invitation(&tenant, &user, old) };
    let mut storage = tenant.storage();
    let mut tx = tenant.tx();
    let locked = inv.clone();
    tx.expect_invitation_for_update().return_once(move |_, _| Ok(Some(locked)));
    let ttl = tenant.org.invitation_ttl;
    tx.expect_update_invitation()
        .times(1)
        .withf(move |i| !i.digest.matches(&old) && i.expires_at == now() + ttl && i.version == 2)
        .returning(|_| Ok(()));
    tx.expect_commit().times(1).returning(|| Ok(()));
    begins(&mut storage, tx);
    let resent = run(roster(storage).resend_invitation(&tenant.key(), tenant.id(), inv.id, Some(1))).unwrap();
    assert_eq!(resent.status_at(now()), InvitationStatus::Pending);
    assert_eq!(tenant.mail.lock().unwrap().len(), 1, "a new email with the new link");

    let mut storage = tenant.storage();
    let mut tx = tenant.tx();
    let accepted = Invitation { status: InvitationStatus::Accepted, ..inv.clone() };
    tx.expect_invitation_for_update().return_once(move |_, _| Ok(Some(accepted)));
    tx.expect_commit().times(0);
    begins(&mut storage, tx);
    let result = run(roster(storage).resend_invitation(&tenant.key(), tenant.id(), inv.id, None));
    assert_eq!(result.unwrap_err().code(), "invitation_not_pending");
}
