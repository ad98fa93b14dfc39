//! The pool never hands out a connection still inside a transaction: not after a panic inside
//! an action's transaction, not after a rollback that failed.

use diesel::{Connection, RunQueryDsl};
use popia_api::db::{self, DbConnection};
use r2d2::ManageConnection;

use crate::helpers::*;

#[derive(diesel::QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

fn dealer_name(conn: &mut DbConnection) -> String {
    diesel::sql_query("SELECT name FROM dealers WHERE id = 'abc-motors'")
        .load::<Name>(conn)
        .unwrap()
        .remove(0)
        .name
}

fn rename(conn: &mut DbConnection, name: &str) -> diesel::QueryResult<()> {
    diesel::sql_query(format!(
        "UPDATE dealers SET name = '{name}' WHERE id = 'abc-motors'"
    ))
    .execute(conn)
    .map(|_| ())
}

/// A panic inside a transaction does not poison the pool.
#[tokio::test]
async fn a_panic_inside_a_transaction_does_not_poison_the_pool() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let url = app.database_url.clone();
    tokio::task::spawn_blocking(move || {
        // One connection, so the next caller would get the very one that panicked.
        let pool = db::connect(&url, 1).unwrap();
        let panicking = pool.clone();
        let outcome = std::thread::spawn(move || {
            let mut conn = panicking.get().unwrap();
            let _: Result<(), diesel::result::Error> =
                db::dealer_transaction(&mut conn, "abc-motors", |conn| {
                    rename(conn, "Half-done")?;
                    panic!("a bug inside an action's transaction");
                });
        })
        .join();
        assert!(outcome.is_err(), "the action panicked");

        // The next action on the same pool commits: another connection sees it.
        let mut conn = pool.get().unwrap();
        db::dealer_transaction(&mut conn, "abc-motors", |conn| rename(conn, "After")).unwrap();
        drop(conn);
        let mut other = db::connect(&url, 1).unwrap().get().unwrap();
        assert_eq!(dealer_name(&mut other), "After");
    })
    .await
    .unwrap();
}

/// A connection whose rollback failed is discarded.
#[tokio::test]
async fn a_connection_whose_rollback_failed_is_discarded() {
    let app = spawn_app().await;
    if !app.database_url.starts_with("postgres") {
        // SQLite offers no way to make a ROLLBACK fail from the outside.
        return;
    }
    app.create_dealer("abc-motors").await;
    let url = app.database_url.clone();
    tokio::task::spawn_blocking(move || {
        let manager = popia_api::db::backend::ConnectionManager::new(&url).unwrap();
        let mut conn = manager.connect().unwrap();
        assert!(!manager.has_broken(&mut conn));
        // The server ends the session inside the transaction: the action fails, and so does
        // the ROLLBACK that follows.
        let failed: Result<(), diesel::result::Error> = db::write_transaction(&mut conn, |conn| {
            rename(conn, "Half-done")?;
            diesel::sql_query("SELECT pg_terminate_backend(pg_backend_pid())")
                .execute(conn)
                .map(|_| ())
        });
        assert!(failed.is_err());
        assert!(
            manager.has_broken(&mut conn),
            "a connection whose rollback failed would go back to the pool"
        );
        let mut other = diesel::PgConnection::establish(&url).unwrap();
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
        }
        let name = diesel::sql_query("SELECT name FROM dealers WHERE id = 'abc-motors'")
            .load::<N>(&mut other)
            .unwrap()
            .remove(0)
            .name;
        assert_ne!(name, "Half-done");
    })
    .await
    .unwrap();
}

#[derive(diesel::QueryableByName)]
struct Pid {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pid: i32,
}

fn backend_pid(conn: &mut DbConnection) -> diesel::QueryResult<i32> {
    diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .load::<Pid>(conn)
        .map(|rows| rows[0].pid)
}

/// Connections are not tested on checkout: one whose server process went away (PostgreSQL
/// restarted) fails its query once, is then discarded rather than returned, and the readiness
/// check looks past such a connection instead of answering "not ready".
#[tokio::test]
async fn a_lost_postgres_connection_is_discarded_after_its_failed_query() {
    let app = spawn_app().await;
    let url = app.database_url.clone();
    if !url.starts_with("postgres") {
        println!("skipped: PostgreSQL only");
        return;
    }
    tokio::task::spawn_blocking(move || {
        // One connection, so the next caller would get the very one that was lost.
        let pool = db::connect(&url, 1).unwrap();
        let terminate = |pid: i32| {
            let mut other = db::connect(&url, 1).unwrap().get().unwrap();
            diesel::sql_query(format!("SELECT pg_terminate_backend({pid}, 5000)"))
                .execute(&mut *other)
                .unwrap();
        };

        // A statement already prepared on the connection (the cached path).
        let mut conn = pool.get().unwrap();
        let first = backend_pid(&mut conn).unwrap();
        terminate(first);
        assert!(backend_pid(&mut conn).is_err(), "the lost connection fails");
        assert!(db::backend::is_broken(&mut conn), "and is known to be lost");
        drop(conn);
        let mut conn = pool.get().unwrap();
        let second = backend_pid(&mut conn).expect("a fresh connection answers");
        assert_ne!(first, second);

        // A statement prepared for the first time on a lost connection (the prepare path).
        terminate(second);
        {
            use diesel::dsl::sql;
            use diesel::sql_types::Integer;
            assert!(diesel::select(sql::<Integer>("2"))
                .load::<i32>(&mut conn)
                .is_err());
        }
        assert!(db::backend::is_broken(&mut conn), "lost while preparing");
        drop(conn);

        // The readiness check: the pool's only connection is lost, and it still answers ready.
        let third = backend_pid(&mut pool.get().unwrap()).unwrap();
        terminate(third);
        assert!(db::ping(&pool), "ready: the lost connection is replaced");
        assert_ne!(backend_pid(&mut pool.get().unwrap()).unwrap(), third);
    })
    .await
    .unwrap();
}
