//! Users and their role assignments.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use roster_domain::error::StoreError;
use roster_domain::grant::Grant;
use roster_domain::ids::{GrantId, OrgId, RoleId, UserId};
use roster_domain::ports::{UserAccess, UserReads, UserWrites};
use roster_domain::user::{User, UserQuery, UserSort, UserView};
use roster_domain::values::{Email, Username};
use sqlx::types::Json;
use sqlx::{Postgres, QueryBuilder, Row};
use uuid::Uuid;

use crate::access;
use crate::error::store_error;
use crate::pipeline::Query;
use crate::rows::{self, Columns, role_ids_column, user_columns};
use crate::{HotReads, PgTransaction, PostgresStorage};

/// The hot path: user, organization summary and role ids in one prepared statement.
pub(crate) const GET: &str = concat!(
    "SELECT ",
    user_columns!(),
    ", o.slug AS org_slug, o.name AS org_name, ",
    role_ids_column!(),
    " FROM users u JOIN organizations o ON o.id = u.org_id AND o.status = 'active' \
     WHERE u.org_id = $1 AND u.id = $2 AND u.status <> 'deleted'"
);

/// Locks the user row; `FOR UPDATE` returns the row's latest committed version, role ids
/// included, once the lock is granted.
const GET_FOR_UPDATE: &str = concat!(
    "SELECT ",
    user_columns!(),
    ", ",
    role_ids_column!(),
    " FROM users u WHERE u.org_id = $1 AND u.id = $2 AND u.status <> 'deleted' FOR UPDATE"
);

/// Login's look-up (`users_org_email_key`), password hash included.
const BY_EMAIL: &str = concat!(
    "SELECT ",
    user_columns!(),
    ", ",
    role_ids_column!(),
    " FROM users u WHERE u.org_id = $1 AND u.email_normalized COLLATE \"C\" = $2 AND u.status <> 'deleted'"
);

/// Active holders of the owner role `$2` but those of `$3` (`user_roles_role_idx`).
pub(crate) const COUNT_ACTIVE_OWNERS: &str = "SELECT count(*) AS count FROM user_roles ur \
    JOIN users u ON u.id = ur.user_id AND u.org_id = ur.org_id AND u.status = 'active' \
    WHERE ur.org_id = $1 AND ur.role_id = $2 AND ur.user_id <> ALL ($3::uuid[])";

const COUNT_SEATS: &str = "SELECT count(*) AS count FROM users WHERE org_id = $1 AND status <> 'deleted'";

const USERNAME_TAKEN: &str =
    "SELECT EXISTS (SELECT 1 FROM users WHERE org_id = $1 AND username = $2 AND status <> 'deleted') AS taken";

/// The user and its role assignments in one statement (the assignments' foreign key to
/// the user is checked at the end of the statement).
const UPDATE: &str = "UPDATE users SET email = $3, email_normalized = $4, username = $5, name = $6, \
    first_name = $7, last_name = $8, location = $9, locale = $10, tags = $11, metadata = $12, status = $13, \
    password_hash = $14, last_login_at = $15, updated_at = $16, version = $17, role_ids = $18 \
    WHERE org_id = $1 AND id = $2";

/// Replaces a user's role assignments with `$3`: drops the others, adds the missing.
const REPLACE_ROLES: &str = "WITH dropped AS ( \
    DELETE FROM user_roles WHERE org_id = $1 AND user_id = $2 AND role_id <> ALL ($3::uuid[])) \
    INSERT INTO user_roles (org_id, user_id, role_id) SELECT $1, $2, unnest($3::uuid[]) \
    ON CONFLICT (org_id, user_id, role_id) DO NOTHING";

/// Soft-deletes the users and revokes their pending invitations (expired ones included,
/// so none can be resent) through `invitations_org_user_idx`, in one statement. An
/// invitation is updated only once its user was, so each user is locked before its
/// invitations: the port's lock order.
pub(crate) const DELETE: &str = "WITH deleted AS ( \
        UPDATE users SET status = 'deleted', updated_at = $3, version = version + 1 \
        WHERE org_id = $1 AND id = ANY ($2::uuid[]) AND status <> 'deleted' RETURNING id), \
    revoked AS ( \
        UPDATE invitations SET status = 'revoked', revoked_at = $3, updated_at = $3, version = version + 1 \
        WHERE org_id = $1 AND user_id IN (SELECT id FROM deleted) AND status = 'pending') \
    SELECT id FROM deleted";

/// A user with its organization's summary, from [`GET`].
fn user_view<R: Columns>(row: &R) -> Result<UserView, StoreError> {
    Ok(UserView { user: rows::user(row)?, organization: rows::org_summary(row)? })
}

/// Binds the columns a new user's insert ([`bind_new`]) and UPDATE share, `$3` to `$15`: email
/// through last_login_at.
fn bind_profile<'q>(query: PgQuery<'q>, user: &'q User) -> PgQuery<'q> {
    query
        .bind(user.email.as_str())
        .bind(user.email.normalized())
        .bind(user.username.as_str())
        .bind(user.name.as_str())
        .bind(user.first_name.as_ref().map(|n| n.as_str()))
        .bind(user.last_name.as_ref().map(|n| n.as_str()))
        .bind(user.location.as_ref().map(|l| l.as_str()))
        .bind(user.locale.as_ref().map(|l| l.as_str()))
        .bind(user.tags.to_strings())
        .bind(Json(user.metadata.as_map()))
        .bind(user.status.as_str())
        .bind(user.password_hash.as_ref().map(|h| h.as_phc()))
        .bind(user.last_login_at)
}

pub(crate) type PgQuery<'q> = sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>;

/// Binds new users' rows as column arrays, in the order of `crate::appends`' insert: id,
/// organization, email, normalised email, username, name, first and last name, location,
/// locale, tags (each a JSON array), metadata (JSON), status, password hash, last login,
/// created_at, updated_at, version and role ids (each an array literal of UUIDs, sorted).
pub(crate) fn bind_new_users<'q>(query: PgQuery<'q>, users: &[&User]) -> Result<PgQuery<'q>, StoreError> {
    let column = |f: &dyn Fn(&User) -> String| users.iter().map(|u| f(u)).collect::<Vec<_>>();
    let optional = |f: &dyn Fn(&User) -> Option<String>| users.iter().map(|u| f(u)).collect::<Vec<_>>();
    let tags = users.iter().map(|u| serde_json::to_string(&u.tags.to_strings())).collect::<Result<Vec<_>, _>>();
    let metadata = users.iter().map(|u| serde_json::to_string(u.metadata.as_map())).collect::<Result<Vec<_>, _>>();
    let role_ids: Vec<Vec<Uuid>> = users.iter().map(|u| sorted_role_ids(u)).collect();
    let literals = role_ids.iter().map(|ids| {
        let ids: Vec<String> = ids.iter().map(Uuid::to_string).collect();
        format!("{{{}}}", ids.join(","))
    });
    // The user_roles rows: (organization, user, role) for each role of each user.
    let assignments = || users.iter().zip(&role_ids).flat_map(|(u, ids)| ids.iter().map(move |r| (u, *r)));
    Ok(query
        .bind(users.iter().map(|u| *u.id.as_uuid()).collect::<Vec<_>>())
        .bind(users.iter().map(|u| *u.org_id.as_uuid()).collect::<Vec<_>>())
        .bind(column(&|u| u.email.as_str().to_owned()))
        .bind(column(&|u| u.email.normalized().to_owned()))
        .bind(column(&|u| u.username.as_str().to_owned()))
        .bind(column(&|u| u.name.as_str().to_owned()))
        .bind(optional(&|u| u.first_name.as_ref().map(|n| n.as_str().to_owned())))
        .bind(optional(&|u| u.last_name.as_ref().map(|n| n.as_str().to_owned())))
        .bind(optional(&|u| u.location.as_ref().map(|l| l.as_str().to_owned())))
        .bind(optional(&|u| u.locale.as_ref().map(|l| l.as_str().to_owned())))
        .bind(tags.map_err(StoreError::other)?)
        .bind(metadata.map_err(StoreError::other)?)
        .bind(column(&|u| u.status.as_str().to_owned()))
        .bind(optional(&|u| u.password_hash.as_ref().map(|h| h.as_phc().to_owned())))
        .bind(users.iter().map(|u| u.last_login_at).collect::<Vec<_>>())
        .bind(users.iter().map(|u| u.created_at).collect::<Vec<_>>())
        .bind(users.iter().map(|u| u.updated_at).collect::<Vec<_>>())
        .bind(users.iter().map(|u| u.version).collect::<Vec<_>>())
        .bind(literals.collect::<Vec<_>>())
        .bind(assignments().map(|(u, _)| *u.org_id.as_uuid()).collect::<Vec<_>>())
        .bind(assignments().map(|(u, _)| *u.id.as_uuid()).collect::<Vec<_>>())
        .bind(assignments().map(|(_, role)| role).collect::<Vec<_>>()))
}

/// The role ids as stored on the row: sorted, without repeats.
fn sorted_role_ids(user: &User) -> Vec<Uuid> {
    let mut ids: Vec<Uuid> = user.role_ids.iter().map(|r| *r.as_uuid()).collect();
    ids.sort_unstable();
    ids.dedup();
    ids
}

#[async_trait]
impl UserReads for PostgresStorage {
    async fn get_user(&self, org: OrgId, id: UserId) -> Result<Option<UserView>, StoreError> {
        match &*self.reads {
            HotReads::Pipelined(reads) => {
                let row = reads.query_opt(Query::GetUser, &[org.as_uuid(), id.as_uuid()]).await?;
                row.as_ref().map(user_view).transpose()
            }
            HotReads::Pooled(reads) => {
                let row = reads
                    .run(async |conn| {
                        sqlx::query(GET).bind(org.as_uuid()).bind(id.as_uuid()).fetch_optional(conn).await
                    })
                    .await?;
                row.as_ref().map(user_view).transpose()
            }
        }
    }

    async fn list_users(&self, org: OrgId, query: &UserQuery) -> Result<Vec<User>, StoreError> {
        let mut sql = QueryBuilder::new("");
        push_list_users(&mut sql, org, query);
        let found = sql.build().fetch_all(&self.pool).await.map_err(store_error)?;
        found.iter().map(rows::user).collect()
    }

    async fn user_by_email(&self, org: OrgId, email: &Email) -> Result<Option<User>, StoreError> {
        let row = sqlx::query(BY_EMAIL)
            .bind(org.as_uuid())
            .bind(email.normalized())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn user_access(&self, org: OrgId, ids: &[UserId], now: DateTime<Utc>) -> Result<Vec<UserAccess>, StoreError> {
        self.read_user_access(org, ids, now).await
    }

    async fn list_grants(&self, org: OrgId, user: UserId) -> Result<Vec<Grant>, StoreError> {
        self.read_grants(org, user).await
    }
}

/// Appends the `list_users` query to `sql`. Every shape it produces is served by an
/// index of the migration (all partial on `status <> 'deleted'`):
///
/// - creation order: `users_org_id_idx (org_id, id)`, or `users_org_status_idx
///   (org_id, status, id)` with a status filter;
/// - email order and the email filter: `users_org_email_key (org_id, email_normalized
///   COLLATE "C")`, with an incremental sort on id (emails are unique, so it never sorts
///   more than one row);
/// - name order: `users_org_name_idx (org_id, name COLLATE "C", id)`;
/// - `q`: the trigram index `users_search_idx`, `tag`: `users_tags_idx`, `role_id`:
///   `user_roles_role_idx`.
///
/// Text sorts use the "C" collation: byte order, independent of the server's locale.
pub(crate) fn push_list_users(sql: &mut QueryBuilder<'_, Postgres>, org: OrgId, query: &UserQuery) {
    sql.push(concat!("SELECT ", user_columns!(), ", ", role_ids_column!(), " FROM users u WHERE u.org_id = "));
    sql.push_bind(*org.as_uuid());
    sql.push(" AND u.status <> 'deleted'");
    let filter = &query.filter;
    if let Some(email) = &filter.email {
        sql.push(" AND u.email_normalized COLLATE \"C\" = ").push_bind(email.normalized().to_owned());
    }
    if let Some(q) = &filter.q {
        sql.push(" AND (lower(u.name) || chr(31) || u.email_normalized || chr(31) || u.username) LIKE '%' || ")
            .push_bind(like_escape(&q.to_lowercase()))
            .push(" || '%'");
    }
    if let Some(status) = filter.status {
        sql.push(" AND u.status = ").push_bind(status.as_str());
    }
    if let Some(role) = filter.role_id {
        sql.push(
            " AND EXISTS (SELECT 1 FROM user_roles ur WHERE ur.org_id = u.org_id AND ur.user_id = u.id \
             AND ur.role_id = ",
        )
        .push_bind(*role.as_uuid())
        .push(")");
    }
    if let Some(tag) = &filter.tag {
        sql.push(" AND u.tags @> ARRAY[").push_bind(tag.as_str().to_owned()).push("]::text[]");
    }
    // The sort key besides the id (creation order is the id alone: ids are UUIDv7).
    let key = match query.sort {
        UserSort::CreatedAsc | UserSort::CreatedDesc => None,
        UserSort::EmailAsc | UserSort::EmailDesc => Some("u.email_normalized COLLATE \"C\""),
        UserSort::NameAsc | UserSort::NameDesc => Some("u.name COLLATE \"C\""),
    };
    let (cmp, dir) = if query.sort.is_descending() { ("<", " DESC") } else { (">", "") };
    if let Some(after) = &query.after {
        match key {
            None => {
                sql.push(format_args!(" AND u.id {cmp} ")).push_bind(*after.id.as_uuid());
            }
            Some(key) => {
                sql.push(format_args!(" AND ({key}, u.id) {cmp} ("))
                    .push_bind(after.key.clone())
                    .push(", ")
                    .push_bind(*after.id.as_uuid())
                    .push(")");
            }
        }
    }
    match key {
        None => sql.push(format_args!(" ORDER BY u.id{dir}")),
        Some(key) => sql.push(format_args!(" ORDER BY {key}{dir}, u.id{dir}")),
    };
    sql.push(" LIMIT ").push_bind(i64::from(query.limit));
}

/// Escapes `LIKE`'s wildcards (`%`, `_`) and its escape character (`\`), so `text` is
/// matched literally.
fn like_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        if matches!(c, '%' | '_' | '\\') {
            escaped.push('\\');
        }
        escaped.push(c);
    }
    escaped
}

#[async_trait]
impl UserWrites for PgTransaction {
    async fn count_seats(&mut self, org: OrgId) -> Result<u64, StoreError> {
        let row =
            sqlx::query(COUNT_SEATS).bind(org.as_uuid()).fetch_one(self.conn().await?).await.map_err(store_error)?;
        rows::count(&row)
    }

    async fn username_taken(&mut self, org: OrgId, username: &Username) -> Result<bool, StoreError> {
        let row = sqlx::query(USERNAME_TAKEN)
            .bind(org.as_uuid())
            .bind(username.as_str())
            .fetch_one(self.conn().await?)
            .await
            .map_err(store_error)?;
        row.try_get("taken").map_err(StoreError::other)
    }

    async fn insert_user(&mut self, user: &User) -> Result<(), StoreError> {
        // Written with the transaction's next statement (crate::appends), which reports a
        // taken email or username. One new user is held at a time.
        if self.appends.holds_user() {
            self.conn().await?;
        }
        self.appends.user(user);
        Ok(())
    }

    async fn user_for_update(&mut self, org: OrgId, id: UserId) -> Result<Option<User>, StoreError> {
        let conn = self.conn().await?;
        let row = sqlx::query(GET_FOR_UPDATE)
            .bind(org.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&mut *conn)
            .await
            .map_err(store_error)?;
        row.as_ref().map(rows::user).transpose()
    }

    async fn update_user(&mut self, user: &User) -> Result<(), StoreError> {
        let role_ids = sorted_role_ids(user);
        let conn = self.conn().await?;
        let query = sqlx::query(UPDATE).bind(user.org_id.as_uuid()).bind(user.id.as_uuid());
        bind_profile(query, user)
            .bind(user.updated_at)
            .bind(user.version)
            .bind(&role_ids)
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
        sqlx::query(REPLACE_ROLES)
            .bind(user.org_id.as_uuid())
            .bind(user.id.as_uuid())
            .bind(role_ids)
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn delete_users(&mut self, org: OrgId, ids: &[UserId], at: DateTime<Utc>) -> Result<Vec<UserId>, StoreError> {
        let ids: Vec<Uuid> = ids.iter().map(|id| *id.as_uuid()).collect();
        let deleted: Vec<(Uuid,)> = sqlx::query_as(DELETE)
            .bind(org.as_uuid())
            .bind(ids)
            .bind(at)
            .fetch_all(self.conn().await?)
            .await
            .map_err(store_error)?;
        Ok(deleted.into_iter().map(|(id,)| UserId::from_uuid(id)).collect())
    }

    async fn count_active_owners(
        &mut self,
        org: OrgId,
        owner_role: RoleId,
        excluding: &[UserId],
    ) -> Result<u64, StoreError> {
        let excluding: Vec<Uuid> = excluding.iter().map(|id| *id.as_uuid()).collect();
        let row = sqlx::query(COUNT_ACTIVE_OWNERS)
            .bind(org.as_uuid())
            .bind(owner_role.as_uuid())
            .bind(excluding)
            .fetch_one(self.conn().await?)
            .await
            .map_err(store_error)?;
        rows::count(&row)
    }

    async fn insert_grant(&mut self, grant: &Grant) -> Result<(), StoreError> {
        access::insert_grant(self.conn().await?, grant).await
    }

    async fn grant_for_update(&mut self, org: OrgId, user: UserId, id: GrantId) -> Result<Option<Grant>, StoreError> {
        access::grant_for_update(self.conn().await?, org, user, id).await
    }

    async fn update_grant(&mut self, grant: &Grant) -> Result<(), StoreError> {
        access::update_grant(self.conn().await?, grant).await
    }

    async fn delete_grant(&mut self, org: OrgId, id: GrantId) -> Result<(), StoreError> {
        access::delete_grant(self.conn().await?, org, id).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_and_the_escape_character_are_escaped() {
        assert_eq!(like_escape("ada"), "ada");
        assert_eq!(like_escape("100%_off"), "100\\%\\_off");
        assert_eq!(like_escape("a\\b"), "a\\\\b");
        assert_eq!(like_escape(""), "");
        assert_eq!(like_escape("émile%"), "émile\\%");
    }
}
