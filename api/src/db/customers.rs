use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::customers;
use super::{DbConnection, Page};

#[derive(Debug, Clone, Queryable, Selectable)]
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
