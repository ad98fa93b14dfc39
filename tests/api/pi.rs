//! The /pi flow over HTTP, the way a dealer's website drives it: the code is read from the
//! mailbox folder, as the person would read it from their inbox.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

/// Verify lookup amend lookup withdraw lookup.
#[tokio::test]
async fn verify_lookup_amend_lookup_withdraw_lookup() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let (id, leads) = fred_with_leads(&app).await;

    // Any written form of the email proves control of the same identifier.
    let token = verify(
        &app,
        "abc-motors",
        json!({"email": " Fred@Sea.COM "}),
        "fred@sea.com",
    )
    .await;
    let records = "/v1/dealers/abc-motors/pi/records";
    let found = app.get(records, &token).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_eq!(found.body["found"], true);
    assert_eq!(found.body["customers"][0]["id"], id);
    assert_eq!(
        found.body["customers"][0]["leads"]
            .as_array()
            .unwrap()
            .len(),
        2
    );

    let amended = app
        .patch(
            &format!("{records}/{id}"),
            &token,
            json!({"last_name": "Basset-Hound", "consent_market": false}),
        )
        .await;
    assert_eq!(amended.status, StatusCode::OK, "{}", amended.body);
    assert_eq!(amended.body["last_name"], "Basset-Hound");
    assert!(amended.headers.contains_key("etag"));
    let again = app.get(records, &token).await;
    assert_eq!(again.body["customers"][0]["last_name"], "Basset-Hound");
    assert_eq!(again.body["customers"][0]["consent_market"], false);

    let amendment = events_of(&app)
        .await
        .into_iter()
        .find(|e| e["kind"] == "customer.amended")
        .unwrap();
    assert_eq!(amendment["channel"], "pi");
    assert_eq!(amendment["actor"]["role"], "subject");
    assert_eq!(
        amendment["changes"],
        json!([{"field": "last_name", "was": "Basset", "now": "Basset-Hound"},
               {"field": "consent_market", "was": "true", "now": "false"}])
    );

    let withdrawn = app
        .post(
            "/v1/dealers/abc-motors/pi/withdraw-consent",
            &token,
            json!({"reason": "no longer interested"}),
        )
        .await;
    assert_eq!(withdrawn.status, StatusCode::OK, "{}", withdrawn.body);
    assert_eq!(withdrawn.body["customer_ids"], json!([id]));
    assert_eq!(withdrawn.body["lead_ids_lost"], json!(leads));
    assert!(withdrawn.body["deidentified_at"].is_string());

    // The token is spent: it cannot look up (which would mail a NOT FOUND) or act again.
    app.get(records, &token)
        .await
        .assert_problem(StatusCode::UNAUTHORIZED);

    // The record is de-identified; the id stays.
    let record = app
        .get(
            &format!("/v1/dealers/abc-motors/customers/{id}"),
            &dealer("abc-motors"),
        )
        .await;
    for field in [
        "first_name",
        "last_name",
        "email",
        "mobile",
        "consent_source",
    ] {
        assert!(record.body[field].is_null(), "{field}: {}", record.body);
    }
    assert_eq!(record.body["consent_process"], false);
    assert_eq!(record.body["consent_market"], false);
    assert!(record.body["deidentified_at"].is_string());
    for lead in record.body["leads"].as_array().unwrap() {
        assert_eq!(lead["status"], "lost");
        for free_text in ["message", "source", "vehicle"] {
            assert!(lead[free_text].is_null(), "{lead}");
        }
    }

    // History: the new events, and every earlier value redacted.
    let events = events_of(&app).await;
    let kinds: Vec<&str> = events.iter().map(|e| e["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        [
            "customer.created",
            "lead.created",
            "lead.created",
            "customer.amended",
            "consent.withdrawn",
            "customer.deidentified",
            "lead.status_changed",
            "lead.status_changed",
        ]
    );
    for event in &events[..4] {
        for change in event["changes"].as_array().unwrap() {
            for side in ["was", "now"] {
                assert!(
                    change[side].is_null() || change[side] == "[de-identified]",
                    "{event}"
                );
            }
        }
    }

    // The mail: code, details altered, withdrawal, one alert per salesperson.
    let mut kinds: Vec<String> = notifications_of(&app)
        .await
        .iter()
        .map(|n| n["kind"].as_str().unwrap().to_owned())
        .collect();
    kinds.sort();
    assert_eq!(
        kinds,
        [
            "consent_withdrawn",
            "deidentify_alert",
            "deidentify_alert",
            "details_altered",
            "one_time_code"
        ]
    );
}

/// The answer to a send says nothing about who is a customer.
#[tokio::test]
async fn the_answer_to_a_send_says_nothing_about_who_is_a_customer() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    app.create_customer("abc-motors", fred()).await;
    let path = "/v1/dealers/abc-motors/pi/verifications";
    let mut bodies = Vec::new();
    for email in ["fred@sea.com", "nobody@sea.com"] {
        let response = app
            .client
            .post(format!("{}{path}", app.address))
            .json(&json!({ "email": email }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        let text = response.text().await.unwrap();
        let parsed: Value = serde_json::from_str(&text).unwrap();
        let masked = text
            .replace(parsed["verification_id"].as_str().unwrap(), "ID")
            .replace(parsed["expires_at"].as_str().unwrap(), "EXPIRES");
        bodies.push((text.len(), masked));
    }
    assert_eq!(bodies[0], bodies[1], "the answers differ");
    // Both people got a code; neither answer said which one is a customer.
    latest_code(&app, "fred@sea.com").await;
    latest_code(&app, "nobody@sea.com").await;
}

/// Five wrong codes lock the verification.
#[tokio::test]
async fn five_wrong_codes_lock_the_verification() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let started = start_verification(&app, json!({"mobile": "083 656 7788"})).await;
    assert_eq!(started.body["channel"], "sms");
    let id = started.body["verification_id"].as_str().unwrap();
    let code = latest_code(&app, "+27836567788").await;
    let wrong = format!("{:06}", (code.parse::<u32>().unwrap() + 1) % 1_000_000);
    let confirm = format!("/v1/dealers/abc-motors/pi/verifications/{id}/confirm");
    for left in (0..5).rev() {
        let reply = app
            .call(Method::POST, &confirm, None, Some(json!({"code": wrong})))
            .await;
        reply.assert_problem(StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(reply.body["attempts_left"], left, "{}", reply.body);
    }
    // Locked: even the right code is refused now.
    let locked = app
        .call(Method::POST, &confirm, None, Some(json!({"code": code})))
        .await;
    locked.assert_problem(StatusCode::GONE);
    // A malformed code is refused without costing an attempt, and an unknown id is not found.
    app.call(
        Method::POST,
        &confirm,
        None,
        Some(json!({"code": "12ab56"})),
    )
    .await
    .assert_field_refused("code");
    app.call(
        Method::POST,
        "/v1/dealers/abc-motors/pi/verifications/nope/confirm",
        None,
        Some(json!({"code": "123456"})),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND);
}

/// A code works once.
#[tokio::test]
async fn a_code_works_once() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let started = start_verification(&app, json!({"email": "fred@sea.com"})).await;
    let id = started.body["verification_id"].as_str().unwrap();
    let code = latest_code(&app, "fred@sea.com").await;
    let confirm = format!("/v1/dealers/abc-motors/pi/verifications/{id}/confirm");
    let first = app
        .call(Method::POST, &confirm, None, Some(json!({"code": code})))
        .await;
    assert_eq!(first.status, StatusCode::OK);
    let second = app
        .call(Method::POST, &confirm, None, Some(json!({"code": code})))
        .await;
    second.assert_problem(StatusCode::GONE);
    // The token is for this dealer only.
    app.create_dealer("xyz-motors").await;
    let token = first.body["token"].as_str().unwrap();
    app.get("/v1/dealers/xyz-motors/pi/records", token)
        .await
        .assert_problem(StatusCode::NOT_FOUND);
    // Another dealer cannot confirm this dealer's verification.
    app.call(
        Method::POST,
        &format!("/v1/dealers/xyz-motors/pi/verifications/{id}/confirm"),
        None,
        Some(json!({"code": code})),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND);
}

/// Sends past the limits are 429.
#[tokio::test]
async fn sends_past_the_limits_are_429() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let path = "/v1/dealers/abc-motors/pi/verifications";
    for _ in 0..3 {
        let reply = app
            .call(
                Method::POST,
                path,
                None,
                Some(json!({"email": "fred@sea.com"})),
            )
            .await;
        assert_eq!(reply.status, StatusCode::ACCEPTED);
    }
    let limited = app
        .call(
            Method::POST,
            path,
            None,
            Some(json!({"email": "FRED@sea.com"})),
        )
        .await;
    limited.assert_problem(StatusCode::TOO_MANY_REQUESTS);
    let retry_after: u64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(retry_after > 0 && retry_after <= 15 * 60, "{retry_after}");
    // One client address may not spray codes at many identifiers either.
    let mut statuses = Vec::new();
    for n in 0..20 {
        let reply = app
            .call(
                Method::POST,
                path,
                None,
                Some(json!({"email": format!("person{n}@sea.com")})),
            )
            .await;
        statuses.push(reply.status.as_u16());
    }
    // 3 sends to Fred and 17 to others fill the client's 20; then 429.
    assert_eq!(
        statuses.iter().filter(|s| **s == 202).count(),
        17,
        "{statuses:?}"
    );
    assert_eq!(
        statuses.iter().filter(|s| **s == 429).count(),
        3,
        "{statuses:?}"
    );
}

/// A verification needs exactly one valid identifier.
#[tokio::test]
async fn a_verification_needs_exactly_one_valid_identifier() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let path = "/v1/dealers/abc-motors/pi/verifications";
    let cases = [
        (json!({}), "email"),
        (
            json!({"email": "fred@sea.com", "mobile": "0836567788"}),
            "email",
        ),
        (json!({"email": "fred@"}), "email"),
        (json!({"mobile": "12"}), "mobile"),
        (
            json!({"email": "fred@sea.com", "customer_id": 1}),
            "customer_id",
        ),
    ];
    for (body, field) in cases {
        app.call(Method::POST, path, None, Some(body))
            .await
            .assert_field_refused(field);
    }
    app.call(
        Method::POST,
        "/v1/dealers/ghost-motors/pi/verifications",
        None,
        Some(json!({"email": "fred@sea.com"})),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND);
}

/// A subject reaches only records under their identifier.
#[tokio::test]
async fn a_subject_reaches_only_records_under_their_identifier() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let (fred_id, _) = fred_with_leads(&app).await;
    let mut other = fred();
    other["email"] = json!("naledi@mail.co.za");
    other["mobile"] = json!("082 555 0123");
    let naledi = app.create_customer("abc-motors", other).await;
    let token = verify(
        &app,
        "abc-motors",
        json!({"email": "naledi@mail.co.za"}),
        "naledi@mail.co.za",
    )
    .await;
    let records = app.get("/v1/dealers/abc-motors/pi/records", &token).await;
    assert_eq!(records.body["customers"].as_array().unwrap().len(), 1);
    assert_eq!(records.body["customers"][0]["id"], naledi["id"]);
    app.patch(
        &format!("/v1/dealers/abc-motors/pi/records/{fred_id}"),
        &token,
        json!({"first_name": "Hacked"}),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND);
    // A subject is not staff.
    app.get(
        &format!("/v1/dealers/abc-motors/customers/{fred_id}"),
        &token,
    )
    .await
    .assert_problem(StatusCode::FORBIDDEN);
    // Staff are not subjects.
    app.get("/v1/dealers/abc-motors/pi/records", &dealer("abc-motors"))
        .await
        .assert_problem(StatusCode::FORBIDDEN);
}

/// Not found is mailed once a day but always recorded.
#[tokio::test]
async fn not_found_is_mailed_once_a_day_but_always_recorded() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let token = subject("abc-motors", "stranger@sea.com");
    for _ in 0..3 {
        let reply = app.get("/v1/dealers/abc-motors/pi/records", &token).await;
        assert_eq!(reply.body["found"], false);
    }
    let mailed = notifications_of(&app)
        .await
        .iter()
        .filter(|n| n["kind"] == "lookup_not_found")
        .count();
    assert_eq!(mailed, 1);
    let recorded = events_of(&app)
        .await
        .iter()
        .filter(|e| e["kind"] == "lookup.not_found")
        .count();
    assert_eq!(recorded, 3);
}

/// An expired code is gone and expired verifications are purged.
#[tokio::test]
async fn an_expired_code_is_gone_and_expired_verifications_are_purged() {
    use diesel::RunQueryDsl;
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let started = start_verification(&app, json!({"email": "fred@sea.com"})).await;
    let id = started.body["verification_id"].as_str().unwrap().to_owned();
    let code = latest_code(&app, "fred@sea.com").await;
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    // Ten minutes and a second later, by the clock of the database row.
    let past = popia_api::db::now() - chrono::Duration::seconds(1);
    let sql = match &*conn {
        popia_api::db::DbConnection::Pg(_) => "UPDATE verifications SET expires_at = $1",
        popia_api::db::DbConnection::Sqlite(_) => "UPDATE verifications SET expires_at = ?",
    };
    diesel::sql_query(sql)
        .bind::<diesel::sql_types::Timestamp, _>(past)
        .execute(&mut *conn)
        .unwrap();
    app.call(
        Method::POST,
        &format!("/v1/dealers/abc-motors/pi/verifications/{id}/confirm"),
        None,
        Some(json!({"code": code})),
    )
    .await
    .assert_problem(StatusCode::GONE);

    // Kept an hour past expiry to count sends, then purged.
    let now = popia_api::db::now();
    let purged =
        popia_api::service::maintenance::purge(&mut conn, now + chrono::Duration::minutes(59))
            .unwrap();
    assert_eq!(purged, 0);
    let purged =
        popia_api::service::maintenance::purge(&mut conn, now + chrono::Duration::minutes(61))
            .unwrap();
    assert_eq!(purged, 1);
    app.call(
        Method::POST,
        &format!("/v1/dealers/abc-motors/pi/verifications/{id}/confirm"),
        None,
        Some(json!({"code": code})),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND);
}

/// The salesperson appears to the customer by first name only, in every /pi answer that
/// carries leads: the lookup, an amendment and a confirmed identifier change. Staff still see
/// the full recipient.
#[tokio::test]
async fn the_customer_sees_the_salesperson_by_first_name_only() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let (id, leads) = fred_with_leads(&app).await;
    let staff = dealer("abc-motors");
    let moved = app
        .patch(
            &format!("/v1/dealers/abc-motors/leads/{}", leads[0]),
            &staff,
            json!({"recipient": {"name": "Ashveer Singh", "email": "ashveer@abc-motors.co.za"}}),
        )
        .await;
    assert_eq!(moved.status, StatusCode::OK, "{}", moved.body);
    let token = subject("abc-motors", "fred@sea.com");
    let records = "/v1/dealers/abc-motors/pi/records";

    let assert_first_names_only = |what: &str, body: &Value, leads: &Value| {
        let text = body.to_string();
        assert!(!text.contains("@abc-motors.co.za"), "{what}: {text}");
        assert!(!text.contains("Singh"), "{what}: {text}");
        let mut names: Vec<&str> = Vec::new();
        for lead in leads.as_array().unwrap() {
            let mut keys: Vec<&str> = lead
                .as_object()
                .unwrap()
                .keys()
                .map(|k| k.as_str())
                .collect();
            keys.sort();
            assert_eq!(
                keys,
                [
                    "created_at",
                    "id",
                    "message",
                    "recipient_first_name",
                    "source",
                    "status",
                    "updated_at",
                    "vehicle"
                ],
                "{what}"
            );
            names.push(lead["recipient_first_name"].as_str().unwrap());
        }
        names.sort();
        assert_eq!(names, ["Ashveer", "Lerato"], "{what}");
    };

    let found = app.get(records, &token).await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.body);
    assert_first_names_only("lookup", &found.body, &found.body["customers"][0]["leads"]);
    assert_eq!(
        found.body["customers"][0]["leads"][0]["vehicle"],
        "VW Polo CA 123-456"
    );

    let amended = app
        .patch(
            &format!("{records}/{id}"),
            &token,
            json!({"consent_market": false}),
        )
        .await;
    assert_eq!(amended.status, StatusCode::OK, "{}", amended.body);
    assert!(amended.headers.contains_key("etag"));
    assert_first_names_only("amendment", &amended.body, &amended.body["leads"]);

    let change = app
        .post(
            &format!("{records}/{id}/identifier-changes"),
            &token,
            json!({"mobile": "072 111 2222"}),
        )
        .await;
    assert_eq!(change.status, StatusCode::ACCEPTED, "{}", change.body);
    let change_id = change.body["verification_id"].as_str().unwrap();
    let code = latest_code(&app, "+27721112222").await;
    let confirmed = app
        .post(
            &format!("{records}/{id}/identifier-changes/{change_id}/confirm"),
            &token,
            json!({ "code": code }),
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    assert_eq!(confirmed.body["mobile"], "+27721112222");
    assert_first_names_only(
        "identifier change",
        &confirmed.body,
        &confirmed.body["leads"],
    );

    // Staff keep the whole recipient.
    let record = app
        .get(&format!("/v1/dealers/abc-motors/customers/{id}"), &staff)
        .await
        .body;
    let ashveer = record["leads"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["id"] == leads[0])
        .unwrap();
    assert_eq!(
        ashveer["recipient"],
        json!({"name": "Ashveer Singh", "email": "ashveer@abc-motors.co.za"})
    );
}
