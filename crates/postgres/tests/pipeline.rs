//! The pipelined hot reads (get user, get organization, find API key, find session, user
//! access): a few connections shared by every request, replaced when the server closes
//! them.

use std::collections::BTreeMap;
use std::time::{Duration as StdDuration, Instant};

use chrono::{DateTime, Duration, Utc};
use roster_domain::api_key::{ApiKey, ApiKeyOwner, NewSecret, SecretDigest};
use roster_domain::grant::Grant;
use roster_domain::ids::{ApiKeyId, GrantId, OrgId, RoleId, SessionId, UserId};
use roster_domain::organization::{OrgStatus, Organization};
use roster_domain::permission::{Permission, PermissionSet};
use roster_domain::ports::{
    ApiKeyReads, KeyLookup, OrganizationReads, RoleRef, SessionLookup, Storage, UserAccess, UserReads,
};
use roster_domain::role::{BuiltinRole, Role, RoleKey};
use roster_domain::session::Session;
use roster_domain::user::{User, UserStatus};
use roster_domain::values::{DisplayName, Email, KeyName, Metadata, OrgName, Slug, Tags, Username};
use roster_postgres::{PostgresStorage, ReadClients, testing};
use tokio::task::JoinSet;
use uuid::Uuid;

/// What [`seed`] stored.
struct Seeded {
    storage: PostgresStorage,
    url: String,
    org: Organization,
    users: Vec<User>,
    key: ApiKey,
    session: Session,
    /// What `user_access` must say of every user at `now`.
    access: Vec<UserAccess>,
    now: DateTime<Utc>,
}

impl Seeded {
    /// Every hot read returns exactly what was stored.
    async fn check_reads(&self) {
        for user in &self.users {
            let view = self.storage.get_user(self.org.id, user.id).await.unwrap().expect("user found");
            assert_eq!(view.user, *user);
            assert_eq!(view.organization, self.org.summary());
        }
        let missing = UserId::from_uuid(Uuid::now_v7());
        assert_eq!(self.storage.get_user(self.org.id, missing).await.unwrap(), None);
        assert_eq!(self.storage.get_organization(self.org.id).await.unwrap(), Some(self.org.clone()));
        let found = self.storage.find_api_key(&self.key.digest).await.unwrap();
        let expected = KeyLookup { key: self.key.clone(), org_status: Some(OrgStatus::Active), org_partner: true };
        assert_eq!(found, Some(expected));
        assert_eq!(self.storage.find_api_key(&SecretDigest::of("nope")).await.unwrap(), None);
        let found = self.storage.find_session(&self.session.digest).await.unwrap();
        let expected =
            SessionLookup { session: self.session.clone(), org_status: Some(OrgStatus::Active), org_partner: true };
        assert_eq!(found, Some(expected));
        assert_eq!(self.storage.find_session(&SecretDigest::of("nope")).await.unwrap(), None);
        let ids: Vec<UserId> = self.users.iter().map(|u| u.id).chain([missing]).collect();
        assert_eq!(self.storage.user_access(self.org.id, &ids, self.now).await.unwrap(), self.access);
        assert_eq!(self.storage.user_access(OrgId::from_uuid(Uuid::now_v7()), &ids, self.now).await.unwrap(), vec![]);
    }

    /// The backends of the pipelined connections (of this test's database only: tests
    /// run in parallel).
    async fn read_backends(&self) -> Vec<i32> {
        sqlx::query_scalar(
            "SELECT pid FROM pg_stat_activity WHERE application_name = 'roster-reads' \
             AND datname = current_database() ORDER BY pid",
        )
        .fetch_all(self.storage.pool())
        .await
        .unwrap()
    }

    /// Has the server end the pipelined connections' backends, as an administrator (or
    /// a restart) would; `wait` for them to exit. Returns how many it ended.
    async fn terminate_read_backends(&self, wait: bool) -> usize {
        let timeout_ms: i64 = if wait { 5_000 } else { 0 };
        let ended: Vec<bool> = sqlx::query_scalar(
            "SELECT pg_terminate_backend(pid, $1) FROM pg_stat_activity \
             WHERE application_name = 'roster-reads' AND datname = current_database()",
        )
        .bind(timeout_ms)
        .fetch_all(self.storage.pool())
        .await
        .unwrap();
        ended.into_iter().filter(|ended| *ended).count()
    }

    async fn teardown(self) {
        self.storage.pool().close().await;
        drop(self.storage);
        testing::drop_database(&self.url).await;
    }
}

fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap()
}

/// A new database with one partner organization, `users` users (the first with a custom
/// role, every second one with grants), a service key and a session, served with
/// `read_clients`.
async fn seed(read_clients: ReadClients, users: usize) -> Seeded {
    let url = testing::fresh_database_url().await;
    let storage = PostgresStorage::connect_with_read_clients(&url, 8, read_clients).await.unwrap();
    let now = now();
    let org_id = OrgId::from_uuid(Uuid::now_v7());
    let mut roles: Vec<Role> = BuiltinRole::ALL
        .into_iter()
        .map(|which| Role::builtin(RoleId::from_uuid(Uuid::now_v7()), org_id, which, now))
        .collect();
    let custom = Role {
        id: RoleId::from_uuid(Uuid::now_v7()),
        org_id,
        key: RoleKey::parse("billing").unwrap(),
        name: "Billing".into(),
        description: String::new(),
        builtin: false,
        permissions: PermissionSet::parse(["projects.create", "billing.read"]).unwrap(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let org = Organization {
        id: org_id,
        slug: Slug::parse("pipes").unwrap(),
        name: OrgName::parse("Pipes").unwrap(),
        domain: None,
        description: None,
        logo_url: None,
        icon_url: None,
        parent_id: None,
        partner: true,
        seat_limit: None,
        default_role_id: roles[2].id,
        invitation_ttl: Duration::days(7),
        default_login_url: None,
        status: OrgStatus::Active,
        created_by: "test".into(),
        modified_by: "test".into(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let users: Vec<User> = (0..users)
        .map(|i| User {
            id: UserId::from_uuid(Uuid::now_v7()),
            org_id,
            email: Email::parse(format!("user{i}@example.com")).unwrap(),
            username: Username::parse(format!("user{i}")).unwrap(),
            name: DisplayName::parse(format!("User {i}")).unwrap(),
            first_name: None,
            last_name: None,
            location: None,
            locale: None,
            tags: Tags::parse([format!("t{}", i % 7)]).unwrap(),
            metadata: Metadata::parse(BTreeMap::from([("n".to_owned(), i.to_string())])).unwrap(),
            status: if i % 3 == 0 { UserStatus::Invited } else { UserStatus::Active },
            password_hash: None,
            role_ids: if i == 0 {
                let mut both = vec![roles[0].id, custom.id];
                both.sort();
                both
            } else {
                vec![roles[i % roles.len()].id]
            },
            last_login_at: None,
            created_at: now,
            updated_at: now,
            version: 1,
        })
        .collect();
    let secret = NewSecret::generate();
    let key = ApiKey {
        id: ApiKeyId::from_uuid(Uuid::now_v7()),
        owner: ApiKeyOwner::Organization(org_id),
        name: KeyName::parse("ci").unwrap(),
        prefix: secret.display_prefix(),
        digest: secret.digest(),
        scope: Some(PermissionSet::parse(["users.read"]).unwrap()),
        created_by: "test".into(),
        created_at: now,
        expires_at: None,
        revoked_at: None,
        last_used_at: Some(now),
    };
    let session = Session {
        id: SessionId::from_uuid(Uuid::now_v7()),
        org_id,
        user_id: users[0].id,
        digest: NewSecret::generate_session().digest(),
        client_ip: Some("192.0.2.1".into()),
        created_at: now,
        expires_at: now + Duration::hours(1),
        revoked_at: None,
        last_used_at: None,
    };
    // Every second user: a live grant overlapping the custom role, and an expired one.
    let grant = |user: &User, permission: &str, expires_at| Grant {
        id: GrantId::from_uuid(Uuid::now_v7()),
        org_id,
        user_id: user.id,
        permission: Permission::parse(permission).unwrap(),
        expires_at,
        created_by: "test".into(),
        created_at: now,
        updated_at: now,
        version: 1,
    };
    let grants: Vec<Grant> = users
        .iter()
        .step_by(2)
        .flat_map(|u| {
            [grant(u, "projects.create", Some(now + Duration::seconds(1))), grant(u, "reports.read", Some(now))]
        })
        .collect();
    let access = users
        .iter()
        .enumerate()
        .map(|(i, user)| {
            let mut held: Vec<&Role> =
                roles.iter().chain([&custom]).filter(|r| user.role_ids.contains(&r.id)).collect();
            held.sort_by_key(|r| r.id);
            let mut permissions: Vec<String> = if i == 0 { custom.permissions.names() } else { Vec::new() };
            if i % 2 == 0 {
                permissions.push("projects.create".into());
            }
            permissions.sort();
            permissions.dedup();
            UserAccess {
                user_id: user.id,
                status: user.status,
                roles: held
                    .into_iter()
                    .map(|r| RoleRef { id: r.id, key: r.key.as_str().to_owned(), builtin: r.builtin })
                    .collect(),
                permissions,
            }
        })
        .collect();
    let mut tx = storage.begin().await.unwrap();
    roles.push(custom);
    tx.insert_organization(&org, &roles).await.unwrap();
    for user in &users {
        tx.insert_user(user).await.unwrap();
    }
    for grant in &grants {
        tx.insert_grant(grant).await.unwrap();
    }
    tx.insert_api_key(&key).await.unwrap();
    tx.insert_session(&session).await.unwrap();
    tx.commit().await.unwrap();
    Seeded { storage, url, org, users, key, session, access, now }
}

#[tokio::test]
async fn reads_run_on_the_configured_number_of_connections() {
    let seeded = seed(ReadClients::Pipelined(3), 5).await;
    assert!(seeded.storage.pipelined_reads());
    assert_eq!(seeded.read_backends().await.len(), 3, "connected at start");
    assert_eq!(seeded.storage.idle_read_connections(), 3);
    seeded.check_reads().await;
    assert_eq!(seeded.read_backends().await.len(), 3);
    seeded.teardown().await;
}

#[tokio::test]
async fn without_pipelining_the_reads_use_sqlx_connections() {
    let seeded = seed(ReadClients::Off, 5).await;
    assert!(!seeded.storage.pipelined_reads());
    seeded.check_reads().await;
    assert_eq!(seeded.read_backends().await, Vec::<i32>::new());
    seeded.teardown().await;
}

#[tokio::test]
async fn reads_survive_the_server_terminating_their_connections() {
    let seeded = seed(ReadClients::Pipelined(2), 4).await;
    seeded.check_reads().await;

    // The backends are gone before the next read: each connection is found closed (or
    // its read fails) and replaced.
    let before = seeded.read_backends().await;
    assert_eq!(before.len(), 2);
    assert_eq!(seeded.terminate_read_backends(true).await, 2);
    seeded.check_reads().await;
    let after = seeded.read_backends().await;
    assert_eq!(after.len(), 2, "both connections replaced");
    assert!(after.iter().all(|pid| !before.contains(pid)), "new backends: {before:?} -> {after:?}");

    // Reads racing the termination succeed too (on the old connection, or retried).
    let before = after;
    assert_eq!(seeded.terminate_read_backends(false).await, 2);
    seeded.check_reads().await;
    let deadline = Instant::now() + StdDuration::from_secs(10);
    loop {
        seeded.check_reads().await;
        let now = seeded.read_backends().await;
        if now.len() == 2 && now.iter().all(|pid| !before.contains(pid)) {
            break;
        }
        assert!(Instant::now() < deadline, "connections not replaced: {before:?} -> {now:?}");
        // Each round trips to the server: polling the condition, not sleeping on a guess.
        tokio::task::yield_now().await;
    }
    seeded.teardown().await;
}

#[tokio::test]
async fn reads_in_flight_when_the_server_terminates_the_connections_are_retried() {
    let seeded = seed(ReadClients::Pipelined(2), 8).await;
    let (storage, org) = (seeded.storage.clone(), seeded.org.id);
    let mut readers = JoinSet::new();
    let started = std::sync::Arc::new(tokio::sync::Barrier::new(17));
    for task in 0..16 {
        let (storage, users, started) = (storage.clone(), seeded.users.clone(), started.clone());
        readers.spawn(async move {
            started.wait().await;
            for round in 0..100 {
                let user = &users[(task + round) % users.len()];
                let view = storage.get_user(org, user.id).await.expect("read succeeds").expect("user found");
                assert_eq!(view.user, *user);
            }
        });
    }
    // Terminate while the readers are under way.
    started.wait().await;
    assert_eq!(seeded.terminate_read_backends(false).await, 2);
    while let Some(done) = readers.join_next().await {
        done.unwrap();
    }
    seeded.check_reads().await;
    seeded.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_reads_share_the_connections_and_get_their_own_rows() {
    let seeded = seed(ReadClients::Pipelined(2), 50).await;
    let org = seeded.org.clone();
    let mut readers = JoinSet::new();
    for round in 0..10 {
        for (i, user) in seeded.users.iter().enumerate() {
            let (storage, user, org) = (seeded.storage.clone(), user.clone(), org.clone());
            let (key, session, access, now) =
                (seeded.key.clone(), seeded.session.clone(), seeded.access.clone(), seeded.now);
            readers.spawn(async move {
                let view = storage.get_user(org.id, user.id).await.unwrap().expect("user found");
                assert_eq!(view.user, user);
                assert_eq!(view.organization, org.summary());
                match (round + i) % 10 {
                    0 => assert_eq!(storage.get_organization(org.id).await.unwrap(), Some(org)),
                    1 => assert_eq!(storage.find_api_key(&key.digest).await.unwrap().map(|found| found.key), Some(key)),
                    2 => assert_eq!(storage.get_user(org.id, UserId::from_uuid(Uuid::now_v7())).await.unwrap(), None),
                    // Another organization's id finds nothing.
                    3 => assert_eq!(storage.get_user(OrgId::from_uuid(Uuid::now_v7()), user.id).await.unwrap(), None),
                    4 => {
                        let found = storage.user_access(org.id, &[user.id], now).await.unwrap();
                        assert_eq!(found, vec![access[i].clone()]);
                    }
                    5 => {
                        let found = storage.find_session(&session.digest).await.unwrap();
                        assert_eq!(found.map(|found| found.session), Some(session));
                    }
                    _ => {}
                }
            });
        }
    }
    assert_eq!(readers.len(), 500);
    while let Some(done) = readers.join_next().await {
        done.unwrap();
    }
    assert_eq!(seeded.read_backends().await.len(), 2, "every read on the two shared connections");
    seeded.teardown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reads_abandoned_half_way_leave_the_connections_in_step() {
    let seeded = seed(ReadClients::Pipelined(2), 20).await;
    for round in 0..20u64 {
        let mut abandoned = JoinSet::new();
        for user in &seeded.users {
            let (storage, org, id) = (seeded.storage.clone(), seeded.org.id, user.id);
            abandoned.spawn(async move { storage.get_user(org, id).await });
        }
        // Some are queued, some sent, some answered: drop them all wherever they are.
        for _ in 0..round {
            tokio::task::yield_now().await;
        }
        abandoned.abort_all();
        while abandoned.join_next().await.is_some() {}
        seeded.check_reads().await;
    }
    assert_eq!(seeded.read_backends().await.len(), 2, "no connection was lost");
    seeded.teardown().await;
}
