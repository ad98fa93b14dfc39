//! The withdrawal touches only the person who proved it: another customer's identifiers cannot
//! be borrowed (an identifier change is proven by a code to the new value), a record that only
//! shares a mobile is left alone, the token is spent, and what a withdrawal makes moot goes.

use diesel::RunQueryDsl;
use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

fn customer_path(id: i64) -> String {
    format!("/v1/dealers/abc-motors/customers/{id}")
}

/// Which of these values are on abc-motors' blacklists, asked as an operator would.
async fn blacklisted(app: &TestApp, emails: &[&str], mobiles: &[&str]) -> Value {
    let reply = app
        .post(
            "/v1/dealers/abc-motors/blacklist/check",
            &operator(),
            json!({"emails": emails, "mobiles": mobiles}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    json!({"emails": reply.body["emails"], "mobiles": reply.body["mobiles"]})
}

/// Naledi: a customer with a lead, whom nobody but Naledi may touch.
async fn naledi(app: &TestApp) -> (i64, Value) {
    let mut body = fred();
    body["first_name"] = json!("Naledi");
    body["last_name"] = json!("Dlamini");
    body["email"] = json!("naledi@mail.co.za");
    body["mobile"] = json!("082 555 0123");
    let id = app.create_customer("abc-motors", body).await["id"]
        .as_i64()
        .unwrap();
    let lead = app
        .post(
            "/v1/dealers/abc-motors/leads",
            &dealer("abc-motors"),
            json!({"customer_id": id, "recipient": {"name": "Sipho", "email": "sipho@abc-motors.co.za"},
                   "vehicle": "Toyota Hilux"}),
        )
        .await;
    assert_eq!(lead.status, StatusCode::CREATED);
    let record = app
        .get(&customer_path(id), &dealer("abc-motors"))
        .await
        .body;
    (id, record)
}

/// A subject cannot borrow a victims email to withdraw them.
#[tokio::test]
async fn a_subject_cannot_borrow_a_victims_email_to_withdraw_them() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let (fred_id, _) = fred_with_leads(&app).await;
    let (victim, before) = naledi(&app).await;
    let attacker = verify(
        &app,
        "abc-motors",
        json!({"email": "fred@sea.com"}),
        "fred@sea.com",
    )
    .await;

    // Writing the victim's email onto their own record: refused, naming the field.
    let records = format!("/v1/dealers/abc-motors/pi/records/{fred_id}");
    for field in ["email", "mobile"] {
        let value = if field == "email" {
            "naledi@mail.co.za"
        } else {
            "082 555 0123"
        };
        let refused = app
            .patch(&records, &attacker, json!({ field: value }))
            .await;
        refused.assert_field_refused(field);
    }
    // Asking to change to it sends the code to the victim, whom the attacker cannot read;
    // guessing it fails.
    let change = app
        .post(
            &format!("{records}/identifier-changes"),
            &attacker,
            json!({"email": "naledi@mail.co.za"}),
        )
        .await;
    assert_eq!(change.status, StatusCode::ACCEPTED, "{}", change.body);
    let change_id = change.body["verification_id"].as_str().unwrap().to_owned();
    let code = latest_code(&app, "naledi@mail.co.za").await;
    let wrong = if code == "000000" { "000001" } else { "000000" };
    let guess = app
        .post(
            &format!("{records}/identifier-changes/{change_id}/confirm"),
            &attacker,
            json!({"code": wrong}),
        )
        .await;
    guess.assert_problem(StatusCode::UNPROCESSABLE_ENTITY);

    let done = app
        .post(
            "/v1/dealers/abc-motors/pi/withdraw-consent",
            &attacker,
            json!({}),
        )
        .await;
    assert_eq!(done.body["customer_ids"], json!([fred_id]), "{}", done.body);
    let after = app
        .get(&customer_path(victim), &dealer("abc-motors"))
        .await
        .body;
    assert_eq!(after, before, "the victim's record changed");
    assert_eq!(
        blacklisted(&app, &["naledi@mail.co.za"], &["082 555 0123"]).await,
        json!({"emails": [], "mobiles": []})
    );
    // The victim's pending code cannot be confirmed by anyone after the withdrawal either.
    let late = app
        .post(
            &format!("{records}/identifier-changes/{change_id}/confirm"),
            &attacker,
            json!({"code": code}),
        )
        .await;
    late.assert_problem(StatusCode::UNAUTHORIZED);
}

/// A spouse who shares only the mobile is left alone.
#[tokio::test]
async fn a_spouse_who_shares_only_the_mobile_is_left_alone() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let (fred_id, _) = fred_with_leads(&app).await;
    let mut wilma = fred();
    wilma["first_name"] = json!("Wilma");
    wilma["email"] = json!("wilma@sea.com");
    let wilma_id = app.create_customer("abc-motors", wilma).await["id"]
        .as_i64()
        .unwrap();
    let before = app
        .get(&customer_path(wilma_id), &dealer("abc-motors"))
        .await
        .body;
    let token = verify(
        &app,
        "abc-motors",
        json!({"email": "fred@sea.com"}),
        "fred@sea.com",
    )
    .await;
    let done = app
        .post(
            "/v1/dealers/abc-motors/pi/withdraw-consent",
            &token,
            json!({}),
        )
        .await;
    assert_eq!(done.body["customer_ids"], json!([fred_id]), "{}", done.body);
    let after = app
        .get(&customer_path(wilma_id), &dealer("abc-motors"))
        .await
        .body;
    assert_eq!(after, before);
    // Fred's record's email and mobile are listed; Wilma's email is not.
    assert_eq!(
        blacklisted(&app, &["fred@sea.com", "wilma@sea.com"], &["083 656 7788"]).await,
        json!({"emails": ["fred@sea.com"], "mobiles": ["+27836567788"]})
    );
}

/// An identifier change is proven by a code to the new value.
#[tokio::test]
async fn an_identifier_change_is_proven_by_a_code_to_the_new_value() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let (fred_id, _) = fred_with_leads(&app).await;
    let (naledi_id, _) = naledi(&app).await;
    let token = verify(
        &app,
        "abc-motors",
        json!({"email": "fred@sea.com"}),
        "fred@sea.com",
    )
    .await;
    let changes = format!("/v1/dealers/abc-motors/pi/records/{fred_id}/identifier-changes");

    // Only records under the verified identifier; exactly one valid identifier.
    app.post(
        &format!("/v1/dealers/abc-motors/pi/records/{naledi_id}/identifier-changes"),
        &token,
        json!({"mobile": "082 000 1111"}),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND);
    app.post(&changes, &token, json!({"mobile": "12"}))
        .await
        .assert_field_refused("mobile");
    app.post(&changes, &token, json!({}))
        .await
        .assert_problem(StatusCode::UNPROCESSABLE_ENTITY);

    let started = app
        .post(&changes, &token, json!({"mobile": "072 111 2222"}))
        .await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
    assert_eq!(started.body["channel"], "sms");
    let id = started.body["verification_id"].as_str().unwrap().to_owned();
    let code = latest_code(&app, "+27721112222").await;
    // The code proves the change only: it does not sign anyone in, and nobody else may use it.
    app.call(
        Method::POST,
        &format!("/v1/dealers/abc-motors/pi/verifications/{id}/confirm"),
        None,
        Some(json!({"code": code})),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND);
    let other = subject("abc-motors", "naledi@mail.co.za");
    app.post(
        &format!("{changes}/{id}/confirm"),
        &other,
        json!({"code": code}),
    )
    .await
    .assert_problem(StatusCode::NOT_FOUND);

    let confirmed = app
        .post(
            &format!("{changes}/{id}/confirm"),
            &token,
            json!({"code": code}),
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    assert_eq!(confirmed.body["mobile"], "+27721112222");
    assert!(confirmed.headers.contains_key("etag"));
    let amended = events_of(&app)
        .await
        .into_iter()
        .rfind(|e| e["kind"] == "customer.amended")
        .unwrap();
    assert_eq!(amended["channel"], "pi");
    assert_eq!(
        amended["changes"],
        json!([{"field": "mobile", "was": "+27836567788", "now": "+27721112222"}])
    );
    assert!(notifications_of(&app)
        .await
        .iter()
        .any(|n| n["kind"] == "details_altered"));
    // Used once.
    app.post(
        &format!("{changes}/{id}/confirm"),
        &token,
        json!({"code": code}),
    )
    .await
    .assert_problem(StatusCode::GONE);

    // A blacklisted new value: the start answers 202 as ever; the confirmation 409.
    let withdrawn = verify(
        &app,
        "abc-motors",
        json!({"email": "naledi@mail.co.za"}),
        "naledi@mail.co.za",
    )
    .await;
    app.post(
        "/v1/dealers/abc-motors/pi/withdraw-consent",
        &withdrawn,
        json!({}),
    )
    .await;
    let seen = codes_received(&app, "naledi@mail.co.za");
    let started = app
        .post(&changes, &token, json!({"email": "Naledi@Mail.co.za"}))
        .await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
    let id = started.body["verification_id"].as_str().unwrap().to_owned();
    let code = code_after(&app, "naledi@mail.co.za", seen).await;
    app.post(
        &format!("{changes}/{id}/confirm"),
        &token,
        json!({"code": code}),
    )
    .await
    .assert_problem(StatusCode::CONFLICT);
    let record = app
        .get(&customer_path(fred_id), &dealer("abc-motors"))
        .await
        .body;
    assert_eq!(record["email"], "fred@sea.com");
}

/// Identifier change codes count against the send limits.
#[tokio::test]
async fn identifier_change_codes_count_against_the_send_limits() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let (fred_id, _) = fred_with_leads(&app).await;
    let token = verify(
        &app,
        "abc-motors",
        json!({"email": "fred@sea.com"}),
        "fred@sea.com",
    )
    .await;
    let changes = format!("/v1/dealers/abc-motors/pi/records/{fred_id}/identifier-changes");
    for _ in 0..3 {
        let sent = app
            .post(&changes, &token, json!({"email": "new@sea.com"}))
            .await;
        assert_eq!(sent.status, StatusCode::ACCEPTED);
    }
    let limited = app
        .post(&changes, &token, json!({"email": "new@sea.com"}))
        .await;
    limited.assert_problem(StatusCode::TOO_MANY_REQUESTS);
    assert!(limited.headers.contains_key("retry-after"));
}

/// A withdrawn customers lost leads stay closed and hold no free text.
#[tokio::test]
async fn a_withdrawn_customers_lost_leads_stay_closed_and_hold_no_free_text() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let token = dealer("abc-motors");
    let (id, leads) = fred_with_leads(&app).await;
    app.post(
        &format!("{}/withdraw-consent", customer_path(id)),
        &token,
        json!({}),
    )
    .await;
    for lead in &leads {
        let path = format!("/v1/dealers/abc-motors/leads/{lead}");
        let read = app.get(&path, &token).await.body;
        assert_eq!(read["status"], "lost");
        for free_text in ["message", "source", "vehicle"] {
            assert!(read[free_text].is_null(), "{read}");
        }
        app.patch(&path, &token, json!({"status": "active"}))
            .await
            .assert_problem(StatusCode::CONFLICT);
        app.patch(
            &path,
            &token,
            json!({"recipient": {"name": "Thabo", "email": "thabo@abc-motors.co.za"}}),
        )
        .await
        .assert_problem(StatusCode::CONFLICT);
    }
}

/// A withdrawal redacts masked lookups of the person.
#[tokio::test]
async fn a_withdrawal_redacts_masked_lookups_of_the_person() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    // Fred looks before the dealer holds anything of his: a NOT FOUND, masked in the feed.
    let early = verify(
        &app,
        "abc-motors",
        json!({"email": "fred@sea.com"}),
        "fred@sea.com",
    )
    .await;
    app.get("/v1/dealers/abc-motors/pi/records", &early).await;
    // Someone else's NOT FOUND stays as it is.
    let other = subject("abc-motors", "thabo@mail.co.za");
    app.get("/v1/dealers/abc-motors/pi/records", &other).await;
    let (id, _) = fred_with_leads(&app).await;
    app.post(
        &format!("{}/withdraw-consent", customer_path(id)),
        &dealer("abc-motors"),
        json!({}),
    )
    .await;
    let lookups: Vec<Value> = events_of(&app)
        .await
        .into_iter()
        .filter(|e| e["kind"] == "lookup.not_found")
        .map(|e| e["changes"][0]["now"].clone())
        .collect();
    assert_eq!(
        lookups,
        [json!("[de-identified]"), json!("t***@mail.co.za")]
    );
}

#[derive(diesel::QueryableByName)]
struct Refs {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    refs: Option<String>,
}

/// Stored responses are forgotten by id and codes are never replayed.
#[tokio::test]
async fn stored_responses_are_forgotten_by_id_and_codes_are_never_replayed() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    let token = dealer("abc-motors");
    let keyed = |key: &str, body: Value| {
        app.client
            .post(format!("{}/v1/dealers/abc-motors/customers", app.address))
            .bearer_auth(&token)
            .header("idempotency-key", key.to_owned())
            .json(&body)
    };
    // Ten customers, so that customer 1 and customer 10 both exist.
    let mut ids = Vec::new();
    for n in 1..=10 {
        let mut body = fred();
        body["email"] = json!(format!("person{n}@sea.com"));
        body["mobile"] = json!(format!("083 656 77{n:02}"));
        let response = keyed(&format!("create-{n}"), body).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        ids.push(
            response.json::<Value>().await.unwrap()["id"]
                .as_i64()
                .unwrap(),
        );
    }
    assert_eq!((ids[0], ids[9]), (1, 10));
    app.post(
        &format!("{}/withdraw-consent", customer_path(1)),
        &token,
        json!({}),
    )
    .await;
    let pool = app.pool();
    let refs: Vec<String> = diesel::sql_query("SELECT refs FROM idempotency_keys")
        .load::<Refs>(&mut pool.get().unwrap())
        .unwrap()
        .into_iter()
        .filter_map(|r| r.refs)
        .collect();
    assert!(refs.iter().all(|r| !r.contains(" customer:1 ")), "{refs:?}");
    // Customer 10's stored response stays and replays; customer 1's is gone.
    let mut body = fred();
    body["email"] = json!("person10@sea.com");
    body["mobile"] = json!("083 656 7710");
    let replay = keyed("create-10", body).send().await.unwrap();
    assert_eq!(
        replay
            .headers()
            .get("idempotent-replayed")
            .map(|v| v.to_str().unwrap()),
        Some("true")
    );

    // A confirmed code is not replayed under its key: the retry is refused like any used code.
    let started = start_verification(&app, json!({"email": "person10@sea.com"})).await;
    let id = started.body["verification_id"].as_str().unwrap().to_owned();
    let code = latest_code(&app, "person10@sea.com").await;
    let confirm = || {
        app.client
            .post(format!(
                "{}/v1/dealers/abc-motors/pi/verifications/{id}/confirm",
                app.address
            ))
            .header("idempotency-key", "confirm-once")
            .json(&json!({"code": code}))
            .send()
    };
    assert_eq!(confirm().await.unwrap().status(), StatusCode::OK);
    assert_eq!(confirm().await.unwrap().status(), StatusCode::GONE);
}
