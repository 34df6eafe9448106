//! Email addresses: trimmed, compared case-insensitively.

use std::fmt;

use crate::validation::FieldProblem;

/// Why an email address was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Empty after trimming.
    #[error("email is required")]
    Empty,
    /// Longer than 254 characters.
    #[error("email must be at most 254 characters")]
    TooLong,
    /// Not of the form `local@domain.tld`.
    #[error("email must look like name@example.com")]
    Invalid,
}

impl FieldProblem for EmailError {
    fn code(&self) -> &'static str {
        match self {
            Self::Empty => "required",
            Self::TooLong => "too_long",
            Self::Invalid => "invalid",
        }
    }
}

/// An email address as the user typed it (trimmed), with a lowercase form for comparison.
///
/// Two emails are equal when their normalised forms are equal.
#[derive(Clone, Debug)]
pub struct Email {
    display: String,
    normalized: String,
}

impl Email {
    /// The longest accepted address (RFC 5321 path limit).
    pub const MAX_CHARS: usize = 254;

    /// Trims and validates an address.
    ///
    /// # Errors
    /// [`EmailError`] when empty, too long or malformed.
    pub fn parse(raw: impl AsRef<str>) -> Result<Self, EmailError> {
        let display = raw.as_ref().trim();
        if display.is_empty() {
            return Err(EmailError::Empty);
        }
        if display.chars().count() > Self::MAX_CHARS {
            return Err(EmailError::TooLong);
        }
        let (local, domain) = display.rsplit_once('@').ok_or(EmailError::Invalid)?;
        let local_ok = !local.is_empty()
            && local.len() <= 64
            && !local.chars().any(|c| c.is_whitespace() || c.is_control() || matches!(c, '<' | '>' | '"' | '@'));
        let domain_ok = domain.contains('.')
            && domain.split('.').all(|label| {
                !label.is_empty()
                    && !label.starts_with('-')
                    && !label.ends_with('-')
                    && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            });
        if !(local_ok && domain_ok) {
            return Err(EmailError::Invalid);
        }
        Ok(Self { display: display.to_owned(), normalized: display.to_lowercase() })
    }

    /// The address as given, trimmed.
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The lowercase form used for uniqueness and look-ups.
    pub fn normalized(&self) -> &str {
        &self.normalized
    }

    /// The part before the `@`.
    pub fn local_part(&self) -> &str {
        self.display.rsplit_once('@').map_or("", |(local, _)| local)
    }
}

impl PartialEq for Email {
    fn eq(&self, other: &Self) -> bool {
        self.normalized == other.normalized
    }
}

impl Eq for Email {}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.display
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn emails_are_trimmed_and_compared_case_insensitively() {
        let a = Email::parse("  Ada@Example.com ").unwrap();
        assert_eq!(a.as_str(), "Ada@Example.com");
        assert_eq!(a.normalized(), "ada@example.com");
        assert_eq!(a, Email::parse("ada@example.COM").unwrap());
        assert_eq!(a.local_part(), "Ada");
    }

    #[test]
    fn malformed_emails_are_rejected() {
        for bad in ["", "   ", "ada", "ada@", "@example.com", "ada@example", "a b@example.com", "ada@-x.com"] {
            assert!(Email::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(Email::parse(format!("{}@example.com", "a".repeat(250))), Err(EmailError::TooLong));
    }

    proptest! {
        #[test]
        fn normalisation_is_idempotent(local in "[A-Za-z0-9._+-]{1,30}", domain in "[A-Za-z0-9]{1,20}\\.[A-Za-z]{2,6}") {
            let email = Email::parse(format!(" {local}@{domain} ")).unwrap();
            let again = Email::parse(email.normalized()).unwrap();
            prop_assert_eq!(again.normalized(), email.normalized());
            prop_assert_eq!(again, email);
        }

        #[test]
        fn parse_never_panics(raw in "\\PC*") {
            let _ = Email::parse(raw);
        }
    }
}
