//! Organizations and their roles.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use roster_domain::error::StoreError;
use roster_domain::ids::{OrgId, RoleId};
use roster_domain::organization::Organization;
use roster_domain::ports::{OrganizationReads, OrganizationWrites};
use roster_domain::role::Role;
use roster_domain::values::Slug;
use sqlx::{PgConnection, Postgres, QueryBuilder};
use uuid::Uuid;

use crate::error::store_error;
use crate::pipeline::Query;
use crate::roles;
use crate::rows::{self, org_columns, role_columns};
use crate::{HotReads, PgTransaction, PostgresStorage};

pub(crate) const GET: &str =
    concat!("SELECT ", org_columns!(), " FROM organizations o WHERE o.id = $1 AND o.status <> 'deleted'");

/// Locks organization `$1` (advisory key `$2`; exclusively, then also its row, when `$3`)
/// and reads it, in one statement: see `roster_lock_organization` (migration 0004).
///
/// The lock is an *advisory* lock, not a row lock: every user creation takes one shared,
/// and `SELECT … FOR SHARE` by dozens of concurrent transactions on the same row makes
/// PostgreSQL build and write a new MultiXact per locker (a heap write on the hottest
/// row). Changes to the organization take the same key exclusively, so the two exclude
/// each other. The function reads the row only once the lock is granted, with a snapshot
/// of its own, so a creation that waited for a change sees what the change committed.
const LOCK: &str = concat!("SELECT ", org_columns!(), " FROM roster_lock_organization($1, $2, $3) o");

/// The advisory lock key of an organization: its UUID folded to 64 bits (a collision only
/// makes two organizations' creations wait for each other's changes).
pub(crate) fn lock_key(id: OrgId) -> i64 {
    let (high, low) = id.as_uuid().as_u64_pair();
    i64::from_ne_bytes((high ^ low).to_ne_bytes())
}

async fn lock(conn: &mut PgConnection, id: OrgId, exclusive: bool) -> Result<Option<Organization>, StoreError> {
    let row = sqlx::query(LOCK)
        .bind(id.as_uuid())
        .bind(lock_key(id))
        .bind(exclusive)
        .fetch_optional(conn)
        .await
        .map_err(store_error)?;
    row.as_ref().map(rows::organization).transpose()
}

/// Login names an organization by slug (`organizations_slug_key`).
const GET_BY_SLUG: &str =
    concat!("SELECT ", org_columns!(), " FROM organizations o WHERE o.slug = $1 AND o.status <> 'deleted'");

/// Roles of a non-deleted organization, built-ins first, then by key in byte order.
const LIST_ROLES: &str = concat!(
    "SELECT ",
    role_columns!(),
    " FROM roles r JOIN organizations o ON o.id = r.org_id AND o.status <> 'deleted' \
     WHERE r.org_id = $1 ORDER BY r.builtin DESC, r.key COLLATE \"C\""
);

/// Roles of an organization, whatever its status, in the order of [`LIST_ROLES`].
const ROLES_OF: &str = concat!(
    "SELECT ",
    role_columns!(),
    " FROM roles r WHERE r.org_id = $1 ORDER BY r.builtin DESC, r.key COLLATE \"C\""
);

/// The organization and its roles in one statement (the roles' foreign key is checked at
/// the end of the statement, when the organization row exists).
const INSERT: &str = "WITH new_org AS ( \
    INSERT INTO organizations (id, slug, name, domain, description, logo_url, icon_url, parent_id, seat_limit, \
        default_role_id, invitation_ttl_seconds, status, created_by, modified_by, created_at, updated_at, version, \
        partner, default_login_url) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $25, $28)) \
    INSERT INTO roles (id, org_id, key, name, description, builtin, created_at, updated_at, version) \
    SELECT * FROM unnest($18::uuid[], $19::uuid[], $20::text[], $21::text[], $22::text[], $23::bool[], \
        $24::timestamptz[], $26::timestamptz[], $27::bigint[])";

const UPDATE: &str = "UPDATE organizations SET slug = $2, name = $3, domain = $4, description = $5, logo_url = $6, \
    icon_url = $7, parent_id = $8, seat_limit = $9, default_role_id = $10, invitation_ttl_seconds = $11, \
    status = $12, modified_by = $13, updated_at = $14, version = $15, partner = $16, default_login_url = $17 \
    WHERE id = $1";

#[async_trait]
impl OrganizationReads for PostgresStorage {
    async fn get_organization(&self, id: OrgId) -> Result<Option<Organization>, StoreError> {
        match &*self.reads {
            HotReads::Pipelined(reads) => {
                let row = reads.query_opt(Query::GetOrganization, &[id.as_uuid()]).await?;
                row.as_ref().map(rows::organization).transpose()
            }
            HotReads::Pooled(reads) => {
                let row =
                    reads.run(async |conn| sqlx::query(GET).bind(id.as_uuid()).fetch_optional(conn).await).await?;
                row.as_ref().map(rows::organization).transpose()
            }
        }
    }

    async fn get_organization_by_slug(&self, slug: &Slug) -> Result<Option<Organization>, StoreError> {
        let row = sqlx::query(GET_BY_SLUG).bind(slug.as_str()).fetch_optional(&self.pool).await.map_err(store_error)?;
        row.as_ref().map(rows::organization).transpose()
    }

    async fn list_organizations(
        &self,
        within: Option<OrgId>,
        after: Option<OrgId>,
        limit: u32,
    ) -> Result<Vec<Organization>, StoreError> {
        let mut sql = QueryBuilder::new("");
        push_list_organizations(&mut sql, within, after, limit);
        let found = sql.build().fetch_all(&self.pool).await.map_err(store_error)?;
        found.iter().map(rows::organization).collect()
    }

    async fn list_roles(&self, org: OrgId) -> Result<Vec<Role>, StoreError> {
        let found = sqlx::query(LIST_ROLES).bind(org.as_uuid()).fetch_all(&self.pool).await.map_err(store_error)?;
        found.iter().map(rows::role).collect()
    }
}

/// Appends the `list_organizations` query to `sql`: every organization, or a partner and
/// its children, in primary-key order (a partner with few children is found through
/// `organizations_parent_idx`).
pub(crate) fn push_list_organizations(
    sql: &mut QueryBuilder<'_, Postgres>,
    within: Option<OrgId>,
    after: Option<OrgId>,
    limit: u32,
) {
    sql.push(concat!("SELECT ", org_columns!(), " FROM organizations o WHERE o.status <> 'deleted'"));
    if let Some(partner) = within {
        sql.push(" AND (o.id = ").push_bind(*partner.as_uuid());
        sql.push(" OR o.parent_id = ").push_bind(*partner.as_uuid()).push(")");
    }
    if let Some(after) = after {
        sql.push(" AND o.id > ").push_bind(*after.as_uuid());
    }
    sql.push(" ORDER BY o.id LIMIT ").push_bind(i64::from(limit));
}

#[async_trait]
impl OrganizationWrites for PgTransaction {
    async fn insert_organization(&mut self, org: &Organization, roles: &[Role]) -> Result<(), StoreError> {
        // Built-ins store no permissions, so they go in with the organization; any custom
        // role after it.
        let (builtin, custom): (Vec<&Role>, Vec<&Role>) = roles.iter().partition(|r| r.builtin);
        let role_ids: Vec<Uuid> = builtin.iter().map(|r| *r.id.as_uuid()).collect();
        let role_orgs: Vec<Uuid> = builtin.iter().map(|r| *r.org_id.as_uuid()).collect();
        let keys: Vec<&str> = builtin.iter().map(|r| r.key.as_str()).collect();
        let names: Vec<&str> = builtin.iter().map(|r| r.name.as_str()).collect();
        let descriptions: Vec<&str> = builtin.iter().map(|r| r.description.as_str()).collect();
        let builtins: Vec<bool> = builtin.iter().map(|r| r.builtin).collect();
        let created: Vec<_> = builtin.iter().map(|r| r.created_at).collect();
        let updated: Vec<_> = builtin.iter().map(|r| r.updated_at).collect();
        let versions: Vec<i64> = builtin.iter().map(|r| r.version).collect();
        let conn = self.conn().await?;
        sqlx::query(INSERT)
            .bind(org.id.as_uuid())
            .bind(org.slug.as_str())
            .bind(org.name.as_str())
            .bind(org.domain.as_ref().map(|d| d.as_str()))
            .bind(org.description.as_ref().map(|d| d.as_str()))
            .bind(org.logo_url.as_ref().map(|u| u.as_str()))
            .bind(org.icon_url.as_ref().map(|u| u.as_str()))
            .bind(org.parent_id.map(Uuid::from))
            .bind(org.seat_limit.map(i64::from))
            .bind(org.default_role_id.as_uuid())
            .bind(org.invitation_ttl.num_seconds())
            .bind(org.status.as_str())
            .bind(&org.created_by)
            .bind(&org.modified_by)
            .bind(org.created_at)
            .bind(org.updated_at)
            .bind(org.version)
            .bind(role_ids)
            .bind(role_orgs)
            .bind(keys)
            .bind(names)
            .bind(descriptions)
            .bind(builtins)
            .bind(created)
            .bind(org.partner)
            .bind(updated)
            .bind(versions)
            .bind(org.default_login_url.as_ref().map(|u| u.as_str()))
            .execute(&mut *conn)
            .await
            .map_err(store_error)?;
        for role in custom {
            roles::insert(&mut *conn, role).await?;
        }
        Ok(())
    }

    async fn organization_for_update(&mut self, id: OrgId) -> Result<Option<Organization>, StoreError> {
        lock(self.conn().await?, id, true).await
    }

    async fn organization_for_share(&mut self, id: OrgId) -> Result<Option<Organization>, StoreError> {
        lock(self.conn().await?, id, false).await
    }

    async fn update_organization(&mut self, org: &Organization) -> Result<(), StoreError> {
        sqlx::query(UPDATE)
            .bind(org.id.as_uuid())
            .bind(org.slug.as_str())
            .bind(org.name.as_str())
            .bind(org.domain.as_ref().map(|d| d.as_str()))
            .bind(org.description.as_ref().map(|d| d.as_str()))
            .bind(org.logo_url.as_ref().map(|u| u.as_str()))
            .bind(org.icon_url.as_ref().map(|u| u.as_str()))
            .bind(org.parent_id.map(Uuid::from))
            .bind(org.seat_limit.map(i64::from))
            .bind(org.default_role_id.as_uuid())
            .bind(org.invitation_ttl.num_seconds())
            .bind(org.status.as_str())
            .bind(&org.modified_by)
            .bind(org.updated_at)
            .bind(org.version)
            .bind(org.partner)
            .bind(org.default_login_url.as_ref().map(|u| u.as_str()))
            .execute(self.conn().await?)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn roles_of(&mut self, org: OrgId) -> Result<Vec<Role>, StoreError> {
        let found =
            sqlx::query(ROLES_OF).bind(org.as_uuid()).fetch_all(self.conn().await?).await.map_err(store_error)?;
        found.iter().map(rows::role).collect()
    }

    async fn insert_role(&mut self, role: &Role) -> Result<(), StoreError> {
        roles::insert(self.conn().await?, role).await
    }

    async fn role_for_update(&mut self, org: OrgId, id: RoleId) -> Result<Option<Role>, StoreError> {
        roles::for_update(self.conn().await?, org, id).await
    }

    async fn update_role(&mut self, role: &Role) -> Result<(), StoreError> {
        roles::update(self.conn().await?, role).await
    }

    async fn count_role_holders(&mut self, org: OrgId, role: RoleId) -> Result<u64, StoreError> {
        roles::count_holders(self.conn().await?, org, role).await
    }

    async fn reassign_role(
        &mut self,
        org: OrgId,
        from: RoleId,
        to: RoleId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        roles::reassign(self.conn().await?, org, from, to, at).await
    }

    async fn delete_role(&mut self, org: OrgId, id: RoleId) -> Result<(), StoreError> {
        roles::delete(self.conn().await?, org, id).await
    }
}
