//! Keeping a statement prepared that diesel would plan on every call. diesel caches a statement
//! only when every part of it says it may: raw SQL (`sql_query`) and every `UPDATE` say no, so
//! PostgreSQL parses and plans them each time, which on the withdrawal's short statements costs
//! about as much as running them. [`Prepared`] says yes for the whole statement: diesel then
//! keys the prepared statement by its SQL text (and bind types), so it is only for statements
//! whose text repeats (a fixed text, or one of a few shapes).

use diesel::pg::{Pg, PgConnection};
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sqlite::SqliteConnection;
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

/// No static id: the cache key is the SQL text.
impl<Q> QueryId for Prepared<Q> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Q: Query> Query for Prepared<Q> {
    type SqlType = Q::SqlType;
}

impl<Q> RunQueryDsl<PgConnection> for Prepared<Q> {}

/// One row of a statement run for its effect: a locking `SELECT`, or an `INSERT`/`UPDATE` with
/// `RETURNING 1 AS n`.
#[derive(diesel::QueryableByName)]
pub struct Done {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    #[allow(dead_code)]
    n: i32,
}

/// Runs `query` (built for either backend, returning rows of `U`) on `conn`, kept prepared on
/// PostgreSQL; returns how many rows it returned. Statements run for their effect go through
/// here with a `RETURNING` (or as a `SELECT`): diesel hands a statement to `execute` by
/// reference, which loses [`Prepared`]'s answer, and to `load` by value, which keeps it. SQLite
/// plans in-process at little cost, and a statement whose text varies with a list's length
/// would fill its cache, so it runs there as diesel decides.
pub fn run<'q, Q, U>(conn: &mut super::DbConnection, query: Q) -> QueryResult<usize>
where
    Prepared<Q>: diesel::query_dsl::LoadQuery<'q, PgConnection, U>,
    Q: diesel::query_dsl::LoadQuery<'q, SqliteConnection, U>,
{
    match conn {
        super::DbConnection::Pg(pg) => Ok(Prepared(query).load::<U>(pg)?.len()),
        super::DbConnection::Sqlite(sqlite) => Ok(query.load::<U>(sqlite)?.len()),
    }
}

/// [`run`] on PostgreSQL only.
pub fn run_pg<'q, Q, U>(pg: &mut PgConnection, query: Q) -> QueryResult<usize>
where
    Prepared<Q>: diesel::query_dsl::LoadQuery<'q, PgConnection, U>,
{
    Ok(load_pg::<Q, U>(pg, query)?.len())
}

/// The rows of `query` on PostgreSQL, kept prepared.
pub fn load_pg<'q, Q, U>(pg: &mut PgConnection, query: Q) -> QueryResult<Vec<U>>
where
    Prepared<Q>: diesel::query_dsl::LoadQuery<'q, PgConnection, U>,
{
    Prepared(query).load::<U>(pg)
}
