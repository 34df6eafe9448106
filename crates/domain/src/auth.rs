//! Who is calling, what they can reach (rule 10) and what they may do there.

use std::sync::Arc;

use uuid::Uuid;

use crate::ids::{OrgId, UserId};
use crate::permission::PermissionSet;
use crate::ports::RoleRef;

/// What kind of credential the caller presented.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PrincipalKind {
    /// A platform key: every organization, every permission.
    PlatformKey,
    /// An organization's service key: that organization, within the key's scope.
    ServiceKey,
    /// A user's personal key: the user's permissions, within the key's scope.
    PersonalKey,
    /// A login session: the user's permissions.
    Session,
}

impl PrincipalKind {
    /// The wire name (`platform_key`, `service_key`, `personal_key`, `session`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PlatformKey => "platform_key",
            Self::ServiceKey => "service_key",
            Self::PersonalKey => "personal_key",
            Self::Session => "session",
        }
    }
}

/// A verified credential and everything it grants. Shared (and cached) between requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity {
    /// What kind of credential it is.
    pub kind: PrincipalKind,
    /// The API key's or session's id.
    pub credential_id: Uuid,
    /// The organization it belongs to (`None` for platform keys).
    pub org_id: Option<OrgId>,
    /// Whether that organization is a partner, reaching its child organizations.
    pub partner: bool,
    /// The user it acts for (personal keys and sessions).
    pub user_id: Option<UserId>,
    /// The user's roles.
    pub roles: Vec<RoleRef>,
    /// Whether it may make owners (rule 5): platform keys, unscoped service keys, and
    /// owners' sessions and unscoped personal keys.
    pub owner: bool,
    /// Its effective permissions: roles ∪ direct grants, ∩ the key's scope.
    pub permissions: PermissionSet,
}

/// The caller of one request: a verified [`Identity`] and the request's id, recorded in
/// audit events. Cheap to clone. Every use case takes one and decides what it may do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    identity: Arc<Identity>,
    request_id: Option<Arc<str>>,
}

impl Principal {
    /// A principal for this identity.
    pub fn new(identity: Identity) -> Self {
        Self { identity: Arc::new(identity), request_id: None }
    }

    pub(crate) fn from_shared(identity: Arc<Identity>) -> Self {
        Self { identity, request_id: None }
    }

    /// The same request's principal with another identity.
    #[must_use]
    pub(crate) fn with_identity(&self, identity: Identity) -> Self {
        Self { identity: Arc::new(identity), request_id: self.request_id.clone() }
    }

    /// The same principal, for the request with this id.
    #[must_use]
    pub fn with_request_id(mut self, request_id: impl Into<Arc<str>>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// The verified identity.
    pub fn identity(&self) -> &Identity {
        &self.identity
    }

    /// What kind of credential was presented.
    pub fn kind(&self) -> PrincipalKind {
        self.identity.kind
    }

    /// The API key's or session's id.
    pub fn credential_id(&self) -> Uuid {
        self.identity.credential_id
    }

    /// The caller's own organization, if it has one.
    pub fn org_id(&self) -> Option<OrgId> {
        self.identity.org_id
    }

    /// The user the caller acts for, if any.
    pub fn user_id(&self) -> Option<UserId> {
        self.identity.user_id
    }

    /// The request's id, if the front end gave one.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The caller's effective permissions.
    pub fn permissions(&self) -> &PermissionSet {
        &self.identity.permissions
    }

    /// Whether the caller holds `permission`.
    pub fn can(&self, permission: &str) -> bool {
        self.identity.permissions.contains(permission)
    }

    /// Whether the caller may make owners (rule 5).
    pub fn is_owner(&self) -> bool {
        self.identity.owner
    }

    /// Whether the caller acts for the whole platform.
    pub fn is_platform(&self) -> bool {
        self.identity.kind == PrincipalKind::PlatformKey
    }

    /// Whether the caller's organization is a partner.
    pub fn is_partner(&self) -> bool {
        self.identity.partner
    }

    /// Whether the caller can see `org`, given `org`'s parent. Anything it cannot see
    /// must be reported as not found, never as forbidden, so ids cannot be probed across
    /// tenants.
    pub fn reaches(&self, org: OrgId, parent: Option<OrgId>) -> bool {
        match self.identity.org_id {
            None => self.is_platform(),
            Some(own) => own == org || (self.identity.partner && parent == Some(own)),
        }
    }

    /// The label recorded as `created_by` / `modified_by` and as the audit actor:
    /// `api_key:<id>` for keys, `user:<id>` for sessions.
    pub fn actor(&self) -> String {
        match (self.identity.kind, self.identity.user_id) {
            (PrincipalKind::Session, Some(user)) => format!("user:{user}"),
            _ => format!("api_key:{}", self.identity.credential_id),
        }
    }
}
