//! The two consent blacklists. Their tables have the same shape but are different tables (so
//! nothing joins them); the macro writes the same functions for each.

use chrono::NaiveDate;

/// A blacklist entry as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub value: String,
    pub added_on: NaiveDate,
    pub removed_on: Option<NaiveDate>,
}

macro_rules! blacklist {
    ($module:ident, $table:ident) => {
        pub mod $module {
            use chrono::NaiveDate;
            use diesel::prelude::*;

            use super::Entry;
            use crate::db::schema::$table as list;
            use crate::db::DbConnection;

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

            /// Puts `value` on the list (again, if it had left it). Callers hold the dealer's
            /// write lock, so the check and the write cannot race.
            pub fn add(
                conn: &mut DbConnection,
                dealer: &str,
                value: &str,
                day: NaiveDate,
            ) -> QueryResult<()> {
                let existing: Option<Option<NaiveDate>> = list::table
                    .find((dealer, value))
                    .select(list::removed_on)
                    .first(conn)
                    .optional()?;
                match existing {
                    None => {
                        diesel::insert_into(list::table)
                            .values((
                                list::dealer_id.eq(dealer),
                                list::value.eq(value),
                                list::added_on.eq(day),
                            ))
                            .execute(conn)?;
                    }
                    Some(Some(_)) => {
                        diesel::update(list::table.find((dealer, value)))
                            .set((
                                list::added_on.eq(day),
                                list::removed_on.eq(None::<NaiveDate>),
                            ))
                            .execute(conn)?;
                    }
                    Some(None) => {}
                }
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
                .set(list::removed_on.eq(Some(day)))
                .execute(conn)?;
                Ok(changed > 0)
            }

            pub fn find(
                conn: &mut DbConnection,
                dealer: &str,
                value: &str,
            ) -> QueryResult<Option<Entry>> {
                list::table
                    .find((dealer, value))
                    .select((list::value, list::added_on, list::removed_on))
                    .first::<(String, NaiveDate, Option<NaiveDate>)>(conn)
                    .optional()
                    .map(|row| {
                        row.map(|(value, added_on, removed_on)| Entry {
                            value,
                            added_on,
                            removed_on,
                        })
                    })
            }
        }
    };
}

blacklist!(emails, blacklist_emails);
blacklist!(mobiles, blacklist_mobiles);
