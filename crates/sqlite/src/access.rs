//! What users may do: the permission hot path and rule 3's owner count.

use chrono::{DateTime, Utc};
use roster_domain::error::StoreError;
use roster_domain::ids::{OrgId, RoleId, UserId};
use roster_domain::ports::UserAccess;
use sqlx::{SqliteConnection, SqliteExecutor};

use crate::error::store_error;
use crate::rows;

/// One row per non-deleted user among the bound ids: their roles as `[id, key, builtin]`
/// arrays in id order, and the permissions of their custom roles and unexpired grants,
/// distinct and sorted. The ids are bound as one JSON array, so any number costs one
/// statement; each user is a primary-key look-up plus range reads on `user_roles` and
/// `user_permissions`.
const USER_ACCESS_SQL: &str = "SELECT u.id AS user_id, u.status AS status, \
     (SELECT json_group_array(json_array(x.id, x.key, x.builtin)) FROM \
        (SELECT r.id, r.key, r.builtin FROM user_roles ur \
         JOIN roles r ON r.org_id = ur.org_id AND r.id = ur.role_id \
         WHERE ur.org_id = u.org_id AND ur.user_id = u.id ORDER BY ur.role_id) x) AS roles, \
     (SELECT json_group_array(p.permission) FROM \
        (SELECT j.value AS permission FROM user_roles ur \
         JOIN roles r ON r.org_id = ur.org_id AND r.id = ur.role_id \
         JOIN json_each(r.permissions) j \
         WHERE ur.org_id = u.org_id AND ur.user_id = u.id AND NOT r.builtin \
         UNION \
         SELECT g.permission FROM user_permissions g \
         WHERE g.org_id = u.org_id AND g.user_id = u.id AND (g.expires_at IS NULL OR g.expires_at > ?1) \
         ORDER BY 1) p) AS permissions \
     FROM users u \
     WHERE u.org_id = ?2 AND u.status <> 'deleted' AND u.id IN (SELECT value FROM json_each(?3)) \
     ORDER BY u.id";

/// Ids as one JSON array of strings, bound to a `json_each`.
pub(crate) fn ids_json<T: ToString>(ids: &[T]) -> Result<String, StoreError> {
    let ids: Vec<String> = ids.iter().map(ToString::to_string).collect();
    serde_json::to_string(&ids).map_err(StoreError::other)
}

/// What each non-deleted user among `ids` of `org` may do at `now`, in one statement.
pub(crate) async fn user_access<'e>(
    exec: impl SqliteExecutor<'e>,
    org: OrgId,
    ids: &[UserId],
    now: DateTime<Utc>,
) -> Result<Vec<UserAccess>, StoreError> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(USER_ACCESS_SQL)
        .bind(now)
        .bind(org.to_string())
        .bind(ids_json(ids)?)
        .fetch_all(exec)
        .await
        .map_err(store_error)?;
    rows.iter().map(rows::user_access).collect()
}

/// How many active users of `org` hold `owner_role`, leaving out `excluding`.
pub(crate) async fn count_active_owners(
    conn: &mut SqliteConnection,
    org: OrgId,
    owner_role: RoleId,
    excluding: &[UserId],
) -> Result<u64, StoreError> {
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM user_roles ur JOIN users u ON u.id = ur.user_id \
         WHERE ur.org_id = ? AND ur.role_id = ? AND u.status = 'active' \
         AND ur.user_id NOT IN (SELECT value FROM json_each(?))",
    )
    .bind(org.to_string())
    .bind(owner_role.to_string())
    .bind(ids_json(excluding)?)
    .fetch_one(conn)
    .await
    .map_err(store_error)?;
    u64::try_from(count).map_err(StoreError::other)
}
