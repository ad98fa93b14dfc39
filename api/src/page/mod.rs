//! The hosted /pi page: the same /pi flow as the JSON API, as server-rendered HTML forms that
//! work without JavaScript (POST, then a redirect to a GET). Every step calls the same service
//! functions as the API: one behaviour, two doors.
//!
//! - `visit.rs`: what every request of the page starts with (the dealer, its branding, the
//!   language, the CSRF token) and how it answers (headers, cookies, error pages).
//! - `sign_in.rs`: identify by email or mobile, then the code.
//! - `records.rs`: what is held; `details.rs`: corrections; `withdraw.rs`: withdrawal, sign-out.
//! - `assets.rs`: the stylesheet, the dealer's colour and logo, all from this origin.
//!
//! A step that cannot go on returns the page to answer instead (`Err(HttpResponse)`): large
//! for a `Result`, but built at most once per request.
#![allow(clippy::result_large_err)]

pub mod assets;
pub mod cookies;
pub mod details;
pub mod i18n;
pub mod records;
pub mod sign_in;
pub mod views;
pub mod visit;
pub mod withdraw;

use actix_web::web;

pub use visit::PageSettings;

/// The page's routes, outside the OpenAPI document (they answer HTML, not JSON).
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/assets/pi.css", web::get().to(assets::stylesheet))
        .service(
            web::scope("/pi/{dealer}")
                .route("", web::get().to(sign_in::identify))
                .route("/code", web::post().to(sign_in::send_code))
                .route("/code", web::get().to(sign_in::code))
                .route("/code/resend", web::post().to(sign_in::resend))
                .route("/code/confirm", web::post().to(sign_in::confirm))
                .route("/records", web::get().to(records::records))
                .route("/records/{id}/edit", web::get().to(details::edit))
                .route("/records/{id}", web::post().to(details::save))
                .route(
                    "/records/{id}/identifier",
                    web::post().to(details::send_code),
                )
                .route("/records/{id}/identifier", web::get().to(details::code))
                .route(
                    "/records/{id}/identifier/confirm",
                    web::post().to(details::confirm),
                )
                .route("/withdraw", web::get().to(withdraw::confirm_page))
                .route("/withdraw", web::post().to(withdraw::withdraw))
                .route("/sign-out", web::post().to(withdraw::sign_out))
                .route("/done", web::get().to(withdraw::done))
                .route("/theme.css", web::get().to(assets::theme))
                .route("/logo", web::get().to(assets::logo))
                .default_service(web::to(visit::not_found)),
        );
}
