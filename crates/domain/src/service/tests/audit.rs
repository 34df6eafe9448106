//! Audit events: every change records who did what, with the request id, in the change's
//! own transaction — and never a password, a hash or a token.

use chrono::Duration;

use super::support::{
    Tenant, begins, declines_at_once, fake_hash, fake_hasher, invalid_field_names, now, roster, roster_with, run, take,
    uuid,
};
use crate::audit::{AuditEvent, AuditQuery};
use crate::error::{Error, StoreError, Unique};
use crate::ids::AuditEventId;
use crate::mocks::{MockStorage, MockTransaction};
use crate::page::PageSize;
use crate::role::BuiltinRole;
use crate::service::ListAuditInput;
use crate::user_input::{CreateUserInput, UpdateUserInput};

const PASSWORD: &str = "correct horse battery";

fn ada() -> CreateUserInput {
    CreateUserInput { email: Some("ada@example.com".into()), name: Some("Ada".into()), ..Default::default() }
}

fn no_secret_in(event: &AuditEvent, secrets: &[&str]) -> bool {
    let text = format!("{:?}", event.details);
    secrets.iter().all(|s| !text.contains(s))
}

#[test]
fn creating_a_user_records_one_event_with_the_request_id_and_actor_and_no_password() {
    let tenant = Tenant::new("acme");
    let (storage, inserted) = tenant.storage_creating();
    let principal = tenant.key().with_request_id("req-42");
    let input = CreateUserInput { password: Some(PASSWORD.into()), ..ada() };
    run(roster_with(storage, fake_hasher(1)).create_user(&principal, tenant.id(), input)).unwrap();
    let user = take(&inserted);

    let events = tenant.audit_events();
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.action, "user.created");
    assert_eq!(event.request_id.as_deref(), Some("req-42"));
    assert_eq!(event.actor, principal.actor());
    assert_eq!(event.org_id, tenant.id());
    assert_eq!((event.target_type.as_str(), event.target_id.clone()), ("user", user.id.to_string()));
    assert_eq!(event.occurred_at, now());
    assert_eq!(event.details.get("email").map(String::as_str), Some("ada@example.com"));
    let hash = fake_hash(PASSWORD);
    assert!(no_secret_in(event, &[PASSWORD, hash.as_phc()]), "{:?}", event.details);
}

#[test]
fn a_generated_password_is_not_recorded() {
    let tenant = Tenant::new("acme");
    let (storage, inserted) = tenant.storage_creating();
    let login_url = Some("https://app.example.com/login".to_owned());
    let input = CreateUserInput { generate_password: true, login_url, ..ada() };
    let created = run(roster_with(storage, fake_hasher(1)).create_user(&tenant.key(), tenant.id(), input)).unwrap();
    let password = created.generated_password.unwrap();
    let hash = take(&inserted).password_hash.unwrap();
    assert!(no_secret_in(&tenant.audit_events()[0], &[password.expose(), hash.as_phc()]));
}

#[test]
fn a_sessions_event_names_its_user_as_actor() {
    let tenant = Tenant::new("acme");
    let (storage, _) = tenant.storage_creating();
    let admin = tenant.session_as(BuiltinRole::Admin);
    run(roster(storage).create_user(&admin, tenant.id(), ada())).unwrap();
    assert_eq!(tenant.audit_events()[0].actor, format!("user:{}", admin.user_id().unwrap()));
    assert_eq!(tenant.audit_events()[0].request_id, None);
}

#[test]
fn the_event_is_written_in_the_changes_transaction_before_it_commits() {
    let tenant = Tenant::new("acme");
    let mut tx = MockTransaction::new();
    tx.expect_revoke_user_sessions().returning(|_, _, _| Ok(0));
    let org = tenant.org.clone();
    tx.expect_organization_for_share().returning(move |_| Ok(Some(org.clone())));
    let roles = tenant.roles.clone();
    tx.expect_roles_of().returning(move |_| Ok(roles.clone()));
    tx.expect_username_taken().returning(|_, _| Ok(false));
    let mut seq = mockall::Sequence::new();
    tx.expect_insert_user().times(1).in_sequence(&mut seq).returning(|_| Ok(()));
    // The user's event, and the invitation's with the invitation and its email.
    tx.expect_insert_audit_event().times(2).in_sequence(&mut seq).returning(|_| Ok(()));
    tx.expect_insert_invitation().times(1).in_sequence(&mut seq).returning(|_| Ok(()));
    tx.expect_insert_outbox_message().times(1).in_sequence(&mut seq).returning(|_| Ok(()));
    tx.expect_commit().times(1).in_sequence(&mut seq).returning(|| Ok(()));
    // The organization changed since it was read: the creation takes the transaction.
    let mut storage = tenant.storage();
    tenant.lists_roles(&mut storage);
    declines_at_once(&mut storage);
    begins(&mut storage, tx);
    run(roster(storage).create_user(&tenant.key(), tenant.id(), ada())).unwrap();
}

#[test]
fn a_change_that_fails_records_no_event() {
    let tenant = Tenant::new("acme");
    let mut tx = tenant.tx();
    tx.expect_username_taken().returning(|_, _| Ok(false));
    tx.expect_insert_user().returning(|_| Err(StoreError::Duplicate(Unique::UserEmail)));
    tx.expect_commit().times(0);
    let mut storage = tenant.storage();
    tenant.lists_roles(&mut storage);
    declines_at_once(&mut storage);
    begins(&mut storage, tx);
    assert!(matches!(run(roster(storage).create_user(&tenant.key(), tenant.id(), ada())), Err(Error::EmailTaken)));
    assert!(tenant.audit_events().is_empty());
}

#[test]
fn a_password_change_is_recorded_as_changed_without_the_password() {
    let tenant = Tenant::new("acme");
    let user = tenant.user("ada@example.com");
    let mut storage = tenant.storage();
    let view = tenant.view(&user);
    storage.expect_get_user().returning(move |_, _| Ok(Some(view.clone())));
    let mut tx = tenant.tx();
    let stored = user.clone();
    tx.expect_user_for_update().returning(move |_, _| Ok(Some(stored.clone())));
    tx.expect_update_user().returning(|_| Ok(()));
    tx.expect_commit().returning(|| Ok(()));
    begins(&mut storage, tx);
    let input = UpdateUserInput { password: Some(PASSWORD.into()), ..Default::default() };
    let principal = tenant.key().with_request_id("req-7");
    run(roster_with(storage, fake_hasher(1)).update_user(&principal, tenant.id(), user.id, input, None)).unwrap();
    let events = tenant.audit_events();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].action, "user.updated");
    assert_eq!(events[0].request_id.as_deref(), Some("req-7"));
    assert_eq!(events[0].details.get("password").map(String::as_str), Some("changed"));
    assert!(no_secret_in(&events[0], &[PASSWORD, fake_hash(PASSWORD).as_phc()]));
}

fn event(tenant: &Tenant, action: &str) -> AuditEvent {
    AuditEvent {
        id: AuditEventId::from_uuid(uuid()),
        org_id: tenant.id(),
        actor: "api_key:x".into(),
        action: action.into(),
        target_type: "user".into(),
        target_id: uuid().to_string(),
        request_id: None,
        occurred_at: now(),
        details: Default::default(),
    }
}

#[test]
fn listing_audit_events_needs_audit_read() {
    let tenant = Tenant::new("acme");
    let mut storage = MockStorage::new();
    storage.expect_list_grants().returning(|_, _| Ok(Vec::new()));
    storage.expect_list_audit_events().times(0);
    let member = tenant.session_as(BuiltinRole::Member);
    let result = run(roster(storage).list_audit_events(&member, tenant.id(), ListAuditInput::default()));
    assert!(matches!(result, Err(Error::Forbidden)));
}

#[test]
fn audit_filters_reach_storage_and_pages_continue_before_the_last_event() {
    let tenant = Tenant::new("acme");
    let events: Vec<AuditEvent> = (0..3).map(|_| event(&tenant, "user.created")).rev().collect();
    let since = now() - Duration::days(1);
    let mut storage = MockStorage::new();
    storage.expect_list_grants().returning(|_, _| Ok(Vec::new()));
    let (org, rows) = (tenant.id(), events.clone());
    storage
        .expect_list_audit_events()
        .withf(move |o, q: &AuditQuery| {
            *o == org
                && q.action.as_deref() == Some("user.created")
                && q.actor.as_deref() == Some("api_key:x")
                && q.since == Some(since)
                && q.before.is_none()
                && q.limit == 3
        })
        .times(1)
        .returning(move |_, _| Ok(rows.clone()));
    let last = events[1].id;
    storage
        .expect_list_audit_events()
        .withf(move |_, q| q.before == Some(last))
        .times(1)
        .returning(|_, _| Ok(Vec::new()));
    let roster = roster(storage);
    let input = ListAuditInput {
        actor: Some("api_key:x".into()),
        action: Some("user.created".into()),
        since: Some(since),
        limit: PageSize::new(2).unwrap(),
        ..Default::default()
    };
    let page = run(roster.list_audit_events(&tenant.key(), tenant.id(), input.clone())).unwrap();
    assert_eq!(page.items, events[..2]);
    let cursor = page.next_cursor.unwrap().to_string();
    let next = ListAuditInput { cursor: Some(cursor), ..input };
    assert!(run(roster.list_audit_events(&tenant.key(), tenant.id(), next)).unwrap().items.is_empty());
}

#[test]
fn bad_audit_filters_are_validation_errors_before_storage() {
    let tenant = Tenant::new("acme");
    let mut storage = MockStorage::new();
    storage.expect_list_grants().returning(|_, _| Ok(Vec::new()));
    storage.expect_list_audit_events().times(0);
    let input = ListAuditInput {
        action: Some(String::new()),
        since: Some(now()),
        until: Some(now() - Duration::seconds(1)),
        cursor: Some("garbage".into()),
        ..Default::default()
    };
    let result = run(roster(storage).list_audit_events(&tenant.key(), tenant.id(), input));
    assert_eq!(invalid_field_names(result), ["action", "until", "cursor"]);
}
