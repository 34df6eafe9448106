//! Audit events: who did what to which resource, when, written in the same transaction
//! as the change. Details never hold secrets or password hashes.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use crate::ids::{AuditEventId, OrgId};

/// One recorded change.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuditEvent {
    /// Its id (UUIDv7, so ids sort by time).
    pub id: AuditEventId,
    /// The organization the change happened in.
    pub org_id: OrgId,
    /// Who did it (`api_key:<id>`, `user:<id>`).
    pub actor: String,
    /// What was done: `user.created`, `role.deleted`, `session.created`, ….
    pub action: String,
    /// The kind of resource changed: `user`, `role`, `api_key`, ….
    pub target_type: String,
    /// The changed resource's id.
    pub target_id: String,
    /// The request that made the change, when known.
    pub request_id: Option<String>,
    /// When it happened.
    pub occurred_at: DateTime<Utc>,
    /// A small summary of the change: changed fields and their new values.
    pub details: BTreeMap<String, String>,
}

/// Which events to list, newest first.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditQuery {
    /// Only this actor's.
    pub actor: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// Only changes to this resource id.
    pub target_id: Option<String>,
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only events before this time.
    pub until: Option<DateTime<Utc>>,
    /// Only events older than this one (the cursor).
    pub before: Option<AuditEventId>,
    /// At most this many.
    pub limit: u32,
}
