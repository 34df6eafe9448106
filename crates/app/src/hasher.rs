//! Password hashing off the async workers, with bounded concurrency.

use std::sync::Arc;

use async_trait::async_trait;
use roster_domain::hashing::{Argon2id, HashingError, PasswordHash, PasswordHasher};
use roster_domain::values::Password;
use tokio::sync::Semaphore;

/// Runs argon2id on tokio's blocking pool, at most one hash per CPU at a time: each takes
/// 19 MiB and tens of milliseconds, so unbounded parallelism would only add memory and
/// latency, never throughput.
#[derive(Debug, Clone)]
pub struct BlockingHasher {
    argon: Argon2id,
    permits: Arc<Semaphore>,
}

impl BlockingHasher {
    /// A hasher allowing `parallelism` concurrent hashes.
    pub fn new(parallelism: usize) -> Self {
        Self { argon: Argon2id::owasp(), permits: Arc::new(Semaphore::new(parallelism.max(1))) }
    }

    /// One concurrent hash per available CPU.
    pub fn per_cpu() -> Self {
        Self::new(std::thread::available_parallelism().map_or(1, usize::from))
    }

    async fn run<T: Send + 'static>(&self, job: impl FnOnce(Argon2id) -> T + Send + 'static) -> Option<T> {
        let _permit = self.permits.acquire().await.ok()?;
        let argon = self.argon.clone();
        tokio::task::spawn_blocking(move || job(argon)).await.ok()
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
}
