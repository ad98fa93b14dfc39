//! End-to-end tests: a real server on a real socket, a database of its own per test.

mod auth;
mod authorization;
mod blacklists;
mod brute_force;
mod concurrency;
mod customers;
mod dealers;
mod errors;
mod faults;
mod files;
mod hardening;
mod helpers;
mod history;
mod idempotency;
mod leads;
mod notifications;
mod operations;
mod pagination;
mod pi;
mod residue;
mod sms_gateway;
mod smtp_sink;
mod startup;
mod storage_hygiene;
mod withdrawal;
mod withdrawal_guarantee;
