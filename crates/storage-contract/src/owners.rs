//! Rule 3, every organization keeps an active owner: the owner count the use cases rely
//! on, and the real use cases racing to demote, delete or suspend the last two owners.

use std::future::Future;
use std::sync::Arc;

use roster_domain::Error;
use roster_domain::auth::Principal;
use roster_domain::ids::{OrgId, RoleId, UserId};
use roster_domain::organization_input::CreateOrganizationInput;
use roster_domain::role::BuiltinRole;
use roster_domain::service::{LoginInput, Roster};
use roster_domain::user::UserStatus;
use roster_domain::user_input::{CreateUserInput, UpdateUserInput};

use crate::concurrency::race;
use crate::fixtures::{Store, create_org, delete_users, insert_users, new_user, org_id, roster_with_platform, user_id};

/// The owner count of `org`, read in a transaction that is then dropped.
async fn active_owners(store: &Store, org: OrgId, owner: RoleId, excluding: &[UserId]) -> u64 {
    let mut tx = store.begin().await.expect("begin");
    tx.count_active_owners(org, owner, excluding).await.expect("count_active_owners")
}

/// `count_active_owners` counts active users holding the owner role: not suspended,
/// invited or deleted ones, not non-owners, not `excluding`, not other organizations'.
pub async fn count_active_owners_counts_active_holders_of_the_owner_role(store: Store) {
    let acme = create_org(&store, "acme").await;
    let globex = create_org(&store, "globex").await;
    let owner = |email: &str, username: &str, status: UserStatus| {
        let mut user = new_user(&acme, email, username, "Owner");
        user.status = status;
        user.role_ids = vec![acme.owner()];
        user
    };
    let first = owner("first@example.com", "first", UserStatus::Active);
    let mut second = owner("second@example.com", "second", UserStatus::Active);
    second.role_ids = vec![acme.owner(), acme.admin()];
    let suspended = owner("susp@example.com", "susp", UserStatus::Suspended);
    let invited = owner("inv@example.com", "inv", UserStatus::Invited);
    let deleted = owner("del@example.com", "del", UserStatus::Active);
    let mut admin = new_user(&acme, "admin@example.com", "admin", "Admin");
    admin.role_ids = vec![acme.admin(), acme.member()];
    let mut globex_owner = new_user(&globex, "go@example.com", "go", "Globex owner");
    globex_owner.role_ids = vec![globex.owner()];
    insert_users(&store, &[first.clone(), second.clone(), suspended, invited, deleted.clone(), admin.clone()]).await;
    insert_users(&store, std::slice::from_ref(&globex_owner)).await;
    delete_users(&store, acme.id(), &[deleted.id]).await;

    assert_eq!(active_owners(&store, acme.id(), acme.owner(), &[]).await, 2);
    assert_eq!(active_owners(&store, acme.id(), acme.owner(), &[first.id]).await, 1);
    assert_eq!(active_owners(&store, acme.id(), acme.owner(), &[first.id, second.id]).await, 0);
    assert_eq!(active_owners(&store, acme.id(), acme.owner(), &[admin.id, user_id(), globex_owner.id]).await, 2);
    assert_eq!(active_owners(&store, acme.id(), acme.admin(), &[]).await, 2, "the role asked about is counted");
    assert_eq!(active_owners(&store, globex.id(), globex.owner(), &[]).await, 1);
    assert_eq!(active_owners(&store, globex.id(), acme.owner(), &[]).await, 0, "another org's role");
    assert_eq!(active_owners(&store, org_id(), acme.owner(), &[]).await, 0, "another org id");
}

/// How many times each race runs, on a fresh organization each time: a store that lets
/// both requests through does so only when they interleave, so one round may miss it.
const OWNER_RACE_ROUNDS: usize = 5;

/// One racing request's target: an owner of an organization with exactly two.
#[derive(Clone, Copy, Debug)]
struct Target {
    org: OrgId,
    member: RoleId,
    user: UserId,
}

/// An organization made through the use cases with exactly two active owners and two
/// admins, each admin logged in: its id, its owner and member roles, the owners, and the
/// admins' session principals (the callers that race).
async fn org_with_two_owners(
    roster: &Roster,
    principal: &Principal,
    round: usize,
) -> (OrgId, RoleId, RoleId, [UserId; 2], [Principal; 2]) {
    let input = CreateOrganizationInput {
        slug: Some(format!("acme-{round}")),
        name: Some("Acme".into()),
        ..Default::default()
    };
    let org = roster.create_organization(principal, input).await.expect("create_organization");
    let roles = roster.list_roles(principal, org.id).await.expect("list_roles");
    let builtin = |which| roles.iter().find(|r| r.builtin_kind() == Some(which)).expect("a built-in role").id;
    let (owner, member) = (builtin(BuiltinRole::Owner), builtin(BuiltinRole::Member));
    let mut owners = [UserId::from_uuid(uuid::Uuid::nil()); 2];
    for (i, slot) in owners.iter_mut().enumerate() {
        let input = CreateUserInput {
            email: Some(format!("owner{i}@example.com")),
            name: Some(format!("Owner {i}")),
            password: Some("correct horse battery staple".to_owned()),
            role_ids: Some(vec![owner.to_string()]),
            ..Default::default()
        };
        let created = roster.create_user(principal, org.id, input).await.expect("create an owner");
        assert_eq!(created.view.user.status, UserStatus::Active);
        *slot = created.view.user.id;
    }
    let admin = builtin(BuiltinRole::Admin);
    let mut admins = Vec::new();
    for i in 0..2 {
        let email = format!("admin{i}@example.com");
        let input = CreateUserInput {
            email: Some(email.clone()),
            name: Some(format!("Admin {i}")),
            password: Some("correct horse battery staple".to_owned()),
            role_ids: Some(vec![admin.to_string()]),
            ..Default::default()
        };
        roster.create_user(principal, org.id, input).await.expect("create an admin");
        let login = LoginInput {
            organization: Some(org.id.to_string()),
            email: Some(email),
            password: Some("correct horse battery staple".to_owned()),
            ..Default::default()
        };
        let session = roster.login(login).await.expect("the admin logs in");
        admins.push(roster.authenticate(session.token.expose()).await.expect("the session authenticates"));
    }
    let admins: [Principal; 2] = admins.try_into().expect("two admins");
    (org.id, owner, member, owners, admins)
}

/// Races two admins' requests, each removing a different one of an organization's two
/// owners (`remove(roster, admin, target)`), over several rounds: exactly one succeeds,
/// the other fails with `LastOwner`, and one active owner remains.
async fn race_to_remove_both_owners<F, Fut>(store: Store, remove: F)
where
    F: Fn(Arc<Roster>, Principal, Target) -> Fut,
    Fut: Future<Output = Result<(), Error>> + Send + 'static,
{
    let (roster, principal) = roster_with_platform(&store).await;
    for round in 0..OWNER_RACE_ROUNDS {
        let (org, owner, member, owners, admins) = org_with_two_owners(&roster, &principal, round).await;
        let results = race(owners.len(), |i| {
            remove(Arc::clone(&roster), admins[i].clone(), Target { org, member, user: owners[i] })
        })
        .await;

        let succeeded = results.iter().filter(|r| r.is_ok()).count();
        let last_owner = results.iter().filter(|r| matches!(r, Err(Error::LastOwner))).count();
        assert_eq!((succeeded, last_owner), (1, 1), "round {round}: exactly one removal wins: {results:?}");
        assert_eq!(active_owners(&store, org, owner, &[]).await, 1, "round {round}: one active owner remains");
    }
}

/// Rule 3: two admins at once, each demoting a different one of the two owners to
/// member: exactly one wins, the other fails with `LastOwner`.
pub async fn concurrent_demotions_of_the_last_two_owners_keep_one(store: Store) {
    race_to_remove_both_owners(store, |roster, principal, target| async move {
        let input = UpdateUserInput { role_ids: Some(vec![target.member.to_string()]), ..Default::default() };
        roster.update_user(&principal, target.org, target.user, input, None).await.map(|_| ())
    })
    .await;
}

/// Rule 3: two admins at once deleting the two owners: exactly one wins.
pub async fn concurrent_deletions_of_the_last_two_owners_keep_one(store: Store) {
    race_to_remove_both_owners(store, |roster, principal, target| async move {
        roster.delete_user(&principal, target.org, target.user, None).await
    })
    .await;
}

/// Rule 3: two admins at once suspending the two owners: exactly one wins.
pub async fn concurrent_suspensions_of_the_last_two_owners_keep_one(store: Store) {
    race_to_remove_both_owners(store, |roster, principal, target| async move {
        let input = UpdateUserInput { status: Some("suspended".to_owned()), ..Default::default() };
        roster.update_user(&principal, target.org, target.user, input, None).await.map(|_| ())
    })
    .await;
}
