//! Role writes: custom roles and moving their holders. [`crate::organizations`] exposes
//! them through the organization port.

use chrono::{DateTime, Utc};
use roster_domain::error::StoreError;
use roster_domain::ids::{OrgId, RoleId};
use roster_domain::role::Role;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use crate::error::{AdapterError, store_error};
use crate::rows::{self, ROLE_COLUMNS};

/// Inserts roles (built-in ones with no stored permissions) in one statement.
pub(crate) async fn insert(conn: &mut SqliteConnection, roles: &[Role]) -> Result<(), StoreError> {
    if roles.is_empty() {
        return Ok(());
    }
    let permissions = roles.iter().map(rows::role_permissions_json).collect::<Result<Vec<_>, _>>()?;
    let mut insert = QueryBuilder::<Sqlite>::new(
        "INSERT INTO roles (id, org_id, key, name, description, builtin, permissions, created_at, updated_at, \
         version) ",
    );
    insert.push_values(roles.iter().zip(permissions), |mut row, (role, permissions)| {
        row.push_bind(role.id.to_string())
            .push_bind(role.org_id.to_string())
            .push_bind(role.key.as_str())
            .push_bind(role.name.as_str())
            .push_bind(role.description.as_str())
            .push_bind(role.builtin)
            .push_bind(permissions)
            .push_bind(role.created_at)
            .push_bind(role.updated_at)
            .push_bind(role.version);
    });
    insert.build().execute(conn).await.map_err(store_error)?;
    Ok(())
}

/// The role `id` of `org`.
pub(crate) async fn fetch(conn: &mut SqliteConnection, org: OrgId, id: RoleId) -> Result<Option<Role>, StoreError> {
    let sql = format!("SELECT {ROLE_COLUMNS} FROM roles r WHERE r.org_id = ? AND r.id = ?");
    let row =
        sqlx::query(&sql).bind(org.to_string()).bind(id.to_string()).fetch_optional(conn).await.map_err(store_error)?;
    row.as_ref().map(rows::role).transpose()
}

/// Overwrites a role's mutable fields.
pub(crate) async fn update(conn: &mut SqliteConnection, role: &Role) -> Result<(), StoreError> {
    let done = sqlx::query(
        "UPDATE roles SET key = ?, name = ?, description = ?, permissions = ?, updated_at = ?, version = ? \
         WHERE org_id = ? AND id = ?",
    )
    .bind(role.key.as_str())
    .bind(role.name.as_str())
    .bind(role.description.as_str())
    .bind(rows::role_permissions_json(role)?)
    .bind(role.updated_at)
    .bind(role.version)
    .bind(role.org_id.to_string())
    .bind(role.id.to_string())
    .execute(conn)
    .await
    .map_err(store_error)?;
    if done.rows_affected() == 0 {
        return Err(AdapterError::NoRow("role").into());
    }
    Ok(())
}

/// How many non-deleted users hold the role.
pub(crate) async fn count_holders(conn: &mut SqliteConnection, org: OrgId, role: RoleId) -> Result<u64, StoreError> {
    let count: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM user_roles ur JOIN users u ON u.id = ur.user_id \
         WHERE ur.org_id = ? AND ur.role_id = ? AND u.status <> 'deleted'",
    )
    .bind(org.to_string())
    .bind(role.to_string())
    .fetch_one(conn)
    .await
    .map_err(store_error)?;
    u64::try_from(count).map_err(StoreError::other)
}

/// Moves the non-deleted holders of `from` to `to` (once each), bumping their versions.
/// The caller runs it in a savepoint: it is three statements.
pub(crate) async fn reassign(
    conn: &mut SqliteConnection,
    org: OrgId,
    from: RoleId,
    to: RoleId,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    let (org, from, to) = (org.to_string(), from.to_string(), to.to_string());
    let holders = "SELECT ur.user_id FROM user_roles ur JOIN users u ON u.id = ur.user_id \
                   WHERE ur.org_id = ?1 AND ur.role_id = ?2 AND u.status <> 'deleted'";
    sqlx::query(&format!(
        "UPDATE users SET version = version + 1, updated_at = ?3 WHERE org_id = ?1 AND id IN ({holders})"
    ))
    .bind(&org)
    .bind(&from)
    .bind(at)
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    sqlx::query(&format!(
        "INSERT INTO user_roles (org_id, user_id, role_id) SELECT ?1, user_id, ?3 FROM ({holders}) WHERE true \
         ON CONFLICT DO NOTHING"
    ))
    .bind(&org)
    .bind(&from)
    .bind(&to)
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    sqlx::query(&format!("DELETE FROM user_roles WHERE org_id = ?1 AND role_id = ?2 AND user_id IN ({holders})"))
        .bind(&org)
        .bind(&from)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    Ok(())
}

/// Deletes a role and the assignments deleted users still have of it; a live holder's
/// assignment makes the foreign key refuse the deletion. The caller runs it in a
/// savepoint: it is two statements.
pub(crate) async fn delete(conn: &mut SqliteConnection, org: OrgId, id: RoleId) -> Result<(), StoreError> {
    let (org, id) = (org.to_string(), id.to_string());
    sqlx::query(
        "DELETE FROM user_roles WHERE org_id = ?1 AND role_id = ?2 \
         AND EXISTS (SELECT 1 FROM users u WHERE u.id = user_roles.user_id AND u.status = 'deleted')",
    )
    .bind(&org)
    .bind(&id)
    .execute(&mut *conn)
    .await
    .map_err(store_error)?;
    sqlx::query("DELETE FROM roles WHERE org_id = ? AND id = ?")
        .bind(&org)
        .bind(&id)
        .execute(&mut *conn)
        .await
        .map_err(store_error)?;
    Ok(())
}
