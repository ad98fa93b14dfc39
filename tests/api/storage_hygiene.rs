//! Unlinkability at the storage level: after the hygiene pass no blacklist row shares a
//! transaction id with the other list or the customer rows, and each day's rows lie in value
//! order (PostgreSQL); `secure_delete` is on and the WAL is truncated (SQLite). The pass never
//! loses, duplicates or alters a blacklist row, even racing withdrawals and removals.

use diesel::sql_types::{BigInt, Nullable, Text};
use diesel::RunQueryDsl;
use popia_api::db::DbConnection;
use popia_api::service::storage_hygiene;
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

fn today() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

/// A customer of abc-motors with email `person{n}@sea.example` and mobile `082 555 {n:04}`.
async fn person(app: &TestApp, n: usize) -> i64 {
    let body = json!({"first_name": format!("P{n}"), "last_name": "Hygiene",
                      "email": format!("person{n:02}@sea.example"), "mobile": format!("082 555 {n:04}"),
                      "consent_process": true, "consent_market": false});
    app.create_customer("abc-motors", body).await["id"]
        .as_i64()
        .unwrap()
}

async fn withdraw(app: &TestApp, id: i64) {
    let done = app
        .post(
            &format!("/v1/dealers/abc-motors/customers/{id}/withdraw-consent"),
            &dealer("abc-motors"),
            json!({}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Rows joined on a shared transaction id: email–mobile, email–customer, mobile–customer.
fn shared_xmin(conn: &mut DbConnection) -> [i64; 3] {
    let count = |conn: &mut DbConnection, a: &str, b: &str| {
        diesel::sql_query(format!(
            "SELECT count(*) AS n FROM {a} x JOIN {b} y ON x.xmin::text = y.xmin::text"
        ))
        .get_result::<Count>(conn)
        .unwrap()
        .n
    };
    [
        count(conn, "blacklist_emails", "blacklist_mobiles"),
        count(conn, "blacklist_emails", "customers"),
        count(conn, "blacklist_mobiles", "customers"),
    ]
}

/// Whether, within each day, the list's physical order is its value order.
fn in_value_order(conn: &mut DbConnection, table: &str) -> bool {
    #[derive(diesel::QueryableByName)]
    struct Row {
        #[diesel(sql_type = Text)]
        day: String,
        #[diesel(sql_type = Text)]
        value: String,
    }
    let rows: Vec<Row> = diesel::sql_query(format!(
        "SELECT CAST(changed_on AS TEXT) AS day, value FROM {table} ORDER BY ctid"
    ))
    .load(conn)
    .unwrap();
    let mut days = std::collections::BTreeMap::<String, Vec<String>>::new();
    for row in rows {
        days.entry(row.day).or_default().push(row.value);
    }
    days.values().all(|values| values.is_sorted())
}

#[derive(diesel::QueryableByName, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Entry {
    #[diesel(sql_type = Text)]
    value: String,
    #[diesel(sql_type = Text)]
    added_on: String,
    #[diesel(sql_type = Nullable<Text>)]
    removed_on: Option<String>,
    #[diesel(sql_type = Text)]
    changed_on: String,
}

/// Every row of a list, every column as text, sorted.
fn entries(conn: &mut DbConnection, table: &str) -> Vec<Entry> {
    let mut rows: Vec<Entry> = diesel::sql_query(format!(
        "SELECT value, CAST(added_on AS TEXT) AS added_on, CAST(removed_on AS TEXT) AS removed_on, \
         CAST(changed_on AS TEXT) AS changed_on FROM {table}"
    ))
    .load(conn)
    .unwrap();
    rows.sort();
    rows
}

/// After the pass no blacklist row is linked by storage.
#[tokio::test]
async fn after_the_pass_no_blacklist_row_is_linked_by_storage() {
    // No delivery worker: nothing but this test writes while the WAL is checked.
    let app = spawn_app_with(|config| config.notify.delivery.enabled = false).await;
    app.create_dealer("abc-motors").await;
    let mut ids = Vec::new();
    for n in 0..6 {
        ids.push(person(&app, n).await);
    }
    // Withdrawn last value first, so insertion order is the reverse of value order.
    for id in ids.iter().rev() {
        withdraw(&app, *id).await;
    }
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    match &mut *conn {
        DbConnection::Pg(_) => {
            let before = shared_xmin(&mut conn);
            assert!(
                before.iter().all(|n| *n > 0),
                "a withdrawal links its rows: {before:?}"
            );
            assert!(!in_value_order(&mut conn, "blacklist_emails"));
            let rewritten = storage_hygiene::run(&mut conn, today()).unwrap();
            assert_eq!(rewritten, 12);
            assert_eq!(shared_xmin(&mut conn), [0, 0, 0]);
            for table in ["blacklist_emails", "blacklist_mobiles"] {
                assert!(in_value_order(&mut conn, table), "{table}");
            }
        }
        DbConnection::Sqlite(_) => {
            #[derive(diesel::QueryableByName)]
            struct SecureDelete {
                #[diesel(sql_type = diesel::sql_types::Integer)]
                secure_delete: i32,
            }
            let pragma = diesel::sql_query("PRAGMA secure_delete")
                .get_result::<SecureDelete>(&mut *conn)
                .unwrap();
            assert_eq!(pragma.secure_delete, 1);
            let database = popia_api::db::backend::sqlite_file(&app.database_url).unwrap();
            let mut wal = database.into_os_string();
            wal.push("-wal");
            let size = || std::fs::metadata(&wal).map_or(0, |m| m.len());
            assert!(size() > 0, "the withdrawals went through the WAL");
            assert_eq!(storage_hygiene::run(&mut conn, today()).unwrap(), 0);
            assert_eq!(size(), 0, "the WAL is truncated");
        }
    }
}

/// The pass keeps every blacklist row exactly.
#[tokio::test]
async fn the_pass_keeps_every_blacklist_row_exactly() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    seed_emails(&app, 3); // older days, outside the pass's window
    let mut ids = Vec::new();
    for n in 0..4 {
        ids.push(person(&app, n).await);
    }
    for id in &ids {
        withdraw(&app, *id).await;
    }
    // Person 1 comes back with fresh consent: their entries stay, marked removed today.
    let back = json!({"first_name": "Back", "last_name": "Again", "email": "person01@sea.example",
                      "mobile": "082 555 0001", "consent_process": true, "consent_market": false,
                      "consent_source": "signed form at the dealership"});
    app.create_customer("abc-motors", back).await;

    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    let before = [
        entries(&mut conn, "blacklist_emails"),
        entries(&mut conn, "blacklist_mobiles"),
    ];
    assert_eq!((before[0].len(), before[1].len()), (7, 4));
    let removed: Vec<&Entry> = before
        .iter()
        .flatten()
        .filter(|e| e.removed_on.is_some())
        .collect();
    assert_eq!(removed.len(), 2, "{removed:?}");
    for _ in 0..2 {
        storage_hygiene::run(&mut conn, today()).unwrap();
        let after = [
            entries(&mut conn, "blacklist_emails"),
            entries(&mut conn, "blacklist_mobiles"),
        ];
        assert_eq!(after, before);
    }
}

/// Passes racing withdrawals and removals lose nothing.
#[tokio::test]
async fn passes_racing_withdrawals_and_removals_lose_nothing() {
    const PEOPLE: usize = 16;
    let app = std::sync::Arc::new(spawn_app().await);
    app.create_dealer("abc-motors").await;
    let mut ids = Vec::new();
    for n in 0..PEOPLE {
        ids.push(person(&app, n).await);
    }
    // The even ones are on the lists before the race; during it they come back with fresh
    // consent (their entries are removed) while the odd ones withdraw.
    for id in ids.iter().step_by(2) {
        withdraw(&app, *id).await;
    }
    let racing = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let passes = {
        let (pool, racing) = (app.pool(), racing.clone());
        tokio::task::spawn_blocking(move || {
            let mut conn = pool.get().unwrap();
            let mut passes = 0;
            while racing.load(std::sync::atomic::Ordering::Relaxed) || passes == 0 {
                storage_hygiene::run(&mut conn, today()).unwrap();
                passes += 1;
            }
            passes
        })
    };
    let mut tasks = Vec::new();
    for (n, id) in ids.iter().copied().enumerate() {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            if n % 2 == 1 {
                return withdraw(&app, id).await;
            }
            let back = json!({"first_name": "Back", "last_name": "Again",
                              "email": format!("person{n:02}@sea.example"), "mobile": format!("082 555 {n:04}"),
                              "consent_process": true, "consent_market": false,
                              "consent_source": "signed form at the dealership"});
            app.create_customer("abc-motors", back).await;
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    racing.store(false, std::sync::atomic::Ordering::Relaxed);
    assert!(passes.await.unwrap() > 0);

    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    for table in ["blacklist_emails", "blacklist_mobiles"] {
        let rows = entries(&mut conn, table);
        assert_eq!(rows.len(), PEOPLE, "{table}: {rows:?}");
        let removed = rows.iter().filter(|e| e.removed_on.is_some()).count();
        assert_eq!(removed, PEOPLE / 2, "{table}: {rows:?}");
    }
    let mut emails: Vec<(String, bool)> = entries(&mut conn, "blacklist_emails")
        .into_iter()
        .map(|e| (e.value, e.removed_on.is_some()))
        .collect();
    emails.sort();
    let expected: Vec<(String, bool)> = (0..PEOPLE)
        .map(|n| (format!("person{n:02}@sea.example"), n % 2 == 0))
        .collect();
    assert_eq!(emails, expected);
    // And the final pass left nothing linked.
    if let DbConnection::Pg(_) = &mut *conn {
        storage_hygiene::run(&mut conn, today()).unwrap();
        assert_eq!(shared_xmin(&mut conn), [0, 0, 0]);
    }
}
