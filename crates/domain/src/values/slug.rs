//! Slugs (organizations) and usernames (users): short lowercase handles.

use std::fmt;

use crate::validation::FieldProblem;

/// Why a slug was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SlugError {
    /// Shorter than 2 or longer than 63 characters.
    #[error("slug must be 2 to 63 characters")]
    Length,
    /// Uses other characters than `a-z`, `0-9` and inner `-`.
    #[error("slug uses only lowercase letters, digits and inner hyphens")]
    Invalid,
}

impl FieldProblem for SlugError {
    fn code(&self) -> &'static str {
        match self {
            Self::Length => "length",
            Self::Invalid => "invalid",
        }
    }
}

/// An organization's unique, URL-safe handle: `acme`, `acme-eu`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Slug(String);

impl Slug {
    /// Trims and validates a slug. Uppercase input is rejected rather than folded, so that
    /// what a caller sent is what gets stored.
    ///
    /// # Errors
    /// [`SlugError`] when the length or characters are wrong.
    pub fn parse(raw: impl AsRef<str>) -> Result<Self, SlugError> {
        let s = raw.as_ref().trim();
        if !(2..=63).contains(&s.len()) {
            return Err(SlugError::Length);
        }
        let ok = s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.starts_with('-')
            && !s.ends_with('-');
        if ok { Ok(Self(s.to_owned())) } else { Err(SlugError::Invalid) }
    }

    /// The slug as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Slug {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Why a username was rejected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    /// Shorter than 2 or longer than 64 characters.
    #[error("username must be 2 to 64 characters")]
    Length,
    /// Uses other characters than `a-z`, `0-9`, `.`, `_` and `-`.
    #[error("username uses only lowercase letters, digits, '.', '_' and '-'")]
    Invalid,
}

impl FieldProblem for UsernameError {
    fn code(&self) -> &'static str {
        match self {
            Self::Length => "length",
            Self::Invalid => "invalid",
        }
    }
}

/// A user's handle, unique within the organization; lowercase.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Username(String);

impl Username {
    /// The longest accepted username.
    pub const MAX_CHARS: usize = 64;

    /// Trims, lowercases and validates a username.
    ///
    /// # Errors
    /// [`UsernameError`] when the length or characters are wrong.
    pub fn parse(raw: impl AsRef<str>) -> Result<Self, UsernameError> {
        let s = raw.as_ref().trim().to_ascii_lowercase();
        if !(2..=Self::MAX_CHARS).contains(&s.len()) {
            return Err(UsernameError::Length);
        }
        if s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')) {
            Ok(Self(s))
        } else {
            Err(UsernameError::Invalid)
        }
    }

    /// A username derived from an email's local part, with `suffix` appended when given
    /// (to step around a taken one). Always valid.
    pub fn derive_from(local_part: &str, suffix: Option<u32>) -> Self {
        let mut base: String = local_part
            .to_ascii_lowercase()
            .chars()
            .map(|c| if c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-') { c } else { '-' })
            .take(48)
            .collect();
        while base.len() < 2 {
            base.push('u');
        }
        match suffix {
            Some(n) => Self(format!("{base}{n}")),
            None => Self(base),
        }
    }

    /// The username as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn slugs_are_lowercase_handles() {
        assert_eq!(Slug::parse(" acme-eu ").unwrap().as_str(), "acme-eu");
        assert_eq!(Slug::parse("Acme"), Err(SlugError::Invalid));
        assert_eq!(Slug::parse("-acme"), Err(SlugError::Invalid));
        assert_eq!(Slug::parse("a"), Err(SlugError::Length));
    }

    #[test]
    fn usernames_are_lowercased() {
        assert_eq!(Username::parse("Ada.L").unwrap().as_str(), "ada.l");
        assert_eq!(Username::parse("ada lovelace"), Err(UsernameError::Invalid));
    }

    proptest! {
        #[test]
        fn derived_usernames_are_always_valid(local in "\\PC{0,80}", suffix in proptest::option::of(0u32..100_000)) {
            let derived = Username::derive_from(&local, suffix);
            prop_assert_eq!(Username::parse(derived.as_str()), Ok(derived));
        }
    }
}
