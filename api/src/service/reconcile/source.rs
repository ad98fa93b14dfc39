//! Where reconcile reads the blacklists from: another database (the live one before the
//! restore, or a replica) or the service's whole-list CSV exports. A source is read and checked
//! whole, values normalised by the domain parsers, before anything is written; no error message
//! quotes a value (it may be someone's email).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use anyhow::{anyhow, bail, Context};
use chrono::NaiveDate;
use diesel::connection::SimpleConnection;
use diesel::{Connection, PgConnection, SqliteConnection};

use crate::db::backend::{sqlite_file, Backend};
use crate::db::blacklists::List;
use crate::db::{reconcile, DbConnection};
use crate::domain::{DealerId, Email, Mobile};

/// One dealer's list as the source holds it: normalised value → day added.
pub(super) struct Batch {
    pub dealer: String,
    pub list: List,
    pub entries: BTreeMap<String, NaiveDate>,
}

/// The blacklists of a source, read and checked.
pub struct Source {
    /// A database (its URL, password hidden) or the CSV files, for messages.
    pub described: String,
    /// CSV exports are chosen per dealer: one naming a dealer this database lacks is a mistake.
    /// A database holds every dealer, some perhaps created after the backup: those are skipped.
    pub(super) strict_dealers: bool,
    pub(super) batches: Vec<Batch>,
}

impl Source {
    /// Reads `args` (each `--blacklists-from`): nothing (None), one database URL, or CSV
    /// exports, at most one per dealer and list.
    pub fn read(args: &[String]) -> anyhow::Result<Option<Source>> {
        let (urls, files): (Vec<&String>, Vec<&String>) =
            args.iter().partition(|a| is_database_url(a));
        match (urls.as_slice(), files.is_empty()) {
            ([], true) => Ok(None),
            ([url], true) => read_database(url).map(Some),
            ([], false) => read_csvs(&files).map(Some),
            _ => bail!(
                "--blacklists-from takes one database URL, or the blacklist CSV exports, not both \
                 and not two databases"
            ),
        }
    }

    /// Entries the source holds, over every list.
    pub fn entries(&self) -> usize {
        self.batches.iter().map(|b| b.entries.len()).sum()
    }
}

fn is_database_url(arg: &str) -> bool {
    arg.contains("://") || arg.starts_with("file:")
}

/// The URL with its password hidden.
fn described(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut parsed) if parsed.password().is_some() => {
            let _ = parsed.set_password(Some("***"));
            parsed.to_string()
        }
        _ => url.to_owned(),
    }
}

/// Every active entry of both lists, in one read transaction (one snapshot of both).
fn read_database(url: &str) -> anyhow::Result<Source> {
    let shown = described(url);
    let backend = Backend::from_url(url).map_err(|e| anyhow!("--blacklists-from {shown}: {e}"))?;
    let mut conn = match backend {
        Backend::Sqlite => {
            // Opened as it is: a missing file would be created empty, and the journal mode left.
            let file = sqlite_file(url)
                .with_context(|| format!("the source database {shown} is not a file"))?;
            if !file.is_file() {
                bail!("the source database {} does not exist", file.display());
            }
            let mut conn = SqliteConnection::establish(url)
                .map_err(|e| anyhow!("cannot open the source database {shown}: {e}"))?;
            conn.batch_execute("PRAGMA busy_timeout = 10000")?;
            DbConnection::Sqlite(conn)
        }
        Backend::Postgres => {
            let url = if url.contains("connect_timeout=") {
                url.to_owned()
            } else {
                let glue = if url.contains('?') { '&' } else { '?' };
                format!("{url}{glue}connect_timeout=10")
            };
            DbConnection::Pg(
                PgConnection::establish(&url)
                    .map_err(|e| anyhow!("the source database {shown} does not answer: {e}"))?,
            )
        }
    };
    let (emails, mobiles) = conn
        .transaction(|conn| {
            Ok::<_, diesel::result::Error>((
                reconcile::active_entries(conn, List::Emails)?,
                reconcile::active_entries(conn, List::Mobiles)?,
            ))
        })
        .map_err(|e| anyhow!("cannot read the blacklists of the source database {shown}: {e}"))?;
    let mut batches: BTreeMap<(String, &'static str), Batch> = BTreeMap::new();
    for (list, rows) in [(List::Emails, emails), (List::Mobiles, mobiles)] {
        for (dealer, value, day) in rows {
            let value = normalised(list, &value).map_err(|reason| {
                anyhow!(
                    "the source database holds a value of {dealer}'s {} blacklist that is {reason}",
                    list.as_str()
                )
            })?;
            let batch = batches
                .entry((dealer.clone(), list.as_str()))
                .or_insert_with(|| Batch {
                    dealer,
                    list,
                    entries: BTreeMap::new(),
                });
            keep_earliest(&mut batch.entries, value, day);
        }
    }
    Ok(Source {
        described: shown,
        strict_dealers: false,
        batches: batches.into_values().collect(),
    })
}

fn keep_earliest(entries: &mut BTreeMap<String, NaiveDate>, value: String, day: NaiveDate) {
    let kept = entries.entry(value).or_insert(day);
    *kept = (*kept).min(day);
}

/// The value as the list stores it, or why it cannot be on that list.
fn normalised(list: List, raw: &str) -> Result<String, String> {
    match list {
        List::Emails => Email::parse(raw)
            .map(Email::into_inner)
            .map_err(|e| format!("not a valid email ({e})")),
        List::Mobiles => Mobile::parse(raw)
            .map(Mobile::into_inner)
            .map_err(|e| format!("not a valid mobile number ({e})")),
    }
}

fn read_csvs(paths: &[&String]) -> anyhow::Result<Source> {
    let mut batches: Vec<Batch> = Vec::new();
    let mut seen: BTreeMap<(String, &'static str), &String> = BTreeMap::new();
    for path in paths {
        let batch = read_csv(path)?;
        if let Some(first) = seen.insert((batch.dealer.clone(), batch.list.as_str()), path) {
            bail!(
                "{first} and {path} are both {}'s {} blacklist: give one export per list",
                batch.dealer,
                batch.list.as_str()
            );
        }
        batches.push(batch);
    }
    let names: BTreeSet<&str> = paths.iter().map(|p| p.as_str()).collect();
    Ok(Source {
        described: names.into_iter().collect::<Vec<_>>().join(", "),
        strict_dealers: true,
        batches,
    })
}

/// `{dealer}-blacklist-emails-{YYYY-MM-DD}.csv` or `…-mobiles-…`: the name the service gives
/// the export (`Content-Disposition`).
fn dealer_and_list(name: &str) -> Option<(String, List)> {
    let stem = name.strip_suffix(".csv")?;
    let split = stem.len().checked_sub(11)?;
    let (rest, day) = (stem.get(..split)?, stem.get(split..)?);
    NaiveDate::parse_from_str(day.strip_prefix('-')?, "%Y-%m-%d").ok()?;
    let (dealer, list) = if let Some(dealer) = rest.strip_suffix("-blacklist-emails") {
        (dealer, List::Emails)
    } else {
        (rest.strip_suffix("-blacklist-mobiles")?, List::Mobiles)
    };
    let dealer = DealerId::parse(dealer).ok()?;
    Some((dealer.as_str().to_owned(), list))
}

/// A whole-list export: the header `value,added_on`, then one entry a line.
fn read_csv(path: &str) -> anyhow::Result<Batch> {
    let name = Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    let (dealer, list) = dealer_and_list(name).ok_or_else(|| {
        anyhow!(
            "cannot tell the dealer and the list from the file name of {path}: a blacklist export \
             is named {{dealer}}-blacklist-emails-{{YYYY-MM-DD}}.csv or \
             {{dealer}}-blacklist-mobiles-{{YYYY-MM-DD}}.csv (keep the name the service gave it)"
        )
    })?;
    let bytes = std::fs::read(path).map_err(|e| anyhow!("cannot read {path}: {e}"))?;
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(bytes.as_slice());
    let header = reader
        .headers()
        .map_err(|e| anyhow!("{path}: not a readable CSV file ({e})"))?;
    let fields: Vec<&str> = header.iter().map(str::trim).collect();
    if fields != ["value", "added_on"] {
        bail!(
            "{path}: wrong header: a blacklist export starts with the line `value,added_on` (a \
             changes export, `value,change,on`, cannot be merged)"
        );
    }
    // A day after tomorrow (UTC) is no day an entry was added: the file is not what it claims.
    let latest = chrono::Utc::now().date_naive() + chrono::Days::new(1);
    let mut entries = BTreeMap::new();
    for record in reader.records() {
        let record = record.map_err(|e| anyhow!("{path}: not a valid CSV file ({e})"))?;
        let line = record.position().map_or(0, |p| p.line());
        let value = record.get(0).unwrap_or_default();
        let value = normalised(list, unneutralised(value))
            .map_err(|reason| anyhow!("{path} line {line}: the value is {reason}"))?;
        let day = record
            .get(1)
            .and_then(|d| NaiveDate::parse_from_str(d.trim(), "%Y-%m-%d").ok())
            .filter(|d| *d <= latest)
            .ok_or_else(|| {
                anyhow!("{path} line {line}: added_on is not a past day (YYYY-MM-DD)")
            })?;
        keep_earliest(&mut entries, value, day);
    }
    Ok(Batch {
        dealer,
        list,
        entries,
    })
}

/// The export prefixes `'` to a value a spreadsheet would take for a formula; this undoes it.
fn unneutralised(value: &str) -> &str {
    match value.strip_prefix('\'') {
        Some(rest) if rest.starts_with(['=', '+', '-', '@', '\t', '\r']) => rest,
        _ => value,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_file_name_tells_the_dealer_and_the_list() {
        let parsed = |name| dealer_and_list(name).map(|(d, l)| (d, l.as_str()));
        assert_eq!(
            parsed("abc-motors-blacklist-emails-2026-12-01.csv"),
            Some(("abc-motors".to_owned(), "emails"))
        );
        assert_eq!(
            parsed("a1-blacklist-mobiles-2026-12-01.csv"),
            Some(("a1".to_owned(), "mobiles"))
        );
        for wrong in [
            "abc-motors-blacklist-emails-changes-since-2026-11-01-2026-12-01.csv",
            "abc-motors-blacklist-emails-2026-12-01 (1).csv",
            "blacklist-emails-2026-12-01.csv",
            "abc-motors-blacklist-faxes-2026-12-01.csv",
            "abc-motors-blacklist-emails-2026-13-01.csv",
            "x.csv",
        ] {
            assert_eq!(parsed(wrong), None, "{wrong}");
        }
    }

    #[test]
    fn a_neutralised_value_is_read_back_as_it_was() {
        assert_eq!(unneutralised("'=x@y.co.za"), "=x@y.co.za");
        assert_eq!(unneutralised("'o'brien@y.co.za"), "'o'brien@y.co.za");
        assert_eq!(unneutralised("+27825550123"), "+27825550123");
    }
}
