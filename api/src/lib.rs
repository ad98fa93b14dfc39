//! POPIA Gateway: the service South African car dealerships run to meet the Protection of
//! Personal Information Act. See the README for the architecture.

pub mod auth;
pub mod clock;
pub mod config;
pub mod db;
pub mod domain;
pub mod error;
pub mod http;
pub mod notify;
pub mod observability;
pub mod page;
pub mod private_files;
pub mod service;
pub mod startup;

pub use config::Config;
pub use startup::Application;
