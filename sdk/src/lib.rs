//! # popia-sdk
//!
//! The Rust client of the [POPIA Gateway](https://github.com/) API, for dealer IT teams (follow
//! the change feed, manage customers and leads) and third-party operators (pull the consent
//! blacklists to wash their own databases).
//!
//! The operations are generated from the service's OpenAPI document (`generated.rs`, builder
//! style: every optional parameter is a method, so adding one breaks no caller). Beside them:
//! - [`ClientBuilder`]: a base URL and a token, rustls, timeouts, a user agent;
//! - retries with backoff for 429/503 and connection errors, honouring `Retry-After`, and an
//!   `Idempotency-Key` on every POST, reused on retry ([`hooks`]);
//! - a `futures::Stream` over every paged list ([`paging`]);
//! - [`download_blacklist`]: a whole blacklist as CSV into any writer, in constant memory;
//! - one [`Error`] carrying the server's Problem;
//! - [`webhooks::verify`]: checks a webhook delivery's signature (Standard Webhooks 1.0).
//!
//! ```no_run
//! use futures::StreamExt;
//!
//! # async fn run() -> popia_sdk::Result<()> {
//! let client = popia_sdk::ClientBuilder::new("http://127.0.0.1:8080").token("eyJ...").build()?;
//! let customer = client
//!     .get_customer()
//!     .dealer("abc-motors")
//!     .id(42)
//!     .send()
//!     .await?
//!     .into_inner();
//! println!("{:?} {:?}", customer.first_name, customer.last_name);
//!
//! let mut feed = std::pin::pin!(popia_sdk::paging::dealer_history(&client, "abc-motors", None));
//! while let Some(event) = feed.next().await {
//!     let event = event?;
//!     println!("{} {:?}", event.id, event.kind);
//! }
//! # Ok(())
//! # }
//! ```

mod client;
pub mod download;
mod error;
#[rustfmt::skip]
mod generated;
pub mod hooks;
pub mod paging;
pub mod webhooks;

pub use client::ClientBuilder;
pub use download::{download_blacklist, Progress};
pub use error::{Error, Result};
pub use generated::{builder, types, Client};
pub use paging::List;
pub use progenitor_client::ResponseValue;
