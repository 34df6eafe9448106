//! API keys: platform keys, organization (service) keys and personal keys.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use roster_domain::api_key::{ApiKey, SecretDigest};
use roster_domain::error::StoreError;
use roster_domain::ids::{ApiKeyId, OrgId, SessionId, UserId};
use roster_domain::ports::{ApiKeyReads, ApiKeyWrites, KeyLookup, KeyOwnerFilter, SessionLookup};
use roster_domain::session::{Session, ThrottleState};
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use crate::error::store_error;
use crate::pipeline::Query;
use crate::rows::{self, Columns, key_columns};
use crate::{HotReads, PgTransaction, PostgresStorage, sessions};

/// Authentication's one look-up: the key by digest (`api_keys_digest_key`) with its
/// organization's status and partner flag. The organization is looked up by its primary key
/// for the one row found (`OFFSET 0` keeps the sub-select from being flattened into a join
/// the planner might run as a merge over the whole organizations index).
pub(crate) const FIND: &str = concat!(
    "SELECT ",
    key_columns!(),
    ", o.status AS org_status, o.partner AS org_partner FROM api_keys k \
     LEFT JOIN LATERAL (SELECT o.status, o.partner FROM organizations o WHERE o.id = k.org_id OFFSET 0) o ON true \
     WHERE k.digest = $1"
);

const COUNT_PLATFORM: &str = "SELECT count(*) AS count FROM api_keys WHERE org_id IS NULL AND revoked_at IS NULL";

const INSERT: &str = "INSERT INTO api_keys (id, org_id, user_id, name, prefix, digest, scope, created_by, \
    created_at, expires_at, revoked_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)";

/// Written at most once a minute per key (the use case decides); never moves back.
const TOUCH: &str = "UPDATE api_keys SET last_used_at = $2 WHERE id = $1 AND org_id IS NOT DISTINCT FROM $3 \
    AND (last_used_at IS NULL OR last_used_at < $2)";

/// A key with its organization's state, from [`FIND`].
fn key_lookup<R: Columns>(row: &R) -> Result<KeyLookup, StoreError> {
    Ok(KeyLookup { key: rows::api_key(row)?, org_status: rows::org_status(row)?, org_partner: rows::org_partner(row)? })
}

/// Narrows a query on `api_keys k` to one owner's keys of `org`: its service keys
/// (`user_id IS NULL`) or one user's. Both are served by `api_keys_org_user_idx`.
fn push_owner(sql: &mut QueryBuilder<'_, Postgres>, org: OrgId, owner: KeyOwnerFilter) {
    sql.push(" k.org_id = ").push_bind(*org.as_uuid());
    match owner {
        KeyOwnerFilter::Service => sql.push(" AND k.user_id IS NULL"),
        KeyOwnerFilter::User(user) => sql.push(" AND k.user_id = ").push_bind(*user.as_uuid()),
    };
}

/// Appends the `list_api_keys` query to `sql`.
pub(crate) fn push_list_api_keys(
    sql: &mut QueryBuilder<'_, Postgres>,
    org: OrgId,
    owner: KeyOwnerFilter,
    after: Option<ApiKeyId>,
    limit: u32,
) {
    sql.push(concat!("SELECT ", key_columns!(), " FROM api_keys k WHERE"));
    push_owner(sql, org, owner);
    if let Some(after) = after {
        sql.push(" AND k.id > ").push_bind(*after.as_uuid());
    }
    sql.push(" ORDER BY k.id LIMIT ").push_bind(i64::from(limit));
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

    async fn list_api_keys(
        &self,
        org: OrgId,
        owner: KeyOwnerFilter,
        after: Option<ApiKeyId>,
        limit: u32,
    ) -> Result<Vec<ApiKey>, StoreError> {
        let mut sql = QueryBuilder::new("");
        push_list_api_keys(&mut sql, org, owner, after, limit);
        let found = sql.build().fetch_all(&self.pool).await.map_err(store_error)?;
        found.iter().map(rows::api_key).collect()
    }

    async fn find_session(&self, digest: &SecretDigest) -> Result<Option<SessionLookup>, StoreError> {
        self.read_session(digest).await
    }

    async fn list_sessions(
        &self,
        org: OrgId,
        user: UserId,
        now: DateTime<Utc>,
        after: Option<SessionId>,
        limit: u32,
    ) -> Result<Vec<Session>, StoreError> {
        let mut sql = QueryBuilder::new("");
        sessions::push_list(&mut sql, org, user, now, after, limit);
        let found = sql.build().fetch_all(&self.pool).await.map_err(store_error)?;
        found.iter().map(rows::session).collect()
    }

    async fn login_throttle(&self, keys: &[String]) -> Result<Vec<(String, ThrottleState)>, StoreError> {
        sessions::throttle(&self.pool, keys).await
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
            .bind(key.owner.user_id().map(Uuid::from))
            .bind(key.name.as_str())
            .bind(&key.prefix)
            .bind(key.digest.as_bytes().as_slice())
            .bind(key.scope.as_ref().map(|scope| scope.names()))
            .bind(&key.created_by)
            .bind(key.created_at)
            .bind(key.expires_at)
            .bind(key.revoked_at)
            .bind(key.last_used_at)
            .execute(self.conn().await?)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn revoke_api_key(
        &mut self,
        org: OrgId,
        owner: KeyOwnerFilter,
        id: ApiKeyId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut sql = QueryBuilder::new("UPDATE api_keys k SET revoked_at = ");
        sql.push_bind(at).push(" WHERE");
        push_owner(&mut sql, org, owner);
        sql.push(" AND k.id = ").push_bind(*id.as_uuid()).push(" AND k.revoked_at IS NULL");
        let done = sql.build().execute(self.conn().await?).await.map_err(store_error)?;
        Ok(done.rows_affected() == 1)
    }

    async fn touch_api_key(&mut self, org: Option<OrgId>, id: ApiKeyId, at: DateTime<Utc>) -> Result<(), StoreError> {
        let org = org.map(|o| *o.as_uuid());
        sqlx::query(TOUCH)
            .bind(id.as_uuid())
            .bind(at)
            .bind(org)
            .execute(self.conn().await?)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn insert_session(&mut self, session: &Session) -> Result<(), StoreError> {
        sessions::insert(self.conn().await?, session).await
    }

    async fn revoke_session(
        &mut self,
        org: OrgId,
        user: UserId,
        id: SessionId,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        sessions::revoke(self.conn().await?, org, user, id, at).await
    }

    async fn revoke_user_sessions(&mut self, org: OrgId, user: UserId, at: DateTime<Utc>) -> Result<u64, StoreError> {
        sessions::revoke_all(self.conn().await?, org, user, at).await
    }

    async fn touch_session(&mut self, org: OrgId, id: SessionId, at: DateTime<Utc>) -> Result<(), StoreError> {
        sessions::touch(self.conn().await?, org, id, at).await
    }

    async fn record_login_failure(
        &mut self,
        key: &str,
        now: DateTime<Utc>,
        window: chrono::Duration,
    ) -> Result<u32, StoreError> {
        sessions::record_failure(self.conn().await?, key, now, window).await
    }

    async fn lock_login(&mut self, key: &str, until: DateTime<Utc>) -> Result<(), StoreError> {
        sessions::lock(self.conn().await?, key, until).await
    }

    async fn clear_login_failures(&mut self, key: &str) -> Result<(), StoreError> {
        sessions::clear_failures(self.conn().await?, key).await
    }
}
