//! Audit events: written in the change's transaction, listed newest first.

use async_trait::async_trait;
use roster_domain::audit::{AuditEvent, AuditQuery};
use roster_domain::error::StoreError;
use roster_domain::ids::OrgId;
use roster_domain::ports::{AuditReads, AuditWrites};
use sqlx::{Postgres, QueryBuilder};

use crate::error::store_error;
use crate::rows::{self, audit_columns};
use crate::{PgTransaction, PostgresStorage};

/// Appends the `list_audit_events` query to `sql`. Ids are UUIDv7, so newest first is id
/// order, descending; each shape walks one index in that order: `audit_events_org_idx
/// (org_id, id DESC)`, or with a filter `audit_events_org_actor_idx`,
/// `audit_events_org_action_idx` or `audit_events_org_target_idx` (`(org_id, <filter>,
/// id DESC)`). The time bounds filter the rows the index yields.
pub(crate) fn push_list_audit_events(sql: &mut QueryBuilder<'_, Postgres>, org: OrgId, query: &AuditQuery) {
    sql.push(concat!("SELECT ", audit_columns!(), " FROM audit_events a WHERE a.org_id = ")).push_bind(*org.as_uuid());
    if let Some(actor) = &query.actor {
        sql.push(" AND a.actor = ").push_bind(actor.clone());
    }
    if let Some(action) = &query.action {
        sql.push(" AND a.action = ").push_bind(action.clone());
    }
    if let Some(target) = &query.target_id {
        sql.push(" AND a.target_id = ").push_bind(target.clone());
    }
    if let Some(since) = query.since {
        sql.push(" AND a.occurred_at >= ").push_bind(since);
    }
    if let Some(until) = query.until {
        sql.push(" AND a.occurred_at < ").push_bind(until);
    }
    if let Some(before) = query.before {
        sql.push(" AND a.id < ").push_bind(*before.as_uuid());
    }
    sql.push(" ORDER BY a.id DESC LIMIT ").push_bind(i64::from(query.limit));
}

#[async_trait]
impl AuditReads for PostgresStorage {
    async fn list_audit_events(&self, org: OrgId, query: &AuditQuery) -> Result<Vec<AuditEvent>, StoreError> {
        let mut sql = QueryBuilder::new("");
        push_list_audit_events(&mut sql, org, query);
        let found = sql.build().fetch_all(&self.pool).await.map_err(store_error)?;
        found.iter().map(rows::audit_event).collect()
    }
}

#[async_trait]
impl AuditWrites for PgTransaction {
    async fn insert_audit_event(&mut self, event: &AuditEvent) -> Result<(), StoreError> {
        // Written with the transaction's next statement (crate::appends).
        self.appends.audit(event);
        Ok(())
    }
}
