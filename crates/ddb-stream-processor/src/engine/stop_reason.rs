//! Why the engine did not complete a record: the reason a checkpoint or a failure names.
//!
//! Its own file because both the outcome (the stop of a batch) and the batch failures (the first
//! record's reason) carry it.

use std::fmt;
use std::time::Duration;

use crate::processor::FailureKind;

/// Why a record was not completed.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum StopReason {
    /// The processor returned an error (after in-process retries for a transient one).
    Failed {
        /// Transient or permanent, as the processor classified it.
        kind: FailureKind,
        /// The processor's message (never an item value, if the processor keeps to the rule).
        message: String,
        /// Attempts made, the first included.
        attempts: u32,
        /// A further retry was skipped because its pause would have run into the deadline margin.
        retries_cut_short_by_deadline: bool,
    },
    /// The record cannot be read as a DynamoDB change (the processor was not called).
    Invalid {
        /// What is wrong with the record.
        message: String,
    },
    /// The processor panicked.
    Panicked {
        /// Where the panic happened, and its message with `PROCESSOR_LOG_ERROR_SOURCES=true`:
        /// `at src/processor/mod.rs:27:79 (message withheld: …)` or `at src/processor/mod.rs:27:79: …`.
        message: String,
        /// Attempts made, the panicking one included.
        attempts: u32,
    },
    /// The deadline margin was reached: before the record started (`attempts == 0`) or while it ran,
    /// in which case its attempt was cancelled.
    DeadlineReached {
        /// Attempts made before the deadline margin was reached (0: the record never started).
        attempts: u32,
        /// The margin kept back before the invocation deadline.
        margin: Duration,
    },
}

impl StopReason {
    /// `true` when the record itself went wrong (as opposed to running out of time before it started).
    pub fn is_record_failure(&self) -> bool {
        !matches!(self, StopReason::DeadlineReached { attempts: 0, .. })
    }
}

impl fmt::Display for StopReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StopReason::Failed {
                kind,
                message,
                attempts,
                retries_cut_short_by_deadline,
            } => {
                write!(f, "failed ({kind}) after {attempts} attempt{}", plural(*attempts))?;
                if *retries_cut_short_by_deadline {
                    f.write_str(", retries cut short by the deadline")?;
                }
                write!(f, ": {message}")
            }
            StopReason::Invalid { message } => write!(f, "is not a valid DynamoDB change: {message}"),
            StopReason::Panicked { message, .. } => write!(f, "panicked {message}"),
            StopReason::DeadlineReached { attempts: 0, margin } => write!(
                f,
                "was not started: less than the deadline margin of {} ms was left",
                margin.as_millis()
            ),
            StopReason::DeadlineReached { margin, .. } => write!(
                f,
                "was cancelled: it ran into the deadline margin of {} ms",
                margin.as_millis()
            ),
        }
    }
}

fn plural(count: u32) -> &'static str {
    if count == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failed(attempts: u32, cut_short: bool) -> String {
        StopReason::Failed {
            kind: FailureKind::Transient,
            message: "throttled".into(),
            attempts,
            retries_cut_short_by_deadline: cut_short,
        }
        .to_string()
    }

    #[test]
    fn the_reason_reads_as_a_sentence_about_the_record() {
        assert_eq!(failed(1, false), "failed (transient) after 1 attempt: throttled");
        assert_eq!(
            failed(3, true),
            "failed (transient) after 3 attempts, retries cut short by the deadline: throttled"
        );
        let margin = Duration::from_millis(200);
        assert_eq!(
            StopReason::DeadlineReached { attempts: 0, margin }.to_string(),
            "was not started: less than the deadline margin of 200 ms was left"
        );
        assert_eq!(
            StopReason::DeadlineReached { attempts: 1, margin }.to_string(),
            "was cancelled: it ran into the deadline margin of 200 ms"
        );
    }

    #[test]
    fn only_a_record_that_never_started_is_not_a_record_failure() {
        let margin = Duration::from_millis(200);
        assert!(!StopReason::DeadlineReached { attempts: 0, margin }.is_record_failure());
        assert!(StopReason::DeadlineReached { attempts: 1, margin }.is_record_failure());
        assert!(StopReason::Invalid { message: "x".into() }.is_record_failure());
    }
}
