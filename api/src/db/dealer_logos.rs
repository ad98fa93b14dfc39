//! Queries on dealer_logos: the logo each dealer's hosted /pi page shows, fetched once when the
//! dealer set `branding.logo_url` and kept here (the page never loads it from the dealer's site).

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::dealer_logos as logos;
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = logos)]
pub struct LogoRow {
    pub dealer_id: String,
    /// One of image/png, image/jpeg, image/webp, image/gif.
    pub content_type: String,
    pub bytes: Vec<u8>,
    /// The URL the bytes were fetched from.
    pub source_url: String,
    pub fetched_at: NaiveDateTime,
}

/// Stores the dealer's logo, replacing any before it. Run inside the caller's transaction.
pub fn put(conn: &mut DbConnection, row: &LogoRow) -> QueryResult<()> {
    remove(conn, &row.dealer_id)?;
    diesel::insert_into(logos::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

/// Forgets the dealer's logo; the number of rows removed (0 or 1).
pub fn remove(conn: &mut DbConnection, dealer: &str) -> QueryResult<usize> {
    diesel::delete(logos::table.find(dealer)).execute(conn)
}

/// The dealer's logo as `(content type, bytes)`.
pub fn find(conn: &mut DbConnection, dealer: &str) -> QueryResult<Option<(String, Vec<u8>)>> {
    logos::table
        .find(dealer)
        .select((logos::content_type, logos::bytes))
        .first(conn)
        .optional()
}
