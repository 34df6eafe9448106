//! Password hashing off the async workers, on a few low-priority threads of its own.
//!
//! argon2id takes 19 MiB and tens of milliseconds of one core per hash. Running it on
//! tokio's workers would stall every request behind it; running it at the same priority
//! as the request-serving threads would still make every read wait for a hash's time
//! slice. So hashes run on dedicated threads (one per CPU: more would only add memory and
//! latency, never throughput) in Linux's idle scheduling class (`SCHED_IDLE`): they get
//! every idle cycle — a burst of password creations runs at the machine's argon2id rate —
//! but a request that needs the CPU preempts them at once, so reads stay fast while
//! passwords are hashed. Under a load that saturates every CPU, password operations slow
//! down (they keep a sliver of CPU) rather than the reads.

use std::sync::mpsc::{self, Receiver, Sender};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use async_trait::async_trait;
use roster_domain::hashing::{Argon2id, HashingError, PasswordHash, PasswordHasher};
use roster_domain::values::Password;
use tokio::sync::oneshot;

type Job = Box<dyn FnOnce(&Argon2id) + Send>;

/// Hashes and verifies passwords on dedicated low-priority threads; cheap to clone.
#[derive(Debug, Clone)]
pub struct BlockingHasher {
    jobs: Sender<Job>,
    threads: usize,
}

impl BlockingHasher {
    /// A hasher with `parallelism` hashing threads.
    pub fn new(parallelism: usize) -> Self {
        let threads = parallelism.max(1);
        let (jobs, queue) = mpsc::channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        for index in 0..threads {
            let queue = queue.clone();
            let spawned = thread::Builder::new().name(format!("roster-hash-{index}")).spawn(move || work(&queue));
            if let Err(e) = spawned {
                tracing::error!(error = %e, "cannot start a password hashing thread");
            }
        }
        Self { jobs, threads }
    }

    /// One hashing thread per available CPU.
    pub fn per_cpu() -> Self {
        Self::new(thread::available_parallelism().map_or(1, usize::from))
    }

    /// How many hashing threads there are.
    pub fn threads(&self) -> usize {
        self.threads
    }

    async fn run<T: Send + 'static>(&self, job: impl FnOnce(&Argon2id) -> T + Send + 'static) -> Option<T> {
        let (done, result) = oneshot::channel();
        let job: Job = Box::new(move |argon| {
            let _ = done.send(job(argon));
        });
        self.jobs.send(job).ok()?;
        result.await.ok()
    }
}

/// A hashing thread: idle scheduling class, then jobs until every sender is gone.
fn work(queue: &Mutex<Receiver<Job>>) {
    use thread_priority::{NormalThreadSchedulePolicy, ThreadPriority, ThreadSchedulePolicy};
    // SCHED_IDLE: a thread of the normal class that wakes up (a request) preempts it at
    // once; it still gets a sliver of CPU under full load, so hashing never stops.
    let idle = ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Idle);
    let lowered =
        thread_priority::set_thread_priority_and_policy(thread_priority::thread_native_id(), ThreadPriority::Min, idle);
    if let Err(e) = lowered {
        tracing::warn!(error = ?e, "cannot lower the password hashing thread's priority; hashing competes with requests");
    }
    let argon = Argon2id::owasp();
    loop {
        // The lock is held only while waiting for the next job, never while hashing.
        let next = queue.lock().unwrap_or_else(PoisonError::into_inner).recv();
        match next {
            Ok(job) => job(&argon),
            Err(_) => return,
        }
    }
}

#[async_trait]
impl PasswordHasher for BlockingHasher {
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashingError> {
        let secret = password.clone();
        self.run(move |argon| argon.hash_blocking(secret.expose()))
            .await
            .unwrap_or_else(|| Err(HashingError::new("the hashing worker failed")))
    }

    async fn verify(&self, candidate: &str, hash: &PasswordHash) -> bool {
        let (candidate, hash) = (candidate.to_owned(), hash.clone());
        self.run(move |argon| argon.verify_blocking(&candidate, &hash)).await.unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use roster_domain::values::{Email, PasswordPolicy};

    use super::*;

    #[tokio::test]
    async fn hashes_verify_off_the_async_workers() {
        let hasher = BlockingHasher::new(2);
        let email = Email::parse("ada@example.com").unwrap();
        let password = Password::parse("correct horse battery", PasswordPolicy::default(), &email).unwrap();
        let hash = hasher.hash(&password).await.unwrap();
        assert!(hasher.verify("correct horse battery", &hash).await);
        assert!(!hasher.verify("wrong", &hash).await);
    }

    #[tokio::test]
    async fn hashes_run_concurrently_on_every_thread() {
        let hasher = BlockingHasher::new(2);
        assert_eq!(hasher.threads(), 2);
        let email = Email::parse("ada@example.com").unwrap();
        let password = Password::parse("correct horse battery", PasswordPolicy::default(), &email).unwrap();
        let hashes = futures_join(&hasher, &password).await;
        assert_eq!(hashes.len(), 4);
        assert!(hashes.iter().all(|h| h.as_phc().starts_with("$argon2id$")));
    }

    async fn futures_join(hasher: &BlockingHasher, password: &Password) -> Vec<PasswordHash> {
        let (a, b, c, d) =
            tokio::join!(hasher.hash(password), hasher.hash(password), hasher.hash(password), hasher.hash(password));
        vec![a.unwrap(), b.unwrap(), c.unwrap(), d.unwrap()]
    }
}
