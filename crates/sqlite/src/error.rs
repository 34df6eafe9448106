//! Mapping SQLite failures onto [`StoreError`].

use roster_domain::error::{StoreError, Unique};

/// Failures this adapter detects itself (rather than SQLite reporting them).
#[derive(Debug, thiserror::Error)]
pub(crate) enum AdapterError {
    /// A stored value does not parse back into its domain type.
    #[error("column `{column}` holds an invalid value: {reason}")]
    BadColumn {
        /// The column read.
        column: &'static str,
        /// Why the value was rejected.
        reason: String,
    },
    /// The transaction was used after its commit.
    #[error("the transaction was already committed")]
    Finished,
    /// A value the domain may hold but storage never does.
    #[error("cannot store {0}")]
    Unstorable(&'static str),
    /// An overwrite found no row to overwrite.
    #[error("no {0} row to update")]
    NoRow(&'static str),
}

impl From<AdapterError> for StoreError {
    fn from(e: AdapterError) -> Self {
        Self::other(e)
    }
}

/// The one place SQLite errors become [`StoreError`]s: unique violations of the
/// constraints the domain knows become [`StoreError::Duplicate`], everything else
/// (other unique violations included) [`StoreError::Other`].
pub(crate) fn store_error(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && db.is_unique_violation()
        && let Some(unique) = unique_of(db.message())
    {
        return StoreError::Duplicate(unique);
    }
    StoreError::other(e)
}

/// Which domain rule a SQLite unique-violation message is about. SQLite names the columns
/// of the violated index (`UNIQUE constraint failed: users.org_id, users.email_normalized`),
/// or the index itself when it is on expressions (`UNIQUE constraint failed: index 'x'`).
fn unique_of(message: &str) -> Option<Unique> {
    let target = message.strip_prefix("UNIQUE constraint failed: ")?.trim();
    if let Some(index) = target.strip_prefix("index '").and_then(|rest| rest.strip_suffix('\'')) {
        return match index {
            "users_org_email_key" => Some(Unique::UserEmail),
            "users_org_username_key" => Some(Unique::UserUsername),
            "organizations_slug_key" => Some(Unique::OrganizationSlug),
            _ => None,
        };
    }
    let columns: Vec<&str> = target.split(',').map(str::trim).collect();
    match columns.as_slice() {
        ["users.org_id", "users.email_normalized"] => Some(Unique::UserEmail),
        ["users.org_id", "users.username"] => Some(Unique::UserUsername),
        ["organizations.slug"] => Some(Unique::OrganizationSlug),
        ["roles.org_id", "roles.key"] => Some(Unique::RoleKey),
        ["user_permissions.org_id", "user_permissions.user_id", "user_permissions.permission"] => {
            Some(Unique::GrantPermission)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;
    use std::error::Error as StdError;
    use std::fmt;

    use sqlx::error::{DatabaseError, ErrorKind};

    use super::*;

    /// The error kinds the tests use (`ErrorKind` is not `Clone`).
    #[derive(Clone, Copy, Debug)]
    enum Kind {
        Unique,
        ForeignKey,
        Other,
    }

    /// A stand-in for a SQLite error with a given message and kind.
    #[derive(Debug)]
    struct FakeDbError {
        message: &'static str,
        kind: Kind,
    }

    impl fmt::Display for FakeDbError {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.message)
        }
    }

    impl StdError for FakeDbError {}

    impl DatabaseError for FakeDbError {
        fn message(&self) -> &str {
            self.message
        }

        fn code(&self) -> Option<Cow<'_, str>> {
            Some(Cow::Borrowed("2067"))
        }

        fn as_error(&self) -> &(dyn StdError + Send + Sync + 'static) {
            self
        }

        fn as_error_mut(&mut self) -> &mut (dyn StdError + Send + Sync + 'static) {
            self
        }

        fn into_error(self: Box<Self>) -> Box<dyn StdError + Send + Sync + 'static> {
            self
        }

        fn kind(&self) -> ErrorKind {
            match self.kind {
                Kind::Unique => ErrorKind::UniqueViolation,
                Kind::ForeignKey => ErrorKind::ForeignKeyViolation,
                Kind::Other => ErrorKind::Other,
            }
        }
    }

    fn mapped(message: &'static str, kind: Kind) -> StoreError {
        store_error(sqlx::Error::Database(Box::new(FakeDbError { message, kind })))
    }

    #[test]
    fn known_unique_violations_become_duplicates() {
        let cases = [
            ("UNIQUE constraint failed: users.org_id, users.email_normalized", Unique::UserEmail),
            ("UNIQUE constraint failed: users.org_id, users.username", Unique::UserUsername),
            ("UNIQUE constraint failed: organizations.slug", Unique::OrganizationSlug),
            ("UNIQUE constraint failed: index 'users_org_email_key'", Unique::UserEmail),
            ("UNIQUE constraint failed: index 'organizations_slug_key'", Unique::OrganizationSlug),
            ("UNIQUE constraint failed: roles.org_id, roles.key", Unique::RoleKey),
            (
                "UNIQUE constraint failed: user_permissions.org_id, user_permissions.user_id, user_permissions.permission",
                Unique::GrantPermission,
            ),
        ];
        for (message, unique) in cases {
            assert!(matches!(mapped(message, Kind::Unique), StoreError::Duplicate(u) if u == unique), "{message}");
        }
    }

    #[test]
    fn other_failures_stay_other() {
        let cases = [
            ("UNIQUE constraint failed: users.id", Kind::Unique),
            ("UNIQUE constraint failed: api_keys.digest", Kind::Unique),
            ("UNIQUE constraint failed: roles.org_id, roles.id", Kind::Unique),
            ("UNIQUE constraint failed: sessions.digest", Kind::Unique),
            ("UNIQUE constraint failed: user_permissions.user_id, user_permissions.permission", Kind::Unique),
            ("UNIQUE constraint failed: users.org_id, users.email_normalized, users.x", Kind::Unique),
            ("UNIQUE constraint failed: index 'somewhere_else'", Kind::Unique),
            ("FOREIGN KEY constraint failed", Kind::ForeignKey),
            // The right words with the wrong kind is not a unique violation.
            ("UNIQUE constraint failed: organizations.slug", Kind::Other),
        ];
        for (message, kind) in cases {
            assert!(matches!(mapped(message, kind), StoreError::Other(_)), "{message}");
        }
        assert!(matches!(store_error(sqlx::Error::RowNotFound), StoreError::Other(_)));
        assert!(matches!(store_error(sqlx::Error::PoolTimedOut), StoreError::Other(_)));
    }
}
