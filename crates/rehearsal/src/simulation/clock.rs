//! The simulated clock: tokio's paused clock, read as wall-clock time from the scenario's start.
//!
//! The handler's deadlines, retries and the processor's sleeps run on tokio's clock, which the
//! rehearsal pauses and lets jump ahead whenever every task waits; the EMF timestamps and the log
//! lines read this clock, so they carry simulated time too.

use chrono::{DateTime, TimeZone, Utc};
use ddb_stream_processor::clock::WallClock;

/// Wall-clock time on the simulated timeline.
#[derive(Debug, Clone, Copy)]
pub struct SimulatedClock {
    start_ms: i64,
    origin: tokio::time::Instant,
}

impl SimulatedClock {
    /// A clock that reads `start_ms` now. Must be made inside the rehearsal's runtime.
    pub fn starting_at(start_ms: i64) -> Self {
        Self {
            start_ms,
            origin: tokio::time::Instant::now(),
        }
    }

    /// Milliseconds since the epoch, now.
    pub fn now_ms(&self) -> i64 {
        self.start_ms + self.origin.elapsed().as_millis() as i64
    }

    /// The tokio instant at which this clock reads `ms`.
    pub fn instant_at(&self, ms: i64) -> tokio::time::Instant {
        self.origin + std::time::Duration::from_millis((ms - self.start_ms).max(0) as u64)
    }

    /// Minutes since the start, with fractions.
    pub fn minutes_since_start(&self) -> f64 {
        (self.now_ms() - self.start_ms) as f64 / 60_000.0
    }
}

impl WallClock for SimulatedClock {
    fn now(&self) -> DateTime<Utc> {
        Utc.timestamp_millis_opt(self.now_ms())
            .single()
            .unwrap_or_default()
    }
}
