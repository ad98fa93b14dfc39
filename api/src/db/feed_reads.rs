//! The change-feed reader log: one row per dealer, token subject and role, moved on by each read
//! of the dealer's history or a customer's (who followed the feed, and when last; no values).

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::upsert::excluded;

use super::schema::feed_reads as reads;
use super::DbConnection;
use crate::domain::events::Actor;

/// Records that `actor` read the dealer's change feed at `at`, in one statement: the reader's
/// row is created or moved on, so a follower polling every few seconds adds no rows.
pub fn record(
    conn: &mut DbConnection,
    dealer: &str,
    actor: &Actor,
    at: NaiveDateTime,
) -> QueryResult<()> {
    let upsert = diesel::insert_into(reads::table)
        .values((
            reads::dealer_id.eq(dealer),
            reads::sub.eq(&actor.sub),
            reads::role.eq(&actor.role),
            reads::first_read_at.eq(at),
            reads::last_read_at.eq(at),
            reads::reads.eq(1_i64),
        ))
        .on_conflict((reads::dealer_id, reads::sub, reads::role))
        .do_update()
        .set((
            reads::last_read_at.eq(excluded(reads::last_read_at)),
            reads::reads.eq(reads::reads + 1),
        ));
    // The two-backend connection has no ON CONFLICT (diesel's MultiBackend refuses it); each
    // backend's own connection has, and the statement is the same on both.
    match conn {
        DbConnection::Pg(pg) => upsert.execute(pg),
        DbConnection::Sqlite(sqlite) => upsert.execute(sqlite),
    }
    .map(|_| ())
}

/// The dealer's feed readers as (sub, role, last read), leaving out `except_role`.
pub fn readers(
    conn: &mut DbConnection,
    dealer: &str,
    except_role: &str,
) -> QueryResult<Vec<(String, String, NaiveDateTime)>> {
    reads::table
        .filter(reads::dealer_id.eq(dealer))
        .filter(reads::role.ne(except_role))
        .select((reads::sub, reads::role, reads::last_read_at))
        .load(conn)
}

/// Forgets readers whose last read was before `before` (the retention period).
pub fn purge_before(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(reads::table.filter(reads::last_read_at.lt(before))).execute(conn)
}
