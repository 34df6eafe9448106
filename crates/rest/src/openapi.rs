//! The OpenAPI document: operations come from the handlers' `#[utoipa::path]`
//! attributes (registered with their routes in [`crate::router`]); this module adds the
//! parts they share: the bearer scheme, the problem responses and the version header.

use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as OpenApiDoc, Ref, RefOr, Required};
use utoipa::{Modify, OpenApi, ToResponse};

use crate::problem::{FieldError, PROBLEM_JSON, Problem};

/// The skeleton the routes are added to.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Roster",
        description = "Multi-tenant user management: organizations, users and API keys.\n\n\
            Every `/v1` operation takes `Authorization: Bearer <key>`. Errors are RFC 9457 \
            `application/problem+json` bodies with a stable `code`. Single resources carry their \
            version as `ETag`; send it back in `If-Match` to update or delete only that version.",
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
            PreconditionFailed,
            PayloadTooLarge,
            UnsupportedMediaType,
            UnprocessableEntity,
            InternalError,
            ServiceUnavailable,
        )
    ),
    tags(
        (name = "organizations", description = "Tenants"),
        (name = "users", description = "Users of one organization"),
        (name = "api-keys", description = "Service keys of one organization"),
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
                    .description(Some("An API key: `rst_` followed by 43 characters"))
                    .build(),
            ),
        );
    }
}

/// The document before the routes are added.
pub(crate) fn base() -> OpenApiDoc {
    ApiDoc::openapi()
}

/// Completes the document once the routes are in: every operation documents the optional
/// `Roster-Version` request header.
pub(crate) fn finish(mut doc: OpenApiDoc) -> OpenApiDoc {
    doc.info.version = "1".to_owned();
    for item in doc.paths.paths.values_mut() {
        let operations =
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch, &mut item.head];
        for operation in operations.into_iter().flatten() {
            operation.parameters.get_or_insert_with(Vec::new).push(version_parameter());
        }
    }
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
    Unauthorized => "Missing, unknown, expired or revoked API key (`unauthenticated`)",
        header "WWW-Authenticate": "`Bearer realm=\"roster\"`";
    /// 403.
    Forbidden => "The key may not do this (`forbidden`)";
    /// 404.
    NotFound => "No such resource, or outside the caller's reach (`not_found`)";
    /// 409.
    Conflict => "Conflicts with the current state: `email_taken`, `username_taken`, `slug_taken`, \
        `seat_limit_reached`";
    /// 412.
    PreconditionFailed => "`If-Match` names a stale version; `detail` gives the current one \
        (`version_mismatch`)";
    /// 413.
    PayloadTooLarge => "The body exceeds 64 KiB (`payload_too_large`)";
    /// 415.
    UnsupportedMediaType => "The body is not sent as `application/json` (`unsupported_media_type`)";
    /// 422.
    UnprocessableEntity => "Invalid fields, listed in `errors` (`validation_failed`): unknown fields, \
        wrong types, missing or out-of-range values";
    /// 500.
    InternalError => "An unexpected error; quote `request_id` when reporting it (`internal`)";
    /// 503.
    ServiceUnavailable => "The database does not answer (`unavailable`)";
}
