//! The invocation's deadline, as the engine measures it.
//!
//! Lambda gives the deadline as wall-clock epoch milliseconds; the engine works on the monotonic
//! clock of tokio ([`tokio::time::Instant`]), converted once at the edge. Tests run the engine under
//! tokio's paused clock, so deadline behaviour is tested without sleeping and without flakiness.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;

use super::config::DeadlineMargin;

/// When the invocation ends, and how much of it is kept back for reporting.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Deadline {
    at: Instant,
    margin: Duration,
}

impl Deadline {
    /// A deadline `budget` from now, with its margin resolved against that budget.
    pub fn after(budget: Duration, margin: DeadlineMargin) -> Self {
        Self {
            at: Instant::now() + budget,
            margin: margin.resolve(budget),
        }
    }

    /// The deadline Lambda sends (`Lambda-Runtime-Deadline-Ms`, milliseconds since the Unix epoch).
    /// A deadline already in the past leaves no time at all.
    pub fn from_epoch_millis(deadline_ms: u64, margin: DeadlineMargin) -> Self {
        let now_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since_epoch| since_epoch.as_millis());
        let budget_ms = u128::from(deadline_ms).saturating_sub(now_ms);
        Self::after(
            Duration::from_millis(u64::try_from(budget_ms).unwrap_or(u64::MAX)),
            margin,
        )
    }

    /// Keeps `reserve` more time back, on top of the margin (the trace flush's budget, for instance).
    pub fn with_reserve(mut self, reserve: Duration) -> Self {
        self.margin += reserve;
        self
    }

    /// Time until the deadline itself.
    pub fn remaining(&self) -> Duration {
        self.at.saturating_duration_since(Instant::now())
    }

    /// Time a record may still use: what remains before the margin starts. Zero means stop.
    pub fn working_time_left(&self) -> Duration {
        self.remaining().saturating_sub(self.margin)
    }

    /// The margin kept back for posting the response and flushing telemetry.
    pub fn margin(&self) -> Duration {
        self.margin
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn working_time_ends_where_the_margin_begins() {
        let deadline = Deadline::after(
            Duration::from_secs(10),
            DeadlineMargin::Fixed(Duration::from_secs(1)),
        );
        assert_eq!(deadline.working_time_left(), Duration::from_secs(9));
        tokio::time::advance(Duration::from_millis(8_500)).await;
        assert_eq!(deadline.working_time_left(), Duration::from_millis(500));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert_eq!(deadline.working_time_left(), Duration::ZERO);
        assert_eq!(deadline.remaining(), Duration::from_millis(500));
    }

    #[tokio::test(start_paused = true)]
    async fn a_reserve_widens_the_margin() {
        let deadline = Deadline::after(
            Duration::from_secs(10),
            DeadlineMargin::Fixed(Duration::from_secs(1)),
        )
        .with_reserve(Duration::from_millis(500));
        assert_eq!(deadline.margin(), Duration::from_millis(1_500));
        assert_eq!(deadline.working_time_left(), Duration::from_millis(8_500));
    }

    #[tokio::test(start_paused = true)]
    async fn a_deadline_in_the_past_leaves_no_time() {
        let deadline = Deadline::from_epoch_millis(0, DeadlineMargin::Proportional);
        assert_eq!(deadline.remaining(), Duration::ZERO);
        assert_eq!(deadline.working_time_left(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn an_epoch_deadline_becomes_the_remaining_budget() {
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_millis() as u64;
        let deadline = Deadline::from_epoch_millis(now_ms + 30_000, DeadlineMargin::Proportional);
        let remaining = deadline.remaining();
        assert!(
            remaining <= Duration::from_secs(30) && remaining > Duration::from_secs(29),
            "remaining {remaining:?}"
        );
        assert_eq!(deadline.margin(), remaining / 10, "a tenth of a 30 s budget");
    }
}
