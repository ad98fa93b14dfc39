//! Queries on the customers table: insert, find, search, match an identifier, update and de-
//! identify.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::customers;
use super::{DbConnection, Page};

#[derive(Debug, Clone, Queryable, QueryableByName, Selectable)]
#[diesel(table_name = customers)]
pub struct CustomerRow {
    pub id: i64,
    pub dealer_id: String,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub consent_process: bool,
    pub consent_market: bool,
    pub consent_source: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    pub deidentified_at: Option<NaiveDateTime>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = customers)]
pub struct NewCustomerRow {
    pub dealer_id: String,
    pub first_name: String,
    pub last_name: String,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub consent_process: bool,
    pub consent_market: bool,
    pub consent_source: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// Staff search: every given identifier must match (normalised values).
#[derive(Debug, Default, Clone)]
pub struct CustomerFilter {
    pub email: Option<String>,
    pub mobile: Option<String>,
}

pub fn insert(conn: &mut DbConnection, row: &NewCustomerRow) -> QueryResult<CustomerRow> {
    diesel::insert_into(customers::table)
        .values(row)
        .returning(customers::all_columns)
        .get_result(conn)
}

/// One customer of one dealer: another dealer's customer is simply not found.
pub fn find(conn: &mut DbConnection, dealer: &str, id: i64) -> QueryResult<Option<CustomerRow>> {
    customers::table
        .filter(customers::dealer_id.eq(dealer))
        .filter(customers::id.eq(id))
        .select(CustomerRow::as_select())
        .first(conn)
        .optional()
}

/// The dealer's records `ids` as they are now, locked until the transaction ends: on PostgreSQL
/// `FOR UPDATE` in id order (two withdrawals of overlapping records wait for each other instead
/// of deadlocking), and the rows read are the latest committed; SQLite has one writer and only
/// reads them.
pub fn lock(conn: &mut DbConnection, dealer: &str, ids: &[i64]) -> QueryResult<Vec<CustomerRow>> {
    let rows = customers::table
        .filter(customers::dealer_id.eq(dealer))
        .filter(customers::id.eq_any(ids))
        .order(customers::id.asc());
    match conn {
        DbConnection::Pg(pg) => rows.select(CustomerRow::as_select()).for_update().load(pg),
        DbConnection::Sqlite(sqlite) => rows.select(CustomerRow::as_select()).load(sqlite),
    }
}

/// A keyset page of the dealer's customers in id order, after `after`.
pub fn list(
    conn: &mut DbConnection,
    dealer: &str,
    filter: &CustomerFilter,
    after: i64,
    limit: i64,
) -> QueryResult<Page<CustomerRow>> {
    let mut query = customers::table
        .filter(customers::dealer_id.eq(dealer))
        .filter(customers::id.gt(after))
        .select(CustomerRow::as_select())
        .order(customers::id.asc())
        .limit(limit + 1)
        .into_boxed();
    if let Some(email) = &filter.email {
        query = query.filter(customers::email.eq(email.clone()));
    }
    if let Some(mobile) = &filter.mobile {
        query = query.filter(customers::mobile.eq(mobile.clone()));
    }
    Ok(Page::from_overfetch(query.load(conn)?, limit))
}

/// Staff search: a page of [`list`], each record on it logged as read. On PostgreSQL one
/// statement does both (the lookup's hot path: one round trip); SQLite runs the two.
pub fn search_recording_reads(
    conn: &mut DbConnection,
    filter: &CustomerFilter,
    after: i64,
    limit: i64,
    read: &super::customer_reads::Read<'_>,
) -> QueryResult<Page<CustomerRow>> {
    if let DbConnection::Pg(pg) = conn {
        let rows = super::backend::search::search_recording_reads(pg, filter, after, limit, read)?;
        return Ok(Page::from_overfetch(rows, limit));
    }
    let page = list(conn, read.dealer, filter, after, limit)?;
    let ids: Vec<i64> = page.items.iter().map(|c| c.id).collect();
    super::customer_reads::record(conn, read.dealer, &ids, read.reader, read.at)?;
    Ok(page)
}

/// The dealer's records that hold any of these emails or mobiles and are not de-identified.
pub fn matching(
    conn: &mut DbConnection,
    dealer: &str,
    emails: &[String],
    mobiles: &[String],
) -> QueryResult<Vec<CustomerRow>> {
    customers::table
        .filter(customers::dealer_id.eq(dealer))
        .filter(customers::deidentified_at.is_null())
        .filter(
            customers::email
                .eq_any(emails)
                .or(customers::mobile.eq_any(mobiles)),
        )
        .select(CustomerRow::as_select())
        .order(customers::id.asc())
        .load(conn)
}

/// The dealer's records held under one verified identifier (not de-identified).
pub fn matching_identifier(
    conn: &mut DbConnection,
    dealer: &str,
    identifier: &crate::domain::Identifier,
) -> QueryResult<Vec<CustomerRow>> {
    let value = vec![identifier.as_str().to_owned()];
    match identifier {
        crate::domain::Identifier::Email(_) => matching(conn, dealer, &value, &[]),
        crate::domain::Identifier::Mobile(_) => matching(conn, dealer, &[], &value),
    }
}

/// The personal fields an amendment may change.
#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = customers)]
pub struct CustomerChanges {
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub email: Option<String>,
    pub mobile: Option<String>,
    pub consent_process: Option<bool>,
    pub consent_market: Option<bool>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn update(
    conn: &mut DbConnection,
    id: i64,
    changes: &CustomerChanges,
) -> QueryResult<CustomerRow> {
    diesel::update(customers::table.find(id))
        .set(changes)
        .returning(customers::all_columns)
        .get_result(conn)
}

/// Clears every personal field; the id stays. Both consents become false.
pub fn deidentify(conn: &mut DbConnection, id: i64, at: NaiveDateTime) -> QueryResult<usize> {
    super::backend::prepared::run::<_, i64>(
        conn,
        diesel::update(customers::table.find(id))
            .set((
                customers::first_name.eq(None::<String>),
                customers::last_name.eq(None::<String>),
                customers::email.eq(None::<String>),
                customers::mobile.eq(None::<String>),
                customers::consent_source.eq(None::<String>),
                customers::consent_process.eq(false),
                customers::consent_market.eq(false),
                customers::deidentified_at.eq(Some(at)),
                customers::updated_at.eq(at),
            ))
            .returning(customers::id),
    )
}
