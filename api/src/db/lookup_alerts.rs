//! Queries on the NOT FOUND alert markers: one alert per identifier per day, forgotten on
//! withdrawal.

use chrono::NaiveDate;
use diesel::prelude::*;

use super::schema::lookup_alerts;
use super::DbConnection;

/// Records today's NOT FOUND alert for an identifier; false when one was already sent today.
/// Callers hold the dealer's write lock, so the check and the insert cannot race.
pub fn first_today(
    conn: &mut DbConnection,
    dealer: &str,
    identifier_key: &str,
    day: NaiveDate,
) -> QueryResult<bool> {
    use diesel::dsl::{exists, select};
    let seen: bool = select(exists(lookup_alerts::table.find((
        dealer,
        identifier_key,
        day,
    ))))
    .get_result(conn)?;
    if !seen {
        diesel::insert_into(lookup_alerts::table)
            .values((
                lookup_alerts::dealer_id.eq(dealer),
                lookup_alerts::identifier_key.eq(identifier_key),
                lookup_alerts::day.eq(day),
            ))
            .execute(conn)?;
    }
    Ok(!seen)
}

pub fn delete_for_identifiers(
    conn: &mut DbConnection,
    dealer: &str,
    identifier_keys: &[String],
) -> QueryResult<usize> {
    diesel::delete(
        lookup_alerts::table
            .filter(lookup_alerts::dealer_id.eq(dealer))
            .filter(lookup_alerts::identifier_key.eq_any(identifier_keys)),
    )
    .execute(conn)
}

/// Alerts older than a day only ever answered "was one sent that day?": drop them.
pub fn purge_before(conn: &mut DbConnection, day: NaiveDate) -> QueryResult<usize> {
    diesel::delete(lookup_alerts::table.filter(lookup_alerts::day.lt(day))).execute(conn)
}
