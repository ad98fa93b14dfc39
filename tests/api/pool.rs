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
