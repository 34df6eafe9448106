//! Typed identifiers. Every id is a UUIDv7, so ids sort by creation time and keyset
//! pagination by id is pagination by creation order.

use std::fmt;
use std::str::FromStr;

use uuid::Uuid;

macro_rules! id_type {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub struct $name(Uuid);

        impl $name {
            /// Wraps an existing UUID (from storage or a trusted source).
            pub const fn from_uuid(id: Uuid) -> Self {
                Self(id)
            }

            /// The underlying UUID.
            pub const fn as_uuid(&self) -> &Uuid {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(s).map(Self).map_err(|_| InvalidId)
            }
        }

        impl From<$name> for Uuid {
            fn from(id: $name) -> Uuid {
                id.0
            }
        }
    };
}

id_type!(
    /// Identifies an organization.
    OrgId
);
id_type!(
    /// Identifies a user (within exactly one organization).
    UserId
);
id_type!(
    /// Identifies a role of an organization.
    RoleId
);
id_type!(
    /// Identifies an API key.
    ApiKeyId
);
id_type!(
    /// Identifies a login session.
    SessionId
);
id_type!(
    /// Identifies a direct permission grant.
    GrantId
);
id_type!(
    /// Identifies an audit event.
    AuditEventId
);
id_type!(
    /// Identifies an invitation.
    InvitationId
);
id_type!(
    /// Identifies an outbox message (an email waiting for, or past, delivery).
    MessageId
);

/// A string that is not a UUID was given where an id was expected.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("not a valid id (expected a UUID)")]
pub struct InvalidId;

/// Port: where new ids come from. Production uses [`UuidV7Ids`]; tests may use a
/// deterministic sequence.
pub trait IdGenerator: Send + Sync + fmt::Debug {
    /// A fresh, never-before-returned UUID.
    fn new_uuid(&self) -> Uuid;
}

/// Time-ordered UUIDv7 ids from the system clock and a CSPRNG.
#[derive(Clone, Copy, Debug, Default)]
pub struct UuidV7Ids;

impl IdGenerator for UuidV7Ids {
    fn new_uuid(&self) -> Uuid {
        Uuid::now_v7()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_round_trip_through_strings() {
        let id = OrgId::from_uuid(UuidV7Ids.new_uuid());
        assert_eq!(id.to_string().parse::<OrgId>(), Ok(id));
        assert_eq!("nope".parse::<OrgId>(), Err(InvalidId));
    }

    #[test]
    fn v7_ids_sort_by_creation() {
        let a = UuidV7Ids.new_uuid();
        let b = UuidV7Ids.new_uuid();
        assert!(a < b);
    }
}
