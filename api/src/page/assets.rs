//! What the page loads besides itself, all from this origin (the CSP allows nothing else): the
//! stylesheet, the dealer's colour, and the dealer's logo as fetched when it was set.

use actix_web::http::header;
use actix_web::HttpResponse;

use super::visit::Visit;
use crate::http::blocking;
use crate::service;

const STYLESHEET: &str = include_str!("../../assets/pi.css");

pub async fn stylesheet() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(STYLESHEET)
}

/// The dealer's primary colour as the page's `--brand`; its links use the same colour, which
/// passed the 4.5:1 check against white when it was set.
pub async fn theme(visit: Visit) -> HttpResponse {
    let css = match &visit.primary_colour {
        Some(colour) => format!(":root {{ --brand: {colour}; --brand-dark: {colour}; }}\n"),
        None => String::new(),
    };
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(css)
}

/// The dealer's logo, from the database: never a request to another host from the browser.
pub async fn logo(mut visit: Visit) -> HttpResponse {
    let dealer = visit.dealer.clone();
    match blocking::run(&visit.pool, move |conn| {
        service::dealers::logo(conn, &dealer)
    })
    .await
    {
        Ok(Some((content_type, bytes))) => HttpResponse::Ok()
            .content_type(content_type)
            // A new logo shows within five minutes; meanwhile each page view is not a download.
            .insert_header((header::CACHE_CONTROL, "public, max-age=300"))
            .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
            .insert_header((header::CONTENT_SECURITY_POLICY, "default-src 'none'"))
            .body(bytes),
        Ok(None) => visit.failure(&crate::error::ApiError::not_found("logo")),
        Err(e) => visit.failure(&e),
    }
}
