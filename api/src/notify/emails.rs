//! One function per message: each takes the facts and the caller's open transaction, renders
//! the bodies and queues the message. Subjects are exactly what dealers' mail rules key on.

use askama::Template;
use diesel::QueryResult;

use super::outbox::{enqueue, enqueue_with_follow_up, Channel, MessageKind, NewMessage};
use super::templates::*;
use super::Branding;
use crate::db::dealers::DealerRow;
use crate::db::follow_ups::{self, FollowUpRow, Reminder};
use crate::db::{self, DbConnection};

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

fn to_json(value: &impl serde::Serialize) -> String {
    serde_json::to_string(value).unwrap_or_default()
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

/// What an email asking the dealer to act is about: its follow-up records the same.
#[derive(Default)]
struct About {
    customer_id: Option<i64>,
    lead_ids: Vec<i64>,
    /// A NOT FOUND lookup's identifier, kept as long as the email's content.
    identifier: Option<String>,
}

/// Queues an email about a dealer's customer (or lookup) to the dealer's key contacts, and opens
/// its follow-up, assigned to them.
fn to_key_contacts(
    conn: &mut DbConnection,
    branding: &Branding,
    dealer: &DealerRow,
    about: About,
    kind: MessageKind,
    subject: String,
    (text, html): (String, String),
) -> QueryResult<i64> {
    let contacts = dealer.key_contacts();
    let message = NewMessage {
        dealer_id: dealer.id.clone(),
        customer_id: about.customer_id,
        kind,
        channel: Channel::Email,
        recipients: contacts.iter().map(|(_, email)| email.clone()).collect(),
        subject: Some(subject),
        text,
        html: Some(html),
    };
    let names = contacts.into_iter().map(|(name, _)| name).collect();
    let follow_up = follow_up(branding, dealer, kind, about, names);
    enqueue_with_follow_up(conn, branding, message, follow_up)
}

/// The follow-up of an email of `kind`, due after the configured number of days.
fn follow_up<'a>(
    branding: &Branding,
    dealer: &'a DealerRow,
    kind: MessageKind,
    about: About,
    assignees: Vec<String>,
) -> follow_ups::NewFollowUpRow<'a> {
    let now = db::now();
    follow_ups::NewFollowUpRow {
        dealer_id: &dealer.id,
        kind: kind.as_str(),
        customer_id: about.customer_id,
        lead_ids: (!about.lead_ids.is_empty()).then(|| to_json(&about.lead_ids)),
        assignees: to_json(&assignees),
        // Set when the message is queued.
        message_id: 0,
        identifier: about.identifier,
        created_at: now,
        due_at: now + branding.follow_up_due,
        status: follow_ups::OPEN,
    }
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
        page_url: branding.page_url(&dealer.id),
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
    let about = About {
        identifier: Some(facts.identifier.clone()),
        ..About::default()
    };
    to_key_contacts(
        conn,
        branding,
        dealer,
        about,
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
        About {
            customer_id: Some(customer_id),
            ..About::default()
        },
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
        About {
            customer_id: Some(customer_id),
            ..About::default()
        },
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
    let about = About {
        customer_id: Some(facts.customer_id),
        lead_ids: facts.lead_ids.clone(),
        identifier: None,
    };
    let assignees = vec![facts.recipient_name.clone()];
    let follow_up = follow_up(
        branding,
        dealer,
        MessageKind::DeidentifyAlert,
        about,
        assignees,
    );
    enqueue_with_follow_up(conn, branding, message, follow_up)
}

/// "POPIA follow-up due | {kind} | {id}", to the key contacts: seven days before a follow-up
/// is due, and on the day. No personal information: ids, kind and dates only.
pub fn follow_up_reminder(
    conn: &mut DbConnection,
    branding: &Branding,
    dealer: &DealerRow,
    follow_up: &FollowUpRow,
    reminder: Reminder,
) -> QueryResult<i64> {
    let assignees: Vec<String> = serde_json::from_str(&follow_up.assignees).unwrap_or_default();
    let facts = FollowUpReminder {
        id: follow_up.id,
        dealer: dealer.id.clone(),
        kind: follow_up.kind.clone(),
        customer_id: follow_up.customer_id,
        lead_ids: follow_up
            .lead_ids
            .as_deref()
            .and_then(|ids| serde_json::from_str(ids).ok())
            .unwrap_or_default(),
        assignees: assignees.join(", "),
        opened: follow_up.created_at.format("%Y-%m-%d").to_string(),
        due: follow_up.due_at.format("%Y-%m-%d").to_string(),
        overdue: reminder == Reminder::Due,
    };
    let message = NewMessage {
        dealer_id: dealer.id.clone(),
        customer_id: None,
        kind: MessageKind::FollowUpReminder,
        channel: Channel::Email,
        recipients: dealer.key_contacts().into_iter().map(|(_, e)| e).collect(),
        subject: Some(format!(
            "POPIA follow-up due | {} | {}",
            follow_up.kind, follow_up.id
        )),
        text: render(FollowUpReminderText {
            branding,
            facts: &facts,
        })?,
        html: Some(render(FollowUpReminderHtml {
            branding,
            facts: &facts,
        })?),
    };
    enqueue(conn, branding, message)
}

/// "POPIA reconcile after restore | {dealer}", to the key contacts: the records a reconcile
/// de-identified again and the blacklist entries it put back. Ids and counts only: the
/// per-person emails of a withdrawal would name the person again.
pub fn reconcile_summary(
    conn: &mut DbConnection,
    branding: &Branding,
    dealer: &DealerRow,
    facts: &ReconcileSummary,
) -> QueryResult<i64> {
    let message = NewMessage {
        dealer_id: dealer.id.clone(),
        customer_id: None,
        kind: MessageKind::ReconcileSummary,
        channel: Channel::Email,
        recipients: dealer.key_contacts().into_iter().map(|(_, e)| e).collect(),
        subject: Some(format!("POPIA reconcile after restore | {}", dealer.id)),
        text: render(ReconcileSummaryText { branding, facts })?,
        html: Some(render(ReconcileSummaryHtml { branding, facts })?),
    };
    enqueue(conn, branding, message)
}
