//! Organizations and their roles.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use roster_domain::error::StoreError;
use roster_domain::ids::{OrgId, RoleId};
use roster_domain::organization::Organization;
use roster_domain::ports::{OrganizationReads, OrganizationWrites};
use roster_domain::role::Role;
use roster_domain::values::Slug;
use sqlx::{QueryBuilder, Sqlite, SqliteExecutor};

use crate::error::{AdapterError, store_error};
use crate::rows::{self, ORG_COLUMNS, ROLE_COLUMNS};
use crate::{SqliteStorage, SqliteTransaction, roles};

/// The non-deleted organization `id`.
async fn fetch_organization<'e>(exec: impl SqliteExecutor<'e>, id: OrgId) -> Result<Option<Organization>, StoreError> {
    let sql = format!("SELECT {ORG_COLUMNS} FROM organizations o WHERE o.id = ? AND o.status <> 'deleted'");
    let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(exec).await.map_err(store_error)?;
    row.as_ref().map(rows::organization).transpose()
}

/// The roles of `org`, built-ins first, then by key; only while the organization is not
/// deleted when `live_org_only`.
async fn fetch_roles<'e>(
    exec: impl SqliteExecutor<'e>,
    org: OrgId,
    live_org_only: bool,
) -> Result<Vec<Role>, StoreError> {
    let join = if live_org_only { "JOIN organizations o ON o.id = r.org_id AND o.status <> 'deleted' " } else { "" };
    let sql = format!("SELECT {ROLE_COLUMNS} FROM roles r {join}WHERE r.org_id = ? ORDER BY r.builtin DESC, r.key");
    let rows = sqlx::query(&sql).bind(org.to_string()).fetch_all(exec).await.map_err(store_error)?;
    rows.iter().map(rows::role).collect()
}

#[async_trait]
impl OrganizationReads for SqliteStorage {
    #[tracing::instrument(level = "debug", skip_all, fields(org = %id), err(level = "debug"))]
    async fn get_organization(&self, id: OrgId) -> Result<Option<Organization>, StoreError> {
        fetch_organization(&self.pool, id).await
    }

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn get_organization_by_slug(&self, slug: &Slug) -> Result<Option<Organization>, StoreError> {
        let sql = format!("SELECT {ORG_COLUMNS} FROM organizations o WHERE o.slug = ? AND o.status <> 'deleted'");
        let row = sqlx::query(&sql).bind(slug.as_str()).fetch_optional(&self.pool).await.map_err(store_error)?;
        row.as_ref().map(rows::organization).transpose()
    }

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn list_organizations(
        &self,
        within: Option<OrgId>,
        after: Option<OrgId>,
        limit: u32,
    ) -> Result<Vec<Organization>, StoreError> {
        let mut query = QueryBuilder::<Sqlite>::new(format!(
            "SELECT {ORG_COLUMNS} FROM organizations o WHERE o.status <> 'deleted'"
        ));
        if let Some(within) = within {
            // The organization itself and its children (organizations_parent_idx).
            let within = within.to_string();
            query
                .push(" AND o.id IN (SELECT ")
                .push_bind(within.clone())
                .push(" UNION ALL SELECT c.id FROM organizations c WHERE c.parent_id = ")
                .push_bind(within)
                .push(")");
        }
        if let Some(after) = after {
            query.push(" AND o.id > ").push_bind(after.to_string());
        }
        query.push(" ORDER BY o.id LIMIT ").push_bind(i64::from(limit));
        let rows = query.build().fetch_all(&self.pool).await.map_err(store_error)?;
        rows.iter().map(rows::organization).collect()
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org), err(level = "debug"))]
    async fn list_roles(&self, org: OrgId) -> Result<Vec<Role>, StoreError> {
        fetch_roles(&self.pool, org, true).await
    }
}

#[async_trait]
impl OrganizationWrites for SqliteTransaction {
    #[tracing::instrument(level = "debug", skip_all, fields(org = %org.id), err(level = "debug"))]
    async fn insert_organization(&mut self, org: &Organization, roles: &[Role]) -> Result<(), StoreError> {
        let mut op = self.savepoint().await?;
        sqlx::query(
            "INSERT INTO organizations (id, slug, name, domain, description, logo_url, icon_url, parent_id, \
             seat_limit, default_role_id, invitation_ttl_seconds, status, created_by, modified_by, created_at, \
             updated_at, version, partner, default_login_url) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(org.id.to_string())
        .bind(org.slug.as_str())
        .bind(org.name.as_str())
        .bind(org.domain.as_ref().map(|d| d.as_str()))
        .bind(org.description.as_ref().map(|d| d.as_str()))
        .bind(org.logo_url.as_ref().map(|u| u.as_str()))
        .bind(org.icon_url.as_ref().map(|u| u.as_str()))
        .bind(org.parent_id.map(|p| p.to_string()))
        .bind(org.seat_limit.map(i64::from))
        .bind(org.default_role_id.to_string())
        .bind(org.invitation_ttl.num_seconds())
        .bind(org.status.as_str())
        .bind(&org.created_by)
        .bind(&org.modified_by)
        .bind(org.created_at)
        .bind(org.updated_at)
        .bind(org.version)
        .bind(org.partner)
        .bind(org.default_login_url.as_ref().map(|u| u.as_str()))
        .execute(&mut *op)
        .await
        .map_err(store_error)?;
        roles::insert(&mut op, roles).await?;
        op.commit().await.map_err(store_error)
    }

    /// A plain read: the `BEGIN IMMEDIATE` transaction already holds SQLite's write lock.
    #[tracing::instrument(level = "debug", skip_all, fields(org = %id), err(level = "debug"))]
    async fn organization_for_update(&mut self, id: OrgId) -> Result<Option<Organization>, StoreError> {
        fetch_organization(self.conn()?, id).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org.id), err(level = "debug"))]
    async fn update_organization(&mut self, org: &Organization) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE organizations SET slug = ?, name = ?, domain = ?, description = ?, logo_url = ?, icon_url = ?, \
             parent_id = ?, seat_limit = ?, default_role_id = ?, invitation_ttl_seconds = ?, status = ?, \
             modified_by = ?, updated_at = ?, version = ?, partner = ?, default_login_url = ? WHERE id = ?",
        )
        .bind(org.slug.as_str())
        .bind(org.name.as_str())
        .bind(org.domain.as_ref().map(|d| d.as_str()))
        .bind(org.description.as_ref().map(|d| d.as_str()))
        .bind(org.logo_url.as_ref().map(|u| u.as_str()))
        .bind(org.icon_url.as_ref().map(|u| u.as_str()))
        .bind(org.parent_id.map(|p| p.to_string()))
        .bind(org.seat_limit.map(i64::from))
        .bind(org.default_role_id.to_string())
        .bind(org.invitation_ttl.num_seconds())
        .bind(org.status.as_str())
        .bind(&org.modified_by)
        .bind(org.updated_at)
        .bind(org.version)
        .bind(org.partner)
        .bind(org.default_login_url.as_ref().map(|u| u.as_str()))
        .bind(org.id.to_string())
        .execute(self.conn()?)
        .await
        .map_err(store_error)?;
        if done.rows_affected() == 0 {
            return Err(AdapterError::NoRow("organization").into());
        }
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org), err(level = "debug"))]
    async fn roles_of(&mut self, org: OrgId) -> Result<Vec<Role>, StoreError> {
        fetch_roles(self.conn()?, org, false).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %role.org_id, role = %role.id), err(level = "debug"))]
    async fn insert_role(&mut self, role: &Role) -> Result<(), StoreError> {
        roles::insert(self.conn()?, std::slice::from_ref(role)).await
    }

    /// A plain read: the `BEGIN IMMEDIATE` transaction already holds SQLite's write lock.
    #[tracing::instrument(level = "debug", skip_all, fields(org = %org, role = %id), err(level = "debug"))]
    async fn role_for_update(&mut self, org: OrgId, id: RoleId) -> Result<Option<Role>, StoreError> {
        roles::fetch(self.conn()?, org, id).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %role.org_id, role = %role.id), err(level = "debug"))]
    async fn update_role(&mut self, role: &Role) -> Result<(), StoreError> {
        roles::update(self.conn()?, role).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org, role = %role), err(level = "debug"))]
    async fn count_role_holders(&mut self, org: OrgId, role: RoleId) -> Result<u64, StoreError> {
        roles::count_holders(self.conn()?, org, role).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org, from = %from, to = %to), err(level = "debug"))]
    async fn reassign_role(
        &mut self,
        org: OrgId,
        from: RoleId,
        to: RoleId,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut op = self.savepoint().await?;
        roles::reassign(&mut op, org, from, to, at).await?;
        op.commit().await.map_err(store_error)
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %org, role = %id), err(level = "debug"))]
    async fn delete_role(&mut self, org: OrgId, id: RoleId) -> Result<(), StoreError> {
        let mut op = self.savepoint().await?;
        roles::delete(&mut op, org, id).await?;
        op.commit().await.map_err(store_error)
    }
}
