//! Embedding Roster's domain with storage of your choice: the domain does no I/O, so the
//! embedder brings the ports. Here: a tiny in-memory [`Storage`] whose transactions buffer
//! their writes and apply them on commit, enforcing the unique slug / email / username /
//! role key / grant rules, and a [`PasswordHasher`] running argon2id inline (a server
//! would use a blocking thread pool, and the SQLite or PostgreSQL adapter). Emails are
//! only queued (the transactional outbox): delivering them is the embedder's job (the
//! `roster` binary's mail worker does it through the `Outbox` port), so the demo reads an
//! invitation link straight from the queue.
//! `cargo run -p roster-domain --example embedded`
#![allow(clippy::print_stdout)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::{DateTime, Duration, Utc};
use roster_domain::api_key::{ApiKey, ApiKeyOwner, SecretDigest};
use roster_domain::audit::{AuditEvent, AuditQuery};
use roster_domain::error::{StoreError, Unique};
use roster_domain::grant::Grant;
use roster_domain::hashing::{Argon2id, HashingError, PasswordHash, PasswordHasher};
use roster_domain::ids::{ApiKeyId, GrantId, InvitationId, OrgId, RoleId, SessionId, UserId};
use roster_domain::invitation::{Invitation, InvitationQuery, InvitationStatus};
use roster_domain::organization::{OrgStatus, Organization};
use roster_domain::organization_input::{CreateOrganizationInput, UpdateOrganizationInput};
use roster_domain::outbox::{Mail, OutboxMessage};
use roster_domain::ports::{
    ApiKeyReads, ApiKeyWrites, AuditReads, AuditWrites, InvitationReads, InvitationWrites, KeyLookup, KeyOwnerFilter,
    OrganizationReads, OrganizationWrites, RoleRef, SessionLookup, Storage, Transaction, UserAccess, UserReads,
    UserWrites,
};
use roster_domain::role::Role;
use roster_domain::service::{
    AcceptInvitationInput, CreateRoleInput, ListAuditInput, ListInvitationsInput, LoginInput, Roster, Settings,
};
use roster_domain::session::{Session, ThrottleState};
use roster_domain::user::{User, UserQuery, UserStatus, UserView};
use roster_domain::user_input::{CreateUserInput, ListUsersInput, UpdateUserInput};
use roster_domain::values::{Email, Password, Slug, Username};

/// Everything committed so far.
#[derive(Clone, Default)]
struct Data {
    orgs: HashMap<OrgId, Organization>,
    roles: HashMap<RoleId, Role>,
    users: HashMap<UserId, User>,
    keys: HashMap<ApiKeyId, ApiKey>,
    grants: HashMap<GrantId, Grant>,
    sessions: HashMap<SessionId, Session>,
    throttle: HashMap<String, ThrottleState>,
    audit: Vec<AuditEvent>,
    /// Stored without the user's email and roles, which reads join in (as SQL does).
    invitations: HashMap<InvitationId, Invitation>,
    outbox: Vec<OutboxMessage>,
}

/// A buffered write, applied on commit.
enum Write {
    Org(Organization),
    Role(Role),
    DeleteRole(RoleId),
    User(User),
    Key(ApiKey),
    Grant(Grant),
    DeleteGrant(GrantId),
    Session(Session),
    Throttle(String, Option<ThrottleState>),
    Audit(AuditEvent),
    Invitation(Invitation),
    Mail(OutboxMessage),
}

impl Data {
    fn org(&self, id: OrgId) -> Option<&Organization> {
        self.orgs.get(&id).filter(|o| o.status == OrgStatus::Active)
    }

    fn roles_of(&self, org: OrgId) -> Vec<Role> {
        let mut roles: Vec<Role> = self.roles.values().filter(|r| r.org_id == org).cloned().collect();
        roles.sort_by(|a, b| b.builtin.cmp(&a.builtin).then_with(|| a.key.as_str().cmp(b.key.as_str())));
        roles
    }

    fn live_users(&self, org: OrgId) -> impl Iterator<Item = &User> {
        self.users.values().filter(move |u| u.org_id == org && u.status != UserStatus::Deleted)
    }

    fn holders(&self, org: OrgId, role: RoleId) -> impl Iterator<Item = &User> {
        self.live_users(org).filter(move |u| u.role_ids.contains(&role))
    }

    /// An invitation with its user's email and roles (soft-deleted users are still there).
    fn joined(&self, inv: &Invitation) -> Option<Invitation> {
        let user = self.users.get(&inv.user_id)?;
        Some(Invitation { email: user.email.clone(), role_ids: user.role_ids.clone(), ..inv.clone() })
    }

    fn invitation(&self, org: OrgId, id: InvitationId) -> Option<Invitation> {
        self.invitations.get(&id).filter(|i| i.org_id == org).and_then(|i| self.joined(i))
    }

    /// The uniqueness rules a database would enforce with constraints.
    fn check(&self, write: &Write) -> Result<(), StoreError> {
        let clash = match write {
            Write::Org(org) if org.status == OrgStatus::Active => self
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
            Write::Role(r) => self
                .roles
                .values()
                .any(|o| o.id != r.id && o.org_id == r.org_id && o.key == r.key)
                .then_some(Unique::RoleKey),
            Write::Grant(g) => self
                .grants
                .values()
                .any(|o| o.id != g.id && o.user_id == g.user_id && o.permission == g.permission)
                .then_some(Unique::GrantPermission),
            _ => None,
        };
        clash.map_or(Ok(()), |unique| Err(StoreError::Duplicate(unique)))
    }

    fn apply(&mut self, write: Write) -> Result<(), StoreError> {
        self.check(&write)?;
        match write {
            Write::Org(org) => drop(self.orgs.insert(org.id, org)),
            Write::Role(role) => drop(self.roles.insert(role.id, role)),
            Write::DeleteRole(id) => drop(self.roles.remove(&id)),
            Write::User(user) => drop(self.users.insert(user.id, user)),
            Write::Key(key) => drop(self.keys.insert(key.id, key)),
            Write::Grant(grant) => drop(self.grants.insert(grant.id, grant)),
            Write::DeleteGrant(id) => drop(self.grants.remove(&id)),
            Write::Session(session) => drop(self.sessions.insert(session.id, session)),
            Write::Throttle(key, Some(state)) => drop(self.throttle.insert(key, state)),
            Write::Throttle(key, None) => drop(self.throttle.remove(&key)),
            Write::Audit(event) => self.audit.push(event),
            Write::Invitation(inv) => drop(self.invitations.insert(inv.id, inv)),
            Write::Mail(message) => self.outbox.push(message),
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
    async fn get_organization_by_slug(&self, slug: &Slug) -> Result<Option<Organization>, StoreError> {
        Ok(self.read(|d| d.orgs.values().find(|o| o.status == OrgStatus::Active && o.slug == *slug).cloned()))
    }
    async fn list_organizations(
        &self,
        within: Option<OrgId>,
        after: Option<OrgId>,
        limit: u32,
    ) -> Result<Vec<Organization>, StoreError> {
        let reached = |o: &&Organization| within.is_none_or(|w| o.id == w || o.parent_id == Some(w));
        let orgs =
            self.read(|d| d.orgs.values().filter(|o| o.status == OrgStatus::Active).filter(reached).cloned().collect());
        Ok(page(orgs, |o| o.id, after, limit))
    }
    async fn list_roles(&self, org: OrgId) -> Result<Vec<Role>, StoreError> {
        Ok(self.read(|d| if d.org(org).is_some() { d.roles_of(org) } else { Vec::new() }))
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

    async fn user_by_email(&self, org: OrgId, email: &Email) -> Result<Option<User>, StoreError> {
        Ok(self.read(|d| d.live_users(org).find(|u| u.email == *email).cloned()))
    }

    async fn user_access(&self, org: OrgId, ids: &[UserId], now: DateTime<Utc>) -> Result<Vec<UserAccess>, StoreError> {
        Ok(self.read(|d| {
            d.live_users(org)
                .filter(|u| ids.contains(&u.id))
                .map(|u| {
                    let roles: Vec<&Role> = u.role_ids.iter().filter_map(|id| d.roles.get(id)).collect();
                    let from_roles = roles.iter().filter(|r| !r.builtin).flat_map(|r| r.permissions.names());
                    let from_grants = d
                        .grants
                        .values()
                        .filter(|g| g.user_id == u.id && g.is_active_at(now))
                        .map(|g| g.permission.to_string());
                    UserAccess {
                        user_id: u.id,
                        status: u.status,
                        roles: roles
                            .iter()
                            .map(|r| RoleRef { id: r.id, key: r.key.to_string(), builtin: r.builtin })
                            .collect(),
                        permissions: from_roles.chain(from_grants).collect(),
                    }
                })
                .collect()
        }))
    }

    async fn list_grants(&self, org: OrgId, user: UserId) -> Result<Vec<Grant>, StoreError> {
        let mut grants: Vec<Grant> =
            self.read(|d| d.grants.values().filter(|g| g.org_id == org && g.user_id == user).cloned().collect());
        grants.sort_by(|a, b| a.permission.cmp(&b.permission));
        Ok(grants)
    }
}

#[async_trait]
impl ApiKeyReads for MemoryStorage {
    async fn find_api_key(&self, digest: &SecretDigest) -> Result<Option<KeyLookup>, StoreError> {
        Ok(self.read(|d| {
            let key = d.keys.values().find(|k| k.digest == *digest)?.clone();
            let org = key.owner.org_id().and_then(|id| d.orgs.get(&id));
            let org_status = key.owner.org_id().map(|_| org.map_or(OrgStatus::Deleted, |o| o.status));
            Some(KeyLookup { key, org_status, org_partner: org.is_some_and(|o| o.partner) })
        }))
    }
    async fn list_api_keys(
        &self,
        org: OrgId,
        owner: KeyOwnerFilter,
        after: Option<ApiKeyId>,
        limit: u32,
    ) -> Result<Vec<ApiKey>, StoreError> {
        let wanted = match owner {
            KeyOwnerFilter::Service => ApiKeyOwner::Organization(org),
            KeyOwnerFilter::User(user) => ApiKeyOwner::User(org, user),
        };
        let keys = self.read(|d| d.keys.values().filter(|k| k.owner == wanted).cloned().collect());
        Ok(page(keys, |k| k.id, after, limit))
    }
    async fn find_session(&self, digest: &SecretDigest) -> Result<Option<SessionLookup>, StoreError> {
        Ok(self.read(|d| {
            let session = d.sessions.values().find(|s| s.digest == *digest)?.clone();
            let org = d.orgs.get(&session.org_id);
            Some(SessionLookup {
                session,
                org_status: org.map(|o| o.status),
                org_partner: org.is_some_and(|o| o.partner),
            })
        }))
    }
    async fn list_sessions(
        &self,
        org: OrgId,
        user: UserId,
        now: DateTime<Utc>,
        after: Option<SessionId>,
        limit: u32,
    ) -> Result<Vec<Session>, StoreError> {
        let live = |s: &&Session| s.org_id == org && s.user_id == user && s.is_usable_at(now);
        let sessions = self.read(|d| d.sessions.values().filter(live).cloned().collect());
        Ok(page(sessions, |s| s.id, after, limit))
    }
    async fn login_throttle(&self, keys: &[String]) -> Result<Vec<(String, ThrottleState)>, StoreError> {
        Ok(self.read(|d| keys.iter().filter_map(|k| Some((k.clone(), d.throttle.get(k)?.clone()))).collect()))
    }
    async fn count_platform_keys(&self) -> Result<u64, StoreError> {
        let live = |k: &&ApiKey| k.owner == ApiKeyOwner::Platform && k.revoked_at.is_none();
        Ok(self.read(|d| d.keys.values().filter(live).count()) as u64)
    }
}

#[async_trait]
impl AuditReads for MemoryStorage {
    async fn list_audit_events(&self, org: OrgId, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        let matches = |e: &&AuditEvent| {
            e.org_id == org
                && query.actor.as_ref().is_none_or(|a| *a == e.actor)
                && query.action.as_ref().is_none_or(|a| *a == e.action)
                && query.target_id.as_ref().is_none_or(|t| *t == e.target_id)
                && query.since.is_none_or(|t| e.occurred_at >= t)
                && query.until.is_none_or(|t| e.occurred_at < t)
                && query.before.is_none_or(|b| e.id < b)
        };
        let mut events: Vec<AuditEvent> = self.read(|d| d.audit.iter().filter(matches).cloned().collect());
        events.sort_by_key(|e| std::cmp::Reverse(e.id));
        events.truncate(query.limit as usize);
        Ok(events)
    }
}

#[async_trait]
impl InvitationReads for MemoryStorage {
    async fn get_invitation(&self, org: OrgId, id: InvitationId) -> Result<Option<Invitation>, StoreError> {
        Ok(self.read(|d| d.invitation(org, id)))
    }
    async fn list_invitations(&self, org: OrgId, query: &InvitationQuery) -> Result<Vec<Invitation>, StoreError> {
        // `status_at` is the rule the SQL adapters spell out: expired = pending past expiry.
        let wanted = |i: &&Invitation| i.org_id == org && query.status.is_none_or(|s| i.status_at(query.now) == s);
        let invitations = self.read(|d| d.invitations.values().filter(wanted).filter_map(|i| d.joined(i)).collect());
        Ok(page(invitations, |i| i.id, query.after, query.limit))
    }
    async fn find_invitation(&self, digest: &SecretDigest) -> Result<Option<Invitation>, StoreError> {
        Ok(self.read(|d| d.invitations.values().find(|i| i.digest == *digest).and_then(|i| d.joined(i))))
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

    /// The invitation as this transaction last wrote it, if it did.
    fn staged_invitation(&self, id: InvitationId) -> Option<Invitation> {
        self.writes.iter().rev().find_map(|w| match w {
            Write::Invitation(inv) if inv.id == id => Some(inv.clone()),
            _ => None,
        })
    }
}

#[async_trait]
impl OrganizationWrites for MemoryTx {
    async fn insert_organization(&mut self, org: &Organization, roles: &[Role]) -> Result<(), StoreError> {
        self.stage(Write::Org(org.clone()))?;
        for role in roles {
            self.stage(Write::Role(role.clone()))?;
        }
        Ok(())
    }
    async fn organization_for_update(&mut self, id: OrgId) -> Result<Option<Organization>, StoreError> {
        Ok(self.storage.read(|d| d.org(id).cloned()))
    }
    async fn update_organization(&mut self, org: &Organization) -> Result<(), StoreError> {
        self.stage(Write::Org(org.clone()))
    }
    async fn roles_of(&mut self, org: OrgId) -> Result<Vec<Role>, StoreError> {
        Ok(self.storage.read(|d| d.roles_of(org)))
    }
    async fn insert_role(&mut self, role: &Role) -> Result<(), StoreError> {
        self.stage(Write::Role(role.clone()))
    }
    async fn role_for_update(&mut self, org: OrgId, id: RoleId) -> Result<Option<Role>, StoreError> {
        Ok(self.storage.read(|d| d.roles.get(&id).filter(|r| r.org_id == org).cloned()))
    }
    async fn update_role(&mut self, role: &Role) -> Result<(), StoreError> {
        self.stage(Write::Role(role.clone()))
    }
    async fn count_role_holders(&mut self, org: OrgId, role: RoleId) -> Result<u64, StoreError> {
        Ok(self.storage.read(|d| d.holders(org, role).count()) as u64)
    }
    async fn reassign_role(
        &mut self,
        org: OrgId,
        from: RoleId,
        to: RoleId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let holders: Vec<User> = self.storage.read(|d| d.holders(org, from).cloned().collect());
        for mut user in holders {
            user.role_ids.retain(|r| *r != from && *r != to);
            user.role_ids.push(to);
            user.version += 1;
            user.updated_at = at;
            self.writes.push(Write::User(user));
        }
        Ok(())
    }
    async fn delete_role(&mut self, _org: OrgId, id: RoleId) -> Result<(), StoreError> {
        self.writes.push(Write::DeleteRole(id));
        Ok(())
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
        let deleted: Vec<UserId> = doomed.iter().map(|u| u.id).collect();
        self.writes
            .extend(doomed.into_iter().map(|u| Write::User(User { status: UserStatus::Deleted, updated_at: at, ..u })));
        // A deleted user's pending invitation is revoked with it (its link stops working).
        let theirs: Vec<Invitation> = self.storage.read(|d| {
            d.invitations.values().filter(|i| i.org_id == org && deleted.contains(&i.user_id)).cloned().collect()
        });
        for inv in theirs {
            let current = self.staged_invitation(inv.id).unwrap_or(inv);
            if current.status == InvitationStatus::Pending {
                self.writes.push(Write::Invitation(Invitation {
                    status: InvitationStatus::Revoked,
                    revoked_at: Some(at),
                    updated_at: at,
                    version: current.version + 1,
                    ..current
                }));
            }
        }
        Ok(deleted)
    }
    async fn count_active_owners(
        &mut self,
        org: OrgId,
        owner_role: RoleId,
        excluding: &[UserId],
    ) -> Result<u64, StoreError> {
        let counts = |u: &&User| u.status == UserStatus::Active && !excluding.contains(&u.id);
        Ok(self.storage.read(|d| d.holders(org, owner_role).filter(counts).count()) as u64)
    }
    async fn insert_grant(&mut self, grant: &Grant) -> Result<(), StoreError> {
        self.stage(Write::Grant(grant.clone()))
    }
    async fn grant_for_update(&mut self, org: OrgId, user: UserId, id: GrantId) -> Result<Option<Grant>, StoreError> {
        Ok(self.storage.read(|d| d.grants.get(&id).filter(|g| g.org_id == org && g.user_id == user).cloned()))
    }
    async fn update_grant(&mut self, grant: &Grant) -> Result<(), StoreError> {
        self.stage(Write::Grant(grant.clone()))
    }
    async fn delete_grant(&mut self, _org: OrgId, id: GrantId) -> Result<(), StoreError> {
        self.writes.push(Write::DeleteGrant(id));
        Ok(())
    }
}

#[async_trait]
impl ApiKeyWrites for MemoryTx {
    async fn insert_api_key(&mut self, key: &ApiKey) -> Result<(), StoreError> {
        self.stage(Write::Key(key.clone()))
    }
    async fn revoke_api_key(
        &mut self,
        org: OrgId,
        owner: KeyOwnerFilter,
        id: ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let wanted = match owner {
            KeyOwnerFilter::Service => ApiKeyOwner::Organization(org),
            KeyOwnerFilter::User(user) => ApiKeyOwner::User(org, user),
        };
        let live = |k: &&ApiKey| k.owner == wanted && k.revoked_at.is_none();
        let key = self.storage.read(|d| d.keys.get(&id).filter(live).cloned());
        let found = key.is_some();
        self.writes.extend(key.map(|k| Write::Key(ApiKey { revoked_at: Some(at), ..k })));
        Ok(found)
    }
    async fn touch_api_key(&mut self, _org: Option<OrgId>, id: ApiKeyId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let key = self.storage.read(|d| d.keys.get(&id).cloned());
        self.writes.extend(key.map(|k| Write::Key(ApiKey { last_used_at: Some(at), ..k })));
        Ok(())
    }
    async fn insert_session(&mut self, session: &Session) -> Result<(), StoreError> {
        self.stage(Write::Session(session.clone()))
    }
    async fn revoke_session(
        &mut self,
        org: OrgId,
        user: UserId,
        id: SessionId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let live = |s: &&Session| s.org_id == org && s.user_id == user && s.revoked_at.is_none();
        let session = self.storage.read(|d| d.sessions.get(&id).filter(live).cloned());
        let found = session.is_some();
        self.writes.extend(session.map(|s| Write::Session(Session { revoked_at: Some(at), ..s })));
        Ok(found)
    }
    async fn revoke_user_sessions(&mut self, org: OrgId, user: UserId, at: DateTime<Utc>) -> Result<u64, StoreError> {
        let live: Vec<Session> = self.storage.read(|d| {
            d.sessions
                .values()
                .filter(|s| s.org_id == org && s.user_id == user && s.revoked_at.is_none())
                .cloned()
                .collect()
        });
        let count = live.len() as u64;
        self.writes.extend(live.into_iter().map(|s| Write::Session(Session { revoked_at: Some(at), ..s })));
        Ok(count)
    }
    async fn touch_session(&mut self, _org: OrgId, id: SessionId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let session = self.storage.read(|d| d.sessions.get(&id).cloned());
        self.writes.extend(session.map(|s| Write::Session(Session { last_used_at: Some(at), ..s })));
        Ok(())
    }
    async fn record_login_failure(
        &mut self,
        key: &str,
        now: DateTime<Utc>,
        window: Duration,
    ) -> Result<u32, StoreError> {
        let state = self.storage.read(|d| d.throttle.get(key).cloned());
        let mut state = state.unwrap_or(ThrottleState { failures: 0, locked_until: None });
        // The toy keeps no failure times: a lock older than the window starts afresh.
        if state.locked_until.is_some_and(|until| until + window < now) {
            state = ThrottleState { failures: 0, locked_until: None };
        }
        state.failures += 1;
        let failures = state.failures;
        self.writes.push(Write::Throttle(key.to_owned(), Some(state)));
        Ok(failures)
    }
    async fn lock_login(&mut self, key: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
        let failures = self.storage.read(|d| d.throttle.get(key).map_or(0, |s| s.failures));
        self.writes.push(Write::Throttle(key.to_owned(), Some(ThrottleState { failures, locked_until: Some(until) })));
        Ok(())
    }
    async fn clear_login_failures(&mut self, key: &str) -> Result<(), StoreError> {
        self.writes.push(Write::Throttle(key.to_owned(), None));
        Ok(())
    }
}

#[async_trait]
impl AuditWrites for MemoryTx {
    async fn insert_audit_event(&mut self, event: &AuditEvent) -> Result<(), StoreError> {
        self.writes.push(Write::Audit(event.clone()));
        Ok(())
    }
}

#[async_trait]
impl InvitationWrites for MemoryTx {
    async fn insert_invitation(&mut self, invitation: &Invitation) -> Result<(), StoreError> {
        self.stage(Write::Invitation(invitation.clone()))
    }
    async fn invitation_for_update(&mut self, org: OrgId, id: InvitationId) -> Result<Option<Invitation>, StoreError> {
        Ok(self.storage.read(|d| d.invitation(org, id)))
    }
    async fn update_invitation(&mut self, invitation: &Invitation) -> Result<(), StoreError> {
        self.stage(Write::Invitation(invitation.clone()))
    }
    async fn insert_outbox_message(&mut self, message: &OutboxMessage) -> Result<(), StoreError> {
        self.stage(Write::Mail(message.clone()))
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
    // Front ends tag every principal with the request's id, so audit events carry it.
    let operator = roster.authenticate(secret.expose()).await?.with_request_id("req-1");
    println!("authenticated as {}", operator.actor());

    let acme = CreateOrganizationInput {
        slug: Some("acme".into()),
        name: Some("Acme Inc.".into()),
        seat_limit: Some(2),
        // Where emails send new users to sign in, when a request names no `login_url`.
        default_login_url: Some("https://acme.example/login".into()),
        ..Default::default()
    };
    let org = roster.create_organization(&operator, acme).await?;
    println!("created organization {} ({}), seat limit {:?}", org.slug, org.id, org.seat_limit);

    let user = |email: &str, name: &str| CreateUserInput {
        email: Some(email.into()),
        name: Some(name.into()),
        ..Default::default()
    };
    let ada = CreateUserInput {
        generate_password: true,
        role: Some("owner".into()),
        ..user("Ada.Lovelace@acme.example", "Ada Lovelace")
    };
    let ada = roster.create_user(&operator, org.id, ada).await?;
    let (u, password) = (&ada.view.user, ada.generated_password.ok_or("no password was generated")?);
    let verifies = hasher.verify(password.expose(), u.password_hash.as_ref().ok_or("no hash")?).await;
    println!("created owner {} <{}>: {}, with a generated password of", u.username, u.email, u.status.as_str());
    println!("  {} chars that verifies against the stored hash: {verifies}", password.expose().len());
    // Queued in the same transaction as the user; the password itself is never printed.
    for message in storage.read(|d| d.outbox.clone()) {
        if let Some(Mail::Credentials { login_url, .. }) = &message.mail {
            println!("  queued a credentials email to {} (sign in at {login_url})", message.recipient);
        }
    }

    // Rule 1: emails are unique per organization, case-insensitively.
    let again = roster.create_user(&operator, org.id, user("ADA.LOVELACE@acme.example", "Ada")).await;
    println!("the same email again: {}", again.err().ok_or("duplicate accepted")?.code());

    // Ada logs in; her session acts with her permissions.
    let login = LoginInput {
        organization: Some("acme".into()),
        email: Some("ada.lovelace@acme.example".into()),
        password: Some(password.expose().to_owned()),
        client_ip: Some("192.0.2.1".into()),
        request_id: Some("embedded-demo".into()),
    };
    let outcome = roster.login(login).await?;
    let ada_session = roster.authenticate(outcome.token.expose()).await?.with_request_id("req-2");
    println!("ada logged in: session {} until {}", outcome.session.id, outcome.session.expires_at);

    let billing = CreateRoleInput {
        key: Some("billing".into()),
        name: Some("Billing".into()),
        description: None,
        permissions: Some(vec!["users.read".into(), "invoices.approve".into()]),
    };
    let billing = roster.create_role(&ada_session, org.id, billing).await?;
    println!("ada created role {} with {:?}", billing.key, billing.permissions.names());

    // No password: Grace is invited. She takes a seat but holds nothing until she accepts.
    let grace =
        CreateUserInput { role_ids: Some(vec![billing.id.to_string()]), ..user("grace@acme.example", "Grace Hopper") };
    let grace = roster.create_user(&ada_session, org.id, grace).await?.view.user;
    let pending = ListInvitationsInput { status: Some("pending".into()), ..Default::default() };
    let invitations = roster.list_invitations(&ada_session, org.id, pending).await?.items;
    let invitation = invitations.first().ok_or("no pending invitation")?;
    println!(
        "invited {} ({}) with role billing, until {}",
        grace.username,
        grace.status.as_str(),
        invitation.expires_at
    );

    // The link in the queued email carries the only copy of the token (storage keeps its hash).
    let link = storage
        .read(|d| {
            d.outbox.iter().find_map(|m| match &m.mail {
                Some(Mail::Invitation { accept_url, .. }) if m.recipient == grace.email => Some(accept_url.clone()),
                _ => None,
            })
        })
        .ok_or("no invitation email was queued")?;
    let token = link.rsplit('/').next().unwrap_or_default().to_owned();
    println!("  queued an invitation email to {} linking to {}<token>", grace.email, &link[..link.len() - token.len()]);
    let accept = |password: &str| AcceptInvitationInput {
        token: token.clone(),
        password: password.into(),
        request_id: Some("req-3".into()),
    };
    let accepted = roster.accept_invitation(accept("correct horse battery staple")).await?;
    let grace = accepted.user.user;
    println!(
        "{} accepted: now {}, sent on to {:?}",
        grace.username,
        grace.status.as_str(),
        accepted.login_url.map(|u| u.to_string())
    );
    // Rule 6: the token is single-use.
    let again = roster.accept_invitation(accept("another long passphrase")).await;
    println!("the same link again: {}", again.err().ok_or("a used token was accepted")?.code());

    // Rule 2: the seat limit holds (invited users take a seat too).
    let alan = roster.create_user(&operator, org.id, user("alan@acme.example", "Alan Turing")).await;
    println!("a third user: {}", alan.err().ok_or("seat limit exceeded")?);

    // Rule 3: the last active owner cannot be suspended.
    let suspend = UpdateUserInput { status: Some("suspended".into()), ..Default::default() };
    let last = roster.update_user(&ada_session, org.id, u.id, suspend, None).await;
    println!("suspending the only owner: {}", last.err().ok_or("the last owner was suspended")?.code());

    // What internal services ask on their hot path.
    let checks =
        [(grace.id.to_string(), "invoices.approve".to_owned()), (grace.id.to_string(), "users.write".to_owned())];
    let answers = roster.check_permissions(&operator, org.id, &checks).await?;
    println!("may grace approve invoices / write users? {answers:?}");

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

    // A deleted invitee's invitation is revoked with them, and the seat is free again.
    let more = UpdateOrganizationInput { seat_limit: Some(Some(3)), ..Default::default() };
    roster.update_organization(&operator, org.id, more, None).await?;
    let alan = roster.create_user(&operator, org.id, user("alan@acme.example", "Alan Turing")).await?.view.user;
    roster.delete_user(&ada_session, org.id, alan.id, None).await?;
    let revoked = ListInvitationsInput { status: Some("revoked".into()), ..Default::default() };
    let revoked = roster.list_invitations(&operator, org.id, revoked).await?.items;
    let emails: Vec<&str> = revoked.iter().map(|i| i.email.as_str()).collect();
    println!("with a third seat, {} was invited then deleted; revoked invitations: {emails:?}", alan.username);

    let audit = roster.list_audit_events(&operator, org.id, ListAuditInput::default()).await?;
    println!("audit trail of {}, newest first:", org.slug);
    for e in &audit.items {
        println!("  {:<22} {:<44} request {}", e.action, e.actor, e.request_id.as_deref().unwrap_or("-"));
    }
    Ok(())
}
