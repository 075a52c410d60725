//! One record, start to finish: attempts with full-jitter backoff, panic isolation and time bounds.
//!
//! Each attempt runs under [`tokio::time::timeout`] with the working time left before the deadline
//! margin, and under `catch_unwind`, so neither a hanging nor a panicking processor can take the
//! invocation down with it. A panic is not retried: it is a bug, and a retry would most likely panic
//! again while eating into the deadline.

// Panic isolation needs unwinding: with `panic = "abort"` a processor panic would end the process
// and fail the whole batch. Keep every build profile on `unwind`.
#[cfg(panic = "abort")]
compile_error!("per-record panic isolation needs `panic = \"unwind\"` in every Cargo profile");

use std::panic::AssertUnwindSafe;
use std::time::{Duration, SystemTime};

use futures_util::FutureExt;
use tracing::{Span, warn};

use super::config::RetryPolicy;
use super::deadline::Deadline;
use super::observer::Retry;
use super::panics;
use super::stop_reason::StopReason;
use crate::processor::{RecordError, RecordProcessor};
use crate::record::ChangeRecord;

/// How one record ended.
#[derive(Debug)]
pub(crate) enum RecordResult {
    /// The processor succeeded after `attempts` attempts.
    Succeeded { attempts: u32 },
    /// The record was not completed.
    NotCompleted(StopReason),
}

impl RecordResult {
    /// Attempts made, the successful one included.
    pub(crate) fn attempts(&self) -> u32 {
        match self {
            RecordResult::Succeeded { attempts }
            | RecordResult::NotCompleted(StopReason::Failed { attempts, .. })
            | RecordResult::NotCompleted(StopReason::Panicked { attempts, .. })
            | RecordResult::NotCompleted(StopReason::DeadlineReached { attempts, .. }) => *attempts,
            RecordResult::NotCompleted(StopReason::Invalid { .. }) => 0,
        }
    }
}

/// The message of the WARN line of each retry, and the name of the retry's event on a record span
/// built when the record ends, so that a trace reads the same whether the record was sampled or not.
pub(crate) const RETRY_LINE: &str = "transient failure; retrying the record in process";

/// What a record leaves behind while it is processed.
pub(crate) struct Trail<'a> {
    /// The record's span (the caller runs the record in it); it gets the `attempt` field of each
    /// retry. It is passed in rather than looked up with `Span::current()`, which would ask the
    /// subscriber's registry for the current span on every record, even when the span is disabled.
    pub span: &'a Span,
    /// Each transient failure that was retried (empty, and never allocated, for most records).
    pub retries: Vec<Retry>,
}

/// Runs `processor` on `record` until it succeeds, fails for good, panics, or runs out of time.
pub(crate) async fn process_record<P: RecordProcessor>(
    processor: &P,
    record: &ChangeRecord,
    policy: &RetryPolicy,
    log_error_sources: bool,
    deadline: &Deadline,
    rng: &mut fastrand::Rng,
    trail: &mut Trail<'_>,
) -> RecordResult {
    let mut attempt = 0;
    loop {
        let time_left = deadline.working_time_left();
        if time_left.is_zero() {
            return RecordResult::NotCompleted(StopReason::DeadlineReached {
                attempts: attempt,
                margin: deadline.margin(),
            });
        }
        attempt += 1;
        if attempt > 1 {
            // As i64, the type of the span's initial `attempt = 1`: a u32 would reach OpenTelemetry
            // as a string ("2"), next to the integer 1 of the first attempt.
            trail.span.record("attempt", i64::from(attempt));
        }

        let error = match run_attempt(processor, record, time_left, log_error_sources).await {
            Attempt::Succeeded => return RecordResult::Succeeded { attempts: attempt },
            Attempt::Failed(error) => error,
            Attempt::Panicked(message) => {
                return RecordResult::NotCompleted(StopReason::Panicked {
                    message,
                    attempts: attempt,
                });
            }
            Attempt::TimedOut => {
                return RecordResult::NotCompleted(StopReason::DeadlineReached {
                    attempts: attempt,
                    margin: deadline.margin(),
                });
            }
        };

        if !error.is_transient() || attempt >= policy.max_attempts {
            return failed(&error, log_error_sources, attempt, false);
        }
        let cap = policy.backoff_cap(attempt);
        let pause = cap.mul_f64(rng.f64());
        if pause >= deadline.working_time_left() {
            return failed(&error, log_error_sources, attempt, true);
        }
        let message = error.loggable_message(log_error_sources);
        warn!(
            eventId = %record.event_id,
            sequenceNumber = record.sequence_number.as_deref().unwrap_or_default(),
            attempt,
            max_attempts = policy.max_attempts,
            retry_in_ms = pause.as_millis() as u64,
            error = %message,
            "{RETRY_LINE}"
        );
        trail.retries.push(Retry {
            attempt,
            at: SystemTime::now(),
            error: message,
            pause,
        });
        tokio::time::sleep(pause).await;
    }
}

/// How one attempt ended.
enum Attempt {
    Succeeded,
    Failed(RecordError),
    Panicked(String),
    TimedOut,
}

/// One call of the processor, bounded by `time_left`, with every panic it can cause caught: while
/// creating its future, while polling it, and while dropping it (a future cancelled at the deadline
/// runs its destructors outside any poll). A panic is described by its location, and by its message
/// only with `panic_messages` ([`panics`]).
async fn run_attempt<P: RecordProcessor>(
    processor: &P,
    record: &ChangeRecord,
    time_left: Duration,
    panic_messages: bool,
) -> Attempt {
    // Each panic is described as soon as it is caught, with the location the hook noted for it;
    // whatever was noted before (a panic a spawned task's runtime caught) is forgotten first.
    let panicked = |payload: Box<dyn std::any::Any + Send>| {
        Attempt::Panicked(panics::describe_caught(payload.as_ref(), panic_messages))
    };
    panics::forget_location();
    let future = match std::panic::catch_unwind(AssertUnwindSafe(|| processor.process(record))) {
        Ok(future) => future,
        Err(panic) => return panicked(panic),
    };
    let mut bounded = Box::pin(tokio::time::timeout(time_left, future));
    let polling = std::future::poll_fn(|context| {
        panics::forget_location();
        bounded.as_mut().poll(context)
    });
    let polled = AssertUnwindSafe(polling).catch_unwind().await.map_err(panicked);
    panics::forget_location();
    let dropped = std::panic::catch_unwind(AssertUnwindSafe(move || drop(bounded)));
    match (polled, dropped) {
        (Err(attempt), _) => attempt,
        (Ok(_), Err(panic)) => panicked(panic),
        (Ok(Ok(Ok(()))), Ok(())) => Attempt::Succeeded,
        (Ok(Ok(Err(error))), Ok(())) => Attempt::Failed(error),
        (Ok(Err(_elapsed)), Ok(())) => Attempt::TimedOut,
    }
}

fn failed(
    error: &RecordError,
    log_error_sources: bool,
    attempts: u32,
    retries_cut_short_by_deadline: bool,
) -> RecordResult {
    RecordResult::NotCompleted(StopReason::Failed {
        kind: error.kind(),
        message: error.loggable_message(log_error_sources),
        attempts,
        retries_cut_short_by_deadline,
    })
}
