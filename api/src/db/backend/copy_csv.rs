//! The blacklist CSV export on PostgreSQL: one `COPY (SELECT …) TO STDOUT (FORMAT csv, HEADER)`
//! whose bytes go to the response as the server sends them, a chunk at a time, with no decoding
//! or re-encoding in this process. The SELECT writes each cell as the SQLite path's `csv` writer
//! does (see [`crate::service::blacklists::export_csv`]), so both backends send the same bytes:
//!
//! - lines end with `\n`, and a field is quoted when it holds `,`, `"`, CR or LF (a `"` doubled):
//!   the `csv` crate's defaults and PostgreSQL's CSV output agree on all of this. They differ on
//!   an empty string only, which PostgreSQL writes `""` (unquoted empty is its NULL) and the
//!   `csv` crate writes as nothing: the SELECT turns an empty value into NULL. (No value can be
//!   empty: emails and mobiles are validated before they are stored.)
//! - days are `YYYY-MM-DD`: the transaction sets `DateStyle` to ISO, whatever the server's.
//! - the value is neutralised by [`NEUTRALISED_VALUE`], the SQL form of
//!   [`crate::service::blacklists::neutralise`].
//!
//! A COPY takes no bound parameters, so the dealer and the day are set as transaction-local
//! settings (`popia.export_dealer`, `popia.export_since`) by a statement that binds them, and the
//! SELECT reads them with `current_setting`. The planner still walks the list's
//! `(dealer_id, added_on, value)` (or `(dealer_id, changed_on, value)`) index in order: it reads
//! a stable function's value when it plans.

use std::io::BufRead;

use chrono::NaiveDate;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::{CopyFormat, CopyTarget, Pg, PgConnection};
use diesel::query_builder::AstPass;
use diesel::sql_types::{Date, Nullable, Text};
use diesel::{QueryResult, RunQueryDsl};

use crate::db::blacklists::List;

/// Bytes handed to the response at a time.
const CHUNK: usize = 64 * 1024;

/// The export's `value` cell, in SQL: [`crate::service::blacklists::neutralise`]'s rule (a value
/// starting with `=`, `+`, `-`, `@`, TAB or CR gets a leading `'`, unless it is `+` and one or more
/// ASCII digits), tested on the first character's code point: 9 TAB, 13 CR, 43 `+`, 45 `-`, 61 `=`,
/// 64 `@`. Most emails start with a letter (above 64) and take the first branch alone; a value
/// starting with `+` (every mobile) costs a regular expression match. The empty value becomes
/// NULL, which CSV writes as nothing (see the module's notes).
pub const NEUTRALISED_VALUE: &str = "CASE WHEN ascii(b.value) > 64 THEN b.value \
     WHEN b.value = '' THEN NULL \
     WHEN ascii(b.value) IN (9, 13, 45, 61, 64) \
       OR (ascii(b.value) = 43 AND b.value !~ '^\\+[0-9]+$') THEN '''' || b.value \
     ELSE b.value END";

/// The SELECT of one export: the list's entries by `(added_on, value)`, or with `changes` the
/// entries changed on or after `popia.export_since` by `(changed_on, value)`. Its column names
/// are the CSV header. `ORDER BY` names the table's columns (`b.value`), not the neutralised
/// output column of the same name.
fn select(table: &str, changes: bool) -> String {
    if changes {
        format!(
            "(SELECT {NEUTRALISED_VALUE} AS value, \
             CASE WHEN b.removed_on IS NULL THEN 'added' ELSE 'removed' END AS change, \
             b.changed_on AS \"on\" FROM {table} b \
             WHERE b.dealer_id = current_setting('popia.export_dealer') \
             AND b.changed_on >= current_setting('popia.export_since')::date \
             ORDER BY b.changed_on, b.value)"
        )
    } else {
        format!(
            "(SELECT {NEUTRALISED_VALUE} AS value, b.added_on FROM {table} b \
             WHERE b.dealer_id = current_setting('popia.export_dealer') \
             AND b.removed_on IS NULL ORDER BY b.added_on, b.value)"
        )
    }
}

/// `diesel::copy_to` copies a table; these targets copy the SELECT of one list and mode
/// instead (`CopyTarget::walk_target` writes what follows `COPY `). That method is
/// `#[doc(hidden)]` in diesel 2.3: an upgrade that changes it fails to compile here.
macro_rules! copy_target {
    ($name:ident, $table:ident, $changes:expr) => {
        struct $name;

        impl CopyTarget for $name {
            type Table = crate::db::schema::$table::table;
            type SqlType = Text;

            fn walk_target(mut pass: AstPass<'_, '_, Pg>) -> QueryResult<()> {
                pass.push_sql(&select(stringify!($table), $changes));
                Ok(())
            }
        }
    };
}

copy_target!(EmailEntries, blacklist_emails, false);
copy_target!(EmailChanges, blacklist_emails, true);
copy_target!(MobileEntries, blacklist_mobiles, false);
copy_target!(MobileChanges, blacklist_mobiles, true);

/// Lines counted in the CSV: complete lines handed over, and complete lines in the chunk not yet
/// handed over. A line feed inside a quoted field (possible in CSV, not in a valid value) is no
/// line end.
#[derive(Default)]
struct Lines {
    sent: usize,
    pending: usize,
    quoted: bool,
}

impl Lines {
    fn count(&mut self, bytes: &[u8]) {
        // memchr's vectorised search skips the bytes that are neither (almost all of them).
        for at in memchr::memchr2_iter(b'"', b'\n', bytes) {
            match bytes[at] {
                b'"' => self.quoted = !self.quoted,
                _ if !self.quoted => self.pending += 1,
                _ => {}
            }
        }
    }

    /// Entries handed over: the lines after the header.
    fn entries(&self) -> usize {
        self.sent.saturating_sub(1)
    }
}

/// How the COPY's output went.
enum Copied {
    /// The statement failed before sending anything: no COPY is running.
    NotStarted(diesel::result::Error),
    /// The server sent its last byte; `Vec` is what is left to hand over.
    Ended(Vec<u8>),
    /// Stopped midway: the client went away or the connection failed.
    Stopped(String),
}

/// Runs the COPY of `target` and hands its bytes to `deliver` in chunks of about [`CHUNK`], each
/// ending where the server's message did (a whole line).
fn copy<T: CopyTarget>(
    pg: &mut PgConnection,
    target: T,
    lines: &mut Lines,
    deliver: &mut impl FnMut(Vec<u8>) -> bool,
) -> Copied {
    let mut reader = match diesel::copy_to(target)
        .with_format(CopyFormat::Csv)
        .with_header(true)
        .load_raw(pg)
    {
        Ok(reader) => reader,
        Err(error) => return Copied::NotStarted(error),
    };
    let mut chunk = Vec::with_capacity(CHUNK);
    loop {
        let data = match reader.fill_buf() {
            Ok(data) => data,
            Err(error) => return Copied::Stopped(format!("reading the COPY failed: {error}")),
        };
        if data.is_empty() {
            return Copied::Ended(chunk);
        }
        if !chunk.is_empty() && chunk.len() + data.len() > CHUNK {
            let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK));
            if !deliver(full) {
                return Copied::Stopped("the client went away".to_owned());
            }
            lines.sent += std::mem::take(&mut lines.pending);
        }
        lines.count(data);
        chunk.extend_from_slice(data);
        let read = data.len();
        reader.consume(read);
    }
}

/// Streams the dealer's list (or its changes since a day) as CSV to `deliver`, which answers
/// `false` once the client has gone. Returns how many entries were handed over; on an early stop,
/// that count and why.
///
/// A COPY stopped midway leaves its transaction open on purpose: the pool discards a connection
/// that comes back inside a transaction ([`super::is_broken`]), and closing it ends the COPY on
/// the server at once, where a `ROLLBACK` would first read (and throw away) the rest of the
/// COPY's output.
pub fn export(
    pg: &mut PgConnection,
    dealer: &str,
    list: List,
    since: Option<NaiveDate>,
    mut deliver: impl FnMut(Vec<u8>) -> bool,
) -> Result<usize, (usize, String)> {
    AnsiTransactionManager::begin_transaction_sql(pg, "BEGIN READ ONLY")
        .map_err(|e| (0, e.to_string()))?;
    // The day goes in as a date and out as text PostgreSQL reads back whatever its year (chrono
    // writes `+10000-01-01`, which it does not).
    let configured = diesel::sql_query(
        "SELECT set_config('DateStyle', 'ISO', true), \
         set_config('popia.export_dealer', $1, true), \
         set_config('popia.export_since', to_char($2, 'YYYY-MM-DD'), true)",
    )
    .bind::<Text, _>(dealer)
    .bind::<Nullable<Date>, _>(since)
    .execute(pg);
    let mut lines = Lines::default();
    let copied = match configured {
        Err(error) => Copied::NotStarted(error),
        Ok(_) => match (list, since.is_some()) {
            (List::Emails, false) => copy(pg, EmailEntries, &mut lines, &mut deliver),
            (List::Emails, true) => copy(pg, EmailChanges, &mut lines, &mut deliver),
            (List::Mobiles, false) => copy(pg, MobileEntries, &mut lines, &mut deliver),
            (List::Mobiles, true) => copy(pg, MobileChanges, &mut lines, &mut deliver),
        },
    };
    let rest = match copied {
        Copied::Ended(rest) => rest,
        Copied::Stopped(reason) => return Err((lines.entries(), reason)),
        Copied::NotStarted(error) => {
            let _ = AnsiTransactionManager::rollback_transaction(pg);
            return Err((0, error.to_string()));
        }
    };
    // The COPY's outcome is not in what the reader returns: it ends the same way when the server
    // stopped the statement midway (cancelled, out of memory), whose error libpq then drops
    // before the next statement runs. That statement fails in the aborted transaction, though,
    // while COMMIT would not (it answers ROLLBACK, without an error).
    if let Err(error) = pg.batch_execute("SELECT 1") {
        return Err((
            lines.entries(),
            format!("the database stopped the COPY: {error}"),
        ));
    }
    AnsiTransactionManager::commit_transaction(pg).map_err(|e| (lines.entries(), e.to_string()))?;
    if !rest.is_empty() {
        if !deliver(rest) {
            return Err((lines.entries(), "the client went away".to_owned()));
        }
        lines.sent += std::mem::take(&mut lines.pending);
    }
    Ok(lines.entries())
}

#[cfg(test)]
mod tests {
    use super::Lines;

    #[test]
    fn a_line_feed_inside_quotes_ends_no_line_even_across_chunks() {
        let mut lines = Lines::default();
        // The header, a plain entry, and one whose quoted value holds a line feed and a doubled
        // quote, split mid-field as COPY's rows may reach us.
        for chunk in [
            &b"value,added_on\nann@x.co,2026-01-01\n\"two"[..],
            b"\nlines \"\"q\"\"\",2026-01-02\n",
        ] {
            lines.count(chunk);
        }
        lines.sent += std::mem::take(&mut lines.pending);
        assert_eq!(lines.entries(), 2);
        assert!(!lines.quoted);
    }
}
