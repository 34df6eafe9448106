//! Password login: every failure looks the same and costs the same hashing work, failures
//! are throttled per account and per client address, and a success yields a session
//! whose token is shown once and stored only as a digest.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, Utc};

use super::support::{Tenant, begins_each, fake_hash, invalid_field_names, now, roster, roster_with, run};
use crate::api_key::{SESSION_PREFIX, SecretDigest, TokenKind, token_kind};
use crate::error::Error;
use crate::hashing::PasswordHash;
use crate::mocks::{MockPasswordHasher, MockStorage};
use crate::service::LoginInput;
use crate::session::{Session, ThrottleState};
use crate::user::{User, UserStatus};

const PASSWORD: &str = "correct horse battery";
const IP: &str = "192.0.2.7";

/// What the login's transactions wrote.
#[derive(Default)]
struct Writes {
    failures: Mutex<Vec<String>>,
    locks: Mutex<Vec<(String, DateTime<Utc>)>>,
    cleared: Mutex<Vec<String>>,
    sessions: Mutex<Vec<Session>>,
    users: Mutex<Vec<User>>,
}

/// `tenant`'s storage knowing `user` (if any) and the throttle `states`; a failure
/// recorded for a key counts `failures_so_far + 1`.
fn storage(
    tenant: &Tenant,
    user: Option<User>,
    states: Vec<(String, ThrottleState)>,
    failures_so_far: u32,
) -> (MockStorage, Arc<Writes>) {
    storage_locking(tenant, user.clone(), user, states, failures_so_far)
}

/// [`storage`] where the look-up by email finds `found` and the row lock `locked`.
fn storage_locking(
    tenant: &Tenant,
    found: Option<User>,
    user: Option<User>,
    states: Vec<(String, ThrottleState)>,
    failures_so_far: u32,
) -> (MockStorage, Arc<Writes>) {
    let writes = Arc::new(Writes::default());
    let mut storage = tenant.storage();
    let org = tenant.org.clone();
    storage.expect_get_organization_by_slug().returning(move |slug| Ok((*slug == org.slug).then(|| org.clone())));
    storage.expect_login_throttle().returning(move |_| Ok(states.clone()));
    storage.expect_user_by_email().returning(move |_, email| Ok(found.clone().filter(|u| u.email == *email)));
    let (tenant, w) = (tenant.clone(), writes.clone());
    begins_each(&mut storage, move || {
        let mut tx = tenant.tx();
        let fx = w.clone();
        tx.expect_record_login_failure().returning(move |key, _, _| {
            fx.failures.lock().unwrap().push(key.to_owned());
            Ok(failures_so_far + 1)
        });
        let fx = w.clone();
        tx.expect_lock_login().returning(move |key, until| {
            fx.locks.lock().unwrap().push((key.to_owned(), until));
            Ok(())
        });
        let fx = w.clone();
        tx.expect_clear_login_failures().returning(move |key| {
            fx.cleared.lock().unwrap().push(key.to_owned());
            Ok(())
        });
        let stored = user.clone();
        tx.expect_user_for_update().returning(move |_, _| Ok(stored.clone()));
        let fx = w.clone();
        tx.expect_update_user().returning(move |u| {
            fx.users.lock().unwrap().push(u.clone());
            Ok(())
        });
        let fx = w.clone();
        tx.expect_insert_session().returning(move |s| {
            fx.sessions.lock().unwrap().push(s.clone());
            Ok(())
        });
        tx.expect_commit().returning(|| Ok(()));
        tx
    });
    (storage, writes)
}

/// A hasher whose `verify` accepts only [`PASSWORD`] against its [`fake_hash`], counting
/// calls and remembering the hashes it was asked to check.
struct CountingHasher {
    hashes: Arc<AtomicUsize>,
    verified: Arc<Mutex<Vec<PasswordHash>>>,
}

impl CountingHasher {
    fn new() -> (MockPasswordHasher, Self) {
        let counts = Self { hashes: Arc::default(), verified: Arc::default() };
        let mut hasher = MockPasswordHasher::new();
        let hashes = counts.hashes.clone();
        hasher.expect_hash().returning(move |p| {
            hashes.fetch_add(1, Ordering::SeqCst);
            Ok(fake_hash(p.expose()))
        });
        let verified = counts.verified.clone();
        hasher.expect_verify().returning(move |candidate, hash| {
            verified.lock().unwrap().push(hash.clone());
            *hash == fake_hash(PASSWORD) && candidate == PASSWORD
        });
        (hasher, counts)
    }

    fn verifications(&self) -> usize {
        self.verified.lock().unwrap().len()
    }
}

fn ada(tenant: &Tenant) -> User {
    User { password_hash: Some(fake_hash(PASSWORD)), ..tenant.user("ada@example.com") }
}

fn login(organization: &str, email: &str, password: &str) -> LoginInput {
    LoginInput {
        organization: Some(organization.into()),
        email: Some(email.into()),
        password: Some(password.into()),
        client_ip: Some(IP.into()),
        request_id: None,
    }
}

fn account(org: &str) -> String {
    format!("account:{org}:ada@example.com")
}

#[test]
fn every_failed_login_is_unauthenticated_after_exactly_one_verification_and_is_recorded() {
    let tenant = Tenant::new("acme");
    let known = account(&tenant.id().to_string());
    let suspended = User { status: UserStatus::Suspended, ..ada(&tenant) };
    let invited = User { status: UserStatus::Invited, password_hash: None, ..ada(&tenant) };
    let cases = [
        ("unknown organization", Some(ada(&tenant)), login("nowhere", "ada@example.com", PASSWORD), account("nowhere")),
        ("unknown user", None, login("acme", "ada@example.com", PASSWORD), known.clone()),
        ("wrong password", Some(ada(&tenant)), login("acme", "ada@example.com", "not the password"), known.clone()),
        ("suspended user", Some(suspended), login("acme", "ada@example.com", PASSWORD), known.clone()),
        ("invited user", Some(invited), login("acme", "ada@example.com", PASSWORD), known.clone()),
    ];
    for (case, user, input, account) in cases {
        let (storage, writes) = storage(&tenant, user, Vec::new(), 0);
        let (hasher, counts) = CountingHasher::new();
        let result = run(roster_with(storage, hasher).login(input));
        assert!(matches!(result, Err(Error::Unauthenticated)), "{case}: {result:?}");
        assert_eq!(counts.verifications(), 1, "{case}: verify must run exactly once");
        assert_eq!(*writes.failures.lock().unwrap(), [account, format!("ip:{IP}")], "{case}");
        assert!(writes.sessions.lock().unwrap().is_empty() && writes.cleared.lock().unwrap().is_empty(), "{case}");
    }
}

#[test]
fn an_unknown_user_costs_a_verification_against_a_dummy_hash_made_once() {
    let tenant = Tenant::new("acme");
    let (storage, _) = storage(&tenant, None, Vec::new(), 0);
    let (hasher, counts) = CountingHasher::new();
    let roster = roster_with(storage, hasher);
    for _ in 0..3 {
        assert!(matches!(run(roster.login(login("acme", "ada@example.com", PASSWORD))), Err(Error::Unauthenticated)));
    }
    assert_eq!(counts.verifications(), 3);
    assert_eq!(counts.hashes.load(Ordering::SeqCst), 1, "the dummy hash is made once per instance");
    let verified = counts.verified.lock().unwrap();
    assert!(verified.iter().all(|h| *h == verified[0] && *h != fake_hash(PASSWORD)));
}

#[test]
fn the_organization_may_be_given_by_id() {
    let tenant = Tenant::new("acme");
    let (storage, writes) = storage(&tenant, Some(ada(&tenant)), Vec::new(), 0);
    let (hasher, _) = CountingHasher::new();
    run(roster_with(storage, hasher).login(login(&tenant.id().to_string(), "Ada@Example.com", PASSWORD))).unwrap();
    assert_eq!(writes.sessions.lock().unwrap().len(), 1);
}

#[test]
fn a_locked_account_or_address_is_rate_limited_without_verifying() {
    let tenant = Tenant::new("acme");
    let locked = ThrottleState { failures: 7, locked_until: Some(now() + Duration::seconds(30)) };
    for key in [account(&tenant.id().to_string()), format!("ip:{IP}")] {
        let (storage, writes) = storage(&tenant, Some(ada(&tenant)), vec![(key.clone(), locked.clone())], 0);
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_verify().times(0);
        hasher.expect_hash().times(0);
        let result = run(roster_with(storage, hasher).login(login("acme", "ada@example.com", PASSWORD)));
        match result {
            Err(Error::RateLimited { retry_after_secs }) => assert!(retry_after_secs > 0 && retry_after_secs <= 31),
            other => panic!("{key} locked, got {other:?}"),
        }
        assert!(writes.failures.lock().unwrap().is_empty(), "a refused attempt is not another failure");
    }
}

#[test]
fn a_lock_that_has_ended_no_longer_limits() {
    let tenant = Tenant::new("acme");
    let ended = ThrottleState { failures: 7, locked_until: Some(now()) };
    let (storage, _) = storage(&tenant, Some(ada(&tenant)), vec![(account(&tenant.id().to_string()), ended)], 0);
    let (hasher, _) = CountingHasher::new();
    run(roster_with(storage, hasher).login(login("acme", "ada@example.com", PASSWORD))).unwrap();
}

#[test]
fn reaching_the_failure_limit_locks_the_account() {
    let tenant = Tenant::new("acme");
    let roster_settings = crate::service::Settings::default();
    let limit = roster_settings.account_throttle.limit;
    let (storage, writes) = storage(&tenant, Some(ada(&tenant)), Vec::new(), limit - 1);
    let (hasher, _) = CountingHasher::new();
    let result = run(roster_with(storage, hasher).login(login("acme", "ada@example.com", "wrong")));
    assert!(matches!(result, Err(Error::Unauthenticated)));
    // The account reached its limit; the address, with a far higher one, did not.
    let lock = now() + roster_settings.account_throttle.base_lock;
    assert_eq!(*writes.locks.lock().unwrap(), [(account(&tenant.id().to_string()), lock)]);
}

#[test]
fn a_successful_login_makes_a_session_stored_by_digest_and_clears_the_accounts_failures() {
    let tenant = Tenant::new("acme");
    let user = ada(&tenant);
    let (storage, writes) = storage(&tenant, Some(user.clone()), Vec::new(), 0);
    let (hasher, counts) = CountingHasher::new();
    let outcome = run(roster_with(storage, hasher).login(login("acme", "ada@example.com", PASSWORD))).unwrap();

    let token = outcome.token.expose();
    assert!(token.starts_with(SESSION_PREFIX) && token.starts_with("rss_"));
    assert_eq!(token_kind(token), Some(TokenKind::Session));
    assert_eq!(counts.verifications(), 1);
    let stored = writes.sessions.lock().unwrap().clone();
    assert_eq!(stored, std::slice::from_ref(&outcome.session));
    let session = &stored[0];
    assert!(session.digest.matches(&SecretDigest::of(token)));
    assert!(!format!("{session:?} {outcome:?}").contains(&token[4..]));
    assert_eq!((session.org_id, session.user_id), (tenant.id(), user.id));
    assert_eq!(session.expires_at, now() + crate::service::Settings::default().session_ttl);
    assert_eq!(session.client_ip.as_deref(), Some(IP));
    // The attempt was counted against the account before the check, then forgotten; the
    // address counts failures only.
    let failures: Vec<String> = writes.failures.lock().unwrap().iter().map(|f| format!("{f:?}")).collect();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(failures[0].contains(&account(&tenant.id().to_string())), "{failures:?}");
    assert_eq!(*writes.cleared.lock().unwrap(), [account(&tenant.id().to_string())]);
    assert_eq!(writes.users.lock().unwrap()[0].last_login_at, Some(now()));

    let events = tenant.audit_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].action, "session.created");
    assert_eq!(events[0].actor, format!("user:{}", user.id));
    assert!(events[0].details.values().all(|v| !v.contains(&token[4..]) && !v.contains(PASSWORD)));
}

#[test]
fn a_user_suspended_while_logging_in_gets_no_session() {
    let tenant = Tenant::new("acme");
    // The read before verification saw an active user; the locked row is suspended.
    let suspended = User { status: UserStatus::Suspended, ..ada(&tenant) };
    let (storage, writes) = storage_locking(&tenant, Some(ada(&tenant)), Some(suspended), Vec::new(), 0);
    let (hasher, _) = CountingHasher::new();
    let result = run(roster_with(storage, hasher).login(login("acme", "ada@example.com", PASSWORD)));
    assert!(matches!(result, Err(Error::Unauthenticated)));
    assert!(writes.sessions.lock().unwrap().is_empty());
    assert!(tenant.audit_events().is_empty());
}

#[test]
fn missing_login_fields_are_validation_errors_before_storage() {
    let mut storage = MockStorage::new();
    storage.expect_login_throttle().times(0);
    let result = run(roster(storage).login(LoginInput::default()));
    assert_eq!(invalid_field_names(result), ["organization", "email", "password"]);
}

#[test]
fn a_login_input_never_shows_its_password() {
    let input = login("acme", "ada@example.com", PASSWORD);
    assert!(!format!("{input:?}").contains(PASSWORD));
}
