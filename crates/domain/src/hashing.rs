//! Password hashing (rule 8): argon2id with OWASP's parameters, behind a port so the
//! application can run it off its async workers.

use std::fmt;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHasher as _, PasswordVerifier as _, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use async_trait::async_trait;

use crate::values::Password;

/// A PHC-format password hash (`$argon2id$v=19$m=19456,t=2,p=1$…`). Not a secret, but
/// kept out of every API response and log all the same.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a stored PHC string.
    pub fn from_phc(phc: String) -> Self {
        Self(phc)
    }

    /// The PHC string, for storage.
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// Hashing failed (the parameters or the hash string are malformed).
#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct HashingError(String);

impl HashingError {
    /// A hashing failure with this reason (for adapters whose worker pool failed).
    pub fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

/// Port: turns passwords into hashes and checks them. Implementations MUST NOT block the
/// caller's async executor: argon2id takes tens of milliseconds of CPU and 19 MiB.
#[async_trait]
pub trait PasswordHasher: Send + Sync + fmt::Debug {
    /// Hashes a validated password with a fresh random salt.
    ///
    /// # Errors
    /// [`HashingError`] only when the hasher itself is broken.
    async fn hash(&self, password: &Password) -> Result<PasswordHash, HashingError>;

    /// Whether `candidate` matches `hash`. A malformed hash never matches.
    async fn verify(&self, candidate: &str, hash: &PasswordHash) -> bool;
}

/// The synchronous argon2id core with OWASP's minimum parameters: 19 MiB, 2 iterations,
/// 1 lane. Adapters call it from a blocking thread pool.
#[derive(Clone, Debug)]
pub struct Argon2id {
    params: Params,
}

impl Default for Argon2id {
    fn default() -> Self {
        Self::owasp()
    }
}

impl Argon2id {
    /// OWASP's recommended parameters (m = 19456 KiB, t = 2, p = 1).
    pub fn owasp() -> Self {
        // The constants are within argon2's bounds, so this cannot fail.
        let params = Params::new(19 * 1024, 2, 1, None).unwrap_or_default();
        Self { params }
    }

    fn engine(&self) -> Argon2<'static> {
        Argon2::new(Algorithm::Argon2id, Version::V0x13, self.params.clone())
    }

    /// Hashes on the calling thread.
    ///
    /// # Errors
    /// [`HashingError`] when argon2 rejects the input.
    pub fn hash_blocking(&self, password: &str) -> Result<PasswordHash, HashingError> {
        let salt = SaltString::generate(&mut OsRng);
        self.engine()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| PasswordHash(h.to_string()))
            .map_err(|e| HashingError(e.to_string()))
    }

    /// Verifies on the calling thread, in time independent of where a mismatch occurs.
    pub fn verify_blocking(&self, candidate: &str, hash: &PasswordHash) -> bool {
        argon2::PasswordHash::new(&hash.0)
            .map(|parsed| self.engine().verify_password(candidate.as_bytes(), &parsed).is_ok())
            .unwrap_or(false)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_use_owasp_parameters_and_verify() {
        let hasher = Argon2id::owasp();
        let hash = hasher.hash_blocking("correct horse battery").unwrap();
        assert!(hash.as_phc().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"));
        assert!(hasher.verify_blocking("correct horse battery", &hash));
        assert!(!hasher.verify_blocking("wrong horse battery", &hash));
        assert!(!hasher.verify_blocking("x", &PasswordHash::from_phc("garbage".into())));
    }
}
