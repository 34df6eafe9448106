//! Organizations and their roles.

use async_trait::async_trait;
use roster_domain::error::StoreError;
use roster_domain::ids::OrgId;
use roster_domain::organization::Organization;
use roster_domain::ports::{OrganizationReads, OrganizationWrites};
use roster_domain::role::Role;
use uuid::Uuid;

use crate::error::store_error;
use crate::pipeline::Query;
use crate::rows::{self, org_columns, role_columns};
use crate::{HotReads, PgTransaction, PostgresStorage};

pub(crate) const GET: &str =
    concat!("SELECT ", org_columns!(), " FROM organizations o WHERE o.id = $1 AND o.status <> 'deleted'");

const GET_FOR_UPDATE: &str =
    concat!("SELECT ", org_columns!(), " FROM organizations o WHERE o.id = $1 AND o.status <> 'deleted' FOR UPDATE");

const GET_FOR_SHARE: &str =
    concat!("SELECT ", org_columns!(), " FROM organizations o WHERE o.id = $1 AND o.status <> 'deleted' FOR SHARE");

const LIST_FIRST: &str =
    concat!("SELECT ", org_columns!(), " FROM organizations o WHERE o.status <> 'deleted' ORDER BY o.id LIMIT $1");

const LIST_AFTER: &str = concat!(
    "SELECT ",
    org_columns!(),
    " FROM organizations o WHERE o.status <> 'deleted' AND o.id > $2 ORDER BY o.id LIMIT $1"
);

/// Roles of a non-deleted organization, built-ins first.
const LIST_ROLES: &str = concat!(
    "SELECT ",
    role_columns!(),
    " FROM roles r JOIN organizations o ON o.id = r.org_id AND o.status <> 'deleted' \
     WHERE r.org_id = $1 ORDER BY r.builtin DESC, r.id"
);

/// Roles of an organization, whatever its status.
const ROLES_OF: &str =
    concat!("SELECT ", role_columns!(), " FROM roles r WHERE r.org_id = $1 ORDER BY r.builtin DESC, r.id");

/// The organization and its roles in one statement (the roles' foreign key is checked at
/// the end of the statement, when the organization row exists).
const INSERT: &str = "WITH new_org AS ( \
    INSERT INTO organizations (id, slug, name, domain, description, logo_url, icon_url, parent_id, seat_limit, \
        default_role_id, invitation_ttl_seconds, status, created_by, modified_by, created_at, updated_at, version) \
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)) \
    INSERT INTO roles (id, org_id, key, name, description, builtin, created_at) \
    SELECT * FROM unnest($18::uuid[], $19::uuid[], $20::text[], $21::text[], $22::text[], $23::bool[], \
        $24::timestamptz[])";

const UPDATE: &str = "UPDATE organizations SET slug = $2, name = $3, domain = $4, description = $5, logo_url = $6, \
    icon_url = $7, parent_id = $8, seat_limit = $9, default_role_id = $10, invitation_ttl_seconds = $11, \
    status = $12, modified_by = $13, updated_at = $14, version = $15 WHERE id = $1";

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

    async fn list_organizations(&self, after: Option<OrgId>, limit: u32) -> Result<Vec<Organization>, StoreError> {
        let query = match after {
            None => sqlx::query(LIST_FIRST).bind(i64::from(limit)),
            Some(after) => sqlx::query(LIST_AFTER).bind(i64::from(limit)).bind(*after.as_uuid()),
        };
        let found = query.fetch_all(&self.pool).await.map_err(store_error)?;
        found.iter().map(rows::organization).collect()
    }

    async fn list_roles(&self, org: OrgId) -> Result<Vec<Role>, StoreError> {
        let found = sqlx::query(LIST_ROLES).bind(org.as_uuid()).fetch_all(&self.pool).await.map_err(store_error)?;
        found.iter().map(rows::role).collect()
    }
}

#[async_trait]
impl OrganizationWrites for PgTransaction {
    async fn insert_organization(&mut self, org: &Organization, roles: &[Role]) -> Result<(), StoreError> {
        let role_ids: Vec<Uuid> = roles.iter().map(|r| *r.id.as_uuid()).collect();
        let role_orgs: Vec<Uuid> = roles.iter().map(|r| *r.org_id.as_uuid()).collect();
        let keys: Vec<&str> = roles.iter().map(|r| r.key.as_str()).collect();
        let names: Vec<&str> = roles.iter().map(|r| r.name.as_str()).collect();
        let descriptions: Vec<&str> = roles.iter().map(|r| r.description.as_str()).collect();
        let builtins: Vec<bool> = roles.iter().map(|r| r.builtin).collect();
        let created: Vec<_> = roles.iter().map(|r| r.created_at).collect();
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
            .execute(self.conn()?)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn organization_for_update(&mut self, id: OrgId) -> Result<Option<Organization>, StoreError> {
        let row =
            sqlx::query(GET_FOR_UPDATE).bind(id.as_uuid()).fetch_optional(self.conn()?).await.map_err(store_error)?;
        row.as_ref().map(rows::organization).transpose()
    }

    async fn organization_for_share(&mut self, id: OrgId) -> Result<Option<Organization>, StoreError> {
        let row =
            sqlx::query(GET_FOR_SHARE).bind(id.as_uuid()).fetch_optional(self.conn()?).await.map_err(store_error)?;
        row.as_ref().map(rows::organization).transpose()
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
            .execute(self.conn()?)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn roles_of(&mut self, org: OrgId) -> Result<Vec<Role>, StoreError> {
        let found = sqlx::query(ROLES_OF).bind(org.as_uuid()).fetch_all(self.conn()?).await.map_err(store_error)?;
        found.iter().map(rows::role).collect()
    }
}
