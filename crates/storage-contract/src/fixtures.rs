//! Builders and helpers shared by the contract tests. Everything goes through the ports;
//! nothing here knows an adapter.

use std::collections::BTreeMap;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use roster_domain::api_key::{ApiKey, ApiKeyOwner, NewSecret};
use roster_domain::auth::Principal;
use roster_domain::error::StoreError;
use roster_domain::grant::Grant;
use roster_domain::hashing::{HashingError, PasswordHash, PasswordHasher};
use roster_domain::ids::{ApiKeyId, GrantId, OrgId, RoleId, SessionId, UserId};
use roster_domain::organization::{OrgStatus, Organization};
use roster_domain::permission::{Permission, PermissionSet};
use roster_domain::ports::{KeyOwnerFilter, Storage};
use roster_domain::role::{BuiltinRole, Role, RoleKey};
use roster_domain::service::{Roster, Settings};
use roster_domain::session::Session;
use roster_domain::user::{User, UserCursor, UserFilter, UserQuery, UserSort, UserStatus};
use roster_domain::values::{DisplayName, Email, KeyName, Metadata, OrgName, Password, Slug, Tags, Username};
use uuid::Uuid;

pub(crate) use crate::Store;

/// Now, truncated to the microseconds storage keeps.
pub(crate) fn now() -> DateTime<Utc> {
    let now = Utc::now();
    DateTime::from_timestamp_micros(now.timestamp_micros()).expect("now is representable")
}

/// A fixed instant from RFC 3339 text.
pub(crate) fn at(rfc3339: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(rfc3339).expect("valid RFC 3339 in a fixture").with_timezone(&Utc)
}

fn new_uuid() -> Uuid {
    Uuid::now_v7()
}

/// A fresh organization id.
pub(crate) fn org_id() -> OrgId {
    OrgId::from_uuid(new_uuid())
}

/// A fresh user id.
pub(crate) fn user_id() -> UserId {
    UserId::from_uuid(new_uuid())
}

/// A fresh role id.
pub(crate) fn role_id() -> RoleId {
    RoleId::from_uuid(new_uuid())
}

/// A fresh API key id.
pub(crate) fn key_id() -> ApiKeyId {
    ApiKeyId::from_uuid(new_uuid())
}

/// An organization together with the roles it is inserted with.
#[derive(Clone, Debug)]
pub(crate) struct OrgFixture {
    /// The row.
    pub org: Organization,
    /// Its roles: the three built-ins (owner, admin, member, in that order), then custom ones.
    pub roles: Vec<Role>,
}

impl OrgFixture {
    /// The organization's id.
    pub fn id(&self) -> OrgId {
        self.org.id
    }

    /// The id of the built-in role `which`.
    pub fn role(&self, which: BuiltinRole) -> RoleId {
        self.roles.iter().find(|r| r.builtin && r.key.as_str() == which.key()).expect("built-in role present").id
    }

    /// The owner role's id.
    pub fn owner(&self) -> RoleId {
        self.role(BuiltinRole::Owner)
    }

    /// The admin role's id.
    pub fn admin(&self) -> RoleId {
        self.role(BuiltinRole::Admin)
    }

    /// The member role's id.
    pub fn member(&self) -> RoleId {
        self.role(BuiltinRole::Member)
    }
}

/// A new active organization with only its required fields and the built-in roles; the
/// default role is `member`.
pub(crate) fn new_org(slug: &str) -> OrgFixture {
    let created = now();
    let id = org_id();
    let roles: Vec<Role> =
        BuiltinRole::ALL.into_iter().map(|which| Role::builtin(role_id(), id, which, created)).collect();
    let org = Organization {
        id,
        slug: Slug::parse(slug).expect("valid slug in a fixture"),
        name: OrgName::parse(format!("Org {slug}")).expect("valid name"),
        domain: None,
        description: None,
        logo_url: None,
        icon_url: None,
        parent_id: None,
        partner: false,
        seat_limit: None,
        default_role_id: roles[2].id,
        invitation_ttl: Organization::default_invitation_ttl(),
        default_login_url: None,
        status: OrgStatus::Active,
        created_by: "contract".to_owned(),
        modified_by: "contract".to_owned(),
        created_at: created,
        updated_at: created,
        version: 1,
    };
    OrgFixture { org, roles }
}

/// A custom (non-built-in) role of `org`.
pub(crate) fn custom_role(org: OrgId, key: &str) -> Role {
    Role {
        id: role_id(),
        org_id: org,
        key: RoleKey::parse(key).expect("valid role key"),
        name: format!("Custom {key}"),
        description: format!("The {key} role, with ünïcödé and 'quotes'"),
        builtin: false,
        permissions: PermissionSet::parse(["users.read", "projects.create"]).expect("valid permissions"),
        created_at: at("2024-03-01T10:11:12.654321Z"),
        updated_at: at("2024-03-02T10:11:12.000001Z"),
        version: 1,
    }
}

/// Inserts and commits an organization with its roles.
pub(crate) async fn insert_org(store: &Store, fixture: &OrgFixture) {
    let mut tx = store.begin().await.expect("begin");
    tx.insert_organization(&fixture.org, &fixture.roles).await.expect("insert_organization");
    tx.commit().await.expect("commit");
}

/// A new organization, inserted and committed.
pub(crate) async fn create_org(store: &Store, slug: &str) -> OrgFixture {
    let fixture = new_org(slug);
    insert_org(store, &fixture).await;
    fixture
}

/// Overwrites an organization (read for update first, as the use cases do) and commits.
pub(crate) async fn update_org(store: &Store, org: &Organization) {
    let mut tx = store.begin().await.expect("begin");
    tx.organization_for_update(org.id).await.expect("organization_for_update").expect("organization exists");
    tx.update_organization(org).await.expect("update_organization");
    tx.commit().await.expect("commit");
}

/// Soft-deletes an organization through `update_organization`, as the use case does.
pub(crate) async fn delete_org(store: &Store, fixture: &OrgFixture) {
    let mut org = fixture.org.clone();
    org.status = OrgStatus::Deleted;
    org.version += 1;
    org.updated_at = now();
    update_org(store, &org).await;
}

/// A new active user of `org` holding the member role, with only the required fields.
pub(crate) fn new_user(org: &OrgFixture, email: &str, username: &str, name: &str) -> User {
    let created = now();
    User {
        id: user_id(),
        org_id: org.id(),
        email: Email::parse(email).expect("valid email in a fixture"),
        username: Username::parse(username).expect("valid username in a fixture"),
        name: DisplayName::parse(name).expect("valid name in a fixture"),
        first_name: None,
        last_name: None,
        location: None,
        locale: None,
        tags: Tags::default(),
        metadata: Metadata::default(),
        status: UserStatus::Active,
        password_hash: None,
        role_ids: vec![org.member()],
        last_login_at: None,
        created_at: created,
        updated_at: created,
        version: 1,
    }
}

/// Tags from strings.
pub(crate) fn tags(raw: &[&str]) -> Tags {
    Tags::parse(raw).expect("valid tags in a fixture")
}

/// Metadata from pairs.
pub(crate) fn metadata(pairs: &[(&str, &str)]) -> Metadata {
    let map: BTreeMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
    Metadata::parse(map).expect("valid metadata in a fixture")
}

/// Inserts and commits users, in the order given, in one transaction.
pub(crate) async fn insert_users(store: &Store, users: &[User]) {
    let mut tx = store.begin().await.expect("begin");
    for user in users {
        tx.insert_user(user).await.unwrap_or_else(|e| panic!("insert_user {}: {e:?}", user.email));
    }
    tx.commit().await.expect("commit");
}

/// Inserts `user` and commits, returning the first error: an adapter may report a taken
/// email or username from the insert or, having held the row, from the commit.
pub(crate) async fn try_insert_user(store: &Store, user: &User) -> Result<(), StoreError> {
    let mut tx = store.begin().await.expect("begin");
    tx.insert_user(user).await?;
    tx.commit().await
}

/// Overwrites a user (read for update first, as the use cases do) and commits.
pub(crate) async fn update_user(store: &Store, user: &User) {
    let mut tx = store.begin().await.expect("begin");
    tx.user_for_update(user.org_id, user.id).await.expect("user_for_update").expect("user exists");
    tx.update_user(user).await.expect("update_user");
    tx.commit().await.expect("commit");
}

/// Soft-deletes users in one committed transaction, returning what the port reported.
pub(crate) async fn delete_users(store: &Store, org: OrgId, ids: &[UserId]) -> Vec<UserId> {
    let mut tx = store.begin().await.expect("begin");
    let deleted = tx.delete_users(org, ids, now()).await.expect("delete_users");
    tx.commit().await.expect("commit");
    deleted
}

/// The seats `org` uses, read in a transaction that is then dropped.
pub(crate) async fn count_seats(store: &Store, org: OrgId) -> u64 {
    let mut tx = store.begin().await.expect("begin");
    tx.count_seats(org).await.expect("count_seats")
}

/// `user` with its role ids sorted, for comparisons that do not care about their order.
pub(crate) fn canonical(mut user: User) -> User {
    user.role_ids.sort();
    user
}

/// Asserts two users are the same row: every field equal (roles as a set), the email's
/// original spelling included (`Email` itself compares case-insensitively).
#[track_caller]
pub(crate) fn assert_same_user(actual: &User, expected: &User) {
    assert_eq!(canonical(actual.clone()), canonical(expected.clone()), "user {} differs", expected.email);
    assert_eq!(actual.email.as_str(), expected.email.as_str(), "email spelling of user {}", expected.id);
    assert_eq!(
        actual.password_hash.as_ref().map(PasswordHash::as_phc),
        expected.password_hash.as_ref().map(PasswordHash::as_phc),
        "password hash of user {}",
        expected.email
    );
}

/// The ids of `users`, in order.
pub(crate) fn ids(users: &[User]) -> Vec<UserId> {
    users.iter().map(|u| u.id).collect()
}

/// A query for the first page of `org`'s users.
pub(crate) fn query(filter: UserFilter, sort: UserSort, limit: u32) -> UserQuery {
    UserQuery { filter, sort, after: None, limit }
}

/// The first `limit` users matching `filter` in `sort` order.
pub(crate) async fn list(store: &Store, org: OrgId, filter: UserFilter, sort: UserSort, limit: u32) -> Vec<User> {
    store.list_users(org, &query(filter, sort, limit)).await.expect("list_users")
}

/// The ids of every user matching `filter`, in the default order, in one big page.
pub(crate) async fn list_ids(store: &Store, org: OrgId, filter: UserFilter) -> Vec<UserId> {
    ids(&list(store, org, filter, UserSort::CreatedAsc, 1000).await)
}

/// The order the contract prescribes for `sort`: the sort key (byte order) then the id,
/// reversed as a whole for descending sorts.
pub(crate) fn expected_order(users: &[User], sort: UserSort) -> Vec<User> {
    let mut sorted = users.to_vec();
    sorted.sort_by_key(|u| (sort.key_of(u), u.id));
    if sort.is_descending() {
        sorted.reverse();
    }
    sorted
}

/// Walks every page of a list with keyset cursors, asserting each page respects `limit`.
pub(crate) async fn walk_pages(
    store: &Store,
    org: OrgId,
    filter: &UserFilter,
    sort: UserSort,
    limit: u32,
) -> Vec<User> {
    let mut all = Vec::new();
    let mut after: Option<UserCursor> = None;
    for _ in 0..1000 {
        let query = UserQuery { filter: filter.clone(), sort, after: after.clone(), limit };
        let page = store.list_users(org, &query).await.expect("list_users page");
        assert!(page.len() <= limit as usize, "a page of {} rows exceeds the limit {limit}", page.len());
        let full = page.len() == limit as usize;
        after = page.last().map(|last| UserCursor { key: sort.key_of(last), id: last.id });
        all.extend(page);
        if !full {
            return all;
        }
    }
    panic!("pagination did not end after 1000 pages ({sort:?})");
}

/// A new, unrevoked API key for `owner` with its secret's digest.
pub(crate) fn new_key(owner: ApiKeyOwner, name: &str) -> ApiKey {
    let secret = NewSecret::generate();
    ApiKey {
        id: key_id(),
        owner,
        name: KeyName::parse(name).expect("valid key name"),
        prefix: secret.display_prefix(),
        digest: secret.digest(),
        scope: None,
        created_by: "contract".to_owned(),
        created_at: now(),
        expires_at: None,
        revoked_at: None,
        last_used_at: None,
    }
}

/// Inserts and commits API keys.
pub(crate) async fn insert_keys(store: &Store, keys: &[ApiKey]) {
    let mut tx = store.begin().await.expect("begin");
    for key in keys {
        tx.insert_api_key(key).await.expect("insert_api_key");
    }
    tx.commit().await.expect("commit");
}

/// Revokes a key in a committed transaction, returning what the port reported.
pub(crate) async fn revoke(store: &Store, org: OrgId, id: ApiKeyId, when: DateTime<Utc>) -> bool {
    let mut tx = store.begin().await.expect("begin");
    let revoked = tx.revoke_api_key(org, KeyOwnerFilter::Service, id, when).await.expect("revoke_api_key");
    tx.commit().await.expect("commit");
    revoked
}

/// A new personal key of `user`, unscoped.
pub(crate) fn new_personal_key(user: &User, name: &str) -> ApiKey {
    new_key(ApiKeyOwner::User(user.org_id, user.id), name)
}

/// A permission set from names.
pub(crate) fn permissions(names: &[&str]) -> PermissionSet {
    PermissionSet::parse(names).expect("valid permissions in a fixture")
}

/// A new custom role of `org` granting `names`.
pub(crate) fn role_granting(org: OrgId, key: &str, names: &[&str]) -> Role {
    Role { permissions: permissions(names), ..custom_role(org, key) }
}

/// Inserts and commits custom roles.
pub(crate) async fn insert_roles(store: &Store, roles: &[Role]) {
    let mut tx = store.begin().await.expect("begin");
    for role in roles {
        tx.insert_role(role).await.unwrap_or_else(|e| panic!("insert_role {}: {e:?}", role.key));
    }
    tx.commit().await.expect("commit");
}

/// A new direct grant of `permission` to `user`, never expiring.
pub(crate) fn new_grant(user: &User, permission: &str) -> Grant {
    let created = now();
    Grant {
        id: GrantId::from_uuid(new_uuid()),
        org_id: user.org_id,
        user_id: user.id,
        permission: Permission::parse(permission).expect("valid permission in a fixture"),
        expires_at: None,
        created_by: "contract".to_owned(),
        created_at: created,
        updated_at: created,
        version: 1,
    }
}

/// Inserts and commits grants.
pub(crate) async fn insert_grants(store: &Store, grants: &[Grant]) {
    let mut tx = store.begin().await.expect("begin");
    for grant in grants {
        tx.insert_grant(grant).await.unwrap_or_else(|e| panic!("insert_grant {}: {e:?}", grant.permission));
    }
    tx.commit().await.expect("commit");
}

/// A new live session of `user`, expiring in a day, with its token's digest.
pub(crate) fn new_session(user: &User) -> Session {
    let created = now();
    Session {
        id: SessionId::from_uuid(new_uuid()),
        org_id: user.org_id,
        user_id: user.id,
        digest: NewSecret::generate_session().digest(),
        client_ip: None,
        created_at: created,
        expires_at: created + days(1),
        revoked_at: None,
        last_used_at: None,
    }
}

/// Inserts and commits sessions.
pub(crate) async fn insert_sessions(store: &Store, sessions: &[Session]) {
    let mut tx = store.begin().await.expect("begin");
    for session in sessions {
        tx.insert_session(session).await.expect("insert_session");
    }
    tx.commit().await.expect("commit");
}

/// The store as the use cases take it.
pub(crate) fn as_storage(store: &Store) -> Arc<dyn Storage> {
    Arc::clone(store) as Arc<dyn Storage>
}

/// A password hasher for tests: no real hashing, instant.
#[derive(Debug)]
pub(crate) struct PlainHasher;

#[async_trait]
impl PasswordHasher for PlainHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashingError> {
        Ok(PasswordHash::from_phc(format!("plain${}", password.expose())))
    }

    async fn verify(&self, candidate: &str, hash: &PasswordHash) -> bool {
        hash.as_phc().strip_prefix("plain$") == Some(candidate)
    }
}

/// The use cases over `store`, with a platform principal made the way the operator CLI
/// makes one (a platform key, then authentication with its secret).
pub(crate) async fn roster_with_platform(store: &Store) -> (Arc<Roster>, Principal) {
    let roster = Roster::new(as_storage(store), Arc::new(PlainHasher), Settings::default());
    let (_key, secret) = roster.create_platform_key("contract").await.expect("create_platform_key");
    let principal = roster.authenticate(secret.expose()).await.expect("the platform key authenticates");
    assert!(principal.is_platform());
    (Arc::new(roster), principal)
}

/// A one-day duration, for readability.
pub(crate) fn days(n: i64) -> Duration {
    Duration::days(n)
}
