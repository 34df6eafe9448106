//! `roster.v1.ApiKeyService`: service keys (no `user_id`) and personal keys (a `user_id`);
//! parse → one use case → map.

use std::sync::Arc;

use roster_domain::api_key::ApiKey;
use roster_domain::ids::{ApiKeyId, OrgId, UserId};
use roster_domain::ports::KeyOwnerFilter;
use roster_domain::service::{CreateApiKeyInput, Roster};
use roster_domain::validation::Validator;
use tonic::{Request, Response, Status};

use crate::auth::principal;
use crate::convert::{self, timestamp};
use crate::pb;
use crate::pb::api_key_service_server::ApiKeyService;
use crate::status::{invalid, rename_fields, to_status};

/// The API key service over Roster's use cases.
#[derive(Debug)]
pub(crate) struct ApiKeys {
    roster: Arc<Roster>,
}

impl ApiKeys {
    pub(crate) fn new(roster: Arc<Roster>) -> Self {
        Self { roster }
    }
}

/// A key, without its secret, as `roster.v1.ApiKey`.
fn api_key(key: ApiKey) -> pb::ApiKey {
    pb::ApiKey {
        id: key.id.to_string(),
        organization_id: key.owner.org_id().map(|id| id.to_string()).unwrap_or_default(),
        user_id: key.owner.user_id().map(|id| id.to_string()),
        name: key.name.as_str().to_owned(),
        prefix: key.prefix,
        scope: key.scope.map(|scope| pb::PermissionScope { permissions: scope.names() }),
        created_by: key.created_by,
        created_at: Some(timestamp(key.created_at)),
        expires_at: key.expires_at.map(timestamp),
        revoked_at: key.revoked_at.map(timestamp),
        last_used_at: key.last_used_at.map(timestamp),
    }
}

/// The organization and the keys' owner: its service keys, or with `user_id`, that user's
/// personal keys.
fn owner(v: &mut Validator, org: &str, user: Option<&str>) -> Option<(OrgId, KeyOwnerFilter)> {
    let org_id = convert::id(v, "organization_id", org);
    let user_id = convert::optional_id::<UserId>(v, "user_id", user);
    let owner = match user_id? {
        None => KeyOwnerFilter::Service,
        Some(user) => KeyOwnerFilter::User(user),
    };
    Some((org_id?, owner))
}

/// The domain names a scope's entries `scope[i]`; the contract nests them in a message.
fn scope_field(field: &str) -> String {
    match field.strip_prefix("scope") {
        Some(rest) if rest.starts_with('[') => format!("scope.permissions{rest}"),
        _ => field.to_owned(),
    }
}

#[tonic::async_trait]
impl ApiKeyService for ApiKeys {
    #[tracing::instrument(name = "roster.v1.ApiKeyService/CreateApiKey", skip_all)]
    async fn create_api_key(
        &self,
        request: Request<pb::CreateApiKeyRequest>,
    ) -> Result<Response<pb::CreateApiKeyResponse>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.into_inner();
        let mut v = Validator::default();
        let owner = owner(&mut v, &req.organization_id, req.user_id.as_deref());
        let expires_at = req.expires_at.and_then(|at| convert::time(&mut v, "expires_at", at));
        let (org_id, owner) = v.build(|| owner).map_err(invalid)?;
        let input = CreateApiKeyInput {
            name: convert::non_empty(req.name),
            expires_at,
            scope: req.scope.map(|scope| scope.permissions),
        };
        let created = match owner {
            KeyOwnerFilter::Service => self.roster.create_service_key(&principal, org_id, input).await,
            KeyOwnerFilter::User(user) => self.roster.create_personal_key(&principal, org_id, user, input).await,
        };
        let (key, secret) = created.map_err(|e| to_status(rename_fields(e, scope_field)))?;
        Ok(Response::new(pb::CreateApiKeyResponse { api_key: Some(api_key(key)), secret: secret.expose().to_owned() }))
    }

    #[tracing::instrument(name = "roster.v1.ApiKeyService/ListApiKeys", skip_all)]
    async fn list_api_keys(
        &self,
        request: Request<pb::ListApiKeysRequest>,
    ) -> Result<Response<pb::ListApiKeysResponse>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.into_inner();
        let mut v = Validator::default();
        let owner = owner(&mut v, &req.organization_id, req.user_id.as_deref());
        let size = convert::page_size(&mut v, req.page_size);
        let ((org_id, owner), size) = v.build(|| Some((owner?, size?))).map_err(invalid)?;
        let token = convert::page_token(req.page_token);
        let page = self
            .roster
            .list_api_keys(&principal, org_id, owner, size, token.as_deref())
            .await
            .map_err(|e| to_status(rename_fields(e, convert::list_field)))?;
        Ok(Response::new(pb::ListApiKeysResponse {
            api_keys: page.items.into_iter().map(api_key).collect(),
            next_page_token: page.next_cursor.map(|c| c.as_str().to_owned()).unwrap_or_default(),
        }))
    }

    #[tracing::instrument(name = "roster.v1.ApiKeyService/RevokeApiKey", skip_all)]
    async fn revoke_api_key(&self, request: Request<pb::RevokeApiKeyRequest>) -> Result<Response<()>, Status> {
        let principal = principal(&self.roster, &request).await?;
        let req = request.get_ref();
        let mut v = Validator::default();
        let owner = owner(&mut v, &req.organization_id, req.user_id.as_deref());
        let key_id = convert::id::<ApiKeyId>(&mut v, "api_key_id", &req.api_key_id);
        let ((org_id, owner), key_id) = v.build(|| Some((owner?, key_id?))).map_err(invalid)?;
        self.roster.revoke_api_key(&principal, org_id, owner, key_id).await.map_err(to_status)?;
        Ok(Response::new(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_entries_are_named_inside_the_scope_message() {
        assert_eq!(scope_field("scope[2]"), "scope.permissions[2]");
        assert_eq!(scope_field("scope"), "scope");
        assert_eq!(scope_field("name"), "name");
    }

    #[test]
    fn no_user_means_service_keys() {
        let org = uuid::Uuid::now_v7().to_string();
        let user = uuid::Uuid::now_v7();
        let mut v = Validator::default();
        assert!(matches!(owner(&mut v, &org, None), Some((_, KeyOwnerFilter::Service))));
        let personal = owner(&mut v, &org, Some(&user.to_string()));
        assert!(matches!(personal, Some((_, KeyOwnerFilter::User(u))) if *u.as_uuid() == user));
        assert!(v.is_ok());
        assert!(owner(&mut v, "acme", Some("")).is_none());
        let fields: Vec<String> = v.finish().unwrap_err().fields().iter().map(|f| f.field.clone()).collect();
        assert_eq!(fields, ["organization_id", "user_id"]);
    }
}
