//! Invitations, each read with its user's email and role ids (one statement per read),
//! and the queueing of outbox messages inside a transaction.

use async_trait::async_trait;
use roster_domain::api_key::SecretDigest;
use roster_domain::error::StoreError;
use roster_domain::ids::{InvitationId, OrgId};
use roster_domain::invitation::{Invitation, InvitationQuery, InvitationStatus};
use roster_domain::outbox::OutboxMessage;
use roster_domain::ports::{InvitationReads, InvitationWrites};
use sqlx::{Postgres, QueryBuilder};

use crate::error::store_error;
use crate::rows::{self, invitation_columns};
use crate::{PgTransaction, PostgresStorage};

/// An invitation and its user. The user row is read whatever its status: a revoked
/// invitation's user may be deleted.
macro_rules! select_invitations {
    () => {
        concat!(
            "SELECT ",
            invitation_columns!(),
            " FROM invitations i JOIN users u ON u.id = i.user_id AND u.org_id = i.org_id"
        )
    };
}

const GET: &str = concat!(select_invitations!(), " WHERE i.org_id = $1 AND i.id = $2");

/// Locks the invitation only: callers lock its user first (`user_for_update`).
const GET_FOR_UPDATE: &str = concat!(select_invitations!(), " WHERE i.org_id = $1 AND i.id = $2 FOR UPDATE OF i");

/// Acceptance's look-up by the token alone (`invitations_digest_key`), across organizations.
pub(crate) const FIND: &str = concat!(select_invitations!(), " WHERE i.digest = $1");

const UPDATE: &str = "UPDATE invitations SET status = $3, digest = $4, login_url = $5, expires_at = $6, \
    updated_at = $7, accepted_at = $8, revoked_at = $9, version = $10 WHERE org_id = $1 AND id = $2";

/// Appends the `list_invitations` query to `sql`: keyset pages in id order through
/// `invitations_org_idx (org_id, id)`, the status (as of `query.now`) filtered on the way.
pub(crate) fn push_list_invitations(sql: &mut QueryBuilder<'_, Postgres>, org: OrgId, query: &InvitationQuery) {
    sql.push(concat!(select_invitations!(), " WHERE i.org_id = ")).push_bind(*org.as_uuid());
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
        sql.push(" AND i.id > ").push_bind(*after.as_uuid());
    }
    sql.push(" ORDER BY i.id LIMIT ").push_bind(i64::from(query.limit));
}

#[async_trait]
impl InvitationReads for PostgresStorage {
    async fn get_invitation(&self, org: OrgId, id: InvitationId) -> Result<Option<Invitation>, StoreError> {
        let row = sqlx::query(GET)
            .bind(org.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.as_ref().map(rows::invitation).transpose()
    }

    async fn list_invitations(&self, org: OrgId, query: &InvitationQuery) -> Result<Vec<Invitation>, StoreError> {
        let mut sql = QueryBuilder::new("");
        push_list_invitations(&mut sql, org, query);
        let found = sql.build().fetch_all(&self.pool).await.map_err(store_error)?;
        found.iter().map(rows::invitation).collect()
    }

    async fn find_invitation(&self, digest: &SecretDigest) -> Result<Option<Invitation>, StoreError> {
        let row = sqlx::query(FIND)
            .bind(digest.as_bytes().as_slice())
            .fetch_optional(&self.pool)
            .await
            .map_err(store_error)?;
        row.as_ref().map(rows::invitation).transpose()
    }
}

#[async_trait]
impl InvitationWrites for PgTransaction {
    async fn insert_invitation(&mut self, invitation: &Invitation) -> Result<(), StoreError> {
        // Written with the transaction's next statement (crate::appends).
        self.appends.invitation(invitation);
        Ok(())
    }

    async fn invitation_for_update(&mut self, org: OrgId, id: InvitationId) -> Result<Option<Invitation>, StoreError> {
        let row = sqlx::query(GET_FOR_UPDATE)
            .bind(org.as_uuid())
            .bind(id.as_uuid())
            .fetch_optional(self.conn().await?)
            .await
            .map_err(store_error)?;
        row.as_ref().map(rows::invitation).transpose()
    }

    async fn update_invitation(&mut self, invitation: &Invitation) -> Result<(), StoreError> {
        sqlx::query(UPDATE)
            .bind(invitation.org_id.as_uuid())
            .bind(invitation.id.as_uuid())
            .bind(invitation.status.as_str())
            .bind(invitation.digest.as_bytes().as_slice())
            .bind(invitation.login_url.as_ref().map(|u| u.as_str()))
            .bind(invitation.expires_at)
            .bind(invitation.updated_at)
            .bind(invitation.accepted_at)
            .bind(invitation.revoked_at)
            .bind(invitation.version)
            .execute(self.conn().await?)
            .await
            .map_err(store_error)?;
        Ok(())
    }

    async fn insert_outbox_message(&mut self, message: &OutboxMessage) -> Result<(), StoreError> {
        // Written with the transaction's next statement (crate::appends).
        self.appends.outbox(message);
        Ok(())
    }
}
