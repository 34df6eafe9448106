//! Login throttling: failure counts within a window, locks, clearing, and counting under
//! concurrent failures.

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use roster_domain::session::ThrottleState;

use crate::concurrency::race;
use crate::fixtures::{Store, as_storage, at};

const ACCOUNT: &str = "account:0190c8b4-0000-7000-8000-000000000001:ada@example.com";
const ADDRESS: &str = "ip:203.0.113.7";

/// Records one failure in a committed transaction, returning the count.
async fn fail(store: &Store, key: &str, now: DateTime<Utc>, window: Duration) -> u32 {
    let mut tx = store.begin().await.expect("begin");
    let failures = tx.record_login_failure(key, now, window).await.expect("record_login_failure");
    tx.commit().await.expect("commit");
    failures
}

/// The stored state of `key`, if it has one.
async fn state(store: &Store, key: &str) -> Option<ThrottleState> {
    let found = store.login_throttle(&[key.to_owned()]).await.expect("login_throttle");
    assert!(found.len() <= 1, "one state per key: {found:?}");
    found.into_iter().next().map(|(k, s)| {
        assert_eq!(k, key);
        s
    })
}

/// Failures count 1, 2, 3… per key while each comes within the window of the previous
/// one (a gap of exactly the window included), and `login_throttle` reads the count.
pub async fn login_failures_count_up_per_key(store: Store) {
    let window = Duration::minutes(15);
    let t0 = at("2025-01-01T00:00:00Z");
    assert_eq!(state(&store, ACCOUNT).await, None);
    assert_eq!(fail(&store, ACCOUNT, t0, window).await, 1);
    assert_eq!(fail(&store, ACCOUNT, t0 + Duration::seconds(1), window).await, 2);
    assert_eq!(fail(&store, ADDRESS, t0 + Duration::seconds(1), window).await, 1, "keys count apart");
    assert_eq!(fail(&store, ACCOUNT, t0 + Duration::seconds(1) + window, window).await, 3);
    assert_eq!(state(&store, ACCOUNT).await, Some(ThrottleState { failures: 3, locked_until: None }));

    let both = store.login_throttle(&[ADDRESS.to_owned(), "ip:unknown".to_owned(), ACCOUNT.to_owned()]).await;
    let mut both = both.unwrap();
    both.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        both,
        vec![
            (ACCOUNT.to_owned(), ThrottleState { failures: 3, locked_until: None }),
            (ADDRESS.to_owned(), ThrottleState { failures: 1, locked_until: None }),
        ]
    );
    assert!(store.login_throttle(&[]).await.unwrap().is_empty());
}

/// A failure more than the window after the previous one starts the count afresh.
pub async fn login_failures_restart_after_the_window(store: Store) {
    let window = Duration::minutes(15);
    let t0 = at("2025-01-01T00:00:00Z");
    for expected in 1..=4 {
        assert_eq!(
            fail(&store, ACCOUNT, t0 + Duration::seconds(expected), window).await,
            u32::try_from(expected).unwrap()
        );
    }
    let later = t0 + Duration::seconds(4) + window + Duration::microseconds(1);
    assert_eq!(fail(&store, ACCOUNT, later, window).await, 1);
    assert_eq!(fail(&store, ACCOUNT, later + Duration::seconds(1), window).await, 2);
    assert_eq!(state(&store, ACCOUNT).await.unwrap().failures, 2);
}

/// `lock_login` stores the lock `login_throttle` reads, and a later lock replaces it;
/// `clear_login_failures` forgets the key's failures and lock, and counting starts over.
pub async fn locks_are_read_back_and_cleared(store: Store) {
    let window = Duration::minutes(15);
    let t0 = at("2025-01-01T00:00:00Z");
    for _ in 0..5 {
        fail(&store, ACCOUNT, t0, window).await;
    }
    let until = at("2025-01-01T00:00:30.000001Z");
    let mut tx = store.begin().await.unwrap();
    tx.lock_login(ACCOUNT, until).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(state(&store, ACCOUNT).await, Some(ThrottleState { failures: 5, locked_until: Some(until) }));

    let longer = at("2025-01-01T00:01:00Z");
    let mut tx = store.begin().await.unwrap();
    tx.lock_login(ACCOUNT, longer).await.unwrap();
    tx.lock_login(ADDRESS, longer).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(state(&store, ACCOUNT).await.unwrap().locked_until, Some(longer));
    assert_eq!(state(&store, ADDRESS).await.unwrap().locked_until, Some(longer), "a lock without failures");

    let mut tx = store.begin().await.unwrap();
    tx.clear_login_failures(ACCOUNT).await.unwrap();
    tx.clear_login_failures("ip:never-failed").await.unwrap();
    tx.commit().await.unwrap();
    assert!(state(&store, ACCOUNT).await.is_none_or(|s| s == ThrottleState { failures: 0, locked_until: None }));
    assert_eq!(fail(&store, ACCOUNT, t0 + Duration::seconds(1), window).await, 1);
    assert_eq!(state(&store, ADDRESS).await.unwrap().locked_until, Some(longer), "other keys keep theirs");
}

/// Concurrent failures on one key, each in its own transaction, are counted exactly once
/// each: the counts returned are 1..=N, each once.
pub async fn concurrent_login_failures_count_each_once(store: Store) {
    const N: u32 = 8;
    let t0 = at("2025-01-01T00:00:00Z");
    let mut counts = race(N as usize, |i| {
        let store = Arc::clone(&store);
        let when = t0 + Duration::milliseconds(i64::try_from(i).unwrap());
        async move { fail(&store, ACCOUNT, when, Duration::minutes(15)).await }
    })
    .await;
    counts.sort_unstable();
    assert_eq!(counts, (1..=N).collect::<Vec<_>>());
    assert_eq!(state(&store, ACCOUNT).await.unwrap().failures, N);
}

/// Counts password verifications, hashing as [`crate::fixtures::PlainHasher`] does.
#[derive(Debug, Default)]
struct CountingHasher(std::sync::atomic::AtomicU32);

#[async_trait::async_trait]
impl roster_domain::hashing::PasswordHasher for CountingHasher {
    async fn hash(
        &self,
        password: &roster_domain::values::Password,
    ) -> Result<roster_domain::hashing::PasswordHash, roster_domain::hashing::HashingError> {
        crate::fixtures::PlainHasher.hash(password).await
    }

    async fn verify(&self, candidate: &str, hash: &roster_domain::hashing::PasswordHash) -> bool {
        self.0.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        crate::fixtures::PlainHasher.verify(candidate, hash).await
    }
}

/// Many concurrent wrong-password logins to one account, all starting while it is not
/// locked: each attempt is counted before its password is checked, so at most the limit
/// of them is ever checked (the rest are refused as rate limited), and none succeeds.
pub async fn concurrent_wrong_logins_check_at_most_the_limit(store: Store) {
    use roster_domain::Error;
    use roster_domain::service::{LoginInput, Roster, Settings};

    const N: usize = 12;
    let (setup, platform) = crate::fixtures::roster_with_platform(&store).await;
    let org = setup
        .create_organization(
            &platform,
            roster_domain::organization_input::CreateOrganizationInput {
                slug: Some("acme".into()),
                name: Some("Acme".into()),
                ..Default::default()
            },
        )
        .await
        .expect("create_organization");
    let input = roster_domain::user_input::CreateUserInput {
        email: Some("ada@example.com".into()),
        name: Some("Ada".into()),
        password: Some("correct horse battery staple".into()),
        ..Default::default()
    };
    setup.create_user(&platform, org.id, input).await.expect("create_user");
    let hasher = Arc::new(CountingHasher::default());
    let settings = Settings::default();
    let roster = Arc::new(Roster::new(as_storage(&store), Arc::clone(&hasher) as _, settings));
    let results = race(N, |i| {
        let roster = Arc::clone(&roster);
        async move {
            let input = LoginInput {
                organization: Some("acme".into()),
                email: Some("ada@example.com".into()),
                password: Some(format!("wrong guess number {i}")),
                client_ip: None,
                request_id: None,
            };
            roster.login(input).await.map(|_| ())
        }
    })
    .await;
    let limit = settings.account_throttle.limit;
    let checked = hasher.0.load(std::sync::atomic::Ordering::SeqCst);
    assert!(checked <= limit, "{checked} passwords checked, limit {limit}: {results:?}");
    assert!(
        results.iter().all(|r| matches!(r, Err(Error::Unauthenticated | Error::RateLimited { .. }))),
        "{results:?}"
    );
    let refused = results.iter().filter(|r| matches!(r, Err(Error::RateLimited { .. }))).count();
    assert_eq!(refused + checked as usize, N, "every attempt was either checked or refused: {results:?}");
}
