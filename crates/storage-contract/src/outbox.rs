//! The outbox: messages queued inside a change's transaction, claimed by delivery workers
//! under a lease, marked sent or failed only by the claim that still holds them (the
//! attempt count is the fencing token), and disjoint claims for concurrent workers.

use std::collections::HashSet;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use roster_domain::ids::{MessageId, OrgId};
use roster_domain::outbox::{Claim, Mail, MessageStatus, OutboxMessage};
use roster_domain::values::Email;

use crate::concurrency::race;
use crate::fixtures::{Store, at, create_org, days, now};

/// The lease the tests claim with.
fn lease() -> Duration {
    Duration::seconds(60)
}

/// A far-future instant: everything pending is due and every lease has ended by then.
fn much_later() -> DateTime<Utc> {
    at("2099-01-01T00:00:00Z")
}

/// A new invitation email to `recipient`, due at `due`.
fn invitation_mail(org: Option<OrgId>, recipient: &str, due: DateTime<Utc>) -> OutboxMessage {
    let mail = Mail::Invitation {
        org_name: "Acme — \"quoted\" 'ünïcödé'".to_owned(),
        inviter: "Ada Lovelace".to_owned(),
        accept_url: "https://roster.example/invite/rsi_abc-DEF_123".to_owned(),
        expires_at: at("2031-02-03T04:05:06.789012Z"),
    };
    let id = MessageId::from_uuid(uuid::Uuid::now_v7());
    OutboxMessage::queued(id, org, Email::parse(recipient).expect("valid email"), mail, due)
}

/// A new credentials email to `recipient`, due at `due`.
fn credentials_mail(org: Option<OrgId>, recipient: &str, due: DateTime<Utc>) -> OutboxMessage {
    let mail = Mail::Credentials {
        org_name: "Acme".to_owned(),
        login_url: "https://acme.example/login?next=%2F".to_owned(),
        email: recipient.to_owned(),
        username: "ada".to_owned(),
        password: "s3cret with spaces & <tags>".to_owned(),
    };
    let id = MessageId::from_uuid(uuid::Uuid::now_v7());
    OutboxMessage::queued(id, org, Email::parse(recipient).expect("valid email"), mail, due)
}

/// Queues messages in one committed transaction.
async fn queue(store: &Store, messages: &[OutboxMessage]) {
    let mut tx = store.begin().await.expect("begin");
    for message in messages {
        tx.insert_outbox_message(message).await.expect("insert_outbox_message");
    }
    tx.commit().await.expect("commit");
}

/// The ids of the messages a claim at `at` returns, sorted.
async fn claim_ids(store: &Store, at: DateTime<Utc>, limit: u32) -> Vec<MessageId> {
    let mut ids: Vec<_> =
        store.claim_due_messages(at, lease(), limit).await.expect("claim_due_messages").iter().map(|m| m.id).collect();
    ids.sort();
    ids
}

/// The stored message, which must exist.
async fn stored(store: &Store, id: MessageId) -> OutboxMessage {
    store.get_message(id).await.expect("get_message").expect("the message exists")
}

/// A queued message reads back field for field (both kinds of mail, with and without an
/// organization, the recipient as spelled) and is listed.
pub async fn queued_messages_round_trip(store: Store) {
    let acme = create_org(&store, "acme").await;
    let t = now();
    let invitation = invitation_mail(Some(acme.id()), "Ada.Lovelace@Example.COM", t);
    let credentials = credentials_mail(None, "bob@example.com", at("2024-02-29T23:59:59.123456Z"));
    queue(&store, &[invitation.clone(), credentials.clone()]).await;

    for expected in [&invitation, &credentials] {
        let read = stored(&store, expected.id).await;
        assert_eq!(&read, expected);
        assert_eq!(read.recipient.as_str(), expected.recipient.as_str(), "the recipient as spelled");
    }
    assert_eq!(store.get_message(MessageId::from_uuid(uuid::Uuid::now_v7())).await.unwrap(), None);
    let mut expected = vec![invitation, credentials];
    expected.sort_by_key(|m| m.id);
    assert_eq!(store.list_messages(None, 100).await.unwrap(), expected);
}

/// A message queued in a transaction that rolls back does not exist: it is not read,
/// listed or claimed; one committed is claimed.
pub async fn only_committed_messages_are_delivered(store: Store) {
    let t = now();
    let dropped = invitation_mail(None, "ada@example.com", t);
    let mut tx = store.begin().await.unwrap();
    tx.insert_outbox_message(&dropped).await.unwrap();
    drop(tx);
    assert_eq!(store.get_message(dropped.id).await.unwrap(), None);
    assert!(store.list_messages(None, 100).await.unwrap().is_empty());
    assert!(claim_ids(&store, much_later(), 10).await.is_empty());

    let committed = invitation_mail(None, "bob@example.com", t);
    queue(&store, std::slice::from_ref(&committed)).await;
    let claimed = store.claim_due_messages(t, lease(), 10).await.unwrap();
    assert_eq!(claimed, vec![OutboxMessage { attempts: 1, ..committed }]);
}

/// A claim takes up to `limit` pending messages due at its instant (due exactly then
/// included), adds one attempt to each and changes nothing else; another claim gets none
/// of them until the lease ends (exactly `lease` later), and then gets them again.
pub async fn claims_lease_due_messages_until_the_lease_ends(store: Store) {
    let t = now();
    let due: Vec<_> = (0..3).map(|i| invitation_mail(None, &format!("due{i}@example.com"), t - days(i))).collect();
    let early = invitation_mail(None, "early@example.com", t + Duration::microseconds(1));
    queue(&store, &due).await;
    queue(&store, std::slice::from_ref(&early)).await;
    let mut due_ids: Vec<_> = due.iter().map(|m| m.id).collect();
    due_ids.sort();

    let first = store.claim_due_messages(t, lease(), 2).await.unwrap();
    assert_eq!(first.len(), 2, "the limit holds");
    let rest = store.claim_due_messages(t, lease(), 10).await.unwrap();
    assert_eq!(rest.len(), 1, "only the due, unclaimed one is left");
    let mut claimed: Vec<OutboxMessage> = first.into_iter().chain(rest).collect();
    claimed.sort_by_key(|m| m.id);
    let mut expected: Vec<OutboxMessage> = due.iter().map(|m| OutboxMessage { attempts: 1, ..m.clone() }).collect();
    expected.sort_by_key(|m| m.id);
    assert_eq!(claimed, expected, "a claim adds an attempt and changes nothing else");
    for message in &expected {
        assert_eq!(&stored(&store, message.id).await, message, "the attempt is stored");
    }

    assert!(claim_ids(&store, t, 10).await.is_empty(), "all leased");
    let just_before_the_end = t + lease() - Duration::microseconds(1);
    assert_eq!(claim_ids(&store, just_before_the_end, 10).await, vec![early.id], "the rest are still leased");
    let again = store.claim_due_messages(t + lease(), lease(), 10).await.unwrap();
    let mut again_ids: Vec<_> = again.iter().map(|m| m.id).collect();
    again_ids.sort();
    assert_eq!(again_ids, due_ids, "the lease ended");
    assert!(again.iter().all(|m| m.attempts == 2 && m.status == MessageStatus::Pending), "{again:?}");
}

/// `mark_sent` marks only the claims that still hold their message: a stale attempt count
/// (a lapsed claim taken over by another worker) or an unknown id is passed over, whether
/// alone or in a batch with live claims. A sent message records how and when, keeps its
/// mail unless asked to erase it, and is never claimed again.
pub async fn mark_sent_is_fenced_by_the_attempt_count(store: Store) {
    let t = now();
    let message = credentials_mail(None, "ada@example.com", t);
    let kept = invitation_mail(None, "bob@example.com", t);
    queue(&store, &[message.clone(), kept.clone()]).await;
    assert_eq!(claim_ids(&store, t, 10).await.len(), 2);
    // The first worker's lease lapses; a second worker claims the message again.
    let taken_over = store.claim_due_messages(t + lease(), lease(), 10).await.unwrap();
    assert!(taken_over.iter().all(|m| m.attempts == 2), "{taken_over:?}");

    let sent_at = at("2031-01-01T00:00:00.000001Z");
    let claim = |m: &OutboxMessage, attempts| Claim { id: m.id, attempts };
    let lost = store.mark_sent(&[claim(&message, 1)], sent_at, "smtp", true).await.unwrap();
    assert!(lost.is_empty(), "the first claim is lost");
    let never = store.mark_sent(&[claim(&message, 3)], sent_at, "smtp", true).await.unwrap();
    assert!(never.is_empty(), "a claim never made");
    let unknown = Claim { id: MessageId::from_uuid(uuid::Uuid::now_v7()), attempts: 1 };
    assert!(store.mark_sent(&[unknown], sent_at, "smtp", true).await.unwrap().is_empty(), "an unknown message");
    assert!(store.mark_sent(&[], sent_at, "smtp", true).await.unwrap().is_empty(), "no claims");
    assert_eq!(stored(&store, message.id).await, OutboxMessage { attempts: 2, ..message.clone() }, "unchanged");

    // A batch: the live claim is marked, the stale and unknown ones beside it are not.
    let batch = [claim(&message, 1), claim(&message, 2), unknown];
    assert_eq!(store.mark_sent(&batch, sent_at, "smtp", true).await.unwrap(), vec![message.id]);
    assert_eq!(store.mark_sent(&[claim(&kept, 2)], sent_at, "mailbox", false).await.unwrap(), vec![kept.id]);
    let erased = stored(&store, message.id).await;
    let expected = OutboxMessage {
        mail: None,
        status: MessageStatus::Sent,
        attempts: 2,
        delivered_via: Some("smtp".to_owned()),
        sent_at: Some(sent_at),
        ..message.clone()
    };
    assert_eq!(erased, expected, "sent, its mail erased");
    let read = stored(&store, kept.id).await;
    assert_eq!(
        (read.status, read.mail.as_ref(), read.delivered_via.as_deref()),
        (MessageStatus::Sent, kept.mail.as_ref(), Some("mailbox"))
    );
    assert_eq!(read.sent_at, Some(sent_at));
    let listed = store.list_messages(None, 10).await.unwrap();
    assert!(listed.contains(&expected), "the list shows the erased message");

    assert!(claim_ids(&store, much_later(), 10).await.is_empty(), "sent messages are never claimed again");
    assert!(!store.mark_failed(message.id, 1, "late", Some(much_later())).await.unwrap(), "a stale failure");
    assert_eq!(stored(&store, message.id).await, expected);
}

/// `mark_failed` with a retry time makes the message pending again, due at that time (not
/// before, and even within the lapsed claim's lease), with the error recorded; without
/// one it fails the message for good. Both are fenced by the attempt count.
pub async fn mark_failed_retries_at_the_given_time_or_gives_up(store: Store) {
    let t = now();
    let message = invitation_mail(None, "ada@example.com", t);
    queue(&store, std::slice::from_ref(&message)).await;
    assert_eq!(claim_ids(&store, t, 10).await, vec![message.id]);

    let retry_at = t + Duration::seconds(10);
    assert!(!store.mark_failed(message.id, 2, "421 try later", Some(retry_at)).await.unwrap(), "stale");
    assert!(store.mark_failed(message.id, 1, "421 try later", Some(retry_at)).await.unwrap());
    let expected = OutboxMessage {
        attempts: 1,
        next_attempt_at: retry_at,
        last_error: Some("421 try later".to_owned()),
        ..message.clone()
    };
    assert_eq!(stored(&store, message.id).await, expected);
    assert!(claim_ids(&store, retry_at - Duration::microseconds(1), 10).await.is_empty(), "not due yet");
    let retried = store.claim_due_messages(retry_at, lease(), 10).await.unwrap();
    assert_eq!(retried, vec![OutboxMessage { attempts: 2, ..expected }], "due at the retry time");

    assert!(!store.mark_failed(message.id, 1, "550 no such user", None).await.unwrap(), "stale");
    assert!(store.mark_failed(message.id, 2, "550 no such user", None).await.unwrap());
    let failed = stored(&store, message.id).await;
    assert_eq!(failed.status, MessageStatus::Failed);
    assert_eq!(failed.attempts, 2);
    assert_eq!(failed.last_error.as_deref(), Some("550 no such user"));
    assert_eq!(failed.mail, message.mail, "a failed message keeps its mail");
    assert_eq!(failed.sent_at, None);
    assert!(claim_ids(&store, much_later(), 10).await.is_empty(), "failed messages are never claimed again");
}

/// `list_messages` is keyset-paginated by id, whatever the messages' states.
pub async fn messages_list_in_id_order_with_keyset_pages(store: Store) {
    let t = now();
    let mut messages: Vec<_> = (0..5).map(|i| invitation_mail(None, &format!("m{i}@example.com"), t)).collect();
    messages.reverse();
    // Queued in reverse id order, so insertion order cannot pass for id order.
    for message in &messages {
        queue(&store, std::slice::from_ref(message)).await;
    }
    messages.sort_by_key(|m| m.id);
    let claimed = store.claim_due_messages(t, lease(), 1).await.unwrap();
    assert_eq!(store.mark_sent(&[claimed[0].claim()], t, "mailbox", true).await.unwrap(), vec![claimed[0].id]);
    let all = store.list_messages(None, 100).await.unwrap();
    assert_eq!(all.iter().map(|m| m.id).collect::<Vec<_>>(), messages.iter().map(|m| m.id).collect::<Vec<_>>());

    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_messages(after, 2).await.unwrap();
        assert!(page.len() <= 2, "a page exceeds the limit");
        after = page.last().map(|m| m.id);
        let done = page.len() < 2;
        walked.extend(page);
        if done {
            break;
        }
        assert!(walked.len() <= all.len(), "pagination runs past the end");
    }
    assert_eq!(walked, all);
    assert!(store.list_messages(Some(messages[4].id), 10).await.unwrap().is_empty());
}

/// How many times the claim race runs, each on a new batch of messages.
const CLAIM_RACE_ROUNDS: usize = 5;
/// Workers claiming at once.
const CLAIMERS: usize = 8;
/// Messages due in each round: fewer than the workers can take together.
const DUE_PER_ROUND: usize = 20;
/// What each worker claims at most.
const CLAIM_LIMIT: u32 = 3;

/// Eight workers claiming at once, three each, from twenty due messages: no message is
/// claimed twice, and together they take all twenty (each claim skips the others' rows
/// rather than missing them); repeated over several rounds.
pub async fn concurrent_claims_never_share_a_message(store: Store) {
    let t = now();
    for round in 0..CLAIM_RACE_ROUNDS {
        // Earlier rounds' messages are still leased at `t`, so only this round's are due.
        let batch: Vec<_> =
            (0..DUE_PER_ROUND).map(|i| invitation_mail(None, &format!("r{round}m{i}@example.com"), t)).collect();
        queue(&store, &batch).await;
        let claims = race(CLAIMERS, |_| {
            let store = Arc::clone(&store);
            async move { store.claim_due_messages(t, lease(), CLAIM_LIMIT).await.expect("claim_due_messages") }
        })
        .await;

        let mut seen = HashSet::new();
        for message in claims.iter().flatten() {
            assert!(seen.insert(message.id), "round {round}: message {} was claimed twice", message.id);
        }
        for claim in &claims {
            assert!(claim.len() <= CLAIM_LIMIT as usize, "round {round}: a claim exceeds the limit");
            assert!(claim.iter().all(|m| m.attempts == 1), "round {round}: one attempt each: {claim:?}");
        }
        let expected: HashSet<MessageId> = batch.iter().map(|m| m.id).collect();
        let sizes: Vec<usize> = claims.iter().map(Vec::len).collect();
        assert_eq!(seen, expected, "round {round}: together the claims take every due message ({sizes:?})");
        assert!(claim_ids(&store, t, 100).await.is_empty(), "round {round}: nothing is left");
    }
}
