//! The invocation's deadline, as the engine measures it.
//!
//! Lambda gives the deadline as wall-clock epoch milliseconds; the engine works on the monotonic
//! clock of tokio ([`tokio::time::Instant`]), converted once at the edge (`lambda/invocation.rs`). Tests run the engine under
//! tokio's paused clock, so deadline behaviour is tested without sleeping and without flakiness.

use std::time::Duration;

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

    /// Keeps `reserve` more time back, on top of the margin (the trace flush's budget, for instance).
    pub fn with_reserve(mut self, reserve: Duration) -> Self {
        self.margin += reserve;
        self
    }

    /// When the invocation times out, on tokio's clock.
    pub fn at(&self) -> Instant {
        self.at
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
}
