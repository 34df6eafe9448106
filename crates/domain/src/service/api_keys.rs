//! API key use cases: platform keys for the operator, service keys for organizations.

use chrono::{DateTime, Utc};

use super::{Roster, ensure_reach};
use crate::api_key::{ApiKey, ApiKeyOwner, NewSecret};
use crate::auth::Principal;
use crate::error::{Error, Resource};
use crate::ids::{ApiKeyId, OrgId};
use crate::page::{Cursor, Page, PageSize};
use crate::validation::{ValidationErrors, Validator};
use crate::values::KeyName;

const CURSOR_SCOPE: &str = "api_keys";

/// A request to create a service key.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CreateApiKeyInput {
    /// Required: a label.
    pub name: Option<String>,
    /// When the key stops working; must be in the future.
    pub expires_at: Option<DateTime<Utc>>,
}

impl Roster {
    fn new_key(
        &self,
        owner: ApiKeyOwner,
        name: KeyName,
        expires_at: Option<DateTime<Utc>>,
        by: String,
    ) -> (ApiKey, NewSecret) {
        let secret = NewSecret::generate();
        let key = ApiKey {
            id: ApiKeyId::from_uuid(self.new_id()),
            owner,
            name,
            prefix: secret.display_prefix(),
            digest: secret.digest(),
            created_by: by,
            created_at: self.clock.now(),
            expires_at,
            revoked_at: None,
        };
        (key, secret)
    }

    /// Makes a platform key (operator only: the CLI calls this, no API does).
    ///
    /// # Errors
    /// [`Error::Validation`] for a bad name, [`Error::Internal`] on storage failure.
    pub async fn create_platform_key(&self, name: &str) -> Result<(ApiKey, NewSecret), Error> {
        let name = KeyName::parse(name).map_err(|e| ValidationErrors::single("name", "invalid", e.to_string()))?;
        let (key, secret) = self.new_key(ApiKeyOwner::Platform, name, None, "operator".to_owned());
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

    /// Makes a service key for an organization; the secret is returned once.
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Validation`].
    pub async fn create_service_key(
        &self,
        principal: &Principal,
        org_id: OrgId,
        input: CreateApiKeyInput,
    ) -> Result<(ApiKey, NewSecret), Error> {
        ensure_reach(principal, org_id)?;
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
        let name = v.build(|| name)?;
        let mut tx = self.storage.begin().await?;
        tx.organization_for_update(org_id).await?.ok_or(Error::NotFound(Resource::Organization))?;
        let (key, secret) = self.new_key(ApiKeyOwner::Organization(org_id), name, input.expires_at, principal.actor());
        tx.insert_api_key(&key).await?;
        tx.commit().await?;
        Ok((key, secret))
    }

    /// A page of an organization's keys (revoked ones included, marked).
    ///
    /// # Errors
    /// [`Error::NotFound`], [`Error::Validation`] for a bad cursor.
    pub async fn list_api_keys(
        &self,
        principal: &Principal,
        org_id: OrgId,
        limit: PageSize,
        cursor: Option<&str>,
    ) -> Result<Page<ApiKey>, Error> {
        ensure_reach(principal, org_id)?;
        let after = match cursor {
            None => None,
            Some(raw) => {
                let (_, id) = Cursor::decode(raw, CURSOR_SCOPE)
                    .map_err(|e| ValidationErrors::single("cursor", "invalid", e.to_string()))?;
                Some(ApiKeyId::from_uuid(id))
            }
        };
        if self.storage.get_organization(org_id).await?.is_none() {
            return Err(Error::NotFound(Resource::Organization));
        }
        let rows = self.storage.list_api_keys(org_id, after, limit.get() + 1).await?;
        Ok(Page::from_rows(rows, limit, |k| Cursor::encode(CURSOR_SCOPE, "", k.id.as_uuid())))
    }

    /// Revokes a key of an organization. It stops working at once on this instance and
    /// within [`super::Settings::key_cache_ttl`] everywhere.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown or already revoked key.
    pub async fn revoke_api_key(&self, principal: &Principal, org_id: OrgId, id: ApiKeyId) -> Result<(), Error> {
        ensure_reach(principal, org_id)?;
        let mut tx = self.storage.begin().await?;
        if !tx.revoke_api_key(org_id, id, self.clock.now()).await? {
            return Err(Error::NotFound(Resource::ApiKey));
        }
        tx.commit().await?;
        self.keys.forget_key(id);
        Ok(())
    }
}
