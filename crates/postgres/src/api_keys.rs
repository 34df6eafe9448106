//! API keys: organization (service) keys and platform keys.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use roster_domain::api_key::{ApiKey, SecretDigest};
use roster_domain::error::StoreError;
use roster_domain::ids::{ApiKeyId, OrgId};
use roster_domain::ports::{ApiKeyReads, ApiKeyWrites, KeyLookup};
use uuid::Uuid;

use crate::error::store_error;
use crate::pipeline::Query;
use crate::rows::{self, Columns, key_columns};
use crate::{HotReads, PgTransaction, PostgresStorage};

/// Authentication's one look-up: the key by digest (`api_keys_digest_key`) with its
/// organization's status.
pub(crate) const FIND: &str = concat!(
    "SELECT ",
    key_columns!(),
    ", o.status AS org_status FROM api_keys k LEFT JOIN organizations o ON o.id = k.org_id WHERE k.digest = $1"
);

const LIST_FIRST: &str =
    concat!("SELECT ", key_columns!(), " FROM api_keys k WHERE k.org_id = $1 ORDER BY k.id LIMIT $2");

const LIST_AFTER: &str =
    concat!("SELECT ", key_columns!(), " FROM api_keys k WHERE k.org_id = $1 AND k.id > $3 ORDER BY k.id LIMIT $2");

const COUNT_PLATFORM: &str = "SELECT count(*) AS count FROM api_keys WHERE org_id IS NULL AND revoked_at IS NULL";

const INSERT: &str = "INSERT INTO api_keys (id, org_id, name, prefix, digest, created_by, created_at, expires_at, \
    revoked_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

const REVOKE: &str = "UPDATE api_keys SET revoked_at = $3 WHERE org_id = $1 AND id = $2 AND revoked_at IS NULL";

/// A key with its organization's status, from [`FIND`].
fn key_lookup<R: Columns>(row: &R) -> Result<KeyLookup, StoreError> {
    Ok(KeyLookup { key: rows::api_key(row)?, org_status: rows::org_status(row)? })
}

#[async_trait]
impl ApiKeyReads for PostgresStorage {
    async fn find_api_key(&self, digest: &SecretDigest) -> Result<Option<KeyLookup>, StoreError> {
        let digest = digest.as_bytes().as_slice();
        match &*self.reads {
            HotReads::Pipelined(reads) => {
                let row = reads.query_opt(Query::FindApiKey, &[&digest]).await?;
                row.as_ref().map(key_lookup).transpose()
            }
            HotReads::Pooled(reads) => {
                let row = reads.run(async |conn| sqlx::query(FIND).bind(digest).fetch_optional(conn).await).await?;
                row.as_ref().map(key_lookup).transpose()
            }
        }
    }

    async fn list_api_keys(&self, org: OrgId, after: Option<ApiKeyId>, limit: u32) -> Result<Vec<ApiKey>, StoreError> {
        let query = match after {
            None => sqlx::query(LIST_FIRST).bind(*org.as_uuid()).bind(i64::from(limit)),
            Some(after) => sqlx::query(LIST_AFTER).bind(*org.as_uuid()).bind(i64::from(limit)).bind(*after.as_uuid()),
        };
        let found = query.fetch_all(&self.pool).await.map_err(store_error)?;
        found.iter().map(rows::api_key).collect()
    }

    async fn count_platform_keys(&self) -> Result<u64, StoreError> {
        let row = sqlx::query(COUNT_PLATFORM).fetch_one(&self.pool).await.map_err(store_error)?;
        rows::count(&row)
    }
}

#[async_trait]
impl ApiKeyWrites for PgTransaction {
    async fn insert_api_key(&mut self, key: &ApiKey) -> Result<(), StoreError> {
        sqlx::query(INSERT)
            .bind(key.id.as_uuid())
            .bind(key.owner.org_id().map(Uuid::from))
            .bind(key.name.as_str())
            .bind(&key.prefix)
            .bind(key.digest.as_bytes().as_slice())
            .bind(&key.created_by)
            .bind(key.created_at)
            .bind(key.expires_at)
            .bind(key.revoked_at)
            .execute(self.conn()?)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn revoke_api_key(&mut self, org: OrgId, id: ApiKeyId, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let done = sqlx::query(REVOKE)
            .bind(org.as_uuid())
            .bind(id.as_uuid())
            .bind(at)
            .execute(self.conn()?)
            .await
            .map_err(store_error)?;
        Ok(done.rows_affected() == 1)
    }
}
