//! Passwords (rule 8): length bounds, never equal to the email, no composition rules.

use std::fmt;

use rand::Rng;
use rand::rngs::OsRng;
use secrecy::{ExposeSecret, SecretString};

use super::Email;
use crate::validation::FieldProblem;

/// The length rules for passwords; the minimum is configurable, the maximum is not.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PasswordPolicy {
    min_chars: usize,
}

impl PasswordPolicy {
    /// The longest accepted password, in characters.
    pub const MAX_CHARS: usize = 256;
    /// The default minimum length.
    pub const DEFAULT_MIN_CHARS: usize = 12;

    /// A policy with this minimum length, clamped to 8..=[`Self::MAX_CHARS`].
    pub fn with_min_chars(min_chars: usize) -> Self {
        Self { min_chars: min_chars.clamp(8, Self::MAX_CHARS) }
    }

    /// The minimum length in characters.
    pub fn min_chars(&self) -> usize {
        self.min_chars
    }
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self { min_chars: Self::DEFAULT_MIN_CHARS }
    }
}

/// Why a password was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Shorter than the policy's minimum.
    #[error("password must be at least {min} characters")]
    TooShort {
        /// The minimum in force.
        min: usize,
    },
    /// Longer than 256 characters.
    #[error("password must be at most 256 characters")]
    TooLong,
    /// Equal to the user's email address.
    #[error("password must not be the email address")]
    EqualsEmail,
}

impl FieldProblem for PasswordError {
    fn code(&self) -> &'static str {
        match self {
            Self::TooShort { .. } => "too_short",
            Self::TooLong => "too_long",
            Self::EqualsEmail => "equals_email",
        }
    }
}

/// A password that satisfies the policy. Its text never appears in `Debug` output.
#[derive(Clone)]
pub struct Password(SecretString);

impl Password {
    /// Checks `raw` against `policy` and the user's email. The password is taken as given:
    /// no trimming, since spaces may be part of it.
    ///
    /// # Errors
    /// [`PasswordError`] when too short, too long or equal to the email.
    pub fn parse(raw: &str, policy: PasswordPolicy, email: &Email) -> Result<Self, PasswordError> {
        Self::check_length(raw, policy)?;
        if raw.trim().to_lowercase() == email.normalized() {
            return Err(PasswordError::EqualsEmail);
        }
        Ok(Self(SecretString::from(raw.to_owned())))
    }

    /// Checks only the length bounds (used when the email is itself invalid, so the
    /// caller still hears about every problem at once).
    ///
    /// # Errors
    /// [`PasswordError::TooShort`] or [`PasswordError::TooLong`].
    pub fn check_length(raw: &str, policy: PasswordPolicy) -> Result<(), PasswordError> {
        let chars = raw.chars().count();
        if chars < policy.min_chars {
            return Err(PasswordError::TooShort { min: policy.min_chars });
        }
        if chars > PasswordPolicy::MAX_CHARS {
            return Err(PasswordError::TooLong);
        }
        Ok(())
    }

    /// A new random password from the operating system's CSPRNG that meets `policy`:
    /// at least 20 characters from a 62-letter alphabet (≥ 119 bits).
    pub fn generate(policy: PasswordPolicy) -> Self {
        const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        let len = policy.min_chars.max(20);
        let mut rng = OsRng;
        let text: String = (0..len).map(|_| ALPHABET[rng.gen_range(0..ALPHABET.len())] as char).collect();
        Self(SecretString::from(text))
    }

    /// The secret text, for hashing or a one-time display.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn email() -> Email {
        Email::parse("ada@example.com").unwrap()
    }

    #[test]
    fn length_bounds_apply() {
        let policy = PasswordPolicy::default();
        assert_eq!(Password::parse("short", policy, &email()).unwrap_err(), PasswordError::TooShort { min: 12 });
        assert_eq!(Password::parse(&"x".repeat(257), policy, &email()).unwrap_err(), PasswordError::TooLong);
        assert!(Password::parse("correct horse battery", policy, &email()).is_ok());
    }

    #[test]
    fn the_email_is_not_a_password() {
        let policy = PasswordPolicy::with_min_chars(8);
        assert_eq!(Password::parse("ADA@example.com", policy, &email()).unwrap_err(), PasswordError::EqualsEmail);
    }

    #[test]
    fn debug_output_hides_the_secret() {
        let p = Password::parse("correct horse battery", PasswordPolicy::default(), &email()).unwrap();
        assert!(!format!("{p:?}").contains("horse"));
    }

    #[test]
    fn generated_passwords_meet_the_policy_and_differ() {
        let policy = PasswordPolicy::with_min_chars(30);
        let a = Password::generate(policy);
        let b = Password::generate(policy);
        assert_eq!(a.expose().len(), 30);
        assert_ne!(a.expose(), b.expose());
        assert!(Password::parse(a.expose(), policy, &email()).is_ok());
    }

    proptest! {
        #[test]
        fn accepted_passwords_respect_the_bounds(raw in "\\PC{0,300}", min in 8usize..64) {
            let policy = PasswordPolicy::with_min_chars(min);
            if let Ok(p) = Password::parse(&raw, policy, &email()) {
                let n = p.expose().chars().count();
                prop_assert!(n >= min && n <= PasswordPolicy::MAX_CHARS);
            }
        }
    }
}
