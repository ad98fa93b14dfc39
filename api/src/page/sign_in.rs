//! Steps 1 and 2: the person names an email or mobile, then types the code sent to it. The
//! code is checked by the same service functions as the JSON API's verifications, with the
//! same limits; a 429 shows its wait.

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use serde::{Deserialize, Serialize};

use super::cookies::{self, PENDING, SESSION};
use super::views::{CodePage, FieldError, IdentifyPage, RenderPage};
use super::visit::{with_retry_after, Form, Visit};
use crate::domain::Identifier;
use crate::error::ApiError;
use crate::http::blocking;
use crate::http::client_address::client_address;
use crate::service::pi::{self, Purpose};

/// A code on its way, kept sealed in the browser: to what, under which verification, and for
/// which record when it confirms a new email or mobile.
#[derive(Debug, Serialize, Deserialize)]
pub struct Pending {
    pub verification: String,
    /// The email or mobile, normalised.
    pub identifier: String,
    pub mobile: bool,
    pub customer_id: Option<i64>,
}

impl Pending {
    pub fn identifier(&self) -> Option<Identifier> {
        let value = Some(self.identifier.as_str());
        let parsed = if self.mobile {
            Identifier::from_parts(None, value)
        } else {
            Identifier::from_parts(value, None)
        };
        parsed.ok()
    }
}

/// A verification lives as long as its code: so does the cookie that remembers it.
const PENDING_SECONDS: i64 = pi::CODE_TTL.as_secs() as i64;

/// Step 1: which email or mobile (`?by=mobile` for a mobile).
pub async fn identify(mut visit: Visit) -> HttpResponse {
    let by_mobile = visit.query("by").as_deref() == Some("mobile");
    let notice = visit
        .query("ended")
        .map(|_| visit.chrome.t("session-ended"));
    let page = IdentifyPage {
        chrome: &visit.chrome,
        by_mobile,
        value: String::new(),
        error: None,
        form_error: None,
        notice,
    };
    let html = page.render_page();
    visit.page(StatusCode::OK, html)
}

/// Step 1, sent: a code goes to the email or mobile, then on to step 2.
pub async fn send_code(mut visit: Visit, body: web::Bytes) -> HttpResponse {
    let form = match visit.accept(&body) {
        Ok(form) => form,
        Err(refused) => return refused,
    };
    let typed = TypedIdentifier::of(&form);
    let (by_mobile, value) = (typed.by_mobile, typed.value.clone());
    let identifier = match typed.parsed(&visit) {
        Ok(identifier) => identifier,
        Err(error) => {
            return identify_again(
                &mut visit,
                StatusCode::UNPROCESSABLE_ENTITY,
                by_mobile,
                value,
                Some(error),
                None,
            )
        }
    };
    match start(&visit, identifier.clone(), None).await {
        Ok(started) => {
            remember(&mut visit, &started, &identifier, None);
            let to = visit.path("/code");
            visit.redirect(&to)
        }
        Err(ApiError::TooManyRequests { retry_after, .. }) => {
            let wait = visit.chrome.wait_text("error-too-many", retry_after);
            let answer = identify_again(
                &mut visit,
                StatusCode::TOO_MANY_REQUESTS,
                by_mobile,
                value,
                None,
                Some(wait),
            );
            with_retry_after(answer, retry_after)
        }
        // A number that parses but that codes may not be texted to (another country).
        Err(ApiError::Validation(_)) => {
            let error = cannot_text(&visit, by_mobile);
            identify_again(
                &mut visit,
                StatusCode::UNPROCESSABLE_ENTITY,
                by_mobile,
                value,
                Some(error),
                None,
            )
        }
        Err(e) => visit.failure(&e),
    }
}

/// The field error for an identifier the service refused to send a code to: a mobile of a
/// country codes are not texted to (the only such refusal once the value has parsed).
pub fn cannot_text(visit: &Visit, by_mobile: bool) -> FieldError {
    if by_mobile {
        FieldError {
            field: "mobile",
            text: visit.chrome.t("error-cannot-text"),
        }
    } else {
        FieldError {
            field: "email",
            text: visit.chrome.t("error-email"),
        }
    }
}

fn identify_again(
    visit: &mut Visit,
    status: StatusCode,
    by_mobile: bool,
    value: String,
    error: Option<FieldError>,
    form_error: Option<String>,
) -> HttpResponse {
    let html = IdentifyPage {
        chrome: &visit.chrome,
        by_mobile,
        value,
        error,
        form_error,
        notice: None,
    }
    .render_page();
    visit.page(status, html)
}

/// The email or mobile a form names: its `email` field, or its `mobile` field when it has one.
pub struct TypedIdentifier {
    pub by_mobile: bool,
    /// As typed, trimmed: shown again after an error.
    pub value: String,
}

impl TypedIdentifier {
    pub fn of(form: &Form) -> TypedIdentifier {
        let by_mobile = form.get("mobile").is_some();
        let value = form.text(if by_mobile { "mobile" } else { "email" });
        TypedIdentifier { by_mobile, value }
    }

    /// The identifier, normalised, or the error to show at its field.
    pub fn parsed(&self, visit: &Visit) -> Result<Identifier, FieldError> {
        let (parsed, field, words) = if self.by_mobile {
            let parsed = Identifier::from_parts(None, Some(&self.value));
            (parsed, "mobile", "error-mobile")
        } else {
            let parsed = Identifier::from_parts(Some(&self.value), None);
            (parsed, "email", "error-email")
        };
        parsed.map_err(|_| FieldError {
            field,
            text: visit.chrome.t(words),
        })
    }
}

/// Starts a verification through the service, as `POST …/pi/verifications` does (or
/// `…/identifier-changes` for a signed-in subject's record).
pub async fn start(
    visit: &Visit,
    identifier: Identifier,
    change: Option<(i64, pi::Subject)>,
) -> Result<pi::VerificationStarted, ApiError> {
    let (sender, dealer) = (visit.sender.clone(), visit.dealer.clone());
    let client = client_address(&visit.req);
    blocking::run(&visit.pool, move |conn| {
        let purpose = match &change {
            None => Purpose::SignIn,
            Some((customer_id, subject)) => Purpose::IdentifierChange {
                customer_id: *customer_id,
                subject,
            },
        };
        pi::start_verification(conn, &sender, &dealer, &identifier, &client, purpose)
    })
    .await
}

/// Keeps the verification in a sealed cookie until its code is typed.
pub fn remember(
    visit: &mut Visit,
    started: &pi::VerificationStarted,
    identifier: &Identifier,
    customer_id: Option<i64>,
) {
    let pending = Pending {
        verification: started.id.clone(),
        identifier: identifier.as_str().to_owned(),
        mobile: matches!(identifier, Identifier::Mobile(_)),
        customer_id,
    };
    let sealed = cookies::seal(&visit.hasher, PENDING, visit.dealer.as_str(), &pending);
    let path = visit.cookie_path();
    let cookie = visit
        .settings
        .cookies
        .make(PENDING, sealed, &path, PENDING_SECONDS);
    visit.set_cookie(cookie);
}

/// The verification waiting for its code, if any.
pub fn pending(visit: &Visit) -> Option<Pending> {
    cookies::open(&visit.hasher, &visit.req, PENDING, visit.dealer.as_str())
}

/// Step 2: the code.
pub async fn code(mut visit: Visit) -> HttpResponse {
    let Some(pending) = pending(&visit).filter(|p| p.customer_id.is_none()) else {
        let to = visit.path("");
        return visit.redirect(&to);
    };
    let notice = visit.query("resent").map(|_| visit.chrome.t("code-resent"));
    code_again(&mut visit, StatusCode::OK, &pending, None, None, notice)
}

/// The code step of `pending`: signing in, or confirming a new email or mobile of a record.
pub fn code_again(
    visit: &mut Visit,
    status: StatusCode,
    pending: &Pending,
    error: Option<FieldError>,
    form_error: Option<String>,
    notice: Option<String>,
) -> HttpResponse {
    let chrome = &visit.chrome;
    let sent = chrome.t1(
        if pending.mobile {
            "code-sent-sms"
        } else {
            "code-sent-email"
        },
        "identifier",
        &pending.identifier,
    );
    let page = match pending.customer_id {
        None => CodePage {
            chrome,
            title: chrome.t("code-title"),
            sent,
            action: chrome.path("/code/confirm"),
            resend_action: Some(chrome.path("/code/resend")),
            back: (chrome.path(""), chrome.t("use-another")),
            error,
            form_error,
            notice,
        },
        Some(id) => CodePage {
            chrome,
            title: chrome.t("identifier-code-title"),
            sent,
            action: chrome.path(&format!("/records/{id}/identifier/confirm")),
            resend_action: None,
            back: (
                chrome.path(&format!("/records/{id}/edit")),
                chrome.t("back-to-records"),
            ),
            error,
            form_error,
            notice,
        },
    };
    let html = page.render_page();
    visit.page(status, html)
}

/// Step 2, resend: a new code to the same email or mobile, within the same limits.
pub async fn resend(mut visit: Visit, body: web::Bytes) -> HttpResponse {
    if let Err(refused) = visit.accept(&body) {
        return refused;
    }
    let Some((pending, identifier)) = pending(&visit)
        .filter(|p| p.customer_id.is_none())
        .and_then(|p| p.identifier().map(|i| (p, i)))
    else {
        let to = visit.path("");
        return visit.redirect(&to);
    };
    match start(&visit, identifier.clone(), None).await {
        Ok(started) => {
            remember(&mut visit, &started, &identifier, None);
            let to = visit.path("/code?resent=1");
            visit.redirect(&to)
        }
        Err(ApiError::TooManyRequests { retry_after, .. }) => {
            let wait = visit.chrome.wait_text("error-too-many", retry_after);
            let answer = code_again(
                &mut visit,
                StatusCode::TOO_MANY_REQUESTS,
                &pending,
                None,
                Some(wait),
                None,
            );
            with_retry_after(answer, retry_after)
        }
        Err(e) => visit.failure(&e),
    }
}

/// The six digits typed or pasted, spaces and dashes dropped (`493 817`), or the code step
/// again with the error at its field.
pub fn typed_code(
    visit: &mut Visit,
    form: &Form,
    pending: &Pending,
) -> Result<String, HttpResponse> {
    let code: String = form
        .text("code")
        .chars()
        .filter(|c| !c.is_whitespace() && *c != '-')
        .collect();
    if code.len() == 6 && code.bytes().all(|b| b.is_ascii_digit()) {
        return Ok(code);
    }
    let error = FieldError {
        field: "code",
        text: visit.chrome.t("error-code-format"),
    };
    Err(code_again(
        visit,
        StatusCode::UNPROCESSABLE_ENTITY,
        pending,
        Some(error),
        None,
        None,
    ))
}

/// Step 2, sent: a right code signs the person in (the subject token, sealed in a cookie for
/// this dealer's pages), then on to what is held.
pub async fn confirm(mut visit: Visit, body: web::Bytes) -> HttpResponse {
    let form = match visit.accept(&body) {
        Ok(form) => form,
        Err(refused) => return refused,
    };
    let Some(pending) = pending(&visit).filter(|p| p.customer_id.is_none()) else {
        let to = visit.path("");
        return visit.redirect(&to);
    };
    let code = match typed_code(&mut visit, &form, &pending) {
        Ok(code) => code,
        Err(answer) => return answer,
    };
    let confirmed = {
        let (hasher, keys, dealer) = (
            visit.hasher.clone(),
            visit.keys.clone(),
            visit.dealer.clone(),
        );
        let verification = pending.verification.clone();
        blocking::run(&visit.pool, move |conn| {
            pi::confirm(conn, &hasher, &keys, &dealer, &verification, &code)
        })
        .await
    };
    match confirmed {
        Ok((token, expires_at)) => {
            let path = visit.cookie_path();
            let seconds = (expires_at - chrono::Utc::now().timestamp()).max(1);
            let sealed = cookies::seal(&visit.hasher, SESSION, visit.dealer.as_str(), &token);
            let session = visit.settings.cookies.make(SESSION, sealed, &path, seconds);
            let forget = visit.settings.cookies.expire(PENDING, &path);
            visit.set_cookie(session);
            visit.set_cookie(forget);
            let to = visit.path("/records");
            visit.redirect(&to)
        }
        Err(e) => code_refused(&mut visit, &pending, &e),
    }
}

/// A code the service refused, shown on the code step: wrong (tied to the field, with the
/// tries left), spent or locked, too many, or a new email or mobile that is on the
/// do-not-contact list.
pub fn code_refused(visit: &mut Visit, pending: &Pending, error: &ApiError) -> HttpResponse {
    match error {
        ApiError::WrongCode { attempts_left } => {
            let error = FieldError {
                field: "code",
                text: visit.chrome.tries_left(*attempts_left),
            };
            code_again(
                visit,
                StatusCode::UNPROCESSABLE_ENTITY,
                pending,
                Some(error),
                None,
                None,
            )
        }
        ApiError::Gone(_) => {
            let text = visit.chrome.t("error-code-gone");
            code_again(visit, StatusCode::GONE, pending, None, Some(text), None)
        }
        ApiError::TooManyRequests { retry_after, .. } => {
            let wait = visit.chrome.wait_text("error-locked", *retry_after);
            let answer = code_again(
                visit,
                StatusCode::TOO_MANY_REQUESTS,
                pending,
                None,
                Some(wait),
                None,
            );
            with_retry_after(answer, *retry_after)
        }
        ApiError::Conflict(_) => {
            let text = visit.chrome.t("error-identifier-blocked");
            code_again(visit, StatusCode::CONFLICT, pending, None, Some(text), None)
        }
        other => visit.failure(other),
    }
}
