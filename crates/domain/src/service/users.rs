//! User use cases.

use rand::Rng;

use super::{Roster, check_version, ensure_reach};
use crate::auth::Principal;
use crate::error::{Error, Resource, StoreError, Unique};
use crate::ids::{OrgId, RoleId, UserId};
use crate::page::{Cursor, Page};
use crate::ports::Transaction;
use crate::role::Role;
use crate::user::{User, UserCursor, UserQuery, UserStatus, UserView};
use crate::user_input::{CreateUserInput, Credential, ListUsersInput, RoleChoice, UpdateUserInput, batch_ids};
use crate::validation::{FieldProblem as _, ValidationErrors};
use crate::values::{Password, Username};

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

impl Roster {
    /// Creates a user: `active` with a given or generated password, else `invited`.
    /// Rules 1 (email unique), 2 (seat limit) and 4 (roles) hold under concurrency: the
    /// seat count is taken under a lock on the organization row and email uniqueness is a
    /// database constraint.
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
        ensure_reach(principal, org_id)?;
        let cmd = input.validate(self.settings.password_policy)?;
        let org = self.storage.get_organization(org_id).await?.ok_or(Error::NotFound(Resource::Organization))?;
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
        // Without a seat limit, creations only share-lock the organization (so a
        // concurrent change to it, such as setting a limit, waits for them); with one,
        // they lock it exclusively and count seats one at a time.
        let mut exclusive = org.seat_limit.is_some();
        let mut attempt = 0;
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
            let roles = tx.roles_of(org_id).await?;
            user.role_ids = resolve_roles(&cmd.roles, &roles)?.unwrap_or_else(|| vec![org.default_role_id]);
            if cmd.username.is_none() {
                user.username = self.free_username(tx.as_mut(), org_id, user.email.local_part(), attempt).await?;
            }
            match tx.insert_user(&user).await {
                Ok(()) => {
                    tx.commit().await?;
                    return Ok(CreatedUser {
                        view: UserView { user, organization: org.summary() },
                        generated_password,
                    });
                }
                // A concurrent request took the generated username: roll again.
                Err(StoreError::Duplicate(Unique::UserUsername)) if cmd.username.is_none() => attempt += 1,
                Err(e) => return Err(e.into()),
            }
        }
        Err(Error::UsernameTaken)
    }

    /// A username derived from the email that no non-deleted user of the org has.
    async fn free_username(
        &self,
        tx: &mut dyn Transaction,
        org: OrgId,
        local_part: &str,
        attempt: u32,
    ) -> Result<Username, Error> {
        let mut suffix = (attempt > 0).then(|| rand::thread_rng().gen_range(1000..100_000));
        for _ in 0..USERNAME_CANDIDATES {
            let candidate = Username::derive_from(local_part, suffix);
            if !tx.username_taken(org, &candidate).await? {
                return Ok(candidate);
            }
            suffix = Some(rand::thread_rng().gen_range(1000..100_000));
        }
        Err(Error::UsernameTaken)
    }

    async fn hash(&self, password: &Password) -> Result<crate::hashing::PasswordHash, Error> {
        self.hasher.hash(password).await.map_err(|e| Error::Internal(Box::new(e)))
    }

    /// One user with its organization's summary, in one storage round trip.
    ///
    /// # Errors
    /// [`Error::NotFound`] when the user does not exist, is deleted, or is out of reach.
    pub async fn get_user(&self, principal: &Principal, org_id: OrgId, id: UserId) -> Result<UserView, Error> {
        ensure_reach(principal, org_id)?;
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
        ensure_reach(principal, org_id)?;
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
        if self.storage.get_organization(org_id).await?.is_none() {
            return Err(Error::NotFound(Resource::Organization));
        }
        let query = UserQuery { filter: list.filter, sort: list.sort, after, limit: list.limit.get() + 1 };
        let rows = self.storage.list_users(org_id, &query).await?;
        Ok(Page::from_rows(rows, list.limit, |u| Cursor::encode(&scope, &list.sort.key_of(u), u.id.as_uuid())))
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
        ensure_reach(principal, org_id)?;
        let changes = input.validate()?;
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
        let mut tx = self.storage.begin().await?;
        let mut user = tx.user_for_update(org_id, id).await?.ok_or(Error::NotFound(Resource::User))?;
        check_version(expected_version, user.version)?;
        if changes.roles != RoleChoice::Unspecified
            && let Some(roles) = resolve_roles(&changes.roles, &tx.roles_of(org_id).await?)?
        {
            user.role_ids = roles;
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
            user.status = status;
        }
        if let Some(email) = changes.email {
            user.email = email;
        }
        if let Some(username) = changes.username {
            user.username = username;
        }
        if let Some(name) = changes.name {
            user.name = name;
        }
        if let Some(first_name) = changes.first_name {
            user.first_name = first_name;
        }
        if let Some(last_name) = changes.last_name {
            user.last_name = last_name;
        }
        if let Some(location) = changes.location {
            user.location = location;
        }
        if let Some(locale) = changes.locale {
            user.locale = locale;
        }
        if let Some(tags) = changes.tags {
            user.tags = tags;
        }
        if let Some(metadata) = changes.metadata {
            user.metadata = metadata;
        }
        if let Some(hash) = new_hash {
            user.password_hash = Some(hash);
        }
        user.updated_at = self.clock.now();
        user.version += 1;
        tx.update_user(&user).await?;
        tx.commit().await?;
        Ok(UserView { user, organization: current.organization })
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
        ensure_reach(principal, org_id)?;
        let mut tx = self.storage.begin().await?;
        let user = tx.user_for_update(org_id, id).await?.ok_or(Error::NotFound(Resource::User))?;
        check_version(expected_version, user.version)?;
        tx.delete_users(org_id, &[id], self.clock.now()).await?;
        tx.commit().await?;
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
        ensure_reach(principal, org_id)?;
        let ids = batch_ids(raw_ids)?;
        if self.storage.get_organization(org_id).await?.is_none() {
            return Err(Error::NotFound(Resource::Organization));
        }
        let valid: Vec<UserId> = ids.iter().filter_map(|(_, id)| *id).collect();
        let mut tx = self.storage.begin().await?;
        let deleted = tx.delete_users(org_id, &valid, self.clock.now()).await?;
        tx.commit().await?;
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
