//! Role writes: custom roles, and moving their holders elsewhere before a deletion.
//!
//! A user's roles live twice: as `user_roles` rows and as the sorted `users.role_ids` copy
//! the hot reads use. Every statement here that changes one changes the other.

use chrono::{DateTime, Utc};
use roster_domain::error::StoreError;
use roster_domain::ids::{OrgId, RoleId};
use roster_domain::role::Role;
use sqlx::PgConnection;

use crate::error::store_error;
use crate::rows::{self, role_columns};

const INSERT: &str = "INSERT INTO roles (id, org_id, key, name, description, builtin, permissions, created_at, \
    updated_at, version) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)";

const FOR_UPDATE: &str =
    concat!("SELECT ", role_columns!(), " FROM roles r WHERE r.org_id = $1 AND r.id = $2 FOR UPDATE");

const UPDATE: &str = "UPDATE roles SET key = $3, name = $4, description = $5, permissions = $6, updated_at = $7, \
    version = $8 WHERE org_id = $1 AND id = $2";

/// Holders among non-deleted users (`user_roles_role_idx`).
pub(crate) const COUNT_HOLDERS: &str = "SELECT count(*) AS count FROM user_roles ur \
    JOIN users u ON u.id = ur.user_id AND u.org_id = ur.org_id AND u.status <> 'deleted' \
    WHERE ur.org_id = $1 AND ur.role_id = $2";

/// Moves the non-deleted holders of `$2` to `$3`: their `$2` assignment goes, a `$3` one
/// comes unless they had it, and the row's sorted `role_ids` copy, version and
/// `updated_at` (the port's `at`) follow.
/// The holders' user rows are locked first (`FOR UPDATE OF u`), and re-checked after any
/// wait: a concurrent update that took the role away (or deleted the user) first leaves
/// that user out, instead of the reassignment adding the new role to them anyway.
const REASSIGN: &str = "WITH holders AS ( \
        SELECT ur.user_id FROM user_roles ur \
        JOIN users u ON u.id = ur.user_id AND u.org_id = ur.org_id AND u.status <> 'deleted' \
            AND $2 = ANY(u.role_ids) \
        WHERE ur.org_id = $1 AND ur.role_id = $2 FOR UPDATE OF u), \
    dropped AS ( \
        DELETE FROM user_roles ur USING holders h \
        WHERE ur.org_id = $1 AND ur.user_id = h.user_id AND ur.role_id = $2), \
    added AS ( \
        INSERT INTO user_roles (org_id, user_id, role_id) SELECT $1, h.user_id, $3 FROM holders h \
        ON CONFLICT (org_id, user_id, role_id) DO NOTHING) \
    UPDATE users u SET \
        role_ids = ARRAY(SELECT DISTINCT r FROM unnest(array_append(array_remove(u.role_ids, $2), $3)) AS r \
            ORDER BY r), \
        version = u.version + 1, updated_at = $4 \
    FROM holders h WHERE u.org_id = $1 AND u.id = h.user_id";

/// Deletes the role with the assignments deleted users kept (and their `role_ids`
/// copies). A live holder's assignment makes the foreign key, checked at the end of the
/// statement, refuse the deletion.
const DELETE: &str = "WITH gone AS ( \
        DELETE FROM user_roles ur USING users u \
        WHERE ur.org_id = $1 AND ur.role_id = $2 AND u.id = ur.user_id AND u.status = 'deleted' \
        RETURNING ur.user_id), \
    copies AS ( \
        UPDATE users u SET role_ids = array_remove(u.role_ids, $2) \
        FROM gone g WHERE u.org_id = $1 AND u.id = g.user_id) \
    DELETE FROM roles WHERE org_id = $1 AND id = $2";

/// Stores a role (its permissions as [`rows::stored_permissions`] says).
pub(crate) async fn insert(conn: &mut PgConnection, role: &Role) -> Result<(), StoreError> {
    sqlx::query(INSERT)
        .bind(role.id.as_uuid())
        .bind(role.org_id.as_uuid())
        .bind(role.key.as_str())
        .bind(&role.name)
        .bind(&role.description)
        .bind(role.builtin)
        .bind(rows::stored_permissions(role))
        .bind(role.created_at)
        .bind(role.updated_at)
        .bind(role.version)
        .execute(conn)
        .await
        .map_err(store_error)?;
    Ok(())
}

pub(crate) async fn for_update(conn: &mut PgConnection, org: OrgId, id: RoleId) -> Result<Option<Role>, StoreError> {
    let row = sqlx::query(FOR_UPDATE)
        .bind(org.as_uuid())
        .bind(id.as_uuid())
        .fetch_optional(conn)
        .await
        .map_err(store_error)?;
    row.as_ref().map(rows::role).transpose()
}

pub(crate) async fn update(conn: &mut PgConnection, role: &Role) -> Result<(), StoreError> {
    sqlx::query(UPDATE)
        .bind(role.org_id.as_uuid())
        .bind(role.id.as_uuid())
        .bind(role.key.as_str())
        .bind(&role.name)
        .bind(&role.description)
        .bind(rows::stored_permissions(role))
        .bind(role.updated_at)
        .bind(role.version)
        .execute(conn)
        .await
        .map_err(store_error)?;
    Ok(())
}

pub(crate) async fn count_holders(conn: &mut PgConnection, org: OrgId, role: RoleId) -> Result<u64, StoreError> {
    let row = sqlx::query(COUNT_HOLDERS)
        .bind(org.as_uuid())
        .bind(role.as_uuid())
        .fetch_one(conn)
        .await
        .map_err(store_error)?;
    rows::count(&row)
}

pub(crate) async fn reassign(
    conn: &mut PgConnection,
    org: OrgId,
    from: RoleId,
    to: RoleId,
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if from == to {
        // Holders keep what they have (the statement would drop the role and, seeing its
        // snapshot, not add it back).
        return Ok(());
    }
    sqlx::query(REASSIGN)
        .bind(org.as_uuid())
        .bind(from.as_uuid())
        .bind(to.as_uuid())
        .bind(at)
        .execute(conn)
        .await
        .map_err(store_error)?;
    Ok(())
}

pub(crate) async fn delete(conn: &mut PgConnection, org: OrgId, id: RoleId) -> Result<(), StoreError> {
    sqlx::query(DELETE).bind(org.as_uuid()).bind(id.as_uuid()).execute(conn).await.map_err(store_error)?;
    Ok(())
}
