//! Keyset pagination: `?after=<cursor>&limit=<1..1000>` and `{items, next}` answers. The cursor
//! is opaque to clients, so its form can change without breaking them: base64url of the last id
//! for lists keyed by id, and for lists keyed by a value (the blacklists, whose keys are emails
//! and mobiles) the last key sealed with the service's cursor key, since reverse proxies log
//! full URLs.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{Datelike, NaiveDate};

use super::problem::ApiError;
use crate::auth::keyed_hash::CursorKey;
use crate::db::events::{FeedAfter, FeedPosition};

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

/// A change-feed cursor: the (transaction, id) position of the last event read.
pub fn encode_feed_cursor(position: FeedPosition) -> String {
    URL_SAFE_NO_PAD.encode(format!("feed:{}:{}", position.xact_id, position.id))
}

/// Where a change-feed read starts (the first page when there is no cursor) and the page size.
/// A cursor issued before feed positions carried the transaction (`id:N`) is still accepted.
pub fn feed_bounds(after: Option<&str>, limit: Option<i64>) -> Result<(FeedAfter, i64), ApiError> {
    let (_, limit) = bounds(None, limit)?;
    let Some(cursor) = after else {
        return Ok((FeedAfter::Position(FeedPosition::default()), limit));
    };
    let refused = || ApiError::field("after", "is not a cursor this service issued");
    if let Some(id) = decode_cursor(cursor) {
        return Ok((FeedAfter::Event(id), limit));
    }
    let text = URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(refused)?;
    let (xact_id, id) = text
        .strip_prefix("feed:")
        .and_then(|rest| rest.split_once(':'))
        .and_then(|(xact, id)| Some((xact.parse().ok()?, id.parse().ok()?)))
        .filter(|(xact, id): &(i64, i64)| *xact >= 0 && *id >= 0)
        .ok_or_else(refused)?;
    Ok((FeedAfter::Position(FeedPosition { xact_id, id }), limit))
}

/// What a (day, value) cursor is bound to: a cursor issued for one list (and dealer, and `since`
/// filter) is refused on any other.
#[derive(Debug, Clone, Copy)]
pub struct DayScope<'a> {
    /// The list, such as `emails` or `mobiles`.
    pub list: &'a str,
    pub dealer: &'a str,
    pub since: Option<NaiveDate>,
}

impl DayScope<'_> {
    fn context(&self) -> [Vec<u8>; 4] {
        [
            b"day cursor v1".to_vec(),
            self.list.as_bytes().to_vec(),
            self.dealer.as_bytes().to_vec(),
            self.since
                .map(|d| d.to_string())
                .unwrap_or_default()
                .into_bytes(),
        ]
    }

    fn with_context<R>(&self, f: impl FnOnce(&[&[u8]]) -> R) -> R {
        let context = self.context();
        let parts: Vec<&[u8]> = context.iter().map(Vec::as_slice).collect();
        f(&parts)
    }
}

/// The first byte of a sealed day cursor: its format.
const DAY_CURSOR_V1: u8 = 1;

/// Plaintexts are padded to a multiple of this, so a cursor's length says little about the
/// length of the value in it.
const DAY_CURSOR_BLOCK: usize = 64;

/// A cursor over a list ordered by (day, value), such as a blacklist: the key sealed (encrypted
/// and authenticated) under `key` and bound to `scope`, so it carries no trace of the value.
pub fn encode_day_cursor(key: &CursorKey, scope: &DayScope, day: NaiveDate, value: &str) -> String {
    // Emails are at most 254 bytes and mobiles far less: the length always fits.
    let length = u16::try_from(value.len()).unwrap_or(u16::MAX);
    let value = &value.as_bytes()[..usize::from(length)];
    let mut plaintext = Vec::with_capacity(DAY_CURSOR_BLOCK);
    plaintext.extend_from_slice(&day.num_days_from_ce().to_be_bytes());
    plaintext.extend_from_slice(&length.to_be_bytes());
    plaintext.extend_from_slice(value);
    plaintext.resize(
        plaintext.len().div_ceil(DAY_CURSOR_BLOCK) * DAY_CURSOR_BLOCK,
        0,
    );
    let mut cursor = vec![DAY_CURSOR_V1];
    cursor.extend(scope.with_context(|context| key.seal(context, &plaintext)));
    URL_SAFE_NO_PAD.encode(cursor)
}

/// The position after which to read a (day, value) list, and the page size.
pub fn day_bounds(
    key: &CursorKey,
    scope: &DayScope,
    after: Option<&str>,
    limit: Option<i64>,
) -> Result<(Option<(NaiveDate, String)>, i64), ApiError> {
    let (_, limit) = bounds(None, limit)?;
    let after = match after {
        None => None,
        Some(cursor) => Some(
            decode_day_cursor(key, scope, cursor)
                .ok_or_else(|| ApiError::field("after", "is not a cursor this service issued"))?,
        ),
    };
    Ok((after, limit))
}

fn decode_day_cursor(
    key: &CursorKey,
    scope: &DayScope,
    cursor: &str,
) -> Option<(NaiveDate, String)> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let (&version, sealed) = bytes.split_first()?;
    if version != DAY_CURSOR_V1 {
        return None;
    }
    let plaintext = scope.with_context(|context| key.open(context, sealed))?;
    let day = i32::from_be_bytes(plaintext.get(..4)?.try_into().ok()?);
    let length = u16::from_be_bytes(plaintext.get(4..6)?.try_into().ok()?);
    let value = plaintext.get(6..6 + usize::from(length))?;
    Some((
        NaiveDate::from_num_days_from_ce_opt(day)?,
        String::from_utf8(value.to_vec()).ok()?,
    ))
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
    fn feed_cursors_round_trip_and_old_ones_still_work() {
        let position = FeedPosition {
            xact_id: 7_000_000_123,
            id: 42,
        };
        let (after, limit) = feed_bounds(Some(&encode_feed_cursor(position)), Some(5)).unwrap();
        assert_eq!((after, limit), (FeedAfter::Position(position), 5));
        let (after, _) = feed_bounds(Some(&encode_cursor(42)), None).unwrap();
        assert_eq!(after, FeedAfter::Event(42));
        let (after, _) = feed_bounds(None, None).unwrap();
        assert_eq!(after, FeedAfter::Position(FeedPosition::default()));
        for forged in ["feed:1", "feed:-1:2", "feed:1:x", "other:1:2"] {
            assert!(feed_bounds(Some(&URL_SAFE_NO_PAD.encode(forged)), None).is_err());
        }
        assert!(feed_bounds(None, Some(0)).is_err());
    }

    #[test]
    fn cursors_round_trip_and_refuse_forgeries() {
        assert_eq!(bounds(Some(&encode_cursor(42)), Some(5)).unwrap(), (42, 5));
        assert_eq!(bounds(None, None).unwrap(), (0, DEFAULT_LIMIT));
        assert!(bounds(Some("42"), None).is_err());
        assert!(bounds(None, Some(0)).is_err());
        assert!(bounds(None, Some(1001)).is_err());
    }

    #[test]
    fn day_cursors_are_sealed_and_bound_to_their_list() {
        let hasher = crate::auth::KeyedHasher::derive(b"secret one secret one secret one!");
        let key = hasher.cursor_key();
        let emails = DayScope {
            list: "emails",
            dealer: "abc-motors",
            since: None,
        };
        let day = NaiveDate::from_ymd_opt(2026, 1, 2).unwrap();
        let value = "fred@sea.com";
        let cursor = encode_day_cursor(key, &emails, day, value);
        let decoded = day_bounds(key, &emails, Some(&cursor), Some(7)).unwrap();
        assert_eq!(decoded, (Some((day, value.to_owned())), 7));
        let bytes = URL_SAFE_NO_PAD.decode(&cursor).unwrap();
        assert!(!bytes.windows(3).any(|w| w == b"sea"));
        assert!(!bytes.windows(4).any(|w| w == b"2026"));
        // Short and long values give cursors of the same length.
        let long = "a-rather-longer-address@example.co.za";
        assert_eq!(
            encode_day_cursor(key, &emails, day, long).len(),
            cursor.len()
        );
        assert_eq!(
            day_bounds(
                key,
                &emails,
                Some(&encode_day_cursor(key, &emails, day, long)),
                None
            )
            .unwrap()
            .0,
            Some((day, long.to_owned()))
        );

        let mobiles = DayScope {
            list: "mobiles",
            ..emails
        };
        let other_dealer = DayScope {
            dealer: "xyz-motors",
            ..emails
        };
        let changes = DayScope {
            since: Some(day),
            ..emails
        };
        for scope in [mobiles, other_dealer, changes] {
            assert!(
                day_bounds(key, &scope, Some(&cursor), None).is_err(),
                "{scope:?}"
            );
        }
        let other_key = crate::auth::KeyedHasher::derive(b"secret two secret two secret two!");
        assert!(day_bounds(other_key.cursor_key(), &emails, Some(&cursor), None).is_err());
        // The old, readable form is no longer taken.
        let readable = URL_SAFE_NO_PAD.encode(format!("day:{day}|{value}"));
        assert!(day_bounds(key, &emails, Some(&readable), None).is_err());
        assert!(day_bounds(key, &emails, Some(&cursor[..cursor.len() - 2]), None).is_err());
        assert!(day_bounds(key, &emails, Some("not base64!"), None).is_err());
        assert!(day_bounds(key, &emails, Some(""), None).is_err());
    }
}
