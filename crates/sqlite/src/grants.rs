//! Direct permission grants, kept in `user_permissions`.

use roster_domain::error::StoreError;
use roster_domain::grant::Grant;
use roster_domain::ids::{GrantId, OrgId, UserId};
use sqlx::{SqliteConnection, SqliteExecutor};

use crate::error::{AdapterError, store_error};
use crate::rows::{self, GRANT_COLUMNS};

/// A user's grants, by permission (the unique key's order).
pub(crate) async fn list<'e>(
    exec: impl SqliteExecutor<'e>,
    org: OrgId,
    user: UserId,
) -> Result<Vec<Grant>, StoreError> {
    let sql = format!(
        "SELECT {GRANT_COLUMNS} FROM user_permissions g WHERE g.org_id = ? AND g.user_id = ? ORDER BY g.permission"
    );
    let rows =
        sqlx::query(&sql).bind(org.to_string()).bind(user.to_string()).fetch_all(exec).await.map_err(store_error)?;
    rows.iter().map(rows::grant).collect()
}

/// Stores a grant.
pub(crate) async fn insert(conn: &mut SqliteConnection, grant: &Grant) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO user_permissions (id, org_id, user_id, permission, expires_at, created_by, created_at, \
         updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(grant.id.to_string())
    .bind(grant.org_id.to_string())
    .bind(grant.user_id.to_string())
    .bind(grant.permission.as_str())
    .bind(grant.expires_at)
    .bind(grant.created_by.as_str())
    .bind(grant.created_at)
    .bind(grant.updated_at)
    .bind(grant.version)
    .execute(conn)
    .await
    .map_err(store_error)?;
    Ok(())
}

/// One grant of a user.
pub(crate) async fn fetch(
    conn: &mut SqliteConnection,
    org: OrgId,
    user: UserId,
    id: GrantId,
) -> Result<Option<Grant>, StoreError> {
    let sql =
        format!("SELECT {GRANT_COLUMNS} FROM user_permissions g WHERE g.org_id = ? AND g.user_id = ? AND g.id = ?");
    let row = sqlx::query(&sql)
        .bind(org.to_string())
        .bind(user.to_string())
        .bind(id.to_string())
        .fetch_optional(conn)
        .await
        .map_err(store_error)?;
    row.as_ref().map(rows::grant).transpose()
}

/// Overwrites a grant's mutable fields.
pub(crate) async fn update(conn: &mut SqliteConnection, grant: &Grant) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE user_permissions SET permission = ?, expires_at = ?, updated_at = ?, version = ? \
         WHERE org_id = ? AND id = ?",
    )
    .bind(grant.permission.as_str())
    .bind(grant.expires_at)
    .bind(grant.updated_at)
    .bind(grant.version)
    .bind(grant.org_id.to_string())
    .bind(grant.id.to_string())
    .execute(conn)
    .await
    .map_err(store_error)?;
    if done.rows_affected() == 0 {
        return Err(AdapterError::NoRow("grant").into());
    }
    Ok(())
}

/// Deletes a grant.
pub(crate) async fn delete(conn: &mut SqliteConnection, org: OrgId, id: GrantId) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM user_permissions WHERE org_id = ? AND id = ?")
        .bind(org.to_string())
        .bind(id.to_string())
        .execute(conn)
        .await
        .map_err(store_error)?;
    Ok(())
}
