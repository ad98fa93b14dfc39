//! Unlinkability at the storage level: what the database itself would expose beyond the rows.
//! A withdrawal writes the email blacklist row, the mobile blacklist row and the customer row in
//! one transaction, so on PostgreSQL they share a transaction id (`xmin`) and sit in insertion
//! order on disk; on SQLite the WAL keeps the frames of that transaction, and the values it
//! replaced, until a checkpoint. This pass undoes both; the background loop runs it every 30
//! seconds (the contract allows 60 after a withdrawal or a purge of its messages).

use chrono::NaiveDate;

use crate::db::backend;
use crate::db::blacklists::List;
use crate::db::DbConnection;

/// Runs the pass once, as of `today` (UTC, the day blacklist rows carry). On PostgreSQL each
/// list's rows changed today or yesterday (every write to a list sets `changed_on` to its day;
/// yesterday covers midnight) are rewritten in value order, one transaction per list. They are
/// rewritten on every pass rather than only when still linked: telling a pass's own rows from
/// those of a lone withdrawal would take a scan of `customers`, while the rewrite reads only
/// the dealers' index ranges of those two days (measured: about 35 ms for 1,000 rows a list,
/// whatever the size of the lists; nothing when no row changed). On SQLite the WAL is
/// checkpointed and truncated; if readers keep it busy it simply runs again next time. Returns
/// the rows rewritten.
pub fn run(conn: &mut DbConnection, today: NaiveDate) -> diesel::QueryResult<usize> {
    let since = today.pred_opt().unwrap_or(today);
    let mut rewritten = 0;
    for list in [List::Emails, List::Mobiles] {
        rewritten += backend::rewrite_blacklist(conn, list, since)?;
    }
    if !backend::truncate_wal(conn)? {
        tracing::debug!("storage hygiene: the WAL checkpoint was busy; the next pass retries");
    }
    Ok(rewritten)
}
