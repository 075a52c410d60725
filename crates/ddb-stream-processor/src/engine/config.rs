//! How the engine retries, when it stops for the deadline, and what it does when nothing succeeded.
//!
//! These are plain values with production defaults; [`crate::function::config`] reads them from the environment
//! once at start-up and validates them, so the engine itself never touches process-global state.

use std::time::Duration;

/// Everything the batch engine can be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// In-process retries of transient failures.
    pub retry: RetryPolicy,
    /// How much of the invocation's time is kept back to report and flush.
    pub deadline_margin: DeadlineMargin,
    /// What to return when the very first record of the batch cannot be completed.
    pub first_record_failure: FirstRecordFailurePolicy,
    /// Time added to the deadline margin for work after the batch, such as the trace flush.
    pub telemetry_reserve: Duration,
    /// Put each record's item keys in its span (and so in its log lines). Off by default: keys can
    /// be personal data. Images are never logged.
    pub log_keys: bool,
    /// Put the source chain of each failure ([`RecordError::with_source`]) in its log line, span and
    /// error message. Off by default: sources often quote item values (serde's decode errors do).
    ///
    /// [`RecordError::with_source`]: crate::processor::RecordError::with_source
    pub log_error_sources: bool,
    /// Records processed at once: 1 (the default) processes the batch strictly in order; more
    /// processes records of different item keys concurrently, each key still in order
    /// (see `engine/per_key.rs`).
    pub max_in_flight: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            retry: RetryPolicy::default(),
            deadline_margin: DeadlineMargin::default(),
            first_record_failure: FirstRecordFailurePolicy::default(),
            telemetry_reserve: Duration::ZERO,
            log_keys: false,
            log_error_sources: false,
            max_in_flight: 1,
        }
    }
}

/// Bounded exponential backoff with full jitter for transient failures.
///
/// Attempt `n` (counting from 1) that fails transiently is followed by a pause drawn uniformly from
/// `0..=min(max_delay, base_delay × 2^(n-1))`, unless `max_attempts` is reached or the pause would
/// run into the deadline margin; then the record counts as failed and goes back to the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts per record, the first one included (1 = no in-process retry).
    pub max_attempts: u32,
    /// The backoff cap of the first retry.
    pub base_delay: Duration,
    /// The largest pause between two attempts.
    pub max_delay: Duration,
}

/// The default number of attempts per record.
pub(crate) const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// The default backoff cap of the first retry.
pub(crate) const DEFAULT_BASE_DELAY: Duration = Duration::from_millis(50);
/// The default largest pause between attempts.
pub(crate) const DEFAULT_MAX_DELAY: Duration = Duration::from_secs(2);

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            base_delay: DEFAULT_BASE_DELAY,
            max_delay: DEFAULT_MAX_DELAY,
        }
    }
}

impl RetryPolicy {
    /// The longest pause after failed attempt `attempt` (1-based), before jitter.
    pub fn backoff_cap(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.base_delay
            .checked_mul(1u32 << doublings)
            .unwrap_or(self.max_delay)
            .min(self.max_delay)
    }
}

/// The time kept back at the end of an invocation to post the response and flush telemetry.
///
/// The engine starts no record, and lets no record run, inside this margin: when the margin is
/// reached it checkpoints at the first record not completed instead of letting Lambda time the
/// invocation out (which would throw away the progress of the whole batch).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum DeadlineMargin {
    /// A tenth of the time the invocation had when it started (≈ the function timeout), kept between
    /// 200 ms and 5 s: 3 s for a 30 s timeout, 5 s for 15 minutes,
    /// 200 ms for 1 s.
    #[default]
    Proportional,
    /// A fixed margin.
    Fixed(Duration),
}

/// The smallest margin [`DeadlineMargin::Proportional`] keeps.
pub(crate) const MIN_AUTO_MARGIN: Duration = Duration::from_millis(200);
/// The largest margin [`DeadlineMargin::Proportional`] keeps.
pub(crate) const MAX_AUTO_MARGIN: Duration = Duration::from_secs(5);

impl DeadlineMargin {
    /// The margin for an invocation that starts with `budget` left before its deadline.
    pub fn resolve(self, budget: Duration) -> Duration {
        match self {
            DeadlineMargin::Fixed(margin) => margin,
            DeadlineMargin::Proportional => (budget / 10).clamp(MIN_AUTO_MARGIN, MAX_AUTO_MARGIN),
        }
    }
}

/// What the handler returns when the first record of the batch fails, panics or runs out of time,
/// so that nothing in the batch succeeded.
///
/// A partial response that names the first record makes Lambda retry the same batch unchanged, and
/// `BisectBatchOnFunctionError` never splits it: a poison record at the head blocks the shard until
/// `MaximumRetryAttempts` or `MaximumRecordAgeInSeconds` gives up on the *whole* batch. Returning an
/// error instead counts in `AWS/Lambda Errors` and lets bisection split the batch until the poison
/// record is alone, so only that record reaches the on-failure destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FirstRecordFailurePolicy {
    /// Fail the invocation with an error (the default; needs `BisectBatchOnFunctionError: true`).
    #[default]
    ReturnError,
    /// Report the first record as the batch item failure, like any other failure.
    ReportItemFailure,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_the_base_and_stops_at_the_cap() {
        let policy = RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_millis(50),
            max_delay: Duration::from_millis(300),
        };
        let caps: Vec<u128> = (1..=6).map(|n| policy.backoff_cap(n).as_millis()).collect();
        assert_eq!(caps, [50, 100, 200, 300, 300, 300]);
        assert_eq!(
            policy.backoff_cap(u32::MAX),
            Duration::from_millis(300),
            "no overflow"
        );
    }

    #[test]
    fn the_proportional_margin_follows_the_timeout_within_bounds() {
        let auto = DeadlineMargin::Proportional;
        assert_eq!(auto.resolve(Duration::from_secs(30)), Duration::from_secs(3));
        assert_eq!(auto.resolve(Duration::from_secs(900)), MAX_AUTO_MARGIN);
        assert_eq!(auto.resolve(Duration::from_secs(1)), MIN_AUTO_MARGIN);
        let fixed = DeadlineMargin::Fixed(Duration::from_millis(750));
        assert_eq!(
            fixed.resolve(Duration::from_secs(900)),
            Duration::from_millis(750)
        );
    }
}
