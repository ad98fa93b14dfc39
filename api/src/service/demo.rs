//! `serve --demo`: a demo dealer with customers and leads, so Swagger UI has something to show.
//! Seeded through the same actions as the API (so the change feed has their events), once.

use crate::db::DbConnection;
use crate::domain::events::{Actor, Origin};
use crate::domain::{DealerId, Email, Mobile, PersonName};
use crate::error::ApiError;

use super::customers::{self, NewCustomer};
use super::dealers::{self, KeyContact, NewDealer};
use super::leads::{self, NewLead, Recipient};
use super::withdrawal;
use crate::auth::KeyedHasher;
use crate::notify::Branding;

pub const DEMO_DEALER: &str = "demo-motors";

/// Seeds the demo dealer unless it exists; returns whether it seeded. One demo customer has
/// withdrawn consent, so the blacklists, the change feed and the mailbox have something to show.
pub fn seed(
    conn: &mut DbConnection,
    hasher: &KeyedHasher,
    branding: &Branding,
) -> Result<bool, ApiError> {
    let dealer =
        DealerId::parse(DEMO_DEALER).map_err(|e| ApiError::internal(anyhow::anyhow!(e)))?;
    if crate::db::dealers::exists(conn, dealer.as_str())? {
        return Ok(false);
    }
    let parse = |what: &str| ApiError::internal(anyhow::anyhow!("bad demo {what}"));
    let name = |raw: &str| PersonName::parse(raw).map_err(|_| parse("name"));
    let email = |raw: &str| Email::parse(raw).map_err(|_| parse("email"));
    let mobile = |raw: &str| Mobile::parse(raw).map_err(|_| parse("mobile"));

    dealers::create(
        conn,
        NewDealer {
            id: dealer.clone(),
            name: "Demo Motors".into(),
            website: "https://demo-motors.example".into(),
            key_contacts: vec![KeyContact {
                name: name("Thandi Nkosi")?,
                email: email("thandi@demo-motors.example")?,
            }],
        },
    )?;
    let actor = Actor {
        role: "admin".into(),
        sub: "demo-seed".into(),
    };
    let people = [
        (
            "Fred",
            "Basset",
            Some("fred@sea.example"),
            Some("083 656 7788"),
            2,
        ),
        (
            "Naledi",
            "Dlamini",
            Some("naledi@mail.example"),
            Some("082 555 0123"),
            1,
        ),
        ("Pieter", "van der Merwe", None, Some("+27 71 234 5678"), 0),
        (
            "Aisha",
            "Patel",
            Some("aisha@mail.example"),
            Some("084 123 4567"),
            1,
        ),
    ];
    let mut withdrawing = None;
    for (first, last, mail, phone, lead_count) in people {
        let customer = customers::create(
            conn,
            &dealer,
            NewCustomer {
                first_name: name(first)?,
                last_name: name(last)?,
                email: mail.map(email).transpose()?,
                mobile: phone.map(mobile).transpose()?,
                consent_process: true,
                consent_market: lead_count > 0,
                consent_source: Some("demo-motors.example enquiry form".into()),
            },
            actor.clone(),
            Origin::Api,
        )?;
        if first == "Aisha" {
            withdrawing = Some(customer.id);
        }
        for n in 0..lead_count {
            leads::create(
                conn,
                &dealer,
                NewLead {
                    customer_id: customer.id,
                    recipient: Recipient {
                        name: name(["Ashveer Singh", "Lerato Mokoena"][n % 2])?,
                        email: email(
                            ["ashveer@demo-motors.example", "lerato@demo-motors.example"][n % 2],
                        )?,
                    },
                    source: Some("website".into()),
                    vehicle: Some(["VW Polo 1.0 TSI", "Toyota Hilux 2.8 GD-6"][n % 2].into()),
                    message: Some("Please call me about a test drive.".into()),
                },
                actor.clone(),
            )?;
        }
    }
    if let Some(id) = withdrawing {
        withdrawal::withdraw(
            conn,
            hasher,
            branding,
            &dealer,
            withdrawal::Scope::Customer(id),
            actor,
            Origin::Api,
        )?;
    }
    Ok(true)
}
