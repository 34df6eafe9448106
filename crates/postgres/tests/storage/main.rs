//! The adapter against a real PostgreSQL (through `roster_postgres::testing`): what the
//! storage contract suite cannot see, such as the schema's own invariants.

mod access_control;

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use roster_domain::api_key::{ApiKey, ApiKeyOwner, NewSecret, SecretDigest};
use roster_domain::error::{StoreError, Unique};
use roster_domain::hashing::PasswordHash;
use roster_domain::ids::{ApiKeyId, OrgId, RoleId, UserId};
use roster_domain::organization::{OrgStatus, Organization};
use roster_domain::ports::{ApiKeyReads, KeyLookup, KeyOwnerFilter, NewUser, OrganizationReads, Storage, UserReads};
use roster_domain::role::{BuiltinRole, Role};
use roster_domain::user::{User, UserCursor, UserFilter, UserQuery, UserSort, UserStatus};
use roster_domain::values::{DisplayName, Email, KeyName, Metadata, OrgName, Slug, Tag, Tags, Username};
use roster_postgres::testing;
use uuid::Uuid;

fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).unwrap()
}

fn organization(slug: &str, now: DateTime<Utc>) -> (Organization, Vec<Role>) {
    let id = OrgId::from_uuid(Uuid::now_v7());
    let roles: Vec<Role> = BuiltinRole::ALL
        .into_iter()
        .map(|which| Role::builtin(RoleId::from_uuid(Uuid::now_v7()), id, which, now))
        .collect();
    let org = Organization {
        id,
        slug: Slug::parse(slug).unwrap(),
        name: OrgName::parse("Acme").unwrap(),
        domain: None,
        description: None,
        logo_url: None,
        icon_url: None,
        parent_id: None,
        partner: false,
        seat_limit: Some(10),
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
    (org, roles)
}

fn user(org: &Organization, role: RoleId, email: &str, username: &str, now: DateTime<Utc>) -> User {
    User {
        id: UserId::from_uuid(Uuid::now_v7()),
        org_id: org.id,
        email: Email::parse(email).unwrap(),
        username: Username::parse(username).unwrap(),
        name: DisplayName::parse("Ada Lovelace").unwrap(),
        first_name: None,
        last_name: None,
        location: None,
        locale: None,
        tags: Tags::parse(["math", "admin"]).unwrap(),
        metadata: Metadata::parse(BTreeMap::from([("plan".to_owned(), "pro".to_owned())])).unwrap(),
        status: UserStatus::Active,
        password_hash: None,
        role_ids: vec![role],
        last_login_at: None,
        created_at: now,
        updated_at: now,
        version: 1,
    }
}

#[tokio::test]
async fn users_round_trip_and_emails_are_unique_per_organization() {
    let storage = testing::fresh_database().await;
    let now = now();
    let (org, roles) = organization("acme", now);
    let ada = user(&org, roles[0].id, "Ada@Example.com", "ada", now);

    let mut tx = storage.begin().await.unwrap();
    tx.insert_organization(&org, &roles).await.unwrap();
    tx.insert_user(&ada).await.unwrap();
    tx.commit().await.unwrap();
    assert!(matches!(tx.count_seats(org.id).await, Err(StoreError::Other(_))), "usable after commit");

    assert_eq!(storage.get_organization(org.id).await.unwrap(), Some(org.clone()));
    let listed_roles = storage.list_roles(org.id).await.unwrap();
    assert_eq!(listed_roles.len(), 3);
    assert!(listed_roles.iter().all(|r| r.builtin));

    let view = storage.get_user(org.id, ada.id).await.unwrap().expect("user found");
    assert_eq!(view.user, ada);
    assert_eq!(view.organization, org.summary());
    assert_eq!(storage.get_user(OrgId::from_uuid(Uuid::now_v7()), ada.id).await.unwrap(), None, "other org");

    let query = |filter: UserFilter| UserQuery { filter, sort: UserSort::EmailAsc, after: None, limit: 10 };
    assert_eq!(storage.list_users(org.id, &query(UserFilter::default())).await.unwrap(), vec![ada.clone()]);
    let by_q = UserFilter { q: Some("LOVE".into()), ..UserFilter::default() };
    assert_eq!(storage.list_users(org.id, &query(by_q)).await.unwrap(), vec![ada.clone()]);
    let wildcard = UserFilter { q: Some("%".into()), ..UserFilter::default() };
    assert_eq!(storage.list_users(org.id, &query(wildcard)).await.unwrap(), vec![]);

    // The new user's row is sent with the transaction's next statement: here the commit.
    let mut tx = storage.begin().await.unwrap();
    let twin = user(&org, roles[2].id, "ada@EXAMPLE.com", "ada2", now);
    tx.insert_user(&twin).await.unwrap();
    assert!(matches!(tx.commit().await, Err(StoreError::Duplicate(Unique::UserEmail))));
    drop(tx);

    let mut tx = storage.begin().await.unwrap();
    let namesake = user(&org, roles[2].id, "other@example.com", "ada", now);
    tx.insert_user(&namesake).await.unwrap();
    assert!(matches!(tx.commit().await, Err(StoreError::Duplicate(Unique::UserUsername))));
    drop(tx);
    assert_eq!(storage.get_user(org.id, namesake.id).await.unwrap(), None, "nothing of a failed commit is kept");

    let mut tx = storage.begin().await.unwrap();
    let (clash, clash_roles) = organization("acme", now);
    assert!(matches!(
        tx.insert_organization(&clash, &clash_roles).await,
        Err(StoreError::Duplicate(Unique::OrganizationSlug))
    ));
}

#[tokio::test]
async fn every_sort_pages_through_all_users_in_byte_order() {
    let storage = testing::fresh_database().await;
    let now = now();
    let (org, roles) = organization("pages", now);
    let names = ["bob", "Émile", "alice", "Zoe", "alice", "zed", "Bob"];
    let mut users = Vec::new();
    let mut tx = storage.begin().await.unwrap();
    tx.insert_organization(&org, &roles).await.unwrap();
    for (i, name) in names.into_iter().enumerate() {
        let mut u = user(&org, roles[2].id, &format!("{name}{i}@Example.com"), &format!("user{i}"), now);
        u.name = DisplayName::parse(name).unwrap();
        u.role_ids = if i % 2 == 0 { vec![roles[0].id, roles[2].id] } else { vec![roles[2].id] };
        u.role_ids.sort();
        tx.insert_user(&u).await.unwrap();
        users.push(u);
    }
    tx.commit().await.unwrap();

    for sort in [
        UserSort::CreatedAsc,
        UserSort::CreatedDesc,
        UserSort::EmailAsc,
        UserSort::EmailDesc,
        UserSort::NameAsc,
        UserSort::NameDesc,
    ] {
        let mut expected = users.clone();
        expected.sort_by_key(|u| (sort.key_of(u), u.id));
        if sort.is_descending() {
            expected.reverse();
        }
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let query = UserQuery { filter: UserFilter::default(), sort, after: after.clone(), limit: 2 };
            let page = storage.list_users(org.id, &query).await.unwrap();
            let Some(last) = page.last() else { break };
            after = Some(UserCursor { key: sort.key_of(last), id: last.id });
            seen.extend(page);
        }
        assert_eq!(seen, expected, "{sort:?}");
    }

    let owners = UserFilter { role_id: Some(roles[0].id), ..UserFilter::default() };
    let query = UserQuery { filter: owners, sort: UserSort::CreatedAsc, after: None, limit: 10 };
    assert_eq!(storage.list_users(org.id, &query).await.unwrap().len(), 4);
    let tagged = UserFilter {
        tag: Some(Tag::parse("math").unwrap()),
        status: Some(UserStatus::Active),
        ..UserFilter::default()
    };
    let query = UserQuery { filter: tagged, sort: UserSort::CreatedAsc, after: None, limit: 10 };
    assert_eq!(storage.list_users(org.id, &query).await.unwrap().len(), 7);
    let by_email = UserFilter { email: Some(Email::parse("ZED5@example.COM").unwrap()), ..UserFilter::default() };
    let query = UserQuery { filter: by_email, sort: UserSort::CreatedAsc, after: None, limit: 10 };
    assert_eq!(storage.list_users(org.id, &query).await.unwrap(), vec![users[5].clone()]);
}

#[tokio::test]
async fn updates_deletes_and_locks() {
    let (storage, url) = testing::fresh_database_with_url().await;
    let now = now();
    let (org, roles) = organization("writes", now);
    let ada = user(&org, roles[2].id, "ada@example.com", "ada", now);
    let bob = user(&org, roles[2].id, "bob@example.com", "bob", now);
    let mut tx = storage.begin().await.unwrap();
    tx.insert_organization(&org, &roles).await.unwrap();
    tx.insert_user(&ada).await.unwrap();
    tx.insert_user(&bob).await.unwrap();
    tx.commit().await.unwrap();

    // Update: roles replaced, columns overwritten; clashes are duplicates.
    let mut tx = storage.begin().await.unwrap();
    let mut changed = tx.user_for_update(org.id, ada.id).await.unwrap().expect("locked");
    assert_eq!(changed, ada);
    changed.role_ids = vec![roles[0].id, roles[1].id];
    changed.role_ids.sort();
    changed.status = UserStatus::Suspended;
    changed.password_hash = Some(PasswordHash::from_phc("$argon2id$v=19$x".into()));
    changed.last_login_at = Some(now);
    changed.version = 2;
    tx.update_user(&changed).await.unwrap();
    assert_eq!(tx.user_for_update(org.id, ada.id).await.unwrap(), Some(changed.clone()));
    let mut clash = changed.clone();
    clash.email = Email::parse("BOB@example.com").unwrap();
    assert!(matches!(tx.update_user(&clash).await, Err(StoreError::Duplicate(Unique::UserEmail))));
    drop(tx);
    let mut tx = storage.begin().await.unwrap();
    tx.update_user(&changed).await.unwrap();
    assert_eq!(tx.count_seats(org.id).await.unwrap(), 2);
    assert!(tx.username_taken(org.id, &Username::parse("bob").unwrap()).await.unwrap());
    tx.commit().await.unwrap();
    assert_eq!(storage.get_user(org.id, ada.id).await.unwrap().unwrap().user, changed);

    // Delete: only live users of the org; frees email and username.
    let mut tx = storage.begin().await.unwrap();
    let stranger = UserId::from_uuid(Uuid::now_v7());
    let deleted = tx.delete_users(org.id, &[bob.id, stranger], now).await.unwrap();
    assert_eq!(deleted, vec![bob.id]);
    assert_eq!(tx.delete_users(org.id, &[bob.id], now).await.unwrap(), vec![]);
    assert_eq!(tx.count_seats(org.id).await.unwrap(), 1);
    assert!(!tx.username_taken(org.id, &Username::parse("bob").unwrap()).await.unwrap());
    assert_eq!(tx.user_for_update(org.id, bob.id).await.unwrap(), None);
    tx.insert_user(&user(&org, roles[2].id, "bob@example.com", "bob", now)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(storage.get_user(org.id, bob.id).await.unwrap(), None);

    // Organization lock: a second writer waits for the first to commit.
    let mut first = storage.begin().await.unwrap();
    let mut locked = first.organization_for_update(org.id).await.unwrap().expect("org");
    let waiter = {
        let storage = storage.clone();
        let id = org.id;
        tokio::spawn(async move {
            let mut second = storage.begin().await.unwrap();
            second.organization_for_update(id).await.unwrap().expect("org")
        })
    };
    wait_until_blocked(&url, &waiter).await;
    locked.name = OrgName::parse("Acme Renamed").unwrap();
    locked.seat_limit = Some(u32::MAX);
    locked.version = 2;
    first.update_organization(&locked).await.unwrap();
    first.commit().await.unwrap();
    assert_eq!(waiter.await.unwrap(), locked, "the waiter reads the committed row");
    assert_eq!(storage.get_organization(org.id).await.unwrap(), Some(locked.clone()));

    // Soft-deleting the organization hides it, its roles and its users.
    let (other, other_roles) = organization("other", now);
    let mut tx = storage.begin().await.unwrap();
    tx.insert_organization(&other, &other_roles).await.unwrap();
    let mut gone = tx.organization_for_update(org.id).await.unwrap().unwrap();
    gone.status = OrgStatus::Deleted;
    tx.update_organization(&gone).await.unwrap();
    assert_eq!(tx.roles_of(org.id).await.unwrap().len(), 3);
    tx.commit().await.unwrap();
    assert_eq!(storage.get_organization(org.id).await.unwrap(), None);
    assert_eq!(storage.list_roles(org.id).await.unwrap(), vec![]);
    assert_eq!(storage.get_user(org.id, ada.id).await.unwrap(), None);
    assert_eq!(storage.list_organizations(None, None, 10).await.unwrap(), vec![other.clone()]);
    assert_eq!(storage.list_organizations(None, Some(other.id), 10).await.unwrap(), vec![]);
    // Its slug is free again.
    let (reuse, reuse_roles) = organization("writes", now);
    let mut tx = storage.begin().await.unwrap();
    tx.insert_organization(&reuse, &reuse_roles).await.unwrap();
    tx.commit().await.unwrap();
    assert!(matches!(tx.commit().await, Err(StoreError::Other(_))), "second commit");
}

/// Waits, on a connection of its own, until a session of the database waits for a lock,
/// checking meanwhile that `waiter` has not finished (it must be the one waiting).
async fn wait_until_blocked<T>(url: &str, waiter: &tokio::task::JoinHandle<T>) {
    let mut observer = <sqlx::PgConnection as sqlx::Connection>::connect(url).await.unwrap();
    loop {
        let blocked: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_stat_activity \
             WHERE datname = current_database() AND wait_event_type = 'Lock')",
        )
        .fetch_one(&mut observer)
        .await
        .unwrap();
        assert!(!waiter.is_finished(), "the lock was not held");
        if blocked {
            return;
        }
        tokio::task::yield_now().await;
    }
}

/// User creations share-lock their organization: they do not wait for each other, but a
/// change to the organization (a seat limit appearing) waits for them, and a creation
/// that comes while a change is under way waits for it and reads what it committed.
#[tokio::test]
async fn organization_share_locks_exclude_changes_but_not_each_other() {
    let url = testing::fresh_database_url().await;
    // Three transactions at once: the test pool, opened before migrating, falls back to
    // two transaction connections; one opened now pipelines its reads and keeps seven.
    let storage = roster_postgres::PostgresStorage::connect(&url, 8).await.unwrap();
    let (org, roles) = organization("locks", now());
    let org = Organization { seat_limit: None, ..org };
    let mut tx = storage.begin().await.unwrap();
    tx.insert_organization(&org, &roles).await.unwrap();
    tx.commit().await.unwrap();

    let mut first = storage.begin().await.unwrap();
    let mut second = storage.begin().await.unwrap();
    assert_eq!(first.organization_for_share(org.id).await.unwrap().unwrap().seat_limit, None);
    assert_eq!(second.organization_for_share(org.id).await.unwrap().unwrap().seat_limit, None, "sharers coexist");
    let change = {
        let storage = storage.clone();
        tokio::spawn(async move {
            let mut tx = storage.begin().await.unwrap();
            let mut changed = tx.organization_for_update(org.id).await.unwrap().unwrap();
            changed.seat_limit = Some(5);
            changed.version += 1;
            tx.update_organization(&changed).await.unwrap();
            tx.commit().await.unwrap();
        })
    };
    wait_until_blocked(&url, &change).await;
    first.commit().await.unwrap();
    second.commit().await.unwrap();
    change.await.unwrap();

    // A change under way holds creations back; they then see the committed limit.
    let mut changing = storage.begin().await.unwrap();
    let mut changed = changing.organization_for_update(org.id).await.unwrap().unwrap();
    let creation = {
        let storage = storage.clone();
        tokio::spawn(async move {
            let mut tx = storage.begin().await.unwrap();
            tx.organization_for_share(org.id).await.unwrap().unwrap().seat_limit
        })
    };
    wait_until_blocked(&url, &creation).await;
    changed.seat_limit = Some(7);
    changed.version += 1;
    changing.update_organization(&changed).await.unwrap();
    changing.commit().await.unwrap();
    assert_eq!(creation.await.unwrap(), Some(7));
}

/// A user written at once (one statement) takes the same shared lock as a creation's
/// transaction: it does not wait for other creations, but one that comes while a change
/// of the organization is under way waits for it, then sees the new version and writes
/// nothing.
#[tokio::test]
async fn a_user_written_at_once_shares_the_creation_lock_and_sees_a_change_it_waited_for() {
    let url = testing::fresh_database_url().await;
    let storage = roster_postgres::PostgresStorage::connect(&url, 8).await.unwrap();
    let (org, roles) = organization("at-once", now());
    let org = Organization { seat_limit: None, ..org };
    let member = roles.iter().find(|r| r.key.as_str() == "member").unwrap().id;
    let mut tx = storage.begin().await.unwrap();
    tx.insert_organization(&org, &roles).await.unwrap();
    tx.commit().await.unwrap();
    let new = |email: &str, username: &str| NewUser {
        user: user(&org, member, email, username, now()),
        audit_events: Vec::new(),
        invitation: None,
        outbox_messages: Vec::new(),
    };

    let mut creating = storage.begin().await.unwrap();
    creating.organization_for_share(org.id).await.unwrap().unwrap();
    let alongside = new("alongside@example.com", "alongside");
    assert!(storage.insert_user_if_unchanged(org.version, &alongside).await.unwrap(), "sharers coexist");
    creating.commit().await.unwrap();

    let mut changing = storage.begin().await.unwrap();
    let mut changed = changing.organization_for_update(org.id).await.unwrap().unwrap();
    let waiting = new("waiting@example.com", "waiting");
    let write = {
        let (storage, waiting) = (storage.clone(), waiting.clone());
        tokio::spawn(async move { storage.insert_user_if_unchanged(org.version, &waiting).await })
    };
    wait_until_blocked(&url, &write).await;
    changed.version += 1;
    changing.update_organization(&changed).await.unwrap();
    changing.commit().await.unwrap();
    assert!(!write.await.unwrap().unwrap(), "the change it waited for is seen");
    assert_eq!(storage.get_user(org.id, waiting.user.id).await.unwrap(), None);
    assert!(storage.get_user(org.id, alongside.user.id).await.unwrap().is_some());
}

#[tokio::test]
async fn api_keys_are_found_listed_counted_and_revoked() {
    let storage = testing::fresh_database().await;
    let now = now();
    let (org, roles) = organization("keys", now);
    let key = |owner| {
        let secret = NewSecret::generate();
        ApiKey {
            id: ApiKeyId::from_uuid(Uuid::now_v7()),
            owner,
            name: KeyName::parse("ci").unwrap(),
            prefix: secret.display_prefix(),
            digest: secret.digest(),
            scope: None,
            created_by: "test".into(),
            created_at: now,
            expires_at: Some(now + Duration::days(1)),
            revoked_at: None,
            last_used_at: None,
        }
    };
    let platform = key(ApiKeyOwner::Platform);
    let service = key(ApiKeyOwner::Organization(org.id));
    let mut tx = storage.begin().await.unwrap();
    tx.insert_organization(&org, &roles).await.unwrap();
    tx.insert_api_key(&platform).await.unwrap();
    tx.insert_api_key(&service).await.unwrap();
    tx.commit().await.unwrap();

    let found = storage.find_api_key(&platform.digest).await.unwrap().unwrap();
    assert_eq!(found, KeyLookup { key: platform.clone(), org_status: None, org_partner: false });
    let found = storage.find_api_key(&service.digest).await.unwrap().unwrap();
    assert_eq!(found, KeyLookup { key: service.clone(), org_status: Some(OrgStatus::Active), org_partner: false });
    assert_eq!(storage.find_api_key(&SecretDigest::of("nope")).await.unwrap(), None);
    assert_eq!(storage.count_platform_keys().await.unwrap(), 1);
    let services = KeyOwnerFilter::Service;
    assert_eq!(storage.list_api_keys(org.id, services, None, 10).await.unwrap(), vec![service.clone()]);
    assert_eq!(storage.list_api_keys(org.id, services, Some(service.id), 10).await.unwrap(), vec![]);

    let mut tx = storage.begin().await.unwrap();
    assert!(tx.revoke_api_key(org.id, services, service.id, now).await.unwrap());
    assert!(!tx.revoke_api_key(org.id, services, service.id, now).await.unwrap());
    assert!(!tx.revoke_api_key(org.id, services, platform.id, now).await.unwrap(), "not the org's key");
    tx.commit().await.unwrap();
    let revoked = storage.find_api_key(&service.digest).await.unwrap().unwrap();
    assert_eq!(revoked.key.revoked_at, Some(now));
}
