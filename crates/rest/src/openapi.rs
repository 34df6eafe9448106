//! The OpenAPI document: operations come from the handlers' `#[utoipa::path]`
//! attributes (registered with their routes in [`crate::router`]); this module adds the
//! parts they share: the bearer scheme, the problem responses, the version header, the
//! response headers and the links, and writes in the domain's field rules
//! ([`crate::dto::rules`]).

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as OpenApiDoc, Ref, RefOr, Required};
use utoipa::{Modify, OpenApi, ToResponse};

use crate::problem::{FieldError, PROBLEM_JSON, Problem};

/// The skeleton the routes are added to.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Roster",
        description = "Multi-tenant user management: organizations, users, roles, permissions, \
            API keys, invitations, sessions and audit events.\n\n\
            Every `/v1` operation but login and invitation acceptance takes \
            `Authorization: Bearer <token>`: an API key or a session token from \
            `POST /v1/auth/login`. What a caller may do is decided by its permissions; anything \
            outside its organizations is `404`. Errors are RFC 9457 \
            `application/problem+json` bodies with a stable `code`. Single resources carry their \
            version as `ETag`; send it back in `If-Match` to update or delete only that version.\n\n\
            Invitees accept their invitation on the HTML page the email links to, \
            `/invite/{token}` (outside this API), or through `POST /v1/invitations/accept`.",
        license(name = "Apache-2.0", identifier = "Apache-2.0"),
    ),
    modifiers(&BearerScheme),
    components(
        schemas(Problem, FieldError),
        responses(
            BadRequest,
            Unauthorized,
            Forbidden,
            NotFound,
            Conflict,
            Gone,
            PreconditionFailed,
            PayloadTooLarge,
            UnsupportedMediaType,
            UnprocessableEntity,
            TooManyRequests,
            InternalError,
            ServiceUnavailable,
        )
    ),
    tags(
        (name = "organizations", description = "Tenants"),
        (name = "users", description = "Users of one organization"),
        (name = "roles", description = "Built-in and custom roles of one organization"),
        (name = "permissions", description = "Direct permission grants, effective permissions and checks"),
        (name = "api-keys", description = "Service keys of an organization and personal keys of a user"),
        (name = "invitations", description = "Invitations of users created without a password, and their acceptance"),
        (name = "auth", description = "Password login, logout and the caller"),
        (name = "sessions", description = "Login sessions of a user"),
        (name = "audit", description = "Who changed what, when"),
        (name = "operations", description = "Probes and metrics"),
    )
)]
struct ApiDoc;

/// Registers the `bearer` security scheme the operations name.
struct BearerScheme;

impl Modify for BearerScheme {
    fn modify(&self, openapi: &mut OpenApiDoc) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .description(Some(
                        "An API key (`rst_` followed by 43 characters) or a session token from \
                         `POST /v1/auth/login` (`rss_` followed by 43 characters)",
                    ))
                    .build(),
            ),
        );
    }
}

/// The document before the routes are added.
pub(crate) fn base() -> OpenApiDoc {
    ApiDoc::openapi()
}

/// Completes the document once the routes are in: the domain's field rules (with the
/// password policy's minimum length), the `Roster-Version` header on every operation,
/// the headers every response carries, and the links from created resources to the
/// operations on them.
pub(crate) fn finish(mut doc: OpenApiDoc, password_min: usize) -> OpenApiDoc {
    doc.info.version = "1".to_owned();
    let missed = crate::dto::rules::apply(&mut doc, password_min);
    if !missed.is_empty() {
        tracing::error!(?missed, "field rules name parts the OpenAPI document does not have");
    }
    for item in doc.paths.paths.values_mut() {
        let operations =
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch, &mut item.head];
        for operation in operations.into_iter().flatten() {
            operation.parameters.get_or_insert_with(Vec::new).push(version_parameter());
            // Any request can carry a bad `Roster-Version`.
            let responses = &mut operation.responses.responses;
            responses.entry("400".to_owned()).or_insert_with(|| Ref::from_response_name("BadRequest").into());
            for response in responses.values_mut() {
                if let RefOr::T(response) = response {
                    add_common_headers(response);
                }
            }
        }
    }
    if let Some(components) = doc.components.as_mut() {
        for response in components.responses.values_mut() {
            if let RefOr::T(response) = response {
                add_common_headers(response);
            }
        }
    }
    add_links(&mut doc);
    doc
}

fn version_parameter() -> Parameter {
    ParameterBuilder::new()
        .name("Roster-Version")
        .parameter_in(ParameterIn::Header)
        .required(Required::False)
        .description(Some("The API version; only `1` exists. Responses always carry `Roster-Version: 1`."))
        .schema(Some(ObjectBuilder::new().schema_type(Type::String).enum_values(Some(["1"]))))
        .build()
}

/// The headers every response carries, and the exact form of the ones some carry.
fn add_common_headers(response: &mut Response) {
    let string = || ObjectBuilder::new().schema_type(Type::String);
    let header = |schema: ObjectBuilder, description: &str| {
        HeaderBuilder::new().schema(schema).description(Some(description)).build()
    };
    response.headers.insert(
        "Roster-Version".to_owned(),
        header(string().enum_values(Some(["1"])), "The API version of the response: always `1`."),
    );
    response.headers.insert(
        "x-request-id".to_owned(),
        header(string().min_length(Some(1)), "The request id: the caller's, or a generated UUID."),
    );
    for (name, header) in &mut response.headers {
        match name.as_str() {
            "ETag" => header.schema = string().pattern(Some(r#"^"[0-9]+"$"#)).into(),
            "Retry-After" => {
                header.schema = ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(1)).into();
            }
            "Location" => header.schema = string().format(Some(SchemaFormat::Custom("uri-reference".into()))).into(),
            _ => {}
        }
    }
}

/// A link from one response to an operation: they let a client (and a stateful tester)
/// follow a created resource to the operations on it.
struct LinkSpec {
    /// The operation whose response links.
    from: &'static str,
    /// The status of that response.
    status: &'static str,
    name: &'static str,
    /// The linked operation.
    to: &'static str,
    /// Its parameters, as runtime expressions.
    parameters: &'static [(&'static str, &'static str)],
    /// Fields of its request body, as JSON with runtime expressions.
    body: Option<&'static str>,
}

const fn link(from: &'static str, status: &'static str, name: &'static str, to: &'static str) -> LinkSpec {
    LinkSpec { from, status, name, to, parameters: &[], body: None }
}

impl LinkSpec {
    const fn with(self, parameters: &'static [(&'static str, &'static str)]) -> Self {
        Self { parameters, ..self }
    }

    const fn body(self, body: &'static str) -> Self {
        Self { body: Some(body), ..self }
    }
}

const ORG: &[(&str, &str)] = &[("org_id", "$response.body#/data/id")];
const ORG_VERSION: &[(&str, &str)] = &[("org_id", "$response.body#/data/id"), ("If-Match", "$response.header.ETag")];
const USER: &[(&str, &str)] =
    &[("org_id", "$response.body#/data/organization_id"), ("user_id", "$response.body#/data/id")];
const USER_VERSION: &[(&str, &str)] = &[
    ("org_id", "$response.body#/data/organization_id"),
    ("user_id", "$response.body#/data/id"),
    ("If-Match", "$response.header.ETag"),
];
const KEY: &[(&str, &str)] =
    &[("org_id", "$response.body#/data/organization_id"), ("key_id", "$response.body#/data/id")];
const ORG_OF_KEY: &[(&str, &str)] = &[("org_id", "$response.body#/data/organization_id")];
const ROLE: &[(&str, &str)] =
    &[("org_id", "$response.body#/data/organization_id"), ("role_id", "$response.body#/data/id")];
const ROLE_VERSION: &[(&str, &str)] = &[
    ("org_id", "$response.body#/data/organization_id"),
    ("role_id", "$response.body#/data/id"),
    ("If-Match", "$response.header.ETag"),
];
const GRANT: &[(&str, &str)] = &[
    ("org_id", "$response.body#/data/organization_id"),
    ("user_id", "$response.body#/data/user_id"),
    ("grant_id", "$response.body#/data/id"),
];
const GRANT_VERSION: &[(&str, &str)] = &[
    ("org_id", "$response.body#/data/organization_id"),
    ("user_id", "$response.body#/data/user_id"),
    ("grant_id", "$response.body#/data/id"),
    ("If-Match", "$response.header.ETag"),
];
const PERSONAL_KEY: &[(&str, &str)] = &[
    ("org_id", "$response.body#/data/organization_id"),
    ("user_id", "$response.body#/data/user_id"),
    ("key_id", "$response.body#/data/id"),
];
const USER_OF_KEY: &[(&str, &str)] =
    &[("org_id", "$response.body#/data/organization_id"), ("user_id", "$response.body#/data/user_id")];
/// An organization's own role, for the bodies that name one.
const DEFAULT_ROLE: &str = r#"{"default_role_id": "$response.body#/data/default_role_id"}"#;

const LINKS: &[LinkSpec] = &[
    link("create_organization", "201", "GetOrganization", "get_organization").with(ORG),
    link("create_organization", "201", "UpdateOrganization", "update_organization")
        .with(ORG_VERSION)
        .body(DEFAULT_ROLE),
    link("create_organization", "201", "DeleteOrganization", "delete_organization").with(ORG_VERSION),
    link("create_organization", "201", "CreateChildOrganization", "create_organization")
        .body(r#"{"parent_id": "$response.body#/data/id"}"#),
    link("create_organization", "201", "CreateUser", "create_user")
        .with(ORG)
        .body(r#"{"role_ids": ["$response.body#/data/default_role_id"], "role": null}"#),
    link("create_organization", "201", "ListUsers", "list_users").with(ORG),
    link("create_organization", "201", "BatchDeleteUsers", "batch_delete_users").with(ORG),
    link("create_organization", "201", "CreateApiKey", "create_api_key").with(ORG),
    link("create_organization", "201", "ListApiKeys", "list_api_keys").with(ORG),
    link("create_organization", "201", "ListRoles", "list_roles").with(ORG),
    link("create_organization", "201", "CreateRole", "create_role").with(ORG),
    link("create_organization", "201", "ListAuditEvents", "list_audit_events").with(ORG),
    link("create_organization", "201", "ListInvitations", "list_invitations").with(ORG),
    link("get_organization", "200", "UpdateOrganization", "update_organization").with(ORG_VERSION).body(DEFAULT_ROLE),
    link("get_organization", "200", "DeleteOrganization", "delete_organization").with(ORG_VERSION),
    link("update_organization", "200", "GetOrganization", "get_organization").with(ORG),
    link("update_organization", "200", "DeleteOrganization", "delete_organization").with(ORG_VERSION),
    link("create_user", "201", "GetUser", "get_user").with(USER),
    link("create_user", "201", "UpdateUser", "update_user")
        .with(USER_VERSION)
        .body(r#"{"role_ids": "$response.body#/data/role_ids", "role": null}"#),
    link("create_user", "201", "DeleteUser", "delete_user").with(USER_VERSION),
    link("create_user", "201", "BatchDeleteUser", "batch_delete_users")
        .with(&[("org_id", "$response.body#/data/organization_id")])
        .body(r#"{"user_ids": ["$response.body#/data/id"]}"#),
    link("get_user", "200", "UpdateUser", "update_user")
        .with(USER_VERSION)
        .body(r#"{"role_ids": "$response.body#/data/role_ids", "role": null}"#),
    link("get_user", "200", "DeleteUser", "delete_user").with(USER_VERSION),
    link("update_user", "200", "GetUser", "get_user").with(USER),
    link("update_user", "200", "DeleteUser", "delete_user").with(USER_VERSION),
    link("create_user", "201", "CreateGrant", "create_grant").with(USER),
    link("create_user", "201", "ListGrants", "list_grants").with(USER),
    link("create_user", "201", "GetEffectivePermissions", "effective_permissions").with(USER),
    link("create_user", "201", "CheckPermissions", "check_permissions")
        .with(&[("org_id", "$response.body#/data/organization_id")])
        .body(r#"{"checks": [{"user_id": "$response.body#/data/id", "permission": "users.read"}]}"#),
    link("create_user", "201", "CreatePersonalApiKey", "create_personal_api_key").with(USER),
    link("create_user", "201", "ListPersonalApiKeys", "list_personal_api_keys").with(USER),
    link("create_user", "201", "ListSessions", "list_sessions").with(USER),
    link("create_api_key", "201", "RevokeApiKey", "revoke_api_key").with(KEY),
    link("create_api_key", "201", "ListApiKeys", "list_api_keys").with(ORG_OF_KEY),
    link("create_personal_api_key", "201", "RevokePersonalApiKey", "revoke_personal_api_key").with(PERSONAL_KEY),
    link("create_personal_api_key", "201", "ListPersonalApiKeys", "list_personal_api_keys").with(USER_OF_KEY),
    link("create_role", "201", "GetRole", "get_role").with(ROLE),
    link("create_role", "201", "UpdateRole", "update_role").with(ROLE_VERSION),
    link("create_role", "201", "DeleteRole", "delete_role").with(ROLE_VERSION),
    link("get_role", "200", "UpdateRole", "update_role").with(ROLE_VERSION),
    link("update_role", "200", "GetRole", "get_role").with(ROLE),
    link("create_grant", "201", "GetGrant", "get_grant").with(GRANT),
    link("create_grant", "201", "UpdateGrant", "update_grant").with(GRANT_VERSION),
    link("create_grant", "201", "DeleteGrant", "delete_grant").with(GRANT_VERSION),
    link("update_grant", "200", "GetGrant", "get_grant").with(GRANT),
];

fn add_links(doc: &mut OpenApiDoc) {
    for item in doc.paths.paths.values_mut() {
        let operations = [&mut item.get, &mut item.post, &mut item.delete, &mut item.patch];
        for operation in operations.into_iter().flatten() {
            let Some(id) = operation.operation_id.clone() else { continue };
            for spec in LINKS.iter().filter(|l| l.from == id) {
                let Some(RefOr::T(response)) = operation.responses.responses.get_mut(spec.status) else { continue };
                // utoipa 5 serialises `LinkBuilder::operation_id` as `operation_id`; the
                // specification's name is `operationId`, so it goes in as an extra field.
                let operation_id = Extensions::from_iter([("operationId", spec.to)]);
                let body = spec.body.and_then(|b| serde_json::from_str::<serde_json::Value>(b).ok());
                let link = spec
                    .parameters
                    .iter()
                    .fold(LinkBuilder::new().extensions(Some(operation_id)), |link, &(param, value)| {
                        link.parameter(param, value)
                    })
                    .request_body(body)
                    .build();
                response.links.insert(spec.name.to_owned(), RefOr::T(link));
            }
        }
    }
}

fn problem_response(description: &str, with_header: Option<(&str, &str)>) -> Response {
    let content = ContentBuilder::new().schema(Some(Ref::from_schema_name("Problem"))).build();
    let mut builder = ResponseBuilder::new().description(description).content(PROBLEM_JSON, content);
    if let Some((name, header_description)) = with_header {
        builder = builder.header(
            name,
            HeaderBuilder::new()
                .schema(ObjectBuilder::new().schema_type(Type::String))
                .description(Some(header_description))
                .build(),
        );
    }
    builder.build()
}

macro_rules! problem_responses {
    ($($(#[$doc:meta])* $name:ident => $description:literal $(, header $header:literal: $header_doc:literal)?;)*) => {
        $(
            $(#[$doc])*
            #[derive(Debug)]
            pub struct $name;

            impl<'r> ToResponse<'r> for $name {
                fn response() -> (&'r str, RefOr<Response>) {
                    let header: Option<(&str, &str)> = None $(.or(Some(($header, $header_doc))))?;
                    (stringify!($name), problem_response($description, header).into())
                }
            }
        )*
    };
}

problem_responses! {
    /// 400.
    BadRequest => "Bad request: malformed JSON (`malformed_json`), a path id that is not a UUID \
        (`invalid_id`), a query string that does not parse (`invalid_query`), a malformed `If-Match` \
        (`invalid_if_match`) or an unsupported `Roster-Version` (`unsupported_version`)";
    /// 401.
    Unauthorized => "Missing, unknown, expired or revoked API key or session, or one of a user who is \
        not active; a failed login (`unauthenticated`)",
        header "WWW-Authenticate": "`Bearer realm=\"roster\"`";
    /// 403.
    Forbidden => "The caller lacks the permission, or would hand out more than it holds (`forbidden`)";
    /// 404.
    NotFound => "No such resource, or outside the caller's reach (`not_found`); an unknown, malformed \
        or replaced invitation token (`invitation_invalid`)";
    /// 409.
    Conflict => "Conflicts with the current state: `email_taken`, `username_taken`, `slug_taken`, \
        `seat_limit_reached`, `last_owner` (the organization would have no active owner), \
        `role_in_use` (give `reassign_to`), `immutable_role` (built-in roles), `role_key_taken`, \
        `grant_exists`, `invitation_already_accepted` (invitation tokens work once), \
        `invitation_not_pending` (only pending or expired invitations can be resent or revoked)";
    /// 410.
    Gone => "The invitation token expired (`invitation_expired`; an administrator can resend the \
        invitation) or the invitation was revoked (`invitation_revoked`)";
    /// 412.
    PreconditionFailed => "`If-Match` names a stale version; `detail` gives the current one \
        (`version_mismatch`)";
    /// 413.
    PayloadTooLarge => "The body exceeds 64 KiB, or 256 KiB for permission checks (`payload_too_large`)";
    /// 415.
    UnsupportedMediaType => "The body is not sent as `application/json` (`unsupported_media_type`)";
    /// 422.
    UnprocessableEntity => "Invalid fields, listed in `errors` (`validation_failed`): unknown fields, \
        wrong types, missing or out-of-range values";
    /// 429.
    TooManyRequests => "Too many failed attempts; retry after `Retry-After` seconds (`rate_limited`)",
        header "Retry-After": "Seconds to wait before trying again";
    /// 500.
    InternalError => "An unexpected error; quote `request_id` when reporting it (`internal`)";
    /// 503.
    ServiceUnavailable => "The database does not answer (`unavailable`)";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn link_bodies_are_json_objects_and_every_link_is_in_the_document() {
        for spec in LINKS {
            if let Some(body) = spec.body {
                let body: serde_json::Value = serde_json::from_str(body).unwrap();
                assert!(body.is_object(), "{}", spec.name);
            }
        }
        let doc = serde_json::to_value(crate::openapi()).unwrap();
        let count = doc["paths"]
            .as_object()
            .unwrap()
            .values()
            .flat_map(|item| item.as_object().unwrap().values())
            .flat_map(|op| op["responses"].as_object().unwrap().values())
            .filter_map(|response| response["links"].as_object())
            .map(serde_json::Map::len)
            .sum::<usize>();
        assert_eq!(count, LINKS.len());
    }
}
