//! Wall-clock time, injected so that tests can fix it.
//!
//! Durations inside an invocation use tokio's monotonic clock (paused in tests); wall-clock time is
//! needed only for what is compared with the outside world: EMF timestamps and the age of records.

use std::fmt;

use chrono::{DateTime, Utc};

/// A source of the current wall-clock time.
pub trait WallClock: Send + Sync + fmt::Debug {
    /// The current time.
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl WallClock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// A clock that always says the same time.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub DateTime<Utc>);

impl WallClock for FixedClock {
    fn now(&self) -> DateTime<Utc> {
        self.0
    }
}
