//! Rule 3: every organization keeps at least one active owner. The last one cannot be
//! demoted, suspended or deleted, alone or in a batch; the count is taken under the
//! organization's row lock so concurrent changes cannot both pass it.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use super::support::{Tenant, active_owners, begins, begins_each, roster, run, uuid};
use crate::error::Error;
use crate::ids::UserId;
use crate::mocks::MockStorage;
use crate::service::BatchOutcome;
use crate::user::{User, UserStatus};
use crate::user_input::UpdateUserInput;

/// What the transactions of one use case did.
#[derive(Default)]
struct Effects {
    updated: Mutex<Vec<User>>,
    deleted: Mutex<Vec<UserId>>,
    commits: AtomicUsize,
    /// Whether every owner count happened in a transaction holding the org's row lock.
    counted_unlocked: AtomicBool,
}

/// Storage of `tenant` holding `user`, where exactly `owners` are active owners. Every
/// transaction it begins records into the returned [`Effects`].
fn storage(tenant: &Tenant, user: &User, owners: Vec<UserId>) -> (MockStorage, Arc<Effects>) {
    let effects = Arc::new(Effects::default());
    let mut storage = tenant.storage();
    let view = tenant.view(user);
    storage.expect_get_user().returning(move |_, _| Ok(Some(view.clone())));
    let (tenant, user, shared) = (tenant.clone(), user.clone(), effects.clone());
    begins_each(&mut storage, move || {
        let mut tx = tenant.tx();
        let locked = Arc::new(AtomicBool::new(false));
        let (org, flag) = (tenant.org.clone(), locked.clone());
        tx.expect_organization_for_update().returning(move |_| {
            flag.store(true, Ordering::SeqCst);
            Ok(Some(org.clone()))
        });
        let (owners, flag, fx) = (owners.clone(), locked.clone(), shared.clone());
        tx.expect_count_active_owners().returning(move |_, _, excluding| {
            if !flag.load(Ordering::SeqCst) {
                fx.counted_unlocked.store(true, Ordering::SeqCst);
            }
            Ok(owners.iter().filter(|o| !excluding.contains(o)).count() as u64)
        });
        let stored = user.clone();
        tx.expect_user_for_update().returning(move |_, id| Ok((id == stored.id).then(|| stored.clone())));
        let fx = shared.clone();
        tx.expect_update_user().returning(move |u| {
            fx.updated.lock().unwrap().push(u.clone());
            Ok(())
        });
        let fx = shared.clone();
        tx.expect_delete_users().returning(move |_, ids, _| {
            fx.deleted.lock().unwrap().extend_from_slice(ids);
            Ok(ids.to_vec())
        });
        let fx = shared.clone();
        tx.expect_commit().returning(move || {
            fx.commits.fetch_add(1, Ordering::SeqCst);
            Ok(())
        });
        tx
    });
    (storage, effects)
}

impl Effects {
    fn nothing_changed(&self) -> bool {
        self.updated.lock().unwrap().is_empty()
            && self.deleted.lock().unwrap().is_empty()
            && self.commits.load(Ordering::SeqCst) == 0
    }

    fn counted_under_the_lock(&self) -> bool {
        !self.counted_unlocked.load(Ordering::SeqCst)
    }
}

fn demote() -> UpdateUserInput {
    UpdateUserInput { role: Some("admin".into()), ..Default::default() }
}

fn suspend() -> UpdateUserInput {
    UpdateUserInput { status: Some("suspended".into()), ..Default::default() }
}

fn other() -> UserId {
    UserId::from_uuid(uuid())
}

#[test]
fn demoting_the_last_active_owner_is_last_owner_and_changes_nothing() {
    let tenant = Tenant::new("acme");
    let owner = tenant.owner("ada@example.com");
    let (storage, effects) = storage(&tenant, &owner, vec![owner.id]);
    let result = run(roster(storage).update_user(&tenant.key(), tenant.id(), owner.id, demote(), None));
    assert!(matches!(result, Err(Error::LastOwner)));
    assert!(effects.nothing_changed());
    assert!(effects.counted_under_the_lock());
    assert!(tenant.audit_events().is_empty());
}

#[test]
fn demoting_an_owner_while_another_active_owner_remains_succeeds() {
    let tenant = Tenant::new("acme");
    let owner = tenant.owner("ada@example.com");
    let (storage, effects) = storage(&tenant, &owner, vec![owner.id, other()]);
    let view = run(roster(storage).update_user(&tenant.key(), tenant.id(), owner.id, demote(), None)).unwrap();
    assert_eq!(view.user.role_ids, [tenant.role("admin")]);
    assert_eq!(effects.updated.lock().unwrap().as_slice(), [view.user]);
    assert_eq!(effects.commits.load(Ordering::SeqCst), 1);
    assert!(effects.counted_under_the_lock());
}

#[test]
fn suspending_the_last_active_owner_is_last_owner() {
    let tenant = Tenant::new("acme");
    let owner = tenant.owner("ada@example.com");
    let (storage, effects) = storage(&tenant, &owner, vec![owner.id]);
    let result = run(roster(storage).update_user(&tenant.key(), tenant.id(), owner.id, suspend(), None));
    assert!(matches!(result, Err(Error::LastOwner)));
    assert!(effects.nothing_changed());
}

#[test]
fn suspending_an_owner_while_another_active_owner_remains_succeeds() {
    let tenant = Tenant::new("acme");
    let owner = tenant.owner("ada@example.com");
    let (storage, effects) = storage(&tenant, &owner, vec![other(), owner.id]);
    let view = run(roster(storage).update_user(&tenant.key(), tenant.id(), owner.id, suspend(), None)).unwrap();
    assert_eq!(view.user.status, UserStatus::Suspended);
    assert!(effects.counted_under_the_lock());
}

#[test]
fn an_owner_who_keeps_the_owner_role_needs_no_other_owner() {
    let tenant = Tenant::new("acme");
    let owner = tenant.owner("ada@example.com");
    let (storage, _) = storage(&tenant, &owner, vec![owner.id]);
    let input = UpdateUserInput {
        name: Some("Countess".into()),
        role_ids: Some(vec![tenant.role("owner").to_string(), tenant.role("admin").to_string()]),
        ..Default::default()
    };
    run(roster(storage).update_user(&tenant.key(), tenant.id(), owner.id, input, None)).unwrap();
}

#[test]
fn demoting_a_suspended_owner_does_not_count_against_the_active_owners() {
    let tenant = Tenant::new("acme");
    let suspended = User { status: UserStatus::Suspended, ..tenant.owner("ada@example.com") };
    // The organization has no active owner left to protect from this change.
    let (storage, effects) = storage(&tenant, &suspended, vec![]);
    run(roster(storage).update_user(&tenant.key(), tenant.id(), suspended.id, demote(), None)).unwrap();
    assert_eq!(effects.commits.load(Ordering::SeqCst), 1);
}

#[test]
fn deleting_the_last_active_owner_is_last_owner() {
    let tenant = Tenant::new("acme");
    let owner = tenant.owner("ada@example.com");
    let (storage, effects) = storage(&tenant, &owner, vec![owner.id]);
    let result = run(roster(storage).delete_user(&tenant.key(), tenant.id(), owner.id, None));
    assert!(matches!(result, Err(Error::LastOwner)));
    assert!(effects.nothing_changed());
    assert!(effects.counted_under_the_lock());
}

#[test]
fn deleting_an_owner_while_another_active_owner_remains_succeeds() {
    let tenant = Tenant::new("acme");
    let owner = tenant.owner("ada@example.com");
    let (storage, effects) = storage(&tenant, &owner, vec![owner.id, other()]);
    run(roster(storage).delete_user(&tenant.key(), tenant.id(), owner.id, None)).unwrap();
    assert_eq!(effects.deleted.lock().unwrap().as_slice(), [owner.id]);
    assert!(effects.counted_under_the_lock());
}

#[test]
fn a_batch_delete_including_every_active_owner_is_last_owner_and_deletes_nobody() {
    let tenant = Tenant::new("acme");
    let (a, b) = (tenant.owner("ada@example.com"), tenant.owner("grace@example.com"));
    let member = tenant.user("alan@example.com");
    let (storage, effects) = storage(&tenant, &a, vec![a.id, b.id]);
    let ids = vec![a.id.to_string(), member.id.to_string(), b.id.to_string()];
    let result = run(roster(storage).batch_delete_users(&tenant.key(), tenant.id(), &ids));
    assert!(matches!(result, Err(Error::LastOwner)));
    assert!(effects.nothing_changed());
    assert!(effects.counted_under_the_lock());
}

#[test]
fn a_batch_delete_leaving_one_active_owner_deletes_the_rest() {
    let tenant = Tenant::new("acme");
    let (a, b) = (tenant.owner("ada@example.com"), tenant.owner("grace@example.com"));
    let (storage, effects) = storage(&tenant, &a, vec![a.id, b.id]);
    let outcomes = run(roster(storage).batch_delete_users(&tenant.key(), tenant.id(), &[a.id.to_string()])).unwrap();
    assert_eq!(outcomes, [(a.id.to_string(), BatchOutcome::Deleted)]);
    assert_eq!(effects.deleted.lock().unwrap().as_slice(), [a.id]);
}

#[test]
fn an_owner_made_concurrently_is_protected_by_restarting_under_the_organization_lock() {
    // The first read shows a member; by the time the row is locked, it is the only owner.
    let tenant = Tenant::new("acme");
    let member = tenant.user("ada@example.com");
    let owner = User { role_ids: vec![tenant.role("owner")], ..member.clone() };
    let mut storage = tenant.storage();
    let view = tenant.view(&member);
    storage.expect_get_user().returning(move |_, _| Ok(Some(view.clone())));
    let mut first = tenant.tx();
    let locked = owner.clone();
    first.expect_user_for_update().times(1).returning(move |_, _| Ok(Some(locked.clone())));
    first.expect_update_user().times(0);
    first.expect_commit().times(0);
    let mut second = tenant.locking_tx();
    second.expect_user_for_update().times(1).returning(move |_, _| Ok(Some(owner.clone())));
    active_owners(&mut second, vec![member.id]);
    second.expect_update_user().times(0);
    second.expect_commit().times(0);
    begins(&mut storage, first);
    begins(&mut storage, second);
    let result = run(roster(storage).update_user(&tenant.key(), tenant.id(), member.id, suspend(), None));
    assert!(matches!(result, Err(Error::LastOwner)));
}
