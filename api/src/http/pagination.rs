//! Keyset pagination: `?after=<cursor>&limit=<1..1000>` and `{items, next}` answers. The cursor
//! is opaque to clients (base64url of the last key), so its form can change without breaking
//! them.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;

use super::problem::ApiError;

pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 1000;

/// One page of a list, as built; each list answers with its own named page type (below), so
/// that the document and the SDK show `CustomerPage` with `Customer` items rather than an
/// anonymous copy of the item schema.
#[derive(Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<String>,
}

/// Declares the named page type of one list.
macro_rules! named_page {
    ($name:ident, $item:ty) => {
        /// One page of a list. Pass `next` as `after` to read the following page; `null` means
        /// this is the last page.
        #[derive(Debug, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
        pub struct $name {
            pub items: Vec<$item>,
            pub next: Option<String>,
        }

        impl From<$crate::http::pagination::Page<$item>> for $name {
            fn from(page: $crate::http::pagination::Page<$item>) -> Self {
                $name {
                    items: page.items,
                    next: page.next,
                }
            }
        }
    };
}
pub(crate) use named_page;

impl<T> Page<T> {
    /// Builds the answer from a page of rows keyed by id.
    pub fn from_rows<R>(
        page: crate::db::Page<R>,
        key: impl Fn(&R) -> i64,
        convert: impl Fn(R) -> T,
    ) -> Page<T> {
        let next = if page.has_more {
            page.items.last().map(|row| encode_cursor(key(row)))
        } else {
            None
        };
        Page {
            items: page.items.into_iter().map(convert).collect(),
            next,
        }
    }
}

pub fn encode_cursor(id: i64) -> String {
    URL_SAFE_NO_PAD.encode(format!("id:{id}"))
}

/// The position after which to read (0 for the first page) and the page size.
pub fn bounds(after: Option<&str>, limit: Option<i64>) -> Result<(i64, i64), ApiError> {
    let limit = limit.unwrap_or(DEFAULT_LIMIT);
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(ApiError::field(
            "limit",
            format!("must be from 1 to {MAX_LIMIT}"),
        ));
    }
    let after = match after {
        None => 0,
        Some(cursor) => decode_cursor(cursor)
            .ok_or_else(|| ApiError::field("after", "is not a cursor this service issued"))?,
    };
    Ok((after, limit))
}

/// A cursor over a list ordered by (day, value), such as a blacklist.
pub fn encode_day_cursor(day: chrono::NaiveDate, value: &str) -> String {
    URL_SAFE_NO_PAD.encode(format!("day:{day}|{value}"))
}

/// The position after which to read a (day, value) list, and the page size.
pub fn day_bounds(
    after: Option<&str>,
    limit: Option<i64>,
) -> Result<(Option<(chrono::NaiveDate, String)>, i64), ApiError> {
    let (_, limit) = bounds(None, limit)?;
    let after = match after {
        None => None,
        Some(cursor) => Some(
            decode_day_cursor(cursor)
                .ok_or_else(|| ApiError::field("after", "is not a cursor this service issued"))?,
        ),
    };
    Ok((after, limit))
}

fn decode_day_cursor(cursor: &str) -> Option<(chrono::NaiveDate, String)> {
    let text = String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()?;
    let (day, value) = text.strip_prefix("day:")?.split_once('|')?;
    Some((day.parse().ok()?, value.to_owned()))
}

fn decode_cursor(cursor: &str) -> Option<i64> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix("id:")?.parse().ok().filter(|id| *id >= 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        assert_eq!(bounds(Some(&encode_cursor(42)), Some(5)).unwrap(), (42, 5));
        assert_eq!(bounds(None, None).unwrap(), (0, DEFAULT_LIMIT));
        assert!(bounds(Some("42"), None).is_err());
        assert!(bounds(None, Some(0)).is_err());
        assert!(bounds(None, Some(1001)).is_err());
    }
}
