//! Login sessions as an administrator sees them: never their tokens.

use chrono::{DateTime, Utc};
use roster_domain::session as domain;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// A live login session of a user.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Session {
    /// Its id.
    pub id: Uuid,
    /// The user's organization.
    pub organization_id: Uuid,
    /// The user who logged in.
    pub user_id: Uuid,
    /// The address the login came from, when known.
    #[schema(example = "203.0.113.7")]
    pub client_ip: Option<String>,
    /// When the user logged in.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// When it last authenticated a request (to within a minute).
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<domain::Session> for Session {
    fn from(s: domain::Session) -> Self {
        Self {
            id: *s.id.as_uuid(),
            organization_id: *s.org_id.as_uuid(),
            user_id: *s.user_id.as_uuid(),
            client_ip: s.client_ip,
            created_at: s.created_at,
            expires_at: s.expires_at,
            last_used_at: s.last_used_at,
        }
    }
}

/// The `{org_id}/users/{user_id}/sessions/{session_id}` path parameters.
#[derive(Clone, Copy, Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Path)]
pub struct SessionPath {
    /// The organization's id.
    pub org_id: Uuid,
    /// The user's id.
    pub user_id: Uuid,
    /// The session's id.
    pub session_id: Uuid,
}
