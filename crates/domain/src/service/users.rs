//! User use cases.

use rand::Rng;

use super::audit::details;
use super::{Roster, check_version};
use crate::auth::Principal;
use crate::error::{Error, Resource};
use crate::ids::{OrgId, RoleId, UserId};
use crate::organization::{OrgSummary, Organization};
use crate::page::{Cursor, Page};
use crate::permission::PermissionSet;
use crate::ports::{NewUser, Transaction};
use crate::role::Role;
use crate::user::{User, UserCursor, UserQuery, UserStatus, UserView};
use crate::user_input::{CreateUserInput, Credential, ListUsersInput, RoleChoice, UpdateUserInput, batch_ids};
use crate::validation::{FieldProblem as _, ValidationErrors};
use crate::values::{HttpUrl, Password, Username};

/// How often a generated username is re-rolled when a concurrent request takes it.
const USERNAME_ATTEMPTS: u32 = 5;
/// How many usernames are tried inside one transaction before giving up.
const USERNAME_CANDIDATES: u32 = 20;

/// A created user, with the generated password when one was asked for. The password is
/// shown to the caller once and never stored in clear.
#[derive(Debug)]
pub struct CreatedUser {
    /// The new user and its organization.
    pub view: UserView,
    /// The generated password, when `generate_password` was set.
    pub generated_password: Option<Password>,
}

/// What a batch delete did to one id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchOutcome {
    /// The user was deleted.
    Deleted,
    /// No such user (or already deleted, or not an id).
    NotFound,
}

fn cursor_scope(sort: crate::user::UserSort) -> String {
    format!("users:{}", sort.as_str())
}

/// Rule 4: the roles a request names must be the organization's own.
fn resolve_roles(choice: &RoleChoice, roles: &[Role]) -> Result<Option<Vec<RoleId>>, Error> {
    match choice {
        RoleChoice::Unspecified => Ok(None),
        RoleChoice::Key(key) => roles.iter().find(|r| &r.key == key).map(|r| Some(vec![r.id])).ok_or_else(|| {
            ValidationErrors::single("role", "not_found", format!("no role with key {key:?} in the organization"))
                .into()
        }),
        RoleChoice::Ids(ids) => {
            let mut errors = ValidationErrors::default();
            for (i, id) in ids.iter().enumerate() {
                if !roles.iter().any(|r| r.id == *id) {
                    errors.push(format!("role_ids[{i}]"), "not_found", "no such role in the organization");
                }
            }
            if errors.is_empty() { Ok(Some(ids.clone())) } else { Err(errors.into()) }
        }
    }
}

/// The owner role among an organization's roles.
fn owner_role(roles: &[Role]) -> Option<RoleId> {
    roles.iter().find(|r| r.is_owner()).map(|r| r.id)
}

/// Whether the user counts toward rule 3.
fn is_active_owner(user: &User, owner: Option<RoleId>) -> bool {
    user.status == UserStatus::Active && owner.is_some_and(|o| user.role_ids.contains(&o))
}

/// What holding these roles grants.
fn grants_of(roles: &[Role], ids: &[RoleId]) -> PermissionSet {
    roles.iter().filter(|r| ids.contains(&r.id)).fold(PermissionSet::default(), |acc, r| acc.union(&r.grants()))
}

/// Whether `principal` may assign any role there is (an owner holding every permission),
/// so that rule 5 needs no look at the roles themselves.
fn may_assign_any(principal: &Principal) -> bool {
    principal.is_owner() && principal.permissions().is_all()
}

/// Whether giving a new user its roles needs a look at the organization's roles: not when
/// a caller who may assign anything (a platform key provisioning users, an owner) gives
/// the default role.
fn reads_roles(principal: &Principal, choice: &RoleChoice) -> bool {
    !(matches!(choice, RoleChoice::Unspecified) && may_assign_any(principal))
}

/// The roles a new user gets (rule 4: the organization's own; its default role when the
/// request names none), which the caller must be allowed to hand out (rule 5). `roles`
/// are the organization's roles, `None` when [`reads_roles`] says they are not needed.
fn roles_for(
    principal: &Principal,
    org: &Organization,
    choice: &RoleChoice,
    roles: Option<&[Role]>,
) -> Result<Vec<RoleId>, Error> {
    let Some(roles) = roles else { return Ok(vec![org.default_role_id]) };
    let assigned = resolve_roles(choice, roles)?.unwrap_or_else(|| vec![org.default_role_id]);
    ensure_may_assign(principal, roles, &assigned)?;
    Ok(assigned)
}

/// Rule 5: roles are handed out only by callers holding all they grant, and the owner
/// role only by owners.
fn ensure_may_assign(principal: &Principal, roles: &[Role], assigned: &[RoleId]) -> Result<(), Error> {
    let owner = owner_role(roles);
    if owner.is_some_and(|o| assigned.contains(&o)) && !principal.is_owner() {
        return Err(Error::Forbidden);
    }
    Roster::ensure_holds(principal, &grants_of(roles, assigned))
}

impl Roster {
    /// Rule 3: with the organization row locked, fails unless an active owner remains
    /// once `leaving` are no longer owners.
    async fn ensure_owner_remains(
        tx: &mut dyn Transaction,
        org: OrgId,
        owner: Option<RoleId>,
        leaving: &[UserId],
    ) -> Result<(), Error> {
        let Some(owner) = owner else { return Ok(()) };
        if tx.count_active_owners(org, owner, leaving).await? == 0 {
            return Err(Error::LastOwner);
        }
        Ok(())
    }

    /// Creates a user: `active` with a given or generated password, else `invited`.
    /// Rules 1 (email unique), 2 (seat limit) and 4 (roles) hold under concurrency: the
    /// seat count is taken under an exclusive lock on the organization, email uniqueness is
    /// a database constraint, and a creation in an organization without a seat limit
    /// writes only if, under the shared lock, the organization is still as read
    /// ([`crate::ports::Storage::insert_user_if_unchanged`]; otherwise it takes a
    /// transaction that reads it again).
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Validation`], [`Error::EmailTaken`],
    /// [`Error::UsernameTaken`], [`Error::SeatLimitReached`].
    pub async fn create_user(
        &self,
        principal: &Principal,
        org_id: OrgId,
        input: CreateUserInput,
    ) -> Result<CreatedUser, Error> {
        self.authorize(principal, org_id, "users.write").await?;
        let cmd = input.validate(self.settings.password_policy)?;
        let principal = &self.granting(principal).await?;
        let org = self.storage.get_organization(org_id).await?.ok_or(Error::NotFound(Resource::Organization))?;
        // Generated credentials are emailed with where to sign in: without a link there is
        // nothing to send, so nothing is created.
        let login_url = cmd.login_url.clone().or_else(|| org.default_login_url.clone());
        if matches!(cmd.credential, Credential::Generate) && login_url.is_none() {
            return Err(ValidationErrors::single(
                "login_url",
                "required",
                "generate_password needs a login_url (or the organization's default_login_url) to email the credentials",
            )
            .into());
        }
        let inviter = match cmd.credential {
            Credential::Invite => Some(self.inviter_name(principal, &org).await?),
            _ => None,
        };
        // Hash before the transaction: argon2 takes tens of milliseconds and must not
        // hold row locks that long.
        let (status, password_hash, generated_password) = match cmd.credential {
            Credential::Password(ref password) => (UserStatus::Active, Some(self.hash(password).await?), None),
            Credential::Generate => {
                let password = Password::generate(self.settings.password_policy);
                (UserStatus::Active, Some(self.hash(&password).await?), Some(password))
            }
            Credential::Invite => (UserStatus::Invited, None, None),
        };
        let now = self.clock.now();
        let mut user = User {
            id: UserId::from_uuid(self.new_id()),
            org_id,
            email: cmd.email,
            username: cmd.username.clone().unwrap_or_else(|| Username::derive_from("", None)),
            name: cmd.name,
            first_name: cmd.first_name,
            last_name: cmd.last_name,
            location: cmd.location,
            locale: cmd.locale,
            tags: cmd.tags,
            metadata: cmd.metadata,
            status,
            password_hash,
            role_ids: Vec::new(),
            last_login_at: None,
            created_at: now,
            updated_at: now,
            version: 1,
        };
        let rows_of = |user: &User, org: &Organization| {
            self.new_user(principal, org, user, inviter.as_deref(), login_url.as_ref(), generated_password.as_ref())
        };
        let mut attempt = 0;
        // Without a seat limit, a creation is usually one conditional write: it holds if
        // the organization read above is still current when the rows land (what a
        // transaction would have read again under its lock).
        if org.seat_limit.is_none() {
            let roles =
                if reads_roles(principal, &cmd.roles) { Some(self.storage.list_roles(org_id).await?) } else { None };
            user.role_ids = roles_for(principal, &org, &cmd.roles, roles.as_deref())?;
            if cmd.username.is_none() {
                user.username = Username::derive_from(user.email.local_part(), None);
            }
            let new = rows_of(&user, &org);
            match self.storage.insert_user_if_unchanged(org.version, &new).await.map_err(Error::from) {
                Ok(true) => return Ok(self.created(new, &org, generated_password)),
                // The organization changed (or a role went): the transaction reads it again.
                Ok(false) => {}
                // The plain generated username is taken: the transaction looks for another.
                Err(Error::UsernameTaken) if cmd.username.is_none() => attempt = 1,
                Err(e) => return Err(e),
            }
        }
        // Without a seat limit, creations only share-lock the organization (so a
        // concurrent change to it, such as setting a limit, waits for them); with one,
        // they lock it exclusively and count seats one at a time.
        let mut exclusive = org.seat_limit.is_some();
        while attempt < USERNAME_ATTEMPTS {
            let mut tx = self.storage.begin().await?;
            let locked = if exclusive {
                tx.organization_for_update(org_id).await?
            } else {
                tx.organization_for_share(org_id).await?
            };
            let org = locked.ok_or(Error::NotFound(Resource::Organization))?;
            match org.seat_limit {
                // A limit appeared since the first read: start again with the exclusive lock.
                Some(_) if !exclusive => {
                    exclusive = true;
                    continue;
                }
                Some(limit) if tx.count_seats(org_id).await? >= u64::from(limit) => {
                    return Err(Error::SeatLimitReached { limit });
                }
                _ => {}
            }
            let roles = if reads_roles(principal, &cmd.roles) { Some(tx.roles_of(org_id).await?) } else { None };
            user.role_ids = roles_for(principal, &org, &cmd.roles, roles.as_deref())?;
            if cmd.username.is_none() {
                user.username = self.free_username(tx.as_mut(), org_id, user.email.local_part(), attempt).await?;
            }
            let new = rows_of(&user, &org);
            // Storage may report a taken email or username at any write, up to the commit.
            let written: Result<(), Error> = async {
                new.write(tx.as_mut()).await?;
                Ok(tx.commit().await?)
            }
            .await;
            match written {
                Ok(()) => return Ok(self.created(new, &org, generated_password)),
                // A concurrent request took the generated username: roll again.
                Err(Error::UsernameTaken) if cmd.username.is_none() => attempt += 1,
                Err(e) => return Err(e),
            }
        }
        Err(Error::UsernameTaken)
    }

    /// The rows of a new user: the user, its audit event, and its invitation or the email
    /// with its generated password.
    fn new_user(
        &self,
        principal: &Principal,
        org: &Organization,
        user: &User,
        inviter: Option<&str>,
        login_url: Option<&HttpUrl>,
        generated_password: Option<&Password>,
    ) -> NewUser {
        let summary = details([
            ("email", user.email.to_string()),
            ("status", user.status.as_str().to_owned()),
            ("role_ids", join_ids(&user.role_ids)),
        ]);
        let event = self.event_of(principal, org.id, "user.created", ("user", user.id.to_string()), summary);
        let mut new =
            NewUser { user: user.clone(), audit_events: vec![event], invitation: None, outbox_messages: Vec::new() };
        if let Some(inviter) = inviter {
            self.invite(&mut new, principal, org, login_url.cloned(), inviter);
        }
        if let (Some(password), Some(url)) = (generated_password, login_url) {
            self.send_credentials(&mut new, org, url, password);
        }
        new
    }

    /// The outcome of a creation whose rows landed; wakes the mail worker if they hold mail.
    fn created(&self, new: NewUser, org: &Organization, generated_password: Option<Password>) -> CreatedUser {
        if !new.outbox_messages.is_empty() {
            self.mail_queued();
        }
        CreatedUser { view: UserView { user: new.user, organization: org.summary() }, generated_password }
    }

    /// A username derived from the email. The first attempt takes the plain local part
    /// unchecked (most are free, and a taken one fails the insert, which starts a second
    /// attempt); later attempts look for a suffixed candidate no non-deleted user of the
    /// organization has.
    async fn free_username(
        &self,
        tx: &mut dyn Transaction,
        org: OrgId,
        local_part: &str,
        attempt: u32,
    ) -> Result<Username, Error> {
        if attempt == 0 {
            return Ok(Username::derive_from(local_part, None));
        }
        let mut suffix = Some(rand::thread_rng().gen_range(1000..100_000));
        for _ in 0..USERNAME_CANDIDATES {
            let candidate = Username::derive_from(local_part, suffix);
            if !tx.username_taken(org, &candidate).await? {
                return Ok(candidate);
            }
            suffix = Some(rand::thread_rng().gen_range(1000..100_000));
        }
        Err(Error::UsernameTaken)
    }

    pub(super) async fn hash(&self, password: &Password) -> Result<crate::hashing::PasswordHash, Error> {
        self.hasher.hash(password).await.map_err(|e| Error::Internal(Box::new(e)))
    }

    /// One user with its organization's summary, in one storage round trip.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the user does not exist, is deleted, or is out of reach.
    pub async fn get_user(&self, principal: &Principal, org_id: OrgId, id: UserId) -> Result<UserView, Error> {
        self.authorize(principal, org_id, "users.read").await?;
        self.storage.get_user(org_id, id).await?.ok_or(Error::NotFound(Resource::User))
    }

    /// A page of an organization's users.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown organization, [`Error::Validation`] for bad
    /// parameters or a cursor of another list or order.
    pub async fn list_users(
        &self,
        principal: &Principal,
        org_id: OrgId,
        input: ListUsersInput,
    ) -> Result<Page<User>, Error> {
        self.list_users_with_organization(principal, org_id, input).await.map(|(_, page)| page)
    }

    /// A page of an organization's users with the organization's summary, which a user
    /// shows: `users.read` is enough to see it.
    ///
    /// # Errors
    /// As [`Roster::list_users`].
    pub async fn list_users_with_organization(
        &self,
        principal: &Principal,
        org_id: OrgId,
        input: ListUsersInput,
    ) -> Result<(OrgSummary, Page<User>), Error> {
        self.authorize(principal, org_id, "users.read").await?;
        let list = input.validate()?;
        let scope = cursor_scope(list.sort);
        let after = match &list.cursor {
            None => None,
            Some(raw) => {
                let (key, id) = Cursor::decode(raw, &scope)
                    .map_err(|e| ValidationErrors::single("cursor", "invalid", e.to_string()))?;
                Some(UserCursor { key, id: UserId::from_uuid(id) })
            }
        };
        let org = self.storage.get_organization(org_id).await?.ok_or(Error::NotFound(Resource::Organization))?;
        let query = UserQuery { filter: list.filter, sort: list.sort, after, limit: list.limit.get() + 1 };
        let rows = self.storage.list_users(org_id, &query).await?;
        let page = Page::from_rows(rows, list.limit, |u| Cursor::encode(&scope, &list.sort.key_of(u), u.id.as_uuid()));
        Ok((org.summary(), page))
    }

    /// Changes a user (rule 9 with `expected_version`; rule 4 for roles; rule 8 for a new
    /// password).
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Validation`], [`Error::VersionMismatch`],
    /// [`Error::EmailTaken`], [`Error::UsernameTaken`].
    pub async fn update_user(
        &self,
        principal: &Principal,
        org_id: OrgId,
        id: UserId,
        input: UpdateUserInput,
        expected_version: Option<i64>,
    ) -> Result<UserView, Error> {
        self.authorize(principal, org_id, "users.write").await?;
        let changes = input.validate()?;
        // Only changes that hand something out (roles, credentials, re-activation) need
        // the caller's access read afresh; a profile edit does not.
        let hands_out = changes.roles != RoleChoice::Unspecified
            || changes.password.is_some()
            || changes.email.is_some()
            || changes.status.is_some();
        let principal = &if hands_out { self.granting(principal).await? } else { principal.clone() };
        let current = self.storage.get_user(org_id, id).await?.ok_or(Error::NotFound(Resource::User))?;
        // Check and hash a new password before locking anything.
        let new_hash = match &changes.password {
            None => None,
            Some(raw) => {
                let email = changes.email.as_ref().unwrap_or(&current.user.email);
                let password = Password::parse(raw, self.settings.password_policy, email)
                    .map_err(|e| ValidationErrors::single("password", e.code(), e.to_string()))?;
                Some(self.hash(&password).await?)
            }
        };
        // What the user's direct grants give, when the change could hand it to the caller
        // (new credentials) or back to the user (re-activation).
        let sensitive = changes.password.is_some()
            || changes.email.is_some()
            || (changes.status == Some(UserStatus::Active) && current.user.status != UserStatus::Active);
        let direct = if sensitive {
            let now = self.clock.now();
            let grants = self.storage.list_grants(org_id, id).await?;
            let active: Vec<String> =
                grants.iter().filter(|g| g.is_active_at(now)).map(|g| g.permission.to_string()).collect();
            PermissionSet::from_stored(&active)
        } else {
            PermissionSet::default()
        };
        // Rule 3 needs the organization's row lock, taken before the user's, when the
        // change would leave the user no longer an active owner. Most updates do not, so
        // the first attempt locks the user only; one that turns out to demote, suspend or
        // otherwise unseat an owner restarts with the organization locked first.
        let mut lock_org = false;
        loop {
            let mut tx = self.storage.begin().await?;
            if lock_org {
                tx.organization_for_update(org_id).await?.ok_or(Error::NotFound(Resource::Organization))?;
            }
            let mut user = tx.user_for_update(org_id, id).await?.ok_or(Error::NotFound(Resource::User))?;
            check_version(expected_version, user.version)?;
            let roles = tx.roles_of(org_id).await?;
            let owner = owner_role(&roles);
            let was_owner = is_active_owner(&user, owner);
            if (changes.password.is_some() || changes.email.is_some())
                && !grants_of(&roles, &user.role_ids).union(&direct).is_subset(principal.permissions())
            {
                // Taking over the credentials of someone who may do more is escalation.
                return Err(Error::Forbidden);
            }
            let mut changed: Vec<(&str, String)> = Vec::new();
            if changes.roles != RoleChoice::Unspecified
                && let Some(new_roles) = resolve_roles(&changes.roles, &roles)?
            {
                let added: Vec<RoleId> = new_roles.iter().filter(|r| !user.role_ids.contains(r)).copied().collect();
                ensure_may_assign(principal, &roles, &added)?;
                changed.push(("role_ids", join_ids(&new_roles)));
                user.role_ids = new_roles;
            }
            if let Some(status) = changes.status {
                if user.status == UserStatus::Invited {
                    return Err(ValidationErrors::single(
                        "status",
                        "invalid",
                        "an invited user's status changes only when the invitation is accepted",
                    )
                    .into());
                }
                if status == UserStatus::Active && user.status != UserStatus::Active {
                    // Re-activation gives the user back every role and grant: rule 5 as if
                    // the caller granted them now (so only owners re-activate owners).
                    ensure_may_assign(principal, &roles, &user.role_ids)?;
                    Self::ensure_holds(principal, &direct)?;
                }
                changed.push(("status", status.as_str().to_owned()));
                user.status = status;
            }
            if was_owner && !is_active_owner(&user, owner) {
                if !lock_org {
                    lock_org = true;
                    continue;
                }
                Self::ensure_owner_remains(tx.as_mut(), org_id, owner, &[id]).await?;
            }
            apply_profile(&mut user, &changes, &mut changed);
            if let Some(hash) = &new_hash {
                changed.push(("password", "changed".to_owned()));
                user.password_hash = Some(hash.clone());
            }
            user.updated_at = self.clock.now();
            user.version += 1;
            tx.update_user(&user).await?;
            // New credentials or a suspension end every session for good (not only until
            // the user is active again); personal keys stop while the user is not active.
            if new_hash.is_some() || (user.status == UserStatus::Suspended && changes.status.is_some()) {
                tx.revoke_user_sessions(org_id, id, user.updated_at).await?;
            }
            let summary = changed.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            self.audit(tx.as_mut(), principal, org_id, "user.updated", ("user", id.to_string()), summary).await?;
            tx.commit().await?;
            if changes.status.is_some() || changes.roles != RoleChoice::Unspecified || new_hash.is_some() {
                self.keys.forget_user(id);
            }
            return Ok(UserView { user, organization: current.organization });
        }
    }

    /// Soft-deletes a user: hidden from reads, its email and username free again.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::VersionMismatch`].
    pub async fn delete_user(
        &self,
        principal: &Principal,
        org_id: OrgId,
        id: UserId,
        expected_version: Option<i64>,
    ) -> Result<(), Error> {
        self.authorize(principal, org_id, "users.delete").await?;
        let mut tx = self.storage.begin().await?;
        // Organization first, then user: the order every owner-affecting change uses.
        tx.organization_for_update(org_id).await?.ok_or(Error::NotFound(Resource::Organization))?;
        let user = tx.user_for_update(org_id, id).await?.ok_or(Error::NotFound(Resource::User))?;
        check_version(expected_version, user.version)?;
        let owner = owner_role(&tx.roles_of(org_id).await?);
        if is_active_owner(&user, owner) {
            Self::ensure_owner_remains(tx.as_mut(), org_id, owner, &[id]).await?;
        }
        let now = self.clock.now();
        tx.delete_users(org_id, &[id], now).await?;
        tx.revoke_user_sessions(org_id, id, now).await?;
        let summary = details([("email", user.email.to_string())]);
        self.audit(tx.as_mut(), principal, org_id, "user.deleted", ("user", id.to_string()), summary).await?;
        tx.commit().await?;
        self.keys.forget_user(id);
        Ok(())
    }

    /// Deletes up to 100 users in one transaction, reporting per id.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown organization, [`Error::Validation`] for an empty
    /// or oversized list.
    pub async fn batch_delete_users(
        &self,
        principal: &Principal,
        org_id: OrgId,
        raw_ids: &[String],
    ) -> Result<Vec<(String, BatchOutcome)>, Error> {
        self.authorize(principal, org_id, "users.delete").await?;
        let ids = batch_ids(raw_ids)?;
        let valid: Vec<UserId> = ids.iter().filter_map(|(_, id)| *id).collect();
        let mut tx = self.storage.begin().await?;
        tx.organization_for_update(org_id).await?.ok_or(Error::NotFound(Resource::Organization))?;
        let owner = owner_role(&tx.roles_of(org_id).await?);
        if let Some(owner_id) = owner
            && tx.count_active_owners(org_id, owner_id, &[]).await? > 0
        {
            Self::ensure_owner_remains(tx.as_mut(), org_id, owner, &valid).await?;
        }
        let deleted = tx.delete_users(org_id, &valid, self.clock.now()).await?;
        for id in &deleted {
            tx.revoke_user_sessions(org_id, *id, self.clock.now()).await?;
            self.audit(tx.as_mut(), principal, org_id, "user.deleted", ("user", id.to_string()), details([])).await?;
        }
        tx.commit().await?;
        for id in &deleted {
            self.keys.forget_user(*id);
        }
        Ok(ids
            .into_iter()
            .map(|(raw, id)| {
                let outcome = match id {
                    Some(id) if deleted.contains(&id) => BatchOutcome::Deleted,
                    _ => BatchOutcome::NotFound,
                };
                (raw, outcome)
            })
            .collect())
    }
}

fn join_ids(ids: &[RoleId]) -> String {
    ids.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")
}

/// Applies the profile fields of an update, noting each changed field.
fn apply_profile(user: &mut User, changes: &crate::user_input::UserChanges, changed: &mut Vec<(&str, String)>) {
    if let Some(email) = &changes.email {
        changed.push(("email", email.to_string()));
        user.email = email.clone();
    }
    if let Some(username) = &changes.username {
        changed.push(("username", username.to_string()));
        user.username = username.clone();
    }
    if let Some(name) = &changes.name {
        changed.push(("name", name.to_string()));
        user.name = name.clone();
    }
    if let Some(first_name) = &changes.first_name {
        changed.push(("first_name", String::new()));
        user.first_name = first_name.clone();
    }
    if let Some(last_name) = &changes.last_name {
        changed.push(("last_name", String::new()));
        user.last_name = last_name.clone();
    }
    if let Some(location) = &changes.location {
        changed.push(("location", String::new()));
        user.location = location.clone();
    }
    if let Some(locale) = &changes.locale {
        changed.push(("locale", String::new()));
        user.locale = locale.clone();
    }
    if let Some(tags) = &changes.tags {
        changed.push(("tags", String::new()));
        user.tags = tags.clone();
    }
    if let Some(metadata) = &changes.metadata {
        changed.push(("metadata", String::new()));
        user.metadata = metadata.clone();
    }
}
