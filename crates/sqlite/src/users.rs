//! Users and their role assignments.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use roster_domain::error::StoreError;
use roster_domain::grant::Grant;
use roster_domain::ids::{GrantId, OrgId, RoleId, UserId};
use roster_domain::ports::{UserAccess, UserReads, UserWrites};
use roster_domain::user::{User, UserQuery, UserSort, UserView};
use roster_domain::values::{Email, Username};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection};

use crate::error::{AdapterError, store_error};
use crate::rows::{self, USER_COLUMNS};
use crate::{SqliteStorage, SqliteTransaction, access, grants, invitations};

/// How many ids one soft-delete statement binds, well under SQLite's variable limit.
const DELETE_CHUNK: usize = 500;

/// A `LIKE` pattern (for `ESCAPE '\'`) matching values that contain `needle`, lowercased,
/// with `%`, `_` and `\` in it taken literally.
pub(crate) fn like_contains(needle: &str) -> String {
    let needle = needle.to_lowercase();
    let mut pattern = String::with_capacity(needle.len() + 2);
    pattern.push('%');
    for c in needle.chars() {
        if matches!(c, '%' | '_' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('%');
    pattern
}

/// The column a sort orders by (before the id tie-break); `None` for creation order,
/// where the UUIDv7 id is the whole key.
fn sort_column(sort: UserSort) -> Option<&'static str> {
    match sort {
        UserSort::CreatedAsc | UserSort::CreatedDesc => None,
        UserSort::EmailAsc | UserSort::EmailDesc => Some("u.email_normalized"),
        UserSort::NameAsc | UserSort::NameDesc => Some("u.name"),
    }
}

/// The `list_users` statement: filters, keyset cursor, order and limit.
fn list_users_query(org: OrgId, query: &UserQuery) -> QueryBuilder<'static, Sqlite> {
    let mut sql = QueryBuilder::<Sqlite>::new(format!("SELECT {USER_COLUMNS} FROM users u WHERE u.org_id = "));
    sql.push_bind(org.to_string()).push(" AND u.status <> 'deleted'");

    let filter = &query.filter;
    if let Some(email) = &filter.email {
        sql.push(" AND u.email_normalized = ").push_bind(email.normalized().to_owned());
    }
    if let Some(q) = &filter.q {
        sql.push(" AND (u.name_lower || char(31) || u.email_normalized || char(31) || u.username) LIKE ")
            .push_bind(like_contains(q))
            .push(" ESCAPE '\\'");
    }
    if let Some(status) = filter.status {
        sql.push(" AND u.status = ").push_bind(status.as_str());
    }
    if let Some(role) = filter.role_id {
        sql.push(" AND EXISTS (SELECT 1 FROM user_roles ur WHERE ur.org_id = u.org_id AND ur.user_id = u.id AND ur.role_id = ")
            .push_bind(role.to_string())
            .push(")");
    }
    if let Some(tag) = &filter.tag {
        sql.push(" AND EXISTS (SELECT 1 FROM json_each(u.tags) t WHERE t.value = ")
            .push_bind(tag.as_str().to_owned())
            .push(")");
    }

    let (cmp, dir) = if query.sort.is_descending() { ("<", "DESC") } else { (">", "ASC") };
    let column = sort_column(query.sort);
    if let Some(cursor) = &query.after {
        match column {
            None => {
                sql.push(format_args!(" AND u.id {cmp} ")).push_bind(cursor.id.to_string());
            }
            Some(column) => {
                sql.push(format_args!(" AND ({column}, u.id) {cmp} ("))
                    .push_bind(cursor.key.clone())
                    .push(", ")
                    .push_bind(cursor.id.to_string())
                    .push(")");
            }
        }
    }
    match column {
        None => sql.push(format_args!(" ORDER BY u.id {dir}")),
        Some(column) => sql.push(format_args!(" ORDER BY {column} {dir}, u.id {dir}")),
    };
    sql.push(" LIMIT ").push_bind(i64::from(query.limit));
    sql
}

/// Writes the `user_roles` rows of `user` (after any old ones were removed).
async fn insert_roles(conn: &mut SqliteConnection, user: &User) -> Result<(), StoreError> {
    if user.role_ids.is_empty() {
        return Ok(());
    }
    let org = user.org_id.to_string();
    let id = user.id.to_string();
    let mut insert = QueryBuilder::<Sqlite>::new("INSERT INTO user_roles (org_id, user_id, role_id) ");
    insert.push_values(&user.role_ids, |mut row, role| {
        row.push_bind(org.as_str()).push_bind(id.as_str()).push_bind(role.to_string());
    });
    insert.build().execute(conn).await.map_err(store_error)?;
    Ok(())
}

#[async_trait]
impl UserReads for SqliteStorage {
    #[tracing::instrument(level = "debug", skip_all, fields(org = %org, user = %id), err(level = "debug"))]
    async fn get_user(&self, org: OrgId, id: UserId) -> Result<Option<UserView>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS}, o.slug AS org_slug, o.name AS org_name FROM users u \
             JOIN organizations o ON o.id = u.org_id AND o.status <> 'deleted' \
             WHERE u.org_id = ? AND u.id = ? AND u.status <> 'deleted'"
        );
        let row = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.as_ref().map(rows::user_view).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org), err(level = "debug"))]
    async fn list_users(&self, org: OrgId, query: &UserQuery) -> Result<Vec<User>, StoreError> {
        let mut sql = list_users_query(org, query);
        let rows = sql.build().fetch_all(&self.pool).await.map_err(store_error)?;
        rows.iter().map(rows::user).collect()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org), err(level = "debug"))]
    async fn user_by_email(&self, org: OrgId, email: &Email) -> Result<Option<User>, StoreError> {
        let sql = format!(
            "SELECT {USER_COLUMNS} FROM users u WHERE u.org_id = ? AND u.email_normalized = ? AND u.status <> 'deleted'"
        );
        let row = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(email.normalized())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.as_ref().map(rows::user).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org, count = ids.len()), err(level = "debug"))]
    async fn user_access(&self, org: OrgId, ids: &[UserId], now: DateTime<Utc>) -> Result<Vec<UserAccess>, StoreError> {
        access::user_access(&self.pool, org, ids, now).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org, user = %user), err(level = "debug"))]
    async fn list_grants(&self, org: OrgId, user: UserId) -> Result<Vec<Grant>, StoreError> {
        grants::list(&self.pool, org, user).await
    }
}

#[async_trait]
impl UserWrites for SqliteTransaction {
    #[tracing::instrument(level = "debug", skip_all, fields(org = %org), err(level = "debug"))]
    async fn count_seats(&mut self, org: OrgId) -> Result<u64, StoreError> {
        let count: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users WHERE org_id = ? AND status <> 'deleted'")
            .bind(org.to_string())
            .fetch_one(self.conn()?)
            .await
            .map_err(store_error)?;
        u64::try_from(count).map_err(StoreError::other)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org), err(level = "debug"))]
    async fn username_taken(&mut self, org: OrgId, username: &Username) -> Result<bool, StoreError> {
        sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM users WHERE org_id = ? AND username = ? AND status <> 'deleted')",
        )
        .bind(org.to_string())
        .bind(username.as_str())
        .fetch_one(self.conn()?)
        .await
        .map_err(store_error)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %user.org_id, user = %user.id), err(level = "debug"))]
    async fn insert_user(&mut self, user: &User) -> Result<(), StoreError> {
        let tags = rows::tags_json(&user.tags)?;
        let metadata = rows::metadata_json(&user.metadata)?;
        let mut op = self.savepoint().await?;
        sqlx::query(
            "INSERT INTO users (id, org_id, email, email_normalized, username, name, name_lower, first_name, \
             last_name, location, locale, tags, metadata, status, password_hash, last_login_at, created_at, \
             updated_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(user.id.to_string())
        .bind(user.org_id.to_string())
        .bind(user.email.as_str())
        .bind(user.email.normalized())
        .bind(user.username.as_str())
        .bind(user.name.as_str())
        .bind(user.name.as_str().to_lowercase())
        .bind(user.first_name.as_ref().map(|n| n.as_str()))
        .bind(user.last_name.as_ref().map(|n| n.as_str()))
        .bind(user.location.as_ref().map(|l| l.as_str()))
        .bind(user.locale.as_ref().map(|l| l.as_str()))
        .bind(tags)
        .bind(metadata)
        .bind(user.status.as_str())
        .bind(user.password_hash.as_ref().map(|h| h.as_phc()))
        .bind(user.last_login_at)
        .bind(user.created_at)
        .bind(user.updated_at)
        .bind(user.version)
        .execute(&mut *op)
        .await
        .map_err(store_error)?;
        insert_roles(&mut op, user).await?;
        op.commit().await.map_err(store_error)
    }

    /// A plain read: the `BEGIN IMMEDIATE` transaction already holds SQLite's write lock.
    #[tracing::instrument(level = "debug", skip_all, fields(org = %org, user = %id), err(level = "debug"))]
    async fn user_for_update(&mut self, org: OrgId, id: UserId) -> Result<Option<User>, StoreError> {
        let sql =
            format!("SELECT {USER_COLUMNS} FROM users u WHERE u.org_id = ? AND u.id = ? AND u.status <> 'deleted'");
        let row = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_optional(self.conn()?)
            .await
            .map_err(store_error)?;
        row.as_ref().map(rows::user).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %user.org_id, user = %user.id), err(level = "debug"))]
    async fn update_user(&mut self, user: &User) -> Result<(), StoreError> {
        let tags = rows::tags_json(&user.tags)?;
        let metadata = rows::metadata_json(&user.metadata)?;
        let org = user.org_id.to_string();
        let id = user.id.to_string();
        let mut op = self.savepoint().await?;
        let done = sqlx::query(
            "UPDATE users SET email = ?, email_normalized = ?, username = ?, name = ?, name_lower = ?, \
             first_name = ?, last_name = ?, location = ?, locale = ?, tags = ?, metadata = ?, status = ?, \
             password_hash = ?, last_login_at = ?, updated_at = ?, version = ? WHERE org_id = ? AND id = ?",
        )
        .bind(user.email.as_str())
        .bind(user.email.normalized())
        .bind(user.username.as_str())
        .bind(user.name.as_str())
        .bind(user.name.as_str().to_lowercase())
        .bind(user.first_name.as_ref().map(|n| n.as_str()))
        .bind(user.last_name.as_ref().map(|n| n.as_str()))
        .bind(user.location.as_ref().map(|l| l.as_str()))
        .bind(user.locale.as_ref().map(|l| l.as_str()))
        .bind(tags)
        .bind(metadata)
        .bind(user.status.as_str())
        .bind(user.password_hash.as_ref().map(|h| h.as_phc()))
        .bind(user.last_login_at)
        .bind(user.updated_at)
        .bind(user.version)
        .bind(org.as_str())
        .bind(id.as_str())
        .execute(&mut *op)
        .await
        .map_err(store_error)?;
        if done.rows_affected() == 0 {
            return Err(AdapterError::NoRow("user").into());
        }
        sqlx::query("DELETE FROM user_roles WHERE org_id = ? AND user_id = ?")
            .bind(org.as_str())
            .bind(id.as_str())
            .execute(&mut *op)
            .await
            .map_err(store_error)?;
        insert_roles(&mut op, user).await?;
        op.commit().await.map_err(store_error)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org, count = ids.len()), err(level = "debug"))]
    async fn delete_users(&mut self, org: OrgId, ids: &[UserId], at: DateTime<Utc>) -> Result<Vec<UserId>, StoreError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut op = self.savepoint().await?;
        let mut changed = HashSet::new();
        for chunk in ids.chunks(DELETE_CHUNK) {
            let mut sql = QueryBuilder::<Sqlite>::new(
                "UPDATE users SET status = 'deleted', version = version + 1, updated_at = ",
            );
            sql.push_bind(at).push(" WHERE org_id = ").push_bind(org.to_string());
            sql.push(" AND status <> 'deleted' AND id IN (");
            let mut list = sql.separated(", ");
            for id in chunk {
                list.push_bind(id.to_string());
            }
            sql.push(") RETURNING id");
            let deleted: Vec<String> = sql.build_query_scalar().fetch_all(&mut *op).await.map_err(store_error)?;
            changed.extend(deleted);
        }
        // In the caller's order, each once.
        let deleted: Vec<UserId> = ids.iter().copied().filter(|id| changed.remove(&id.to_string())).collect();
        invitations::revoke_of_users(&mut op, org, &deleted, at).await?;
        op.commit().await.map_err(store_error)?;
        Ok(deleted)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org), err(level = "debug"))]
    async fn count_active_owners(
        &mut self,
        org: OrgId,
        owner_role: RoleId,
        excluding: &[UserId],
    ) -> Result<u64, StoreError> {
        access::count_active_owners(self.conn()?, org, owner_role, excluding).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %grant.org_id, grant = %grant.id), err(level = "debug"))]
    async fn insert_grant(&mut self, grant: &Grant) -> Result<(), StoreError> {
        grants::insert(self.conn()?, grant).await
    }

    /// A plain read: the `BEGIN IMMEDIATE` transaction already holds SQLite's write lock.
    #[tracing::instrument(level = "debug", skip_all, fields(org = %org, grant = %id), err(level = "debug"))]
    async fn grant_for_update(&mut self, org: OrgId, user: UserId, id: GrantId) -> Result<Option<Grant>, StoreError> {
        grants::fetch(self.conn()?, org, user, id).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %grant.org_id, grant = %grant.id), err(level = "debug"))]
    async fn update_grant(&mut self, grant: &Grant) -> Result<(), StoreError> {
        grants::update(self.conn()?, grant).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org, grant = %id), err(level = "debug"))]
    async fn delete_grant(&mut self, org: OrgId, id: GrantId) -> Result<(), StoreError> {
        grants::delete(self.conn()?, org, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::like_contains;

    #[test]
    fn like_patterns_escape_wildcards_and_the_escape_character() {
        assert_eq!(like_contains("ada"), "%ada%");
        assert_eq!(like_contains("Ada"), "%ada%");
        assert_eq!(like_contains("100%"), "%100\\%%");
        assert_eq!(like_contains("a_b"), "%a\\_b%");
        assert_eq!(like_contains("back\\slash"), "%back\\\\slash%");
        assert_eq!(like_contains("%_\\"), "%\\%\\_\\\\%");
        assert_eq!(like_contains("ÉMILE"), "%émile%");
        assert_eq!(like_contains(""), "%%");
    }
}
