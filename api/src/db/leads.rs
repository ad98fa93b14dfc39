//! Queries on the leads table: insert, find, update, and lose-and-clear on withdrawal.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::leads;
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = leads)]
pub struct LeadRow {
    pub id: i64,
    pub dealer_id: String,
    pub customer_id: i64,
    pub status: String,
    pub recipient_name: String,
    pub recipient_email: String,
    pub source: Option<String>,
    pub vehicle: Option<String>,
    pub message: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = leads)]
pub struct NewLeadRow {
    pub dealer_id: String,
    pub customer_id: i64,
    pub status: String,
    pub recipient_name: String,
    pub recipient_email: String,
    pub source: Option<String>,
    pub vehicle: Option<String>,
    pub message: Option<String>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = leads)]
pub struct LeadChanges {
    pub status: Option<String>,
    pub recipient_name: Option<String>,
    pub recipient_email: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
}

pub fn insert(conn: &mut DbConnection, row: &NewLeadRow) -> QueryResult<LeadRow> {
    diesel::insert_into(leads::table)
        .values(row)
        .returning(leads::all_columns)
        .get_result(conn)
}

pub fn find(conn: &mut DbConnection, dealer: &str, id: i64) -> QueryResult<Option<LeadRow>> {
    leads::table
        .filter(leads::dealer_id.eq(dealer))
        .filter(leads::id.eq(id))
        .select(LeadRow::as_select())
        .first(conn)
        .optional()
}

pub fn for_customer(conn: &mut DbConnection, customer_id: i64) -> QueryResult<Vec<LeadRow>> {
    leads::table
        .filter(leads::customer_id.eq(customer_id))
        .select(LeadRow::as_select())
        .order(leads::id.asc())
        .load(conn)
}

pub fn update(conn: &mut DbConnection, id: i64, changes: &LeadChanges) -> QueryResult<LeadRow> {
    diesel::update(leads::table.find(id))
        .set(changes)
        .returning(leads::all_columns)
        .get_result(conn)
}

/// A lead as a withdrawal closed it: its status before, and who was working it.
#[derive(Debug, Clone, QueryableByName)]
pub struct ClosedLead {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    pub id: i64,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub status_before: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub recipient_name: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub recipient_email: String,
}

/// A de-identified customer's leads: active ones become lost (at `at`), and every free-text
/// field (what the customer wrote, where the lead came from, the vehicle, which may hold a
/// registration number) is cleared from all of them; returns them in id order as they were
/// before. One statement on PostgreSQL. The caller holds the record's lock, and every action
/// that adds or reopens a lead waits for it.
pub fn lose_and_clear(
    conn: &mut DbConnection,
    customer_id: i64,
    at: NaiveDateTime,
) -> QueryResult<Vec<ClosedLead>> {
    use diesel::dsl::case_when;
    if let DbConnection::Pg(pg) = conn {
        let mut closed =
            super::backend::withdrawal_steps::lose_and_clear_leads(pg, customer_id, at)?;
        closed.sort_by_key(|lead| lead.id);
        return Ok(closed);
    }
    let before = for_customer(conn, customer_id)?;
    let active = leads::status.eq("active");
    let update = diesel::update(leads::table.filter(leads::customer_id.eq(customer_id))).set((
        leads::status.eq(
            case_when(active, "lost".into_sql::<diesel::sql_types::Text>())
                .otherwise(leads::status),
        ),
        leads::updated_at.eq(case_when(
            leads::status.eq("active"),
            at.into_sql::<diesel::sql_types::Timestamp>(),
        )
        .otherwise(leads::updated_at)),
        leads::message.eq(None::<String>),
        leads::source.eq(None::<String>),
        leads::vehicle.eq(None::<String>),
    ));
    update.execute(conn)?;
    Ok(before
        .into_iter()
        .map(|lead| ClosedLead {
            id: lead.id,
            status_before: lead.status,
            recipient_name: lead.recipient_name,
            recipient_email: lead.recipient_email,
        })
        .collect())
}
