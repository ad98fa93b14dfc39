//! Steps of a withdrawal that are two or three statements on SQLite and one here on PostgreSQL
//! (data-modifying CTEs and `UPDATE … FROM`, kept prepared). A withdrawal runs about twenty
//! statements, and each costs PostgreSQL about as much to start as to run, so on two cores the
//! count is the rate.

use chrono::{NaiveDate, NaiveDateTime};
use diesel::pg::PgConnection;
use diesel::sql_types::{Array, BigInt, Date, Nullable, Text, Timestamp};
use diesel::QueryResult;

use super::prepared;
use crate::db::leads::ClosedLead;

/// The customer's leads closed as `leads::lose_and_clear` says, returning each with its status
/// before (the `FROM` reads the rows as they were when the statement began).
pub fn lose_and_clear_leads(
    pg: &mut PgConnection,
    customer_id: i64,
    at: NaiveDateTime,
) -> QueryResult<Vec<ClosedLead>> {
    prepared::load_pg(
        pg,
        diesel::sql_query(
            "UPDATE leads SET \
             status = CASE WHEN before.status = 'active' THEN 'lost' ELSE leads.status END, \
             updated_at = CASE WHEN before.status = 'active' THEN $2 ELSE leads.updated_at END, \
             message = NULL, source = NULL, vehicle = NULL \
             FROM (SELECT id, status FROM leads WHERE customer_id = $1) AS before \
             WHERE leads.id = before.id \
             RETURNING leads.id, before.status AS status_before, leads.recipient_name, \
             leads.recipient_email",
        )
        .bind::<BigInt, _>(customer_id)
        .bind::<Timestamp, _>(at),
    )
}

/// Puts the email and the mobile (either may be absent) on their two blacklists, as each list's
/// `add` does.
pub fn blacklist_both(
    pg: &mut PgConnection,
    dealer: &str,
    email: Option<&str>,
    mobile: Option<&str>,
    day: NaiveDate,
) -> QueryResult<()> {
    // Written out, not templated: the text is built on every withdrawal otherwise.
    const SQL: &str = "WITH email AS (INSERT INTO blacklist_emails \
        (dealer_id, value, added_on, changed_on) SELECT $1, $2, $4, $4 WHERE $2 IS NOT NULL \
        ON CONFLICT (dealer_id, value) DO UPDATE SET added_on = excluded.added_on, \
        removed_on = NULL, changed_on = excluded.changed_on \
        WHERE blacklist_emails.removed_on IS NOT NULL RETURNING 1) \
        INSERT INTO blacklist_mobiles (dealer_id, value, added_on, changed_on) \
        SELECT $1, $3, $4, $4 WHERE $3 IS NOT NULL \
        ON CONFLICT (dealer_id, value) DO UPDATE SET added_on = excluded.added_on, \
        removed_on = NULL, changed_on = excluded.changed_on \
        WHERE blacklist_mobiles.removed_on IS NOT NULL RETURNING 1 AS n";
    prepared::run_pg::<_, prepared::Done>(
        pg,
        diesel::sql_query(SQL)
            .bind::<Text, _>(dealer)
            .bind::<Nullable<Text>, _>(email)
            .bind::<Nullable<Text>, _>(mobile)
            .bind::<Date, _>(day),
    )?;
    Ok(())
}

/// Forgets who read the record, keeping only how many reads there were.
pub fn keep_read_count_only(pg: &mut PgConnection, customer_id: i64) -> QueryResult<()> {
    prepared::run_pg::<_, prepared::Done>(
        pg,
        diesel::sql_query(
            "WITH gone AS (DELETE FROM customer_reads WHERE customer_id = $1 RETURNING 1) \
             INSERT INTO withdrawn_read_counts (customer_id, reads) \
             SELECT $1, COUNT(*) FROM gone RETURNING 1 AS n",
        )
        .bind::<BigInt, _>(customer_id),
    )?;
    Ok(())
}

#[derive(diesel::QueryableByName)]
struct VerificationId {
    #[diesel(sql_type = Text)]
    id: String,
}

/// Deletes the dealer's verifications and NOT FOUND alerts of `identifier_keys`, and the
/// verifications asked for `customer_ids`; returns the verifications' ids.
pub fn forget_verifications_and_alerts(
    pg: &mut PgConnection,
    dealer: &str,
    identifier_keys: &[String],
    customer_ids: &[i64],
) -> QueryResult<Vec<String>> {
    let rows: Vec<VerificationId> = prepared::load_pg(
        pg,
        diesel::sql_query(
            "WITH alerts AS (DELETE FROM lookup_alerts \
             WHERE dealer_id = $1 AND identifier_key = ANY($2)) \
             DELETE FROM verifications WHERE dealer_id = $1 \
             AND (identifier_key = ANY($2) OR customer_id = ANY($3)) RETURNING id",
        )
        .bind::<Text, _>(dealer)
        .bind::<Array<Text>, _>(identifier_keys)
        .bind::<Array<BigInt>, _>(customer_ids),
    )?;
    Ok(rows.into_iter().map(|row| row.id).collect())
}
