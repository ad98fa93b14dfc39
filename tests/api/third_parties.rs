//! Who has had a dealer's data, as the /pi lookup tells the data subject (POPIA s23(1)(b)): the
//! operators that pulled its blacklists and the systems that followed its change feed, from the
//! pull log and the feed-reader log, latest first; never another dealer's, never a subject.

use std::time::Duration;

use chrono::{DateTime, Utc};
use reqwest::StatusCode;
use serde_json::{json, Value};

use crate::helpers::*;

const RECORDS: &str = "/v1/dealers/abc-motors/pi/records";

/// A token of `role` for one dealer, with its own subject.
fn token(role: &str, dealer_id: &str, sub: &str) -> String {
    let mut claims = claims(role, &[dealer_id]);
    claims["sub"] = json!(sub);
    sign(&claims)
}

/// `token` exports `dealer_id`'s email blacklist as CSV; returns once the pull is logged (the log
/// is written when the stream ends, after the body is read).
async fn export_emails(app: &TestApp, dealer_id: &str, token: &str, sub: &str) {
    let response = app
        .client
        .get(format!(
            "{}/v1/dealers/{dealer_id}/blacklist/emails",
            app.address
        ))
        .bearer_auth(token)
        .header("accept", "text/csv")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.text().await.unwrap().starts_with("value,added_on"));
    let pulls = format!("/v1/dealers/{dealer_id}/blacklist/pulls");
    eventually(Duration::from_secs(10), "the CSV pull is logged", || {
        let pulls = pulls.clone();
        async move {
            let log = app.get(&pulls, &dealer(dealer_id)).await.body;
            log["items"]
                .as_array()?
                .iter()
                .any(|p| p["sub"] == sub && p["format"] == "csv")
                .then_some(())
        }
    })
    .await;
}

/// Fred's lookup at abc-motors: its third parties.
async fn third_parties(app: &TestApp) -> Vec<Value> {
    let found = app
        .get(RECORDS, &subject("abc-motors", "fred@sea.com"))
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(found.body["found"], true);
    found.body["third_parties"].as_array().unwrap().clone()
}

/// (name, category, accessed) of each third party, in the order given.
fn who(parties: &[Value]) -> Vec<(String, String, Value)> {
    parties
        .iter()
        .map(|p| {
            assert_eq!(p.as_object().unwrap().len(), 4, "{p}");
            (
                p["name"].as_str().unwrap().to_owned(),
                p["category"].as_str().unwrap().to_owned(),
                p["accessed"].clone(),
            )
        })
        .collect()
}

fn last_access(party: &Value) -> DateTime<Utc> {
    party["last_access_at"].as_str().unwrap().parse().unwrap()
}

fn entry(name: &str, category: &str, accessed: Value) -> (String, String, Value) {
    (name.to_owned(), category.to_owned(), accessed)
}

/// The lookup names the operator that exported the list and the dealer system that followed the
/// feed, latest first; another dealer's never; a second read moves the reader's entry on.
#[tokio::test]
async fn the_lookup_names_who_pulled_the_lists_and_followed_the_feed() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    app.create_dealer("xyz-motors").await;
    let (fred, _) = fred_with_leads(&app).await;
    let dms = token("dealer", "abc-motors", "dms");

    // Before anyone pulled or followed anything, nobody had the data.
    assert_eq!(third_parties(&app).await, Vec::<Value>::new());

    export_emails(&app, "abc-motors", &operator(), "operator-user").await;
    let feed = app.get("/v1/dealers/abc-motors/history", &dms).await;
    assert_eq!(feed.status, StatusCode::OK, "{}", feed.body);
    // Another dealer's operator pulls that dealer's list.
    let elsewhere = token("operator", "xyz-motors", "xyz-operator");
    export_emails(&app, "xyz-motors", &elsewhere, "xyz-operator").await;

    let first = third_parties(&app).await;
    assert_eq!(
        who(&first),
        [
            entry("dms", "dealer", json!(["change feed"])),
            entry("operator-user", "operator", json!(["blacklists"])),
        ]
    );
    let now = Utc::now();
    for party in &first {
        let age = now - last_access(party);
        assert!(
            age >= chrono::Duration::zero() && age < chrono::Duration::seconds(30),
            "{party}"
        );
    }
    assert!(last_access(&first[0]) > last_access(&first[1]));

    // Another dealer's system with the same subject follows that dealer's feed: abc-motors'
    // entry does not move.
    let xyz_dms = token("dealer", "xyz-motors", "dms");
    let read = app.get("/v1/dealers/xyz-motors/history", &xyz_dms).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    assert_eq!(third_parties(&app).await, first);

    // A second read (one customer's history this time) moves the reader on: still one entry.
    let read = app
        .get(
            &format!("/v1/dealers/abc-motors/customers/{fred}/history"),
            &dms,
        )
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    let second = third_parties(&app).await;
    assert_eq!(who(&second), who(&first));
    assert!(last_access(&second[0]) > last_access(&first[0]));
    assert_eq!(last_access(&second[1]), last_access(&first[1]));

    // The same system checking the blacklist: one entry that accessed both.
    let check = app
        .post(
            "/v1/dealers/abc-motors/blacklist/check",
            &dms,
            json!({"emails": ["someone@mail.co.za"]}),
        )
        .await;
    assert_eq!(check.status, StatusCode::OK, "{}", check.body);
    let third = third_parties(&app).await;
    assert_eq!(
        who(&third),
        [
            entry("dms", "dealer", json!(["blacklists", "change feed"])),
            entry("operator-user", "operator", json!(["blacklists"])),
        ]
    );
    assert!(last_access(&third[0]) > last_access(&second[0]));
}

/// Data subjects never appear, whatever the logs hold; the feed-reader log goes after the
/// retention period, the pull log stays.
#[tokio::test]
async fn subjects_never_appear_and_feed_readers_go_after_retention() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    fred_with_leads(&app).await;
    export_emails(&app, "abc-motors", &operator(), "operator-user").await;
    let dms = token("dealer", "abc-motors", "dms");
    let read = app.get("/v1/dealers/abc-motors/history", &dms).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.body);
    // A subject cannot read the feed (403, nothing logged); a subject row in the log, however it
    // got there, is never shown either.
    app.get(
        "/v1/dealers/abc-motors/history",
        &subject("abc-motors", "fred@sea.com"),
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN);
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    let as_subject = popia_api::domain::events::Actor {
        role: "subject".into(),
        sub: "subject-1".into(),
    };
    let now = popia_api::db::now();
    popia_api::db::feed_reads::record(&mut conn, "abc-motors", &as_subject, now).unwrap();
    let parties = third_parties(&app).await;
    assert_eq!(
        who(&parties),
        [
            entry("dms", "dealer", json!(["change feed"])),
            entry("operator-user", "operator", json!(["blacklists"])),
        ]
    );

    // POPIA_RETENTION_DAYS is 30 here: a day short of it nothing goes; a day past it both feed
    // readers (dms and the subject row) go, and the blacklist pull stays.
    let retention = Duration::from_secs(30 * 86_400);
    let purge = popia_api::service::maintenance::purge_access_logs;
    assert_eq!(
        purge(&mut conn, now + chrono::Duration::days(29), retention).unwrap(),
        0
    );
    assert_eq!(who(&third_parties(&app).await), who(&parties));
    assert_eq!(
        purge(&mut conn, now + chrono::Duration::days(31), retention).unwrap(),
        2
    );
    assert_eq!(
        who(&third_parties(&app).await),
        [entry("operator-user", "operator", json!(["blacklists"]))]
    );
}
