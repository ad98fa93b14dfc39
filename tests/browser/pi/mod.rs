//! The hosted /pi page in a real browser, as the person uses it: identify, read the code from
//! the mailbox, see the records, change them, withdraw. Each test has its own server, seeded
//! through the JSON API (abc-motors, Fred and his two leads), and looks at every step (screenshots,
//! axe-core, weight: `Tab::step`).

mod errors;
mod flows;
mod keyboard;
mod language;

use serde_json::Value;

use crate::support::*;

pub const DEALER: &str = "abc-motors";

/// How the person identifies themselves: by email or by mobile, as typed, and where the code
/// lands (the mailbox folder's recipient: the email, or the mobile in E.164).
#[derive(Clone, Copy, Debug)]
pub struct By {
    pub mobile: bool,
    pub typed: &'static str,
    pub recipient: &'static str,
}

impl By {
    /// Fred's email, as he types it.
    pub const EMAIL: By = By {
        mobile: false,
        typed: "Fred@Sea.com",
        recipient: "fred@sea.com",
    };
    /// Fred's mobile (the SMS lands in the mailbox folder too).
    pub const MOBILE: By = By {
        mobile: true,
        typed: "083 656 7788",
        recipient: "+27836567788",
    };

    /// The identify page for this kind of identifier.
    pub fn identify_page(self) -> String {
        page(if self.mobile { "?by=mobile" } else { "" })
    }

    /// The identify form's field.
    pub fn field(self) -> &'static str {
        if self.mobile {
            "#mobile"
        } else {
            "#email"
        }
    }
}

/// A server with abc-motors and Fred (two leads, by Ashveer and Lerato); Fred's id.
pub async fn seeded_app() -> (TestApp, i64) {
    let app = spawn_app().await;
    app.create_dealer(DEALER).await;
    let (id, _leads) = fred_with_leads(&app).await;
    (app, id)
}

pub fn page(path: &str) -> String {
    format!("/pi/{DEALER}{path}")
}

/// On the identify page: type the identifier and send; lands on the code page.
pub async fn identify(tab: &Tab, by: By) {
    fill(tab, &format!("form#identify {}", by.field()), by.typed).await;
    submit(tab, "form#identify").await;
    wait_for_path(tab, &page("/code")).await;
    wait_for(tab, "form#confirm #code").await;
}

/// On a code page: the newest code to `recipient` from the mailbox, typed and sent with the
/// form `form_css`.
pub async fn enter_code(tab: &Tab, app: &TestApp, recipient: &str, form_css: &str) {
    let code = latest_code(app, recipient).await;
    fill(tab, &format!("{form_css} #code"), &code).await;
    submit(tab, form_css).await;
}

/// The record abc-motors' staff see through the JSON API.
pub async fn record_via_api(app: &TestApp, id: i64) -> Value {
    let reply = app
        .get(
            &format!("/v1/dealers/{DEALER}/customers/{id}"),
            &dealer(DEALER),
        )
        .await;
    assert_eq!(reply.status, reqwest::StatusCode::OK, "{}", reply.body);
    reply.body
}

/// Asserts the record is de-identified, as a withdrawal leaves it.
pub async fn assert_deidentified(app: &TestApp, id: i64) {
    let record = record_via_api(app, id).await;
    for field in ["first_name", "last_name", "email", "mobile"] {
        assert!(record[field].is_null(), "{field}: {}", pretty(&record));
    }
    assert_eq!(record["consent_process"], false, "{}", pretty(&record));
    assert_eq!(record["consent_market"], false, "{}", pretty(&record));
    assert!(record["deidentified_at"].is_string(), "{}", pretty(&record));
}

/// From the records page: withdraw, confirm, and land on the done page.
pub async fn withdraw(tab: &Tab, prefix: &str) {
    follow(tab, "a#withdraw").await;
    wait_for_path(tab, &page("/withdraw")).await;
    wait_for(tab, "form#withdraw button#confirm-withdraw").await;
    tab.step(&format!("{prefix}-withdraw")).await;
    follow(tab, "button#confirm-withdraw").await;
    wait_for_path(tab, &page("/done")).await;
    wait_for(tab, "#done-withdrawn").await;
    assert_eq!(query(tab).await.as_deref(), Some("what=withdrawn"));
    tab.step(&format!("{prefix}-done-withdrawn")).await;
}
