//! Refusals, backoff and giving up.

use std::sync::Arc;

use chrono::Duration;
use roster_domain::clock::SystemClock;
use roster_domain::mocks::FixedClock;
use roster_domain::outbox::MessageStatus;
use roster_mail::WorkerConfig;
use roster_mail::testing::{Refusal, SmtpSink};

use super::*;

#[tokio::test]
async fn a_server_that_refuses_twice_gets_the_message_once_after_backing_off() {
    let sink = SmtpSink::start().await;
    sink.refuse_next(2, Refusal::MailFrom);
    let outbox = Arc::new(MemoryOutbox::default());
    let clock = Arc::new(FixedClock::new(start()));
    let id = queue(&outbox, "new@example.com", invitation_mail("tok"), start());
    let worker = worker(&outbox, smtp_to(&sink), Arc::clone(&clock) as _, quick_retries(5));

    assert_eq!(worker.deliver_due().await.unwrap(), 1);
    let stored = outbox.message(id);
    assert_eq!((stored.status, stored.attempts), (MessageStatus::Pending, 1));
    assert_eq!(stored.next_attempt_at, start() + Duration::milliseconds(10));
    assert!(stored.last_error.unwrap().contains("451"), "the server's refusal is recorded");
    assert_eq!(worker.deliver_due().await.unwrap(), 0, "not due before its backoff");

    clock.advance(Duration::milliseconds(10));
    assert_eq!(worker.deliver_due().await.unwrap(), 1);
    assert_eq!(outbox.message(id).next_attempt_at, clock.now() + Duration::milliseconds(20), "the wait doubles");
    clock.advance(Duration::milliseconds(19));
    assert_eq!(worker.deliver_due().await.unwrap(), 0);

    clock.advance(Duration::milliseconds(1));
    assert_eq!(worker.deliver_due().await.unwrap(), 1);
    let stored = outbox.message(id);
    assert_eq!((stored.status, stored.attempts), (MessageStatus::Sent, 3));
    assert_eq!(sink.refused(), 2);
    assert_eq!(sink.messages().len(), 1);
    assert_eq!(worker.deliver_due().await.unwrap(), 0);
}

#[tokio::test]
async fn the_running_worker_retries_a_refused_message_and_delivers_it_once() {
    let sink = SmtpSink::start().await;
    sink.refuse_next(2, Refusal::Greeting);
    let outbox = Arc::new(MemoryOutbox::default());
    let id = queue(&outbox, "new@example.com", invitation_mail("tok"), SystemClock.now());
    let worker = Arc::new(worker(&outbox, smtp_to(&sink), Arc::new(SystemClock), quick_retries(5)));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn({
        let worker = Arc::clone(&worker);
        async move { worker.run(stopped).await }
    });
    (worker.mail_signal())();

    let received = sink.wait_for(1).await;
    stop.send(()).unwrap();
    running.await.unwrap();

    assert_eq!(received[0].invite_link().as_deref(), Some("https://roster.example/invite/tok"));
    let stored = outbox.message(id);
    assert_eq!((stored.status, stored.attempts), (MessageStatus::Sent, 3));
    assert_eq!(sink.refused(), 2);
    assert_eq!(sink.messages().len(), 1, "delivered exactly once");
}

#[tokio::test]
async fn a_message_refused_every_time_ends_failed_after_the_last_attempt() {
    let sink = SmtpSink::start().await;
    sink.refuse_next(usize::MAX, Refusal::MailFrom);
    let outbox = Arc::new(MemoryOutbox::default());
    let clock = Arc::new(FixedClock::new(start()));
    let id = queue(&outbox, "new@example.com", invitation_mail("tok"), start());
    let worker = worker(&outbox, smtp_to(&sink), Arc::clone(&clock) as _, quick_retries(3));

    for attempt in 1..=3 {
        assert_eq!(worker.deliver_due().await.unwrap(), 1, "attempt {attempt}");
        clock.advance(Duration::hours(1));
    }

    let stored = outbox.message(id);
    assert_eq!((stored.status, stored.attempts), (MessageStatus::Failed, 3));
    assert!(stored.last_error.unwrap().contains("451"));
    assert_eq!(worker.deliver_due().await.unwrap(), 0, "a failed message is not retried");
    assert_eq!(sink.refused(), 3);
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn an_unreachable_server_is_retried_later() {
    // A bound socket that does not listen holds the port and refuses every connection.
    let closed = tokio::net::TcpSocket::new_v4().unwrap();
    closed.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let port = closed.local_addr().unwrap().port();
    let outbox = Arc::new(MemoryOutbox::default());
    let id = queue(&outbox, "new@example.com", invitation_mail("tok"), start());
    let worker = worker(
        &outbox,
        smtp_at(&format!("smtp://127.0.0.1:{port}")),
        Arc::new(FixedClock::new(start())),
        quick_retries(5),
    );

    assert_eq!(worker.deliver_due().await.unwrap(), 1);

    let stored = outbox.message(id);
    assert_eq!((stored.status, stored.attempts), (MessageStatus::Pending, 1));
    assert!(stored.last_error.is_some());
}

#[tokio::test]
async fn the_running_worker_outlives_a_storage_failure() {
    let sink = SmtpSink::start().await;
    let outbox = Arc::new(MemoryOutbox::default());
    outbox.fail_next_claims(2);
    let id = queue(&outbox, "new@example.com", invitation_mail("tok"), SystemClock.now());
    let worker = worker(&outbox, smtp_to(&sink), Arc::new(SystemClock), quick_retries(5));
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let running = tokio::spawn(async move { worker.run(stopped).await });

    sink.wait_for(1).await;
    stop.send(()).unwrap();
    running.await.unwrap();

    assert_eq!(outbox.message(id).status, MessageStatus::Sent);
}

#[tokio::test]
async fn a_server_that_never_answers_times_out_within_the_lease() {
    // Connections queue in the backlog and nobody ever greets them.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let outbox = Arc::new(MemoryOutbox::default());
    let id = queue(&outbox, "new@example.com", invitation_mail("tok"), start());
    let config = WorkerConfig { lease: std::time::Duration::from_millis(200), ..quick_retries(5) };
    let worker = worker(
        &outbox,
        smtp_at(&format!("smtp://{}", silent.local_addr().unwrap())),
        Arc::new(FixedClock::new(start())),
        config,
    );

    assert_eq!(worker.deliver_due().await.unwrap(), 1);

    let stored = outbox.message(id);
    assert_eq!((stored.status, stored.attempts), (MessageStatus::Pending, 1));
    assert_eq!(stored.last_error.as_deref(), Some("delivery timed out after 0.1 s"));
}
