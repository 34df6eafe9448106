//! Row ↔ domain conversions. Every value read back goes through its domain constructor, so
//! a row that no longer satisfies the domain's rules is reported rather than trusted.

use std::collections::BTreeMap;
use std::fmt::Display;
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use roster_domain::api_key::{ApiKey, ApiKeyOwner, SecretDigest};
use roster_domain::audit::AuditEvent;
use roster_domain::error::StoreError;
use roster_domain::grant::Grant;
use roster_domain::hashing::PasswordHash;
use roster_domain::ids::{OrgId, RoleId, UserId};
use roster_domain::invitation::{Invitation, InvitationStatus};
use roster_domain::organization::{OrgStatus, OrgSummary, Organization};
use roster_domain::outbox::{Mail, MessageStatus, OutboxMessage};
use roster_domain::permission::{Permission, PermissionSet};
use roster_domain::ports::{RoleRef, UserAccess};
use roster_domain::role::{BuiltinRole, Role, RoleKey};
use roster_domain::session::{Session, ThrottleState};
use roster_domain::user::{User, UserStatus, UserView};
use roster_domain::values::{
    Description, DisplayName, DomainName, Email, HttpUrl, KeyName, Locale, Location, Metadata, NamePart, OrgName, Slug,
    Tags, Username,
};
use sqlx::sqlite::SqliteRow;
use sqlx::{Decode, Row, Sqlite, Type};

use crate::error::AdapterError;

/// The organization columns, for a query aliasing `organizations` as `o`.
pub(crate) const ORG_COLUMNS: &str = "o.id AS id, o.slug AS slug, o.name AS name, o.domain AS domain, \
     o.description AS description, o.logo_url AS logo_url, o.icon_url AS icon_url, o.parent_id AS parent_id, \
     o.seat_limit AS seat_limit, o.default_role_id AS default_role_id, \
     o.invitation_ttl_seconds AS invitation_ttl_seconds, o.status AS status, o.created_by AS created_by, \
     o.modified_by AS modified_by, o.created_at AS created_at, o.updated_at AS updated_at, o.version AS version, \
     o.partner AS partner, o.default_login_url AS default_login_url";

/// The role columns, for a query aliasing `roles` as `r`.
pub(crate) const ROLE_COLUMNS: &str = "r.id AS id, r.org_id AS org_id, r.key AS key, r.name AS name, \
     r.description AS description, r.builtin AS builtin, r.permissions AS permissions, r.created_at AS created_at, \
     r.updated_at AS updated_at, r.version AS version";

/// The user columns, for a query aliasing `users` as `u`, with the user's role ids as a
/// JSON array in id order gathered by a correlated subquery (so a user costs one round
/// trip). The ordered inner subquery rather than `json_group_array(… ORDER BY …)` keeps it
/// working on SQLite before 3.44; SQLite never flattens an ordered subquery into an aggregate.
pub(crate) const USER_COLUMNS: &str = "u.id AS id, u.org_id AS org_id, u.email AS email, u.username AS username, \
     u.name AS name, u.first_name AS first_name, u.last_name AS last_name, u.location AS location, \
     u.locale AS locale, u.tags AS tags, u.metadata AS metadata, u.status AS status, \
     u.password_hash AS password_hash, u.last_login_at AS last_login_at, u.created_at AS created_at, \
     u.updated_at AS updated_at, u.version AS version, \
     (SELECT json_group_array(role_id) FROM (SELECT ur.role_id FROM user_roles ur \
      WHERE ur.org_id = u.org_id AND ur.user_id = u.id ORDER BY ur.role_id)) AS role_ids";

/// The API key columns, for a query aliasing `api_keys` as `k`.
pub(crate) const KEY_COLUMNS: &str = "k.id AS id, k.org_id AS org_id, k.name AS name, k.prefix AS prefix, \
     k.digest AS digest, k.created_by AS created_by, k.created_at AS created_at, k.expires_at AS expires_at, \
     k.revoked_at AS revoked_at, k.user_id AS user_id, k.scope AS scope, k.last_used_at AS last_used_at";

/// The session columns, for a query aliasing `sessions` as `s`.
pub(crate) const SESSION_COLUMNS: &str = "s.id AS id, s.org_id AS org_id, s.user_id AS user_id, s.digest AS digest, \
     s.client_ip AS client_ip, s.created_at AS created_at, s.expires_at AS expires_at, s.revoked_at AS revoked_at, \
     s.last_used_at AS last_used_at";

/// The grant columns, for a query aliasing `user_permissions` as `g`.
pub(crate) const GRANT_COLUMNS: &str = "g.id AS id, g.org_id AS org_id, g.user_id AS user_id, \
     g.permission AS permission, g.expires_at AS expires_at, g.created_by AS created_by, g.created_at AS created_at, \
     g.updated_at AS updated_at, g.version AS version";

/// The audit event columns, for a query aliasing `audit_events` as `e`.
pub(crate) const AUDIT_COLUMNS: &str = "e.id AS id, e.org_id AS org_id, e.actor AS actor, e.action AS action, \
     e.target_type AS target_type, e.target_id AS target_id, e.request_id AS request_id, \
     e.occurred_at AS occurred_at, e.details AS details";

/// The invitation columns, for a query aliasing `invitations` as `i` joined with its user
/// as `u`: the invitee's email and role ids (in id order, as [`USER_COLUMNS`] gathers them)
/// are the user's.
pub(crate) const INVITATION_COLUMNS: &str = "i.id AS id, i.org_id AS org_id, i.user_id AS user_id, \
     u.email AS email, i.status AS status, i.digest AS digest, i.invited_by AS invited_by, i.login_url AS login_url, \
     i.expires_at AS expires_at, i.created_at AS created_at, i.updated_at AS updated_at, \
     i.accepted_at AS accepted_at, i.revoked_at AS revoked_at, i.version AS version, \
     (SELECT json_group_array(role_id) FROM (SELECT ur.role_id FROM user_roles ur \
      WHERE ur.org_id = i.org_id AND ur.user_id = i.user_id ORDER BY ur.role_id)) AS role_ids";

/// The outbox message columns (a table or `RETURNING` clause without alias).
pub(crate) const MESSAGE_COLUMNS: &str = "id, org_id, recipient, template, params, status, attempts, \
     next_attempt_at, last_error, delivered_via, created_at, sent_at";

/// Reads a column as `T`; a missing column or incompatible type is a storage failure.
fn get<'r, T>(row: &'r SqliteRow, column: &'static str) -> Result<T, StoreError>
where
    T: Decode<'r, Sqlite> + Type<Sqlite>,
{
    row.try_get(column).map_err(StoreError::other)
}

/// Wraps a domain constructor's rejection of a stored value.
fn bad(column: &'static str, reason: impl Display) -> StoreError {
    AdapterError::BadColumn { column, reason: reason.to_string() }.into()
}

/// Reads a text column and parses it with `parse`.
fn parsed<T, E: Display>(
    row: &SqliteRow,
    column: &'static str,
    parse: impl FnOnce(String) -> Result<T, E>,
) -> Result<T, StoreError> {
    let raw: String = get(row, column)?;
    parse(raw).map_err(|e| bad(column, e))
}

/// Reads a nullable text column and parses it with `parse` when present.
fn parsed_opt<T, E: Display>(
    row: &SqliteRow,
    column: &'static str,
    parse: impl FnOnce(String) -> Result<T, E>,
) -> Result<Option<T>, StoreError> {
    let raw: Option<String> = get(row, column)?;
    raw.map(parse).transpose().map_err(|e| bad(column, e))
}

/// Reads an id column (hyphenated UUID text).
fn id<T>(row: &SqliteRow, column: &'static str) -> Result<T, StoreError>
where
    T: FromStr,
    T::Err: Display,
{
    parsed(row, column, |s| s.parse::<T>())
}

/// Reads a nullable id column.
fn id_opt<T>(row: &SqliteRow, column: &'static str) -> Result<Option<T>, StoreError>
where
    T: FromStr,
    T::Err: Display,
{
    parsed_opt(row, column, |s| s.parse::<T>())
}

/// An organization from a row selected with [`ORG_COLUMNS`].
pub(crate) fn organization(row: &SqliteRow) -> Result<Organization, StoreError> {
    let seat_limit =
        get::<Option<i64>>(row, "seat_limit")?.map(u32::try_from).transpose().map_err(|e| bad("seat_limit", e))?;
    let ttl_seconds: i64 = get(row, "invitation_ttl_seconds")?;
    let invitation_ttl = Duration::try_seconds(ttl_seconds)
        .filter(|ttl| *ttl > Duration::zero())
        .ok_or_else(|| bad("invitation_ttl_seconds", format!("{ttl_seconds} is not a positive duration")))?;
    Ok(Organization {
        id: id(row, "id")?,
        slug: parsed(row, "slug", Slug::parse)?,
        name: parsed(row, "name", OrgName::parse)?,
        domain: parsed_opt(row, "domain", DomainName::parse_normalized)?,
        description: parsed_opt(row, "description", Description::parse)?,
        logo_url: parsed_opt(row, "logo_url", HttpUrl::parse)?,
        icon_url: parsed_opt(row, "icon_url", HttpUrl::parse)?,
        parent_id: id_opt(row, "parent_id")?,
        partner: get(row, "partner")?,
        seat_limit,
        default_role_id: id(row, "default_role_id")?,
        invitation_ttl,
        default_login_url: parsed_opt(row, "default_login_url", HttpUrl::parse)?,
        status: parsed(row, "status", |s| OrgStatus::from_name(&s).ok_or("unknown organization status"))?,
        created_by: get(row, "created_by")?,
        modified_by: get(row, "modified_by")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        version: get(row, "version")?,
    })
}

/// Role ids as stored by a `json_group_array`: a JSON array of id strings.
fn role_ids_of(row: &SqliteRow) -> Result<Vec<RoleId>, StoreError> {
    parsed(row, "role_ids", |s| {
        let raw: Vec<String> = serde_json::from_str(&s).map_err(|e| e.to_string())?;
        raw.iter().map(|r| r.parse::<RoleId>().map_err(|e| e.to_string())).collect::<Result<Vec<_>, _>>()
    })
}

/// A role from a row selected with [`ROLE_COLUMNS`].
/// Built-in roles grant what the code says whatever the row holds (it holds `[]`).
pub(crate) fn role(row: &SqliteRow) -> Result<Role, StoreError> {
    let key = parsed(row, "key", RoleKey::parse)?;
    let builtin: bool = get(row, "builtin")?;
    let permissions = if builtin {
        BuiltinRole::from_key(key.as_str())
            .map(PermissionSet::of_builtin)
            .ok_or_else(|| bad("key", format!("{key} is not a built-in role")))?
    } else {
        parsed(row, "permissions", |s| permission_set(&s))?
    };
    Ok(Role {
        id: id(row, "id")?,
        org_id: id(row, "org_id")?,
        key,
        name: get(row, "name")?,
        description: get(row, "description")?,
        builtin,
        permissions,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        version: get(row, "version")?,
    })
}

/// A user from a row selected with [`USER_COLUMNS`].
pub(crate) fn user(row: &SqliteRow) -> Result<User, StoreError> {
    let tags = parsed(row, "tags", |s| {
        let raw: Vec<String> = serde_json::from_str(&s).map_err(|e| e.to_string())?;
        Tags::parse(raw).map_err(|e| e.to_string())
    })?;
    let metadata = parsed(row, "metadata", |s| {
        let raw: BTreeMap<String, String> = serde_json::from_str(&s).map_err(|e| e.to_string())?;
        Metadata::parse(raw).map_err(|e| e.to_string())
    })?;
    let role_ids = role_ids_of(row)?;
    Ok(User {
        id: id(row, "id")?,
        org_id: id(row, "org_id")?,
        email: parsed(row, "email", Email::parse)?,
        username: parsed(row, "username", Username::parse)?,
        name: parsed(row, "name", DisplayName::parse)?,
        first_name: parsed_opt(row, "first_name", NamePart::parse)?,
        last_name: parsed_opt(row, "last_name", NamePart::parse)?,
        location: parsed_opt(row, "location", Location::parse)?,
        locale: parsed_opt(row, "locale", Locale::parse)?,
        tags,
        metadata,
        status: parsed(row, "status", |s| UserStatus::from_name(&s).ok_or("unknown user status"))?,
        password_hash: get::<Option<String>>(row, "password_hash")?.map(PasswordHash::from_phc),
        role_ids,
        last_login_at: get(row, "last_login_at")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        version: get(row, "version")?,
    })
}

/// A user with its organization's summary, from a row selected with [`USER_COLUMNS`] plus
/// `org_slug` and `org_name`.
pub(crate) fn user_view(row: &SqliteRow) -> Result<UserView, StoreError> {
    let user = user(row)?;
    let organization = OrgSummary {
        id: user.org_id,
        slug: parsed(row, "org_slug", Slug::parse)?,
        name: parsed(row, "org_name", OrgName::parse)?,
    };
    Ok(UserView { user, organization })
}

/// An API key from a row selected with [`KEY_COLUMNS`].
pub(crate) fn api_key(row: &SqliteRow) -> Result<ApiKey, StoreError> {
    let owner = match (id_opt::<OrgId>(row, "org_id")?, id_opt::<UserId>(row, "user_id")?) {
        (Some(org), Some(user)) => ApiKeyOwner::User(org, user),
        (Some(org), None) => ApiKeyOwner::Organization(org),
        (None, None) => ApiKeyOwner::Platform,
        (None, Some(_)) => return Err(bad("user_id", "a personal key without an organization")),
    };
    Ok(ApiKey {
        id: id(row, "id")?,
        owner,
        name: parsed(row, "name", KeyName::parse)?,
        prefix: get(row, "prefix")?,
        digest: digest_of(row)?,
        scope: parsed_opt(row, "scope", |s| permission_set(&s))?,
        created_by: get(row, "created_by")?,
        created_at: get::<DateTime<Utc>>(row, "created_at")?,
        expires_at: get(row, "expires_at")?,
        revoked_at: get(row, "revoked_at")?,
        last_used_at: get(row, "last_used_at")?,
    })
}

/// A session from a row selected with [`SESSION_COLUMNS`].
pub(crate) fn session(row: &SqliteRow) -> Result<Session, StoreError> {
    Ok(Session {
        id: id(row, "id")?,
        org_id: id(row, "org_id")?,
        user_id: id(row, "user_id")?,
        digest: digest_of(row)?,
        client_ip: get(row, "client_ip")?,
        created_at: get(row, "created_at")?,
        expires_at: get(row, "expires_at")?,
        revoked_at: get(row, "revoked_at")?,
        last_used_at: get(row, "last_used_at")?,
    })
}

/// A direct grant from a row selected with [`GRANT_COLUMNS`].
pub(crate) fn grant(row: &SqliteRow) -> Result<Grant, StoreError> {
    Ok(Grant {
        id: id(row, "id")?,
        org_id: id(row, "org_id")?,
        user_id: id(row, "user_id")?,
        permission: parsed(row, "permission", Permission::parse)?,
        expires_at: get(row, "expires_at")?,
        created_by: get(row, "created_by")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        version: get(row, "version")?,
    })
}

/// An audit event from a row selected with [`AUDIT_COLUMNS`].
pub(crate) fn audit_event(row: &SqliteRow) -> Result<AuditEvent, StoreError> {
    Ok(AuditEvent {
        id: id(row, "id")?,
        org_id: id(row, "org_id")?,
        actor: get(row, "actor")?,
        action: get(row, "action")?,
        target_type: get(row, "target_type")?,
        target_id: get(row, "target_id")?,
        request_id: get(row, "request_id")?,
        occurred_at: get(row, "occurred_at")?,
        details: parsed(row, "details", |s| serde_json::from_str::<BTreeMap<String, String>>(&s))?,
    })
}

/// An invitation from a row selected with [`INVITATION_COLUMNS`]. `expired` is never
/// stored, so a row saying it is reported rather than trusted.
pub(crate) fn invitation(row: &SqliteRow) -> Result<Invitation, StoreError> {
    let status = parsed(row, "status", |s| match InvitationStatus::from_name(&s) {
        Some(InvitationStatus::Expired) | None => Err("unknown invitation status"),
        Some(status) => Ok(status),
    })?;
    Ok(Invitation {
        id: id(row, "id")?,
        org_id: id(row, "org_id")?,
        user_id: id(row, "user_id")?,
        email: parsed(row, "email", Email::parse)?,
        role_ids: role_ids_of(row)?,
        status,
        digest: digest_of(row)?,
        invited_by: get(row, "invited_by")?,
        login_url: parsed_opt(row, "login_url", HttpUrl::parse)?,
        expires_at: get(row, "expires_at")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        accepted_at: get(row, "accepted_at")?,
        revoked_at: get(row, "revoked_at")?,
        version: get(row, "version")?,
    })
}

/// An outbox message from a row selected with [`MESSAGE_COLUMNS`]. A message whose stored
/// mail is unknown or unreadable reads as having none (like an erased one) rather than
/// failing the read: one bad row must not stop the delivery of every other message.
pub(crate) fn outbox_message(row: &SqliteRow) -> Result<OutboxMessage, StoreError> {
    let template: String = get(row, "template")?;
    let params: Option<String> = get(row, "params")?;
    let mail = params.and_then(|raw| match serde_json::from_str::<BTreeMap<String, String>>(&raw) {
        Ok(params) => Mail::from_parts(&template, &params),
        Err(e) => {
            tracing::warn!(template = %template, error = %e, "an outbox message's parameters are not a JSON object of strings");
            None
        }
    });
    let attempts: i64 = get(row, "attempts")?;
    Ok(OutboxMessage {
        id: id(row, "id")?,
        org_id: id_opt(row, "org_id")?,
        recipient: parsed(row, "recipient", Email::parse)?,
        mail,
        status: parsed(row, "status", |s| MessageStatus::from_name(&s).ok_or("unknown message status"))?,
        attempts: u32::try_from(attempts).map_err(|e| bad("attempts", e))?,
        next_attempt_at: get(row, "next_attempt_at")?,
        last_error: get(row, "last_error")?,
        delivered_via: get(row, "delivered_via")?,
        created_at: get(row, "created_at")?,
        sent_at: get(row, "sent_at")?,
    })
}

/// What one user may do, from a row of the `user_access` statement: `user_id`, `status`,
/// `roles` (a JSON array of `[id, key, builtin (0 or 1)]` arrays) and `permissions` (a JSON array
/// of strings).
pub(crate) fn user_access(row: &SqliteRow) -> Result<UserAccess, StoreError> {
    let roles = parsed(row, "roles", |s| {
        let raw: Vec<(String, String, i64)> = serde_json::from_str(&s).map_err(|e| e.to_string())?;
        raw.into_iter()
            .map(|(id, key, builtin)| {
                let id = id.parse::<RoleId>().map_err(|e| e.to_string())?;
                Ok(RoleRef { id, key, builtin: builtin != 0 })
            })
            .collect::<Result<Vec<_>, String>>()
    })?;
    Ok(UserAccess {
        user_id: id(row, "user_id")?,
        status: parsed(row, "status", |s| UserStatus::from_name(&s).ok_or("unknown user status"))?,
        roles,
        permissions: parsed(row, "permissions", |s| serde_json::from_str::<Vec<String>>(&s))?,
    })
}

/// A login-throttle row: `key`, `failures`, `locked_until`.
pub(crate) fn throttle(row: &SqliteRow) -> Result<(String, ThrottleState), StoreError> {
    let failures: i64 = get(row, "failures")?;
    let failures = u32::try_from(failures).map_err(|e| bad("failures", e))?;
    Ok((get(row, "key")?, ThrottleState { failures, locked_until: get(row, "locked_until")? }))
}

/// The `digest` column: 32 bytes.
fn digest_of(row: &SqliteRow) -> Result<SecretDigest, StoreError> {
    let digest: Vec<u8> = get(row, "digest")?;
    <[u8; 32]>::try_from(digest.as_slice())
        .map(SecretDigest::from_bytes)
        .map_err(|_| bad("digest", format!("{} bytes instead of 32", digest.len())))
}

/// A permission set as stored: a JSON array of names.
fn permission_set(raw: &str) -> Result<PermissionSet, String> {
    let names: Vec<String> = serde_json::from_str(raw).map_err(|e| e.to_string())?;
    Ok(PermissionSet::from_stored(names))
}

/// A role's permissions as stored: `[]` for built-ins, whose permissions the code fixes.
pub(crate) fn role_permissions_json(role: &Role) -> Result<String, StoreError> {
    if role.builtin { Ok("[]".to_owned()) } else { permissions_json(&role.permissions) }
}

/// A permission set as stored: a JSON array of its names (`["*"]` for every permission).
pub(crate) fn permissions_json(set: &PermissionSet) -> Result<String, StoreError> {
    serde_json::to_string(&set.names()).map_err(StoreError::other)
}

/// Audit details as stored: a JSON object of strings.
pub(crate) fn details_json(details: &BTreeMap<String, String>) -> Result<String, StoreError> {
    serde_json::to_string(details).map_err(StoreError::other)
}

/// The organization state of a credential look-up row (`org_status` and `org_partner`,
/// from a left join): no status and not a partner when there is no organization.
pub(crate) fn org_state(row: &SqliteRow) -> Result<(Option<OrgStatus>, bool), StoreError> {
    let status = parsed_opt(row, "org_status", |s| OrgStatus::from_name(&s).ok_or("unknown organization status"))?;
    let partner: Option<bool> = get(row, "org_partner")?;
    Ok((status, partner.unwrap_or(false)))
}

/// A mail's parameters as stored: a JSON object of strings.
pub(crate) fn params_json(mail: &Mail) -> Result<String, StoreError> {
    serde_json::to_string(&mail.params()).map_err(StoreError::other)
}

/// Tags as stored: a JSON array of strings.
pub(crate) fn tags_json(tags: &Tags) -> Result<String, StoreError> {
    serde_json::to_string(&tags.to_strings()).map_err(StoreError::other)
}

/// Metadata as stored: a JSON object of strings.
pub(crate) fn metadata_json(metadata: &Metadata) -> Result<String, StoreError> {
    serde_json::to_string(metadata.as_map()).map_err(StoreError::other)
}
