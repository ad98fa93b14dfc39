//! The /pi page: proving control of an email or mobile with a one-time code, and looking up
//! what the dealer holds. The answer to "send me a code" is the same whether or not the dealer
//! holds the identifier: the code goes to the identifier itself, never to anyone else.

use std::time::Duration;

use chrono::NaiveDateTime;
use rand::Rng;

use crate::auth::{KeyedHasher, Keys, Principal};
use crate::db::customers::CustomerRow;
use crate::db::leads::LeadRow;
use crate::db::verifications::{self, VerificationRow, IDENTIFIER_CHANGE, SUBJECT};
use crate::db::{self, backend, blacklists, customers, leads, lookup_alerts, DbConnection};
use crate::domain::events::{Actor, EventKind, FieldChange, NewEvent, Origin};
use crate::domain::{DealerId, Identifier};
use crate::error::ApiError;
use crate::notify::{emails, Branding};
use crate::service::amendment::{self, AmendRequest, Amendment};
use crate::service::third_parties::{self, ThirdParty};

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
/// Wrong codes for one identifier, across its verifications, that lock it...
pub const FAILURES_TO_LOCK: usize = 10;
/// ...when entered within this window; the lock then lasts as long again from the last of them.
pub const FAILURE_WINDOW: Duration = Duration::from_secs(24 * 60 * 60);

/// Which mobiles may be texted a code, and how many codes one dealer may text in an hour: the
/// stops to SMS pumping (codes sent to premium or foreign numbers at the dealer's cost).
#[derive(Debug, Clone)]
pub struct SmsPolicy {
    /// ISO 3166 codes (`ZA`).
    pub countries: Vec<String>,
    pub per_dealer_per_hour: u32,
}

impl Default for SmsPolicy {
    fn default() -> Self {
        SmsPolicy {
            countries: vec!["ZA".into()],
            per_dealer_per_hour: 200,
        }
    }
}

/// What sending a code needs: the keyed hasher, the messages' branding, the SMS policy and the
/// counter of sends it refused (`sms_budget_exhausted_total{dealer}`).
#[derive(Clone)]
pub struct Sender {
    pub hasher: KeyedHasher,
    pub branding: Branding,
    pub sms: SmsPolicy,
    pub budget_hits: prometheus::IntCounterVec,
}

impl Sender {
    pub fn new(
        hasher: KeyedHasher,
        branding: Branding,
        sms: SmsPolicy,
        registry: &prometheus::Registry,
    ) -> anyhow::Result<Sender> {
        let budget_hits = prometheus::IntCounterVec::new(
            prometheus::Opts::new(
                "sms_budget_exhausted_total",
                "Codes not sent by SMS because the dealer's hourly SMS budget was spent",
            ),
            &["dealer"],
        )?;
        registry.register(Box::new(budget_hits.clone()))?;
        Ok(Sender {
            hasher,
            branding,
            sms,
            budget_hits,
        })
    }

    /// Refuses a mobile outside the countries codes may be texted to (422 naming `mobile`).
    fn may_text(&self, mobile: &crate::domain::Mobile) -> Result<(), ApiError> {
        let country = mobile.country().unwrap_or_default();
        if self.sms.countries.contains(&country) {
            return Ok(());
        }
        Err(ApiError::field(
            "mobile",
            format!(
                "codes are sent by SMS only to numbers of {}; use an email address",
                self.sms.countries.join(", ")
            ),
        ))
    }

    /// Refuses a text past the dealer's hourly budget (429), counting and logging it.
    fn within_budget(
        &self,
        conn: &mut DbConnection,
        dealer: &DealerId,
        now: NaiveDateTime,
    ) -> Result<(), ApiError> {
        let hour = chrono::Duration::hours(1);
        let sent = db::outbox::sms_sent_since(conn, dealer.as_str(), now - hour)?;
        if sent < i64::from(self.sms.per_dealer_per_hour) {
            return Ok(());
        }
        self.budget_hits.with_label_values(&[dealer.as_str()]).inc();
        tracing::warn!(
            dealer = dealer.as_str(),
            budget = self.sms.per_dealer_per_hour,
            "the dealer's hourly SMS budget is spent; codes by SMS are refused for now"
        );
        Err(ApiError::TooManyRequests {
            detail: "too many codes were sent; try again later".into(),
            retry_after: 3600,
        })
    }
}

/// Refuses an identifier locked by too many wrong codes (the same 429 as the send limits, so
/// it tells a guesser nothing new): FAILURES_TO_LOCK within FAILURE_WINDOW lock it until
/// FAILURE_WINDOW after the last of them.
fn not_locked(
    conn: &mut DbConnection,
    dealer: &DealerId,
    identifier_key: &str,
    now: NaiveDateTime,
) -> Result<(), ApiError> {
    let window = chrono(FAILURE_WINDOW);
    let failures =
        verifications::failures_since(conn, dealer.as_str(), identifier_key, now - window * 2)?;
    let locked_until = failures
        .windows(FAILURES_TO_LOCK)
        .filter(|run| run[FAILURES_TO_LOCK - 1] - run[0] <= window)
        .map(|run| run[FAILURES_TO_LOCK - 1] + window)
        .max();
    match locked_until {
        Some(until) if until > now => Err(ApiError::TooManyRequests {
            detail: "too many codes were sent; try again later".into(),
            retry_after: (until - now).num_seconds().max(1) as u64,
        }),
        _ => Ok(()),
    }
}

/// How a one-time code is sent: by email to an email, by SMS to a mobile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeChannel {
    Email,
    Sms,
}

impl CodeChannel {
    /// The channel a code to `identifier` goes by.
    pub fn of(identifier: &Identifier) -> Self {
        match identifier {
            Identifier::Email(_) => CodeChannel::Email,
            Identifier::Mobile(_) => CodeChannel::Sms,
        }
    }

    /// As stored in a verification's `channel`.
    pub fn as_str(self) -> &'static str {
        match self {
            CodeChannel::Email => "email",
            CodeChannel::Sms => "sms",
        }
    }
}

pub struct VerificationStarted {
    pub id: String,
    pub channel: CodeChannel,
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

/// What a verification proves control of an identifier for.
pub enum Purpose<'a> {
    /// Signing a data subject in: a confirmed code gives a subject token.
    SignIn,
    /// A new email or mobile for a record of the signed-in subject: a confirmed code applies it.
    IdentifierChange {
        customer_id: i64,
        subject: &'a Subject,
    },
}

/// A signed-in data subject: the identifier they proved and the `sub` of their token.
#[derive(Debug, Clone)]
pub struct Subject {
    pub identifier: Identifier,
    pub sub: String,
    pub expires_at: NaiveDateTime,
}

impl Subject {
    /// The data subject a `subject` token signs in, for `dealer` (the raw path segment): the
    /// /pi endpoints' and the hosted page's one access check.
    pub fn signed_in(principal: &Principal, dealer: &str) -> Result<(DealerId, Subject), ApiError> {
        let (dealer, identifier) = principal.authorize_subject(dealer)?;
        let expires_at = chrono::DateTime::from_timestamp(principal.expires_at, 0)
            .unwrap_or_default()
            .naive_utc();
        Ok((
            dealer,
            Subject {
                identifier,
                sub: principal.sub.clone(),
                expires_at,
            },
        ))
    }
}

/// Refuses a subject token that a withdrawal spent (401, like any token no longer valid).
pub fn ensure_unspent(
    conn: &mut DbConnection,
    hasher: &KeyedHasher,
    subject: &Subject,
) -> Result<(), ApiError> {
    if verifications::subject_spent(conn, &hasher.subject(&subject.sub))? {
        return Err(ApiError::Unauthorized(
            "this token was used to withdraw consent and is no longer valid".into(),
        ));
    }
    Ok(())
}

/// Starts a verification: checks the send limits, stores the code's keyed hash and queues the
/// code to the identifier, in one transaction.
/// Anonymous callers reach this, so it takes no dealer lock (staff writes wait on that): only
/// one identifier's own sends are serialised, so that its limit holds across replicas.
pub fn start_verification(
    conn: &mut DbConnection,
    sender: &Sender,
    dealer: &DealerId,
    identifier: &Identifier,
    client_address: &str,
    purpose: Purpose,
) -> Result<VerificationStarted, ApiError> {
    let (hasher, branding) = (&sender.hasher, &sender.branding);
    if let Identifier::Mobile(mobile) = identifier {
        sender.may_text(mobile)?;
    }
    let identifier_key = hasher.identifier(identifier);
    let client_key = hasher.client(client_address);
    db::write_transaction(conn, |conn| {
        backend::lock_key(conn, &format!("sends:{}:{identifier_key}", dealer.as_str()))?;
        let dealer_row = super::dealers::get(conn, dealer)?;
        let (purpose, customer_id, requested_by) = match purpose {
            Purpose::SignIn => (SUBJECT, None, None),
            Purpose::IdentifierChange {
                customer_id,
                subject,
            } => {
                ensure_unspent(conn, hasher, subject)?;
                subjects_record(conn, dealer, customer_id, &subject.identifier)?;
                (
                    IDENTIFIER_CHANGE,
                    Some(customer_id),
                    Some(subject.sub.clone()),
                )
            }
        };
        let now = db::now();
        not_locked(conn, dealer, &identifier_key, now)?;
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
        if matches!(identifier, Identifier::Mobile(_)) {
            sender.within_budget(conn, dealer, now)?;
        }

        let mut random = rand::rng();
        let id = format!("{:032x}", random.random::<u128>());
        let code = format!("{:06}", random.random_range(0..1_000_000u32));
        let row = VerificationRow {
            id: id.clone(),
            dealer_id: dealer.as_str().to_owned(),
            channel: CodeChannel::of(identifier).as_str().to_owned(),
            identifier: identifier.as_str().to_owned(),
            identifier_key: identifier_key.clone(),
            client_key: client_key.clone(),
            code_hash: hasher.code(&id, &code),
            attempts: 0,
            created_at: now,
            expires_at: now + chrono(CODE_TTL),
            used_at: None,
            purpose: purpose.to_owned(),
            customer_id,
            requested_by,
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
            channel: CodeChannel::of(identifier),
            expires_at: row.expires_at,
        })
    })
}

enum Checked {
    Confirmed(Box<VerificationRow>),
    Wrong { attempts_left: u32 },
}

/// Checks a code. A right one uses up the verification; a wrong one counts an attempt
/// (committed, so guesses cannot be replayed for free); an expired, used or locked verification
/// is gone. `belongs` says whether the verification is one this caller may confirm.
fn check_code(
    conn: &mut DbConnection,
    hasher: &KeyedHasher,
    dealer: &DealerId,
    verification_id: &str,
    code: &str,
    belongs: impl FnOnce(&VerificationRow) -> bool,
) -> Result<VerificationRow, ApiError> {
    // Anonymous too: serialised per verification, not per dealer.
    let checked = db::write_transaction(conn, |conn| {
        backend::lock_key(conn, &format!("verification:{verification_id}"))?;
        let row = verifications::find(conn, dealer.as_str(), verification_id)?
            .filter(belongs)
            .ok_or_else(|| ApiError::not_found("verification"))?;
        let now = db::now();
        not_locked(conn, dealer, &row.identifier_key, now)?;
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
            return Ok(Checked::Confirmed(Box::new(row)));
        }
        verifications::record_attempt(conn, &row.id)?;
        verifications::record_failure(conn, dealer.as_str(), &row.identifier_key, now)?;
        Ok(Checked::Wrong {
            attempts_left: (MAX_ATTEMPTS - row.attempts - 1).max(0) as u32,
        })
    })?;
    match checked {
        Checked::Confirmed(row) => Ok(*row),
        Checked::Wrong { attempts_left } => Err(ApiError::WrongCode { attempts_left }),
    }
}

/// Confirms a sign-in code and returns a `subject` token.
pub fn confirm(
    conn: &mut DbConnection,
    hasher: &KeyedHasher,
    keys: &Keys,
    dealer: &DealerId,
    verification_id: &str,
    code: &str,
) -> Result<(String, i64), ApiError> {
    let row = check_code(conn, hasher, dealer, verification_id, code, |row| {
        row.purpose == SUBJECT
    })?;
    let identifier = stored_identifier(&row)?;
    keys.issue_subject(
        dealer.as_str(),
        &identifier,
        &format!("pi:{verification_id}"),
        SUBJECT_TTL,
    )
    .map_err(ApiError::internal)
}

/// The code a subject received at the new email or mobile of one of their records.
pub struct CodeForChange<'a> {
    pub customer_id: i64,
    pub verification_id: &'a str,
    pub code: &'a str,
}

/// Confirms the code sent to a new email or mobile and applies it to the subject's record as an
/// amendment (was/now event, "alters information" email). A blacklisted new value is refused
/// here (409), never at the start, so that the start is no blacklist oracle.
pub fn confirm_identifier_change(
    conn: &mut DbConnection,
    hasher: &KeyedHasher,
    branding: &Branding,
    dealer: &DealerId,
    subject: &Subject,
    change: CodeForChange,
) -> Result<CustomerRow, ApiError> {
    let CodeForChange {
        customer_id,
        verification_id,
        code,
    } = change;
    ensure_unspent(conn, hasher, subject)?;
    let row = check_code(conn, hasher, dealer, verification_id, code, |row| {
        row.purpose == IDENTIFIER_CHANGE
            && row.customer_id == Some(customer_id)
            && row.requested_by.as_deref() == Some(subject.sub.as_str())
    })?;
    let mut amendment = Amendment::default();
    match stored_identifier(&row)? {
        Identifier::Email(email) => amendment.email = Some(email),
        Identifier::Mobile(mobile) => amendment.mobile = Some(mobile),
    }
    amendment::amend(
        conn,
        branding,
        dealer,
        AmendRequest {
            customer_id,
            amendment,
            if_match: None,
            scope: Some(subject.identifier.clone()),
            actor: subject_actor(subject),
            origin: Origin::Pi,
        },
    )
}

/// How a subject appears in the change feed.
pub fn subject_actor(subject: &Subject) -> Actor {
    Actor {
        role: "subject".into(),
        sub: subject.sub.clone(),
    }
}

/// The subject's record `customer_id`, which must be held under their identifier and not
/// de-identified; anything else is a record they cannot see (404).
fn subjects_record(
    conn: &mut DbConnection,
    dealer: &DealerId,
    customer_id: i64,
    identifier: &Identifier,
) -> Result<CustomerRow, ApiError> {
    customers::matching_identifier(conn, dealer.as_str(), identifier)?
        .into_iter()
        .find(|c| c.id == customer_id)
        .ok_or_else(|| ApiError::not_found("customer"))
}

fn stored_identifier(row: &VerificationRow) -> Result<Identifier, ApiError> {
    let value = Some(row.identifier.as_str());
    let parsed = if row.channel == CodeChannel::Sms.as_str() {
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

/// What a lookup found.
pub struct Lookup {
    pub records: Vec<(CustomerRow, Vec<LeadRow>)>,
    /// The identifier is on the dealer's blacklist (the person withdrew earlier).
    pub blacklisted: bool,
    /// Who had the dealer's data (s23(1)(b)); empty when the dealer holds nothing under the
    /// identifier, as then nobody had anything of theirs.
    pub third_parties: Vec<ThirdParty>,
}

/// The subject's lookup. When nothing is held and the identifier is not blacklisted, the key
/// contacts are told (at most once per identifier per day) and a `lookup.not_found` event with
/// the identifier masked is recorded. A person who withdrew earlier learns that only the
/// do-not-contact entry remains, and nobody is asked to contact them. Whenever something is held
/// (records or the blacklist entry), the answer also names who had the dealer's data.
pub fn lookup(
    conn: &mut DbConnection,
    hasher: &KeyedHasher,
    branding: &Branding,
    dealer: &DealerId,
    subject: &Subject,
) -> Result<Lookup, ApiError> {
    ensure_unspent(conn, hasher, subject)?;
    let identifier = &subject.identifier;
    let records = records_for(conn, dealer, identifier)?;
    let blacklisted = match identifier {
        Identifier::Email(email) => {
            blacklists::emails::contains(conn, dealer.as_str(), email.as_str())?
        }
        Identifier::Mobile(mobile) => {
            blacklists::mobiles::contains(conn, dealer.as_str(), mobile.as_str())?
        }
    };
    if !records.is_empty() || blacklisted {
        return Ok(Lookup {
            records,
            blacklisted,
            third_parties: third_parties::of_dealer(conn, dealer)?,
        });
    }
    db::dealer_transaction(conn, dealer.as_str(), |conn| {
        let dealer_row = super::dealers::get(conn, dealer)?;
        let now = db::now();
        let key = hasher.identifier(identifier);
        if lookup_alerts::first_today(conn, dealer.as_str(), &key, now.date())? {
            emails::lookup_not_found(conn, branding, &dealer_row, identifier.as_str())?;
        }
        let event = NewEvent {
            customer_id: None,
            kind: EventKind::LookupNotFound,
            actor: subject_actor(subject),
            origin: Origin::Pi,
            changes: FieldChange::set(identifier.kind(), Some(identifier.masked()))
                .into_iter()
                .collect(),
            lead_ids: None,
        };
        super::change_feed::record(conn, dealer.as_str(), &event, now)?;
        Ok(Lookup {
            records: Vec::new(),
            blacklisted: false,
            third_parties: Vec::new(),
        })
    })
}
