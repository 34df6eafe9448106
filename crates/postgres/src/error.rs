//! Mapping PostgreSQL failures to [`StoreError`].

use roster_domain::error::{StoreError, Unique};

/// SQLSTATE `unique_violation`.
const UNIQUE_VIOLATION: &str = "23505";

/// Maps a sqlx error to the port's error: a unique violation of one of the named
/// constraints becomes [`StoreError::Duplicate`], everything else [`StoreError::Other`].
pub(crate) fn store_error(e: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &e
        && let Some(unique) = duplicate_of(db.code().as_deref(), db.constraint())
    {
        return StoreError::Duplicate(unique);
    }
    StoreError::other(e)
}

/// Which uniqueness rule a database error with this SQLSTATE and constraint name breaks,
/// if it is a unique violation of a constraint the domain knows.
fn duplicate_of(sqlstate: Option<&str>, constraint: Option<&str>) -> Option<Unique> {
    if sqlstate != Some(UNIQUE_VIOLATION) {
        return None;
    }
    match constraint? {
        "users_org_email_key" => Some(Unique::UserEmail),
        "users_org_username_key" => Some(Unique::UserUsername),
        "organizations_slug_key" => Some(Unique::OrganizationSlug),
        "roles_org_key_key" => Some(Unique::RoleKey),
        "user_permissions_org_user_permission_key" => Some(Unique::GrantPermission),
        _ => None,
    }
}

/// A stored value failed its domain constructor (or had an impossible shape).
#[derive(Debug, thiserror::Error)]
#[error("stored {column} is invalid: {reason}")]
pub(crate) struct InvalidRow {
    column: &'static str,
    reason: String,
}

impl InvalidRow {
    /// Wraps the reason `column`'s value was rejected.
    pub(crate) fn new(column: &'static str, reason: impl std::fmt::Display) -> Self {
        Self { column, reason: reason.to_string() }
    }
}

/// A [`crate::PgTransaction`] was used after [`roster_domain::ports::Transaction::commit`].
#[derive(Debug, thiserror::Error)]
#[error("the transaction was already committed")]
pub(crate) struct TransactionFinished;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_violations_map_by_constraint_name() {
        let dup = |name| duplicate_of(Some("23505"), Some(name));
        assert_eq!(dup("users_org_email_key"), Some(Unique::UserEmail));
        assert_eq!(dup("users_org_username_key"), Some(Unique::UserUsername));
        assert_eq!(dup("organizations_slug_key"), Some(Unique::OrganizationSlug));
        assert_eq!(dup("roles_org_key_key"), Some(Unique::RoleKey));
        assert_eq!(dup("user_permissions_org_user_permission_key"), Some(Unique::GrantPermission));
        assert_eq!(dup("api_keys_digest_key"), None);
        assert_eq!(dup("sessions_digest_key"), None);
        assert_eq!(dup("invitations_digest_key"), None);
        assert_eq!(dup("user_roles_pkey"), None);
        assert_eq!(duplicate_of(Some("23505"), None), None);
    }

    #[test]
    fn other_sqlstates_are_not_duplicates() {
        // A foreign-key violation naming a mapped constraint is still not a duplicate.
        assert_eq!(duplicate_of(Some("23503"), Some("users_org_email_key")), None);
        assert_eq!(duplicate_of(None, Some("organizations_slug_key")), None);
    }

    #[test]
    fn non_database_errors_are_other() {
        assert!(matches!(store_error(sqlx::Error::RowNotFound), StoreError::Other(_)));
    }
}
