//! The service's idea of now for deadlines that run in days (follow-ups fall due by it). It is
//! the system clock; tests move it forward instead of waiting a month.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

use chrono::{DurationRound, NaiveDateTime, TimeDelta};

#[derive(Debug, Clone, Default)]
pub struct Clock {
    /// Seconds added to the system clock: 0 except in tests.
    ahead: Arc<AtomicI64>,
}

impl Clock {
    /// UTC now, to the microsecond (what both databases store).
    pub fn now(&self) -> NaiveDateTime {
        let now =
            chrono::Utc::now().naive_utc() + TimeDelta::seconds(self.ahead.load(Ordering::Relaxed));
        now.duration_trunc(TimeDelta::microseconds(1))
            .unwrap_or(now)
    }

    /// Moves this clock, and every copy of it, forward.
    pub fn advance(&self, by: TimeDelta) {
        self.ahead.fetch_add(by.num_seconds(), Ordering::Relaxed);
    }
}
