//! Dealer actions: create, read, update, and the one "dealer exists, else 404" check.

use diesel::result::{DatabaseErrorKind, Error as DieselError};

use crate::db::dealers::{self as table, DealerChanges, DealerRow, StoredContact};
use crate::db::{self, DbConnection};
use crate::domain::{DealerId, Email, PersonName};
use crate::error::ApiError;

/// A staff member who receives the dealer's POPIA emails.
#[derive(Debug, Clone)]
pub struct KeyContact {
    pub name: PersonName,
    pub email: Email,
}

pub struct NewDealer {
    pub id: DealerId,
    pub name: String,
    pub website: String,
    pub key_contacts: Vec<KeyContact>,
}

#[derive(Default)]
pub struct DealerUpdate {
    pub name: Option<String>,
    pub website: Option<String>,
    pub key_contacts: Option<Vec<KeyContact>>,
}

fn store_contacts(contacts: &[KeyContact]) -> String {
    let stored: Vec<StoredContact> = contacts
        .iter()
        .map(|c| StoredContact {
            name: c.name.as_str().to_owned(),
            email: c.email.as_str().to_owned(),
        })
        .collect();
    serde_json::to_string(&stored).unwrap_or_else(|_| "[]".into())
}

pub fn create(conn: &mut DbConnection, new: NewDealer) -> Result<DealerRow, ApiError> {
    let now = db::now();
    let row = DealerRow {
        id: new.id.as_str().to_owned(),
        name: new.name,
        website: new.website,
        key_contacts: store_contacts(&new.key_contacts),
        created_at: now,
        updated_at: now,
    };
    db::write_transaction(conn, |conn| match table::insert(conn, &row) {
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Err(
            ApiError::Conflict(format!("dealer `{}` already exists", row.id)),
        ),
        other => other.map_err(ApiError::from),
    })?;
    Ok(row)
}

/// The dealer must exist: `Ok` if it does, 404 `dealer` if not.
pub fn require(conn: &mut DbConnection, id: &DealerId) -> Result<(), ApiError> {
    if table::exists(conn, id.as_str())? {
        Ok(())
    } else {
        Err(ApiError::not_found("dealer"))
    }
}

/// The dealer's row, or 404 `dealer`.
pub fn get(conn: &mut DbConnection, id: &DealerId) -> Result<DealerRow, ApiError> {
    table::find(conn, id.as_str())?.ok_or_else(|| ApiError::not_found("dealer"))
}

pub fn update(
    conn: &mut DbConnection,
    id: &DealerId,
    update: DealerUpdate,
) -> Result<DealerRow, ApiError> {
    let changes = DealerChanges {
        name: update.name,
        website: update.website,
        key_contacts: update.key_contacts.as_deref().map(store_contacts),
        updated_at: Some(db::now()),
    };
    db::write_transaction(conn, |conn| {
        if table::update(conn, id.as_str(), &changes)? == 0 {
            return Err(ApiError::not_found("dealer"));
        }
        get(conn, id)
    })
}
