//! Rows to domain values. Every stored value is re-parsed through its domain constructor,
//! so a row that would not be accepted as input is reported as [`StoreError::Other`]
//! instead of leaking an invalid value into the domain.

use std::collections::BTreeMap;
use std::fmt::Display;

use chrono::{DateTime, Duration, Utc};
use roster_domain::api_key::{ApiKey, ApiKeyOwner, SecretDigest};
use roster_domain::audit::AuditEvent;
use roster_domain::error::StoreError;
use roster_domain::grant::Grant;
use roster_domain::hashing::PasswordHash;
use roster_domain::ids::{ApiKeyId, AuditEventId, GrantId, InvitationId, MessageId, OrgId, RoleId, SessionId, UserId};
use roster_domain::invitation::{Invitation, InvitationStatus};
use roster_domain::organization::{OrgStatus, OrgSummary, Organization};
use roster_domain::outbox::{Mail, MessageStatus, OutboxMessage};
use roster_domain::permission::{Permission, PermissionSet};
use roster_domain::ports::{RoleRef, UserAccess};
use roster_domain::role::{BuiltinRole, Role, RoleKey};
use roster_domain::session::Session;
use roster_domain::user::{User, UserStatus};
use roster_domain::values::{
    Description, DisplayName, DomainName, Email, HttpUrl, KeyName, Locale, Location, Metadata, NamePart, OrgName, Slug,
    Tags, Username,
};
use serde::de::DeserializeOwned;
use sqlx::postgres::PgRow;
use sqlx::{Decode, Postgres, Row as _, Type};
use tokio_postgres::types::FromSql;
use uuid::Uuid;

use crate::error::InvalidRow;

/// The organization columns [`organization`] reads, from alias `o`.
macro_rules! org_columns {
    () => {
        "o.id, o.slug, o.name, o.domain, o.description, o.logo_url, o.icon_url, o.parent_id, o.partner, \
         o.seat_limit, o.default_role_id, o.invitation_ttl_seconds, o.default_login_url, o.status, o.created_by, \
         o.modified_by, o.created_at, o.updated_at, o.version"
    };
}

/// The user columns [`user`] reads, from alias `u`, except `role_ids`.
macro_rules! user_columns {
    () => {
        "u.id, u.org_id, u.email, u.username, u.name, u.first_name, u.last_name, u.location, u.locale, u.tags, \
         u.metadata, u.status, u.password_hash, u.last_login_at, u.created_at, u.updated_at, u.version"
    };
}

/// A user's role ids, sorted, as column `role_ids` (the denormalised copy on the row).
macro_rules! role_ids_column {
    () => {
        "u.role_ids AS role_ids"
    };
}

/// The role columns [`role`] reads, from alias `r`.
macro_rules! role_columns {
    () => {
        "r.id, r.org_id, r.key, r.name, r.description, r.builtin, r.permissions, r.created_at, r.updated_at, \
         r.version"
    };
}

/// The API key columns [`api_key`] reads, from alias `k`.
macro_rules! key_columns {
    () => {
        "k.id, k.org_id, k.user_id, k.name, k.prefix, k.digest, k.scope, k.created_by, k.created_at, \
         k.expires_at, k.revoked_at, k.last_used_at"
    };
}

/// The session columns [`session`] reads, from alias `s`.
macro_rules! session_columns {
    () => {
        "s.id, s.org_id, s.user_id, s.digest, s.client_ip, s.created_at, s.expires_at, s.revoked_at, \
         s.last_used_at"
    };
}

/// The grant columns [`grant`] reads, from alias `g`.
macro_rules! grant_columns {
    () => {
        "g.id, g.org_id, g.user_id, g.permission, g.expires_at, g.created_by, g.created_at, g.updated_at, \
         g.version"
    };
}

/// The invitation columns [`invitation`] reads, from alias `i`, with its user's (alias
/// `u`) email and role ids.
macro_rules! invitation_columns {
    () => {
        "i.id, i.org_id, i.user_id, i.status, i.digest, i.invited_by, i.login_url, i.expires_at, i.created_at, \
         i.updated_at, i.accepted_at, i.revoked_at, i.version, u.email, u.role_ids"
    };
}

/// The outbox message columns [`outbox_message`] reads (unqualified: the claim's
/// `RETURNING` names them so too).
macro_rules! message_columns {
    () => {
        "id, org_id, recipient, template, params, status, attempts, next_attempt_at, last_error, delivered_via, \
         created_at, sent_at"
    };
}

/// The audit event columns [`audit_event`] reads, from alias `a`.
macro_rules! audit_columns {
    () => {
        "a.id, a.org_id, a.actor, a.action, a.target_type, a.target_id, a.request_id, a.occurred_at, a.details"
    };
}

pub(crate) use {
    audit_columns, grant_columns, invitation_columns, key_columns, message_columns, org_columns, role_columns,
    role_ids_column, session_columns, user_columns,
};

/// A column type both drivers decode (sqlx for most queries, `tokio-postgres` for the
/// pipelined hot reads).
pub(crate) trait Column: for<'r> Decode<'r, Postgres> + Type<Postgres> + for<'r> FromSql<'r> {}

impl<T> Column for T where T: for<'r> Decode<'r, Postgres> + Type<Postgres> + for<'r> FromSql<'r> {}

/// A result row of either driver, its columns read by name. A missing column or a type
/// mismatch is [`StoreError::Other`].
pub(crate) trait Columns {
    /// The value of column `name`.
    fn get<T: Column>(&self, name: &str) -> Result<T, StoreError>;

    /// The `json`/`jsonb` value of column `name`, deserialized.
    fn json<T: DeserializeOwned>(&self, name: &str) -> Result<T, StoreError>;

    /// The nullable `json`/`jsonb` value of column `name`, deserialized.
    fn json_opt<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, StoreError>;
}

impl Columns for PgRow {
    fn get<T: Column>(&self, name: &str) -> Result<T, StoreError> {
        self.try_get(name).map_err(StoreError::other)
    }

    fn json<T: DeserializeOwned>(&self, name: &str) -> Result<T, StoreError> {
        let sqlx::types::Json(value) = self.try_get(name).map_err(StoreError::other)?;
        Ok(value)
    }

    fn json_opt<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, StoreError> {
        let value: Option<sqlx::types::Json<T>> = self.try_get(name).map_err(StoreError::other)?;
        Ok(value.map(|sqlx::types::Json(value)| value))
    }
}

impl Columns for tokio_postgres::Row {
    fn get<T: Column>(&self, name: &str) -> Result<T, StoreError> {
        self.try_get(name).map_err(StoreError::other)
    }

    fn json<T: DeserializeOwned>(&self, name: &str) -> Result<T, StoreError> {
        let tokio_postgres::types::Json(value) = self.try_get(name).map_err(StoreError::other)?;
        Ok(value)
    }

    fn json_opt<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, StoreError> {
        let value: Option<tokio_postgres::types::Json<T>> = self.try_get(name).map_err(StoreError::other)?;
        Ok(value.map(|tokio_postgres::types::Json(value)| value))
    }
}

/// Reads a column (see [`Columns::get`]).
fn col<T: Column>(row: &impl Columns, name: &str) -> Result<T, StoreError> {
    row.get(name)
}

/// A constructor's verdict on a stored value.
fn valid<T, E: Display>(column: &'static str, parsed: Result<T, E>) -> Result<T, StoreError> {
    parsed.map_err(|e| StoreError::other(InvalidRow::new(column, e)))
}

/// Parses a nullable text column.
fn optional<T, E: Display>(
    row: &impl Columns,
    column: &'static str,
    parse: impl FnOnce(String) -> Result<T, E>,
) -> Result<Option<T>, StoreError> {
    col::<Option<String>>(row, column)?.map(|raw| valid(column, parse(raw))).transpose()
}

/// An organization from [`org_columns`].
pub(crate) fn organization<R: Columns>(row: &R) -> Result<Organization, StoreError> {
    let seat_limit: Option<i64> = col(row, "seat_limit")?;
    let status: String = col(row, "status")?;
    Ok(Organization {
        id: OrgId::from_uuid(col(row, "id")?),
        slug: valid("slug", Slug::parse(col::<String>(row, "slug")?))?,
        name: valid("name", OrgName::parse(col::<String>(row, "name")?))?,
        domain: optional(row, "domain", DomainName::parse)?,
        description: optional(row, "description", Description::parse)?,
        logo_url: optional(row, "logo_url", HttpUrl::parse)?,
        icon_url: optional(row, "icon_url", HttpUrl::parse)?,
        parent_id: col::<Option<Uuid>>(row, "parent_id")?.map(OrgId::from_uuid),
        partner: col(row, "partner")?,
        seat_limit: valid("seat_limit", seat_limit.map(u32::try_from).transpose())?,
        default_role_id: RoleId::from_uuid(col(row, "default_role_id")?),
        invitation_ttl: Duration::seconds(col(row, "invitation_ttl_seconds")?),
        default_login_url: optional(row, "default_login_url", HttpUrl::parse)?,
        status: valid("status", OrgStatus::from_name(&status).ok_or("unknown organization status"))?,
        created_by: col(row, "created_by")?,
        modified_by: col(row, "modified_by")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
        version: col(row, "version")?,
    })
}

/// The organization summary of a user read: the user's `org_id` with `org_slug` and
/// `org_name`.
pub(crate) fn org_summary<R: Columns>(row: &R) -> Result<OrgSummary, StoreError> {
    Ok(OrgSummary {
        id: OrgId::from_uuid(col(row, "org_id")?),
        slug: valid("organization slug", Slug::parse(col::<String>(row, "org_slug")?))?,
        name: valid("organization name", OrgName::parse(col::<String>(row, "org_name")?))?,
    })
}

/// A user from [`user_columns`] and [`role_ids_column`].
pub(crate) fn user<R: Columns>(row: &R) -> Result<User, StoreError> {
    let role_ids: Vec<Uuid> = col(row, "role_ids")?;
    user_with_roles(row, role_ids.into_iter().map(RoleId::from_uuid).collect())
}

/// A user from [`user_columns`], with role ids read separately.
pub(crate) fn user_with_roles<R: Columns>(row: &R, role_ids: Vec<RoleId>) -> Result<User, StoreError> {
    let tags: Vec<String> = col(row, "tags")?;
    let metadata: BTreeMap<String, String> = row.json("metadata")?;
    let status: String = col(row, "status")?;
    Ok(User {
        id: UserId::from_uuid(col(row, "id")?),
        org_id: OrgId::from_uuid(col(row, "org_id")?),
        email: valid("email", Email::parse(col::<String>(row, "email")?))?,
        username: valid("username", Username::parse(col::<String>(row, "username")?))?,
        name: valid("name", DisplayName::parse(col::<String>(row, "name")?))?,
        first_name: optional(row, "first_name", NamePart::parse)?,
        last_name: optional(row, "last_name", NamePart::parse)?,
        location: optional(row, "location", Location::parse)?,
        locale: optional(row, "locale", Locale::parse)?,
        tags: valid("tags", Tags::parse(tags))?,
        metadata: valid("metadata", Metadata::parse(metadata))?,
        status: valid("status", UserStatus::from_name(&status).ok_or("unknown user status"))?,
        password_hash: col::<Option<String>>(row, "password_hash")?.map(PasswordHash::from_phc),
        role_ids,
        last_login_at: col::<Option<DateTime<Utc>>>(row, "last_login_at")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
        version: col(row, "version")?,
    })
}

/// A role from [`role_columns`]. Built-in roles store no permissions: theirs are the
/// code's ([`PermissionSet::of_builtin`]), as [`Role::builtin`] made them.
pub(crate) fn role<R: Columns>(row: &R) -> Result<Role, StoreError> {
    let key = valid("key", RoleKey::parse(col::<String>(row, "key")?))?;
    let builtin: bool = col(row, "builtin")?;
    let permissions = match BuiltinRole::from_key(key.as_str()).filter(|_| builtin) {
        Some(which) => PermissionSet::of_builtin(which),
        None => PermissionSet::from_stored(col::<Vec<String>>(row, "permissions")?),
    };
    Ok(Role {
        id: RoleId::from_uuid(col(row, "id")?),
        org_id: OrgId::from_uuid(col(row, "org_id")?),
        key,
        name: col(row, "name")?,
        description: col(row, "description")?,
        builtin,
        permissions,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
        version: col(row, "version")?,
    })
}

/// What a role stores as its permissions: nothing for built-ins (the code fixes theirs),
/// the wire names otherwise (`*` for every permission).
pub(crate) fn stored_permissions(role: &Role) -> Vec<String> {
    if role.builtin { Vec::new() } else { role.permissions.names() }
}

/// An API key from [`key_columns`].
pub(crate) fn api_key<R: Columns>(row: &R) -> Result<ApiKey, StoreError> {
    let owner = match (col::<Option<Uuid>>(row, "org_id")?, col::<Option<Uuid>>(row, "user_id")?) {
        (Some(org), Some(user)) => ApiKeyOwner::User(OrgId::from_uuid(org), UserId::from_uuid(user)),
        (Some(org), None) => ApiKeyOwner::Organization(OrgId::from_uuid(org)),
        (None, None) => ApiKeyOwner::Platform,
        (None, Some(_)) => return Err(StoreError::other(InvalidRow::new("user_id", "a personal key without an org"))),
    };
    Ok(ApiKey {
        id: ApiKeyId::from_uuid(col(row, "id")?),
        owner,
        name: valid("name", KeyName::parse(col::<String>(row, "name")?))?,
        prefix: col(row, "prefix")?,
        digest: SecretDigest::from_bytes(digest_bytes(row)?),
        scope: col::<Option<Vec<String>>>(row, "scope")?.map(PermissionSet::from_stored),
        created_by: col(row, "created_by")?,
        created_at: col(row, "created_at")?,
        expires_at: col(row, "expires_at")?,
        revoked_at: col(row, "revoked_at")?,
        last_used_at: col(row, "last_used_at")?,
    })
}

/// A SHA-256 digest column (`digest`).
fn digest_bytes<R: Columns>(row: &R) -> Result<[u8; 32], StoreError> {
    let digest: Vec<u8> = col(row, "digest")?;
    valid("digest", <[u8; 32]>::try_from(digest.as_slice()))
}

/// A session from [`session_columns`].
pub(crate) fn session<R: Columns>(row: &R) -> Result<Session, StoreError> {
    Ok(Session {
        id: SessionId::from_uuid(col(row, "id")?),
        org_id: OrgId::from_uuid(col(row, "org_id")?),
        user_id: UserId::from_uuid(col(row, "user_id")?),
        digest: SecretDigest::from_bytes(digest_bytes(row)?),
        client_ip: col(row, "client_ip")?,
        created_at: col(row, "created_at")?,
        expires_at: col(row, "expires_at")?,
        revoked_at: col(row, "revoked_at")?,
        last_used_at: col(row, "last_used_at")?,
    })
}

/// A direct grant from [`grant_columns`].
pub(crate) fn grant<R: Columns>(row: &R) -> Result<Grant, StoreError> {
    Ok(Grant {
        id: GrantId::from_uuid(col(row, "id")?),
        org_id: OrgId::from_uuid(col(row, "org_id")?),
        user_id: UserId::from_uuid(col(row, "user_id")?),
        permission: valid("permission", Permission::parse(col::<String>(row, "permission")?))?,
        expires_at: col(row, "expires_at")?,
        created_by: col(row, "created_by")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
        version: col(row, "version")?,
    })
}

/// An invitation from [`invitation_columns`].
pub(crate) fn invitation<R: Columns>(row: &R) -> Result<Invitation, StoreError> {
    let status: String = col(row, "status")?;
    // `expired` is derived, never stored.
    let status = InvitationStatus::from_name(&status).filter(|s| *s != InvitationStatus::Expired);
    let role_ids: Vec<Uuid> = col(row, "role_ids")?;
    Ok(Invitation {
        id: InvitationId::from_uuid(col(row, "id")?),
        org_id: OrgId::from_uuid(col(row, "org_id")?),
        user_id: UserId::from_uuid(col(row, "user_id")?),
        email: valid("email", Email::parse(col::<String>(row, "email")?))?,
        role_ids: role_ids.into_iter().map(RoleId::from_uuid).collect(),
        status: valid("status", status.ok_or("unknown invitation status"))?,
        digest: SecretDigest::from_bytes(digest_bytes(row)?),
        invited_by: col(row, "invited_by")?,
        login_url: optional(row, "login_url", HttpUrl::parse)?,
        expires_at: col(row, "expires_at")?,
        created_at: col(row, "created_at")?,
        updated_at: col(row, "updated_at")?,
        accepted_at: col(row, "accepted_at")?,
        revoked_at: col(row, "revoked_at")?,
        version: col(row, "version")?,
    })
}

/// An outbox message from [`message_columns`]. A message whose `params` were erased has
/// no mail; one whose `params` do not make up its template is invalid.
pub(crate) fn outbox_message<R: Columns>(row: &R) -> Result<OutboxMessage, StoreError> {
    let template: String = col(row, "template")?;
    let params: Option<BTreeMap<String, String>> = row.json_opt("params")?;
    let mail = params
        .map(|params| valid("params", Mail::from_parts(&template, &params).ok_or("does not fit its template")))
        .transpose()?;
    let status: String = col(row, "status")?;
    Ok(OutboxMessage {
        id: MessageId::from_uuid(col(row, "id")?),
        org_id: col::<Option<Uuid>>(row, "org_id")?.map(OrgId::from_uuid),
        recipient: valid("recipient", Email::parse(col::<String>(row, "recipient")?))?,
        mail,
        status: valid("status", MessageStatus::from_name(&status).ok_or("unknown message status"))?,
        attempts: valid("attempts", u32::try_from(col::<i32>(row, "attempts")?))?,
        next_attempt_at: col(row, "next_attempt_at")?,
        last_error: col(row, "last_error")?,
        delivered_via: col(row, "delivered_via")?,
        created_at: col(row, "created_at")?,
        sent_at: col(row, "sent_at")?,
    })
}

/// An audit event from [`audit_columns`].
pub(crate) fn audit_event<R: Columns>(row: &R) -> Result<AuditEvent, StoreError> {
    Ok(AuditEvent {
        id: AuditEventId::from_uuid(col(row, "id")?),
        org_id: OrgId::from_uuid(col(row, "org_id")?),
        actor: col(row, "actor")?,
        action: col(row, "action")?,
        target_type: col(row, "target_type")?,
        target_id: col(row, "target_id")?,
        request_id: col(row, "request_id")?,
        occurred_at: col(row, "occurred_at")?,
        details: row.json("details")?,
    })
}

/// What a user may do, from [`crate::access::USER_ACCESS`]: `id`, `status`, the parallel
/// arrays `role_ids`, `role_keys` and `role_builtins`, the custom roles' permissions
/// space-separated in `role_permissions`, and the unexpired `grants`. Roles come out in id
/// order, permissions united, in byte order.
pub(crate) fn user_access<R: Columns>(row: &R) -> Result<UserAccess, StoreError> {
    let status: String = col(row, "status")?;
    let ids: Vec<Uuid> = col(row, "role_ids")?;
    let keys: Vec<String> = col(row, "role_keys")?;
    let builtins: Vec<bool> = col(row, "role_builtins")?;
    if ids.len() != keys.len() || ids.len() != builtins.len() {
        return Err(StoreError::other(InvalidRow::new("role_ids", "role arrays of different lengths")));
    }
    let mut roles = ids
        .into_iter()
        .zip(keys)
        .zip(builtins)
        .map(|((id, key), builtin)| {
            let key = valid("role key", RoleKey::parse(key))?;
            Ok(RoleRef { id: RoleId::from_uuid(id), key: key.as_str().to_owned(), builtin })
        })
        .collect::<Result<Vec<_>, StoreError>>()?;
    roles.sort_unstable_by_key(|role| role.id);
    let from_roles: Option<String> = col(row, "role_permissions")?;
    let mut permissions: Vec<String> = col(row, "grants")?;
    permissions
        .extend(from_roles.iter().flat_map(|joined| joined.split(' ')).filter(|p| !p.is_empty()).map(str::to_owned));
    permissions.sort_unstable();
    permissions.dedup();
    Ok(UserAccess {
        user_id: UserId::from_uuid(col(row, "id")?),
        status: valid("status", UserStatus::from_name(&status).ok_or("unknown user status"))?,
        roles,
        permissions,
    })
}

/// Parses an organization status read next to something else (`org_status`).
pub(crate) fn org_status<R: Columns>(row: &R) -> Result<Option<OrgStatus>, StoreError> {
    optional(row, "org_status", |s| OrgStatus::from_name(&s).ok_or("unknown organization status"))
}

/// Whether the organization read next to something else is a partner (`org_partner`,
/// NULL when it is gone).
pub(crate) fn org_partner<R: Columns>(row: &R) -> Result<bool, StoreError> {
    Ok(col::<Option<bool>>(row, "org_partner")?.unwrap_or(false))
}

/// A count, which PostgreSQL returns as `bigint`.
pub(crate) fn count<R: Columns>(row: &R) -> Result<u64, StoreError> {
    valid("count", u64::try_from(col::<i64>(row, "count")?))
}
