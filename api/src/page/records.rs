//! Step 3: what the dealer holds under the proven email or mobile, through the same lookup as
//! `GET …/pi/records` (a lookup that finds nothing tells the dealer, once a day).

use actix_web::http::StatusCode;
use actix_web::HttpResponse;

use super::views::{Chrome, LeadView, RecordView, RecordsPage, RenderPage, ThirdPartyView};
use super::visit::Visit;
use crate::db::customers::CustomerRow;
use crate::db::leads::LeadRow;
use crate::http::blocking;
use crate::service::leads::LeadStatus;
use crate::service::pi;
use crate::service::third_parties::{Access, ThirdParty};

pub async fn records(mut visit: Visit) -> HttpResponse {
    let subject = match visit.subject() {
        Ok(subject) => subject,
        Err(answer) => return answer,
    };
    let identifier = subject.identifier.as_str().to_owned();
    let found = {
        let (hasher, branding, dealer) = (
            visit.hasher.clone(),
            visit.branding.clone(),
            visit.dealer.clone(),
        );
        blocking::run(&visit.pool, move |conn| {
            pi::lookup(conn, &hasher, &branding, &dealer, &subject)
        })
        .await
    };
    let found = match found {
        Ok(found) => found,
        Err(e) => return visit.failure(&e),
    };
    let status = visit.query("done").and_then(|done| {
        let id = match done.as_str() {
            "saved" => "status-saved",
            "unchanged" => "status-unchanged",
            "identifier" => "status-identifier-changed",
            _ => return None,
        };
        Some(visit.chrome.t(id))
    });
    let chrome = &visit.chrome;
    let html = RecordsPage {
        chrome,
        identifier,
        records: found
            .records
            .into_iter()
            .map(|(customer, leads)| record_view(chrome, customer, leads))
            .collect(),
        blacklisted: found.blacklisted,
        third_parties: found
            .third_parties
            .into_iter()
            .map(|party| third_party_view(chrome, party))
            .collect(),
        status,
    }
    .render_page();
    visit.page(StatusCode::OK, html)
}

fn record_view(chrome: &Chrome, customer: CustomerRow, leads: Vec<LeadRow>) -> RecordView {
    let shown = |value: Option<String>| value.unwrap_or_else(|| chrome.t("not-given"));
    RecordView {
        id: customer.id,
        first_name: shown(customer.first_name),
        last_name: shown(customer.last_name),
        email: shown(customer.email),
        mobile: shown(customer.mobile),
        consent_process: customer.consent_process,
        consent_market: customer.consent_market,
        consent_source: shown(customer.consent_source),
        leads: leads
            .into_iter()
            .map(|lead| LeadView {
                vehicle: lead.vehicle.unwrap_or_default(),
                status: chrome.t(match LeadStatus::from_stored(&lead.status) {
                    LeadStatus::Active => "lead-status-active",
                    LeadStatus::Won => "lead-status-won",
                    LeadStatus::Lost => "lead-status-lost",
                }),
                // The salesperson's first name only: the rest is staff data, not the customer's.
                salesperson: crate::http::pi::first_name(&lead.recipient_name).to_owned(),
                date: lead.created_at.format("%Y-%m-%d").to_string(),
            })
            .collect(),
    }
}

fn third_party_view(chrome: &Chrome, party: ThirdParty) -> ThirdPartyView {
    ThirdPartyView {
        category: chrome.t(match party.category.as_str() {
            "operator" => "category-operator",
            "admin" => "category-admin",
            _ => "category-dealer",
        }),
        accessed: party
            .accessed
            .iter()
            .map(|access| {
                chrome.t(match access {
                    Access::Blacklists => "access-blacklists",
                    Access::ChangeFeed => "access-change-feed",
                })
            })
            .collect::<Vec<_>>()
            .join(", "),
        last: party.last_access_at.format("%Y-%m-%d").to_string(),
        name: party.name,
    }
}
