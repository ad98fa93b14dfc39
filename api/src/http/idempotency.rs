//! `Idempotency-Key` on POST (Stripe's semantics): the first response to a key is stored for 24
//! hours and replayed to a retry of the same request (`Idempotent-Replayed: true`); the same key
//! with another request is 422; a retry while the first is still running is 409. Responses that
//! are worth retrying (5xx, 429) or that only say who may not (401, 403, 404) are not stored.
//!
//! A key belongs to its caller: a verified token's issuer, role, subject and dealers (never the
//! subject alone: the CLI's default `sub` is the same for every dealer), and only for a dealer
//! the token covers; without a token, only the public "send me a code" call has keys, per client
//! address. Nothing is read or stored before that: another caller's key is just a new key, and
//! an anonymous POST elsewhere goes straight to its handler (401). Each caller may hold a
//! bounded number of keys a day.
//!
//! The fingerprint is keyed (HMAC), and each stored response records which customers and
//! verifications it is about, so a withdrawal deletes exactly those. Two kinds of POST are
//! never stored: code confirmations (their answer is a live credential or a person's record,
//! and a retry of a used code gets 410) and blacklist checks (a read; their answer lists
//! identifiers).

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::web::Bytes;
use actix_web::{web, Error, HttpMessage, HttpRequest, HttpResponse, ResponseError};
use futures_util::StreamExt;

use super::blocking;
use super::client_address::client_address;
use super::problem::ApiError;
use crate::auth::{KeyedHasher, Keys, Role};
use crate::db::idempotency::{self as records, reference, KeyRow, DONE, IN_PROGRESS};
use crate::db::{self, DbConnection, Pool};

pub const IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("idempotency-key");
pub const REPLAYED: HeaderName = HeaderName::from_static("idempotent-replayed");
/// The largest body the middleware buffers: the JSON limit of every replayable route.
const BODY_LIMIT: usize = super::extract::JSON_LIMIT;
/// Keys one caller may hold at once (24 hours): a token's, and an anonymous address's.
pub const KEYS_PER_CALLER: i64 = 100_000;
pub const KEYS_PER_ADDRESS: i64 = 500;
/// How long a key is kept (the maintenance purge deletes older ones).
const KEPT: chrono::TimeDelta = chrono::TimeDelta::hours(24);
/// A claim older than this whose request never finished (a crashed replica) may be retried.
const ABANDONED_AFTER: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

pub async fn idempotency(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let Some(key) = key_header(&req) else {
        return pass_through(req, next).await;
    };
    let key = match valid_key(&key) {
        Ok(key) => key,
        Err(error) => return Ok(refuse(req, error)),
    };
    let (Some(pool), Some(hasher)) = (
        req.app_data::<web::Data<Pool>>().cloned(),
        req.app_data::<web::Data<KeyedHasher>>().cloned(),
    ) else {
        return pass_through(req, next).await;
    };
    // Nothing is read or stored for a request without a caller: its handler answers as ever.
    let Some(caller) = caller(&req, &hasher) else {
        return pass_through(req, next).await;
    };
    let body = match read_body(&mut req).await {
        Ok(body) => body,
        Err(error) => return Ok(refuse(req, error)),
    };
    let row = claim_row(&req, &hasher, caller.scope, key, &body);
    match try_processing(&pool, &row, caller.cap).await {
        Ok(NextAction::StartProcessing) => {}
        Ok(NextAction::ReturnSavedResponse(saved)) => {
            return Ok(req.into_response(replay(*saved)));
        }
        Ok(NextAction::KeyReused) => {
            let error = ApiError::field(
                "Idempotency-Key",
                "was used with another request; use a new key",
            );
            return Ok(refuse(req, error));
        }
        Ok(NextAction::StillRunning) => {
            let error =
                ApiError::Conflict("a request with this Idempotency-Key is still running".into());
            return Ok(refuse(req, error));
        }
        Err(error) => return Ok(refuse(req, error)),
    }
    let response = run_request(req, next, body).await?;
    save_response(&pool, &row, caller.verification, response).await
}

/// What to do with a keyed request, once its key is claimed or found taken.
enum NextAction {
    /// The key is new (or taken over from a dead replica): run the request, store its answer.
    StartProcessing,
    /// The same request already finished: replay its stored answer.
    ReturnSavedResponse(Box<KeyRow>),
    /// The key was used with another request (422).
    KeyReused,
    /// The same request is still running (409).
    StillRunning,
}

/// The `Idempotency-Key` of a POST whose answer may be replayed; None for any other request.
fn key_header(req: &ServiceRequest) -> Option<HeaderValue> {
    let value = req.headers().get(&IDEMPOTENCY_KEY)?;
    (req.method() == Method::POST && replayable(req.path())).then(|| value.clone())
}

/// The key as text, if it is 1 to 255 visible ASCII characters.
fn valid_key(value: &HeaderValue) -> Result<String, ApiError> {
    value
        .to_str()
        .ok()
        .filter(|k| (1..=255).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .ok_or_else(|| {
            ApiError::field(
                "Idempotency-Key",
                "must be 1 to 255 visible ASCII characters",
            )
        })
}

/// The request without idempotency: straight to its handler.
async fn pass_through(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// The request answered with an error, without reaching its handler.
fn refuse(req: ServiceRequest, error: ApiError) -> ServiceResponse<BoxBody> {
    req.into_response(error.error_response())
}

/// The key's record for this request, in progress: the fingerprint is keyed (HMAC) over the
/// method, the URI and the body.
fn claim_row(
    req: &ServiceRequest,
    hasher: &KeyedHasher,
    scope: String,
    key: String,
    body: &Bytes,
) -> KeyRow {
    let fingerprint = hasher.request(&[
        req.method().as_str().as_bytes(),
        req.uri().to_string().as_bytes(),
        body,
    ]);
    KeyRow {
        scope,
        key,
        fingerprint,
        dealer_id: dealer_of(req.path()),
        status: IN_PROGRESS.into(),
        response_status: None,
        response_type: None,
        response_location: None,
        response_etag: None,
        response_body: None,
        created_at: db::now(),
        refs: None,
    }
}

/// Claims the key for this request and decides what happens next; an error (the caller's cap,
/// or the database) is the answer.
async fn try_processing(
    pool: &web::Data<Pool>,
    row: &KeyRow,
    cap: i64,
) -> Result<NextAction, ApiError> {
    let existing = {
        let row = row.clone();
        blocking::run(pool, move |conn| claim(conn, &row, cap)).await?
    };
    Ok(match existing {
        None => NextAction::StartProcessing,
        Some(old) if old.fingerprint != row.fingerprint => NextAction::KeyReused,
        Some(old) if old.status != DONE => NextAction::StillRunning,
        Some(old) => NextAction::ReturnSavedResponse(Box::new(old)),
    })
}

/// Claims `row`'s key: None when it is now this request's, else the record that holds it.
fn claim(conn: &mut DbConnection, row: &KeyRow, cap: i64) -> Result<Option<KeyRow>, ApiError> {
    let existing = records::claim(conn, row)?;
    match existing {
        // A new key past the caller's cap: given back, and refused.
        None if records::count_for(conn, &row.scope, row.created_at - KEPT)? > cap => {
            records::release(conn, &row.scope, &row.key)?;
            Err(ApiError::TooManyRequests {
                detail: format!("more than {cap} Idempotency-Keys in 24 hours; retry later"),
                retry_after: 3600,
            })
        }
        // Abandoned by a replica that died mid-request: take it over.
        Some(old)
            if old.status == IN_PROGRESS && old.created_at + ABANDONED_AFTER < row.created_at =>
        {
            records::release(conn, &old.scope, &old.key)?;
            Ok(records::claim(conn, row)?)
        }
        other => Ok(other),
    }
}

/// Runs the request through its handler, with the body that was read for the fingerprint.
async fn run_request(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    body: Bytes,
) -> Result<ServiceResponse<BoxBody>, Error> {
    req.set_payload(Payload::from(
        Box::pin(futures_util::stream::once(async move { Ok(body) }))
            as std::pin::Pin<Box<dyn futures_util::Stream<Item = _>>>,
    ));
    Ok(next.call(req).await?.map_into_boxed_body())
}

/// Stores the handler's answer under the key, or gives the key back when the answer is worth
/// retrying; either way the answer goes to the caller as it was.
async fn save_response(
    pool: &web::Data<Pool>,
    row: &KeyRow,
    verification: Option<String>,
    response: ServiceResponse<BoxBody>,
) -> Result<ServiceResponse<BoxBody>, Error> {
    let status = response.status();
    let (request, response) = response.into_parts();
    let refs = references(&request, verification);
    let header = |name: header::HeaderName| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (content_type, location, etag) = (
        header(header::CONTENT_TYPE),
        header(header::LOCATION),
        header(header::ETAG),
    );
    // The body is read whole to be stored, so the answer is rebuilt around the bytes.
    let mut rebuilt = HttpResponse::build(status);
    for (name, value) in response.headers() {
        rebuilt.append_header((name.clone(), value.clone()));
    }
    let bytes = actix_web::body::to_bytes(response.into_body())
        .await
        .map_err(|_| ApiError::internal(anyhow::anyhow!("cannot read a response body")))?;
    let stored = {
        let (scope, key, body) = (row.scope.clone(), row.key.clone(), bytes.to_vec());
        blocking::run(pool, move |conn| {
            if retry_worthy(status) {
                records::release(conn, &scope, &key)?;
            } else {
                let code = i32::from(status.as_u16());
                records::finish(
                    conn,
                    &scope,
                    &key,
                    code,
                    content_type,
                    location,
                    etag,
                    body,
                    refs,
                )?;
            }
            Ok(())
        })
        .await
    };
    if let Err(error) = stored {
        // The response stands; without a stored copy the key will be reported as still running
        // until it is abandoned (60 s), then run again.
        tracing::error!(%error, "cannot store an idempotent response");
    }
    Ok(ServiceResponse::new(request, rebuilt.body(bytes)))
}

/// An answer a retry should run again for (5xx, 429), or that only says who may not (401, 403,
/// 404): not stored.
fn retry_worthy(status: StatusCode) -> bool {
    status.is_server_error()
        || [
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::UNAUTHORIZED,
            StatusCode::FORBIDDEN,
            StatusCode::NOT_FOUND,
        ]
        .contains(&status)
}

/// What the stored answer is about, as space-delimited tokens (so a withdrawal finds it): what
/// the handler noted, and a data subject's own verification.
fn references(request: &HttpRequest, verification: Option<String>) -> Option<String> {
    let mut refs: Vec<String> = request
        .extensions()
        .get::<References>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    refs.extend(verification.map(|id| reference("verification", id)));
    (!refs.is_empty()).then(|| format!(" {} ", refs.join(" ")))
}

fn replay(old: KeyRow) -> HttpResponse {
    let status = old
        .response_status
        .and_then(|s| StatusCode::from_u16(s as u16).ok())
        .unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    response.insert_header((REPLAYED, HeaderValue::from_static("true")));
    for (name, value) in [
        (header::CONTENT_TYPE, old.response_type),
        (header::LOCATION, old.response_location),
        (header::ETAG, old.response_etag),
    ] {
        if let Some(value) = value.and_then(|v| HeaderValue::from_str(&v).ok()) {
            response.insert_header((name, value));
        }
    }
    response.body(old.response_body.unwrap_or_default())
}

/// Whose keys a request uses, and how many they may hold.
struct Caller {
    scope: String,
    /// For a data subject signed in through /pi: the verification their token came from.
    verification: Option<String>,
    cap: i64,
}

/// The caller of a keyed request, or None when the request gets no idempotency: no valid token
/// (except the public "send me a code" call), or a dealer the token does not cover (the handler
/// answers 404 as ever).
fn caller(req: &ServiceRequest, hasher: &KeyedHasher) -> Option<Caller> {
    let claims = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .zip(req.app_data::<web::Data<Keys>>())
        .and_then(|(token, keys)| keys.verify(token.trim()).ok());
    let dealer = dealer_of(req.path());
    let Some(claims) = claims else {
        let public = dealer.is_some() && req.path().ends_with("/pi/verifications");
        return public.then(|| Caller {
            // The address as a keyed hash, as the send limits keep it.
            scope: format!("anon:{}", hasher.client(&client_address(req.request()))),
            verification: None,
            cap: KEYS_PER_ADDRESS,
        });
    };
    let covered = claims.role == Role::Admin
        || dealer
            .as_ref()
            .is_some_and(|d| claims.dealers.iter().any(|c| c == d));
    if !covered {
        return None;
    }
    let mut dealers = claims.dealers.clone();
    dealers.sort();
    Some(Caller {
        scope: format!(
            "{}|{}|{}|{}",
            claims.iss,
            claims.role.as_str(),
            claims.sub,
            dealers.join(",")
        ),
        verification: claims.sub.strip_prefix("pi:").map(str::to_owned),
        cap: KEYS_PER_CALLER,
    })
}

/// Whether a POST's response may be stored for replay (see the module's comment).
fn replayable(path: &str) -> bool {
    !(path.ends_with("/confirm") || path.ends_with("/blacklist/check"))
}

/// The customers and verifications a request was about, noted by its handler.
#[derive(Debug, Clone, Default)]
struct References(Vec<String>);

/// Notes what a request is about (see [`reference`]), so that its stored response can be
/// deleted when that person withdraws.
pub fn refer(req: &HttpRequest, refs: impl IntoIterator<Item = String>) {
    let mut extensions = req.extensions_mut();
    let noted = extensions.get_mut::<References>();
    match noted {
        Some(noted) => noted.0.extend(refs),
        None => {
            extensions.insert(References(refs.into_iter().collect()));
        }
    }
}

fn dealer_of(path: &str) -> Option<String> {
    let mut parts = path.trim_start_matches('/').split('/');
    match (parts.next(), parts.next(), parts.next()) {
        (Some("v1"), Some("dealers"), Some(dealer)) if !dealer.is_empty() => {
            Some(dealer.to_owned())
        }
        _ => None,
    }
}

async fn read_body(req: &mut ServiceRequest) -> Result<Bytes, ApiError> {
    let mut payload = req.take_payload();
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk =
            chunk.map_err(|e| ApiError::BadRequest(format!("cannot read the body: {e}")))?;
        if body.len() + chunk.len() > BODY_LIMIT {
            return Err(ApiError::PayloadTooLarge {
                detail: format!("the request body is over the limit of {BODY_LIMIT} bytes"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}
