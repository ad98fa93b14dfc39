//! Who is calling (a verified JWT turned into a [`Principal`]) and what they may do
//! ([`access`], the one place where that is decided).

pub mod access;
pub mod claims;
pub mod keyed_hash;
pub mod keys;
pub mod principal;

pub use access::Capability;
pub use claims::Role;
pub use keyed_hash::KeyedHasher;
pub use keys::{JwtSettings, Keys};
pub use principal::Principal;
