//! The domain's value rules, written into the OpenAPI document so that it accepts exactly
//! the inputs the domain accepts.
//!
//! The derived schemas give each field its type, nullability and description; the
//! tables next to the request types ([`super::organizations::FIELD_RULES`], …) name the
//! rule of each field, and [`apply`] writes it in. The domain stays the source of truth:
//! the limits come from its constants, and the tests check every pattern against the
//! domain's parser.
//!
//! The domain trims free text and handles (Unicode `White_Space`, as `str::trim` does)
//! before checking them, so most patterns allow that padding around the value; their
//! lengths count the trimmed value, so they live in the patterns as counted repetitions
//! rather than in `minLength` / `maxLength`, which would count the padding. Email
//! addresses, domain names and locales bound their total length across parts, which a
//! pattern could only do with a look-ahead that generators handle badly: those patterns
//! describe the trimmed value and take a `maxLength` (so padded values, which the domain
//! also accepts, are outside the schema).

use roster_domain::organization_input::{MAX_INVITATION_TTL_SECONDS, MAX_SEAT_LIMIT};
use roster_domain::page::PageSize;
use roster_domain::values::{Email, HttpUrl, Locale, Metadata, PasswordPolicy, Tag, Tags, Username};
use utoipa::openapi::schema::{
    AdditionalProperties, AllOfBuilder, AnyOfBuilder, ArrayItems, Object, ObjectBuilder, Schema, SchemaType, Type,
};
use utoipa::openapi::{OpenApi, RefOr};

/// The characters `str::trim` strips (Unicode `White_Space`), as a character-class body.
pub(crate) const WS: &str = r"\t\n\x0B\x0C\r \x85\xA0\u1680\u2000-\u200A\u2028\u2029\u202F\u205F\u3000";
/// The control characters (`char::is_control`, category Cc), as a character-class body.
pub(crate) const CTRL: &str = r"\x00-\x1F\x7F-\x9F";

/// The shortest slug ([`roster_domain::values::Slug`]).
const SLUG_MIN: usize = 2;
/// The longest slug.
const SLUG_MAX: usize = 63;
/// The shortest username ([`Username`]).
const USERNAME_MIN: usize = 2;
/// The longest local part of an email, in bytes ([`Email`]).
const EMAIL_LOCAL_MAX: usize = 64;
/// The longest label of a domain name ([`roster_domain::values::DomainName`]).
const DOMAIN_LABEL_MAX: usize = 63;
/// The longest subtag of a locale ([`Locale`]).
const LOCALE_SUBTAG_MAX: usize = 8;
/// The longest metadata key ([`Metadata`]).
const METADATA_KEY_MAX: usize = 40;
/// The longest metadata value.
const METADATA_VALUE_MAX: usize = 500;
/// The shortest invitation lifetime, in seconds.
const MIN_INVITATION_TTL_SECONDS: i64 = 60;
/// The longest part (resource or action) of a permission
/// ([`roster_domain::permission::Permission`]).
const PERMISSION_PART_MAX: usize = 63;
/// The longest role key ([`roster_domain::role::RoleKey`]).
const ROLE_KEY_MAX: usize = 64;
/// The most permissions a role or a key's scope carries.
pub(crate) const MAX_PERMISSIONS: usize = 500;

/// A field's rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rule {
    /// An organization's slug ([`roster_domain::values::Slug`]).
    Slug,
    /// Free text of 1 to this many characters, trimmed, without control characters
    /// (`OrgName`, `DisplayName`, `NamePart`, `Location`, `Description`, `KeyName`, `q`).
    Text(usize),
    /// A username ([`Username`]).
    Username,
    /// An email address ([`Email`]), restricted to ASCII.
    Email,
    /// An internet domain name ([`roster_domain::values::DomainName`]).
    DomainName,
    /// An absolute http(s) URL ([`HttpUrl`]).
    HttpUrl,
    /// A language tag ([`Locale`]).
    Locale,
    /// A list of tags ([`Tags`]).
    Tags,
    /// A tag ([`Tag`]), as a query parameter.
    Tag,
    /// Metadata ([`Metadata`]).
    Metadata,
    /// A password: the policy's minimum to [`PasswordPolicy::MAX_CHARS`] characters, as sent.
    Password,
    /// A seat limit.
    SeatLimit,
    /// An invitation lifetime in seconds.
    InvitationTtl,
    /// A page size.
    PageSize,
    /// A page cursor: only values the server issued are valid; all are base64url.
    Cursor,
    /// A permission, `resource.action` ([`roster_domain::permission::Permission`]).
    Permission,
    /// A list of permissions (a role's, a key's scope).
    Permissions,
    /// A role key ([`roster_domain::role::RoleKey`]).
    RoleKey,
    /// Free text of at most `max` characters, trimmed, without control characters but
    /// inner line feeds; empty only when not `required` (role names and descriptions).
    Lines {
        /// The most characters of the trimmed text.
        max: usize,
        /// Whether the trimmed text must not be empty.
        required: bool,
    },
    /// 1 to this many characters, none of them a control character, as sent (filters).
    Printable(usize),
}

/// A rule of several fields of one body.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Joint {
    /// At least one of these string fields is present and not `null`.
    AnyOf(&'static [&'static str]),
    /// Not both fields present and not `null`.
    NotBoth(&'static str, &'static str),
    /// The string field is absent or `null` when the boolean field is `true`.
    NotWithTrue(&'static str, &'static str),
}

/// `inner`, padded with any trimmed white space.
fn trimmed(inner: &str) -> String {
    format!("^[{WS}]*{inner}[{WS}]*$")
}

/// The trimmed value of a pattern, and the most characters it may have when that is not
/// in the pattern (then the pattern is not padded and the length is a `maxLength`).
fn pattern_parts(rule: Rule) -> Option<(String, Option<usize>)> {
    let label = |max: Option<usize>| match max {
        Some(max) => format!("[A-Za-z0-9](?:[A-Za-z0-9-]{{0,{}}}[A-Za-z0-9])?", max - 2),
        None => "[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?".to_owned(),
    };
    let visible = format!("[^{WS}{CTRL}]");
    let parts = match rule {
        Rule::Slug => (format!("[a-z0-9][a-z0-9-]{{{},{}}}[a-z0-9]", SLUG_MIN - 2, SLUG_MAX - 2), None),
        Rule::Text(max) => (format!("{visible}(?:[^{CTRL}]{{0,{}}}{visible})?", max - 2), None),
        Rule::Username => (format!("[A-Za-z0-9._-]{{{USERNAME_MIN},{}}}", Username::MAX_CHARS), None),
        // Printable ASCII but `"`, `<`, `>` and `@`; labels of letters, digits and inner hyphens.
        Rule::Email => {
            let domain = label(None);
            (format!("[!#-;=?A-~]{{1,{EMAIL_LOCAL_MAX}}}@{domain}(?:\\.{domain})+"), Some(Email::MAX_CHARS))
        }
        Rule::DomainName => {
            let label = label(Some(DOMAIN_LABEL_MAX));
            (format!("{label}(?:\\.{label})+"), Some(roster_domain::values::DomainName::MAX_CHARS))
        }
        Rule::HttpUrl => {
            let first = format!("[^{WS}{CTRL}/]");
            let rest = format!("[^{WS}{CTRL}]");
            let tail = |scheme: &str| HttpUrl::MAX_CHARS - scheme.len() - 1;
            (
                format!(
                    "(?:http://{first}{rest}{{0,{}}}|https://{first}{rest}{{0,{}}})",
                    tail("http://"),
                    tail("https://")
                ),
                None,
            )
        }
        Rule::Locale => {
            let subtag = format!("[A-Za-z0-9]{{1,{LOCALE_SUBTAG_MAX}}}");
            (format!("{subtag}(?:-{subtag})*"), Some(Locale::MAX_CHARS))
        }
        // Tags are lowercased before the check: KELVIN SIGN becomes `k`.
        Rule::Tag | Rule::Tags => (format!("[A-Za-z0-9_:.\\u212A-]{{1,{}}}", Tag::MAX_CHARS), None),
        Rule::Permission | Rule::Permissions => {
            let part = format!("[a-z][a-z0-9_]{{0,{}}}", PERMISSION_PART_MAX - 1);
            (format!("{part}\\.{part}"), None)
        }
        Rule::RoleKey => (format!("[a-z0-9_-]{{1,{ROLE_KEY_MAX}}}"), None),
        Rule::Lines { max, required } => {
            // Control characters but the line feed.
            let inner = r"[^\x00-\x09\x0B-\x1F\x7F-\x9F]";
            let text = format!("{visible}(?:{inner}{{0,{}}}{visible})?", max - 2);
            (if required { text } else { format!("(?:{text})?") }, None)
        }
        _ => return None,
    };
    Some(parts)
}

/// The pattern and `maxLength` of a string rule.
pub(crate) fn pattern(rule: Rule) -> Option<(String, Option<usize>)> {
    if let Rule::Printable(max) = rule {
        return Some((format!("^[^{CTRL}]{{1,{max}}}$"), None));
    }
    pattern_parts(rule).map(|(inner, max)| match max {
        Some(max) => (format!("^{inner}$"), Some(max)),
        None => (trimmed(&inner), None),
    })
}

/// The pattern of metadata keys.
pub(crate) fn metadata_key_pattern() -> String {
    format!("^[A-Za-z0-9_.-]{{1,{METADATA_KEY_MAX}}}$")
}

/// The schema type of `object`, with or without `null`.
fn with_null(types: &SchemaType, base: Type) -> SchemaType {
    match types {
        SchemaType::Array(types) if types.contains(&Type::Null) => SchemaType::from_iter([base, Type::Null]),
        _ => SchemaType::Type(base),
    }
}

fn set_range(object: &mut Object, min: i64, max: i64) {
    object.minimum = Some(min.into());
    object.maximum = Some(max.into());
}

/// Writes `rule` into `schema`. `false` when the schema has an unexpected shape.
fn apply_rule(rule: Rule, schema: &mut Schema, password_min: usize) -> bool {
    match (rule, schema) {
        (Rule::Tags | Rule::Permissions, Schema::Array(array)) => {
            let ArrayItems::RefOrSchema(items) = &mut array.items else { return false };
            let RefOr::T(Schema::Object(item)) = items.as_mut() else { return false };
            let (item_rule, max_items) =
                if rule == Rule::Tags { (Rule::Tag, Tags::MAX) } else { (Rule::Permission, MAX_PERMISSIONS) };
            let Some((pattern, max)) = pattern(item_rule) else { return false };
            (item.pattern, item.min_length, item.max_length) = (Some(pattern), None, max);
            array.max_items = Some(max_items);
            true
        }
        (Rule::Metadata, Schema::Object(object)) => {
            object.schema_type = with_null(&object.schema_type, Type::Object);
            let key = ObjectBuilder::new().schema_type(Type::String).pattern(Some(metadata_key_pattern()));
            object.property_names = Some(Box::new(Schema::Object(key.build())));
            let value = ObjectBuilder::new().schema_type(Type::String).max_length(Some(METADATA_VALUE_MAX)).build();
            object.additional_properties = Some(Box::new(AdditionalProperties::RefOr(RefOr::T(Schema::Object(value)))));
            object.max_properties = Some(Metadata::MAX_KEYS);
            true
        }
        (Rule::Password, Schema::Object(object)) => {
            object.pattern = None;
            (object.min_length, object.max_length) = (Some(password_min), Some(PasswordPolicy::MAX_CHARS));
            true
        }
        (Rule::SeatLimit, Schema::Object(object)) => {
            set_range(object, 0, MAX_SEAT_LIMIT);
            true
        }
        (Rule::InvitationTtl, Schema::Object(object)) => {
            set_range(object, MIN_INVITATION_TTL_SECONDS, MAX_INVITATION_TTL_SECONDS);
            true
        }
        (Rule::PageSize, Schema::Object(object)) => {
            set_range(object, 1, i64::from(PageSize::MAX));
            true
        }
        (Rule::Cursor, Schema::Object(object)) => {
            object.pattern = Some("^[A-Za-z0-9_-]+$".to_owned());
            true
        }
        (rule, Schema::Object(object)) => {
            let Some((pattern, max)) = pattern(rule) else { return false };
            (object.pattern, object.min_length, object.max_length, object.format) = (Some(pattern), None, max, None);
            true
        }
        _ => false,
    }
}

/// The schema of property `property` of component `schema`.
fn property<'a>(doc: &'a mut OpenApi, schema: &str, property: &str) -> Option<&'a mut Schema> {
    let components = doc.components.as_mut()?;
    let RefOr::T(Schema::Object(object)) = components.schemas.get_mut(schema)? else { return None };
    match object.properties.get_mut(property)? {
        RefOr::T(schema) => Some(schema),
        RefOr::Ref(_) => None,
    }
}

/// The schema of parameter `name` of the operation `operation_id`.
fn parameter<'a>(doc: &'a mut OpenApi, operation_id: &str, name: &str) -> Option<&'a mut Schema> {
    let operation = doc
        .paths
        .paths
        .values_mut()
        .flat_map(|item| {
            [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch].into_iter().flatten()
        })
        .find(|op| op.operation_id.as_deref() == Some(operation_id))?;
    let parameter = operation.parameters.as_mut()?.iter_mut().find(|p| p.name == name)?;
    match parameter.schema.as_mut()? {
        RefOr::T(schema) => Some(schema),
        RefOr::Ref(_) => None,
    }
}

/// A schema matching objects whose string field `name` is present (not `null`).
fn present(name: &str) -> Schema {
    let string = ObjectBuilder::new().schema_type(Type::String);
    Schema::Object(ObjectBuilder::new().property(name, string).required(name).build())
}

/// A schema matching objects whose field `name` is absent or `null`.
fn absent(name: &str) -> Schema {
    Schema::Object(ObjectBuilder::new().property(name, ObjectBuilder::new().schema_type(Type::Null)).build())
}

fn joint_schema(joint: Joint) -> Schema {
    let options: Vec<Schema> = match joint {
        Joint::AnyOf(fields) => fields.iter().map(|f| present(f)).collect(),
        Joint::NotBoth(a, b) => vec![absent(a), absent(b)],
        Joint::NotWithTrue(string, flag) => {
            let not_true = ObjectBuilder::new()
                .schema_type(SchemaType::from_iter([Type::Boolean, Type::Null]))
                .enum_values(Some([serde_json::Value::Bool(false), serde_json::Value::Null]));
            vec![absent(string), Schema::Object(ObjectBuilder::new().property(flag, not_true).build())]
        }
    };
    Schema::AnyOf(options.into_iter().fold(AnyOfBuilder::new(), AnyOfBuilder::item).build())
}

/// Field rules of component schemas: `(schema, property, rule)`.
pub(crate) type FieldRules = &'static [(&'static str, &'static str, Rule)];
/// Parameter rules: `(operation id, parameter, rule)`.
pub(crate) type ParamRules = &'static [(&'static str, &'static str, Rule)];
/// Rules across fields of component schemas: `(schema, rule)`.
pub(crate) type JointRules = &'static [(&'static str, Joint)];

/// Writes every rule into the document; returns the targets it did not find (a test
/// keeps that list empty).
pub(crate) fn apply(doc: &mut OpenApi, password_min: usize) -> Vec<String> {
    let mut missed = Vec::new();
    let fields = [
        super::organizations::FIELD_RULES,
        super::users::FIELD_RULES,
        super::api_keys::FIELD_RULES,
        super::auth::FIELD_RULES,
        super::roles::FIELD_RULES,
        super::grants::FIELD_RULES,
        super::invitations::FIELD_RULES,
    ];
    for &(schema, prop, rule) in fields.into_iter().flatten() {
        if !property(doc, schema, prop).is_some_and(|s| apply_rule(rule, s, password_min)) {
            missed.push(format!("{schema}.{prop}"));
        }
    }
    let params =
        [super::PARAM_RULES, super::users::PARAM_RULES, super::audit::PARAM_RULES, super::invitations::PARAM_RULES];
    for &(operation, name, rule) in params.into_iter().flatten() {
        if !parameter(doc, operation, name).is_some_and(|s| apply_rule(rule, s, password_min)) {
            missed.push(format!("{operation}({name})"));
        }
    }
    for &(name, joint) in super::users::JOINT_RULES {
        let Some(RefOr::T(schema)) = doc.components.as_mut().and_then(|c| c.schemas.get_mut(name)) else {
            missed.push(name.to_owned());
            continue;
        };
        *schema = match std::mem::take(schema) {
            Schema::AllOf(mut all) => {
                all.items.push(RefOr::T(joint_schema(joint)));
                Schema::AllOf(all)
            }
            other => Schema::AllOf(AllOfBuilder::new().item(other).item(joint_schema(joint)).build()),
        };
    }
    missed
}

#[cfg(test)]
mod tests {
    use std::sync::LazyLock;

    use proptest::prelude::*;
    use regex::Regex;
    use roster_domain::permission::Permission;
    use roster_domain::role::RoleKey;
    use roster_domain::user_input::ListUsersInput;
    use roster_domain::values::{
        Description, DisplayName, DomainName, KeyName, Location, NamePart, OrgName, Slug, TextError,
    };

    use super::*;
    use crate::dto::roles::{DESCRIPTION_MAX, NAME_MAX};

    /// The domain's verdict on values it checks only inside a use case: the use case runs
    /// as a platform key against storage that fails every call, so a validation error
    /// naming the field means "rejected" and anything else (the storage failure, reached
    /// only after validation) "accepted".
    mod oracle {
        use std::pin::pin;
        use std::sync::{Arc, LazyLock};
        use std::task::{Context, Poll, Waker};

        use roster_domain::Error;
        use roster_domain::auth::{Identity, Principal, PrincipalKind};
        use roster_domain::error::StoreError;
        use roster_domain::ids::OrgId;
        use roster_domain::mocks::{MockPasswordHasher, MockStorage};
        use roster_domain::permission::PermissionSet;
        use roster_domain::service::{CreateRoleInput, ListAuditInput, Roster, Settings};

        struct Oracle {
            roster: Roster,
            platform: Principal,
        }

        static ORACLE: LazyLock<Oracle> = LazyLock::new(|| {
            let fail = || StoreError::other(std::io::Error::other("storage is not reached by valid input"));
            let mut storage = MockStorage::new();
            storage.expect_begin().returning(move || Err(fail()));
            storage.expect_list_audit_events().returning(move |_, _| Err(fail()));
            let roster = Roster::new(Arc::new(storage), Arc::new(MockPasswordHasher::new()), Settings::default());
            let platform = Principal::new(Identity {
                kind: PrincipalKind::PlatformKey,
                credential_id: uuid::Uuid::nil(),
                org_id: None,
                partner: false,
                user_id: None,
                roles: Vec::new(),
                owner: true,
                permissions: PermissionSet::all(),
            });
            Oracle { roster, platform }
        });

        /// Runs a use case whose storage answers at once (mocks never wait).
        fn now<T>(future: impl Future<Output = Result<T, Error>>) -> Result<T, Error> {
            match pin!(future).poll(&mut Context::from_waker(Waker::noop())) {
                Poll::Ready(result) => result,
                Poll::Pending => panic!("a mocked use case waited"),
            }
        }

        fn accepted<T>(field: &str, result: Result<T, Error>) -> bool {
            match result {
                Err(Error::Validation(e)) => !e.fields().iter().any(|f| f.field == field),
                Err(Error::Internal(_)) => true,
                other => panic!("unexpected outcome: {:?}", other.err()),
            }
        }

        /// Whether creating a role accepts `value` as its `field` (`name` or `description`).
        pub(super) fn role_accepts(field: &str, value: &str) -> bool {
            let mut input = CreateRoleInput {
                key: Some("k".to_owned()),
                name: Some("n".to_owned()),
                description: None,
                permissions: Some(Vec::new()),
            };
            match field {
                "name" => input.name = Some(value.to_owned()),
                _ => input.description = Some(value.to_owned()),
            }
            let o = &*ORACLE;
            accepted(field, now(o.roster.create_role(&o.platform, OrgId::from_uuid(uuid::Uuid::nil()), input)))
        }

        /// Whether listing audit events accepts `value` as the `actor` filter.
        pub(super) fn audit_filter_accepts(value: &str) -> bool {
            let input = ListAuditInput { actor: Some(value.to_owned()), ..Default::default() };
            let o = &*ORACLE;
            accepted("actor", now(o.roster.list_audit_events(&o.platform, OrgId::from_uuid(uuid::Uuid::nil()), input)))
        }
    }

    /// A matcher for a rule's pattern and `maxLength`.
    struct Matcher {
        pattern: Regex,
        max_length: Option<usize>,
    }

    impl Matcher {
        fn new(rule: Rule) -> Self {
            let (pattern, max_length) = pattern(rule).unwrap();
            Self { pattern: Regex::new(&pattern).unwrap(), max_length }
        }

        fn matches(&self, s: &str) -> bool {
            self.pattern.is_match(s) && self.max_length.is_none_or(|max| s.chars().count() <= max)
        }

        /// Whether the schema agrees with the domain's verdict on `s`: exactly, except that
        /// unpadded patterns leave out padded values.
        fn agrees(&self, s: &str, accepted: bool) -> bool {
            let matched = self.matches(s);
            if self.max_length.is_some() && s.trim() != s { !matched } else { matched == accepted }
        }
    }

    type Parse = fn(&str) -> bool;

    /// Every string rule with the domain's parser and the rule's matcher, built once: the
    /// URL pattern takes a while to compile.
    fn string_rules() -> &'static [(Rule, Parse, Matcher)] {
        static RULES: LazyLock<Vec<(Rule, Parse, Matcher)>> = LazyLock::new(|| {
            let rules: [(Rule, Parse); 17] = [
                (Rule::Slug, |s| Slug::parse(s).is_ok()),
                (Rule::Username, |s| Username::parse(s).is_ok()),
                (Rule::DomainName, |s| DomainName::parse_normalized(s).is_ok()),
                (Rule::HttpUrl, |s| HttpUrl::parse(s).is_ok()),
                (Rule::Locale, |s| Locale::parse(s).is_ok()),
                (Rule::Tag, |s| Tag::parse(s).is_ok()),
                (Rule::Text(OrgName::MAX_CHARS), |s| OrgName::parse(s).is_ok()),
                (Rule::Text(DisplayName::MAX_CHARS), |s| DisplayName::parse(s).is_ok()),
                (Rule::Text(NamePart::MAX_CHARS), |s| NamePart::parse(s).is_ok()),
                (Rule::Text(Location::MAX_CHARS), |s| Location::parse(s).is_ok()),
                (Rule::Text(Description::MAX_CHARS), |s| Description::parse(s).is_ok()),
                (Rule::Text(KeyName::MAX_CHARS), |s| KeyName::parse(s).is_ok()),
                (Rule::Text(100), |s| {
                    ListUsersInput { q: Some(s.to_owned()), ..Default::default() }.validate().is_ok()
                }),
                (Rule::Permission, |s| Permission::parse(s).is_ok()),
                (Rule::RoleKey, |s| RoleKey::parse(s).is_ok()),
                (Rule::Lines { max: NAME_MAX, required: true }, |s| oracle::role_accepts("name", s)),
                (Rule::Lines { max: DESCRIPTION_MAX, required: false }, |s| oracle::role_accepts("description", s)),
            ];
            rules.into_iter().map(|(rule, parse)| (rule, parse, Matcher::new(rule))).collect()
        });
        &RULES
    }

    /// Emails: the pattern accepts only ASCII addresses, all of which the domain accepts,
    /// and on ASCII it agrees with the domain.
    fn email_agrees(s: &str) -> bool {
        static EMAIL: LazyLock<Matcher> = LazyLock::new(|| Matcher::new(Rule::Email));
        let accepted = Email::parse(s).is_ok();
        if s.is_ascii() { EMAIL.agrees(s, accepted) } else { !EMAIL.matches(s) || accepted }
    }

    /// The rules that disagree with the domain on `s`.
    fn disagreements(s: &str) -> Vec<Rule> {
        let mut out: Vec<Rule> =
            string_rules().iter().filter(|(_, parse, m)| !m.agrees(s, parse(s))).map(|(rule, ..)| *rule).collect();
        if !email_agrees(s) {
            out.push(Rule::Email);
        }
        out
    }

    const EDGES: &[&str] = &[
        "",
        " ",
        "a",
        "ab",
        " ab ",
        "\tab\n",
        "\u{3000}ab\u{2029}",
        "a b",
        "a\u{0}b",
        "ab\u{7f}",
        "\u{85}ab",
        "\u{feff}ab",
        "-ab",
        "ab-",
        "a-b",
        "AB",
        "a.b",
        "a..b",
        ".ab",
        "a_b",
        "a:b",
        "\u{212a}",
        "\u{130}",
        "ü",
        "en",
        "pt-BR",
        "pt--BR",
        "abcdefghi",
        "x-abcdefgh",
        "acme.example",
        "ACME.example",
        "acme.example.",
        "-acme.example",
        "acme-.example",
        "a.b.c",
        "1.2",
        "http://x",
        "https://x",
        "http:///x",
        "http://",
        "https://x y",
        "HTTP://x",
        " https://acme.example/logo.png ",
        "https://L>(\u{1f600}",
        "ada@example.com",
        " Ada@Example.COM ",
        "ada@example",
        "ada@@example.com",
        "a@b@example.com",
        "a b@example.com",
        "<a>@example.com",
        "ada@-x.com",
        "ada@x-.com",
        "ada@x..com",
        "ada@exa_mple.com",
        "ü@example.com",
        "ada@exämple.com",
        "!#$%&'*+-/=?^_`{|}~@example.com",
    ];

    #[test]
    fn patterns_agree_with_the_domain_on_edge_cases() {
        let long = |n: usize, c: char| c.to_string().repeat(n);
        let mut cases: Vec<String> = EDGES.iter().map(|s| (*s).to_owned()).collect();
        for n in [1, 2, 8, 9, 34, 35, 36, 40, 61, 62, 63, 64, 65, 99, 100, 101, 199, 200, 201, 1999, 2000, 2001] {
            cases.push(long(n, 'a'));
            cases.push(format!(" {} ", long(n, 'b')));
            cases.push(format!("{}.com", long(n, 'c')));
            cases.push(format!("{}@example.com", long(n, 'd')));
            cases.push(format!("x@{}.example", long(n, 'e')));
            cases.push(format!("https://{}", long(n, 'f')));
            cases.push(format!("http://{}", long(n, 'f')));
            cases.push(format!("a{}b", long(n, ' ')));
            cases.push(format!("{}-x", long(n, 'g')));
            cases.push(long(n, 'é'));
        }
        for n in [2030, 2039, 2040, 2041, 2042] {
            cases.push(format!("https://{}", long(n, 'f')));
            cases.push(format!("http://{}", long(n, 'f')));
        }
        for n in [60, 61, 62, 63, 64] {
            let label = long(n, 'h');
            cases.push([label.as_str(); 4].join("."));
            cases.push(format!("{label}.{label}.{label}.{}", long(253 - 3 * (n + 1), 'i')));
            cases.push(format!("{label}.{label}.{label}.{}", long(254 - 3 * (n + 1), 'i')));
            cases.push(format!("{}@{}.{}", long(64, 'j'), long(n, 'k'), long(254 - 66 - n, 'l')));
            cases.push(format!("{}@{}.{}", long(64, 'j'), long(n, 'k'), long(255 - 66 - n, 'l')));
        }
        let mut accepted = 0;
        for s in &cases {
            assert_eq!(disagreements(s), [], "{s:?}");
            accepted += usize::from(string_rules().iter().any(|(_, parse, _)| parse(s)));
        }
        assert!(accepted > cases.len() / 3, "the cases exercise acceptance too: {accepted} of {}", cases.len());
    }

    #[test]
    fn the_role_text_oracle_tells_accepted_from_rejected() {
        assert!(oracle::role_accepts("name", " Billing\nadmin "));
        assert!(!oracle::role_accepts("name", " "));
        assert!(!oracle::role_accepts("name", "a\tb"));
        assert!(oracle::role_accepts("name", &"n".repeat(NAME_MAX)));
        assert!(!oracle::role_accepts("name", &"n".repeat(NAME_MAX + 1)));
        assert!(oracle::role_accepts("description", ""));
        assert!(!oracle::role_accepts("description", &"d".repeat(DESCRIPTION_MAX + 1)));
    }

    /// Audit filters are bounded in bytes, which a pattern cannot count: on ASCII the
    /// pattern is exact, and whatever it refuses the domain refuses too.
    #[test]
    fn audit_filter_patterns_refuse_only_what_the_domain_refuses() {
        let matcher = Matcher::new(Rule::Printable(200));
        let mut cases: Vec<String> = EDGES.iter().map(|s| (*s).to_owned()).collect();
        for n in [1, 199, 200, 201] {
            cases.extend(["a", "é", " ", "\u{7f}"].map(|c| c.repeat(n)));
        }
        for s in &cases {
            let accepted = oracle::audit_filter_accepts(s);
            if s.is_ascii() {
                assert_eq!(matcher.matches(s), accepted, "{s:?}");
            } else if !matcher.matches(s) {
                assert!(!accepted, "{s:?}");
            }
        }
    }

    #[test]
    fn tag_characters_agree_with_the_domain() {
        let matcher = Matcher::new(Rule::Tag);
        for c in (0..=0x10_FFFF).filter_map(char::from_u32) {
            let s = c.to_string();
            assert_eq!(matcher.matches(&s), Tag::parse(&s).is_ok(), "{c:?}");
        }
    }

    #[test]
    fn text_patterns_agree_on_every_character() {
        let matcher = Matcher::new(Rule::Text(DisplayName::MAX_CHARS));
        for c in (0..=0x10_FFFF).filter_map(char::from_u32) {
            for s in [c.to_string(), format!("a{c}"), format!("a{c}b")] {
                let domain = DisplayName::parse(&s);
                assert!(matcher.agrees(&s, domain.is_ok()), "{s:?}: {domain:?}");
            }
        }
        assert_eq!(DisplayName::parse(" "), Err(TextError::Empty));
    }

    #[test]
    fn metadata_keys_agree_with_the_domain() {
        let key = Regex::new(&metadata_key_pattern()).unwrap();
        let parse = |k: &str| Metadata::parse([(k.to_owned(), String::new())].into()).is_ok();
        for k in ["a", "A.b-c_d", "", " a", "a b", "ü", &"k".repeat(40), &"k".repeat(41)] {
            assert_eq!(key.is_match(k), parse(k), "{k:?}");
        }
        let value = |n: usize| Metadata::parse([("k".to_owned(), "\u{0}".repeat(n))].into()).is_ok();
        assert!(value(METADATA_VALUE_MAX) && !value(METADATA_VALUE_MAX + 1));
    }

    #[test]
    fn numeric_limits_are_the_domain_ones() {
        use roster_domain::organization_input::{CreateOrganizationInput, UpdateOrganizationInput};
        let create = |seat_limit, ttl| {
            CreateOrganizationInput {
                slug: Some("acme".into()),
                name: Some("Acme".into()),
                seat_limit: Some(seat_limit),
                invitation_ttl_seconds: Some(ttl),
                ..Default::default()
            }
            .validate()
            .is_ok()
        };
        assert!(create(0, MIN_INVITATION_TTL_SECONDS) && create(MAX_SEAT_LIMIT, MAX_INVITATION_TTL_SECONDS));
        assert!(!create(-1, MIN_INVITATION_TTL_SECONDS) && !create(MAX_SEAT_LIMIT + 1, MIN_INVITATION_TTL_SECONDS));
        assert!(!create(0, MIN_INVITATION_TTL_SECONDS - 1) && !create(0, MAX_INVITATION_TTL_SECONDS + 1));
        let update = |ttl| {
            UpdateOrganizationInput { invitation_ttl_seconds: Some(ttl), ..Default::default() }.validate().is_ok()
        };
        assert!(update(MIN_INVITATION_TTL_SECONDS) && !update(MIN_INVITATION_TTL_SECONDS - 1));
        assert!(PageSize::new(1).is_ok() && PageSize::new(i64::from(PageSize::MAX)).is_ok());
        assert!(PageSize::new(0).is_err() && PageSize::new(i64::from(PageSize::MAX) + 1).is_err());
    }

    fn text_strategy() -> impl Strategy<Value = String> {
        prop_oneof![
            "[ \\t]{0,2}[a-zA-Z0-9.:_-]{0,12}[ \\t]{0,2}",
            "[ \\t]{0,2}[a-z0-9-]{1,6}(\\.[a-zA-Z0-9-]{0,6}){0,3}[ \\t]{0,2}",
            "(https?://)?[a-z/. ]{0,8}",
            "[a-zA-Z0-9!<>@\" .-]{0,8}@[a-zA-Z0-9.-]{0,10}",
            "\\PC{0,12}",
            "\\PC{0,3}[\\x00-\\x1f\\x7f-\\x9f]{0,2}\\PC{0,3}",
        ]
    }

    proptest! {
        #[test]
        fn patterns_agree_with_the_domain(s in text_strategy()) {
            prop_assert_eq!(disagreements(&s), [], "{:?}", s);
        }
    }
}
