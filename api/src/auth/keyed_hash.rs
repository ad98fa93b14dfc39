//! Keyed hashes (HMAC-SHA-256 with a server secret). An unsalted hash of an email or a South
//! African mobile is reversible in seconds (there are only about 10^9 mobiles); a keyed one is
//! not without the secret. Used for one-time codes and to count sends per identifier and per
//! client address without storing either in clear for longer than needed.

use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::domain::Identifier;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct KeyedHasher {
    key: Vec<u8>,
}

impl KeyedHasher {
    /// Derives the hashing key from the service secret, so that it is never the JWT key itself.
    pub fn derive(secret: &[u8]) -> KeyedHasher {
        KeyedHasher {
            key: mac(secret, &[b"popia-gateway keyed hash v1"]),
        }
    }

    /// The key under which an identifier is counted (`email:` and `mobile:` kept apart).
    pub fn identifier(&self, identifier: &Identifier) -> String {
        hex(&mac(
            &self.key,
            &[
                b"identifier",
                identifier.kind().as_bytes(),
                identifier.as_str().as_bytes(),
            ],
        ))
    }

    pub fn client(&self, address: &str) -> String {
        hex(&mac(&self.key, &[b"client", address.as_bytes()]))
    }

    /// The key under which a spent subject token's `sub` is remembered.
    pub fn subject(&self, sub: &str) -> String {
        hex(&mac(&self.key, &[b"subject", sub.as_bytes()]))
    }

    /// The fingerprint of a request under an Idempotency-Key: keyed, so a stored fingerprint
    /// of a body that names a person cannot be matched against a guess without the secret.
    pub fn request(&self, parts: &[&[u8]]) -> String {
        let mut all: Vec<&[u8]> = vec![b"request"];
        all.extend_from_slice(parts);
        hex(&mac(&self.key, &all))
    }

    /// A code's hash is bound to its verification, so equal codes hash differently.
    pub fn code(&self, verification_id: &str, code: &str) -> String {
        hex(&mac(
            &self.key,
            &[b"code", verification_id.as_bytes(), code.as_bytes()],
        ))
    }

    /// Compares a code with a stored hash in constant time.
    pub fn code_matches(&self, verification_id: &str, code: &str, stored: &str) -> bool {
        let expected = self.code(verification_id, code);
        expected.len() == stored.len()
            && expected
                .bytes()
                .zip(stored.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

/// HMAC over length-prefixed parts, so ("ab","c") and ("a","bc") differ.
fn mac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac.finalize().into_bytes().to_vec()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, Mobile};

    #[test]
    fn hashes_are_keyed_and_separated() {
        let one = KeyedHasher::derive(b"secret one secret one secret one!");
        let two = KeyedHasher::derive(b"secret two secret two secret two!");
        let email = Identifier::Email(Email::parse("fred@sea.com").unwrap());
        let mobile = Identifier::Mobile(Mobile::parse("0836567788").unwrap());
        assert_ne!(one.identifier(&email), two.identifier(&email));
        assert_ne!(one.identifier(&email), one.identifier(&mobile));
        assert_eq!(one.identifier(&email), one.identifier(&email));
        let stored = one.code("v1", "123456");
        assert!(one.code_matches("v1", "123456", &stored));
        assert!(!one.code_matches("v1", "123457", &stored));
        assert!(!one.code_matches("v2", "123456", &stored));
    }
}
