//! Signing and verifying JWTs. The service signs its own tokens with an HS256 secret; tokens
//! from an outside identity provider are verified with RS256/ES256 public keys, from a PEM file
//! or a JWKS file whose keys are picked by `kid` (and re-read when an unknown `kid` appears, so
//! a rotated key is picked up without a restart). No other algorithm is accepted, and the key is
//! chosen by the algorithm's family, so an HS256 token is never checked against a public key.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{
    decode, decode_header, encode, Algorithm, DecodingKey, EncodingKey, Header, Validation,
};
use rand::Rng;

use super::claims::{Claims, PiClaim, Role, VerifiedClaims};
use crate::domain::Identifier;

/// The shortest HS256 secret accepted (RFC 7518 §3.2: at least the hash size).
pub const MIN_SECRET_BYTES: usize = 32;
/// Clock skew tolerated on `exp` and `nbf`.
const LEEWAY_SECONDS: u64 = 30;
/// How often an unknown `kid` may trigger a re-read of the JWKS file.
const JWKS_RELOAD_INTERVAL: Duration = Duration::from_secs(10);

#[derive(Debug, Clone)]
pub struct JwtSettings {
    pub secret: Vec<u8>,
    pub issuer: String,
    pub audience: String,
    /// A PEM public key (RSA or EC P-256) of an outside identity provider.
    pub public_key_pem: Option<PathBuf>,
    /// A JWKS file of an outside identity provider.
    pub jwks_file: Option<PathBuf>,
}

pub struct Keys {
    encoding: EncodingKey,
    hmac: DecodingKey,
    issuer: String,
    audience: String,
    pem: Option<(Algorithm, DecodingKey)>,
    jwks: Option<Jwks>,
    /// The checks of each accepted algorithm, built once: a `Validation` holds hash sets.
    validations: Validations,
}

struct Validations {
    hs256: Validation,
    rs256: Validation,
    es256: Validation,
}

impl Validations {
    fn new(issuer: &str, audience: &str) -> Validations {
        let build = |alg| {
            let mut validation = Validation::new(alg);
            validation.set_issuer(&[issuer]);
            validation.set_audience(&[audience]);
            validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
            validation.leeway = LEEWAY_SECONDS;
            validation.validate_nbf = true;
            validation
        };
        Validations {
            hs256: build(Algorithm::HS256),
            rs256: build(Algorithm::RS256),
            es256: build(Algorithm::ES256),
        }
    }
}

/// Public keys by `kid`, each with the one algorithm it may verify.
type KeysById = HashMap<String, (Algorithm, DecodingKey)>;

struct Jwks {
    path: PathBuf,
    /// The keys and when the file was last read.
    state: RwLock<(KeysById, Instant)>,
}

impl Keys {
    /// Loads every configured key; a bad key refuses the start with the reason.
    pub fn load(settings: &JwtSettings) -> anyhow::Result<Keys> {
        if settings.secret.len() < MIN_SECRET_BYTES {
            bail!("the JWT secret must be at least {MIN_SECRET_BYTES} bytes");
        }
        let pem = match &settings.public_key_pem {
            Some(path) => Some(load_pem(path)?),
            None => None,
        };
        let jwks = match &settings.jwks_file {
            Some(path) => Some(Jwks {
                path: path.clone(),
                state: RwLock::new((load_jwks(path)?, Instant::now())),
            }),
            None => None,
        };
        Ok(Keys {
            encoding: EncodingKey::from_secret(&settings.secret)?,
            hmac: DecodingKey::from_secret(&settings.secret)?,
            issuer: settings.issuer.clone(),
            audience: settings.audience.clone(),
            pem,
            jwks,
            validations: Validations::new(&settings.issuer, &settings.audience),
        })
    }

    /// Signs a token for `role`, scoped to `dealers`, valid for `ttl`.
    pub fn issue(
        &self,
        role: Role,
        dealers: Vec<String>,
        sub: &str,
        ttl: Duration,
    ) -> anyhow::Result<(String, i64)> {
        self.sign(role, dealers, sub, ttl, None)
    }

    /// Signs a `subject` token: one dealer, one verified identifier.
    pub fn issue_subject(
        &self,
        dealer: &str,
        identifier: &Identifier,
        sub: &str,
        ttl: Duration,
    ) -> anyhow::Result<(String, i64)> {
        let pi = match identifier {
            Identifier::Email(email) => PiClaim {
                email: Some(email.as_str().to_owned()),
                mobile: None,
            },
            Identifier::Mobile(mobile) => PiClaim {
                email: None,
                mobile: Some(mobile.as_str().to_owned()),
            },
        };
        self.sign(Role::Subject, vec![dealer.to_owned()], sub, ttl, Some(pi))
    }

    fn sign(
        &self,
        role: Role,
        dealers: Vec<String>,
        sub: &str,
        ttl: Duration,
        pi: Option<PiClaim>,
    ) -> anyhow::Result<(String, i64)> {
        let now = chrono::Utc::now().timestamp();
        let exp = now + i64::try_from(ttl.as_secs()).context("ttl too long")?;
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: self.audience.clone(),
            sub: sub.to_owned(),
            exp,
            iat: now,
            jti: format!("{:032x}", rand::rng().random::<u128>()),
            role,
            dealers,
            pi,
        };
        let token = encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)?;
        Ok((token, exp))
    }

    /// Verifies signature, algorithm, `exp`, `iss` and `aud`; the error says why, for the log.
    pub fn verify(&self, token: &str) -> Result<VerifiedClaims, String> {
        let header = decode_header(token).map_err(|e| format!("malformed token: {e}"))?;
        let external;
        let (key, validation) = match header.alg {
            Algorithm::HS256 => (&self.hmac, &self.validations.hs256),
            Algorithm::RS256 | Algorithm::ES256 => {
                external = self.external_key(header.alg, header.kid.as_deref())?;
                let validation = if header.alg == Algorithm::RS256 {
                    &self.validations.rs256
                } else {
                    &self.validations.es256
                };
                (&external, validation)
            }
            other => return Err(format!("algorithm {other:?} is not accepted")),
        };
        decode::<VerifiedClaims>(token, key, validation)
            .map(|data| data.claims)
            .map_err(|e| format!("token refused: {e}"))
    }

    fn external_key(&self, alg: Algorithm, kid: Option<&str>) -> Result<DecodingKey, String> {
        if let (Some(jwks), Some(kid)) = (&self.jwks, kid) {
            return jwks.find(alg, kid);
        }
        match &self.pem {
            Some((pem_alg, key)) if *pem_alg == alg => Ok(key.clone()),
            _ => Err(format!(
                "no {alg:?} public key is configured for this token"
            )),
        }
    }
}

impl Jwks {
    fn find(&self, alg: Algorithm, kid: &str) -> Result<DecodingKey, String> {
        let lookup = |keys: &KeysById| match keys.get(kid) {
            Some((key_alg, key)) if *key_alg == alg => Some(Ok(key.clone())),
            Some(_) => Some(Err(format!("key `{kid}` is not an {alg:?} key"))),
            None => None,
        };
        {
            let state = self.state.read().map_err(|_| "key store poisoned")?;
            if let Some(found) = lookup(&state.0) {
                return found;
            }
            if state.1.elapsed() < JWKS_RELOAD_INTERVAL {
                return Err(format!("unknown key id `{kid}`"));
            }
        }
        // An unknown kid may be a freshly rotated key: read the file again (rate-limited).
        let mut state = self.state.write().map_err(|_| "key store poisoned")?;
        state.1 = Instant::now();
        match load_jwks(&self.path) {
            Ok(keys) => state.0 = keys,
            Err(error) => {
                tracing::warn!(%error, "cannot re-read the JWKS file; keeping the old keys")
            }
        }
        lookup(&state.0).unwrap_or_else(|| Err(format!("unknown key id `{kid}`")))
    }
}

fn load_pem(path: &PathBuf) -> anyhow::Result<(Algorithm, DecodingKey)> {
    let pem = std::fs::read(path)
        .with_context(|| format!("cannot read the JWT public key {}", path.display()))?;
    if let Ok(key) = DecodingKey::from_rsa_pem(&pem) {
        return Ok((Algorithm::RS256, key));
    }
    if let Ok(key) = DecodingKey::from_ec_pem(&pem) {
        return Ok((Algorithm::ES256, key));
    }
    bail!(
        "{} is not an RSA or EC P-256 public key in PEM form",
        path.display()
    )
}

fn load_jwks(path: &PathBuf) -> anyhow::Result<KeysById> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the JWKS file {}", path.display()))?;
    let set: JwkSet = serde_json::from_str(&text)
        .with_context(|| format!("{} is not a JWKS document", path.display()))?;
    let mut keys = HashMap::new();
    for jwk in &set.keys {
        let Some(kid) = jwk.common.key_id.clone() else {
            bail!("every key in {} needs a `kid`", path.display());
        };
        let alg = match &jwk.algorithm {
            AlgorithmParameters::RSA(_) => Algorithm::RS256,
            AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
                Algorithm::ES256
            }
            _ => bail!("key `{kid}` in {} is not RSA or EC P-256", path.display()),
        };
        let key = DecodingKey::from_jwk(jwk).with_context(|| format!("key `{kid}` is invalid"))?;
        keys.insert(kid, (alg, key));
    }
    if keys.is_empty() {
        bail!("{} holds no keys", path.display());
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{Email, Identifier};

    fn keys() -> Keys {
        Keys::load(&JwtSettings {
            secret: b"0123456789abcdef0123456789abcdef".to_vec(),
            issuer: "iss".into(),
            audience: "aud".into(),
            public_key_pem: None,
            jwks_file: None,
        })
        .unwrap()
    }

    #[test]
    fn subject_tokens_carry_their_identifier() {
        let keys = keys();
        let email = Identifier::Email(Email::parse("fred@sea.com").unwrap());
        let (token, _) = keys
            .issue_subject("abc-motors", &email, "pi:1", Duration::from_secs(60))
            .unwrap();
        let claims = keys.verify(&token).unwrap();
        assert_eq!(claims.role, Role::Subject);
        assert_eq!(claims.dealers, vec!["abc-motors".to_owned()]);
        assert_eq!(claims.pi.unwrap().email.as_deref(), Some("fred@sea.com"));
    }
}
