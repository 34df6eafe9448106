//! The rules that must hold under concurrent requests (rules 1, 2 and 9), exercised
//! through the real use cases racing on a multi-thread runtime, plus the port-level
//! guarantees they rest on. Outcomes are counted, so whichever request wins, the test is
//! deterministic.

use std::future::Future;
use std::sync::Arc;

use roster_domain::Error;
use roster_domain::api_key::ApiKeyOwner;
use roster_domain::organization_input::CreateOrganizationInput;
use roster_domain::ports::KeyOwnerFilter;
use roster_domain::user::UserFilter;
use roster_domain::user_input::{CreateUserInput, UpdateUserInput};
use roster_domain::values::Email;
use tokio::sync::Barrier;

use crate::fixtures::{
    Store, count_seats, create_org, insert_keys, insert_users, list_ids, new_key, new_user, now, roster_with_platform,
};

/// Runs `n` copies of `task` (given their index) as separate tokio tasks, released
/// together by a barrier, and returns their results in index order.
pub(crate) async fn race<T, F, Fut>(n: usize, task: F) -> Vec<T>
where
    T: Send + 'static,
    F: Fn(usize) -> Fut,
    Fut: Future<Output = T> + Send + 'static,
{
    let barrier = Arc::new(Barrier::new(n));
    let handles: Vec<_> = (0..n)
        .map(|i| {
            let barrier = Arc::clone(&barrier);
            let work = task(i);
            tokio::spawn(async move {
                barrier.wait().await;
                work.await
            })
        })
        .collect();
    let mut results = Vec::with_capacity(n);
    for handle in handles {
        results.push(handle.await.expect("a racing task panicked"));
    }
    results
}

fn invite(email: &str, name: &str) -> CreateUserInput {
    CreateUserInput { email: Some(email.to_owned()), name: Some(name.to_owned()), ..Default::default() }
}

/// Rule 1: eight concurrent creations with one email spelled eight ways create exactly
/// one user; the others fail with `EmailTaken`.
pub async fn concurrent_creates_with_one_email_admit_exactly_one(store: Store) {
    let (roster, principal) = roster_with_platform(&store).await;
    let org = roster
        .create_organization(
            &principal,
            CreateOrganizationInput { slug: Some("acme".into()), name: Some("Acme".into()), ..Default::default() },
        )
        .await
        .expect("create_organization");
    let org_id = org.id;
    let spellings = [
        "ada@example.com",
        "ADA@example.com",
        "Ada@Example.com",
        "ada@EXAMPLE.COM",
        "aDa@example.com",
        "adA@Example.Com",
        "ADA@EXAMPLE.COM",
        "Ada@example.COM",
    ];
    let results = race(spellings.len(), |i| {
        let (roster, principal) = (Arc::clone(&roster), principal.clone());
        let input = invite(spellings[i], &format!("Ada {i}"));
        async move { roster.create_user(&principal, org_id, input).await }
    })
    .await;

    let created: Vec<_> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let taken = results.iter().filter(|r| matches!(r, Err(Error::EmailTaken))).count();
    let unexpected: Vec<_> =
        results.iter().filter_map(|r| r.as_ref().err()).filter(|e| !matches!(e, Error::EmailTaken)).collect();
    assert!(unexpected.is_empty(), "unexpected errors: {unexpected:?}");
    assert_eq!((created.len(), taken), (1, 7), "exactly one creation wins");
    let by_email = UserFilter { email: Some(Email::parse("ada@example.com").unwrap()), ..Default::default() };
    assert_eq!(list_ids(&store, org.id, by_email).await, vec![created[0].view.user.id]);
    assert_eq!(count_seats(&store, org.id).await, 1);
}

/// Rule 2: ten concurrent creations of distinct users in an organization with three seats
/// create exactly three; seven fail with `SeatLimitReached`, and three seats are used.
pub async fn concurrent_creates_never_exceed_the_seat_limit(store: Store) {
    let (roster, principal) = roster_with_platform(&store).await;
    let org = roster
        .create_organization(
            &principal,
            CreateOrganizationInput {
                slug: Some("acme".into()),
                name: Some("Acme".into()),
                seat_limit: Some(3),
                ..Default::default()
            },
        )
        .await
        .expect("create_organization");
    let org_id = org.id;
    let results = race(10, |i| {
        let (roster, principal) = (Arc::clone(&roster), principal.clone());
        let input = invite(&format!("user{i}@example.com"), &format!("User {i}"));
        async move { roster.create_user(&principal, org_id, input).await }
    })
    .await;

    let created = results.iter().filter(|r| r.is_ok()).count();
    let refused = results.iter().filter(|r| matches!(r, Err(Error::SeatLimitReached { limit: 3 }))).count();
    let unexpected: Vec<_> = results
        .iter()
        .filter_map(|r| r.as_ref().err())
        .filter(|e| !matches!(e, Error::SeatLimitReached { .. }))
        .collect();
    assert!(unexpected.is_empty(), "unexpected errors: {unexpected:?}");
    assert_eq!((created, refused), (3, 7), "the seat limit holds");
    assert_eq!(count_seats(&store, org.id).await, 3);
    assert_eq!(list_ids(&store, org.id, UserFilter::default()).await.len(), 3);
}

/// How many times the version race is run: a store without row locks lets both updates
/// through only when their reads and writes interleave, so one round may miss it.
const VERSION_RACE_ROUNDS: i64 = 10;

/// Rule 9: two concurrent updates with the same expected version: one succeeds, the other
/// fails with `VersionMismatch` naming the new version, and the winner's change is kept.
/// Repeated over several rounds, each expecting the version the previous one left.
pub async fn concurrent_updates_with_one_expected_version_admit_exactly_one(store: Store) {
    let (roster, principal) = roster_with_platform(&store).await;
    let org = roster
        .create_organization(
            &principal,
            CreateOrganizationInput { slug: Some("acme".into()), name: Some("Acme".into()), ..Default::default() },
        )
        .await
        .expect("create_organization");
    let org_id = org.id;
    let user = roster.create_user(&principal, org.id, invite("ada@example.com", "Ada")).await.unwrap().view.user;
    assert_eq!(user.version, 1);
    let user_id = user.id;
    for version in 1..=VERSION_RACE_ROUNDS {
        let names = [format!("Ada {version} one"), format!("Ada {version} two")];
        let results = race(names.len(), |i| {
            let (roster, principal) = (Arc::clone(&roster), principal.clone());
            let input = UpdateUserInput { name: Some(names[i].clone()), ..Default::default() };
            async move { roster.update_user(&principal, org_id, user_id, input, Some(version)).await }
        })
        .await;

        let winners: Vec<usize> = (0..names.len()).filter(|&i| results[i].is_ok()).collect();
        let mismatches =
            results.iter().filter(|r| matches!(r, Err(Error::VersionMismatch { current }) if *current == version + 1));
        assert_eq!(
            (winners.len(), mismatches.count()),
            (1, 1),
            "round {version}: exactly one update wins: {results:?}"
        );
        let stored = store.get_user(org_id, user_id).await.unwrap().expect("user exists").user;
        assert_eq!(stored.version, version + 1);
        assert_eq!(stored.name.as_str(), names[winners[0]], "round {version}: the winner's change is stored");
    }
}

/// Rule 1 for usernames: concurrent creations with one explicit username create exactly
/// one user; the others fail with `UsernameTaken`.
pub async fn concurrent_creates_with_one_username_admit_exactly_one(store: Store) {
    let (roster, principal) = roster_with_platform(&store).await;
    let org = roster
        .create_organization(
            &principal,
            CreateOrganizationInput { slug: Some("acme".into()), name: Some("Acme".into()), ..Default::default() },
        )
        .await
        .expect("create_organization");
    let org_id = org.id;
    let results = race(6, |i| {
        let (roster, principal) = (Arc::clone(&roster), principal.clone());
        let input =
            CreateUserInput { username: Some("ada".to_owned()), ..invite(&format!("ada{i}@example.com"), "Ada") };
        async move { roster.create_user(&principal, org_id, input).await }
    })
    .await;
    let created = results.iter().filter(|r| r.is_ok()).count();
    let taken = results.iter().filter(|r| matches!(r, Err(Error::UsernameTaken))).count();
    assert_eq!((created, taken), (1, 5), "exactly one creation wins: {results:?}");
    assert_eq!(count_seats(&store, org.id).await, 1);
}

/// Concurrent revocations of one key: exactly one transaction reports it revoked.
pub async fn concurrent_revocations_of_one_key_succeed_once(store: Store) {
    let acme = create_org(&store, "acme").await;
    let key = new_key(ApiKeyOwner::Organization(acme.id()), "k");
    insert_keys(&store, std::slice::from_ref(&key)).await;
    let results = race(4, |_| {
        let store = Arc::clone(&store);
        let (org, id) = (acme.id(), key.id);
        async move {
            let mut tx = store.begin().await.expect("begin");
            let revoked = tx.revoke_api_key(org, KeyOwnerFilter::Service, id, now()).await.expect("revoke_api_key");
            tx.commit().await.expect("commit");
            revoked
        }
    })
    .await;
    assert_eq!(results.iter().filter(|r| **r).count(), 1, "{results:?}");
}

/// Concurrent deletions of one user: exactly one transaction reports it deleted, so a
/// batch delete's per-item outcomes stay truthful.
pub async fn concurrent_deletes_of_one_user_report_it_once(store: Store) {
    let acme = create_org(&store, "acme").await;
    let ada = new_user(&acme, "ada@example.com", "ada", "Ada");
    insert_users(&store, std::slice::from_ref(&ada)).await;
    let results = race(4, |_| {
        let store = Arc::clone(&store);
        let (org, id) = (acme.id(), ada.id);
        async move {
            let mut tx = store.begin().await.expect("begin");
            let deleted = tx.delete_users(org, &[id], now()).await.expect("delete_users");
            tx.commit().await.expect("commit");
            deleted
        }
    })
    .await;
    assert_eq!(results.iter().filter(|r| !r.is_empty()).count(), 1, "{results:?}");
    assert_eq!(count_seats(&store, acme.id()).await, 0);
}
