//! Step 5: what a withdrawal does, then the withdrawal itself through the same service call as
//! `POST …/pi/withdraw-consent` (the session's token is spent by it); sign-out; the last page.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

use super::cookies::{PENDING, SESSION};
use super::views::{RenderPage, WithdrawPage};
use super::visit::Visit;
use crate::http::blocking;
use crate::service::withdrawal;

/// Step 5: the consequences, said plainly, and the button.
pub async fn confirm_page(mut visit: Visit) -> HttpResponse {
    if let Err(answer) = visit.subject() {
        return answer;
    }
    let html = WithdrawPage {
        chrome: &visit.chrome,
    }
    .render_page();
    visit.page(StatusCode::OK, html)
}

/// Step 5, confirmed: every record held under the proven identifier is de-identified.
pub async fn withdraw(mut visit: Visit, body: web::Bytes) -> HttpResponse {
    if let Err(refused) = visit.accept(&body) {
        return refused;
    }
    let subject = match visit.subject() {
        Ok(subject) => subject,
        Err(answer) => return answer,
    };
    let done = {
        let (hasher, branding, dealer) = (
            visit.hasher.clone(),
            visit.branding.clone(),
            visit.dealer.clone(),
        );
        blocking::run(&visit.pool, move |conn| {
            withdrawal::by_subject(conn, &hasher, &branding, &dealer, subject)
        })
        .await
    };
    match done {
        Ok(done) => {
            forget_session(&mut visit);
            // Only a do-not-contact entry was held (the person withdrew before): say so rather
            // than claim a record was de-identified.
            let what = if done.customer_ids.is_empty() {
                "nothing-held"
            } else {
                "withdrawn"
            };
            let to = visit.path(&format!("/done?what={what}"));
            visit.redirect(&to)
        }
        Err(e) => visit.failure(&e),
    }
}

/// Sign-out: the browser forgets the session and any code on its way.
pub async fn sign_out(mut visit: Visit, body: web::Bytes) -> HttpResponse {
    if let Err(refused) = visit.accept(&body) {
        return refused;
    }
    forget_session(&mut visit);
    let to = visit.path("/done?what=signed-out");
    visit.redirect(&to)
}

fn forget_session(visit: &mut Visit) {
    let path = visit.cookie_path();
    for name in [SESSION, PENDING] {
        let cookie = visit.settings.cookies.expire(name, &path);
        visit.set_cookie(cookie);
    }
    visit.chrome.signed_in = false;
}

/// The last page: withdrawn, signed out, or a new email or mobile to sign in with.
pub async fn done(mut visit: Visit) -> HttpResponse {
    let text = match visit.query("what").as_deref() {
        Some("withdrawn") => "done-withdrawn",
        Some("identifier-moved") => "done-identifier-moved",
        Some("nothing-held") => "done-nothing-held",
        _ => "done-signed-out",
    };
    visit.chrome.signed_in = false;
    visit.message(StatusCode::OK, "done-title", text)
}
