//! What the service does, one function per action. Each takes a connection, runs in one
//! transaction and records its change events there, so an action is applied whole or not at all.
//! HTTP handlers only check access, build the input and call one of these.

pub mod amendment;
pub mod backup;
pub mod blacklists;
pub mod change_feed;
pub mod customers;
pub mod dealers;
pub mod demo;
pub mod follow_ups;
pub mod history;
pub mod leads;
pub mod logo;
pub mod maintenance;
pub mod notifications;
pub mod pi;
pub mod reconcile;
pub mod storage_hygiene;
pub mod third_parties;
pub mod webhooks;
pub mod withdrawal;
