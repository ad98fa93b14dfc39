//! Queries on the dealers table and the key contacts stored with each dealer.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use super::schema::dealers;
use super::DbConnection;

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = dealers)]
pub struct DealerRow {
    pub id: String,
    pub name: String,
    pub website: String,
    /// JSON array of `{name, email}`.
    pub key_contacts: String,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
    /// The name the hosted /pi page shows, when it differs from `name`.
    pub display_name: Option<String>,
    /// Where the stored logo (dealer_logos) was fetched from.
    pub logo_url: Option<String>,
    /// The page's button colour, `#rrggbb` lower-case.
    pub primary_colour: Option<String>,
}

/// A key contact as the `key_contacts` column stores it.
#[derive(serde::Serialize, serde::Deserialize)]
pub struct StoredContact {
    pub name: String,
    pub email: String,
}

impl DealerRow {
    /// The key contacts, decoded from their column: `(name, email)` pairs.
    pub fn key_contacts(&self) -> Vec<(String, String)> {
        serde_json::from_str::<Vec<StoredContact>>(&self.key_contacts)
            .unwrap_or_default()
            .into_iter()
            .map(|c| (c.name, c.email))
            .collect()
    }
}

#[derive(Debug, Default, AsChangeset)]
#[diesel(table_name = dealers)]
pub struct DealerChanges {
    pub name: Option<String>,
    pub website: Option<String>,
    pub key_contacts: Option<String>,
    pub updated_at: Option<NaiveDateTime>,
    /// `None` leaves the column; `Some(None)` clears it.
    pub display_name: Option<Option<String>>,
    pub logo_url: Option<Option<String>>,
    pub primary_colour: Option<Option<String>>,
}

pub fn find(conn: &mut DbConnection, id: &str) -> QueryResult<Option<DealerRow>> {
    dealers::table
        .find(id)
        .select(DealerRow::as_select())
        .first(conn)
        .optional()
}

pub fn exists(conn: &mut DbConnection, id: &str) -> QueryResult<bool> {
    use diesel::dsl::{exists, select};
    select(exists(dealers::table.find(id))).get_result(conn)
}

pub fn insert(conn: &mut DbConnection, row: &DealerRow) -> QueryResult<()> {
    diesel::insert_into(dealers::table)
        .values(row)
        .execute(conn)
        .map(|_| ())
}

pub fn update(conn: &mut DbConnection, id: &str, changes: &DealerChanges) -> QueryResult<usize> {
    diesel::update(dealers::table.find(id))
        .set(changes)
        .execute(conn)
}
