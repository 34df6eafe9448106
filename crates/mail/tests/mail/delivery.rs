//! What reaches the SMTP server, and what the outbox keeps afterwards.

use std::collections::BTreeSet;
use std::sync::Arc;

use roster_domain::mocks::FixedClock;
use roster_domain::outbox::MessageStatus;
use roster_mail::testing::SmtpSink;
use roster_mail::{Mailbox, WorkerConfig};

use super::*;

#[tokio::test]
async fn an_invitation_reaches_the_smtp_server_as_text_and_html_with_its_link() {
    let sink = SmtpSink::start().await;
    let outbox = Arc::new(MemoryOutbox::default());
    let clock = Arc::new(FixedClock::new(start()));
    let id = queue(&outbox, "New.Person@Example.com", invitation_mail("tok_123-abc"), start());
    let worker = worker(&outbox, smtp_to(&sink), clock, WorkerConfig::default());

    assert_eq!(worker.deliver_due().await.unwrap(), 1);

    let received = sink.wait_for(1).await;
    let message = &received[0];
    assert_eq!(message.mail_from, "noreply@roster.example");
    assert_eq!(message.rcpt_to, ["New.Person@Example.com"]);
    assert_eq!(message.header("Message-ID"), Some(format!("<{id}@roster.example>")));
    assert_eq!(message.header("Subject").as_deref(), Some("You are invited to join Acme & Co"));
    assert!(message.header("Content-Type").unwrap().starts_with("multipart/alternative"));
    let parts = message.parts();
    let media_types: Vec<_> = parts.iter().map(|p| p.media_type.as_str()).collect();
    assert_eq!(media_types, ["text/plain", "text/html"]);
    assert_eq!(parts[0].transfer_encoding, "7bit");
    let link = "https://roster.example/invite/tok_123-abc";
    assert_eq!(message.invite_link().as_deref(), Some(link));
    assert!(message.text().unwrap().contains("Ada Lovelace invited you to join Acme & Co."));
    assert!(message.text().unwrap().contains("21 March 2031 at 09:00 UTC"));
    let html = message.html().unwrap();
    assert!(html.contains(&format!("href=\"{link}\"")), "{html}");
    assert!(html.contains("Acme &amp; Co"), "{html}");

    let stored = outbox.message(id);
    assert_eq!(stored.status, MessageStatus::Sent);
    assert_eq!(stored.attempts, 1);
    assert_eq!(stored.delivered_via.as_deref(), Some("smtp"));
    assert_eq!(stored.sent_at, Some(start()));
    assert_eq!(stored.mail, None, "the link is erased once delivered");
}

#[tokio::test]
async fn credentials_reach_the_smtp_server_in_both_bodies() {
    let sink = SmtpSink::start().await;
    let outbox = Arc::new(MemoryOutbox::default());
    let id = queue(&outbox, "bob@acme.example", credentials_mail(), start());
    let worker = worker(&outbox, smtp_to(&sink), Arc::new(FixedClock::new(start())), WorkerConfig::default());

    assert_eq!(worker.deliver_due().await.unwrap(), 1);

    let message = &sink.wait_for(1).await[0];
    assert_eq!(message.header("Subject").as_deref(), Some("Your account at Acme & Co"));
    for body in [message.text().unwrap(), message.html().unwrap()] {
        for expected in ["https://acme.example/login", "bob@acme.example", "Gen3rated-pa55word!"] {
            assert!(body.contains(expected), "{expected} missing from {body}");
        }
    }
    assert_eq!(outbox.message(id).mail, None, "the password is erased once delivered");
}

#[tokio::test]
async fn the_dev_mailbox_marks_the_message_delivered_and_keeps_it_readable() {
    let outbox = Arc::new(MemoryOutbox::default());
    let id = queue(&outbox, "new@example.com", invitation_mail("tok"), start());
    let worker = worker(&outbox, Arc::new(Mailbox), Arc::new(FixedClock::new(start())), WorkerConfig::default());

    assert_eq!(worker.deliver_due().await.unwrap(), 1);

    let stored = outbox.message(id);
    assert_eq!(stored.status, MessageStatus::Sent);
    assert_eq!(stored.delivered_via.as_deref(), Some("mailbox"));
    assert_eq!(stored.mail, Some(invitation_mail("tok")));
    assert_eq!(worker.deliver_due().await.unwrap(), 0, "a delivered message is not claimed again");
}

#[tokio::test]
async fn a_message_without_content_fails_for_good_without_reaching_the_server() {
    let sink = SmtpSink::start().await;
    let outbox = Arc::new(MemoryOutbox::default());
    let id = queue(&outbox, "new@example.com", invitation_mail("tok"), start());
    let mut erased = outbox.message(id);
    erased.mail = None;
    outbox.queue(erased);
    let worker = worker(&outbox, smtp_to(&sink), Arc::new(FixedClock::new(start())), quick_retries(5));

    assert_eq!(worker.deliver_due().await.unwrap(), 1);

    let stored = outbox.message(id);
    assert_eq!(stored.status, MessageStatus::Failed);
    assert_eq!(stored.attempts, 1);
    assert!(stored.last_error.unwrap().contains("no content"));
    assert!(sink.messages().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_workers_over_one_outbox_deliver_each_message_once() {
    let sink = SmtpSink::start().await;
    let outbox = Arc::new(MemoryOutbox::default());
    let clock: Arc<dyn Clock> = Arc::new(roster_domain::clock::SystemClock);
    let ids: BTreeSet<_> = (0..24)
        .map(|n| queue(&outbox, &format!("user{n}@example.com"), invitation_mail(&format!("t{n}")), clock.now()))
        .collect();
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let workers: Vec<_> = (0..2)
        .map(|_| {
            let worker = worker(&outbox, smtp_to(&sink), Arc::clone(&clock), quick_retries(3));
            let mut stopped = stopped.clone();
            tokio::spawn(async move { worker.run(async move { stopped.wait_for(|s| *s).await.map(drop) }).await })
        })
        .collect();

    let received = sink.wait_for(ids.len()).await;
    stop.send_replace(true);
    for worker in workers {
        worker.await.unwrap();
    }

    let message_ids: BTreeSet<_> = sink.messages().iter().map(|m| m.header("Message-ID").unwrap()).collect();
    let expected: BTreeSet<_> = ids.iter().map(|id| format!("<{id}@roster.example>")).collect();
    assert_eq!(message_ids, expected);
    assert_eq!(received.len(), ids.len());
    assert_eq!(sink.messages().len(), ids.len(), "nothing arrived twice");
    for message in outbox.all() {
        assert_eq!((message.status, message.attempts), (MessageStatus::Sent, 1), "{}", message.id);
    }
}
