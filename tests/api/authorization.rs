//! The authorization matrix: every route of the document × every kind of caller, against what
//! API.md says. The routes come from the served document, so a new route without an entry in
//! `class_of` fails this test rather than escaping it.

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use crate::helpers::*;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Class {
    /// No token needed: health, readiness, metrics.
    Open,
    /// No token needed: how a data subject gets one.
    PublicPi,
    ManageDealers,
    ReadDealer,
    DealerData,
    Blacklists,
    BlacklistPulls,
    Pi,
}

fn class_of(operation_id: &str) -> Option<Class> {
    use Class::*;
    Some(match operation_id {
        "healthz" | "readyz" | "metrics" => Open,
        "start_verification" | "confirm_verification" => PublicPi,
        "create_dealer" | "update_dealer" => ManageDealers,
        "get_dealer" => ReadDealer,
        "create_customer" | "list_customers" | "get_customer" | "amend_customer"
        | "withdraw_consent" | "customer_history" | "dealer_history" | "create_lead"
        | "get_lead" | "update_lead" | "list_notifications" | "customer_reads" => DealerData,
        "create_webhook"
        | "list_webhooks"
        | "get_webhook"
        | "delete_webhook"
        | "rotate_webhook_secret"
        | "list_webhook_deliveries" => DealerData,
        "list_follow_ups" | "get_follow_up" | "close_follow_up" => DealerData,
        "list_blacklist_emails" | "list_blacklist_mobiles" | "check_blacklist" => Blacklists,
        "list_blacklist_pulls" => BlacklistPulls,
        "pi_lookup"
        | "pi_amend"
        | "pi_withdraw_consent"
        | "pi_start_identifier_change"
        | "pi_confirm_identifier_change" => Pi,
        _ => return None,
    })
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Caller {
    Nobody,
    Admin,
    Dealer,
    OtherDealer,
    Operator,
    OtherSubject,
}

/// What API.md says: 401 without a token, 403 for a wrong role, 404 for another dealer's data,
/// 2xx otherwise (or, for a subject, 404 on a record that is not theirs).
fn expected(class: Class, caller: Caller, operation_id: &str) -> &'static str {
    use Caller::*;
    use Class::*;
    match (class, caller) {
        (Open, _) => "2xx",
        (PublicPi, _) => "not 401/403",
        (_, Nobody) => "401",
        (ManageDealers, Admin) => "2xx",
        (ManageDealers, _) => "403",
        // A record that is not theirs.
        (Pi, OtherSubject)
            if operation_id.starts_with("pi_")
                && operation_id != "pi_lookup"
                && operation_id != "pi_withdraw_consent" =>
        {
            "404"
        }
        (Pi, OtherSubject) => "2xx",
        (Pi, _) => "403",
        (_, OtherSubject) => "403",
        (Blacklists, Operator) => "2xx",
        (_, Operator) => "403",
        (_, OtherDealer) => "404",
        (_, Admin | Dealer) => "2xx",
    }
}

fn token(caller: Caller) -> Option<String> {
    match caller {
        Caller::Nobody => None,
        Caller::Admin => Some(admin()),
        Caller::Dealer => Some(dealer("abc-motors")),
        Caller::OtherDealer => Some(dealer("xyz-motors")),
        Caller::Operator => Some(operator()),
        Caller::OtherSubject => Some(subject("abc-motors", "someone.else@sea.com")),
    }
}

/// Every route answers every caller as the contract says.
#[tokio::test]
async fn every_route_answers_every_caller_as_the_contract_says() {
    let app = spawn_app().await;
    app.create_dealer("abc-motors").await;
    app.create_dealer("xyz-motors").await;
    let (customer, leads) = fred_with_leads(&app).await;
    // The withdrawals de-identify someone else, so the other routes keep a live customer.
    let withdrawn = app
        .create_customer("abc-motors", json!({"first_name": "Leaving", "last_name": "Soon", "mobile": "082 555 0199", "consent_process": true, "consent_market": false}))
        .await["id"]
        .as_i64()
        .unwrap();
    // Another dealer's data, which no list of abc-motors may ever show.
    let theirs = app.create_customer("xyz-motors", json!({"first_name": "Other", "last_name": "Dealer", "email": "other@xyz.co.za", "consent_process": true, "consent_market": false})).await;
    // Webhook endpoints: one the routes read, and one for each caller that may delete one.
    let mut hooks = Vec::new();
    for _ in 0..3 {
        let body = body_for("create_webhook", 0, customer);
        let reply = app
            .call(
                Method::POST,
                "/v1/dealers/abc-motors/webhooks",
                Some(&dealer("abc-motors")),
                body,
            )
            .await;
        hooks.push(reply.body["id"].as_i64().unwrap());
    }

    // Follow-ups: three amendments open three; one the routes read, and one for each caller
    // that may close one.
    for market in [false, true, false] {
        let amended = app
            .patch(
                &format!("/v1/dealers/abc-motors/customers/{customer}"),
                &dealer("abc-motors"),
                json!({"consent_market": market}),
            )
            .await;
        assert_eq!(amended.status, StatusCode::OK, "{}", amended.body);
    }
    let follow_ups: Vec<i64> = app
        .get("/v1/dealers/abc-motors/follow-ups", &dealer("abc-motors"))
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    assert_eq!(follow_ups.len(), 3);

    let document = app
        .call(Method::GET, "/openapi.json", None, None)
        .await
        .body;
    let callers = [
        Caller::Nobody,
        Caller::Admin,
        Caller::Dealer,
        Caller::OtherDealer,
        Caller::Operator,
        Caller::OtherSubject,
    ];
    let mut cells = 0;
    let mut failures = Vec::new();
    let mut serial = 0;
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let operation_id = operation["operationId"].as_str().unwrap();
            let class = class_of(operation_id).unwrap_or_else(|| {
                panic!("{operation_id} ({method} {path}) is not in the authorization matrix")
            });
            for caller in callers {
                serial += 1;
                let url = path
                    .replace("{dealer}", "abc-motors")
                    .replace("{customer_id}", &customer.to_string())
                    .replace("{verification_id}", "0123456789abcdef")
                    .replace(
                        "{id}",
                        &match path {
                            p if p.contains("/leads/") => leads[0],
                            p if p.contains("/webhooks/") && operation_id == "delete_webhook" => {
                                hooks[if caller == Caller::Admin { 1 } else { 2 }]
                            }
                            p if p.contains("/webhooks/") => hooks[0],
                            p if p.ends_with("/done") => {
                                follow_ups[if caller == Caller::Admin { 1 } else { 2 }]
                            }
                            p if p.contains("/follow-ups/") => follow_ups[0],
                            p if p.ends_with("/withdraw-consent") => withdrawn,
                            _ => customer,
                        }
                        .to_string(),
                    );
                let body = body_for(operation_id, serial, customer);
                let method = Method::from_bytes(method.to_uppercase().as_bytes()).unwrap();
                let reply = app
                    .call(method.clone(), &url, token(caller).as_deref(), body)
                    .await;
                let want = expected(class, caller, operation_id);
                let ok = match want {
                    "2xx" => reply.status.is_success(),
                    "not 401/403" => {
                        reply.status != StatusCode::UNAUTHORIZED
                            && reply.status != StatusCode::FORBIDDEN
                    }
                    code => reply.status.as_str() == code,
                };
                if !ok {
                    failures.push(format!(
                        "{method} {url} as {caller:?}: want {want}, got {} {}",
                        reply.status, reply.body
                    ));
                }
                // No list ever shows another dealer's rows.
                if reply.status.is_success() {
                    let text = reply.body.to_string();
                    assert!(
                        !text.contains("xyz-motors")
                            && !text.contains(&format!("\"customer_id\":{}", theirs["id"]))
                            || operation_id == "get_dealer",
                        "{method} {url} leaked: {text}"
                    );
                }
                cells += 1;
            }
        }
    }
    println!(
        "authorization matrix: {cells} cells, {} failures",
        failures.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A valid body for each operation that takes one.
fn body_for(operation_id: &str, serial: usize, customer: i64) -> Option<Value> {
    Some(match operation_id {
        "create_dealer" => {
            json!({"id": format!("matrix-{serial}"), "name": "M", "website": "https://m.co.za", "key_contacts": [{"name": "A", "email": "a@m.co.za"}]})
        }
        "update_dealer" => json!({"name": "ABC Motors"}),
        "create_customer" => {
            json!({"first_name": "Matrix", "last_name": "Cell", "email": format!("m{serial}@mail.co.za"), "consent_process": true, "consent_market": false})
        }
        "amend_customer" | "pi_amend" => json!({"consent_market": false}),
        "withdraw_consent" | "pi_withdraw_consent" => json!({}),
        "create_lead" => {
            json!({"customer_id": customer, "recipient": {"name": "A", "email": "a@abc.co.za"}})
        }
        "update_lead" => json!({"status": "active"}),
        "check_blacklist" => json!({"emails": ["a@b.co.za"]}),
        "close_follow_up" => json!({"note": "Done in the DMS."}),
        "create_webhook" => {
            json!({"url": "https://dms.abcmotors.co.za/hooks", "events": ["customer.created"]})
        }
        "start_verification" | "pi_start_identifier_change" => {
            json!({"email": format!("v{serial}@mail.co.za")})
        }
        "confirm_verification" | "pi_confirm_identifier_change" => json!({"code": "123456"}),
        _ => return None,
    })
}
