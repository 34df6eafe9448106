//! Audit events: written in the changing transaction, read newest first.

use async_trait::async_trait;
use roster_domain::audit::{AuditEvent, AuditQuery};
use roster_domain::error::StoreError;
use roster_domain::ids::OrgId;
use roster_domain::ports::{AuditReads, AuditWrites};
use sqlx::{QueryBuilder, Sqlite};

use crate::error::store_error;
use crate::rows::{self, AUDIT_COLUMNS};
use crate::{SqliteStorage, SqliteTransaction};

#[async_trait]
impl AuditReads for SqliteStorage {
    /// Each filter has an `(org_id, filter, id)` index, read backwards from the cursor.
    #[tracing::instrument(level = "debug", skip_all, fields(org = %org), err(level = "debug"))]
    async fn list_audit_events(&self, org: OrgId, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        let mut sql =
            QueryBuilder::<Sqlite>::new(format!("SELECT {AUDIT_COLUMNS} FROM audit_events e WHERE e.org_id = "));
        sql.push_bind(org.to_string());
        if let Some(actor) = &query.actor {
            sql.push(" AND e.actor = ").push_bind(actor.clone());
        }
        if let Some(action) = &query.action {
            sql.push(" AND e.action = ").push_bind(action.clone());
        }
        if let Some(target) = &query.target_id {
            sql.push(" AND e.target_id = ").push_bind(target.clone());
        }
        if let Some(since) = query.since {
            sql.push(" AND e.occurred_at >= ").push_bind(since);
        }
        if let Some(until) = query.until {
            sql.push(" AND e.occurred_at < ").push_bind(until);
        }
        if let Some(before) = query.before {
            sql.push(" AND e.id < ").push_bind(before.to_string());
        }
        sql.push(" ORDER BY e.id DESC LIMIT ").push_bind(i64::from(query.limit));
        let rows = sql.build().fetch_all(&self.pool).await.map_err(store_error)?;
        rows.iter().map(rows::audit_event).collect()
    }
}

#[async_trait]
impl AuditWrites for SqliteTransaction {
    #[tracing::instrument(level = "debug", skip_all, fields(org = %event.org_id, action = %event.action), err(level = "debug"))]
    async fn insert_audit_event(&mut self, event: &AuditEvent) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO audit_events (id, org_id, actor, action, target_type, target_id, request_id, occurred_at, \
             details) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(event.id.to_string())
        .bind(event.org_id.to_string())
        .bind(event.actor.as_str())
        .bind(event.action.as_str())
        .bind(event.target_type.as_str())
        .bind(event.target_id.as_str())
        .bind(event.request_id.as_deref())
        .bind(event.occurred_at)
        .bind(rows::details_json(&event.details)?)
        .execute(self.conn()?)
        .await
        .map_err(store_error)?;
        Ok(())
    }
}
