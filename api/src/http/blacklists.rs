//! The consent blacklists for operators (call centres, DMS vendors, agencies) and dealers: keyset
//! pages, changes since a day, the whole list as streamed CSV, a batch check, and the pull log.

use actix_web::http::header;
use actix_web::web::Bytes;
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use validator::Validate;

use super::blocking;
use super::extract::{ValidJson, ValidQuery};
use super::pagination::{self, named_page, DayScope, Page};
use super::problem::{ApiError, FieldError, Problem};
use crate::auth::{Capability, KeyedHasher, Principal};
use crate::db::blacklist_pulls::PullRow;
use crate::db::blacklists::{Entry, List};
use crate::db::Pool;
use crate::domain::events::Actor;
use crate::domain::DealerId;
use crate::service::blacklists::{self as service, Pull};
use crate::service::dealers;

named_page!(BlacklistPage, BlacklistItem);
named_page!(BlacklistPullPage, BlacklistPull);

/// Whether an entry joined or left the list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BlacklistChange {
    Added,
    /// Left through fresh consent.
    Removed,
}

/// An entry of a blacklist: `{value, added_on}`; or, with `?since=`, a change:
/// `{value, change, on}`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BlacklistItem {
    /// The normalised email, or the E.164 mobile.
    pub value: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub added_on: Option<NaiveDate>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change: Option<BlacklistChange>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on: Option<NaiveDate>,
}

fn item(entry: Entry, since: Option<NaiveDate>) -> BlacklistItem {
    match since {
        None => BlacklistItem {
            value: entry.value,
            added_on: Some(entry.added_on),
            change: None,
            on: None,
        },
        Some(_) => BlacklistItem {
            value: entry.value,
            added_on: None,
            change: Some(if entry.removed_on.is_some() {
                BlacklistChange::Removed
            } else {
                BlacklistChange::Added
            }),
            on: Some(entry.changed_on),
        },
    }
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct BlacklistQuery {
    /// Only the changes (additions and removals) on or after this day, `YYYY-MM-DD`.
    #[param(value_type = Option<String>, format = Date)]
    pub since: Option<NaiveDate>,
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// Values to check: up to 10,000 emails and mobiles together, in any accepted form.
#[derive(Debug, Deserialize, Validate, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BlacklistCheck {
    #[serde(default)]
    #[schema(example = json!(["Fred@Sea.com"]))]
    pub emails: Vec<String>,
    #[serde(default)]
    #[schema(example = json!(["083 656 7788"]))]
    pub mobiles: Vec<String>,
}

/// The normalised values that are on the blacklists, and the values that were not valid at all.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BlacklistCheckResult {
    pub emails: Vec<String>,
    pub mobiles: Vec<String>,
    /// Each value that is not an email or mobile: `emails[3]`, `mobiles[0]`, ….
    pub invalid: Vec<FieldError>,
}

/// One export or check of a blacklist.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct BlacklistPull {
    pub id: i64,
    /// Who pulled: the token's `sub`.
    pub sub: String,
    /// The token's role.
    pub role: String,
    /// `emails`, `mobiles` or `check`.
    pub list: String,
    /// `json` or `csv`.
    pub format: String,
    pub since: Option<NaiveDate>,
    /// Entries returned (or values checked).
    pub items: i64,
    pub at: DateTime<Utc>,
}

impl From<PullRow> for BlacklistPull {
    fn from(row: PullRow) -> Self {
        BlacklistPull {
            id: row.id,
            sub: row.sub,
            role: row.role,
            list: row.list,
            format: row.format,
            since: row.since,
            items: row.items,
            at: row.at.and_utc(),
        }
    }
}

fn wants_csv(req: &HttpRequest) -> bool {
    req.headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|accept| accept.to_ascii_lowercase().contains("text/csv"))
}

async fn read_list(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<Pool>,
    hasher: web::Data<KeyedHasher>,
    dealer: String,
    list: List,
    query: BlacklistQuery,
) -> Result<HttpResponse, ApiError> {
    let dealer = principal.authorize(Capability::Blacklists, &dealer)?;
    let actor = principal.actor();
    if wants_csv(&req) {
        return stream_csv(pool, dealer, actor, list, query.since).await;
    }
    let since = query.since;
    // The keys of these lists are emails and mobiles: the cursor is sealed, and bound to this
    // list, dealer and filter.
    let cursor_key = hasher.cursor_key();
    let scope_dealer = dealer.clone();
    let scope = DayScope {
        list: list.as_str(),
        dealer: scope_dealer.as_str(),
        since,
    };
    let (after, limit) =
        pagination::day_bounds(cursor_key, &scope, query.after.as_deref(), query.limit)?;
    let (entries, more) = blocking::run(&pool, move |conn| {
        service::page(conn, &dealer, &actor, list, since, after.as_ref(), limit)
    })
    .await?;
    let next = more
        .then(|| {
            entries.last().map(|e| {
                let day = service::day_of(e, since);
                pagination::encode_day_cursor(cursor_key, &scope, day, &e.value)
            })
        })
        .flatten();
    let items = entries.into_iter().map(|e| item(e, since)).collect();
    Ok(HttpResponse::Ok().json(BlacklistPage { items, next }))
}

/// Streams the whole list (or its changes) as CSV, reading it on a blocking thread (one COPY on
/// PostgreSQL, keyset batches on SQLite) and handing each chunk to the response as it comes, so
/// memory stays flat however long the list. The pull is logged when the stream ends, with the
/// number of entries sent.
async fn stream_csv(
    pool: web::Data<Pool>,
    dealer: DealerId,
    actor: Actor,
    list: List,
    since: Option<NaiveDate>,
) -> Result<HttpResponse, ApiError> {
    {
        let dealer = dealer.clone();
        blocking::run(&pool, move |conn| dealers::require(conn, &dealer)).await?;
    }
    let today = Utc::now().date_naive();
    let filename = match since {
        None => format!("{dealer}-blacklist-{}-{today}.csv", list.as_str()),
        Some(day) => format!(
            "{dealer}-blacklist-{}-changes-since-{day}-{today}.csv",
            list.as_str()
        ),
    };
    let (sender, receiver) = tokio::sync::mpsc::channel::<Result<Bytes, std::io::Error>>(2);
    let pool = pool.get_ref().clone();
    tokio::task::spawn_blocking(move || {
        let sent = write_csv(&pool, &dealer, list, since, &sender);
        let items = match sent {
            Ok(items) => items,
            Err((items, error)) => {
                tracing::warn!(%error, "blacklist CSV export stopped early");
                // A client still reading must not take what it has for the whole list: the
                // error ends the response without its last chunk, so the download fails.
                let _ = sender.blocking_send(Err(std::io::Error::other(error)));
                items
            }
        };
        let logged = pool.get().map_err(|e| e.to_string()).and_then(|mut conn| {
            let pull = Pull {
                dealer: &dealer,
                actor: &actor,
                list: list.as_str(),
                format: "csv",
                since,
                items,
            };
            service::record_pull(&mut conn, pull).map_err(|e| e.to_string())
        });
        if let Err(error) = logged {
            tracing::error!(%error, "cannot record a blacklist pull");
        }
    });
    let body = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.recv().await.map(|chunk| (chunk, receiver))
    });
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{filename}\""),
        ))
        .streaming(body))
}

/// Writes the CSV to `sender`, a chunk at a time as the service hands it over; returns how many
/// entries went out (and why it stopped early, if it did: the client left, or the database
/// failed).
fn write_csv(
    pool: &Pool,
    dealer: &DealerId,
    list: List,
    since: Option<NaiveDate>,
    sender: &tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
) -> Result<usize, (usize, String)> {
    let mut conn = pool.get().map_err(|e| (0, e.to_string()))?;
    service::export_csv(&mut conn, dealer, list, since, |chunk| {
        sender.blocking_send(Ok(Bytes::from(chunk))).is_ok()
    })
}

/// The email blacklist: pages of `{value, added_on}`, or with `since` the changes; `Accept:
/// text/csv` streams all of it.
#[utoipa::path(
    operation_id = "list_blacklist_emails",
    tag = "blacklists",
    params(("dealer" = String, Path, description = "The dealer's id"), BlacklistQuery),
    responses((status = 200, description = "A page of entries or changes; or the whole list as CSV",
               content((BlacklistPage = "application/json"), (String = "text/csv")))),
)]
#[get("/v1/dealers/{dealer}/blacklist/emails")]
pub async fn list_blacklist_emails(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<Pool>,
    hasher: web::Data<KeyedHasher>,
    path: web::Path<String>,
    query: ValidQuery<BlacklistQuery>,
) -> Result<HttpResponse, ApiError> {
    read_list(
        req,
        principal,
        pool,
        hasher,
        path.into_inner(),
        List::Emails,
        query.0,
    )
    .await
}

/// The mobile blacklist: pages of `{value, added_on}`, or with `since` the changes; `Accept:
/// text/csv` streams all of it.
#[utoipa::path(
    operation_id = "list_blacklist_mobiles",
    tag = "blacklists",
    params(("dealer" = String, Path, description = "The dealer's id"), BlacklistQuery),
    responses((status = 200, description = "A page of entries or changes; or the whole list as CSV",
               content((BlacklistPage = "application/json"), (String = "text/csv")))),
)]
#[get("/v1/dealers/{dealer}/blacklist/mobiles")]
pub async fn list_blacklist_mobiles(
    req: HttpRequest,
    principal: Principal,
    pool: web::Data<Pool>,
    hasher: web::Data<KeyedHasher>,
    path: web::Path<String>,
    query: ValidQuery<BlacklistQuery>,
) -> Result<HttpResponse, ApiError> {
    read_list(
        req,
        principal,
        pool,
        hasher,
        path.into_inner(),
        List::Mobiles,
        query.0,
    )
    .await
}

/// Which of these emails and mobiles are blacklisted (up to 10,000 values).
#[utoipa::path(
    operation_id = "check_blacklist",
    tag = "blacklists",
    params(("dealer" = String, Path, description = "The dealer's id")),
    request_body = BlacklistCheck,
    responses(
        (status = 200, description = "The blacklisted values, normalised, and the invalid ones", body = BlacklistCheckResult),
        (status = 413, description = "More than 10,000 values", body = Problem, content_type = "application/problem+json"),
    ),
)]
#[post("/v1/dealers/{dealer}/blacklist/check")]
pub async fn check_blacklist(
    principal: Principal,
    pool: web::Data<Pool>,
    path: web::Path<String>,
    body: ValidJson<BlacklistCheck, { 2 * 1024 * 1024 }>,
) -> Result<web::Json<BlacklistCheckResult>, ApiError> {
    let dealer = principal.authorize(Capability::Blacklists, &path)?;
    let actor = principal.actor();
    let BlacklistCheck { emails, mobiles } = body.0;
    let checked = blocking::run(&pool, move |conn| {
        service::check(conn, &dealer, &actor, &emails, &mobiles)
    })
    .await?;
    Ok(web::Json(BlacklistCheckResult {
        emails: checked.emails,
        mobiles: checked.mobiles,
        invalid: checked.invalid,
    }))
}

#[derive(Debug, Deserialize, Validate, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct PullQuery {
    /// The `next` cursor of the previous page.
    pub after: Option<String>,
    /// Page size, 1 to 1000 (default 100).
    #[param(minimum = 1, maximum = 1000)]
    pub limit: Option<i64>,
}

/// Every export and check of the dealer's blacklists: who pulled what, and when.
#[utoipa::path(
    operation_id = "list_blacklist_pulls",
    tag = "blacklists",
    params(("dealer" = String, Path, description = "The dealer's id"), PullQuery),
    responses((status = 200, description = "A page of pulls, oldest first", body = BlacklistPullPage)),
)]
#[get("/v1/dealers/{dealer}/blacklist/pulls")]
pub async fn list_blacklist_pulls(
    principal: Principal,
    pool: web::Data<Pool>,
    path: web::Path<String>,
    query: ValidQuery<PullQuery>,
) -> Result<web::Json<BlacklistPullPage>, ApiError> {
    let dealer = principal.authorize(Capability::BlacklistPulls, &path)?;
    let (after, limit) = pagination::bounds(query.0.after.as_deref(), query.0.limit)?;
    let page = blocking::run(&pool, move |conn| {
        service::pulls(conn, &dealer, after, limit)
    })
    .await?;
    Ok(web::Json(
        Page::from_rows(page, |p| p.id, BlacklistPull::from).into(),
    ))
}
