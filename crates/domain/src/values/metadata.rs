//! Small key/value metadata attached to a user.

use std::collections::BTreeMap;

use crate::validation::FieldProblem;

/// Why metadata was rejected.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MetadataError {
    /// More than [`Metadata::MAX_KEYS`] keys.
    #[error("metadata holds at most 50 keys")]
    TooManyKeys,
    /// A key is empty, longer than 40 characters or uses other characters than
    /// letters, digits, `_`, `-` and `.`.
    #[error("metadata key {0:?} must be 1-40 characters of letters, digits, '_', '-' or '.'")]
    BadKey(String),
    /// A value is longer than 500 characters.
    #[error("metadata value of {0:?} must be at most 500 characters")]
    ValueTooLong(String),
}

impl FieldProblem for MetadataError {
    fn code(&self) -> &'static str {
        match self {
            Self::TooManyKeys => "too_many_keys",
            Self::BadKey(_) => "invalid_key",
            Self::ValueTooLong(_) => "too_long",
        }
    }
}

/// String keys to string values, small enough to travel with every read (≤ 50 keys,
/// keys ≤ 40 characters, values ≤ 500 characters).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata(BTreeMap<String, String>);

impl Metadata {
    /// The most keys metadata may hold.
    pub const MAX_KEYS: usize = 50;

    /// Validates the map.
    ///
    /// # Errors
    /// [`MetadataError`] naming the first offending key.
    pub fn parse(map: BTreeMap<String, String>) -> Result<Self, MetadataError> {
        if map.len() > Self::MAX_KEYS {
            return Err(MetadataError::TooManyKeys);
        }
        for (key, value) in &map {
            let key_ok = (1..=40).contains(&key.chars().count())
                && key.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
            if !key_ok {
                return Err(MetadataError::BadKey(key.clone()));
            }
            if value.chars().count() > 500 {
                return Err(MetadataError::ValueTooLong(key.clone()));
            }
        }
        Ok(Self(map))
    }

    /// The entries, sorted by key.
    pub fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metadata_limits_apply() {
        let ok = BTreeMap::from([("plan".to_owned(), "pro".to_owned())]);
        assert!(Metadata::parse(ok).is_ok());
        let bad_key = BTreeMap::from([("has space".to_owned(), String::new())]);
        assert!(matches!(Metadata::parse(bad_key), Err(MetadataError::BadKey(_))));
        let long = BTreeMap::from([("k".to_owned(), "v".repeat(501))]);
        assert!(matches!(Metadata::parse(long), Err(MetadataError::ValueTooLong(_))));
        let many = (0..51).map(|i| (format!("k{i}"), String::new())).collect();
        assert_eq!(Metadata::parse(many), Err(MetadataError::TooManyKeys));
    }
}
