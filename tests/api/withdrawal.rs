//! Staff amendments and withdrawals, and what a withdrawal leaves behind.

use std::sync::Arc;

use diesel::RunQueryDsl;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

fn customer_path(id: i64) -> String {
    format!("/v1/dealers/abc-motors/customers/{id}")
}

async fn outbox_count(app: &TestApp) -> usize {
    notifications_of(app).await.len()
}

async fn events_count(app: &TestApp) -> usize {
    events_of(app).await.len()
}

/// Amendments are recorded normalised and conditional.
#[tokio::test]
async fn amendments_are_recorded_normalised_and_conditional() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let token = dealer("abc-motors");
    let id = app.create_customer("abc-motors", fred()).await["id"]
        .as_i64()
        .unwrap();
    let read = app
        .call(Method::GET, &customer_path(id), Some(&token), None)
        .await;
    let etag = read.headers["etag"].to_str().unwrap().to_owned();

    // A change to nothing: 200, no event, no email.
    let (events, mails) = (events_count(&app).await, outbox_count(&app).await);
    let same = app
        .patch(
            &customer_path(id),
            &token,
            json!({"first_name": " Fred ", "mobile": "+27 (0)83 656 7788"}),
        )
        .await;
    assert_eq!(same.status, StatusCode::OK, "{}", same.body);
    assert_eq!(
        same.headers["etag"].to_str().unwrap(),
        etag,
        "nothing changed"
    );
    assert_eq!(
        (events_count(&app).await, outbox_count(&app).await),
        (events, mails)
    );

    // A real change with the current ETag.
    let changed = app
        .client
        .patch(format!("{}{}", app.address, customer_path(id)))
        .bearer_auth(&token)
        .header("if-match", &etag)
        .json(&json!({"email": "FRED@Lost.com", "mobile": "082 555 0123"}))
        .send()
        .await
        .unwrap();
    assert_eq!(changed.status(), StatusCode::OK);
    let new_etag = changed.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(new_etag, etag);
    let body: Value = changed.json().await.unwrap();
    assert_eq!(body["email"], "fred@lost.com");
    assert_eq!(body["mobile"], "+27825550123");
    assert_eq!(
        (events_count(&app).await, outbox_count(&app).await),
        (events + 1, mails + 1)
    );

    // The stale ETag is refused.
    let stale = app
        .client
        .patch(format!("{}{}", app.address, customer_path(id)))
        .bearer_auth(&token)
        .header("if-match", &etag)
        .json(&json!({"first_name": "Frederick"}))
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status(), StatusCode::PRECONDITION_FAILED);

    // Consent to process is not turned off here.
    app.patch(
        &customer_path(id),
        &token,
        json!({"consent_process": false}),
    )
    .await
    .assert_field_refused("consent_process");
    for (field, value) in [
        ("first_name", json!("")),
        ("email", json!("nope")),
        ("mobile", json!("1")),
        ("dealer_id", json!("x")),
    ] {
        app.patch(&customer_path(id), &token, json!({ field: value }))
            .await
            .assert_field_refused(field);
    }
}

/// The details altered email carries the was and changed table.
#[tokio::test]
async fn the_details_altered_email_carries_the_was_and_changed_table() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let id = app.create_customer("abc-motors", fred()).await["id"]
        .as_i64()
        .unwrap();
    let reply = app
        .patch(
            &customer_path(id),
            &dealer("abc-motors"),
            json!({"email": "fred@lost.com", "consent_market": false}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    let eml = std::fs::read(delivered_file(&app, "-details_altered.eml").await).unwrap();
    let parsed = mail_parser::MessageParser::default().parse(&eml).unwrap();
    assert_eq!(
        parsed.subject(),
        Some("POPIA Customer alters information | Fred Basset")
    );
    let text = parsed.body_text(0).unwrap().into_owned();
    let line = |label: &str| {
        text.lines()
            .find(|l| l.starts_with(label))
            .unwrap_or_default()
            .to_owned()
    };
    assert!(
        line("Email").contains("fred@sea.com")
            && line("Email").contains("fred@lost.com")
            && line("Email").contains("(changed)"),
        "{text}"
    );
    assert!(
        line("Consent to market").contains("Yes") && line("Consent to market").contains("No"),
        "{text}"
    );
    assert!(line("Consent to process").contains("(unchanged)"), "{text}");
    assert!(
        line("Name").contains("Fred") && line("Name").contains("(unchanged)"),
        "{text}"
    );
}

/// A staff withdrawal takes that record only and happens once.
#[tokio::test]
async fn a_staff_withdrawal_takes_that_record_only_and_happens_once() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let token = dealer("abc-motors");
    let (id, leads) = fred_with_leads(&app).await;
    // A second record with Fred's mobile (his spouse, say): not the record staff named.
    let second = app
        .create_customer(
            "abc-motors",
            json!({"first_name": "Freddie", "last_name": "B", "mobile": "0836567788", "consent_process": true, "consent_market": true}),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    // Someone else, untouched.
    let mut naledi = fred();
    naledi["email"] = json!("naledi@mail.co.za");
    naledi["mobile"] = json!("082 555 0123");
    let other = app.create_customer("abc-motors", naledi).await["id"]
        .as_i64()
        .unwrap();

    let done = app
        .post(
            &format!("{}/withdraw-consent", customer_path(id)),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["customer_ids"], json!([id]));
    assert_eq!(done.body["lead_ids_lost"], json!(leads));
    let record = app.get(&customer_path(id), &token).await;
    assert!(
        record.body["mobile"].is_null() && record.body["first_name"].is_null(),
        "{}",
        record.body
    );
    let untouched = app.get(&customer_path(second), &token).await.body;
    assert_eq!(
        (
            &untouched["first_name"],
            &untouched["mobile"],
            &untouched["deidentified_at"]
        ),
        (&json!("Freddie"), &json!("+27836567788"), &Value::Null)
    );
    assert_eq!(
        app.get(&customer_path(other), &token).await.body["first_name"],
        "Fred"
    );

    // Again: harmless, nothing new.
    let (events, mails) = (events_count(&app).await, outbox_count(&app).await);
    let again = app
        .post(
            &format!("{}/withdraw-consent", customer_path(id)),
            &token,
            json!({}),
        )
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["customer_ids"], json!([id]));
    assert_eq!(again.body["lead_ids_lost"], json!([]));
    assert_eq!(again.body["deidentified_at"], done.body["deidentified_at"]);
    assert_eq!(
        (events_count(&app).await, outbox_count(&app).await),
        (events, mails)
    );

    // A de-identified record is gone for amendments, and its identifiers are blacklisted.
    app.patch(&customer_path(id), &token, json!({"first_name": "Fred"}))
        .await
        .assert_problem(StatusCode::GONE);
    app.patch(
        &customer_path(other),
        &token,
        json!({"email": "FRED@sea.com"}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT);
    app.patch(
        &customer_path(other),
        &token,
        json!({"mobile": "083 656 7788"}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT);
    // Leads of a de-identified customer cannot be added.
    app.post(
        "/v1/dealers/abc-motors/leads",
        &token,
        json!({"customer_id": id, "recipient": {"name": "A", "email": "a@abc.co.za"}}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT);
}

#[derive(diesel::QueryableByName, Debug, PartialEq)]
struct BlacklistRow {
    #[diesel(sql_type = diesel::sql_types::Text)]
    dealer_id: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    value: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    added_on: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    removed_on: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Text)]
    changed_on: String,
}

/// The two blacklist rows share nothing but the dealer and the day.
#[tokio::test]
async fn the_two_blacklist_rows_share_nothing_but_the_dealer_and_the_day() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let (id, _) = fred_with_leads(&app).await;
    let done = app
        .post(
            &format!("{}/withdraw-consent", customer_path(id)),
            &dealer("abc-motors"),
            json!({}),
        )
        .await;
    assert_eq!(done.status, StatusCode::OK);
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    let read = |conn: &mut popia_api::db::DbConnection, table: &str| -> Vec<BlacklistRow> {
        // Every column, as text, whatever the backend's date type.
        diesel::sql_query(format!(
            "SELECT dealer_id, value, CAST(added_on AS TEXT) AS added_on, CAST(removed_on AS TEXT) AS removed_on, CAST(changed_on AS TEXT) AS changed_on FROM {table}"
        ))
        .load(conn)
        .unwrap()
    };
    let emails = read(&mut conn, "blacklist_emails");
    let mobiles = read(&mut conn, "blacklist_mobiles");
    assert_eq!(emails.len(), 1);
    assert_eq!(mobiles.len(), 1);
    let (email, mobile) = (&emails[0], &mobiles[0]);
    assert_eq!(email.value, "fred@sea.com");
    assert_eq!(mobile.value, "+27836567788");
    assert_eq!(email.dealer_id, mobile.dealer_id);
    assert_eq!(email.added_on, mobile.added_on);
    assert_eq!(
        (&email.changed_on, &mobile.changed_on),
        (&email.added_on, &mobile.added_on)
    );
    assert_eq!(
        email.added_on.len(),
        10,
        "a day, nothing finer: {}",
        email.added_on
    );
    assert!(email.removed_on.is_none() && mobile.removed_on.is_none());
    assert_ne!(email.value, mobile.value);
    let columns = |table: &str, conn: &mut popia_api::db::DbConnection| -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct Column {
            #[diesel(sql_type = diesel::sql_types::Text)]
            name: String,
        }
        let sql = match conn {
            popia_api::db::DbConnection::Pg(_) => format!(
                "SELECT column_name::text AS name FROM information_schema.columns WHERE table_name = '{table}' ORDER BY column_name"
            ),
            popia_api::db::DbConnection::Sqlite(_) => format!("SELECT name FROM pragma_table_info('{table}') ORDER BY name"),
        };
        diesel::sql_query(sql)
            .load::<Column>(conn)
            .unwrap()
            .into_iter()
            .map(|c| c.name)
            .collect()
    };
    // No other column exists that could carry a shared key.
    assert_eq!(
        columns("blacklist_emails", &mut conn),
        ["added_on", "changed_on", "dealer_id", "removed_on", "value"]
    );
    assert_eq!(
        columns("blacklist_mobiles", &mut conn),
        ["added_on", "changed_on", "dealer_id", "removed_on", "value"]
    );
}

/// An amendment racing a withdrawal never brings the person back.
#[tokio::test]
async fn an_amendment_racing_a_withdrawal_never_brings_the_person_back() {
    let app = Arc::new(spawn_app().await);
    app.create_dealer("abc-motors").await;
    const ROUNDS: usize = 15;
    for round in 0..ROUNDS {
        let id = app.create_customer("abc-motors", fred()).await["id"]
            .as_i64()
            .unwrap();
        let racer = format!("Racer{round}");
        let amend = {
            let (app, racer) = (app.clone(), racer.clone());
            tokio::spawn(async move {
                app.patch(&customer_path(id), &dealer("abc-motors"), json!({"first_name": racer, "email": format!("{}@race.co.za", racer.to_lowercase())}))
                    .await
                    .status
            })
        };
        let withdraw = {
            let app = app.clone();
            tokio::spawn(async move {
                app.post(
                    &format!("{}/withdraw-consent", customer_path(id)),
                    &dealer("abc-motors"),
                    json!({}),
                )
                .await
                .status
            })
        };
        let (amended, withdrawn) = (amend.await.unwrap(), withdraw.await.unwrap());
        assert_eq!(withdrawn, StatusCode::OK);
        // The amendment either went first (200) or met a de-identified record (410).
        assert!(
            amended == StatusCode::OK || amended == StatusCode::GONE,
            "{amended}"
        );
        let record = app
            .get(&customer_path(id), &dealer("abc-motors"))
            .await
            .body;
        assert!(
            record["deidentified_at"].is_string(),
            "round {round}: {record}"
        );
        assert!(
            record["first_name"].is_null() && record["email"].is_null(),
            "round {round}: {record}"
        );
        let history = app
            .get(
                &format!("{}/history", customer_path(id)),
                &dealer("abc-motors"),
            )
            .await
            .body
            .to_string();
        assert!(
            !history.contains(&racer) && !history.to_lowercase().contains(&racer.to_lowercase()),
            "round {round}: {history}"
        );
        assert!(
            !history.contains("Fred") && !history.contains("fred@sea.com"),
            "round {round}: {history}"
        );
    }
}

/// A withdrawal spends the token and a later lookup sees only the blacklist.
#[tokio::test]
async fn a_withdrawal_spends_the_token_and_a_later_lookup_sees_only_the_blacklist() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    fred_with_leads(&app).await;
    let token = verify(
        &app,
        "abc-motors",
        json!({"mobile": "083 656 7788"}),
        "+27836567788",
    )
    .await;
    let first = app
        .post(
            "/v1/dealers/abc-motors/pi/withdraw-consent",
            &token,
            json!({}),
        )
        .await;
    assert_eq!(first.status, StatusCode::OK);
    assert_eq!(first.body["customer_ids"].as_array().unwrap().len(), 1);
    let (events, mails) = (events_count(&app).await, outbox_count(&app).await);
    let second = app
        .post(
            "/v1/dealers/abc-motors/pi/withdraw-consent",
            &token,
            json!({}),
        )
        .await;
    second.assert_problem(StatusCode::UNAUTHORIZED);
    app.get("/v1/dealers/abc-motors/pi/records", &token)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED);
    assert_eq!(
        (events_count(&app).await, outbox_count(&app).await),
        (events, mails)
    );

    // A fresh code later: only the do-not-contact entry remains, and nobody is asked to
    // contact the person (no NOT FOUND email, no event).
    let fresh = verify(
        &app,
        "abc-motors",
        json!({"mobile": "083 656 7788"}),
        "+27836567788",
    )
    .await;
    let (events, mails) = (events_count(&app).await, outbox_count(&app).await);
    let lookup = app.get("/v1/dealers/abc-motors/pi/records", &fresh).await;
    assert_eq!(lookup.status, StatusCode::OK, "{}", lookup.body);
    assert_eq!(
        (&lookup.body["found"], &lookup.body["blacklisted"]),
        (&json!(false), &json!(true))
    );
    assert_eq!(
        (events_count(&app).await, outbox_count(&app).await),
        (events, mails)
    );
    // Withdrawing again with the fresh token changes nothing and spends it too.
    let again = app
        .post(
            "/v1/dealers/abc-motors/pi/withdraw-consent",
            &fresh,
            json!({}),
        )
        .await;
    assert_eq!(
        again.body,
        json!({"customer_ids": [], "lead_ids_lost": [], "deidentified_at": null})
    );
    assert_eq!(
        (events_count(&app).await, outbox_count(&app).await),
        (events, mails)
    );
    app.get("/v1/dealers/abc-motors/pi/records", &fresh)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED);
}

/// Only active leads become lost: a lead already won stays won (and is not reported lost), and
/// every lead's free text is cleared all the same.
#[tokio::test]
async fn a_won_lead_stays_won_and_only_active_leads_are_lost() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let (id, leads) = fred_with_leads(&app).await;
    let won = app
        .patch(
            &format!("/v1/dealers/abc-motors/leads/{}", leads[0]),
            &dealer("abc-motors"),
            json!({"status": "won"}),
        )
        .await;
    assert_eq!(won.status, StatusCode::OK, "{}", won.body);
    let withdrawn = app
        .post(
            &format!("/v1/dealers/abc-motors/customers/{id}/withdraw-consent"),
            &dealer("abc-motors"),
            json!({}),
        )
        .await;
    assert_eq!(withdrawn.status, StatusCode::OK, "{}", withdrawn.body);
    assert_eq!(withdrawn.body["lead_ids_lost"], json!([leads[1]]));
    for (lead, status) in [(leads[0], "won"), (leads[1], "lost")] {
        let read = app
            .get(
                &format!("/v1/dealers/abc-motors/leads/{lead}"),
                &dealer("abc-motors"),
            )
            .await;
        assert_eq!(read.body["status"], status, "{}", read.body);
        assert_eq!(
            read.body["message"],
            serde_json::Value::Null,
            "{}",
            read.body
        );
        assert_eq!(
            read.body["vehicle"],
            serde_json::Value::Null,
            "{}",
            read.body
        );
    }
}
