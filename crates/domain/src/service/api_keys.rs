//! API key use cases: platform keys for the operator, service keys for organizations,
//! personal keys for users. A key's scope never exceeds what its maker holds (rule 5).

use chrono::{DateTime, Utc};

use super::Roster;
use super::access::effective;
use super::audit::details;
use crate::api_key::{ApiKey, ApiKeyOwner, NewSecret};
use crate::auth::{Principal, PrincipalKind};
use crate::error::{Error, Resource};
use crate::ids::{ApiKeyId, OrgId, UserId};
use crate::page::{Cursor, Page, PageSize};
use crate::permission::{Permission, PermissionSet};
use crate::ports::KeyOwnerFilter;
use crate::user::UserStatus;
use crate::validation::{ValidationErrors, Validator};
use crate::values::KeyName;

const CURSOR_SCOPE: &str = "api_keys";

/// A request to create a service or personal key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateApiKeyInput {
    /// Required: a label.
    pub name: Option<String>,
    /// When the key stops working; must be in the future.
    pub expires_at: Option<DateTime<Utc>>,
    /// What the key may do, at most; absent is everything its owner may do.
    pub scope: Option<Vec<String>>,
}

struct ValidKey {
    name: KeyName,
    expires_at: Option<DateTime<Utc>>,
    scope: Option<PermissionSet>,
}

impl Roster {
    fn new_key(&self, owner: ApiKeyOwner, key: ValidKey, by: String) -> (ApiKey, NewSecret) {
        let secret = NewSecret::generate();
        let key = ApiKey {
            id: ApiKeyId::from_uuid(self.new_id()),
            owner,
            name: key.name,
            prefix: secret.display_prefix(),
            digest: secret.digest(),
            scope: key.scope,
            created_by: by,
            created_at: self.clock.now(),
            expires_at: key.expires_at,
            revoked_at: None,
            last_used_at: None,
        };
        (key, secret)
    }

    fn validate_key(&self, input: CreateApiKeyInput) -> Result<ValidKey, ValidationErrors> {
        let mut v = Validator::default();
        let name = match input.name {
            Some(raw) => v.check("name", KeyName::parse(raw)),
            None => {
                v.missing("name");
                None
            }
        };
        if input.expires_at.is_some_and(|at| at <= self.clock.now()) {
            v.push("expires_at", "in_past", "expires_at must be in the future");
        }
        let mut scope_ok = true;
        if let Some(raw) = &input.scope {
            if raw.len() > 500 {
                v.push("scope", "out_of_range", "a scope holds at most 500 permissions");
                scope_ok = false;
            }
            for (i, p) in raw.iter().enumerate() {
                if let Err(e) = Permission::parse(p) {
                    v.push(&format!("scope[{i}]"), "invalid", e.to_string());
                    scope_ok = false;
                }
            }
        }
        let scope = input.scope.map(|raw| PermissionSet::parse(raw).unwrap_or_default());
        v.build(|| Some(ValidKey { name: name?, expires_at: input.expires_at, scope: scope_ok.then_some(scope)? }))
    }

    /// Makes a platform key (operator only: the CLI calls this, no API does).
    ///
    /// # Errors
    /// [`Error::Validation`] for a bad name, [`Error::Internal`] on storage failure.
    pub async fn create_platform_key(&self, name: &str) -> Result<(ApiKey, NewSecret), Error> {
        let name = KeyName::parse(name).map_err(|e| ValidationErrors::single("name", "invalid", e.to_string()))?;
        let valid = ValidKey { name, expires_at: None, scope: None };
        let (key, secret) = self.new_key(ApiKeyOwner::Platform, valid, "operator".to_owned());
        let mut tx = self.storage.begin().await?;
        tx.insert_api_key(&key).await?;
        tx.commit().await?;
        Ok((key, secret))
    }

    /// Makes the first platform key when none exists; `None` when one does.
    ///
    /// # Errors
    /// [`Error::Internal`] on storage failure.
    pub async fn bootstrap_platform_key(&self) -> Result<Option<(ApiKey, NewSecret)>, Error> {
        if self.storage.count_platform_keys().await? > 0 {
            return Ok(None);
        }
        self.create_platform_key("bootstrap").await.map(Some)
    }

    /// Makes a service key for an organization; the secret is returned once. Needs
    /// `api_keys.write` and every permission of the scope; an unscoped key acts as an
    /// owner, so only owners make one.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Validation`], [`Error::Forbidden`].
    pub async fn create_service_key(
        &self,
        principal: &Principal,
        org_id: OrgId,
        input: CreateApiKeyInput,
    ) -> Result<(ApiKey, NewSecret), Error> {
        self.authorize(principal, org_id, "api_keys.write").await?;
        let valid = self.validate_key(input)?;
        let principal = &self.granting(principal).await?;
        match &valid.scope {
            Some(scope) => Self::ensure_holds(principal, scope)?,
            None if !principal.is_owner() => return Err(Error::Forbidden),
            None => {}
        }
        let mut tx = self.storage.begin().await?;
        tx.organization_for_share(org_id).await?.ok_or(Error::NotFound(Resource::Organization))?;
        let (key, secret) = self.new_key(ApiKeyOwner::Organization(org_id), valid, principal.actor());
        tx.insert_api_key(&key).await?;
        self.audit_key(tx.as_mut(), principal, org_id, "api_key.created", &key).await?;
        tx.commit().await?;
        Ok((key, secret))
    }

    /// Makes a personal key for an active user; the secret is returned once. The user
    /// themself or a caller with `api_keys.write` may; either way the key can never do
    /// more than the user may, nor more than its maker may (rule 5). A key made by anyone
    /// but the user's own session is pinned to what was checked (its scope is stored), so
    /// it does not grow when the user is later given more.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Validation`], [`Error::Forbidden`].
    pub async fn create_personal_key(
        &self,
        principal: &Principal,
        org_id: OrgId,
        user_id: UserId,
        input: CreateApiKeyInput,
    ) -> Result<(ApiKey, NewSecret), Error> {
        self.authorize_self_or(principal, org_id, user_id, "api_keys.write").await?;
        let valid = self.validate_key(input)?;
        let principal = &self.granting(principal).await?;
        let access = self.storage.user_access(org_id, &[user_id], self.clock.now()).await?;
        let access = access.first().ok_or(Error::NotFound(Resource::User))?;
        if access.status != UserStatus::Active {
            return Err(ValidationErrors::single(
                "user_id",
                "not_active",
                "personal keys are made for active users only",
            )
            .into());
        }
        let (held, user_is_owner) = effective(access);
        let reach = match &valid.scope {
            Some(scope) => {
                if !scope.is_subset(&held) {
                    return Err(ValidationErrors::single(
                        "scope",
                        "exceeds_user",
                        "a personal key's scope must be a subset of its user's permissions",
                    )
                    .into());
                }
                scope.clone()
            }
            None => held,
        };
        Self::ensure_holds(principal, &reach)?;
        if valid.scope.is_none() && user_is_owner && !principal.is_owner() {
            return Err(Error::Forbidden);
        }
        let own_session = principal.kind() == PrincipalKind::Session && principal.user_id() == Some(user_id);
        let mut valid = valid;
        if valid.scope.is_none() && !own_session && !reach.is_all() {
            valid.scope = Some(reach);
        }
        let mut tx = self.storage.begin().await?;
        tx.user_for_update(org_id, user_id).await?.ok_or(Error::NotFound(Resource::User))?;
        let (key, secret) = self.new_key(ApiKeyOwner::User(org_id, user_id), valid, principal.actor());
        tx.insert_api_key(&key).await?;
        self.audit_key(tx.as_mut(), principal, org_id, "api_key.created", &key).await?;
        tx.commit().await?;
        Ok((key, secret))
    }

    async fn audit_key(
        &self,
        tx: &mut dyn crate::ports::Transaction,
        principal: &Principal,
        org: OrgId,
        action: &str,
        key: &ApiKey,
    ) -> Result<(), Error> {
        let summary = details([
            ("name", key.name.to_string()),
            ("user_id", key.owner.user_id().map(|u| u.to_string()).unwrap_or_default()),
            ("scope", key.scope.as_ref().map_or_else(|| "*".to_owned(), |s| s.names().join(" "))),
        ]);
        self.audit(tx, principal, org, action, ("api_key", key.id.to_string()), summary).await
    }

    /// A page of an organization's service keys, or of one user's personal keys (revoked
    /// ones included, marked). Service keys need `api_keys.read`; a user may list their own.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Validation`] for a bad cursor.
    pub async fn list_api_keys(
        &self,
        principal: &Principal,
        org_id: OrgId,
        owner: KeyOwnerFilter,
        limit: PageSize,
        cursor: Option<&str>,
    ) -> Result<Page<ApiKey>, Error> {
        match owner {
            KeyOwnerFilter::Service => self.authorize(principal, org_id, "api_keys.read").await.map(|_| ())?,
            KeyOwnerFilter::User(user) => self.authorize_self_or(principal, org_id, user, "api_keys.read").await?,
        }
        let after = match cursor {
            None => None,
            Some(raw) => {
                let (_, id) = Cursor::decode(raw, CURSOR_SCOPE)
                    .map_err(|e| ValidationErrors::single("cursor", "invalid", e.to_string()))?;
                Some(ApiKeyId::from_uuid(id))
            }
        };
        match owner {
            KeyOwnerFilter::Service => self.storage.get_organization(org_id).await?.map(|_| ()),
            KeyOwnerFilter::User(user) => self.storage.get_user(org_id, user).await?.map(|_| ()),
        }
        .ok_or(Error::NotFound(match owner {
            KeyOwnerFilter::Service => Resource::Organization,
            KeyOwnerFilter::User(_) => Resource::User,
        }))?;
        let rows = self.storage.list_api_keys(org_id, owner, after, limit.get() + 1).await?;
        Ok(Page::from_rows(rows, limit, |k| Cursor::encode(CURSOR_SCOPE, "", k.id.as_uuid())))
    }

    /// Revokes a key of an organization (a service key, or with `user`, that user's
    /// personal key). It stops working at once on this instance and within
    /// [`super::Settings::key_cache_ttl`] everywhere.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown or already revoked key.
    pub async fn revoke_api_key(
        &self,
        principal: &Principal,
        org_id: OrgId,
        owner: KeyOwnerFilter,
        id: ApiKeyId,
    ) -> Result<(), Error> {
        match owner {
            KeyOwnerFilter::Service => self.authorize(principal, org_id, "api_keys.write").await.map(|_| ())?,
            KeyOwnerFilter::User(user) => self.authorize_self_or(principal, org_id, user, "api_keys.write").await?,
        }
        let mut tx = self.storage.begin().await?;
        if !tx.revoke_api_key(org_id, owner, id, self.clock.now()).await? {
            return Err(Error::NotFound(Resource::ApiKey));
        }
        let summary = details([("api_key_id", id.to_string())]);
        self.audit(tx.as_mut(), principal, org_id, "api_key.revoked", ("api_key", id.to_string()), summary).await?;
        tx.commit().await?;
        self.keys.forget_credential(*id.as_uuid());
        Ok(())
    }
}
