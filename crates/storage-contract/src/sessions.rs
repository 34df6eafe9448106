//! Login sessions: insert, find by digest with the organization's state, list a user's
//! live sessions, revoke, record last use.

use chrono::Duration;
use roster_domain::api_key::SecretDigest;
use roster_domain::ids::SessionId;
use roster_domain::organization::OrgStatus;
use roster_domain::ports::SessionLookup;
use roster_domain::session::Session;

use crate::fixtures::{
    Store, at, create_org, delete_org, insert_org, insert_sessions, insert_users, new_org, new_session, new_user, now,
    org_id, user_id,
};

/// Revokes a session in a committed transaction, returning what the port reported.
async fn revoke(
    store: &Store,
    session: &Session,
    org: roster_domain::ids::OrgId,
    user: roster_domain::ids::UserId,
) -> bool {
    let mut tx = store.begin().await.expect("begin");
    let revoked = tx.revoke_session(org, user, session.id, now()).await.expect("revoke_session");
    tx.commit().await.expect("commit");
    revoked
}

/// A session reads back field for field by its digest, with its organization's status
/// and partner flag; a deleted organization's session reports `Deleted`; an unknown
/// digest finds nothing.
pub async fn session_is_found_by_digest_with_org_state(store: Store) {
    let mut partner = new_org("partner");
    partner.org.partner = true;
    insert_org(&store, &partner).await;
    let plain = create_org(&store, "plain").await;
    let ada = new_user(&partner, "ada@example.com", "ada", "Ada");
    let bob = new_user(&plain, "bob@example.com", "bob", "Bob");
    insert_users(&store, &[ada.clone(), bob.clone()]).await;
    let mut full = new_session(&ada);
    full.client_ip = Some("2001:db8::1".to_owned());
    full.created_at = at("2024-02-29T01:02:03.000004Z");
    full.expires_at = at("2024-03-01T01:02:03.999999Z");
    full.revoked_at = Some(at("2024-02-29T12:00:00Z"));
    full.last_used_at = Some(at("2024-02-29T11:59:59.5Z"));
    let bare = new_session(&bob);
    insert_sessions(&store, &[full.clone(), bare.clone()]).await;

    let found = store.find_session(&full.digest).await.unwrap();
    let expected = SessionLookup { session: full.clone(), org_status: Some(OrgStatus::Active), org_partner: true };
    assert_eq!(found, Some(expected));
    let found = store.find_session(&bare.digest).await.unwrap();
    assert_eq!(
        found,
        Some(SessionLookup { session: bare.clone(), org_status: Some(OrgStatus::Active), org_partner: false })
    );
    assert_eq!(store.find_session(&SecretDigest::of("rss_not-a-stored-token")).await.unwrap(), None);

    delete_org(&store, &plain).await;
    let found = store.find_session(&bare.digest).await.unwrap().expect("still found");
    assert_eq!(found.org_status, Some(OrgStatus::Deleted));
}

/// `list_sessions` lists a user's sessions that are neither revoked nor expired at `now`
/// (one expiring exactly then is expired), by id, keyset-paginated; not other users'.
pub async fn list_sessions_lists_live_sessions_of_one_user(store: Store) {
    let acme = create_org(&store, "acme").await;
    let ada = new_user(&acme, "ada@example.com", "ada", "Ada");
    let bob = new_user(&acme, "bob@example.com", "bob", "Bob");
    insert_users(&store, &[ada.clone(), bob.clone()]).await;
    let t = now();
    let mut live: Vec<Session> = (0..4).map(|_| new_session(&ada)).collect();
    live[0].expires_at = t + Duration::microseconds(1);
    let mut expired = new_session(&ada);
    expired.expires_at = t;
    let mut revoked = new_session(&ada);
    revoked.revoked_at = Some(t - Duration::hours(1));
    let mut all = live.clone();
    all.extend([expired, revoked, new_session(&bob)]);
    all.reverse();
    insert_sessions(&store, &all).await;
    live.sort_by_key(|s| s.id);

    assert_eq!(store.list_sessions(acme.id(), ada.id, t, None, 100).await.unwrap(), live);
    let first = store.list_sessions(acme.id(), ada.id, t, None, 3).await.unwrap();
    assert_eq!(first, live[..3].to_vec());
    let rest = store.list_sessions(acme.id(), ada.id, t, Some(first[2].id), 3).await.unwrap();
    assert_eq!(rest, live[3..].to_vec());
    let later = store.list_sessions(acme.id(), ada.id, t + Duration::microseconds(1), None, 100).await.unwrap();
    assert_eq!(later, live[1..].to_vec(), "the first one expired");
    assert_eq!(store.list_sessions(acme.id(), bob.id, t, None, 100).await.unwrap().len(), 1);
    assert!(store.list_sessions(org_id(), ada.id, t, None, 100).await.unwrap().is_empty());
    assert!(store.list_sessions(acme.id(), user_id(), t, None, 100).await.unwrap().is_empty());
}

/// `revoke_session` revokes an unrevoked session of that user of that organization only,
/// once, keeping the first revocation time.
pub async fn revoke_session_only_for_its_user(store: Store) {
    let acme = create_org(&store, "acme").await;
    let globex = create_org(&store, "globex").await;
    let ada = new_user(&acme, "ada@example.com", "ada", "Ada");
    let bob = new_user(&acme, "bob@example.com", "bob", "Bob");
    insert_users(&store, &[ada.clone(), bob.clone()]).await;
    let session = new_session(&ada);
    let bystander = new_session(&ada);
    insert_sessions(&store, &[session.clone(), bystander.clone()]).await;

    assert!(!revoke(&store, &session, acme.id(), bob.id).await, "another user's session");
    assert!(!revoke(&store, &session, globex.id(), ada.id).await, "another org id");
    let unknown = Session { id: SessionId::from_uuid(uuid::Uuid::now_v7()), ..session.clone() };
    assert!(!revoke(&store, &unknown, acme.id(), ada.id).await, "an unknown session");
    assert_eq!(store.find_session(&session.digest).await.unwrap().unwrap().session.revoked_at, None);

    let when = at("2025-05-05T05:05:05.123456Z");
    let mut tx = store.begin().await.unwrap();
    assert!(tx.revoke_session(acme.id(), ada.id, session.id, when).await.unwrap());
    tx.commit().await.unwrap();
    assert!(!revoke(&store, &session, acme.id(), ada.id).await, "only once");
    assert_eq!(store.find_session(&session.digest).await.unwrap().unwrap().session.revoked_at, Some(when));
    assert_eq!(store.find_session(&bystander.digest).await.unwrap().unwrap().session.revoked_at, None);
}

/// `touch_session` records the last use of that session only, and only with its own
/// organization.
pub async fn touch_session_sets_last_used_at(store: Store) {
    let acme = create_org(&store, "acme").await;
    let ada = new_user(&acme, "ada@example.com", "ada", "Ada");
    insert_users(&store, std::slice::from_ref(&ada)).await;
    let session = new_session(&ada);
    let bystander = new_session(&ada);
    insert_sessions(&store, &[session.clone(), bystander.clone()]).await;

    let when = at("2025-05-05T05:05:05.000001Z");
    let mut tx = store.begin().await.unwrap();
    tx.touch_session(acme.id(), session.id, when).await.unwrap();
    tx.touch_session(org_id(), bystander.id, when).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(store.find_session(&session.digest).await.unwrap().unwrap().session.last_used_at, Some(when));
    assert_eq!(store.find_session(&bystander.digest).await.unwrap().unwrap().session.last_used_at, None);
}

/// Through the use cases: suspending a user, or changing their password, ends their
/// sessions for good — re-activating the user does not bring an old session back — and
/// `revoke_user_sessions` touches only that user's live sessions.
pub async fn suspension_and_new_passwords_end_sessions_for_good(store: Store) {
    use roster_domain::Error;
    use roster_domain::service::LoginInput;
    use roster_domain::user_input::{CreateUserInput, UpdateUserInput};

    let (roster, platform) = crate::fixtures::roster_with_platform(&store).await;
    let org = roster
        .create_organization(
            &platform,
            roster_domain::organization_input::CreateOrganizationInput {
                slug: Some("acme".into()),
                name: Some("Acme".into()),
                ..Default::default()
            },
        )
        .await
        .expect("create_organization");
    let mut users = Vec::new();
    for email in ["ada@example.com", "bob@example.com"] {
        let input = CreateUserInput {
            email: Some(email.into()),
            name: Some(email.into()),
            password: Some("correct horse battery staple".into()),
            ..Default::default()
        };
        users.push(roster.create_user(&platform, org.id, input).await.expect("create_user").view.user.id);
    }
    let login = |email: &str, password: &str| LoginInput {
        organization: Some("acme".into()),
        email: Some(email.into()),
        password: Some(password.into()),
        ..Default::default()
    };
    let ada = roster.login(login("ada@example.com", "correct horse battery staple")).await.expect("ada logs in");
    let bob = roster.login(login("bob@example.com", "correct horse battery staple")).await.expect("bob logs in");

    let status = |s: &str| UpdateUserInput { status: Some(s.into()), ..Default::default() };
    roster.update_user(&platform, org.id, users[0], status("suspended"), None).await.expect("suspend ada");
    roster.update_user(&platform, org.id, users[0], status("active"), None).await.expect("re-activate ada");
    let revived = roster.authenticate(ada.token.expose()).await;
    assert!(matches!(revived, Err(Error::Unauthenticated)), "a suspended user's old session came back: {revived:?}");
    roster.authenticate(bob.token.expose()).await.expect("bob's session is untouched");

    let new_password = UpdateUserInput { password: Some("another long password".into()), ..Default::default() };
    roster.update_user(&platform, org.id, users[1], new_password, None).await.expect("new password for bob");
    let after = roster.authenticate(bob.token.expose()).await;
    assert!(matches!(after, Err(Error::Unauthenticated)), "a session outlived a password change: {after:?}");
    roster.login(login("bob@example.com", "another long password")).await.expect("bob logs in again");
}
