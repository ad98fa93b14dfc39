//! The one place tests wait on the clock: for the running service's own background work (its
//! worker's retries and replicas, its purges), which a test watches rather than drives. Delivery
//! a test needs done it drives with `TestApp::deliver_pending` instead.

use std::future::Future;
use std::time::Duration;

/// How often a watched condition is looked at again.
const POLL: Duration = Duration::from_millis(20);

/// Looks at `check` until it says done or `within` is over, and returns what it saw last.
pub async fn poll_until<T, F>(within: Duration, mut check: impl FnMut() -> F) -> T
where
    F: Future<Output = (bool, T)>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let (done, seen) = check().await;
        if done || tokio::time::Instant::now() >= deadline {
            return seen;
        }
        tokio::time::sleep(POLL).await;
    }
}

/// Looks at `check` until it returns `Some`; panics, naming `what`, when `within` is over.
pub async fn eventually<T, F>(within: Duration, what: &str, mut check: impl FnMut() -> F) -> T
where
    F: Future<Output = Option<T>>,
{
    let found = poll_until(within, || {
        let next = check();
        async move {
            let found = next.await;
            (found.is_some(), found)
        }
    })
    .await;
    found.unwrap_or_else(|| panic!("timed out: {what}"))
}
