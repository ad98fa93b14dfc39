//! Database work from a handler: run on actix's blocking thread pool, never on an async
//! worker, with the number of calls in flight bounded by the pool's size.

use actix_web::web;

use crate::db::{DbConnection, Pool};
use crate::error::ApiError;

/// Blocking database calls in flight at once. Beyond the pool's size a call would only park a
/// blocking thread on the pool's condition variable; on two cores those extra threads cost more
/// in context switches than they gain (seen in a profile of the lookup benchmark).
/// Sized once per process by [`limit_in_flight`] (the pool size); 16 until then.
static IN_FLIGHT: std::sync::OnceLock<tokio::sync::Semaphore> = std::sync::OnceLock::new();

/// Sets how many blocking database calls may be in flight (the first call wins).
pub fn limit_in_flight(calls: u32) {
    let _ = IN_FLIGHT.set(tokio::sync::Semaphore::new(calls.max(1) as usize));
}

/// Runs blocking database work on actix's blocking thread pool, never on an async worker.
pub async fn run<T, F>(pool: &web::Data<Pool>, work: F) -> Result<T, ApiError>
where
    F: FnOnce(&mut DbConnection) -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    let pool = pool.clone();
    let permits = IN_FLIGHT.get_or_init(|| tokio::sync::Semaphore::new(16));
    let _permit = permits.acquire().await.map_err(ApiError::internal)?;
    web::block(move || {
        let mut conn = pool.get().map_err(|_| ApiError::Unavailable)?;
        work(&mut conn)
    })
    .await
    .map_err(|e| ApiError::internal(anyhow::anyhow!("blocking task failed: {e}")))?
}
