//! Queries on one-time-code verifications, wrong-code counts and spent subject tokens.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::{failed_codes, spent_subjects, verifications};
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
    /// [`SUBJECT`] or [`IDENTIFIER_CHANGE`].
    pub purpose: String,
    /// For an identifier change: the record that gets the new value.
    pub customer_id: Option<i64>,
    /// For an identifier change: the `sub` of the subject token that asked for it.
    pub requested_by: Option<String>,
}

/// A verification that signs a data subject in.
pub const SUBJECT: &str = "subject";
/// A verification of a new email or mobile for one of a signed-in subject's records.
pub const IDENTIFIER_CHANGE: &str = "identifier_change";

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

/// The ids of the verifications of these identifiers, and of the identifier changes asked for
/// these records, at a dealer (a withdrawal forgets them and what refers to them).
/// Deletes the dealer's verifications of any of `identifier_keys` or asked for any of
/// `customer_ids` (identifier changes); returns their ids. One statement.
pub fn delete_for(
    conn: &mut DbConnection,
    dealer: &str,
    identifier_keys: &[String],
    customer_ids: &[i64],
) -> QueryResult<Vec<String>> {
    diesel::delete(
        verifications::table
            .filter(verifications::dealer_id.eq(dealer))
            .filter(
                verifications::identifier_key
                    .eq_any(identifier_keys)
                    .or(verifications::customer_id.eq_any(customer_ids)),
            ),
    )
    .returning(verifications::id)
    .get_results(conn)
}

/// [`delete_for`], and the dealer's NOT FOUND alerts of `identifier_keys` with them (one
/// statement on PostgreSQL).
pub fn delete_for_with_alerts(
    conn: &mut DbConnection,
    dealer: &str,
    identifier_keys: &[String],
    customer_ids: &[i64],
) -> QueryResult<Vec<String>> {
    if let DbConnection::Pg(pg) = conn {
        return super::backend::withdrawal_steps::forget_verifications_and_alerts(
            pg,
            dealer,
            identifier_keys,
            customer_ids,
        );
    }
    let ids = delete_for(conn, dealer, identifier_keys, customer_ids)?;
    super::lookup_alerts::delete_for_identifiers(conn, dealer, identifier_keys)?;
    Ok(ids)
}

pub fn delete(conn: &mut DbConnection, ids: &[String]) -> QueryResult<usize> {
    diesel::delete(verifications::table.filter(verifications::id.eq_any(ids))).execute(conn)
}

/// Records that the subject token whose `sub` hashes to `sub_key` may no longer be used.
pub fn spend_subject(
    conn: &mut DbConnection,
    sub_key: &str,
    expires_at: NaiveDateTime,
) -> QueryResult<()> {
    // Spent already (a retried or concurrent withdrawal): nothing more to record. DO NOTHING
    // rather than catching the violation, which would abort a PostgreSQL transaction.
    use super::backend::prepared;
    prepared::run::<_, prepared::Done>(
        conn,
        diesel::sql_query(
            "INSERT INTO spent_subjects (sub_key, expires_at) VALUES ($1, $2) \
             ON CONFLICT DO NOTHING RETURNING 1 AS n",
        )
        .bind::<diesel::sql_types::Text, _>(sub_key)
        .bind::<diesel::sql_types::Timestamp, _>(expires_at),
    )?;
    Ok(())
}

pub fn subject_spent(conn: &mut DbConnection, sub_key: &str) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(spent_subjects::table.find(sub_key))).get_result(conn)
}

/// Deletes verifications that expired before `before` (kept that long to count sends).
/// Counts a wrong code against the identifier (across its verifications).
pub fn record_failure(
    conn: &mut DbConnection,
    dealer: &str,
    identifier_key: &str,
    at: NaiveDateTime,
) -> QueryResult<()> {
    diesel::insert_into(failed_codes::table)
        .values((
            failed_codes::dealer_id.eq(dealer),
            failed_codes::identifier_key.eq(identifier_key),
            failed_codes::failed_at.eq(at),
        ))
        .execute(conn)
        .map(|_| ())
}

/// When the identifier's wrong codes since `since` were entered, oldest first.
pub fn failures_since(
    conn: &mut DbConnection,
    dealer: &str,
    identifier_key: &str,
    since: NaiveDateTime,
) -> QueryResult<Vec<NaiveDateTime>> {
    failed_codes::table
        .filter(failed_codes::dealer_id.eq(dealer))
        .filter(failed_codes::identifier_key.eq(identifier_key))
        .filter(failed_codes::failed_at.gt(since))
        .select(failed_codes::failed_at)
        .order(failed_codes::failed_at.asc())
        .load(conn)
}

/// Forgets wrong codes entered before `before`.
pub fn purge_failures(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(failed_codes::table.filter(failed_codes::failed_at.lt(before))).execute(conn)
}

/// Spent subjects go as soon as their tokens would have expired.
pub fn purge_expired(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    let spent = diesel::delete(spent_subjects::table.filter(spent_subjects::expires_at.lt(before)))
        .execute(conn)?;
    let expired = diesel::delete(verifications::table.filter(verifications::expires_at.lt(before)))
        .execute(conn)?;
    Ok(spent + expired)
}
