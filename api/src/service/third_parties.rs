//! Who has had a dealer's data (POPIA s23(1)(b): a data subject may ask who has had access to
//! their information): the operators and systems that pulled its blacklists (the pull log) or
//! followed its change feed (the feed-reader log). Data subjects never appear: they are the
//! people asking.

use std::collections::BTreeMap;

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::Role;
use crate::db::{blacklist_pulls, feed_reads, DbConnection};
use crate::domain::DealerId;

/// What a third party had of the dealer's data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[schema(as = ThirdPartyAccess)]
pub enum Access {
    /// The email or mobile blacklist: a page, its changes, a CSV export or a check.
    #[serde(rename = "blacklists")]
    Blacklists,
    /// The change feed: the dealer's history or one customer's.
    #[serde(rename = "change feed")]
    ChangeFeed,
}

/// One token subject and role that had the dealer's data.
#[derive(Debug, Clone)]
pub struct ThirdParty {
    /// The token's `sub`.
    pub name: String,
    /// The token's role.
    pub category: String,
    pub last_access_at: NaiveDateTime,
    /// In [`Access`] order, each once.
    pub accessed: Vec<Access>,
}

/// Everyone who pulled the dealer's blacklists or read its change feed, latest access first
/// (ties by name, then role).
pub fn of_dealer(
    conn: &mut DbConnection,
    dealer: &DealerId,
) -> diesel::QueryResult<Vec<ThirdParty>> {
    let subject = Role::Subject.as_str();
    let logs = [
        (
            Access::Blacklists,
            blacklist_pulls::pullers(conn, dealer.as_str(), subject)?,
        ),
        (
            Access::ChangeFeed,
            feed_reads::readers(conn, dealer.as_str(), subject)?,
        ),
    ];
    let mut parties: BTreeMap<(String, String), ThirdParty> = BTreeMap::new();
    for (access, rows) in logs {
        for (sub, role, at) in rows {
            let party = parties
                .entry((sub.clone(), role.clone()))
                .or_insert_with(|| ThirdParty {
                    name: sub,
                    category: role,
                    last_access_at: at,
                    accessed: Vec::new(),
                });
            party.last_access_at = party.last_access_at.max(at);
            if !party.accessed.contains(&access) {
                party.accessed.push(access);
            }
        }
    }
    let mut parties: Vec<ThirdParty> = parties.into_values().collect();
    // Stable: equal times keep the map's name-then-role order.
    parties.sort_by_key(|party| std::cmp::Reverse(party.last_access_at));
    Ok(parties)
}
