//! Queries on stored Idempotency-Key responses: count, claim, finish, release, forget and purge.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error as DieselError};

use super::schema::idempotency_keys as keys;
use super::DbConnection;

pub const IN_PROGRESS: &str = "in_progress";
pub const DONE: &str = "done";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = keys)]
pub struct KeyRow {
    pub scope: String,
    pub key: String,
    pub fingerprint: String,
    pub dealer_id: Option<String>,
    pub status: String,
    pub response_status: Option<i32>,
    pub response_type: Option<String>,
    pub response_location: Option<String>,
    pub response_etag: Option<String>,
    pub response_body: Option<Vec<u8>>,
    pub created_at: NaiveDateTime,
    /// What the request was about, as space-delimited tokens (see [`reference`]).
    pub refs: Option<String>,
}

/// The token naming a record or verification in `refs`: `customer:5`, `verification:ab12`.
pub fn reference(kind: &str, id: impl std::fmt::Display) -> String {
    format!("{kind}:{id}")
}

/// How many keys `scope` created since `since`.
pub fn count_for(conn: &mut DbConnection, scope: &str, since: NaiveDateTime) -> QueryResult<i64> {
    keys::table
        .filter(keys::scope.eq(scope))
        .filter(keys::created_at.gt(since))
        .count()
        .get_result(conn)
}

/// Claims `(scope, key)` for a new request; returns the existing record when the key is taken.
pub fn claim(conn: &mut DbConnection, row: &KeyRow) -> QueryResult<Option<KeyRow>> {
    match diesel::insert_into(keys::table).values(row).execute(conn) {
        Ok(_) => Ok(None),
        Err(DieselError::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => keys::table
            .find((&row.scope, &row.key))
            .select(KeyRow::as_select())
            .first(conn)
            .optional(),
        Err(error) => Err(error),
    }
}

/// Stores the response of a finished request.
#[allow(clippy::too_many_arguments)]
pub fn finish(
    conn: &mut DbConnection,
    scope: &str,
    key: &str,
    status: i32,
    content_type: Option<String>,
    location: Option<String>,
    etag: Option<String>,
    body: Vec<u8>,
    refs: Option<String>,
) -> QueryResult<usize> {
    diesel::update(keys::table.find((scope, key)))
        .set((
            keys::refs.eq(refs),
            keys::status.eq(DONE),
            keys::response_status.eq(Some(status)),
            keys::response_type.eq(content_type),
            keys::response_location.eq(location),
            keys::response_etag.eq(etag),
            keys::response_body.eq(Some(body)),
        ))
        .execute(conn)
}

/// Forgets a key (the request failed in a way worth retrying, or it was abandoned).
pub fn release(conn: &mut DbConnection, scope: &str, key: &str) -> QueryResult<usize> {
    diesel::delete(keys::table.find((scope, key))).execute(conn)
}

/// Deletes the dealer's stored responses and keys about any of `references` (a withdrawal: a
/// stored response must not keep a person's details, nor a key link their requests). Matched
/// as whole tokens, so `customer:5` never takes `customer:50`.
pub fn forget_references(
    conn: &mut DbConnection,
    dealer: &str,
    references: &[String],
) -> QueryResult<usize> {
    let mut deleted = 0;
    for reference in references {
        deleted += diesel::delete(
            keys::table.filter(keys::dealer_id.eq(dealer)).filter(
                keys::refs
                    .like(format!("% {} %", super::like_escaped(reference)))
                    .escape('\\'),
            ),
        )
        .execute(conn)?;
    }
    Ok(deleted)
}

/// Deletes records created before `before` (kept 24 hours).
pub fn purge_before(conn: &mut DbConnection, before: NaiveDateTime) -> QueryResult<usize> {
    diesel::delete(keys::table.filter(keys::created_at.lt(before))).execute(conn)
}
