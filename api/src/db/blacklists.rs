//! The two consent blacklists. Their tables have the same shape but are different tables (so
//! nothing joins them); the macro writes the same functions for each.

use chrono::NaiveDate;

/// A blacklist entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub value: String,
    pub added_on: NaiveDate,
    pub removed_on: Option<NaiveDate>,
    pub changed_on: NaiveDate,
}

/// A keyset position in a blacklist: the day and the value of the last entry read.
pub type Position = (NaiveDate, String);

/// Rows read per batch when streaming a whole list.
pub const BATCH: i64 = 5000;

macro_rules! blacklist {
    ($module:ident, $table:ident) => {
        pub mod $module {
            use chrono::NaiveDate;
            use diesel::prelude::*;
            use diesel::sql_types::{Bool, Date, Text};

            use super::{Entry, Position};
            use crate::db::schema::$table as list;
            use crate::db::DbConnection;

            type Row = (String, NaiveDate, Option<NaiveDate>, NaiveDate);

            fn entry((value, added_on, removed_on, changed_on): Row) -> Entry {
                Entry {
                    value,
                    added_on,
                    removed_on,
                    changed_on,
                }
            }

            const COLUMNS: (
                list::value,
                list::added_on,
                list::removed_on,
                list::changed_on,
            ) = (
                list::value,
                list::added_on,
                list::removed_on,
                list::changed_on,
            );

            /// Whether `value` is on the dealer's list now.
            pub fn contains(
                conn: &mut DbConnection,
                dealer: &str,
                value: &str,
            ) -> QueryResult<bool> {
                use diesel::dsl::{exists, select};
                select(exists(
                    list::table
                        .find((dealer, value))
                        .filter(list::removed_on.is_null()),
                ))
                .get_result(conn)
            }

            /// Which of `values` are on the dealer's list now.
            pub fn present(
                conn: &mut DbConnection,
                dealer: &str,
                values: &[String],
            ) -> QueryResult<Vec<String>> {
                let mut found = Vec::new();
                for chunk in values.chunks(500) {
                    found.extend(
                        list::table
                            .filter(list::dealer_id.eq(dealer))
                            .filter(list::value.eq_any(chunk))
                            .filter(list::removed_on.is_null())
                            .select(list::value)
                            .load::<String>(conn)?,
                    );
                }
                Ok(found)
            }

            /// Puts `value` on the list (again, if it had left it; an entry on it now is left
            /// as it is). One statement, so two withdrawals adding the same value at once (on
            /// PostgreSQL they run in parallel) cannot both insert it.
            pub fn add(
                conn: &mut DbConnection,
                dealer: &str,
                value: &str,
                day: NaiveDate,
            ) -> QueryResult<()> {
                // Written out: diesel's upsert builder does not reach a connection that may be
                // either backend, and both speak this SQL.
                use crate::db::backend::prepared;
                prepared::run::<_, prepared::Done>(conn, diesel::sql_query(concat!(
                    "INSERT INTO ",
                    stringify!($table),
                    " (dealer_id, value, added_on, changed_on) VALUES ($1, $2, $3, $3) \
                     ON CONFLICT (dealer_id, value) DO UPDATE SET added_on = excluded.added_on, \
                     removed_on = NULL, changed_on = excluded.changed_on WHERE ",
                    stringify!($table),
                    ".removed_on IS NOT NULL RETURNING 1 AS n"
                ))
                .bind::<Text, _>(dealer)
                .bind::<Text, _>(value)
                .bind::<Date, _>(day))?;
                Ok(())
            }

            /// Takes `value` off the list (fresh consent); the entry stays, marked removed, so the
            /// change feed can publish the removal.
            pub fn remove(
                conn: &mut DbConnection,
                dealer: &str,
                value: &str,
                day: NaiveDate,
            ) -> QueryResult<bool> {
                let changed = diesel::update(
                    list::table
                        .find((dealer, value))
                        .filter(list::removed_on.is_null()),
                )
                .set((list::removed_on.eq(Some(day)), list::changed_on.eq(day)))
                .execute(conn)?;
                Ok(changed > 0)
            }

            /// A keyset page of the entries on the list, by (added_on, value).
            pub fn page(
                conn: &mut DbConnection,
                dealer: &str,
                after: Option<&Position>,
                limit: i64,
            ) -> QueryResult<Vec<Entry>> {
                let mut query = list::table
                    .filter(list::dealer_id.eq(dealer))
                    .filter(list::removed_on.is_null())
                    .select(COLUMNS)
                    .order((list::added_on.asc(), list::value.asc()))
                    .limit(limit)
                    .into_boxed();
                if let Some((day, value)) = after {
                    // A row-value comparison uses the (dealer, added_on, value) index.
                    query = query.filter(
                        diesel::dsl::sql::<Bool>("(added_on, value) > (")
                            .bind::<Date, _>(*day)
                            .sql(", ")
                            .bind::<Text, _>(value.clone())
                            .sql(")"),
                    );
                }
                Ok(query.load::<Row>(conn)?.into_iter().map(entry).collect())
            }

            /// A keyset page of the entries changed on or after `since`, by (changed_on, value).
            pub fn changes(
                conn: &mut DbConnection,
                dealer: &str,
                since: NaiveDate,
                after: Option<&Position>,
                limit: i64,
            ) -> QueryResult<Vec<Entry>> {
                let mut query = list::table
                    .filter(list::dealer_id.eq(dealer))
                    .filter(list::changed_on.ge(since))
                    .select(COLUMNS)
                    .order((list::changed_on.asc(), list::value.asc()))
                    .limit(limit)
                    .into_boxed();
                if let Some((day, value)) = after {
                    query = query.filter(
                        diesel::dsl::sql::<Bool>("(changed_on, value) > (")
                            .bind::<Date, _>(*day)
                            .sql(", ")
                            .bind::<Text, _>(value.clone())
                            .sql(")"),
                    );
                }
                Ok(query.load::<Row>(conn)?.into_iter().map(entry).collect())
            }
        }
    };
}

blacklist!(emails, blacklist_emails);
blacklist!(mobiles, blacklist_mobiles);

/// Which list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum List {
    Emails,
    Mobiles,
}

impl List {
    pub fn as_str(self) -> &'static str {
        match self {
            List::Emails => "emails",
            List::Mobiles => "mobiles",
        }
    }

    /// The list's table.
    pub fn table(self) -> &'static str {
        match self {
            List::Emails => "blacklist_emails",
            List::Mobiles => "blacklist_mobiles",
        }
    }

    /// A page of the list (`since` None) or of its changes since a day.
    pub fn read(
        self,
        conn: &mut super::DbConnection,
        dealer: &str,
        since: Option<NaiveDate>,
        after: Option<&Position>,
        limit: i64,
    ) -> diesel::QueryResult<Vec<Entry>> {
        match (self, since) {
            (List::Emails, None) => emails::page(conn, dealer, after, limit),
            (List::Emails, Some(day)) => emails::changes(conn, dealer, day, after, limit),
            (List::Mobiles, None) => mobiles::page(conn, dealer, after, limit),
            (List::Mobiles, Some(day)) => mobiles::changes(conn, dealer, day, after, limit),
        }
    }
}

/// Puts a withdrawn record's email and mobile (either may be absent) on their two lists: one
/// statement on PostgreSQL, each list's `add` on SQLite.
pub fn add_to_both(
    conn: &mut crate::db::DbConnection,
    dealer: &str,
    email: Option<&str>,
    mobile: Option<&str>,
    day: NaiveDate,
) -> diesel::QueryResult<()> {
    if let crate::db::DbConnection::Pg(pg) = conn {
        return crate::db::backend::withdrawal_steps::blacklist_both(
            pg, dealer, email, mobile, day,
        );
    }
    if let Some(email) = email {
        emails::add(conn, dealer, email, day)?;
    }
    if let Some(mobile) = mobile {
        mobiles::add(conn, dealer, mobile, day)?;
    }
    Ok(())
}
