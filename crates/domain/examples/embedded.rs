//! Embedding Roster's domain with storage of your choice: the domain does no I/O, so the
//! embedder brings the ports. Here: a tiny in-memory [`Storage`] whose transactions buffer
//! their writes and apply them on commit, enforcing the unique slug / email / username
//! rules, and a [`PasswordHasher`] running argon2id inline (a server would use a blocking
//! thread pool, and the SQLite or PostgreSQL adapter). `cargo run -p roster-domain --example embedded`
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use roster_domain::api_key::{ApiKey, ApiKeyOwner, SecretDigest};
use roster_domain::error::{StoreError, Unique};
use roster_domain::hashing::{Argon2id, HashingError, PasswordHash, PasswordHasher};
use roster_domain::ids::{ApiKeyId, OrgId, UserId};
use roster_domain::organization::{OrgStatus, Organization};
use roster_domain::organization_input::CreateOrganizationInput;
use roster_domain::ports::{
    ApiKeyReads, ApiKeyWrites, KeyLookup, OrganizationReads, OrganizationWrites, Storage, Transaction, UserReads,
    UserWrites,
};
use roster_domain::role::Role;
use roster_domain::service::{Roster, Settings};
use roster_domain::user::{User, UserQuery, UserStatus, UserView};
use roster_domain::user_input::{CreateUserInput, ListUsersInput};
use roster_domain::values::{Password, Username};

/// Everything committed so far.
#[derive(Clone, Default)]
struct Data {
    orgs: HashMap<OrgId, Organization>,
    roles: HashMap<OrgId, Vec<Role>>,
    users: HashMap<UserId, User>,
    keys: HashMap<ApiKeyId, ApiKey>,
}

/// A buffered write, applied on commit.
enum Write {
    Org(Organization, Option<Vec<Role>>),
    User(User),
    Key(ApiKey),
}

impl Data {
    fn org(&self, id: OrgId) -> Option<&Organization> {
        self.orgs.get(&id).filter(|o| o.status == OrgStatus::Active)
    }

    fn live_users(&self, org: OrgId) -> impl Iterator<Item = &User> {
        self.users.values().filter(move |u| u.org_id == org && u.status != UserStatus::Deleted)
    }

    /// The uniqueness rules a database would enforce with constraints.
    fn check(&self, write: &Write) -> Result<(), StoreError> {
        let clash = match write {
            Write::Org(org, _) if org.status == OrgStatus::Active => self
                .orgs
                .values()
                .any(|o| o.id != org.id && o.status == OrgStatus::Active && o.slug == org.slug)
                .then_some(Unique::OrganizationSlug),
            Write::User(u) if u.status != UserStatus::Deleted => {
                self.live_users(u.org_id).filter(|o| o.id != u.id).find_map(|o| match () {
                    () if o.email == u.email => Some(Unique::UserEmail),
                    () => (o.username == u.username).then_some(Unique::UserUsername),
                })
            }
            _ => None,
        };
        clash.map_or(Ok(()), |unique| Err(StoreError::Duplicate(unique)))
    }

    fn apply(&mut self, write: Write) -> Result<(), StoreError> {
        self.check(&write)?;
        match write {
            Write::Org(org, roles) => {
                self.roles.extend(roles.map(|roles| (org.id, roles)));
                self.orgs.insert(org.id, org);
            }
            Write::User(user) => drop(self.users.insert(user.id, user)),
            Write::Key(key) => drop(self.keys.insert(key.id, key)),
        }
        Ok(())
    }
}

/// One keyset page: items with an id after `after`, in id order.
fn page<T, K: Ord + Copy>(mut items: Vec<T>, id: impl Fn(&T) -> K, after: Option<K>, limit: u32) -> Vec<T> {
    items.sort_by_key(&id);
    items.into_iter().filter(|item| after.is_none_or(|a| id(item) > a)).take(limit as usize).collect()
}

/// The storage adapter: shared state behind one mutex, never held across an await.
#[derive(Clone, Default)]
struct MemoryStorage(Arc<Mutex<Data>>);

impl MemoryStorage {
    fn read<T>(&self, f: impl FnOnce(&Data) -> T) -> T {
        f(&self.0.lock().unwrap_or_else(PoisonError::into_inner))
    }
}

#[async_trait]
impl OrganizationReads for MemoryStorage {
    async fn get_organization(&self, id: OrgId) -> Result<Option<Organization>, StoreError> {
        Ok(self.read(|d| d.org(id).cloned()))
    }
    async fn list_organizations(&self, after: Option<OrgId>, limit: u32) -> Result<Vec<Organization>, StoreError> {
        let orgs = self.read(|d| d.orgs.values().filter(|o| o.status == OrgStatus::Active).cloned().collect());
        Ok(page(orgs, |o| o.id, after, limit))
    }
    async fn list_roles(&self, org: OrgId) -> Result<Vec<Role>, StoreError> {
        Ok(self.read(|d| d.roles.get(&org).cloned().unwrap_or_default()))
    }
}

#[async_trait]
impl UserReads for MemoryStorage {
    async fn get_user(&self, org: OrgId, id: UserId) -> Result<Option<UserView>, StoreError> {
        Ok(self.read(|d| {
            let user = d.live_users(org).find(|u| u.id == id)?.clone();
            Some(UserView { user, organization: d.org(org)?.summary() })
        }))
    }

    /// Creation order only; the filters and other sort orders are left out for brevity.
    async fn list_users(&self, org: OrgId, query: &UserQuery) -> Result<Vec<User>, StoreError> {
        let users = self.read(|d| d.live_users(org).cloned().collect());
        Ok(page(users, |u| u.id, query.after.as_ref().map(|c| c.id), query.limit))
    }
}

#[async_trait]
impl ApiKeyReads for MemoryStorage {
    async fn find_api_key(&self, digest: &SecretDigest) -> Result<Option<KeyLookup>, StoreError> {
        Ok(self.read(|d| {
            let key = d.keys.values().find(|k| k.digest == *digest)?.clone();
            let org_status = key.owner.org_id().map(|id| d.orgs.get(&id).map_or(OrgStatus::Deleted, |o| o.status));
            Some(KeyLookup { key, org_status })
        }))
    }
    async fn list_api_keys(&self, org: OrgId, after: Option<ApiKeyId>, limit: u32) -> Result<Vec<ApiKey>, StoreError> {
        let keys = self.read(|d| d.keys.values().filter(|k| k.owner.org_id() == Some(org)).cloned().collect());
        Ok(page(keys, |k| k.id, after, limit))
    }
    async fn count_platform_keys(&self) -> Result<u64, StoreError> {
        let live = |k: &&ApiKey| k.owner == ApiKeyOwner::Platform && k.revoked_at.is_none();
        Ok(self.read(|d| d.keys.values().filter(live).count()) as u64)
    }
}

#[async_trait]
impl Storage for MemoryStorage {
    async fn begin(&self) -> Result<Box<dyn Transaction>, StoreError> {
        Ok(Box::new(MemoryTx { storage: self.clone(), writes: Vec::new(), committed: false }))
    }
    async fn ping(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// A transaction: reads see committed data, writes wait in `writes` until commit. This
/// toy takes no row locks, so it is only safe for one writer at a time (a real adapter
/// locks in `*_for_update`).
struct MemoryTx {
    storage: MemoryStorage,
    writes: Vec<Write>,
    committed: bool,
}

impl MemoryTx {
    /// Buffers a write, reporting a clash with committed data at once (commit checks again).
    fn stage(&mut self, write: Write) -> Result<(), StoreError> {
        self.storage.read(|d| d.check(&write))?;
        self.writes.push(write);
        Ok(())
    }
}

#[async_trait]
impl OrganizationWrites for MemoryTx {
    async fn insert_organization(&mut self, org: &Organization, roles: &[Role]) -> Result<(), StoreError> {
        self.stage(Write::Org(org.clone(), Some(roles.to_vec())))
    }
    async fn organization_for_update(&mut self, id: OrgId) -> Result<Option<Organization>, StoreError> {
        Ok(self.storage.read(|d| d.org(id).cloned()))
    }
    async fn update_organization(&mut self, org: &Organization) -> Result<(), StoreError> {
        self.stage(Write::Org(org.clone(), None))
    }
    async fn roles_of(&mut self, org: OrgId) -> Result<Vec<Role>, StoreError> {
        self.storage.list_roles(org).await
    }
}

#[async_trait]
impl UserWrites for MemoryTx {
    async fn count_seats(&mut self, org: OrgId) -> Result<u64, StoreError> {
        Ok(self.storage.read(|d| d.live_users(org).count()) as u64)
    }
    async fn username_taken(&mut self, org: OrgId, username: &Username) -> Result<bool, StoreError> {
        Ok(self.storage.read(|d| d.live_users(org).any(|u| u.username == *username)))
    }
    async fn insert_user(&mut self, user: &User) -> Result<(), StoreError> {
        self.stage(Write::User(user.clone()))
    }
    async fn user_for_update(&mut self, org: OrgId, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(self.storage.read(|d| d.live_users(org).find(|u| u.id == id).cloned()))
    }
    async fn update_user(&mut self, user: &User) -> Result<(), StoreError> {
        self.stage(Write::User(user.clone()))
    }
    async fn delete_users(&mut self, org: OrgId, ids: &[UserId], at: DateTime<Utc>) -> Result<Vec<UserId>, StoreError> {
        let doomed: Vec<User> =
            self.storage.read(|d| d.live_users(org).filter(|u| ids.contains(&u.id)).cloned().collect());
        let deleted = doomed.iter().map(|u| u.id).collect();
        self.writes
            .extend(doomed.into_iter().map(|u| Write::User(User { status: UserStatus::Deleted, updated_at: at, ..u })));
        Ok(deleted)
    }
}

#[async_trait]
impl ApiKeyWrites for MemoryTx {
    async fn insert_api_key(&mut self, key: &ApiKey) -> Result<(), StoreError> {
        self.stage(Write::Key(key.clone()))
    }
    async fn revoke_api_key(&mut self, org: OrgId, id: ApiKeyId, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let live = |k: &&ApiKey| k.owner.org_id() == Some(org) && k.revoked_at.is_none();
        let key = self.storage.read(|d| d.keys.get(&id).filter(live).cloned());
        let found = key.is_some();
        self.writes.extend(key.map(|k| Write::Key(ApiKey { revoked_at: Some(at), ..k })));
        Ok(found)
    }
}

#[async_trait]
impl Transaction for MemoryTx {
    /// Applies every buffered write to a copy and swaps it in only if all of them pass
    /// the uniqueness rules, so a transaction lands whole or not at all.
    async fn commit(&mut self) -> Result<(), StoreError> {
        if std::mem::replace(&mut self.committed, true) {
            return Err(StoreError::other(std::io::Error::other("transaction already committed")));
        }
        let mut data = self.storage.0.lock().unwrap_or_else(PoisonError::into_inner);
        let mut next = data.clone();
        for write in self.writes.drain(..) {
            next.apply(write)?;
        }
        *data = next;
        Ok(())
    }
}

/// argon2id on the calling thread: fine for a demo, a server would use a blocking pool.
#[derive(Debug, Default)]
struct InlineArgon2(Argon2id);

#[async_trait]
impl PasswordHasher for InlineArgon2 {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashingError> {
        self.0.hash_blocking(password.expose())
    }
    async fn verify(&self, candidate: &str, hash: &PasswordHash) -> bool {
        self.0.verify_blocking(candidate, hash)
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    futures::executor::block_on(demo())
}

async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    let (storage, hasher) = (MemoryStorage::default(), Arc::new(InlineArgon2::default()));
    let roster = Roster::new(Arc::new(storage.clone()), hasher.clone(), Settings::default());

    // The operator's first key, made once (the `roster` binary does this at start-up).
    let (key, secret) = roster.bootstrap_platform_key().await?.ok_or("storage already had a platform key")?;
    println!("bootstrapped platform key {} ({}…)", key.id, key.prefix);
    assert!(roster.bootstrap_platform_key().await?.is_none(), "bootstrap happens once");
    let operator = roster.authenticate(secret.expose()).await?;
    println!("authenticated as {}", operator.actor());

    let acme = CreateOrganizationInput {
        slug: Some("acme".into()),
        name: Some("Acme Inc.".into()),
        seat_limit: Some(2),
        ..Default::default()
    };
    let org = roster.create_organization(&operator, acme).await?;
    println!("created organization {} ({}), seat limit {:?}", org.slug, org.id, org.seat_limit);

    let user = |email: &str, name: &str| CreateUserInput {
        email: Some(email.into()),
        name: Some(name.into()),
        ..Default::default()
    };
    let ada = CreateUserInput { generate_password: true, ..user("Ada.Lovelace@acme.example", "Ada Lovelace") };
    let ada = roster.create_user(&operator, org.id, ada).await?;
    let (u, password) = (&ada.view.user, ada.generated_password.ok_or("no password was generated")?);
    let verifies = hasher.verify(password.expose(), u.password_hash.as_ref().ok_or("no hash")?).await;
    println!("created {} <{}>: {}, with a generated password of", u.username, u.email, u.status.as_str());
    println!("  {} chars that verifies against the stored hash: {verifies}", password.expose().len());

    // Rule 1: emails are unique per organization, case-insensitively.
    let again = roster.create_user(&operator, org.id, user("ADA.LOVELACE@acme.example", "Ada")).await;
    println!("the same email again: {}", again.err().ok_or("duplicate accepted")?.code());

    let grace = CreateUserInput { role: Some("admin".into()), ..user("grace@acme.example", "Grace Hopper") };
    let grace = roster.create_user(&operator, org.id, grace).await?;
    println!("created {} without a password: {}", grace.view.user.username, grace.view.user.status.as_str());

    // Rule 2: the seat limit holds (invited users take a seat too).
    let alan = roster.create_user(&operator, org.id, user("alan@acme.example", "Alan Turing")).await;
    println!("a third user: {}", alan.err().ok_or("seat limit exceeded")?);

    let roles = storage.list_roles(org.id).await?;
    let page = roster.list_users(&operator, org.id, ListUsersInput::default()).await?;
    println!("{} users in {} (next page: {:?}):", page.items.len(), org.slug, page.next_cursor);
    for u in &page.items {
        let keys: Vec<&str> = roles.iter().filter(|r| u.role_ids.contains(&r.id)).map(|r| r.key.as_str()).collect();
        println!(
            "  {:<13} {:<26} {:<8} roles={}",
            u.username.as_str(),
            u.email.as_str(),
            u.status.as_str(),
            keys.join(",")
        );
    }
    Ok(())
}
