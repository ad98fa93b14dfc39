//! Keeping a statement prepared that diesel would plan on every call. diesel caches a statement
//! only when every part of it says it may: raw SQL (`sql_query`) and every `UPDATE` say no, so
//! PostgreSQL parses and plans them each time, which on the withdrawal's short statements costs
//! about as much as running them. [`Prepared`] says yes for the whole statement: diesel then
//! keys the prepared statement by its SQL text (and bind types), so it is only for statements
//! whose text repeats (a fixed text, or one of a few shapes).

use diesel::pg::{Pg, PgConnection};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sqlite::{Sqlite, SqliteConnection};
use diesel::{QueryResult, RunQueryDsl};

/// A statement kept prepared, keyed by its SQL text.
pub struct Prepared<Q>(pub Q);

impl<Q: QueryFragment<Pg>> QueryFragment<Pg> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Pg) -> QueryResult<bool> {
        Ok(true)
    }
}

impl<Q: QueryFragment<Sqlite>> QueryFragment<Sqlite> for Prepared<Q> {
    fn walk_ast<'b>(&'b self, pass: AstPass<'_, 'b, Sqlite>) -> QueryResult<()> {
        self.0.walk_ast(pass)
    }

    fn is_safe_to_cache_prepared(&self, _backend: &Sqlite) -> QueryResult<bool> {
        Ok(true)
    }
}

/// No static id: the cache key is the SQL text.
impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

impl<Q> RunQueryDsl<PgConnection> for Prepared<Q> {}
impl<Q> RunQueryDsl<SqliteConnection> for Prepared<Q> {}

/// Runs `query` (built for either backend) on `conn`, kept prepared.
pub fn execute<Q>(conn: &mut super::DbConnection, query: Q) -> QueryResult<usize>
where
    Q: QueryFragment<Pg> + QueryFragment<Sqlite>,
{
    match conn {
        super::DbConnection::Pg(pg) => Prepared(query).execute(pg),
        super::DbConnection::Sqlite(sqlite) => Prepared(query).execute(sqlite),
    }
}
