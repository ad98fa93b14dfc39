//! What operators do with the blacklists: read them (pages, changes, whole-list CSV) and check
//! values against them. Every read and check is recorded in the pull log.

use chrono::NaiveDate;

use crate::db::blacklist_pulls::{self, NewPull};
use crate::db::blacklists::{self, Entry, List, Position};
use crate::db::{self, DbConnection};
use crate::domain::events::Actor;
use crate::domain::{DealerId, Email, Mobile};
use crate::error::{ApiError, FieldError};

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
    if !db::dealers::exists(conn, dealer.as_str())? {
        return Err(ApiError::not_found("dealer"));
    }
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
    if !db::dealers::exists(conn, dealer.as_str())? {
        return Err(ApiError::not_found("dealer"));
    }
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
