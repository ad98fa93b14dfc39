//! The /pi page: proving control of an email or mobile with a one-time code, and looking up
//! what the dealer holds. The answer to "send me a code" is the same whether or not the dealer
//! holds the identifier: the code goes to the identifier itself, never to anyone else.

use std::time::Duration;

use chrono::NaiveDateTime;
use rand::Rng;

use crate::auth::{KeyedHasher, Keys};
use crate::db::customers::CustomerRow;
use crate::db::leads::LeadRow;
use crate::db::verifications::{self, VerificationRow};
use crate::db::{self, customers, events, leads, lookup_alerts, DbConnection};
use crate::domain::events::{Actor, Channel, EventKind, FieldChange, NewEvent};
use crate::domain::{DealerId, Identifier};
use crate::http::problem::ApiError;
use crate::notify::{emails, Branding};

/// A code is valid this long.
pub const CODE_TTL: Duration = Duration::from_secs(10 * 60);
/// Wrong codes allowed before the verification locks (NIST SP 800-63B asks for a limit).
pub const MAX_ATTEMPTS: i32 = 5;
/// A subject token is valid this long.
pub const SUBJECT_TTL: Duration = Duration::from_secs(15 * 60);
/// Sends to one identifier at one dealer: at most this many per window.
pub const SENDS_PER_IDENTIFIER: (usize, Duration) = (3, Duration::from_secs(15 * 60));
/// Sends from one client address, across dealers: at most this many per window.
pub const SENDS_PER_CLIENT: (usize, Duration) = (20, Duration::from_secs(60 * 60));

pub struct VerificationStarted {
    pub id: String,
    pub channel: &'static str,
    pub expires_at: NaiveDateTime,
}

fn chrono(duration: Duration) -> chrono::Duration {
    chrono::Duration::from_std(duration).unwrap_or_default()
}

/// Refuses a send when `sends` (oldest first, within the window) already reached the limit;
/// the answer says when the oldest leaves the window.
fn within_limit(
    sends: &[NaiveDateTime],
    (limit, window): (usize, Duration),
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    if sends.len() < limit {
        return Ok(());
    }
    let frees_at = sends[sends.len() - limit] + chrono(window);
    let retry_after = (frees_at - now).num_seconds().max(1) as u64;
    Err(ApiError::TooManyRequests {
        detail: "too many codes were sent; try again later".into(),
        retry_after,
    })
}

/// Starts a verification: checks the send limits, stores the code's keyed hash and queues the
/// code to the identifier, in one transaction.
pub fn start_verification(
    conn: &mut DbConnection,
    hasher: &KeyedHasher,
    branding: &Branding,
    dealer: &DealerId,
    identifier: &Identifier,
    client_address: &str,
) -> Result<VerificationStarted, ApiError> {
    let identifier_key = hasher.identifier(identifier);
    let client_key = hasher.client(client_address);
    db::dealer_transaction(conn, dealer.as_str(), |conn| {
        let dealer_row = db::dealers::find(conn, dealer.as_str())?
            .ok_or_else(|| ApiError::not_found("dealer"))?;
        let now = db::now();
        let (_, identifier_window) = SENDS_PER_IDENTIFIER;
        let sends = verifications::sends_for_identifier(
            conn,
            dealer.as_str(),
            &identifier_key,
            now - chrono(identifier_window),
        )?;
        within_limit(&sends, SENDS_PER_IDENTIFIER, now)?;
        let (_, client_window) = SENDS_PER_CLIENT;
        let sends =
            verifications::sends_for_client(conn, &client_key, now - chrono(client_window))?;
        within_limit(&sends, SENDS_PER_CLIENT, now)?;

        let mut random = rand::rng();
        let id = format!("{:032x}", random.random::<u128>());
        let code = format!("{:06}", random.random_range(0..1_000_000u32));
        let row = VerificationRow {
            id: id.clone(),
            dealer_id: dealer.as_str().to_owned(),
            channel: channel_of(identifier).to_owned(),
            identifier: identifier.as_str().to_owned(),
            identifier_key: identifier_key.clone(),
            client_key: client_key.clone(),
            code_hash: hasher.code(&id, &code),
            attempts: 0,
            created_at: now,
            expires_at: now + chrono(CODE_TTL),
            used_at: None,
        };
        verifications::insert(conn, &row)?;
        match identifier {
            Identifier::Email(email) => {
                emails::one_time_code_email(conn, branding, &dealer_row, email.as_str(), &code)?
            }
            Identifier::Mobile(mobile) => {
                emails::one_time_code_sms(conn, branding, &dealer_row, mobile.as_str(), &code)?
            }
        };
        Ok(VerificationStarted {
            id,
            channel: channel_of(identifier),
            expires_at: row.expires_at,
        })
    })
}

fn channel_of(identifier: &Identifier) -> &'static str {
    match identifier {
        Identifier::Email(_) => "email",
        Identifier::Mobile(_) => "sms",
    }
}

enum Checked {
    Confirmed(Identifier),
    Wrong { attempts_left: u32 },
}

/// Checks a code. A right one uses up the verification and returns a `subject` token; a wrong
/// one counts an attempt (committed, so guesses cannot be replayed for free); an expired, used
/// or locked verification is gone.
pub fn confirm(
    conn: &mut DbConnection,
    hasher: &KeyedHasher,
    keys: &Keys,
    dealer: &DealerId,
    verification_id: &str,
    code: &str,
) -> Result<(String, i64), ApiError> {
    let checked = db::dealer_transaction(conn, dealer.as_str(), |conn| {
        let row = verifications::find(conn, dealer.as_str(), verification_id)?
            .ok_or_else(|| ApiError::not_found("verification"))?;
        let now = db::now();
        if row.used_at.is_some() {
            return Err(ApiError::Gone("this code was already used".into()));
        }
        if row.expires_at <= now {
            return Err(ApiError::Gone(
                "this code has expired; ask for a new one".into(),
            ));
        }
        if row.attempts >= MAX_ATTEMPTS {
            return Err(ApiError::Gone(
                "too many wrong codes; ask for a new one".into(),
            ));
        }
        if hasher.code_matches(&row.id, code, &row.code_hash) {
            verifications::mark_used(conn, &row.id, now)?;
            let identifier = stored_identifier(&row)?;
            return Ok(Checked::Confirmed(identifier));
        }
        verifications::record_attempt(conn, &row.id)?;
        Ok(Checked::Wrong {
            attempts_left: (MAX_ATTEMPTS - row.attempts - 1).max(0) as u32,
        })
    })?;
    match checked {
        Checked::Confirmed(identifier) => keys
            .issue_subject(
                dealer.as_str(),
                &identifier,
                &format!("pi:{verification_id}"),
                SUBJECT_TTL,
            )
            .map_err(ApiError::internal),
        Checked::Wrong { attempts_left } => Err(ApiError::WrongCode { attempts_left }),
    }
}

fn stored_identifier(row: &VerificationRow) -> Result<Identifier, ApiError> {
    let value = Some(row.identifier.as_str());
    let parsed = if row.channel == "sms" {
        Identifier::from_parts(None, value)
    } else {
        Identifier::from_parts(value, None)
    };
    parsed.map_err(|_| ApiError::internal(anyhow::anyhow!("a stored identifier does not parse")))
}

/// The dealer's records held under `identifier` (not de-identified), with their leads.
pub fn records_for(
    conn: &mut DbConnection,
    dealer: &DealerId,
    identifier: &Identifier,
) -> Result<Vec<(CustomerRow, Vec<LeadRow>)>, ApiError> {
    let found = customers::matching_identifier(conn, dealer.as_str(), identifier)?;
    found
        .into_iter()
        .map(|customer| {
            let leads = leads::for_customer(conn, customer.id)?;
            Ok((customer, leads))
        })
        .collect()
}

/// The subject's lookup. When nothing is held, the key contacts are told (at most once per
/// identifier per day) and a `lookup.not_found` event with the identifier masked is recorded.
pub fn lookup(
    conn: &mut DbConnection,
    hasher: &KeyedHasher,
    branding: &Branding,
    dealer: &DealerId,
    identifier: &Identifier,
    actor: Actor,
) -> Result<Vec<(CustomerRow, Vec<LeadRow>)>, ApiError> {
    let found = records_for(conn, dealer, identifier)?;
    if !found.is_empty() {
        return Ok(found);
    }
    db::dealer_transaction(conn, dealer.as_str(), |conn| {
        let dealer_row = db::dealers::find(conn, dealer.as_str())?
            .ok_or_else(|| ApiError::not_found("dealer"))?;
        let now = db::now();
        let key = hasher.identifier(identifier);
        if lookup_alerts::first_today(conn, dealer.as_str(), &key, now.date())? {
            emails::lookup_not_found(conn, branding, &dealer_row, identifier.as_str())?;
        }
        let event = NewEvent {
            customer_id: None,
            kind: EventKind::LookupNotFound,
            actor,
            channel: Channel::Pi,
            changes: FieldChange::set(identifier.kind(), Some(identifier.masked()))
                .into_iter()
                .collect(),
            lead_ids: None,
        };
        events::record(conn, dealer.as_str(), &event, now)?;
        Ok(Vec::new())
    })
}
