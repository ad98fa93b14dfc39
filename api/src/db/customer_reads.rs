//! Who read a customer record and when (no values): the safeguard a dealer shows under POPIA
//! s19. Kept for the retention period; a withdrawn customer's reads become a count.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{customer_reads as reads, customers, withdrawn_read_counts as counts};
use super::{DbConnection, Page};
use crate::domain::events::Actor;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = reads)]
pub struct ReadRow {
    pub id: i64,
    pub dealer_id: String,
    pub customer_id: i64,
    pub actor_role: String,
    pub actor_sub: String,
    pub read_at: NaiveDateTime,
}

/// Who reads which dealer's records, when: logged for each record a read shows.
pub struct Read<'a> {
    pub dealer: &'a str,
    pub reader: &'a Actor,
    pub at: NaiveDateTime,
}

/// Records that `actor` read these records of the dealer.
pub fn record(
    conn: &mut DbConnection,
    dealer: &str,
    customer_ids: &[i64],
    actor: &Actor,
    at: NaiveDateTime,
) -> QueryResult<()> {
    use diesel::sql_types::{Text, Timestamp};
    // One statement per chunk, the rows taken from the records themselves (batch inserts are
    // not available on the two-backend connection).
    for chunk in customer_ids.chunks(500) {
        let rows = customers::table
            .filter(customers::dealer_id.eq(dealer))
            .filter(customers::id.eq_any(chunk))
            .select((
                customers::dealer_id,
                customers::id,
                actor.role.clone().into_sql::<Text>(),
                actor.sub.clone().into_sql::<Text>(),
                at.into_sql::<Timestamp>(),
            ));
        diesel::insert_into(reads::table)
            .values(rows)
            .into_columns((
                reads::dealer_id,
                reads::customer_id,
                reads::actor_role,
                reads::actor_sub,
                reads::read_at,
            ))
            .execute(conn)?;
    }
    Ok(())
}

/// A keyset page of one record's reads, oldest first.
pub fn page(
    conn: &mut DbConnection,
    customer_id: i64,
    after: i64,
    limit: i64,
) -> QueryResult<Page<ReadRow>> {
    let rows = reads::table
        .filter(reads::customer_id.eq(customer_id))
        .filter(reads::id.gt(after))
        .select(ReadRow::as_select())
        .order(reads::id.asc())
        .limit(limit + 1)
        .load(conn)?;
    Ok(Page::from_overfetch(rows, limit))
}

/// A withdrawal: the record's reads become a count (who read a withdrawn person's record, and
/// when, is more than the dealer needs to keep).
pub fn keep_count_only(conn: &mut DbConnection, customer_id: i64) -> QueryResult<()> {
    if let DbConnection::Pg(pg) = conn {
        return super::backend::withdrawal_steps::keep_read_count_only(pg, customer_id);
    }
    let count: i64 = reads::table
        .filter(reads::customer_id.eq(customer_id))
        .count()
        .get_result(conn)?;
    diesel::delete(reads::table.filter(reads::customer_id.eq(customer_id))).execute(conn)?;
    diesel::insert_into(counts::table)
        .values((counts::customer_id.eq(customer_id), counts::reads.eq(count)))
        .execute(conn)?;
    Ok(())
}

/// How many reads a withdrawn record had when it was withdrawn.
pub fn count_at_withdrawal(conn: &mut DbConnection, customer_id: i64) -> QueryResult<Option<i64>> {
    counts::table
        .find(customer_id)
        .select(counts::reads)
        .first(conn)
        .optional()
}

/// Forgets reads made before `before` (the retention period).
pub fn purge_before(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(reads::table.filter(reads::read_at.lt(before))).execute(conn)
}
