//! What users may do: the hot `user_access` read, and direct permission grants.

use chrono::{DateTime, Utc};
use roster_domain::error::StoreError;
use roster_domain::grant::Grant;
use roster_domain::ids::{GrantId, OrgId, UserId};
use roster_domain::ports::UserAccess;
use sqlx::PgConnection;
use uuid::Uuid;

use crate::error::store_error;
use crate::pipeline::Query;
use crate::rows::{self, grant_columns};
use crate::{HotReads, PostgresStorage};

/// Authentication's and every permission check's read, one prepared statement: each
/// non-deleted user of `$1` among `$2` (the primary key) with, in one pass over the roles
/// its `role_ids` copy names (`roles_org_id_key`), their ids, keys and built-in flags as
/// parallel arrays (one aggregate node feeds all three, so they stay aligned) and its
/// custom roles' permissions as one space-separated string (permissions hold no spaces),
/// and its grants unexpired at `$3` (`user_permissions_org_user_permission_key`).
/// [`rows::user_access`] sorts and unites them: cheaper there than a second pass over the
/// roles and a sorted `UNION` in the statement.
pub(crate) const USER_ACCESS: &str = "SELECT u.id, u.status, r.role_ids, r.role_keys, r.role_builtins, \
        r.role_permissions, \
        ARRAY( \
            SELECT g.permission FROM user_permissions g \
            WHERE g.org_id = u.org_id AND g.user_id = u.id AND (g.expires_at IS NULL OR g.expires_at > $3) \
        ) AS grants \
    FROM users u \
    CROSS JOIN LATERAL ( \
        SELECT coalesce(array_agg(ro.id), '{}') AS role_ids, coalesce(array_agg(ro.key), '{}') AS role_keys, \
            coalesce(array_agg(ro.builtin), '{}') AS role_builtins, \
            string_agg(array_to_string(ro.permissions, ' '), ' ') FILTER (WHERE NOT ro.builtin) \
                AS role_permissions \
        FROM roles ro WHERE ro.org_id = u.org_id AND ro.id = ANY (u.role_ids) \
    ) r \
    WHERE u.org_id = $1 AND u.id = ANY ($2) AND u.status <> 'deleted' \
    ORDER BY u.id";

/// A user's grants in permission order (the unique key's order: the column is "C").
pub(crate) const LIST_GRANTS: &str = concat!(
    "SELECT ",
    grant_columns!(),
    " FROM user_permissions g WHERE g.org_id = $1 AND g.user_id = $2 ORDER BY g.permission"
);

const INSERT_GRANT: &str = "INSERT INTO user_permissions (id, org_id, user_id, permission, expires_at, created_by, \
    created_at, updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)";

const GRANT_FOR_UPDATE: &str = concat!(
    "SELECT ",
    grant_columns!(),
    " FROM user_permissions g WHERE g.org_id = $1 AND g.user_id = $2 AND g.id = $3 FOR UPDATE"
);

const UPDATE_GRANT: &str = "UPDATE user_permissions SET permission = $3, expires_at = $4, updated_at = $5, \
    version = $6 WHERE org_id = $1 AND id = $2";

const DELETE_GRANT: &str = "DELETE FROM user_permissions WHERE org_id = $1 AND id = $2";

impl PostgresStorage {
    /// [`USER_ACCESS`], on the hot-read connections.
    pub(crate) async fn read_user_access(
        &self,
        org: OrgId,
        ids: &[UserId],
        now: DateTime<Utc>,
    ) -> Result<Vec<UserAccess>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<Uuid> = ids.iter().map(|id| *id.as_uuid()).collect();
        match &*self.reads {
            HotReads::Pipelined(reads) => {
                let found = reads.query(Query::UserAccess, &[org.as_uuid(), &ids, &now]).await?;
                found.iter().map(rows::user_access).collect()
            }
            HotReads::Pooled(reads) => {
                let found = reads
                    .run(async |conn| {
                        sqlx::query(USER_ACCESS).bind(org.as_uuid()).bind(&ids).bind(now).fetch_all(conn).await
                    })
                    .await?;
                found.iter().map(rows::user_access).collect()
            }
        }
    }

    /// [`LIST_GRANTS`].
    pub(crate) async fn read_grants(&self, org: OrgId, user: UserId) -> Result<Vec<Grant>, StoreError> {
        let found = sqlx::query(LIST_GRANTS)
            .bind(org.as_uuid())
            .bind(user.as_uuid())
            .fetch_all(&self.pool)
            .await
            .map_err(store_error)?;
        found.iter().map(rows::grant).collect()
    }
}

pub(crate) async fn insert_grant(conn: &mut PgConnection, grant: &Grant) -> Result<(), StoreError> {
    sqlx::query(INSERT_GRANT)
        .bind(grant.id.as_uuid())
        .bind(grant.org_id.as_uuid())
        .bind(grant.user_id.as_uuid())
        .bind(grant.permission.as_str())
        .bind(grant.expires_at)
        .bind(&grant.created_by)
        .bind(grant.created_at)
        .bind(grant.updated_at)
        .bind(grant.version)
        .execute(conn)
        .await
        .map_err(store_error)?;
    Ok(())
}

pub(crate) async fn grant_for_update(
    conn: &mut PgConnection,
    org: OrgId,
    user: UserId,
    id: GrantId,
) -> Result<Option<Grant>, StoreError> {
    let row = sqlx::query(GRANT_FOR_UPDATE)
        .bind(org.as_uuid())
        .bind(user.as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(conn)
        .await
        .map_err(store_error)?;
    row.as_ref().map(rows::grant).transpose()
}

pub(crate) async fn update_grant(conn: &mut PgConnection, grant: &Grant) -> Result<(), StoreError> {
    sqlx::query(UPDATE_GRANT)
        .bind(grant.org_id.as_uuid())
        .bind(grant.id.as_uuid())
        .bind(grant.permission.as_str())
        .bind(grant.expires_at)
        .bind(grant.updated_at)
        .bind(grant.version)
        .execute(conn)
        .await
        .map_err(store_error)?;
    Ok(())
}

pub(crate) async fn delete_grant(conn: &mut PgConnection, org: OrgId, id: GrantId) -> Result<(), StoreError> {
    sqlx::query(DELETE_GRANT).bind(org.as_uuid()).bind(id.as_uuid()).execute(conn).await.map_err(store_error)?;
    Ok(())
}
