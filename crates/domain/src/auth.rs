//! Who is calling, and what they can reach (rule 10).

use crate::ids::{ApiKeyId, OrgId};

/// What kind of credential the caller presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrincipalKind {
    /// A platform key: every organization.
    PlatformKey,
    /// An organization's service key: that organization, with full rights.
    ServiceKey {
        /// The key's organization.
        org_id: OrgId,
    },
}

/// An authenticated caller. Every use case takes one and decides what it may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Principal {
    /// The credential used.
    pub key_id: ApiKeyId,
    /// What kind it is.
    pub kind: PrincipalKind,
}

impl Principal {
    /// The caller's own organization, if it has one.
    pub fn org_id(&self) -> Option<OrgId> {
        match self.kind {
            PrincipalKind::PlatformKey => None,
            PrincipalKind::ServiceKey { org_id } => Some(org_id),
        }
    }

    /// Whether the caller can see `org` at all. Anything it cannot see must be reported
    /// as not found, never as forbidden, so ids cannot be probed across tenants.
    pub fn reaches(&self, org: OrgId) -> bool {
        match self.kind {
            PrincipalKind::PlatformKey => true,
            PrincipalKind::ServiceKey { org_id } => org_id == org,
        }
    }

    /// Whether the caller acts for the whole platform.
    pub fn is_platform(&self) -> bool {
        matches!(self.kind, PrincipalKind::PlatformKey)
    }

    /// The label recorded as `created_by` / `modified_by`.
    pub fn actor(&self) -> String {
        format!("api_key:{}", self.key_id)
    }
}
