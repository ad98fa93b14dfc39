//! Data tests start from: Fred and his leads, a seeded blacklist, and readers of what a dealer
//! sees (its change feed and its notifications).

use diesel::RunQueryDsl;
use reqwest::StatusCode;
use serde_json::{json, Value};

use super::app::TestApp;
use super::tokens::dealer;

pub fn fred() -> Value {
    json!({
        "first_name": "Fred", "last_name": "Basset", "email": "Fred@Sea.com",
        "mobile": "083 656 7788", "consent_process": true, "consent_market": true,
        "consent_source": "website form",
    })
}

/// Fred, with two active leads worked by two salespeople. Returns (customer id, lead ids).
pub async fn fred_with_leads(app: &TestApp) -> (i64, Vec<i64>) {
    let customer = app.create_customer("abc-motors", fred()).await;
    let id = customer["id"].as_i64().unwrap();
    let mut leads = Vec::new();
    for (name, email) in [
        ("Ashveer", "ashveer@abc-motors.co.za"),
        ("Lerato", "lerato@abc-motors.co.za"),
    ] {
        let lead = app
            .post(
                "/v1/dealers/abc-motors/leads",
                &dealer("abc-motors"),
                json!({"customer_id": id, "recipient": {"name": name, "email": email},
                       "vehicle": "VW Polo CA 123-456", "source": "abcmotors.co.za/used/vw-polo",
                       "message": "Call Fred on 083 656 7788"}),
            )
            .await;
        assert_eq!(lead.status, StatusCode::CREATED, "{}", lead.body);
        leads.push(lead.body["id"].as_i64().unwrap());
    }
    (id, leads)
}

/// abc-motors' whole change feed.
pub async fn events_of(app: &TestApp) -> Vec<Value> {
    app.get(
        "/v1/dealers/abc-motors/history?limit=1000",
        &dealer("abc-motors"),
    )
    .await
    .body["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// abc-motors' notifications.
pub async fn notifications_of(app: &TestApp) -> Vec<Value> {
    app.get(
        "/v1/dealers/abc-motors/notifications?limit=1000",
        &dealer("abc-motors"),
    )
    .await
    .body["items"]
        .as_array()
        .unwrap()
        .clone()
}

/// The email blacklist of abc-motors.
pub const EMAILS: &str = "/v1/dealers/abc-motors/blacklist/emails";

/// Day `n` of the seeded blacklist entries (from 2026-01-01).
pub fn day(n: u32) -> chrono::NaiveDate {
    chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Duration::days(n as i64)
}

/// Seeds `count` emails straight into the table, a thousand rows a statement, on days spread
/// over a month.
pub fn seed_emails(app: &TestApp, count: usize) {
    seed_emails_from(app, 0, count);
}

/// Seeds emails number `from` to `to` (exclusive).
pub fn seed_emails_from(app: &TestApp, from: usize, to: usize) {
    seed_padded_emails(app, from, to, "");
}

/// Seeds emails number `from` to `to` (exclusive), each local part followed by `.{padding}`
/// when `padding` is not empty (long values: a large export with few rows).
pub fn seed_padded_emails(app: &TestApp, from: usize, to: usize, padding: &str) {
    let padding = if padding.is_empty() {
        String::new()
    } else {
        format!(".{padding}")
    };
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    for start in (from..to).step_by(1000) {
        let rows: Vec<String> = (start..(start + 1000).min(to))
            .map(|n| {
                let on = day((n % 30) as u32);
                format!("('abc-motors', 'person{n:07}{padding}@mail.co.za', '{on}', '{on}')")
            })
            .collect();
        diesel::sql_query(format!(
            "INSERT INTO blacklist_emails (dealer_id, value, added_on, changed_on) VALUES {}",
            rows.join(", ")
        ))
        .execute(&mut *conn)
        .unwrap();
    }
}
