//! Bounded, trimmed free-text values.

use std::fmt;

use crate::validation::FieldProblem;

/// Why a text value was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Empty after trimming.
    #[error("must not be empty")]
    Empty,
    /// Longer than allowed.
    #[error("must be at most {max} characters")]
    TooLong {
        /// The maximum, in characters.
        max: usize,
    },
    /// Contains a control character or is otherwise malformed.
    #[error("{0}")]
    Invalid(&'static str),
}

impl FieldProblem for TextError {
    fn code(&self) -> &'static str {
        match self {
            Self::Empty => "required",
            Self::TooLong { .. } => "too_long",
            Self::Invalid(_) => "invalid",
        }
    }
}

fn bounded(raw: &str, max: usize) -> Result<String, TextError> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(TextError::Empty);
    }
    if trimmed.chars().count() > max {
        return Err(TextError::TooLong { max });
    }
    if trimmed.chars().any(char::is_control) {
        return Err(TextError::Invalid("must not contain control characters"));
    }
    Ok(trimmed.to_owned())
}

macro_rules! text_type {
    ($(#[$meta:meta])* $name:ident, max = $max:expr $(, check = $check:expr)?) => {
        $(#[$meta])*
        #[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// The longest accepted value, in characters.
            pub const MAX_CHARS: usize = $max;

            /// Trims and validates `raw`.
            ///
            /// # Errors
            /// [`TextError`] when empty, too long or malformed.
            pub fn parse(raw: impl AsRef<str>) -> Result<Self, TextError> {
                let value = bounded(raw.as_ref(), $max)?;
                $( let check: fn(&str) -> Result<(), TextError> = $check; check(&value)?; )?
                Ok(Self(value))
            }

            /// The value as a string slice.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

text_type!(
    /// A person's display name.
    DisplayName, max = 200
);
text_type!(
    /// A first or last name.
    NamePart, max = 100
);
text_type!(
    /// An organization's name.
    OrgName, max = 200
);
text_type!(
    /// A free-text description.
    Description, max = 2000
);
text_type!(
    /// Where a user is (free text, e.g. "Berlin").
    Location, max = 200
);
text_type!(
    /// A human label for an API key.
    KeyName, max = 100
);
text_type!(
    /// A BCP 47 language tag such as `en` or `pt-BR`.
    Locale, max = 35, check = |s| {
        let ok = s.split('-').all(|p| !p.is_empty() && p.len() <= 8 && p.chars().all(|c| c.is_ascii_alphanumeric()));
        if ok { Ok(()) } else { Err(TextError::Invalid("must be a language tag such as en or pt-BR")) }
    }
);
text_type!(
    /// An absolute `https://` (or `http://`) URL.
    HttpUrl, max = 2048, check = |s| {
        let rest = s.strip_prefix("https://").or_else(|| s.strip_prefix("http://"));
        match rest {
            Some(r) if !r.is_empty() && !r.starts_with('/') && !r.contains(char::is_whitespace) => Ok(()),
            _ => Err(TextError::Invalid("must be an absolute http(s) URL")),
        }
    }
);
text_type!(
    /// An internet domain name such as `example.com`, stored lowercase.
    DomainName, max = 253, check = |s| {
        let ok = s.contains('.')
            && s.split('.').all(|l| !l.is_empty() && l.len() <= 63 && !l.starts_with('-') && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        if ok { Ok(()) } else { Err(TextError::Invalid("must be a domain name such as example.com")) }
    }
);

impl DomainName {
    /// Lowercases after validation: domains compare case-insensitively.
    ///
    /// # Errors
    /// [`TextError`] when not a domain name.
    pub fn parse_normalized(raw: impl AsRef<str>) -> Result<Self, TextError> {
        Self::parse(raw.as_ref().to_ascii_lowercase())
    }
}

/// A label on a user: 1–64 characters of lowercase letters, digits, `-`, `_`, `:` or `.`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    /// The longest accepted tag.
    pub const MAX_CHARS: usize = 64;

    /// Trims, lowercases and validates a tag.
    ///
    /// # Errors
    /// [`TextError`] when empty, too long or using other characters.
    pub fn parse(raw: impl AsRef<str>) -> Result<Self, TextError> {
        let value = bounded(raw.as_ref(), Self::MAX_CHARS)?.to_lowercase();
        if value.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | ':' | '.')) {
            Ok(Self(value))
        } else {
            Err(TextError::Invalid("tags use only letters, digits, '-', '_', ':' and '.'"))
        }
    }

    /// The tag as a string slice.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Tag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user's tags: at most 20, sorted, without duplicates.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tags(Vec<Tag>);

impl Tags {
    /// The most tags a user may carry.
    pub const MAX: usize = 20;

    /// Validates every tag, then sorts and de-duplicates.
    ///
    /// # Errors
    /// [`TextError`] for the first bad tag, or when there are more than [`Tags::MAX`].
    pub fn parse<S: AsRef<str>>(raw: impl IntoIterator<Item = S>) -> Result<Self, TextError> {
        let mut tags = raw.into_iter().map(Tag::parse).collect::<Result<Vec<_>, _>>()?;
        tags.sort();
        tags.dedup();
        if tags.len() > Self::MAX {
            return Err(TextError::Invalid("at most 20 tags"));
        }
        Ok(Self(tags))
    }

    /// The tags, sorted.
    pub fn as_slice(&self) -> &[Tag] {
        &self.0
    }

    /// The tags as strings, sorted.
    pub fn to_strings(&self) -> Vec<String> {
        self.0.iter().map(|t| t.0.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn text_is_trimmed_and_bounded() {
        assert_eq!(OrgName::parse("  Acme  ").unwrap().as_str(), "Acme");
        assert_eq!(OrgName::parse("   "), Err(TextError::Empty));
        assert_eq!(NamePart::parse("x".repeat(101)), Err(TextError::TooLong { max: 100 }));
        assert!(DisplayName::parse("a\u{0}b").is_err());
    }

    #[test]
    fn urls_locales_and_domains_are_checked() {
        assert!(HttpUrl::parse("https://example.com/login").is_ok());
        assert!(HttpUrl::parse("javascript:alert(1)").is_err());
        assert!(Locale::parse("pt-BR").is_ok());
        assert!(Locale::parse("en_US").is_err());
        assert_eq!(DomainName::parse_normalized("Example.COM").unwrap().as_str(), "example.com");
        assert!(DomainName::parse("localhost").is_err());
    }

    #[test]
    fn tags_are_normalised_sorted_and_limited() {
        let tags = Tags::parse(["b", "A", "a"]).unwrap();
        assert_eq!(tags.to_strings(), vec!["a", "b"]);
        assert!(Tags::parse(["has space"]).is_err());
        assert!(Tags::parse((0..21).map(|i| format!("t{i}"))).is_err());
    }

    proptest! {
        #[test]
        fn accepted_text_is_trimmed_and_within_bounds(raw in "\\PC{0,300}") {
            if let Ok(name) = DisplayName::parse(&raw) {
                prop_assert_eq!(name.as_str(), name.as_str().trim());
                prop_assert!(!name.as_str().is_empty());
                prop_assert!(name.as_str().chars().count() <= DisplayName::MAX_CHARS);
            }
        }

        #[test]
        fn accepted_tags_are_canonical(raw in prop::collection::vec("[a-zA-Z0-9:._-]{1,10}", 0..30)) {
            if let Ok(tags) = Tags::parse(&raw) {
                let again = Tags::parse(tags.to_strings()).unwrap();
                prop_assert_eq!(again, tags);
            }
        }
    }
}
