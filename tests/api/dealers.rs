use reqwest::StatusCode;
use serde_json::json;

use crate::helpers::*;

/// An admin creates reads and changes a dealer.
#[tokio::test]
async fn an_admin_creates_reads_and_changes_a_dealer() {
    let app = spawn_app().await;
    let created = app.create_dealer("abc-motors").await;
    assert_eq!(created["id"], "abc-motors");
    assert_eq!(
        created["key_contacts"][0]["email"],
        "thandi@abc-motors.co.za"
    );

    let again = app
        .post("/v1/dealers", &admin(), json!({"id": "abc-motors", "name": "Again", "website": "https://a.co.za", "key_contacts": [{"name": "A", "email": "a@a.co.za"}]}))
        .await;
    again.assert_problem(StatusCode::CONFLICT);

    let read = app
        .get("/v1/dealers/abc-motors", &dealer("abc-motors"))
        .await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body["name"], "abc-motors name");

    let changed = app
        .patch(
            "/v1/dealers/abc-motors",
            &admin(),
            json!({"name": "ABC Motors", "key_contacts": [{"name": "Sipho", "email": "SIPHO@abc.co.za"}, {"name": "Anna", "email": "anna@abc.co.za"}]}),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    assert_eq!(changed.body["name"], "ABC Motors");
    assert_eq!(changed.body["website"], "https://abc-motors.co.za");
    assert_eq!(changed.body["key_contacts"][0]["email"], "sipho@abc.co.za");
    assert_eq!(changed.body["key_contacts"].as_array().unwrap().len(), 2);

    app.patch("/v1/dealers/nobody-here", &admin(), json!({"name": "X"}))
        .await
        .assert_problem(StatusCode::NOT_FOUND);
}

/// Invalid dealer fields are named.
#[tokio::test]
async fn invalid_dealer_fields_are_named() {
    let app = spawn_app().await;
    let valid = json!({"id": "abc-motors", "name": "ABC", "website": "https://abc.co.za", "key_contacts": [{"name": "A", "email": "a@abc.co.za"}]});
    let cases = [
        ("id", json!("ABC Motors")),
        ("id", json!("a")),
        ("name", json!("")),
        ("website", json!("abc motors")),
        ("website", json!("ftp://abc.co.za")),
        ("key_contacts", json!([])),
        (
            "key_contacts[0].email",
            json!([{"name": "A", "email": "not-an-email"}]),
        ),
        (
            "key_contacts[0].name",
            json!([{"name": " ", "email": "a@abc.co.za"}]),
        ),
    ];
    for (field, value) in cases {
        let mut body = valid.clone();
        let key = field.split(['[', '.']).next().unwrap();
        body[key] = value;
        app.post("/v1/dealers", &admin(), body)
            .await
            .assert_field_refused(field);
    }
}

/// A website is accepted as dealers type it, and stored as a URL.
#[tokio::test]
async fn a_website_typed_without_a_scheme_is_stored_as_https() {
    let app = spawn_app().await;
    for (n, typed) in ["www.abcmotors.co.za", "abcmotors.co.za"]
        .iter()
        .enumerate()
    {
        let created = app
            .post(
                "/v1/dealers",
                &admin(),
                json!({"id": format!("dealer-{n}"), "name": "ABC", "website": typed,
                       "key_contacts": [{"name": "A", "email": "a@abc.co.za"}]}),
            )
            .await;
        assert_eq!(
            created.status,
            reqwest::StatusCode::CREATED,
            "{}",
            created.body
        );
        assert_eq!(created.body["website"], format!("https://{typed}"));
    }
}
