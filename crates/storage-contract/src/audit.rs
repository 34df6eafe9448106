//! Audit events: written in a transaction, listed newest first per organization with
//! filters, a time range and a cursor.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use roster_domain::audit::{AuditEvent, AuditQuery};
use roster_domain::ids::{AuditEventId, OrgId};
use uuid::Uuid;

use crate::fixtures::{Store, at, create_org, org_id};

/// `n` event ids in ascending order.
fn ascending_ids(n: usize) -> Vec<AuditEventId> {
    let mut ids: Vec<Uuid> = (0..n).map(|_| Uuid::now_v7()).collect();
    ids.sort();
    ids.into_iter().map(AuditEventId::from_uuid).collect()
}

/// One event per `(actor, action, target_id)`, in that order (ascending ids), a minute
/// apart from `start`.
fn events(org: OrgId, start: DateTime<Utc>, specs: &[(&str, &str, &str)]) -> Vec<AuditEvent> {
    ascending_ids(specs.len())
        .into_iter()
        .zip(specs)
        .enumerate()
        .map(|(i, (id, (actor, action, target)))| AuditEvent {
            id,
            org_id: org,
            actor: (*actor).to_owned(),
            action: (*action).to_owned(),
            target_type: action.split('.').next().unwrap_or_default().to_owned(),
            target_id: (*target).to_owned(),
            request_id: Some(format!("req-{i}")),
            occurred_at: start + Duration::minutes(i64::try_from(i).unwrap()),
            details: BTreeMap::from([("n".to_owned(), i.to_string())]),
        })
        .collect()
}

async fn insert_events(store: &Store, events: &[AuditEvent]) {
    let mut tx = store.begin().await.expect("begin");
    for event in events {
        tx.insert_audit_event(event).await.expect("insert_audit_event");
    }
    tx.commit().await.expect("commit");
}

fn query(limit: u32) -> AuditQuery {
    AuditQuery { limit, ..AuditQuery::default() }
}

/// The events of `all` at these indexes, newest first.
fn newest_first(all: &[AuditEvent], indexes: &[usize]) -> Vec<AuditEvent> {
    let mut picked: Vec<AuditEvent> = indexes.iter().map(|&i| all[i].clone()).collect();
    picked.sort_by_key(|e| std::cmp::Reverse(e.id));
    picked
}

const SPECS: &[(&str, &str, &str)] = &[
    ("api_key:a", "user.created", "u1"),
    ("api_key:a", "user.updated", "u1"),
    ("user:b", "role.created", "r1"),
    ("api_key:a", "user.created", "u2"),
    ("user:b", "user.updated", "u2"),
    ("user:b", "user.deleted", "u1"),
];

/// Every field reads back (details with any text, no request id); events are listed
/// newest first (by id), limited, and only the organization's own.
pub async fn audit_events_round_trip_newest_first_per_organization(store: Store) {
    let acme = create_org(&store, "acme").await;
    let globex = create_org(&store, "globex").await;
    let start = at("2025-01-01T00:00:00.000001Z");
    let mut acme_events = events(acme.id(), start, SPECS);
    acme_events[0].request_id = None;
    acme_events[0].details = BTreeMap::from([
        ("email".to_owned(), "Ada@Example.com".to_owned()),
        ("quote".to_owned(), "\"ünïcödé\" — % _ \\ ' {}".to_owned()),
        ("empty".to_owned(), String::new()),
    ]);
    acme_events[1].details = BTreeMap::new();
    let globex_events = events(globex.id(), start, &[("api_key:a", "user.created", "u1")]);
    // Inserted newest first, so insertion order cannot pass for the order.
    let mut reversed = acme_events.clone();
    reversed.reverse();
    insert_events(&store, &reversed).await;
    insert_events(&store, &globex_events).await;

    let all: Vec<usize> = (0..SPECS.len()).collect();
    assert_eq!(store.list_audit_events(acme.id(), &query(100)).await.unwrap(), newest_first(&acme_events, &all));
    assert_eq!(store.list_audit_events(acme.id(), &query(2)).await.unwrap(), newest_first(&acme_events, &[4, 5]));
    assert_eq!(store.list_audit_events(globex.id(), &query(100)).await.unwrap(), globex_events);
    assert!(store.list_audit_events(org_id(), &query(100)).await.unwrap().is_empty());
}

/// Each filter (actor, action, target id) narrows the list; filters combine.
pub async fn audit_filters_select_matching_events(store: Store) {
    let acme = create_org(&store, "acme").await;
    let globex = create_org(&store, "globex").await;
    let start = at("2025-01-01T00:00:00Z");
    let all = events(acme.id(), start, SPECS);
    insert_events(&store, &all).await;
    insert_events(&store, &events(globex.id(), start, SPECS)).await;
    let org = acme.id();
    let list = |q: AuditQuery| {
        let store = store.clone();
        async move { store.list_audit_events(org, &q).await.unwrap() }
    };
    let by_actor = AuditQuery { actor: Some("user:b".into()), ..query(100) };
    assert_eq!(list(by_actor).await, newest_first(&all, &[2, 4, 5]));
    let by_action = AuditQuery { action: Some("user.created".into()), ..query(100) };
    assert_eq!(list(by_action).await, newest_first(&all, &[0, 3]));
    let by_target = AuditQuery { target_id: Some("u1".into()), ..query(100) };
    assert_eq!(list(by_target).await, newest_first(&all, &[0, 1, 5]));
    let combined = AuditQuery { actor: Some("api_key:a".into()), target_id: Some("u1".into()), ..query(100) };
    assert_eq!(list(combined).await, newest_first(&all, &[0, 1]));
    let limited = AuditQuery { target_id: Some("u1".into()), ..query(1) };
    assert_eq!(list(limited).await, newest_first(&all, &[5]));
    let nothing = AuditQuery { action: Some("user".into()), ..query(100) };
    assert!(list(nothing).await.is_empty(), "filters match whole values");
}

/// `since` keeps events at or after it, `until` events before it; the `before` cursor
/// keeps events older than that id, so pages walk the whole list once.
pub async fn audit_time_range_and_cursor(store: Store) {
    let acme = create_org(&store, "acme").await;
    let start = at("2025-01-01T00:00:00Z");
    let all = events(acme.id(), start, SPECS);
    insert_events(&store, &all).await;
    let org = acme.id();
    let list = |q: AuditQuery| {
        let store = store.clone();
        async move { store.list_audit_events(org, &q).await.unwrap() }
    };
    let minute = |i: i64| start + Duration::minutes(i);

    assert_eq!(list(AuditQuery { since: Some(minute(2)), ..query(100) }).await, newest_first(&all, &[2, 3, 4, 5]));
    assert_eq!(list(AuditQuery { until: Some(minute(2)), ..query(100) }).await, newest_first(&all, &[0, 1]));
    let window = AuditQuery { since: Some(minute(1)), until: Some(minute(4)), ..query(100) };
    assert_eq!(list(window).await, newest_first(&all, &[1, 2, 3]));
    let instant = AuditQuery { since: Some(minute(1) + Duration::microseconds(1)), ..query(100) };
    assert_eq!(list(instant).await, newest_first(&all, &[2, 3, 4, 5]));

    assert_eq!(list(AuditQuery { before: Some(all[3].id), ..query(100) }).await, newest_first(&all, &[0, 1, 2]));
    let by_b = AuditQuery { actor: Some("user:b".into()), before: Some(all[5].id), ..query(100) };
    assert_eq!(list(by_b).await, newest_first(&all, &[2, 4]));

    let mut walked = Vec::new();
    let mut before = None;
    loop {
        let page = list(AuditQuery { before, ..query(4) }).await;
        assert!(page.len() <= 4);
        before = page.last().map(|e| e.id);
        let done = page.len() < 4;
        walked.extend(page);
        if done {
            break;
        }
        assert!(walked.len() <= all.len(), "pagination runs past the end");
    }
    let everything: Vec<usize> = (0..all.len()).collect();
    assert_eq!(walked, newest_first(&all, &everything));
}
