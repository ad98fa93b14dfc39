use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::verifications;
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = verifications)]
pub struct VerificationRow {
    pub id: String,
    pub dealer_id: String,
    pub channel: String,
    pub identifier: String,
    pub identifier_key: String,
    pub client_key: String,
    pub code_hash: String,
    pub attempts: i32,
    pub created_at: NaiveDateTime,
    pub expires_at: NaiveDateTime,
    pub used_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, row: &VerificationRow) -> QueryResult<()> {
    diesel::insert_into(verifications::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn find(
    conn: &mut DbConnection,
    dealer: &str,
    id: &str,
) -> QueryResult<Option<VerificationRow>> {
    verifications::table
        .filter(verifications::dealer_id.eq(dealer))
        .filter(verifications::id.eq(id))
        .select(VerificationRow::as_select())
        .first(conn)
        .optional()
}

/// Send times of one identifier at one dealer since `since`, oldest first.
pub fn sends_for_identifier(
    conn: &mut DbConnection,
    dealer: &str,
    identifier_key: &str,
    since: NaiveDateTime,
) -> QueryResult<Vec<NaiveDateTime>> {
    verifications::table
        .filter(verifications::dealer_id.eq(dealer))
        .filter(verifications::identifier_key.eq(identifier_key))
        .filter(verifications::created_at.gt(since))
        .select(verifications::created_at)
        .order(verifications::created_at.asc())
        .load(conn)
}

/// Send times from one client address (at any dealer) since `since`, oldest first.
pub fn sends_for_client(
    conn: &mut DbConnection,
    client_key: &str,
    since: NaiveDateTime,
) -> QueryResult<Vec<NaiveDateTime>> {
    verifications::table
        .filter(verifications::client_key.eq(client_key))
        .filter(verifications::created_at.gt(since))
        .select(verifications::created_at)
        .order(verifications::created_at.asc())
        .load(conn)
}

pub fn record_attempt(conn: &mut DbConnection, id: &str) -> QueryResult<usize> {
    diesel::update(verifications::table.find(id))
        .set(verifications::attempts.eq(verifications::attempts + 1))
        .execute(conn)
}

pub fn mark_used(conn: &mut DbConnection, id: &str, at: NaiveDateTime) -> QueryResult<usize> {
    diesel::update(verifications::table.find(id))
        .set((
            verifications::used_at.eq(Some(at)),
            verifications::attempts.eq(verifications::attempts + 1),
        ))
        .execute(conn)
}

/// Forgets every verification of these identifiers at a dealer (a withdrawal).
pub fn delete_for_identifiers(
    conn: &mut DbConnection,
    dealer: &str,
    identifier_keys: &[String],
) -> QueryResult<usize> {
    diesel::delete(
        verifications::table
            .filter(verifications::dealer_id.eq(dealer))
            .filter(verifications::identifier_key.eq_any(identifier_keys)),
    )
    .execute(conn)
}

/// Deletes verifications that expired before `before` (kept that long to count sends).
pub fn purge_expired(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(verifications::table.filter(verifications::expires_at.lt(before))).execute(conn)
}
