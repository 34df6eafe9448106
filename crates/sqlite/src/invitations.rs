//! Invitations: stored with their token's digest; read joined with their user, whose email
//! and roles they carry.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use roster_domain::api_key::SecretDigest;
use roster_domain::error::StoreError;
use roster_domain::ids::{InvitationId, OrgId, UserId};
use roster_domain::invitation::{Invitation, InvitationQuery, InvitationStatus};
use roster_domain::outbox::OutboxMessage;
use roster_domain::ports::{InvitationReads, InvitationWrites};
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqliteExecutor};

use crate::access::ids_json;
use crate::error::{AdapterError, store_error};
use crate::rows::{self, INVITATION_COLUMNS};
use crate::{SqliteStorage, SqliteTransaction, outbox};

/// The invitations with their users, for a `WHERE` clause to follow. The user is joined
/// whatever its status: a deleted user's invitation (revoked with it) stays readable.
fn select() -> String {
    format!("SELECT {INVITATION_COLUMNS} FROM invitations i JOIN users u ON u.id = i.user_id AND u.org_id = i.org_id")
}

/// The invitation `id` of `org`, whatever its status.
async fn fetch<'e>(
    exec: impl SqliteExecutor<'e>,
    org: OrgId,
    id: InvitationId,
) -> Result<Option<Invitation>, StoreError> {
    let sql = format!("{} WHERE i.org_id = ? AND i.id = ?", select());
    let row =
        sqlx::query(&sql).bind(org.to_string()).bind(id.to_string()).fetch_optional(exec).await.map_err(store_error)?;
    row.as_ref().map(rows::invitation).transpose()
}

/// Revokes the pending (expired included) invitations of `users` of `org`, as their
/// deletion does.
pub(crate) async fn revoke_of_users(
    conn: &mut SqliteConnection,
    org: OrgId,
    users: &[UserId],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    if users.is_empty() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE invitations SET status = 'revoked', revoked_at = ?1, updated_at = ?1, version = version + 1 \
         WHERE org_id = ?2 AND status = 'pending' AND user_id IN (SELECT value FROM json_each(?3))",
    )
    .bind(at)
    .bind(org.to_string())
    .bind(ids_json(users)?)
    .execute(conn)
    .await
    .map_err(store_error)?;
    Ok(())
}

#[async_trait]
impl InvitationReads for SqliteStorage {
    #[tracing::instrument(level = "debug", skip_all, fields(org = %org, invitation = %id), err(level = "debug"))]
    async fn get_invitation(&self, org: OrgId, id: InvitationId) -> Result<Option<Invitation>, StoreError> {
        fetch(&self.pool, org, id).await
    }

    /// Pending and expired are both stored `pending`, told apart by the expiry.
    #[tracing::instrument(level = "debug", skip_all, fields(org = %org), err(level = "debug"))]
    async fn list_invitations(&self, org: OrgId, query: &InvitationQuery) -> Result<Vec<Invitation>, StoreError> {
        let mut sql = QueryBuilder::<Sqlite>::new(select());
        sql.push(" WHERE i.org_id = ").push_bind(org.to_string());
        match query.status {
            None => {}
            Some(InvitationStatus::Pending) => {
                sql.push(" AND i.status = 'pending' AND i.expires_at > ").push_bind(query.now);
            }
            Some(InvitationStatus::Expired) => {
                sql.push(" AND i.status = 'pending' AND i.expires_at <= ").push_bind(query.now);
            }
            Some(status @ (InvitationStatus::Accepted | InvitationStatus::Revoked)) => {
                sql.push(" AND i.status = ").push_bind(status.as_str());
            }
        }
        if let Some(after) = query.after {
            sql.push(" AND i.id > ").push_bind(after.to_string());
        }
        sql.push(" ORDER BY i.id LIMIT ").push_bind(i64::from(query.limit));
        let rows = sql.build().fetch_all(&self.pool).await.map_err(store_error)?;
        rows.iter().map(rows::invitation).collect()
    }

    #[tracing::instrument(level = "debug", skip_all, err(level = "debug"))]
    async fn find_invitation(&self, digest: &SecretDigest) -> Result<Option<Invitation>, StoreError> {
        let sql = format!("{} WHERE i.digest = ?", select());
        let row = sqlx::query(&sql)
            .bind(digest.as_bytes().as_slice())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.as_ref().map(rows::invitation).transpose()
    }
}

#[async_trait]
impl InvitationWrites for SqliteTransaction {
    #[tracing::instrument(level = "debug", skip_all, fields(org = %invitation.org_id, invitation = %invitation.id), err(level = "debug"))]
    async fn insert_invitation(&mut self, invitation: &Invitation) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO invitations (id, org_id, user_id, status, digest, invited_by, login_url, expires_at, \
             created_at, updated_at, accepted_at, revoked_at, version) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        )
        .bind(invitation.id.to_string())
        .bind(invitation.org_id.to_string())
        .bind(invitation.user_id.to_string())
        .bind(stored_status(invitation.status)?)
        .bind(invitation.digest.as_bytes().as_slice())
        .bind(invitation.invited_by.as_str())
        .bind(invitation.login_url.as_ref().map(|u| u.as_str()))
        .bind(invitation.expires_at)
        .bind(invitation.created_at)
        .bind(invitation.updated_at)
        .bind(invitation.accepted_at)
        .bind(invitation.revoked_at)
        .bind(invitation.version)
        .execute(self.conn()?)
        .await
        .map_err(store_error)?;
        Ok(())
    }

    /// A plain read: the `BEGIN IMMEDIATE` transaction already holds SQLite's write lock.
    #[tracing::instrument(level = "debug", skip_all, fields(org = %org, invitation = %id), err(level = "debug"))]
    async fn invitation_for_update(&mut self, org: OrgId, id: InvitationId) -> Result<Option<Invitation>, StoreError> {
        fetch(self.conn()?, org, id).await
    }

    #[tracing::instrument(level = "debug", skip_all, fields(org = %invitation.org_id, invitation = %invitation.id), err(level = "debug"))]
    async fn update_invitation(&mut self, invitation: &Invitation) -> Result<(), StoreError> {
        let done = sqlx::query(
            "UPDATE invitations SET status = ?, digest = ?, login_url = ?, expires_at = ?, updated_at = ?, \
             accepted_at = ?, revoked_at = ?, version = ? WHERE org_id = ? AND id = ?",
        )
        .bind(stored_status(invitation.status)?)
        .bind(invitation.digest.as_bytes().as_slice())
        .bind(invitation.login_url.as_ref().map(|u| u.as_str()))
        .bind(invitation.expires_at)
        .bind(invitation.updated_at)
        .bind(invitation.accepted_at)
        .bind(invitation.revoked_at)
        .bind(invitation.version)
        .bind(invitation.org_id.to_string())
        .bind(invitation.id.to_string())
        .execute(self.conn()?)
        .await
        .map_err(store_error)?;
        if done.rows_affected() == 0 {
            return Err(AdapterError::NoRow("invitation").into());
        }
        Ok(())
    }

    #[tracing::instrument(level = "debug", skip_all, fields(message = %message.id), err(level = "debug"))]
    async fn insert_outbox_message(&mut self, message: &OutboxMessage) -> Result<(), StoreError> {
        outbox::insert(self.conn()?, message).await
    }
}

/// The stored form of a status: `expired` is derived, never stored, so an invitation
/// claiming it is a caller's bug.
fn stored_status(status: InvitationStatus) -> Result<&'static str, StoreError> {
    match status {
        InvitationStatus::Expired => Err(AdapterError::Unstorable("the derived invitation status `expired`").into()),
        stored => Ok(stored.as_str()),
    }
}
