//! The one-time codes in the mailbox folder, read as the person would read their inbox, and the
//! verification that spends them.

use std::path::PathBuf;

use reqwest::{Method, StatusCode};
use serde_json::{json, Value};

use super::app::TestApp;
use super::reply::Reply;

/// The newest one-time code sent to `recipient` (an email or an E.164 mobile), read from the
/// mailbox folder the way the person would read their inbox.
pub async fn latest_code(app: &TestApp, recipient: &str) -> String {
    code_after(app, recipient, 0).await
}

/// How many one-time codes reached `recipient` so far.
pub fn codes_received(app: &TestApp, recipient: &str) -> usize {
    codes_to(&app.mailbox, recipient).len()
}

/// The newest code to `recipient` once more than `seen` codes reached them: the code of a send
/// made after counting `seen`, never an older one still in the inbox.
pub async fn code_after(app: &TestApp, recipient: &str, seen: usize) -> String {
    app.deliver_pending().await;
    let codes = codes_to(&app.mailbox, recipient);
    assert!(codes.len() > seen, "no code reached {recipient}");
    codes.last().unwrap().clone()
}

/// Every code sent to `recipient`, oldest first (mailbox files are named in sending order).
fn codes_to(mailbox: &std::path::Path, recipient: &str) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(mailbox) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.to_string_lossy().contains("-one_time_code."))
        .collect();
    files.sort();
    files
        .iter()
        .filter_map(|path| {
            let bytes = std::fs::read(path).ok()?;
            let text = if path.to_string_lossy().ends_with(".eml") {
                let parsed = mail_parser::MessageParser::default().parse(&bytes)?;
                let to = parsed.to()?.first()?.address()?.to_owned();
                if to != recipient {
                    return None;
                }
                parsed.body_text(0)?.into_owned()
            } else {
                let text = String::from_utf8(bytes).ok()?;
                if !text.starts_with(&format!("To: {recipient}\n")) {
                    return None;
                }
                text.split("\n\n").nth(1)?.to_owned()
            };
            text.split_whitespace()
                .find(|w| w.len() == 6 && w.bytes().all(|b| b.is_ascii_digit()))
                .map(str::to_owned)
        })
        .collect()
}

/// Asks abc-motors for a one-time code to `identifier` (`{"email": …}` or `{"mobile": …}`).
pub async fn start_verification(app: &TestApp, identifier: Value) -> Reply {
    app.call(
        Method::POST,
        "/v1/dealers/abc-motors/pi/verifications",
        None,
        Some(identifier),
    )
    .await
}

/// Proves control of `identifier` (`{"email": …}` or `{"mobile": …}`) and returns the subject token.
pub async fn verify(app: &TestApp, dealer_id: &str, identifier: Value, recipient: &str) -> String {
    let seen = codes_received(app, recipient);
    let started = app
        .call(
            Method::POST,
            &format!("/v1/dealers/{dealer_id}/pi/verifications"),
            None,
            Some(identifier),
        )
        .await;
    assert_eq!(started.status, StatusCode::ACCEPTED, "{}", started.body);
    let id = started.body["verification_id"].as_str().unwrap().to_owned();
    let code = code_after(app, recipient, seen).await;
    let confirmed = app
        .call(
            Method::POST,
            &format!("/v1/dealers/{dealer_id}/pi/verifications/{id}/confirm"),
            None,
            Some(json!({ "code": code })),
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    confirmed.body["token"].as_str().unwrap().to_owned()
}

/// Delivers what is due, then the first file in the mailbox folder whose name ends with
/// `suffix` (e.g. `-details_altered.eml`); panics when there is none.
pub async fn delivered_file(app: &TestApp, suffix: &str) -> PathBuf {
    app.deliver_pending().await;
    let mut files: Vec<PathBuf> = std::fs::read_dir(&app.mailbox)
        .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
        .into_iter()
        .find(|p| p.to_string_lossy().ends_with(suffix))
        .unwrap_or_else(|| panic!("no {suffix} in the mailbox"))
}
