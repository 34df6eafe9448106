//! API keys. The credential port also covers sessions ([`crate::sessions`]) and login
//! throttling ([`crate::throttle`]); this file routes those calls there.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use roster_domain::api_key::{ApiKey, ApiKeyOwner, SecretDigest};
use roster_domain::error::StoreError;
use roster_domain::ids::{ApiKeyId, OrgId, SessionId, UserId};
use roster_domain::ports::{ApiKeyReads, ApiKeyWrites, KeyLookup, KeyOwnerFilter, SessionLookup};
use roster_domain::session::{Session, ThrottleState};
use sqlx::{QueryBuilder, Sqlite};

use crate::error::{AdapterError, store_error};
use crate::rows::{self, KEY_COLUMNS};
use crate::{SqliteStorage, SqliteTransaction, sessions, throttle};

/// Narrows a statement on `api_keys` (aliased `alias`) to one owner's keys.
fn push_owner(sql: &mut QueryBuilder<'_, Sqlite>, alias: &str, owner: KeyOwnerFilter) {
    match owner {
        KeyOwnerFilter::Service => {
            sql.push(format_args!(" AND {alias}user_id IS NULL"));
        }
        KeyOwnerFilter::User(user) => {
            sql.push(format_args!(" AND {alias}user_id = ")).push_bind(user.to_string());
        }
    }
}

#[async_trait]
impl ApiKeyReads for SqliteStorage {
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn find_api_key(&self, digest: &SecretDigest) -> Result<Option<KeyLookup>, StoreError> {
        let sql = format!(
            "SELECT {KEY_COLUMNS}, o.status AS org_status, o.partner AS org_partner FROM api_keys k \
             LEFT JOIN organizations o ON o.id = k.org_id WHERE k.digest = ?"
        );
        let Some(row) = sqlx::query(&sql)
            .bind(digest.as_bytes().as_slice())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?
        else {
            return Ok(None);
        };
        let key = rows::api_key(&row)?;
        let (org_status, org_partner) = rows::org_state(&row)?;
        if !matches!(key.owner, ApiKeyOwner::Platform) && org_status.is_none() {
            // The foreign key makes this impossible; refuse to guess rather than authenticate.
            return Err(AdapterError::BadColumn { column: "org_id", reason: "no such organization".into() }.into());
        }
        Ok(Some(KeyLookup { key, org_status, org_partner }))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org), err(level = "debug"))]
    async fn list_api_keys(
        &self,
        org: OrgId,
        owner: KeyOwnerFilter,
        after: Option<ApiKeyId>,
        limit: u32,
    ) -> Result<Vec<ApiKey>, StoreError> {
        let mut sql = QueryBuilder::<Sqlite>::new(format!("SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.org_id = "));
        sql.push_bind(org.to_string());
        push_owner(&mut sql, "k.", owner);
        if let Some(after) = after {
            sql.push(" AND k.id > ").push_bind(after.to_string());
        }
        sql.push(" ORDER BY k.id LIMIT ").push_bind(i64::from(limit));
        let rows = sql.build().fetch_all(&self.pool).await.map_err(store_error)?;
        rows.iter().map(rows::api_key).collect()
    }

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn find_session(&self, digest: &SecretDigest) -> Result<Option<SessionLookup>, StoreError> {
        sessions::find(&self.pool, digest).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org, user = %user), err(level = "debug"))]
    async fn list_sessions(
        &self,
        org: OrgId,
        user: UserId,
        now: DateTime<Utc>,
        after: Option<SessionId>,
        limit: u32,
    ) -> Result<Vec<Session>, StoreError> {
        sessions::list(&self.pool, org, user, now, after, limit).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(count = keys.len()), err(level = "debug"))]
    async fn login_throttle(&self, keys: &[String]) -> Result<Vec<(String, ThrottleState)>, StoreError> {
        throttle::states(&self.pool, keys).await
    }

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn count_platform_keys(&self) -> Result<u64, StoreError> {
        let count: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM api_keys WHERE org_id IS NULL AND revoked_at IS NULL")
                .fetch_one(&self.pool)
                .await
                .map_err(store_error)?;
        u64::try_from(count).map_err(StoreError::other)
    }
}

#[async_trait]
impl ApiKeyWrites for SqliteTransaction {
    #[tracing::instrument(level = "debug", skip_all, fields(key = %key.id), err(level = "debug"))]
    async fn insert_api_key(&mut self, key: &ApiKey) -> Result<(), StoreError> {
        let scope = key.scope.as_ref().map(rows::permissions_json).transpose()?;
        sqlx::query(
            "INSERT INTO api_keys (id, org_id, user_id, name, prefix, digest, scope, created_by, created_at, \
             expires_at, revoked_at, last_used_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(key.id.to_string())
        .bind(key.owner.org_id().map(|org| org.to_string()))
        .bind(key.owner.user_id().map(|user| user.to_string()))
        .bind(key.name.as_str())
        .bind(key.prefix.as_str())
        .bind(key.digest.as_bytes().as_slice())
        .bind(scope)
        .bind(key.created_by.as_str())
        .bind(key.created_at)
        .bind(key.expires_at)
        .bind(key.revoked_at)
        .bind(key.last_used_at)
        .execute(self.conn()?)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org, key = %id), err(level = "debug"))]
    async fn revoke_api_key(
        &mut self,
        org: OrgId,
        owner: KeyOwnerFilter,
        id: ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut sql = QueryBuilder::<Sqlite>::new("UPDATE api_keys SET revoked_at = ");
        sql.push_bind(at).push(" WHERE id = ").push_bind(id.to_string());
        sql.push(" AND org_id = ").push_bind(org.to_string());
        push_owner(&mut sql, "", owner);
        sql.push(" AND revoked_at IS NULL");
        let done = sql.build().execute(self.conn()?).await.map_err(store_error)?;
        Ok(done.rows_affected() > 0)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(key = %id), err(level = "debug"))]
    async fn touch_api_key(&mut self, org: Option<OrgId>, id: ApiKeyId, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE api_keys SET last_used_at = ? WHERE id = ? AND org_id IS ?")
            .bind(at)
            .bind(id.to_string())
            .bind(org.map(|o| o.to_string()))
            .execute(self.conn()?)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %session.org_id, session = %session.id), err(level = "debug"))]
    async fn insert_session(&mut self, session: &Session) -> Result<(), StoreError> {
        sessions::insert(self.conn()?, session).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org, session = %id), err(level = "debug"))]
    async fn revoke_session(
        &mut self,
        org: OrgId,
        user: UserId,
        id: SessionId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        sessions::revoke(self.conn()?, org, user, id, at).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org, user = %user), err(level = "debug"))]
    async fn revoke_user_sessions(&mut self, org: OrgId, user: UserId, at: DateTime<Utc>) -> Result<u64, StoreError> {
        sessions::revoke_all(self.conn()?, org, user, at).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(session = %id), err(level = "debug"))]
    async fn touch_session(&mut self, org: OrgId, id: SessionId, at: DateTime<Utc>) -> Result<(), StoreError> {
        sessions::touch(self.conn()?, org, id, at).await
    }

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn record_login_failure(
        &mut self,
        key: &str,
        now: DateTime<Utc>,
        window: chrono::Duration,
    ) -> Result<u32, StoreError> {
        throttle::record_failure(self.conn()?, key, now, window).await
    }

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn lock_login(&mut self, key: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
        throttle::lock(self.conn()?, key, until).await
    }

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn clear_login_failures(&mut self, key: &str) -> Result<(), StoreError> {
        throttle::clear(self.conn()?, key).await
    }
}
