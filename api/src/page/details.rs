//! Step 4: correct names and marketing consent (an amendment, as `PATCH …/pi/records/{id}`
//! makes, guarded by the record's ETag), or prove a new email or mobile with a code sent to it
//! (as `…/identifier-changes` does).

use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};

use super::sign_in::{
    self, code_again, code_refused, pending, remember, typed_code, TypedIdentifier,
};
use super::views::{EditPage, FieldError, RenderPage};
use super::visit::{with_retry_after, Form, Visit};
use crate::db::customers::CustomerRow;
use crate::domain::events::Origin;
use crate::domain::PersonName;
use crate::error::ApiError;
use crate::http::blocking;
use crate::service::amendment::{self, AmendRequest, Amendment};
use crate::service::pi::{self, Subject};

/// The record id in the address.
fn record_id(visit: &Visit) -> Option<i64> {
    visit.req.match_info().get("id")?.parse().ok()
}

/// The subject's record `id`, as held under their identifier now.
async fn subjects_record(
    visit: &Visit,
    subject: &Subject,
    id: i64,
) -> Result<CustomerRow, ApiError> {
    let (dealer, identifier) = (visit.dealer.clone(), subject.identifier.clone());
    blocking::run(&visit.pool, move |conn| {
        pi::records_for(conn, &dealer, &identifier)?
            .into_iter()
            .map(|(customer, _)| customer)
            .find(|customer| customer.id == id)
            .ok_or_else(|| ApiError::not_found("customer"))
    })
    .await
}

/// What the edit step shows: the record's values, or what was typed when it is shown again.
struct Shown {
    first_name: String,
    last_name: String,
    consent_market: bool,
    new_email: String,
    new_mobile: String,
}

impl Shown {
    fn of(customer: &CustomerRow) -> Shown {
        Shown {
            first_name: customer.first_name.clone().unwrap_or_default(),
            last_name: customer.last_name.clone().unwrap_or_default(),
            consent_market: customer.consent_market,
            new_email: String::new(),
            new_mobile: String::new(),
        }
    }
}

fn edit_page(
    visit: &mut Visit,
    status: StatusCode,
    customer: &CustomerRow,
    shown: Shown,
    errors: Vec<FieldError>,
    form_error: Option<String>,
) -> HttpResponse {
    let html = EditPage {
        chrome: &visit.chrome,
        id: customer.id,
        etag: amendment::etag(customer),
        first_name: shown.first_name,
        last_name: shown.last_name,
        consent_market: shown.consent_market,
        new_email: shown.new_email,
        new_mobile: shown.new_mobile,
        errors,
        form_error,
    }
    .render_page();
    visit.page(status, html)
}

/// The signed-in subject and the record of the address, or the answer that ends the request.
async fn subject_and_record(visit: &mut Visit) -> Result<(Subject, CustomerRow), HttpResponse> {
    let subject = visit.subject()?;
    let Some(id) = record_id(visit) else {
        return Err(visit.failure(&ApiError::not_found("customer")));
    };
    match subjects_record(visit, &subject, id).await {
        Ok(customer) => Ok((subject, customer)),
        Err(e) => Err(visit.failure(&e)),
    }
}

/// Step 4: the form.
pub async fn edit(mut visit: Visit) -> HttpResponse {
    match subject_and_record(&mut visit).await {
        Ok((_, customer)) => edit_page(
            &mut visit,
            StatusCode::OK,
            &customer,
            Shown::of(&customer),
            Vec::new(),
            None,
        ),
        Err(answer) => answer,
    }
}

fn name(
    form: &Form,
    field: &'static str,
    errors: &mut Vec<FieldError>,
    visit: &Visit,
) -> Option<PersonName> {
    match PersonName::parse(&form.text(field)) {
        Ok(name) => Some(name),
        Err(_) => {
            errors.push(FieldError {
                field,
                text: visit.chrome.t("error-name"),
            });
            None
        }
    }
}

/// Step 4, saved: names and marketing consent, as one amendment of the record read.
pub async fn save(mut visit: Visit, body: web::Bytes) -> HttpResponse {
    let form = match visit.accept(&body) {
        Ok(form) => form,
        Err(refused) => return refused,
    };
    let (subject, customer) = match subject_and_record(&mut visit).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let mut errors = Vec::new();
    let first_name = name(&form, "first_name", &mut errors, &visit);
    let last_name = name(&form, "last_name", &mut errors, &visit);
    let typed = Shown {
        first_name: form.text("first_name"),
        last_name: form.text("last_name"),
        consent_market: form.ticked("consent_market"),
        new_email: String::new(),
        new_mobile: String::new(),
    };
    if !errors.is_empty() {
        return edit_page(
            &mut visit,
            StatusCode::UNPROCESSABLE_ENTITY,
            &customer,
            typed,
            errors,
            None,
        );
    }
    let read = form.text("etag");
    let request = AmendRequest {
        customer_id: customer.id,
        amendment: Amendment {
            first_name,
            last_name,
            consent_market: Some(typed.consent_market),
            ..Amendment::default()
        },
        if_match: Some(read.clone()),
        scope: Some(subject.identifier.clone()),
        actor: pi::subject_actor(&subject),
        origin: Origin::Pi,
    };
    let amended = {
        let (hasher, branding, dealer) = (
            visit.hasher.clone(),
            visit.branding.clone(),
            visit.dealer.clone(),
        );
        blocking::run(&visit.pool, move |conn| {
            pi::ensure_unspent(conn, &hasher, &subject)?;
            amendment::amend(conn, &branding, &dealer, request)
        })
        .await
    };
    match amended {
        Ok(now) => {
            let done = if amendment::etag(&now) == read {
                "unchanged"
            } else {
                "saved"
            };
            let to = visit.path(&format!("/records?done={done}"));
            visit.redirect(&to)
        }
        Err(ApiError::PreconditionFailed(_)) => {
            // Changed since it was read: show it as it is now, and say so.
            let text = visit.chrome.t("error-changed");
            let subject = match visit.subject() {
                Ok(subject) => subject,
                Err(answer) => return answer,
            };
            match subjects_record(&visit, &subject, customer.id).await {
                Ok(now) => edit_page(
                    &mut visit,
                    StatusCode::PRECONDITION_FAILED,
                    &now,
                    Shown::of(&now),
                    Vec::new(),
                    Some(text),
                ),
                Err(e) => visit.failure(&e),
            }
        }
        Err(e) => visit.failure(&e),
    }
}

/// Step 4, a new email or mobile: a code goes to it.
pub async fn send_code(mut visit: Visit, body: web::Bytes) -> HttpResponse {
    let form = match visit.accept(&body) {
        Ok(form) => form,
        Err(refused) => return refused,
    };
    let (subject, customer) = match subject_and_record(&mut visit).await {
        Ok(found) => found,
        Err(answer) => return answer,
    };
    let typed = TypedIdentifier::of(&form);
    let mut shown = Shown::of(&customer);
    if typed.by_mobile {
        shown.new_mobile = typed.value.clone();
    } else {
        shown.new_email = typed.value.clone();
    }
    let identifier = match typed.parsed(&visit) {
        Ok(identifier) => identifier,
        Err(error) => {
            return edit_page(
                &mut visit,
                StatusCode::UNPROCESSABLE_ENTITY,
                &customer,
                shown,
                vec![error],
                None,
            )
        }
    };
    match sign_in::start(&visit, identifier.clone(), Some((customer.id, subject))).await {
        Ok(started) => {
            remember(&mut visit, &started, &identifier, Some(customer.id));
            let to = visit.path(&format!("/records/{}/identifier", customer.id));
            visit.redirect(&to)
        }
        Err(ApiError::TooManyRequests { retry_after, .. }) => {
            let wait = visit.chrome.wait_text("error-too-many", retry_after);
            let answer = edit_page(
                &mut visit,
                StatusCode::TOO_MANY_REQUESTS,
                &customer,
                shown,
                Vec::new(),
                Some(wait),
            );
            with_retry_after(answer, retry_after)
        }
        Err(ApiError::Validation(_)) => {
            let error = sign_in::cannot_text(&visit, typed.by_mobile);
            edit_page(
                &mut visit,
                StatusCode::UNPROCESSABLE_ENTITY,
                &customer,
                shown,
                vec![error],
                None,
            )
        }
        Err(e) => visit.failure(&e),
    }
}

/// The code of a new email or mobile of record `id`, if one is on its way.
fn pending_for(visit: &Visit) -> Option<sign_in::Pending> {
    let id = record_id(visit)?;
    pending(visit).filter(|p| p.customer_id == Some(id))
}

/// Step 4, the code sent to the new email or mobile.
pub async fn code(mut visit: Visit) -> HttpResponse {
    if let Err(answer) = visit.subject() {
        return answer;
    }
    match pending_for(&visit) {
        Some(pending) => code_again(&mut visit, StatusCode::OK, &pending, None, None, None),
        None => {
            let to = visit.path("/records");
            visit.redirect(&to)
        }
    }
}

/// Step 4, the code typed: the new email or mobile is applied as an amendment.
pub async fn confirm(mut visit: Visit, body: web::Bytes) -> HttpResponse {
    let form = match visit.accept(&body) {
        Ok(form) => form,
        Err(refused) => return refused,
    };
    let subject = match visit.subject() {
        Ok(subject) => subject,
        Err(answer) => return answer,
    };
    let Some(pending) = pending_for(&visit) else {
        let to = visit.path("/records");
        return visit.redirect(&to);
    };
    let code = match typed_code(&mut visit, &form, &pending) {
        Ok(code) => code,
        Err(answer) => return answer,
    };
    let changed = {
        let (hasher, branding, dealer) = (
            visit.hasher.clone(),
            visit.branding.clone(),
            visit.dealer.clone(),
        );
        let verification = pending.verification.clone();
        let customer_id = pending.customer_id.unwrap_or_default();
        blocking::run(&visit.pool, move |conn| {
            let change = pi::CodeForChange {
                customer_id,
                verification_id: &verification,
                code: &code,
            };
            pi::confirm_identifier_change(conn, &hasher, &branding, &dealer, &subject, change)?;
            // Replacing the very email or mobile the person signed in with leaves their
            // session naming nothing: then they sign in again with the new one.
            let still_held = !pi::records_for(conn, &dealer, &subject.identifier)?.is_empty();
            Ok(still_held)
        })
        .await
    };
    match changed {
        Ok(still_held) => {
            let path = visit.cookie_path();
            let forget = visit
                .settings
                .cookies
                .expire(super::cookies::PENDING, &path);
            visit.set_cookie(forget);
            if still_held {
                let to = visit.path("/records?done=identifier");
                return visit.redirect(&to);
            }
            let sign_out = visit
                .settings
                .cookies
                .expire(super::cookies::SESSION, &path);
            visit.set_cookie(sign_out);
            let to = visit.path("/done?what=identifier-moved");
            visit.redirect(&to)
        }
        Err(e) => code_refused(&mut visit, &pending, &e),
    }
}
