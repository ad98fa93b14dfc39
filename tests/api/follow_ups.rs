//! Follow-ups: each email asking the dealer to act opens one with a due date; the dealer closes
//! it once; reminders go once, seven days before and on the day; overdue shows on the list and
//! in /metrics; none holds the customer's personal information.

use diesel::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

const FOLLOW_UPS: &str = "/v1/dealers/abc-motors/follow-ups";

async fn follow_ups(app: &TestApp, query: &str) -> Vec<Value> {
    let reply = app
        .get(&format!("{FOLLOW_UPS}{query}"), &dealer("abc-motors"))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["items"].as_array().unwrap().clone()
}

fn of_kind<'a>(all: &'a [Value], kind: &str) -> Vec<&'a Value> {
    all.iter().filter(|f| f["kind"] == kind).collect()
}

fn at(value: &Value) -> chrono::DateTime<chrono::Utc> {
    value.as_str().unwrap().parse().unwrap()
}

/// Fred with two leads, amended once and then withdrawn by staff: one details_altered, one
/// consent_withdrawn and two deidentify_alert follow-ups.
async fn fred_amended_then_withdrawn(app: &TestApp) -> (i64, Vec<i64>) {
    let (id, leads) = fred_with_leads(app).await;
    let path = format!("/v1/dealers/abc-motors/customers/{id}");
    let amended = app
        .patch(
            &path,
            &dealer("abc-motors"),
            json!({"consent_market": false}),
        )
        .await;
    assert_eq!(amended.status, StatusCode::OK, "{}", amended.body);
    let withdrawn = app
        .post(
            &format!("{path}/withdraw-consent"),
            &dealer("abc-motors"),
            json!({}),
        )
        .await;
    assert_eq!(withdrawn.status, StatusCode::OK, "{}", withdrawn.body);
    (id, leads)
}

/// Every email that asks the dealer to act opens a follow-up: what it is about (ids only),
/// who it went to, and a due date 30 days on.
#[tokio::test]
async fn each_email_opens_a_follow_up_due_in_thirty_days() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let (id, leads) = fred_amended_then_withdrawn(&app).await;
    let stranger = app
        .get(
            "/v1/dealers/abc-motors/pi/records",
            &subject("abc-motors", "stranger@sea.com"),
        )
        .await;
    assert_eq!(stranger.body["found"], false);

    let all = follow_ups(&app, "").await;
    assert_eq!(all.len(), 5, "{all:#?}");
    let altered = of_kind(&all, "details_altered");
    assert_eq!(altered.len(), 1);
    assert_eq!(altered[0]["customer_id"], id);
    assert_eq!(altered[0]["assignees"], json!(["Thandi Nkosi"]));
    let withdrawn = of_kind(&all, "consent_withdrawn");
    assert_eq!(withdrawn.len(), 1);
    assert_eq!(withdrawn[0]["customer_id"], id);
    let alerts = of_kind(&all, "deidentify_alert");
    let mut assigned: Vec<(String, Value)> = alerts
        .iter()
        .map(|a| {
            (
                a["assignees"][0].as_str().unwrap().to_owned(),
                a["lead_ids"].clone(),
            )
        })
        .collect();
    assigned.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        assigned,
        [
            ("Ashveer".to_owned(), json!([leads[0]])),
            ("Lerato".to_owned(), json!([leads[1]]))
        ]
    );
    let not_found = of_kind(&all, "lookup_not_found");
    assert_eq!(not_found.len(), 1);
    assert_eq!(not_found[0]["identifier"], "stranger@sea.com");
    assert_eq!(not_found[0]["customer_id"], Value::Null);
    for follow_up in &all {
        assert_eq!(follow_up["status"], "open");
        assert_eq!(follow_up["overdue"], false);
        let (created, due) = (at(&follow_up["created_at"]), at(&follow_up["due_at"]));
        assert_eq!(due - created, chrono::Duration::days(30), "{follow_up}");
    }

    // One follow-up reads on its own; another dealer's token and an operator cannot.
    let one = app
        .get(
            &format!("{FOLLOW_UPS}/{}", withdrawn[0]["id"]),
            &dealer("abc-motors"),
        )
        .await;
    assert_eq!(one.status, StatusCode::OK);
    assert_eq!(&one.body, withdrawn[0]);
    app.create_dealer("xyz-motors").await;
    let elsewhere = app
        .get(
            &format!("/v1/dealers/xyz-motors/follow-ups/{}", withdrawn[0]["id"]),
            &dealer("xyz-motors"),
        )
        .await;
    assert_eq!(
        elsewhere.status,
        StatusCode::NOT_FOUND,
        "{}",
        elsewhere.body
    );
    let stranger_dealer = app.get(FOLLOW_UPS, &dealer("xyz-motors")).await;
    assert_eq!(stranger_dealer.status, StatusCode::NOT_FOUND);
    let operator = app.get(FOLLOW_UPS, &operator()).await;
    assert_eq!(operator.status, StatusCode::FORBIDDEN);
    let missing = app
        .get(&format!("{FOLLOW_UPS}/999999"), &dealer("abc-motors"))
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
}

/// A follow-up closes once, recording who and when; a second close is a 409; the list filters
/// open and done.
#[tokio::test]
async fn a_follow_up_closes_once_with_who_and_when() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    fred_amended_then_withdrawn(&app).await;
    let first = follow_ups(&app, "").await[0].clone();
    let path = format!("{FOLLOW_UPS}/{}/done", first["id"]);

    let done = app
        .post(
            &path,
            &dealer("abc-motors"),
            json!({"note": " Removed from the DMS. "}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["status"], "done");
    assert_eq!(done.body["note"], "Removed from the DMS.");
    assert_eq!(done.body["done_by"], "dealer-user");
    let done_at = at(&done.body["done_at"]);
    assert!((chrono::Utc::now() - done_at).num_seconds().abs() < 60);

    let again = app.post(&path, &dealer("abc-motors"), json!({})).await;
    assert_eq!(again.status, StatusCode::CONFLICT, "{}", again.body);
    let too_long = app
        .post(
            &format!(
                "{FOLLOW_UPS}/{}/done",
                follow_ups(&app, "?status=open").await[0]["id"]
            ),
            &dealer("abc-motors"),
            json!({"note": "x".repeat(2001)}),
        )
        .await;
    assert_eq!(too_long.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        too_long.body.to_string().contains("note"),
        "{}",
        too_long.body
    );

    let open = follow_ups(&app, "?status=open").await;
    let closed = follow_ups(&app, "?status=done").await;
    assert_eq!((open.len(), closed.len()), (3, 1));
    assert_eq!(closed[0]["id"], first["id"]);
    let bad = app
        .get(&format!("{FOLLOW_UPS}?status=later"), &dealer("abc-motors"))
        .await;
    assert!(bad.status.is_client_error(), "{}", bad.body);
    assert!(bad.body.to_string().contains("status"), "{}", bad.body);
}

/// Past its due date an open follow-up is overdue: on the list and in /metrics per dealer.
#[tokio::test]
async fn open_follow_ups_fall_overdue_by_the_clock() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    fred_amended_then_withdrawn(&app).await;
    assert!(follow_ups(&app, "?status=overdue").await.is_empty());
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("follow_ups_open{dealer=\"abc-motors\"} 4"),
        "{metrics}"
    );
    assert!(
        metrics.contains("follow_ups_overdue{dealer=\"abc-motors\"} 0"),
        "{metrics}"
    );

    let first = follow_ups(&app, "").await[0]["id"].clone();
    let closed = app
        .post(
            &format!("{FOLLOW_UPS}/{first}/done"),
            &dealer("abc-motors"),
            json!({}),
        )
        .await;
    assert_eq!(closed.status, StatusCode::OK);
    app.clock
        .advance(chrono::Duration::days(30) + chrono::Duration::minutes(1));

    let overdue = follow_ups(&app, "?status=overdue").await;
    assert_eq!(overdue.len(), 3, "the closed one is not overdue");
    assert!(overdue
        .iter()
        .all(|f| f["overdue"] == true && f["id"] != first));
    let metrics = app.metrics().await;
    assert!(
        metrics.contains("follow_ups_open{dealer=\"abc-motors\"} 3"),
        "{metrics}"
    );
    assert!(
        metrics.contains("follow_ups_overdue{dealer=\"abc-motors\"} 3"),
        "{metrics}"
    );
}

/// Reminders go to the key contacts seven days before and on the due date, once each, even
/// when two passes run at once; a closed follow-up is not reminded of.
#[tokio::test]
async fn reminders_go_once_each_and_never_after_done() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    fred_amended_then_withdrawn(&app).await;
    let all = follow_ups(&app, "").await;
    let closed_id = all[0]["id"].as_i64().unwrap();
    let closed = app
        .post(
            &format!("{FOLLOW_UPS}/{closed_id}/done"),
            &dealer("abc-motors"),
            json!({}),
        )
        .await;
    assert_eq!(closed.status, StatusCode::OK);

    let reminders = |app: &TestApp| {
        let pool = app.pool();
        let rows: Vec<Subject> = diesel::sql_query(
            "SELECT c.subject FROM outbox_messages m JOIN outbox_contents c ON c.message_id = m.id \
             WHERE m.kind = 'follow_up_reminder' ORDER BY m.id",
        )
        .load(&mut pool.get().unwrap())
        .unwrap();
        rows.into_iter().map(|r| r.subject).collect::<Vec<_>>()
    };
    assert_eq!(app.send_follow_up_reminders(), 0, "nothing is owed yet");

    // 23 days on: seven days before due. Two passes at once queue each reminder once.
    app.clock
        .advance(chrono::Duration::days(23) + chrono::Duration::minutes(1));
    let passes: Vec<usize> = std::thread::scope(|s| {
        let running: Vec<_> = (0..2)
            .map(|_| s.spawn(|| app.send_follow_up_reminders()))
            .collect();
        running.into_iter().map(|p| p.join().unwrap()).collect()
    });
    assert_eq!(passes.iter().sum::<usize>(), 3, "{passes:?}");
    let early = reminders(&app);
    assert_eq!(early.len(), 3, "{early:?}");
    for follow_up in all.iter().skip(1) {
        let subject = format!(
            "POPIA follow-up due | {} | {}",
            follow_up["kind"].as_str().unwrap(),
            follow_up["id"]
        );
        assert!(early.contains(&subject), "{subject} in {early:?}");
    }
    assert!(!early.iter().any(|s| s.ends_with(&format!("| {closed_id}"))));

    // Due day: one more each; then nothing more, ever.
    app.clock.advance(chrono::Duration::days(7));
    assert_eq!(app.send_follow_up_reminders(), 3);
    assert_eq!(app.send_follow_up_reminders(), 0);
    app.clock.advance(chrono::Duration::days(30));
    assert_eq!(app.send_follow_up_reminders(), 0);
    assert_eq!(reminders(&app).len(), 6);

    // They reach the key contacts as email, with the ids and no personal information.
    app.deliver_pending().await;
    let text = std::fs::read_dir(&app.mailbox)
        .unwrap()
        .map(|f| std::fs::read_to_string(f.unwrap().path()).unwrap())
        .filter(|m| m.contains("POPIA follow-up due"))
        .collect::<Vec<_>>();
    assert_eq!(text.len(), 6);
    for mail in &text {
        assert!(mail.contains("To: thandi@abc-motors.co.za"), "{mail}");
        for personal in ["Fred", "Basset", "sea.com", "656 7788", "6567788"] {
            assert!(!mail.contains(personal), "{personal} in {mail}");
        }
    }
}

#[derive(diesel::QueryableByName)]
struct Subject {
    #[diesel(sql_type = diesel::sql_types::Text)]
    subject: String,
}

/// A NOT FOUND follow-up shows the identifier only while the email's content is kept; then
/// `[expired]`.
#[tokio::test]
async fn a_not_found_identifier_expires_with_its_email() {
    let app = spawn_app_with(|c| c.notify.retention = std::time::Duration::ZERO).await;
    app.create_dealer("abc-motors").await;
    let lookup = app
        .get(
            "/v1/dealers/abc-motors/pi/records",
            &subject("abc-motors", "stranger@sea.com"),
        )
        .await;
    assert_eq!(lookup.body["found"], false);
    let before = follow_ups(&app, "").await;
    assert_eq!(before[0]["identifier"], "stranger@sea.com");
    // Retention zero: the content goes as soon as it is delivered.
    app.deliver_pending().await;
    let after = follow_ups(&app, "").await;
    assert_eq!(after[0]["identifier"], "[expired]");
    assert_eq!(after[0]["kind"], "lookup_not_found");
}

/// Follow-ups hold no personal information of the customer, and a withdrawal clears the notes
/// staff wrote closing theirs.
#[tokio::test]
async fn follow_ups_hold_nothing_of_a_withdrawn_customer() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let (id, _) = fred_with_leads(&app).await;
    let path = format!("/v1/dealers/abc-motors/customers/{id}");
    let amended = app
        .patch(
            &path,
            &dealer("abc-motors"),
            json!({"consent_market": false}),
        )
        .await;
    assert_eq!(amended.status, StatusCode::OK);
    let altered = follow_ups(&app, "").await[0]["id"].clone();
    let noted = app
        .post(
            &format!("{FOLLOW_UPS}/{altered}/done"),
            &dealer("abc-motors"),
            json!({"note": "Phoned Fred Basset on 083 656 7788"}),
        )
        .await;
    assert_eq!(noted.status, StatusCode::OK);
    let withdrawn = app
        .post(
            &format!("{path}/withdraw-consent"),
            &dealer("abc-motors"),
            json!({}),
        )
        .await;
    assert_eq!(withdrawn.status, StatusCode::OK);

    let all = follow_ups(&app, "").await;
    assert_eq!(all.len(), 4);
    assert!(all.iter().all(|f| f["note"].is_null()), "{all:#?}");
    let dump = serde_json::to_string(&all).unwrap();
    for personal in ["Fred", "Basset", "sea.com", "656 7788", "6567788"] {
        assert!(!dump.contains(personal), "{personal} in {dump}");
    }
}
