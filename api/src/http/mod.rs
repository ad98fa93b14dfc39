//! The HTTP surface: one file per resource, plus the shared extractors, errors, paging and the
//! OpenAPI document.

pub mod blacklists;
pub mod blocking;
pub mod client_address;
pub mod customers;
pub mod dealers;
pub mod extract;
pub mod fallback;
pub mod follow_ups;
pub mod history;
pub mod idempotency;
pub mod leads;
pub mod notifications;
pub mod openapi;
pub mod ops;
pub mod pagination;
pub mod pi;
pub mod problem;
pub mod webhooks;

use utoipa_actix_web::service_config::ServiceConfig;

/// Every documented route. Routes are added with `.service(...)` so that utoipa-actix-web
/// collects them into the OpenAPI document.
pub fn routes(cfg: &mut ServiceConfig) {
    cfg.service(ops::healthz)
        .service(ops::readyz)
        .service(ops::metrics)
        .service(dealers::create_dealer)
        .service(dealers::get_dealer)
        .service(dealers::update_dealer)
        .service(customers::create_customer)
        .service(customers::list_customers)
        .service(customers::get_customer)
        .service(customers::amend_customer)
        .service(customers::withdraw_consent)
        .service(customers::customer_reads)
        .service(history::customer_history)
        .service(history::dealer_history)
        .service(leads::create_lead)
        .service(leads::get_lead)
        .service(leads::update_lead)
        .service(notifications::list_notifications)
        .service(webhooks::create_webhook)
        .service(webhooks::list_webhooks)
        .service(webhooks::get_webhook)
        .service(webhooks::delete_webhook)
        .service(webhooks::rotate_webhook_secret)
        .service(webhooks::list_webhook_deliveries)
        .service(follow_ups::list_follow_ups)
        .service(follow_ups::get_follow_up)
        .service(follow_ups::close_follow_up)
        .service(pi::start_verification)
        .service(pi::confirm_verification)
        .service(pi::pi_lookup)
        .service(pi::pi_amend)
        .service(pi::pi_start_identifier_change)
        .service(pi::pi_confirm_identifier_change)
        .service(pi::pi_withdraw_consent)
        .service(blacklists::list_blacklist_emails)
        .service(blacklists::list_blacklist_mobiles)
        .service(blacklists::check_blacklist)
        .service(blacklists::list_blacklist_pulls);
}
