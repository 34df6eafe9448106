//! The wire types: JSON bodies and query strings, with their OpenAPI schemas. Domain
//! types are not serde types; requests become domain inputs and results become
//! responses through `From` / `TryFrom` here, at the edge.
//!
//! Every request type denies unknown fields. In PATCH bodies an absent field means
//! "unchanged" and `null` clears a nullable field; `null` on a field that cannot be
//! empty is a `validation_failed` error.

pub mod api_keys;
pub mod organizations;
pub mod users;

use roster_domain::page::{Page, PageSize};
use roster_domain::validation::{ValidationErrors, Validator};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::{IntoParams, ToSchema};

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
    #[param(minimum = 1, maximum = 200, default = 50)]
    pub limit: Option<i64>,
    /// The `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

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
