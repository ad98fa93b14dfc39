//! Keyed hashes (HMAC-SHA-256 with a server secret). An unsalted hash of an email or a South
//! African mobile is reversible in seconds (there are only about 10^9 mobiles); a keyed one is
//! not without the secret. Used for one-time codes and to count sends per identifier and per
//! client address without storing either in clear for longer than needed.

use chacha20poly1305::aead::{Aead, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::domain::Identifier;

type HmacSha256 = Hmac<Sha256>;

#[derive(Clone)]
pub struct KeyedHasher {
    key: Vec<u8>,
    cursors: CursorKey,
}

impl KeyedHasher {
    /// Derives the hashing key from the service secret, so that it is never the JWT key itself.
    /// The key that seals page cursors is derived beside it, under a label of its own.
    pub fn derive(secret: &[u8]) -> KeyedHasher {
        KeyedHasher {
            key: mac(secret, &[b"popia-gateway keyed hash v1"]),
            cursors: CursorKey::derive(secret),
        }
    }

    /// The key that seals page cursors which would otherwise carry personal information.
    pub fn cursor_key(&self) -> &CursorKey {
        &self.cursors
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

    /// Compares a code with a stored hash (lowercase hex, as [`KeyedHasher::code`] writes it)
    /// in constant time.
    pub fn code_matches(&self, verification_id: &str, code: &str, stored: &str) -> bool {
        let mut tag = [0u8; 32];
        let Ok(tag) = base16ct::lower::decode(stored, &mut tag) else {
            return false;
        };
        mac_of(
            &self.key,
            &[b"code", verification_id.as_bytes(), code.as_bytes()],
        )
        .verify_slice(tag)
        .is_ok()
    }
}

/// A key for authenticated encryption (XChaCha20-Poly1305, random 192-bit nonces) of values the
/// service hands out and takes back, such as page cursors: a client can neither read nor alter
/// them, and a value sealed for one context does not open in another.
#[derive(Clone)]
pub struct CursorKey {
    cipher: XChaCha20Poly1305,
}

/// The nonce (24 bytes) and the tag (16 bytes) a sealed value adds to its plaintext.
pub const SEAL_OVERHEAD: usize = 24 + 16;

impl CursorKey {
    /// Derives the key from the service secret under its own label.
    pub fn derive(secret: &[u8]) -> CursorKey {
        let key = mac(secret, &[b"popia-gateway cursor key v1"]);
        CursorKey {
            cipher: XChaCha20Poly1305::new_from_slice(&key).expect("the derived key is 32 bytes"),
        }
    }

    /// Encrypts `plaintext`, bound to `context` (authenticated, not stored): nonce then
    /// ciphertext and tag.
    pub fn seal(&self, context: &[&[u8]], plaintext: &[u8]) -> Vec<u8> {
        let nonce = XNonce::from(rand::random::<[u8; 24]>());
        let aad = length_prefixed(context);
        let sealed = self
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: &aad,
                },
            )
            .expect("a cursor is far below the AEAD's length limit");
        let mut out = Vec::with_capacity(SEAL_OVERHEAD + plaintext.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// The plaintext of a value [`CursorKey::seal`] made under this key and `context`; `None`
    /// for anything else (altered, truncated, another context, another key).
    pub fn open(&self, context: &[&[u8]], sealed: &[u8]) -> Option<Vec<u8>> {
        if sealed.len() < SEAL_OVERHEAD {
            return None;
        }
        let (nonce, ciphertext) = sealed.split_at(24);
        let nonce = XNonce::try_from(nonce).ok()?;
        let aad = length_prefixed(context);
        self.cipher
            .decrypt(
                &nonce,
                Payload {
                    msg: ciphertext,
                    aad: &aad,
                },
            )
            .ok()
    }
}

/// Parts joined with their lengths, so ("ab","c") and ("a","bc") differ.
fn length_prefixed(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        out.extend_from_slice(&(part.len() as u64).to_be_bytes());
        out.extend_from_slice(part);
    }
    out
}

/// HMAC over length-prefixed parts, so ("ab","c") and ("a","bc") differ.
fn mac(key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
    mac_of(key, parts).finalize().into_bytes().to_vec()
}

fn mac_of(key: &[u8], parts: &[&[u8]]) -> HmacSha256 {
    let mut mac = <HmacSha256 as KeyInit>::new_from_slice(key).expect("HMAC takes any key length");
    for part in parts {
        mac.update(&(part.len() as u64).to_be_bytes());
        mac.update(part);
    }
    mac
}

fn hex(bytes: &[u8]) -> String {
    base16ct::lower::encode_string(bytes)
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
        // The stored form is lowercase hex of the whole tag; anything else never matches.
        assert_eq!(stored.len(), 64);
        assert!(stored
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)));
        assert!(!one.code_matches("v1", "123456", &stored.to_uppercase()));
        assert!(!one.code_matches("v1", "123456", &stored[..62]));
        assert!(!one.code_matches("v1", "123456", &format!("{stored}00")));
        assert!(!one.code_matches("v1", "123456", ""));
        assert!(!one.code_matches("v1", "123456", &"z".repeat(64)));
        assert!(!two.code_matches("v1", "123456", &stored));
    }

    #[test]
    fn cursor_keys_seal_bound_to_their_context() {
        let one = KeyedHasher::derive(b"secret one secret one secret one!");
        let two = KeyedHasher::derive(b"secret two secret two secret two!");
        let key = one.cursor_key();
        let context: &[&[u8]] = &[b"emails", b"abc-motors"];
        let sealed = key.seal(context, b"fred@sea.com");
        assert_eq!(sealed.len(), SEAL_OVERHEAD + b"fred@sea.com".len());
        assert_eq!(key.open(context, &sealed).unwrap(), b"fred@sea.com");
        // Random nonces: sealing twice gives different bytes.
        assert_ne!(key.seal(context, b"fred@sea.com"), sealed);
        assert!(key.open(&[b"mobiles", b"abc-motors"], &sealed).is_none());
        assert!(key.open(&[b"emailsabc-motors"], &sealed).is_none());
        assert!(two.cursor_key().open(context, &sealed).is_none());
        assert!(key.open(context, &sealed[..sealed.len() - 1]).is_none());
        assert!(key.open(context, &sealed[..10]).is_none());
        for at in [0, 30, sealed.len() - 1] {
            let mut altered = sealed.clone();
            altered[at] ^= 1;
            assert!(key.open(context, &altered).is_none(), "byte {at}");
        }
    }
}
