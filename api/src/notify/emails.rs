//! One function per message: each takes the facts and the caller's open transaction, renders
//! the bodies and queues the message. Subjects are exactly what dealers' mail rules key on.

use askama::Template;
use diesel::QueryResult;

use super::outbox::{enqueue, Channel, MessageKind, NewMessage};
use super::templates::*;
use super::Branding;
use crate::db::dealers::DealerRow;
use crate::db::DbConnection;

/// Minutes a one-time code is valid.
pub const CODE_MINUTES: u32 = 10;

/// An email as it is; a mobile in the national form dealers' systems hold, with E.164 beside.
pub fn for_people(identifier: &str) -> String {
    if identifier.starts_with('+') {
        if let Ok(mobile) = crate::domain::Mobile::parse(identifier) {
            return mobile.for_people();
        }
    }
    identifier.to_owned()
}

fn render(template: impl Template) -> QueryResult<String> {
    // A template that compiled cannot fail to render plain strings; keep the error anyway.
    template
        .render()
        .map_err(|e| diesel::result::Error::SerializationError(Box::new(e)))
}

fn key_contact_emails(dealer: &DealerRow) -> Vec<String> {
    dealer
        .key_contacts()
        .into_iter()
        .map(|(_, email)| email)
        .collect()
}

/// The one-time code, to the email being verified.
pub fn one_time_code_email(
    conn: &mut DbConnection,
    branding: &Branding,
    dealer: &DealerRow,
    email: &str,
    code: &str,
) -> QueryResult<i64> {
    let facts = OneTimeCode {
        dealer_name: dealer.name.clone(),
        code: code.to_owned(),
        minutes: CODE_MINUTES,
    };
    let message = NewMessage {
        dealer_id: dealer.id.clone(),
        customer_id: None,
        kind: MessageKind::OneTimeCode,
        channel: Channel::Email,
        recipients: vec![email.to_owned()],
        subject: Some(format!("Your {} verification code", dealer.name)),
        text: render(OneTimeCodeText {
            branding,
            facts: &facts,
        })?,
        html: Some(render(OneTimeCodeHtml {
            branding,
            facts: &facts,
        })?),
    };
    enqueue(conn, branding, message)
}

/// The one-time code, by SMS to the mobile being verified.
pub fn one_time_code_sms(
    conn: &mut DbConnection,
    branding: &Branding,
    dealer: &DealerRow,
    mobile: &str,
    code: &str,
) -> QueryResult<i64> {
    let facts = OneTimeCode {
        dealer_name: dealer.name.clone(),
        code: code.to_owned(),
        minutes: CODE_MINUTES,
    };
    let message = NewMessage {
        dealer_id: dealer.id.clone(),
        customer_id: None,
        kind: MessageKind::OneTimeCode,
        channel: Channel::Sms,
        recipients: vec![mobile.to_owned()],
        subject: None,
        text: render(OneTimeCodeSms {
            branding,
            facts: &facts,
        })?
        .trim()
        .to_owned(),
        html: None,
    };
    enqueue(conn, branding, message)
}

/// Queues an email about a dealer's customer (or lookup) to the dealer's key contacts.
fn to_key_contacts(
    conn: &mut DbConnection,
    branding: &Branding,
    dealer: &DealerRow,
    customer_id: Option<i64>,
    kind: MessageKind,
    subject: String,
    (text, html): (String, String),
) -> QueryResult<i64> {
    let message = NewMessage {
        dealer_id: dealer.id.clone(),
        customer_id,
        kind,
        channel: Channel::Email,
        recipients: key_contact_emails(dealer),
        subject: Some(subject),
        text,
        html: Some(html),
    };
    enqueue(conn, branding, message)
}

/// "POPIA /pi Lookup NOT FOUND", to the dealer's key contacts.
pub fn lookup_not_found(
    conn: &mut DbConnection,
    branding: &Branding,
    dealer: &DealerRow,
    identifier: &str,
) -> QueryResult<i64> {
    let facts = LookupNotFound {
        website: crate::domain::website::display(&dealer.website).to_owned(),
        identifier: for_people(identifier),
    };
    let bodies = (
        render(LookupNotFoundText {
            branding,
            facts: &facts,
        })?,
        render(LookupNotFoundHtml {
            branding,
            facts: &facts,
        })?,
    );
    let subject = "POPIA /pi Lookup NOT FOUND".to_owned();
    to_key_contacts(
        conn,
        branding,
        dealer,
        None,
        MessageKind::LookupNotFound,
        subject,
        bodies,
    )
}

/// "POPIA Customer withdraws consent to process | {first} {last}", to the key contacts.
pub fn consent_withdrawn(
    conn: &mut DbConnection,
    branding: &Branding,
    dealer: &DealerRow,
    customer_id: i64,
    facts: &ConsentWithdrawn,
) -> QueryResult<i64> {
    let bodies = (
        render(ConsentWithdrawnText { branding, facts })?,
        render(ConsentWithdrawnHtml { branding, facts })?,
    );
    let subject = format!(
        "POPIA Customer withdraws consent to process | {} {}",
        facts.first_name, facts.last_name
    );
    let kind = MessageKind::ConsentWithdrawn;
    to_key_contacts(
        conn,
        branding,
        dealer,
        Some(customer_id),
        kind,
        subject,
        bodies,
    )
}

/// "POPIA Customer alters information | {first} {last}", to the key contacts.
pub fn details_altered(
    conn: &mut DbConnection,
    branding: &Branding,
    dealer: &DealerRow,
    customer_id: i64,
    facts: &DetailsAltered,
) -> QueryResult<i64> {
    let bodies = (
        render(DetailsAlteredText { branding, facts })?,
        render(DetailsAlteredHtml { branding, facts })?,
    );
    let subject = format!(
        "POPIA Customer alters information | {} {}",
        facts.first_name, facts.last_name
    );
    let kind = MessageKind::DetailsAltered;
    to_key_contacts(
        conn,
        branding,
        dealer,
        Some(customer_id),
        kind,
        subject,
        bodies,
    )
}

/// "{brand} De-identify Alert: {recipient}", to one salesperson whose active leads are affected.
pub fn deidentify_alert(
    conn: &mut DbConnection,
    branding: &Branding,
    dealer: &DealerRow,
    recipient_email: &str,
    facts: &DeidentifyAlert,
) -> QueryResult<i64> {
    let brand = &branding.brand;
    let message = NewMessage {
        dealer_id: dealer.id.clone(),
        customer_id: Some(facts.customer_id),
        kind: MessageKind::DeidentifyAlert,
        channel: Channel::Email,
        recipients: vec![recipient_email.to_owned()],
        subject: Some(format!(
            "{brand} De-identify Alert: {}",
            facts.recipient_name
        )),
        text: render(DeidentifyAlertText { branding, facts })?,
        html: Some(render(DeidentifyAlertHtml { branding, facts })?),
    };
    enqueue(conn, branding, message)
}
