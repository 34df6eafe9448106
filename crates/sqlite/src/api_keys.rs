//! API keys.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use roster_domain::api_key::{ApiKey, ApiKeyOwner, SecretDigest};
use roster_domain::error::StoreError;
use roster_domain::ids::{ApiKeyId, OrgId};
use roster_domain::ports::{ApiKeyReads, ApiKeyWrites, KeyLookup};
use sqlx::{QueryBuilder, Sqlite};

use crate::error::{AdapterError, store_error};
use crate::rows::{self, KEY_COLUMNS};
use crate::{SqliteStorage, SqliteTransaction};

#[async_trait]
impl ApiKeyReads for SqliteStorage {
    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn find_api_key(&self, digest: &SecretDigest) -> Result<Option<KeyLookup>, StoreError> {
        let sql = format!(
            "SELECT {KEY_COLUMNS}, o.status AS org_status FROM api_keys k \
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
        let org_status = rows::org_status(&row)?;
        if matches!(key.owner, ApiKeyOwner::Organization(_)) && org_status.is_none() {
            // The foreign key makes this impossible; refuse to guess rather than authenticate.
            return Err(AdapterError::BadColumn { column: "org_id", reason: "no such organization".into() }.into());
        }
        Ok(Some(KeyLookup { key, org_status }))
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org), err(level = "debug"))]
    async fn list_api_keys(&self, org: OrgId, after: Option<ApiKeyId>, limit: u32) -> Result<Vec<ApiKey>, StoreError> {
        let mut sql = QueryBuilder::<Sqlite>::new(format!("SELECT {KEY_COLUMNS} FROM api_keys k WHERE k.org_id = "));
        sql.push_bind(org.to_string());
        if let Some(after) = after {
            sql.push(" AND k.id > ").push_bind(after.to_string());
        }
        sql.push(" ORDER BY k.id LIMIT ").push_bind(i64::from(limit));
        let rows = sql.build().fetch_all(&self.pool).await.map_err(store_error)?;
        rows.iter().map(rows::api_key).collect()
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
        sqlx::query(
            "INSERT INTO api_keys (id, org_id, name, prefix, digest, created_by, created_at, expires_at, revoked_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(key.id.to_string())
        .bind(key.owner.org_id().map(|org| org.to_string()))
        .bind(key.name.as_str())
        .bind(key.prefix.as_str())
        .bind(key.digest.as_bytes().as_slice())
        .bind(key.created_by.as_str())
        .bind(key.created_at)
        .bind(key.expires_at)
        .bind(key.revoked_at)
        .execute(self.conn()?)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org, key = %id), err(level = "debug"))]
    async fn revoke_api_key(&mut self, org: OrgId, id: ApiKeyId, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND org_id = ? AND revoked_at IS NULL")
            .bind(at)
            .bind(id.to_string())
            .bind(org.to_string())
            .execute(self.conn()?)
            .await
            .map_err(store_error)?;
        Ok(done.rows_affected() > 0)
    }
}
