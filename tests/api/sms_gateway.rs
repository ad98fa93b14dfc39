//! An HTTP SMS gateway on loopback, in-process (wiremock): it accepts `POST /sms` and keeps what
//! it was sent, whatever the body's framing (a length or chunks).

use std::time::Duration;

use popia_api::db;
use popia_api::notify::{emails, Branding};
use reqwest::StatusCode;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::helpers::*;

#[derive(Debug, Clone)]
pub struct Sent {
    pub authorization: Option<String>,
    pub body: serde_json::Value,
}

pub struct SmsGateway {
    server: MockServer,
}

impl SmsGateway {
    /// A gateway that takes every message.
    pub async fn start() -> SmsGateway {
        SmsGateway::failing_first(0).await
    }

    /// A gateway that answers `503` to the first `failures` messages, then takes every one.
    pub async fn failing_first(failures: u64) -> SmsGateway {
        let server = MockServer::start().await;
        if failures > 0 {
            Mock::given(method("POST"))
                .and(path("/sms"))
                .respond_with(ResponseTemplate::new(503))
                .up_to_n_times(failures)
                .with_priority(1)
                .mount(&server)
                .await;
        }
        Mock::given(method("POST"))
            .and(path("/sms"))
            .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({})))
            .mount(&server)
            .await;
        SmsGateway { server }
    }

    pub fn url(&self) -> String {
        format!("{}/sms", self.server.uri())
    }

    /// What was posted to `/sms` so far (answered or refused), oldest first.
    pub async fn sent(&self) -> Vec<Sent> {
        let requests = self.server.received_requests().await.unwrap_or_default();
        requests
            .into_iter()
            .filter(|r| r.method.as_str() == "POST" && r.url.path() == "/sms")
            .map(|r| Sent {
                authorization: r
                    .headers
                    .get("authorization")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned),
                body: r.body_json().unwrap_or_default(),
            })
            .collect()
    }

    pub async fn wait_for(&self, count: usize, within: Duration) -> Vec<Sent> {
        crate::helpers::poll_until(within, || async {
            let sent = self.sent().await;
            (sent.len() >= count, sent)
        })
        .await
    }
}

/// A gateway error is retried until the sms is taken.
#[tokio::test]
async fn a_gateway_error_is_retried_until_the_sms_is_taken() {
    let gateway = SmsGateway::failing_first(1).await;
    let url = gateway.url();
    let app = spawn_app_with(|c| {
        c.notify.sms_url = Some(url);
        c.notify.sms_token = Some("gateway-token".into());
        // About retrying: the server's own worker retries after its backoff.
        c.notify.delivery.enabled = true;
    })
    .await;
    app.create_dealer("abc-motors").await;
    let pool = app.pool();
    let mut conn = pool.get().unwrap();
    db::write_transaction(&mut conn, |conn| {
        let dealer = db::dealers::find(conn, "abc-motors")?.expect("dealer");
        let brand = Branding::new("POPIA Gateway", "popia@gateway.test");
        emails::one_time_code_sms(conn, &brand, &dealer, "+27836567788", "555666").map(|_| ())
    })
    .unwrap();
    drop(conn);

    let received = gateway.wait_for(2, Duration::from_secs(20)).await;
    assert_eq!(received.len(), 2, "one refused, one taken: {received:?}");
    for sent in &received {
        assert_eq!(sent.authorization.as_deref(), Some("Bearer gateway-token"));
        assert_eq!(sent.body["to"], "+27836567788");
        assert!(sent.body["text"]
            .as_str()
            .unwrap()
            .starts_with("555666 is your"));
        let mut keys: Vec<&String> = sent.body.as_object().unwrap().keys().collect();
        keys.sort();
        assert_eq!(keys, ["text", "to"]);
    }

    // The listing shows it sent, on the second attempt.
    let item = eventually(
        Duration::from_secs(20),
        "the SMS listed as sent",
        || async {
            let reply = app
                .get(
                    "/v1/dealers/abc-motors/notifications?status=sent",
                    &dealer("abc-motors"),
                )
                .await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
            reply.body["items"]
                .as_array()
                .and_then(|i| i.first())
                .cloned()
        },
    )
    .await;
    assert_eq!(item["channel"], "sms");
    assert_eq!(item["attempts"], 2, "{item}");
}
