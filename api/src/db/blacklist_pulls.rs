//! Queries on the blacklist pull log: record an export or check, page through them, and who
//! pulled.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::prelude::*;

use super::schema::blacklist_pulls as pulls;
use super::{DbConnection, Page};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = pulls)]
pub struct PullRow {
    pub id: i64,
    pub dealer_id: String,
    pub sub: String,
    pub role: String,
    pub list: String,
    pub format: String,
    pub since: Option<NaiveDate>,
    pub items: i64,
    pub at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = pulls)]
pub struct NewPull {
    pub dealer_id: String,
    pub sub: String,
    pub role: String,
    pub list: String,
    pub format: String,
    pub since: Option<NaiveDate>,
    pub items: i64,
    pub at: NaiveDateTime,
}

pub fn record(conn: &mut DbConnection, pull: &NewPull) -> QueryResult<()> {
    diesel::insert_into(pulls::table)
        .values(pull)
        .execute(conn)
        .map(|_| ())
}

pub fn list(
    conn: &mut DbConnection,
    dealer: &str,
    after: i64,
    limit: i64,
) -> QueryResult<Page<PullRow>> {
    let rows = pulls::table
        .filter(pulls::dealer_id.eq(dealer))
        .filter(pulls::id.gt(after))
        .select(PullRow::as_select())
        .order(pulls::id.asc())
        .limit(limit + 1)
        .load(conn)?;
    Ok(Page::from_overfetch(rows, limit))
}

/// Everyone who pulled the dealer's lists, as (sub, role, latest pull), leaving out
/// `except_role`.
pub fn pullers(
    conn: &mut DbConnection,
    dealer: &str,
    except_role: &str,
) -> QueryResult<Vec<(String, String, NaiveDateTime)>> {
    let rows: Vec<(String, String, Option<NaiveDateTime>)> = pulls::table
        .filter(pulls::dealer_id.eq(dealer))
        .filter(pulls::role.ne(except_role))
        .group_by((pulls::sub, pulls::role))
        .select((pulls::sub, pulls::role, diesel::dsl::max(pulls::at)))
        .load(conn)?;
    // MAX over a group is never null: every group has a row.
    Ok(rows
        .into_iter()
        .filter_map(|(sub, role, at)| Some((sub, role, at?)))
        .collect())
}
