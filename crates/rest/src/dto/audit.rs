//! Audit events and their filters.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use roster_domain::audit as domain;
use roster_domain::page::PageSize;
use roster_domain::service::ListAuditInput;
use roster_domain::validation::{ValidationErrors, Validator};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

use super::rules::{ParamRules, Rule};

/// One recorded change.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct AuditEvent {
    /// Its id; ids sort by time.
    pub id: Uuid,
    /// Who did it: `api_key:<id>` or `user:<id>`.
    #[schema(example = "user:0192f0c2-6c1e-7a3b-9d4e-5f6a7b8c9d0e")]
    pub actor: String,
    /// What was done.
    #[schema(example = "role.created")]
    pub action: String,
    /// The kind of resource changed (`user`, `role`, `grant`, `api_key`, …).
    #[schema(example = "role")]
    pub target_type: String,
    /// The changed resource's id.
    pub target_id: String,
    /// The id of the request that made the change (its `x-request-id`).
    pub request_id: Option<String>,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// A summary of the change: changed fields and their new values (never secrets).
    #[schema(example = json!({"key": "billing-admin"}))]
    pub details: BTreeMap<String, String>,
}

impl From<domain::AuditEvent> for AuditEvent {
    fn from(e: domain::AuditEvent) -> Self {
        Self {
            id: *e.id.as_uuid(),
            actor: e.actor,
            action: e.action,
            target_type: e.target_type,
            target_id: e.target_id,
            request_id: e.request_id,
            occurred_at: e.occurred_at,
            details: e.details,
        }
    }
}

/// Filters and page of an audit event list, newest first.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListAuditQuery {
    /// Only this actor's events (`api_key:<id>`, `user:<id>`).
    pub actor: Option<String>,
    /// Only this action (`user.created`, `role.deleted`, …).
    pub action: Option<String>,
    /// Only events about this resource id.
    pub target_id: Option<String>,
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only events before this time (after `since`).
    pub until: Option<DateTime<Utc>>,
    /// Page size.
    #[param(default = 50)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page; other values answer 422.
    pub cursor: Option<String>,
}

impl TryFrom<ListAuditQuery> for ListAuditInput {
    type Error = ValidationErrors;

    fn try_from(q: ListAuditQuery) -> Result<Self, Self::Error> {
        let mut v = Validator::default();
        let limit = v.check_opt("limit", q.limit, PageSize::new);
        let limit = v.build(|| limit)?.unwrap_or_default();
        Ok(Self {
            actor: q.actor,
            action: q.action,
            target_id: q.target_id,
            since: q.since,
            until: q.until,
            limit,
            cursor: q.cursor,
        })
    }
}

/// The domain's rule of each audit list parameter.
pub(crate) const PARAM_RULES: ParamRules = &[
    ("list_audit_events", "actor", Rule::Printable(200)),
    ("list_audit_events", "action", Rule::Printable(200)),
    ("list_audit_events", "target_id", Rule::Printable(200)),
    ("list_audit_events", "limit", Rule::PageSize),
    ("list_audit_events", "cursor", Rule::Cursor),
];
