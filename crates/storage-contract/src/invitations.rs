//! Invitations: insert, read by id, by token digest and in pages with status filters
//! judged at a given instant; updates (resend, accept, revoke) and the revocation of a
//! deleted user's pending invitations; the row lock acceptance and resends rely on.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use roster_domain::api_key::SecretDigest;
use roster_domain::ids::{InvitationId, OrgId, UserId};
use roster_domain::invitation::{self, Invitation, InvitationQuery, InvitationStatus};
use roster_domain::user::{User, UserStatus};
use roster_domain::values::{Email, HttpUrl};

use crate::concurrency::race;
use crate::fixtures::{
    Store, at, create_org, custom_role, days, insert_org, new_org, new_user, now, org_id, update_user,
};

/// A new invited user of `org`'s fixture (status `invited`, no password).
fn invited_user(org: &crate::fixtures::OrgFixture, email: &str, username: &str) -> User {
    User { status: UserStatus::Invited, ..new_user(org, email, username, "Invitee") }
}

/// A new pending invitation of `user`, made at `made`, expiring a week later; its email
/// and roles are the user's, as the reads report them (roles in ascending order).
pub(crate) fn new_invitation(user: &User, made: DateTime<Utc>) -> Invitation {
    let mut role_ids = user.role_ids.clone();
    role_ids.sort();
    Invitation {
        id: InvitationId::from_uuid(uuid::Uuid::now_v7()),
        org_id: user.org_id,
        user_id: user.id,
        email: user.email.clone(),
        role_ids,
        status: InvitationStatus::Pending,
        digest: invitation::new_token().digest(),
        invited_by: "user:0190c8b4-0000-7000-8000-000000000001".to_owned(),
        login_url: None,
        expires_at: made + days(7),
        created_at: made,
        updated_at: made,
        accepted_at: None,
        revoked_at: None,
        version: 1,
    }
}

/// Inserts and commits users with their invitations, each user before its invitation, in
/// one transaction (as the use case does).
async fn insert_invited(store: &Store, pairs: &[(&User, &Invitation)]) {
    let mut tx = store.begin().await.expect("begin");
    for (user, inv) in pairs {
        tx.insert_user(user).await.unwrap_or_else(|e| panic!("insert_user {}: {e:?}", user.email));
        tx.insert_invitation(inv).await.unwrap_or_else(|e| panic!("insert_invitation {}: {e:?}", user.email));
    }
    tx.commit().await.expect("commit");
}

/// A new invited user of `org` with a pending invitation made at `made`, inserted and
/// committed.
async fn invite(store: &Store, org: &crate::fixtures::OrgFixture, name: &str, made: DateTime<Utc>) -> Invitation {
    let user = invited_user(org, &format!("{name}@example.com"), name);
    let inv = new_invitation(&user, made);
    insert_invited(store, &[(&user, &inv)]).await;
    inv
}

/// Overwrites an invitation (read for update first, as the use cases do) and commits.
async fn update_invitation(store: &Store, inv: &Invitation) {
    let mut tx = store.begin().await.expect("begin");
    tx.invitation_for_update(inv.org_id, inv.id).await.expect("invitation_for_update").expect("invitation exists");
    tx.update_invitation(inv).await.expect("update_invitation");
    tx.commit().await.expect("commit");
}

/// The ids `list_invitations` returns for this query.
async fn list_ids(
    store: &Store,
    org: OrgId,
    status: Option<InvitationStatus>,
    at: DateTime<Utc>,
    after: Option<InvitationId>,
    limit: u32,
) -> Vec<InvitationId> {
    let query = InvitationQuery { status, now: at, after, limit };
    store.list_invitations(org, &query).await.expect("list_invitations").iter().map(|i| i.id).collect()
}

/// The ids of `invitations`, sorted (the order every list is in).
fn sorted_ids(invitations: &[&Invitation]) -> Vec<InvitationId> {
    let mut ids: Vec<_> = invitations.iter().map(|i| i.id).collect();
    ids.sort();
    ids
}

/// An invitation reads back field for field by id, by its digest (from any organization's
/// point of view), for update and in the list, carrying its user's email (as spelled) and
/// roles (in ascending order, none for a user with none); stored statuses and every
/// optional field round-trip.
pub async fn invitation_round_trips_with_its_users_email_and_roles(store: Store) {
    let mut acme = new_org("acme");
    let auditor = custom_role(acme.id(), "auditor");
    acme.roles.push(auditor.clone());
    insert_org(&store, &acme).await;

    let mut ada = invited_user(&acme, "Ada.Lovelace@Example.COM", "ada");
    ada.role_ids = vec![auditor.id, acme.member(), acme.admin()];
    let mut full = new_invitation(&ada, at("2024-02-29T23:59:59.123456Z"));
    full.login_url = Some(HttpUrl::parse("https://app.example.com/login?next=%2Fhome&x=1").unwrap());
    full.invited_by = "api_key:ünïcödé 'quoted'".to_owned();
    full.expires_at = at("2024-03-07T23:59:59.999999Z");
    full.updated_at = at("2024-03-01T00:00:00.000001Z");
    full.version = 4;
    let mut bob = invited_user(&acme, "bob@example.com", "bob");
    bob.role_ids = vec![];
    let bare = new_invitation(&bob, now());
    let carol = new_user(&acme, "carol@example.com", "carol", "Carol");
    let mut accepted = new_invitation(&carol, at("2024-01-01T00:00:00Z"));
    accepted.status = InvitationStatus::Accepted;
    accepted.accepted_at = Some(at("2024-01-02T03:04:05.000006Z"));
    let dan = invited_user(&acme, "dan@example.com", "dan");
    let mut revoked = new_invitation(&dan, at("2024-01-01T00:00:00Z"));
    revoked.status = InvitationStatus::Revoked;
    revoked.revoked_at = Some(at("2024-01-03T00:00:00.5Z"));
    insert_invited(&store, &[(&ada, &full), (&bob, &bare), (&carol, &accepted), (&dan, &revoked)]).await;

    for expected in [&full, &bare, &accepted, &revoked] {
        let by_id = store.get_invitation(acme.id(), expected.id).await.unwrap();
        assert_eq!(by_id.as_ref(), Some(expected), "get_invitation {}", expected.email);
        let by_id = by_id.unwrap();
        assert_eq!(by_id.email.as_str(), expected.email.as_str(), "the email as spelled");
        assert_eq!(store.find_invitation(&expected.digest).await.unwrap().as_ref(), Some(expected), "by digest");
        let mut tx = store.begin().await.unwrap();
        assert_eq!(tx.invitation_for_update(acme.id(), expected.id).await.unwrap().as_ref(), Some(expected));
    }
    assert_eq!(full.role_ids.len(), 3);
    let listed = store
        .list_invitations(acme.id(), &InvitationQuery { status: None, now: now(), after: None, limit: 100 })
        .await
        .unwrap();
    let mut expected = vec![full, bare, accepted, revoked];
    expected.sort_by_key(|i| i.id);
    assert_eq!(listed, expected);
}

/// The email and roles an invitation reports are its user's as they are now, not a copy
/// taken when it was made.
pub async fn invitation_reads_its_users_current_email_and_roles(store: Store) {
    let acme = create_org(&store, "acme").await;
    let ada = invited_user(&acme, "ada@example.com", "ada");
    let inv = new_invitation(&ada, now());
    insert_invited(&store, &[(&ada, &inv)]).await;

    let mut changed = ada.clone();
    changed.email = Email::parse("Ada@New.example").unwrap();
    changed.role_ids = vec![acme.owner(), acme.admin()];
    changed.version = 2;
    update_user(&store, &changed).await;
    let mut roles = changed.role_ids.clone();
    roles.sort();

    let read = store.get_invitation(acme.id(), inv.id).await.unwrap().expect("found");
    assert_eq!(read.email.as_str(), "Ada@New.example");
    assert_eq!(read.role_ids, roles);
    assert_eq!(read, Invitation { email: changed.email.clone(), role_ids: roles.clone(), ..inv.clone() });
    let found = store.find_invitation(&inv.digest).await.unwrap().expect("found by digest");
    assert_eq!((found.email.as_str(), found.role_ids), ("Ada@New.example", roles));
}

/// Rule 10 at the port: with another organization's id an invitation is neither read, nor
/// listed, nor locked; unknown ids and digests find nothing.
pub async fn invitation_access_with_another_org_id_finds_nothing(store: Store) {
    let acme = create_org(&store, "acme").await;
    let globex = create_org(&store, "globex").await;
    let inv = invite(&store, &acme, "ada", now()).await;
    let theirs = invite(&store, &globex, "gus", now()).await;

    assert_eq!(store.get_invitation(globex.id(), inv.id).await.unwrap(), None);
    assert_eq!(store.get_invitation(org_id(), inv.id).await.unwrap(), None);
    assert_eq!(store.get_invitation(acme.id(), InvitationId::from_uuid(uuid::Uuid::now_v7())).await.unwrap(), None);
    assert_eq!(list_ids(&store, globex.id(), None, now(), None, 100).await, vec![theirs.id]);
    assert_eq!(list_ids(&store, org_id(), None, now(), None, 100).await, Vec::<InvitationId>::new());
    let mut tx = store.begin().await.unwrap();
    assert_eq!(tx.invitation_for_update(globex.id(), inv.id).await.unwrap(), None);
    drop(tx);
    assert_eq!(store.find_invitation(&SecretDigest::of("rsi_not-a-stored-token")).await.unwrap(), None);
    assert_eq!(store.find_invitation(&inv.digest).await.unwrap().map(|i| i.org_id), Some(acme.id()));
}

/// The status filter judges expiry at the query's instant: pending means stored pending
/// and expiring after it, expired means stored pending and expiring at or before it;
/// accepted and revoked ones are what is stored, whatever their expiry.
pub async fn status_filter_judges_expiry_at_the_querys_instant(store: Store) {
    let acme = create_org(&store, "acme").await;
    let globex = create_org(&store, "globex").await;
    let t = now();
    let made = t - days(3);
    let mut pending = Vec::new();
    let mut invs = Vec::new();
    for name in ["ada", "bob", "cid", "dee", "eve", "fay"] {
        let user = invited_user(&acme, &format!("{name}@example.com"), name);
        let inv = new_invitation(&user, made);
        pending.push(user);
        invs.push(inv);
    }
    invs[0].expires_at = t + Duration::microseconds(1);
    invs[1].expires_at = t + days(4);
    invs[2].expires_at = t;
    invs[3].expires_at = t - days(1);
    invs[4].status = InvitationStatus::Accepted;
    invs[4].accepted_at = Some(t - days(2));
    invs[4].expires_at = t - days(1);
    invs[5].status = InvitationStatus::Revoked;
    invs[5].revoked_at = Some(t - days(2));
    let pairs: Vec<_> = pending.iter().zip(&invs).rev().collect();
    insert_invited(&store, &pairs).await;
    invite(&store, &globex, "gus", made).await;
    let [fresh, later, now_expired, expired, accepted, revoked] = &invs[..] else { unreachable!() };

    let status = |s| list_ids(&store, acme.id(), Some(s), t, None, 100);
    assert_eq!(status(InvitationStatus::Pending).await, sorted_ids(&[fresh, later]));
    assert_eq!(status(InvitationStatus::Expired).await, sorted_ids(&[now_expired, expired]));
    assert_eq!(status(InvitationStatus::Accepted).await, sorted_ids(&[accepted]));
    assert_eq!(status(InvitationStatus::Revoked).await, sorted_ids(&[revoked]));
    let all: Vec<&Invitation> = invs.iter().collect();
    assert_eq!(list_ids(&store, acme.id(), None, t, None, 100).await, sorted_ids(&all));

    let a_moment_later = t + Duration::microseconds(1);
    let pending_then = list_ids(&store, acme.id(), Some(InvitationStatus::Pending), a_moment_later, None, 100);
    assert_eq!(pending_then.await, sorted_ids(&[later]), "the first one expired at its expiry");
    let expired_then = list_ids(&store, acme.id(), Some(InvitationStatus::Expired), a_moment_later, None, 100);
    assert_eq!(expired_then.await, sorted_ids(&[fresh, now_expired, expired]));
    let earlier = list_ids(&store, acme.id(), Some(InvitationStatus::Pending), t - days(2), None, 100);
    assert_eq!(earlier.await, sorted_ids(&[fresh, later, now_expired, expired]), "nothing had expired yet");
}

/// `list_invitations` is keyset-paginated by id, with and without a status filter:
/// walking it in pages yields every matching invitation once, in id order.
pub async fn invitations_list_in_id_order_with_keyset_pages(store: Store) {
    let acme = create_org(&store, "acme").await;
    let t = now();
    let mut users = Vec::new();
    let mut invs = Vec::new();
    for i in 0..7 {
        let user = invited_user(&acme, &format!("user{i}@example.com"), &format!("user{i}"));
        let mut inv = new_invitation(&user, t);
        if i % 3 == 2 {
            inv.status = InvitationStatus::Revoked;
            inv.revoked_at = Some(t);
        }
        users.push(user);
        invs.push(inv);
    }
    // Inserted in reverse id order, so insertion order cannot pass for id order.
    let pairs: Vec<_> = users.iter().zip(&invs).rev().collect();
    insert_invited(&store, &pairs).await;
    let all: Vec<&Invitation> = invs.iter().collect();
    let pending: Vec<&Invitation> = invs.iter().filter(|i| i.status == InvitationStatus::Pending).collect();

    for (status, expected) in [(None, sorted_ids(&all)), (Some(InvitationStatus::Pending), sorted_ids(&pending))] {
        assert_eq!(list_ids(&store, acme.id(), status, t, None, 2).await, expected[..2].to_vec(), "{status:?}");
        let mut walked = Vec::new();
        let mut after = None;
        loop {
            let page = list_ids(&store, acme.id(), status, t, after, 2).await;
            assert!(page.len() <= 2, "a page exceeds the limit");
            after = page.last().copied();
            let done = page.len() < 2;
            walked.extend(page);
            if done {
                break;
            }
            assert!(walked.len() <= expected.len(), "pagination runs past the end ({status:?})");
        }
        assert_eq!(walked, expected, "{status:?}");
        assert!(list_ids(&store, acme.id(), status, t, expected.last().copied(), 10).await.is_empty());
    }
}

/// `update_invitation` stores what a resend, an acceptance and a revocation change —
/// digest, expiry, login URL, status, timestamps, version — and nothing of it before the
/// commit; the old digest finds nothing once replaced.
pub async fn update_invitation_persists_its_changes_and_retires_the_old_digest(store: Store) {
    let acme = create_org(&store, "acme").await;
    let t = now();
    let inv = invite(&store, &acme, "ada", t - days(10)).await;
    let other = invite(&store, &acme, "bob", t - days(10)).await;

    let mut resent = inv.clone();
    resent.digest = invitation::new_token().digest();
    resent.expires_at = t + days(7);
    resent.login_url = Some(HttpUrl::parse("https://acme.example/welcome").unwrap());
    resent.updated_at = t;
    resent.version = 2;
    let mut tx = store.begin().await.unwrap();
    tx.invitation_for_update(acme.id(), inv.id).await.unwrap().expect("found");
    tx.update_invitation(&resent).await.unwrap();
    drop(tx);
    assert_eq!(store.get_invitation(acme.id(), inv.id).await.unwrap().as_ref(), Some(&inv), "rolled back");
    assert_eq!(store.find_invitation(&resent.digest).await.unwrap(), None, "rolled back");

    update_invitation(&store, &resent).await;
    assert_eq!(store.get_invitation(acme.id(), inv.id).await.unwrap().as_ref(), Some(&resent));
    assert_eq!(store.find_invitation(&inv.digest).await.unwrap(), None, "the old token is dead");
    assert_eq!(store.find_invitation(&resent.digest).await.unwrap().as_ref(), Some(&resent));

    let mut accepted = resent.clone();
    accepted.status = InvitationStatus::Accepted;
    accepted.accepted_at = Some(t + Duration::microseconds(7));
    accepted.updated_at = t + Duration::microseconds(7);
    accepted.version = 3;
    update_invitation(&store, &accepted).await;
    assert_eq!(store.get_invitation(acme.id(), inv.id).await.unwrap().as_ref(), Some(&accepted));
    let accepted_ids = list_ids(&store, acme.id(), Some(InvitationStatus::Accepted), t, None, 10).await;
    assert_eq!(accepted_ids, vec![inv.id]);

    let mut revoked = other.clone();
    revoked.status = InvitationStatus::Revoked;
    revoked.revoked_at = Some(at("2031-01-01T00:00:00.000001Z"));
    revoked.updated_at = at("2031-01-01T00:00:00.000001Z");
    revoked.login_url = None;
    revoked.version = 2;
    update_invitation(&store, &revoked).await;
    assert_eq!(store.get_invitation(acme.id(), other.id).await.unwrap().as_ref(), Some(&revoked));
    assert_eq!(store.find_invitation(&other.digest).await.unwrap().as_ref(), Some(&revoked), "digest kept");
}

/// `delete_users` revokes the stored-pending invitations (expired ones too) of the users
/// it deletes — status, `revoked_at` and `updated_at` at its instant, version bumped — and
/// touches no other invitation: not accepted or revoked ones, not those of users it keeps,
/// not other organizations'. The revoked invitations can still be read.
pub async fn delete_users_revokes_the_pending_invitations_of_deleted_users(store: Store) {
    let acme = create_org(&store, "acme").await;
    let globex = create_org(&store, "globex").await;
    let made = now() - days(1);
    let pending = invite(&store, &acme, "ada", made).await;
    let mut expired = invite(&store, &acme, "cid", made - days(30)).await;
    expired.expires_at = made - days(23);
    update_invitation(&store, &expired).await;
    let kept = invite(&store, &acme, "dee", made).await;
    let foreign = invite(&store, &globex, "gus", made).await;
    let bob = new_user(&acme, "bob@example.com", "bob", "Bob");
    let mut accepted = new_invitation(&bob, made);
    accepted.status = InvitationStatus::Accepted;
    accepted.accepted_at = Some(made + days(1));
    let eve = invited_user(&acme, "eve@example.com", "eve");
    let mut revoked = new_invitation(&eve, made);
    revoked.status = InvitationStatus::Revoked;
    revoked.revoked_at = Some(made + days(1));
    insert_invited(&store, &[(&bob, &accepted), (&eve, &revoked)]).await;

    let when = at("2031-06-15T12:00:00.000042Z");
    let doomed = [pending.user_id, expired.user_id, bob.id, eve.id, foreign.user_id];
    let mut tx = store.begin().await.unwrap();
    let mut deleted = tx.delete_users(acme.id(), &doomed, when).await.unwrap();
    tx.commit().await.unwrap();
    deleted.sort();
    let mut expected_deleted: Vec<UserId> = doomed[..4].to_vec();
    expected_deleted.sort();
    assert_eq!(deleted, expected_deleted);

    for inv in [&pending, &expired] {
        let revoked_now = Invitation {
            status: InvitationStatus::Revoked,
            revoked_at: Some(when),
            updated_at: when,
            version: inv.version + 1,
            ..inv.clone()
        };
        let read = store.get_invitation(acme.id(), inv.id).await.unwrap();
        assert_eq!(read, Some(revoked_now), "the invitation of deleted {}", inv.email);
    }
    let get = |org, id| {
        let store = Arc::clone(&store);
        async move { store.get_invitation(org, id).await.unwrap() }
    };
    assert_eq!(get(acme.id(), accepted.id).await, Some(accepted), "accepted ones stay accepted");
    assert_eq!(get(acme.id(), revoked.id).await, Some(revoked), "revoked ones keep their first revocation");
    assert_eq!(get(acme.id(), kept.id).await, Some(kept), "a kept user's invitation");
    assert_eq!(get(globex.id(), foreign.id).await, Some(foreign), "another organization's");
    let pending_ids = list_ids(&store, acme.id(), Some(InvitationStatus::Pending), now(), None, 100).await;
    assert_eq!(pending_ids.len(), 1);
}

/// How many times each invitation race runs: a store that lets both transactions
/// through does so only when their reads and writes interleave, so one round may miss it.
const INVITATION_RACE_ROUNDS: usize = 8;

/// Two transactions accepting one invitation as the use case does — lock the user, then
/// the invitation, check it is pending, mark both, commit — never both see it pending:
/// exactly one accepts it, whichever, and the rows show one acceptance.
pub async fn concurrent_acceptances_of_one_invitation_admit_exactly_one(store: Store) {
    let acme = create_org(&store, "acme").await;
    for round in 0..INVITATION_RACE_ROUNDS {
        let inv = invite(&store, &acme, &format!("invitee{round}"), now()).await;
        let results = race(2, |i| {
            let store = Arc::clone(&store);
            let (org, user_id, id) = (inv.org_id, inv.user_id, inv.id);
            async move {
                let mut tx = store.begin().await.expect("begin");
                let mut user = tx.user_for_update(org, user_id).await.expect("user_for_update").expect("the user");
                let mut inv = tx.invitation_for_update(org, id).await.expect("invitation_for_update").expect("found");
                if inv.status != InvitationStatus::Pending || user.status != UserStatus::Invited {
                    return false;
                }
                let at = now();
                user.status = UserStatus::Active;
                user.updated_at = at;
                user.version += 1;
                tx.update_user(&user).await.expect("update_user");
                inv.status = InvitationStatus::Accepted;
                inv.accepted_at = Some(at + Duration::microseconds(i as i64));
                inv.updated_at = at;
                inv.version += 1;
                tx.update_invitation(&inv).await.expect("update_invitation");
                tx.commit().await.expect("commit");
                true
            }
        })
        .await;

        assert_eq!(results.iter().filter(|won| **won).count(), 1, "round {round}: exactly one accepts: {results:?}");
        let read = store.get_invitation(acme.id(), inv.id).await.unwrap().expect("found");
        assert_eq!((read.status, read.version), (InvitationStatus::Accepted, 2), "round {round}");
        let user = store.get_user(acme.id(), inv.user_id).await.unwrap().expect("the user").user;
        assert_eq!((user.status, user.version), (UserStatus::Active, 2), "round {round}");
    }
}

/// Two transactions each locking only the invitation (as a resend does) and updating it
/// from the version they read: the lock makes the second read the first one's result, so
/// exactly one sees version 1 and neither update is lost.
pub async fn concurrent_updates_of_one_invitation_are_serialised_by_its_lock(store: Store) {
    let acme = create_org(&store, "acme").await;
    for round in 0..INVITATION_RACE_ROUNDS {
        let inv = invite(&store, &acme, &format!("invitee{round}"), now()).await;
        let results = race(2, |_| {
            let store = Arc::clone(&store);
            let (org, id) = (inv.org_id, inv.id);
            async move {
                let mut tx = store.begin().await.expect("begin");
                let mut inv = tx.invitation_for_update(org, id).await.expect("invitation_for_update").expect("found");
                let seen = inv.version;
                inv.digest = invitation::new_token().digest();
                inv.updated_at = now();
                inv.version += 1;
                tx.update_invitation(&inv).await.expect("update_invitation");
                tx.commit().await.expect("commit");
                (seen, inv.digest)
            }
        })
        .await;

        let mut seen: Vec<i64> = results.iter().map(|(v, _)| *v).collect();
        seen.sort_unstable();
        assert_eq!(seen, vec![1, 2], "round {round}: the second update read the first one's result");
        let read = store.get_invitation(acme.id(), inv.id).await.unwrap().expect("found");
        assert_eq!(read.version, 3, "round {round}: no update was lost");
        let last = results.iter().find(|(v, _)| *v == 2).expect("the later update").1;
        assert!(read.digest.matches(&last), "round {round}: the later update's digest is stored");
    }
}
