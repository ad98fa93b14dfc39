//! What operators do with the blacklists: read them (pages, changes, whole-list CSV) and check
//! values against them. Every read and check is recorded in the pull log.

use std::borrow::Cow;

use chrono::NaiveDate;

use crate::db::blacklist_pulls::{self, NewPull, PullRow};
use crate::db::blacklists::{self, Entry, List, Position, BATCH};
use crate::db::{self, DbConnection, Page};
use crate::domain::events::Actor;
use crate::domain::{DealerId, Email, Mobile};
use crate::error::{ApiError, FieldError};
use crate::service::dealers;

/// Most values one check may carry.
pub const MAX_CHECK_VALUES: usize = 10_000;

/// What was pulled, for the log.
pub struct Pull<'a> {
    pub dealer: &'a DealerId,
    pub actor: &'a Actor,
    /// `emails`, `mobiles` or `check`.
    pub list: &'static str,
    pub format: &'static str,
    pub since: Option<NaiveDate>,
    pub items: usize,
}

pub fn record_pull(conn: &mut DbConnection, pull: Pull<'_>) -> Result<(), ApiError> {
    blacklist_pulls::record(
        conn,
        &NewPull {
            dealer_id: pull.dealer.as_str().to_owned(),
            sub: pull.actor.sub.clone(),
            role: pull.actor.role.clone(),
            list: pull.list.to_owned(),
            format: pull.format.to_owned(),
            since: pull.since,
            items: pull.items as i64,
            at: db::now(),
        },
    )?;
    Ok(())
}

/// One page of a list (or of its changes), recorded in the pull log.
pub fn page(
    conn: &mut DbConnection,
    dealer: &DealerId,
    actor: &Actor,
    list: List,
    since: Option<NaiveDate>,
    after: Option<&Position>,
    limit: i64,
) -> Result<(Vec<Entry>, bool), ApiError> {
    dealers::require(conn, dealer)?;
    let mut entries = db::backend::keyset_read(conn, |conn| {
        list.read(conn, dealer.as_str(), since, after, limit + 1)
    })?;
    let more = entries.len() as i64 > limit;
    entries.truncate(limit as usize);
    let pull = Pull {
        dealer,
        actor,
        list: list.as_str(),
        format: "json",
        since,
        items: entries.len(),
    };
    record_pull(conn, pull)?;
    Ok((entries, more))
}

/// The day an entry is ordered by: the day it changed when reading changes (`since`), else the
/// day it was added.
pub fn day_of(entry: &Entry, since: Option<NaiveDate>) -> NaiveDate {
    if since.is_some() {
        entry.changed_on
    } else {
        entry.added_on
    }
}

/// The whole list (or its changes since a day), read in keyset batches of [`BATCH`] inside one
/// read transaction and handed to `deliver` one batch at a time, so memory stays flat however
/// long the list. `deliver` answers `false` when the reader went away, which stops the export.
/// Returns how many entries were handed over; on an early stop, that count and why.
pub fn export(
    conn: &mut DbConnection,
    dealer: &DealerId,
    list: List,
    since: Option<NaiveDate>,
    mut deliver: impl FnMut(Vec<Entry>) -> bool,
) -> Result<usize, (usize, String)> {
    let mut sent = 0;
    let mut stopped = None;
    let result = db::backend::keyset_read(conn, |conn| {
        let mut after = None;
        loop {
            let batch = list.read(conn, dealer.as_str(), since, after.as_ref(), BATCH)?;
            let Some(last) = batch.last() else { break };
            after = Some((day_of(last, since), last.value.clone()));
            let count = batch.len();
            if !deliver(batch) {
                stopped = Some("the client went away".to_owned());
                return Err(diesel::result::Error::RollbackTransaction);
            }
            sent += count;
            if (count as i64) < BATCH {
                break;
            }
        }
        Ok::<_, diesel::result::Error>(())
    });
    match (result, stopped) {
        (Ok(()), _) => Ok(sent),
        (Err(_), Some(reason)) => Err((sent, reason)),
        (Err(error), None) => Err((sent, error.to_string())),
    }
}

/// The whole list (or its changes since a day) as CSV, handed to `deliver` a chunk at a time:
/// `value,added_on` and the entries on the list by (added_on, value); or with `since`,
/// `value,change,on` and the entries changed on or after that day by (changed_on, value), `change`
/// being `removed` for an entry that has left the list and `added` otherwise. Each value is
/// [`neutralise`]d. `deliver` answers `false` when the reader went away, which stops the export.
/// Returns how many entries were handed over; on an early stop, that count and why.
///
/// On PostgreSQL one `COPY` writes the CSV and its bytes are passed on as they come
/// ([`db::backend::copy_csv`]); on SQLite the keyset batches of [`export`] are written with the
/// `csv` crate's default writer (`\n` line ends; a field holding `,`, `"`, CR or LF quoted). Both
/// send the same bytes.
pub fn export_csv(
    conn: &mut DbConnection,
    dealer: &DealerId,
    list: List,
    since: Option<NaiveDate>,
    mut deliver: impl FnMut(Vec<u8>) -> bool,
) -> Result<usize, (usize, String)> {
    if let DbConnection::Pg(pg) = conn {
        return db::backend::copy_csv::export(pg, dealer.as_str(), list, since, deliver);
    }
    let header: &[&str] = match since {
        None => &["value", "added_on"],
        Some(_) => &["value", "change", "on"],
    };
    // One writer per chunk: its buffer is handed over whole, then dropped.
    let mut send = |writer: csv::Writer<Vec<u8>>| -> bool {
        writer.into_inner().ok().is_some_and(&mut deliver)
    };
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(header);
    if !send(writer) {
        return Err((0, "the client went away".to_owned()));
    }
    export(conn, dealer, list, since, |batch| {
        let mut writer = csv::Writer::from_writer(Vec::with_capacity(batch.len() * 40));
        for entry in batch {
            let value = neutralise(&entry.value);
            let _ = match since {
                None => writer.write_record([&*value, &entry.added_on.to_string()]),
                Some(_) => {
                    let change = if entry.removed_on.is_some() {
                        "removed"
                    } else {
                        "added"
                    };
                    writer.write_record([&*value, change, &entry.changed_on.to_string()])
                }
            };
        }
        send(writer)
    })
}

/// Operators open these files in spreadsheets, which evaluate a cell starting with `=`, `+`, `-`,
/// `@`, tab or CR as a formula (an email may legally start with `=` or `-`), so such a value gets
/// a leading `'`; an E.164 mobile (`+` then one or more ASCII digits only) is no formula and stays
/// byte-identical for operators who match on it.
///
/// The PostgreSQL export applies the same rule in its SELECT
/// ([`db::backend::copy_csv::NEUTRALISED_VALUE`]); the test
/// `the_csv_export_neutralises_and_quotes_odd_values_as_it_always_has` holds both to the same
/// bytes.
pub fn neutralise(value: &str) -> Cow<'_, str> {
    let e164 = value
        .strip_prefix('+')
        .is_some_and(|digits| !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()));
    match value.as_bytes().first() {
        Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r') if !e164 => Cow::Owned(format!("'{value}")),
        _ => Cow::Borrowed(value),
    }
}

/// A page of the dealer's pull log after the pull `after`; 404 when there is no such dealer.
pub fn pulls(
    conn: &mut DbConnection,
    dealer: &DealerId,
    after: i64,
    limit: i64,
) -> Result<Page<PullRow>, ApiError> {
    dealers::require(conn, dealer)?;
    Ok(blacklist_pulls::list(conn, dealer.as_str(), after, limit)?)
}

/// The result of a check: the normalised values on the lists, and the values that are not
/// emails or mobiles at all (by position).
pub struct Checked {
    pub emails: Vec<String>,
    pub mobiles: Vec<String>,
    pub invalid: Vec<FieldError>,
}

pub fn check(
    conn: &mut DbConnection,
    dealer: &DealerId,
    actor: &Actor,
    emails: &[String],
    mobiles: &[String],
) -> Result<Checked, ApiError> {
    if emails.len() + mobiles.len() > MAX_CHECK_VALUES {
        return Err(ApiError::PayloadTooLarge {
            detail: format!("a check takes at most {MAX_CHECK_VALUES} values"),
        });
    }
    let mut invalid = Vec::new();
    let mut normalised = |field: &str, raw: &[String], parse: &dyn Fn(&str) -> Option<String>| {
        let mut values: Vec<String> = raw
            .iter()
            .enumerate()
            .filter_map(|(i, value)| {
                let parsed = parse(value);
                if parsed.is_none() {
                    invalid.push(FieldError::new(
                        format!("{field}[{i}]"),
                        format!("is not a valid {}", &field[..field.len() - 1]),
                    ));
                }
                parsed
            })
            .collect();
        values.sort();
        values.dedup();
        values
    };
    let email_values = normalised("emails", emails, &|v| {
        Email::parse(v).ok().map(Email::into_inner)
    });
    let mobile_values = normalised("mobiles", mobiles, &|v| {
        Mobile::parse(v).ok().map(Mobile::into_inner)
    });
    dealers::require(conn, dealer)?;
    let mut found_emails = blacklists::emails::present(conn, dealer.as_str(), &email_values)?;
    let mut found_mobiles = blacklists::mobiles::present(conn, dealer.as_str(), &mobile_values)?;
    found_emails.sort();
    found_mobiles.sort();
    let pull = Pull {
        dealer,
        actor,
        list: "check",
        format: "json",
        since: None,
        items: emails.len() + mobiles.len(),
    };
    record_pull(conn, pull)?;
    Ok(Checked {
        emails: found_emails,
        mobiles: found_mobiles,
        invalid,
    })
}

#[cfg(test)]
mod tests {
    use super::neutralise;

    #[test]
    fn csv_cells_a_spreadsheet_would_evaluate_are_neutralised() {
        for (value, cell) in [
            ("=1+1@sea.example", "'=1+1@sea.example"),
            ("-x@sea.example", "'-x@sea.example"),
            ("+x@sea.example", "'+x@sea.example"),
            ("+", "'+"),
            ("+27836567788", "+27836567788"),
            ("fred@sea.com", "fred@sea.com"),
        ] {
            assert_eq!(neutralise(value), cell);
        }
    }
}
