//! Keyset pagination: page sizes and opaque cursors.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::validation::FieldProblem;

/// How many items a page holds: 1 to 200, default 50.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PageSize(u32);

impl PageSize {
    /// The default size.
    pub const DEFAULT: Self = Self(50);
    /// The largest size.
    pub const MAX: u32 = 200;

    /// Validates a requested size.
    ///
    /// # Errors
    /// [`PageSizeError`] outside 1..=200.
    pub fn new(n: i64) -> Result<Self, PageSizeError> {
        u32::try_from(n).ok().filter(|n| (1..=Self::MAX).contains(n)).map(Self).ok_or(PageSizeError)
    }

    /// The size.
    pub fn get(self) -> u32 {
        self.0
    }
}

impl Default for PageSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A page size outside 1..=200.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("limit must be between 1 and 200")]
pub struct PageSizeError;

impl FieldProblem for PageSizeError {
    fn code(&self) -> &'static str {
        "out_of_range"
    }
}

/// A cursor that was not issued by this server for this list and order.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("cursor is invalid or belongs to another list or sort order")]
pub struct CursorError;

impl FieldProblem for CursorError {
    fn code(&self) -> &'static str {
        "invalid"
    }
}

/// An opaque position in a list: base64url of `scope|key|id`. The scope names the list
/// and its order, so a cursor cannot be replayed against another.
#[derive(Clone, PartialEq, Eq)]
pub struct Cursor(String);

impl Cursor {
    /// Encodes a position.
    pub fn encode(scope: &str, key: &str, id: &uuid::Uuid) -> Self {
        Self(URL_SAFE_NO_PAD.encode(format!("{scope}|{id}|{key}")))
    }

    /// Decodes a cursor issued for `scope` into its key and id.
    ///
    /// # Errors
    /// [`CursorError`] when malformed or issued for another scope.
    pub fn decode(raw: &str, scope: &str) -> Result<(String, uuid::Uuid), CursorError> {
        let bytes = URL_SAFE_NO_PAD.decode(raw).map_err(|_| CursorError)?;
        let text = String::from_utf8(bytes).map_err(|_| CursorError)?;
        let rest = text.strip_prefix(scope).and_then(|r| r.strip_prefix('|')).ok_or(CursorError)?;
        let (id, key) = rest.split_once('|').ok_or(CursorError)?;
        let id = uuid::Uuid::parse_str(id).map_err(|_| CursorError)?;
        Ok((key.to_owned(), id))
    }

    /// The wire form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cursor({})", self.0)
    }
}

impl fmt::Display for Cursor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// One page of a list and where the next one starts.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Page<T> {
    /// The items, in the requested order.
    pub items: Vec<T>,
    /// Where the next page starts; `None` on the last page.
    pub next_cursor: Option<Cursor>,
}

impl<T> Page<T> {
    /// Builds a page from `size + 1` fetched rows: the extra row only signals that a next
    /// page exists.
    pub fn from_rows(mut rows: Vec<T>, size: PageSize, cursor_of: impl Fn(&T) -> Cursor) -> Self {
        let has_more = rows.len() > size.get() as usize;
        rows.truncate(size.get() as usize);
        let next_cursor = if has_more { rows.last().map(cursor_of) } else { None };
        Self { items: rows, next_cursor }
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn page_sizes_are_bounded() {
        assert_eq!(PageSize::new(1).unwrap().get(), 1);
        assert_eq!(PageSize::new(200).unwrap().get(), 200);
        assert!(PageSize::new(0).is_err());
        assert!(PageSize::new(201).is_err());
        assert!(PageSize::new(-5).is_err());
    }

    #[test]
    fn cursors_are_bound_to_their_scope() {
        let id = uuid::Uuid::now_v7();
        let c = Cursor::encode("users:email", "a|b@example.com", &id);
        assert_eq!(Cursor::decode(c.as_str(), "users:email"), Ok(("a|b@example.com".to_owned(), id)));
        assert_eq!(Cursor::decode(c.as_str(), "users:name"), Err(CursorError));
        assert_eq!(Cursor::decode("%%%", "users:email"), Err(CursorError));
    }

    #[test]
    fn a_page_knows_whether_more_follow() {
        let size = PageSize::new(2).unwrap();
        let full = Page::from_rows(vec![1, 2, 3], size, |n| Cursor(n.to_string()));
        assert_eq!(full.items, vec![1, 2]);
        assert_eq!(full.next_cursor.unwrap().as_str(), "2");
        let last = Page::from_rows(vec![1, 2], size, |n| Cursor(n.to_string()));
        assert!(last.next_cursor.is_none());
    }

    proptest! {
        #[test]
        fn cursors_round_trip(key in "\\PC{0,50}", scope in "[a-z:_-]{1,20}") {
            let id = uuid::Uuid::now_v7();
            let c = Cursor::encode(&scope, &key, &id);
            prop_assert_eq!(Cursor::decode(c.as_str(), &scope), Ok((key, id)));
        }
    }
}
