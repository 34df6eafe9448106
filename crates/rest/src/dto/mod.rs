//! The wire types: JSON bodies and query strings, with their OpenAPI schemas. Domain
//! types are not serde types; requests become domain inputs and results become
//! responses through `From` / `TryFrom` here, at the edge.
//!
//! Every request type denies unknown fields. In PATCH bodies an absent field means
//! "unchanged" and `null` clears a nullable field; `null` on a field that cannot be
//! empty is a `validation_failed` error.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod grants;
pub mod invitations;
pub mod organizations;
pub mod roles;
pub(crate) mod rules;
pub mod sessions;
pub mod users;

use roster_domain::page::{Page, PageSize};
use roster_domain::validation::{ValidationErrors, Validator};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

use self::rules::Rule;

/// A single resource: `{"data": {...}}`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Data<T> {
    /// The resource.
    pub data: T,
}

/// A page of a list: `{"data": [...], "next_cursor": "..." | null}`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct List<T> {
    /// The items, in the requested order.
    pub data: Vec<T>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

impl<T, D: From<T>> From<Page<T>> for List<D> {
    fn from(page: Page<T>) -> Self {
        Self {
            data: page.items.into_iter().map(D::from).collect(),
            next_cursor: page.next_cursor.map(|c| c.as_str().to_owned()),
        }
    }
}

/// `limit` and `cursor` of a plain list.
#[derive(Clone, Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PageQuery {
    /// Page size.
    #[param(default = 50)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page; other values answer 422.
    pub cursor: Option<String>,
}

/// The rules of the plain list parameters (see [`rules`]).
pub(crate) const PARAM_RULES: rules::ParamRules = &[
    ("list_organizations", "limit", Rule::PageSize),
    ("list_organizations", "cursor", Rule::Cursor),
    ("list_api_keys", "limit", Rule::PageSize),
    ("list_api_keys", "cursor", Rule::Cursor),
    ("list_personal_api_keys", "limit", Rule::PageSize),
    ("list_personal_api_keys", "cursor", Rule::Cursor),
    ("list_sessions", "limit", Rule::PageSize),
    ("list_sessions", "cursor", Rule::Cursor),
];

impl PageQuery {
    /// The validated page size and the raw cursor (the use case checks it).
    ///
    /// # Errors
    /// [`ValidationErrors`] for a `limit` outside 1..=200.
    pub fn into_parts(self) -> Result<(PageSize, Option<String>), ValidationErrors> {
        let mut v = Validator::default();
        let limit = v.check_opt("limit", self.limit, PageSize::new);
        v.build(|| Some((limit?.unwrap_or_default(), self.cursor)))
    }
}

/// Deserialises a PATCH field so that absent (`None`, via `#[serde(default)]`) and
/// `null` (`Some(None)`) differ.
pub(crate) fn patch_field<'de, T, D>(de: D) -> Result<Option<Option<T>>, D::Error>
where
    T: Deserialize<'de>,
    D: Deserializer<'de>,
{
    Option::<T>::deserialize(de).map(Some)
}

/// A JSON number without a fractional part, as JSON Schema's `integer` (and so the
/// document) defines it: `60`, but also `60.0` and `6e1`, which serde's `i64` refuses.
struct Integer(i64);

impl<'de> Deserialize<'de> for Integer {
    fn deserialize<D: Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct Visitor;

        impl serde::de::Visitor<'_> for Visitor {
            type Value = Integer;

            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("an integer")
            }

            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Integer, E> {
                Ok(Integer(v))
            }

            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Integer, E> {
                i64::try_from(v).map(Integer).map_err(|_| E::invalid_value(serde::de::Unexpected::Unsigned(v), &self))
            }

            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Integer, E> {
                // Integral and within i64 (2^63 is the first float past i64::MAX).
                const LIMIT: f64 = 9_223_372_036_854_775_808.0;
                if v.fract() == 0.0 && (-LIMIT..LIMIT).contains(&v) {
                    Ok(Integer(v as i64))
                } else {
                    Err(E::invalid_type(serde::de::Unexpected::Float(v), &self))
                }
            }
        }

        de.deserialize_any(Visitor)
    }
}

/// An optional integer field (see [`Integer`]).
pub(crate) fn integer<'de, D: Deserializer<'de>>(de: D) -> Result<Option<i64>, D::Error> {
    Option::<Integer>::deserialize(de).map(|v| v.map(|Integer(n)| n))
}

/// A PATCH integer field (see [`Integer`] and [`patch_field`]).
pub(crate) fn patch_integer<'de, D: Deserializer<'de>>(de: D) -> Result<Option<Option<i64>>, D::Error> {
    integer(de).map(Some)
}

/// A PATCH field that may be absent but not `null`.
pub(crate) fn not_null<T>(v: &mut Validator, field: &str, value: Option<Option<T>>) -> Option<T> {
    match value {
        Some(None) => {
            v.push(field, "null", format!("{field} cannot be null"));
            None
        }
        Some(Some(value)) => Some(value),
        None => None,
    }
}
