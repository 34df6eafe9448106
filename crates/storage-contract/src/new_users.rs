//! A new user's rows written at once (`Storage::insert_user_if_unchanged`): everything or
//! nothing, and only while the organization is as the caller read it.

use std::collections::BTreeMap;

use roster_domain::audit::{AuditEvent, AuditQuery};
use roster_domain::error::{StoreError, Unique};
use roster_domain::ids::{AuditEventId, MessageId};
use roster_domain::organization::Organization;
use roster_domain::outbox::{Mail, OutboxMessage};
use roster_domain::ports::NewUser;
use roster_domain::user::{User, UserStatus};

use crate::fixtures::{
    OrgFixture, Store, assert_same_user, create_org, custom_role, delete_org, insert_org, insert_users, new_org,
    new_user, now, update_org,
};
use crate::invitations::new_invitation;

/// An invited user of `org` with its `user.created` event, its invitation and its email.
fn invited(org: &OrgFixture, email: &str, username: &str) -> NewUser {
    let user = User { status: UserStatus::Invited, ..new_user(org, email, username, "Invitee") };
    let made = now();
    let invitation = new_invitation(&user, made);
    let event = AuditEvent {
        id: AuditEventId::from_uuid(uuid::Uuid::now_v7()),
        org_id: user.org_id,
        actor: "api_key:ci".to_owned(),
        action: "user.created".to_owned(),
        target_type: "user".to_owned(),
        target_id: user.id.to_string(),
        request_id: Some("req-1".to_owned()),
        occurred_at: made,
        details: BTreeMap::from([("email".to_owned(), user.email.to_string())]),
    };
    let mail = Mail::Invitation {
        org_name: org.org.name.to_string(),
        inviter: "Ada".to_owned(),
        accept_url: "https://roster.example/invite/rsi_x".to_owned(),
        expires_at: invitation.expires_at,
    };
    let message = OutboxMessage::queued(
        MessageId::from_uuid(uuid::Uuid::now_v7()),
        Some(org.id()),
        user.email.clone(),
        mail,
        made,
    );
    NewUser { user, audit_events: vec![event], invitation: Some(invitation), outbox_messages: vec![message] }
}

/// Asserts that none of `new`'s rows was written.
async fn assert_nothing_written(store: &Store, new: &NewUser) {
    let org = new.user.org_id;
    assert_eq!(store.get_user(org, new.user.id).await.unwrap(), None, "no user");
    let invitation = new.invitation.as_ref().expect("an invitation");
    assert_eq!(store.get_invitation(org, invitation.id).await.unwrap(), None, "no invitation");
    assert_eq!(store.get_message(new.outbox_messages[0].id).await.unwrap(), None, "no email");
    let events = store.list_audit_events(org, &AuditQuery { limit: 10, ..AuditQuery::default() }).await.unwrap();
    assert!(events.iter().all(|e| e.id != new.audit_events[0].id), "no audit event");
}

/// With the organization as read, every row lands: the user with its roles, its audit
/// event, its invitation and its queued email.
pub async fn a_new_user_is_written_at_once_while_its_organization_is_unchanged(store: Store) {
    let acme = create_org(&store, "acme").await;
    let new = invited(&acme, "ivy@example.com", "ivy");
    assert!(store.insert_user_if_unchanged(acme.org.version, &new).await.unwrap());

    let view = store.get_user(acme.id(), new.user.id).await.unwrap().expect("the user");
    assert_same_user(&view.user, &new.user);
    let invitation = new.invitation.as_ref().unwrap();
    assert_eq!(store.get_invitation(acme.id(), invitation.id).await.unwrap().as_ref(), Some(invitation));
    assert_eq!(store.get_message(new.outbox_messages[0].id).await.unwrap().as_ref(), Some(&new.outbox_messages[0]));
    let events = store.list_audit_events(acme.id(), &AuditQuery { limit: 10, ..AuditQuery::default() }).await.unwrap();
    assert_eq!(events, new.audit_events);
}

/// A changed version, a seat limit, a deleted organization or a deleted role: nothing is
/// written and the answer is `false`.
pub async fn a_new_user_is_not_written_once_its_organization_changed(store: Store) {
    let mut acme = new_org("acme");
    let support = custom_role(acme.id(), "support");
    acme.roles.push(support.clone());
    insert_org(&store, &acme).await;
    let read = acme.org.version;

    let stale = invited(&acme, "stale@example.com", "stale");
    assert!(!store.insert_user_if_unchanged(read - 1, &stale).await.unwrap(), "another version");
    assert_nothing_written(&store, &stale).await;

    let mut role_gone = invited(&acme, "gone@example.com", "gone");
    role_gone.user.role_ids = vec![support.id];
    let mut tx = store.begin().await.unwrap();
    tx.organization_for_update(acme.id()).await.unwrap();
    tx.delete_role(acme.id(), support.id).await.unwrap();
    tx.commit().await.unwrap();
    assert!(!store.insert_user_if_unchanged(read, &role_gone).await.unwrap(), "a role was deleted");
    assert_nothing_written(&store, &role_gone).await;

    // A seat limit set without a version bump still refuses: the write counts no seats.
    let limited = Organization { seat_limit: Some(100), ..acme.org.clone() };
    update_org(&store, &limited).await;
    let over = invited(&acme, "limit@example.com", "limit");
    assert!(!store.insert_user_if_unchanged(read, &over).await.unwrap(), "a seat limit");
    assert_nothing_written(&store, &over).await;

    update_org(&store, &acme.org).await;
    delete_org(&store, &acme).await;
    let late = invited(&acme, "late@example.com", "late");
    assert!(!store.insert_user_if_unchanged(read, &late).await.unwrap(), "a deleted organization");
    assert_nothing_written(&store, &late).await;
}

/// A taken email or username is the duplicate error `insert_user` gives, and none of the
/// other rows is written.
pub async fn a_new_user_with_a_taken_email_or_username_writes_nothing(store: Store) {
    let acme = create_org(&store, "acme").await;
    insert_users(&store, &[new_user(&acme, "ada@example.com", "ada", "Ada")]).await;

    let same_email = invited(&acme, "ADA@example.com", "other");
    let result = store.insert_user_if_unchanged(acme.org.version, &same_email).await;
    assert!(matches!(result, Err(StoreError::Duplicate(Unique::UserEmail))), "{result:?}");
    assert_nothing_written(&store, &same_email).await;

    let same_username = invited(&acme, "other@example.com", "ada");
    let result = store.insert_user_if_unchanged(acme.org.version, &same_username).await;
    assert!(matches!(result, Err(StoreError::Duplicate(Unique::UserUsername))), "{result:?}");
    assert_nothing_written(&store, &same_username).await;
}

/// Racing writes of users with one email, and a racing change of the organization: one
/// user lands with every row of its own, the others write nothing.
pub async fn racing_new_users_with_one_email_write_exactly_one(store: Store) {
    let acme = create_org(&store, "acme").await;
    let spellings = ["same@example.com", "SAME@example.com", "Same@Example.com", "same@EXAMPLE.COM"];
    let news: Vec<NewUser> = (0..8).map(|i| invited(&acme, spellings[i % 4], &format!("u{i}"))).collect();
    let results = crate::concurrency::race(news.len(), |i| {
        let (store, new, version) = (store.clone(), news[i].clone(), acme.org.version);
        async move { store.insert_user_if_unchanged(version, &new).await }
    })
    .await;
    let written: Vec<usize> = (0..news.len()).filter(|&i| matches!(results[i], Ok(true))).collect();
    assert_eq!(written.len(), 1, "{results:?}");
    for (i, result) in results.iter().enumerate() {
        if i != written[0] {
            assert!(matches!(result, Err(StoreError::Duplicate(Unique::UserEmail))), "{result:?}");
            assert_nothing_written(&store, &news[i]).await;
        }
    }
    let winner = &news[written[0]];
    assert!(store.get_invitation(acme.id(), winner.invitation.as_ref().unwrap().id).await.unwrap().is_some());
}

/// Racing writes of distinct users in two organizations, those of one carrying a version
/// it no longer has: each of the others lands with all its rows, none of the stale ones.
pub async fn racing_new_users_land_by_their_own_organizations_version(store: Store) {
    let acme = create_org(&store, "acme").await;
    let globex = create_org(&store, "globex").await;
    let news: Vec<(i64, NewUser)> = (0..16)
        .map(|i| match i % 2 {
            0 => (acme.org.version, invited(&acme, &format!("a{i}@example.com"), &format!("a{i}"))),
            _ => (globex.org.version - 1, invited(&globex, &format!("g{i}@example.com"), &format!("g{i}"))),
        })
        .collect();
    let results = crate::concurrency::race(news.len(), |i| {
        let (store, (version, new)) = (store.clone(), news[i].clone());
        async move { store.insert_user_if_unchanged(version, &new).await.unwrap() }
    })
    .await;
    for (i, (written, (_, new))) in results.iter().zip(&news).enumerate() {
        assert_eq!(*written, i % 2 == 0, "{}", new.user.email);
        if *written {
            assert!(store.get_user(new.user.org_id, new.user.id).await.unwrap().is_some());
            let invitation = new.invitation.as_ref().unwrap();
            assert!(store.get_invitation(new.user.org_id, invitation.id).await.unwrap().is_some());
            assert!(store.get_message(new.outbox_messages[0].id).await.unwrap().is_some());
        } else {
            assert_nothing_written(&store, new).await;
        }
    }
}
