//! A stop (what SIGTERM does): requests in flight are answered, the delivery worker finishes the
//! delivery it has started, and the server's task ends only once every background task has.

use std::sync::mpsc;
use std::time::Duration;

use diesel::{Connection, RunQueryDsl};
use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;
use crate::smtp_sink::SmtpSink;

#[derive(diesel::QueryableByName, Debug)]
struct Message {
    #[diesel(sql_type = diesel::sql_types::Text)]
    status: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    claimed_by: Option<String>,
}

fn messages(app: &TestApp) -> Vec<Message> {
    diesel::sql_query("SELECT status, claimed_by FROM outbox_messages ORDER BY id")
        .load(&mut app.pool().get().unwrap())
        .unwrap()
}

/// Holds the database's write lock for the dealer (PostgreSQL: the dealer's row, which every
/// staff write takes first; SQLite: the one writer) until told to let go.
fn hold_the_write_lock(url: &str) -> mpsc::Sender<()> {
    let (release, released) = mpsc::channel::<()>();
    let (held, is_held) = mpsc::channel::<()>();
    let url = url.to_owned();
    std::thread::spawn(move || {
        if url.starts_with("postgres") {
            let mut conn = diesel::PgConnection::establish(&url).unwrap();
            diesel::sql_query("BEGIN").execute(&mut conn).unwrap();
            // The dealer's write lock, as the service takes it (db::backend::lock_dealer).
            diesel::sql_query(
                "SELECT pg_advisory_xact_lock(hashtextextended('dealer:' || 'abc-motors', 0))",
            )
            .execute(&mut conn)
            .unwrap();
            held.send(()).unwrap();
            let _ = released.recv();
            diesel::sql_query("ROLLBACK").execute(&mut conn).unwrap();
        } else {
            let mut conn = diesel::SqliteConnection::establish(&url).unwrap();
            diesel::sql_query("PRAGMA busy_timeout = 10000")
                .execute(&mut conn)
                .unwrap();
            diesel::sql_query("BEGIN IMMEDIATE")
                .execute(&mut conn)
                .unwrap();
            held.send(()).unwrap();
            let _ = released.recv();
            diesel::sql_query("ROLLBACK").execute(&mut conn).unwrap();
        }
    });
    is_held.recv().unwrap();
    release
}

/// A stop answers requests in flight and loses no claimed message.
#[tokio::test]
async fn a_stop_answers_requests_in_flight_and_loses_no_claimed_message() {
    // The SMTP server holds its answer to the message: the stop comes mid-delivery.
    let sink = SmtpSink::start_held().await;
    let url = sink.url();
    let app = std::sync::Arc::new(
        spawn_app_with(|c| {
            c.notify.smtp_url = Some(url);
            c.notify.delivery.enabled = true;
        })
        .await,
    );
    app.create_dealer("abc-motors").await;

    // A code to send, which the worker claims and starts delivering.
    let started = start_verification(&app, json!({"email": "fred@sea.com"})).await;
    assert_eq!(started.status, StatusCode::ACCEPTED);
    eventually(
        Duration::from_secs(10),
        "the code claimed and sent",
        || async {
            let claimed = messages(&app)
                .iter()
                .any(|m| m.status == "pending" && m.claimed_by.is_some());
            (claimed && sink.held() == 1).then_some(())
        },
    )
    .await;

    // A staff write in flight, waiting behind another writer.
    let release = hold_the_write_lock(&app.database_url);
    let in_flight = {
        let app = app.clone();
        tokio::spawn(async move {
            app.post(
                "/v1/dealers/abc-motors/customers",
                &dealer("abc-motors"),
                fred(),
            )
            .await
        })
    };
    // The stop comes once the server has it.
    eventually(Duration::from_secs(10), "the write in flight", || async {
        app.metrics()
            .await
            .lines()
            .any(|l| {
                l.starts_with("http_requests_in_flight{")
                    && l.contains(r#"method="POST""#)
                    && l.contains(r#"route="/v1/dealers/{dealer}/customers""#)
                    && l.ends_with(" 1")
            })
            .then_some(())
    })
    .await;

    let stopping = {
        let stopper = app.stopper.clone();
        tokio::spawn(async move { stopper.stop().await })
    };
    // Once the server takes no new connection, let the other writer and the SMTP server go:
    // the stop waits for the request in flight and the delivery under way.
    let fresh = reqwest::Client::builder()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap();
    eventually(
        Duration::from_secs(10),
        "the server stops accepting",
        || async {
            fresh
                .get(format!("{}/healthz", app.address))
                .send()
                .await
                .is_err()
                .then_some(())
        },
    )
    .await;
    release.send(()).unwrap();
    sink.release();
    let answered = in_flight.await.unwrap();
    assert_eq!(answered.status, StatusCode::CREATED, "{}", answered.body);
    stopping.await.unwrap();
    let running = app.running.lock().unwrap().take().unwrap();
    tokio::time::timeout(Duration::from_secs(15), running)
        .await
        .expect("the server's task ends once its background tasks have")
        .unwrap()
        .unwrap();

    // Nothing new is accepted.
    assert!(app
        .client
        .get(format!("{}/healthz", app.address))
        .send()
        .await
        .is_err());
    // The delivery under way when the stop came was finished and recorded, not dropped.
    let stored = messages(&app);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(stored[0].status, "sent", "{stored:?}");
    assert!(stored[0].claimed_by.is_none());
    assert_eq!(sink.messages().len(), 1);
}
