//! Recording and listing audit events.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::Roster;
use crate::audit::{AuditEvent, AuditQuery};
use crate::auth::Principal;
use crate::error::Error;
use crate::ids::{AuditEventId, OrgId};
use crate::page::{Cursor, Page, PageSize};
use crate::ports::Transaction;
use crate::validation::Validator;

const CURSOR_SCOPE: &str = "audit_events";

/// Filters for listing audit events, as the caller sent them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ListAuditInput {
    /// Only this actor's events (`api_key:<id>`, `user:<id>`).
    pub actor: Option<String>,
    /// Only this action (`user.created`).
    pub action: Option<String>,
    /// Only events about this resource id.
    pub target_id: Option<String>,
    /// Only events at or after this time.
    pub since: Option<DateTime<Utc>>,
    /// Only events before this time.
    pub until: Option<DateTime<Utc>>,
    /// Page size.
    pub limit: PageSize,
    /// Where the previous page ended.
    pub cursor: Option<String>,
}

fn bounded(v: &mut Validator, field: &str, raw: Option<String>) -> Option<String> {
    match raw {
        Some(s) if s.is_empty() || s.len() > 200 || s.chars().any(char::is_control) => {
            v.push(field, "invalid", format!("{field} must be 1-200 printable characters"));
            None
        }
        other => other,
    }
}

impl Roster {
    /// Records `action` on `target` in the change's own transaction.
    pub(super) async fn audit(
        &self,
        tx: &mut dyn Transaction,
        principal: &Principal,
        org: OrgId,
        action: &str,
        target: (&str, String),
        details: BTreeMap<String, String>,
    ) -> Result<(), Error> {
        Ok(tx.insert_audit_event(&self.event_of(principal, org, action, target, details)).await?)
    }

    /// Records an event whose actor is not a principal (an invitee accepting).
    pub(super) async fn audit_as(
        &self,
        tx: &mut dyn Transaction,
        (actor, request_id): (String, Option<&str>),
        org: OrgId,
        action: &str,
        target: (&str, String),
        details: BTreeMap<String, String>,
    ) -> Result<(), Error> {
        let event = self.audit_event((actor, request_id), org, action, target, details);
        Ok(tx.insert_audit_event(&event).await?)
    }

    /// The event of `principal` doing `action` on `target`, to be written with the change.
    pub(super) fn event_of(
        &self,
        principal: &Principal,
        org: OrgId,
        action: &str,
        target: (&str, String),
        details: BTreeMap<String, String>,
    ) -> AuditEvent {
        self.audit_event((principal.actor(), principal.request_id()), org, action, target, details)
    }

    fn audit_event(
        &self,
        (actor, request_id): (String, Option<&str>),
        org: OrgId,
        action: &str,
        target: (&str, String),
        details: BTreeMap<String, String>,
    ) -> AuditEvent {
        AuditEvent {
            id: AuditEventId::from_uuid(self.new_id()),
            org_id: org,
            actor,
            action: action.to_owned(),
            target_type: target.0.to_owned(),
            target_id: target.1,
            request_id: request_id.map(str::to_owned),
            occurred_at: self.clock.now(),
            details,
        }
    }

    /// A page of an organization's audit events, newest first. Needs `audit.read`.
    ///
    /// # Errors
    /// [`Error::NotFound`] / [`Error::Forbidden`] by reach and permission,
    /// [`Error::Validation`] for bad filters or a foreign cursor.
    pub async fn list_audit_events(
        &self,
        principal: &Principal,
        org: OrgId,
        input: ListAuditInput,
    ) -> Result<Page<AuditEvent>, Error> {
        self.authorize(principal, org, "audit.read").await?;
        let mut v = Validator::default();
        let actor = bounded(&mut v, "actor", input.actor);
        let action = bounded(&mut v, "action", input.action);
        let target_id = bounded(&mut v, "target_id", input.target_id);
        if let (Some(since), Some(until)) = (input.since, input.until)
            && since >= until
        {
            v.push("until", "invalid", "until must be after since");
        }
        let before = match input.cursor.as_deref().map(|raw| Cursor::decode(raw, CURSOR_SCOPE)) {
            None => None,
            Some(Ok((_, id))) => Some(AuditEventId::from_uuid(id)),
            Some(Err(e)) => {
                v.push("cursor", "invalid", e.to_string());
                None
            }
        };
        v.finish()?;
        let query = AuditQuery {
            actor,
            action,
            target_id,
            since: input.since,
            until: input.until,
            before,
            limit: input.limit.get() + 1,
        };
        let rows = self.storage.list_audit_events(org, &query).await?;
        Ok(Page::from_rows(rows, input.limit, |e| Cursor::encode(CURSOR_SCOPE, "", e.id.as_uuid())))
    }
}

/// Builds a details map from `(field, value)` pairs.
pub(super) fn details<const N: usize>(pairs: [(&str, String); N]) -> BTreeMap<String, String> {
    pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect()
}
