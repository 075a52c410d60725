//! Why the engine cannot express a batch's result as a partial batch response.
//!
//! These are the engine's own facts; the Lambda edge wraps them in its invocation error, which fails
//! the invocation (Lambda then retries the whole batch and bisects it when configured). Each has a
//! stable [`error_type`](BatchFailure::error_type), the `errorType` Lambda records: alarms, log
//! queries and runbooks match on it, so it never changes with a refactoring.

use super::stop_reason::StopReason;
use crate::record::sequence_number::InvalidSequenceNumber;

/// A batch whose result must fail the invocation instead of checkpointing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum BatchFailure {
    /// The first record of the batch could not be completed, so nothing succeeded.
    #[error(
        "the first record of the batch (eventID {event_id}, SequenceNumber {}) {reason}; failing the \
         invocation so that Lambda retries the batch and BisectBatchOnFunctionError can isolate the record",
        display_or_missing(sequence_number)
    )]
    FirstRecordNotCompleted {
        /// The record's `eventID`.
        event_id: String,
        /// Its `dynamodb.SequenceNumber`, when it has one.
        sequence_number: Option<String>,
        /// Why it was not completed.
        reason: StopReason,
    },

    /// A record has to be reported but carries no `SequenceNumber`.
    #[error(
        "record {index} of the batch (eventID {event_id}) {reason}, and it must be reported as the \
         checkpoint but has no dynamodb.SequenceNumber; failing the invocation so that Lambda retries \
         the whole batch instead of losing records"
    )]
    MissingSequenceNumber {
        /// The record's position in the batch.
        index: usize,
        /// The record's `eventID`.
        event_id: String,
        /// Why it was not completed.
        reason: StopReason,
    },

    /// A record has to be reported but its `SequenceNumber` is not one.
    #[error(
        "record {index} of the batch (eventID {event_id}) must be reported as the checkpoint, but {problem}; \
         failing the invocation so that Lambda retries the whole batch instead of losing records"
    )]
    InvalidSequenceNumber {
        /// The record's position in the batch.
        index: usize,
        /// The record's `eventID`.
        event_id: String,
        /// What is wrong with its sequence number.
        problem: InvalidSequenceNumber,
    },

    /// The records are not in stream order, so no checkpoint would be safe.
    #[error(
        "record {index} has SequenceNumber {sequence_number}, not above record {previous_index}'s \
         {previous_sequence_number}: the batch is not in stream order, so no record was processed. \
         Lambda always delivers a shard's records with strictly increasing sequence numbers; a \
         hand-made or copied event that repeats or reverses them must be fixed (give each record a \
         larger dynamodb.SequenceNumber than the one before it)"
    )]
    BatchOutOfOrder {
        /// The first record out of order.
        index: usize,
        /// Its sequence number.
        sequence_number: String,
        /// The record before it with a valid sequence number.
        previous_index: usize,
        /// That record's sequence number.
        previous_sequence_number: String,
    },
}

impl BatchFailure {
    /// The stable `errorType` Lambda records for this failure.
    pub fn error_type(&self) -> &'static str {
        match self {
            BatchFailure::FirstRecordNotCompleted { reason, .. } => match reason {
                StopReason::Failed { .. } => "FirstRecordFailed",
                StopReason::Invalid { .. } => "FirstRecordInvalid",
                StopReason::Panicked { .. } => "FirstRecordPanicked",
                StopReason::DeadlineReached { .. } => "DeadlineReachedAtFirstRecord",
            },
            BatchFailure::MissingSequenceNumber { .. } => "MissingSequenceNumber",
            BatchFailure::InvalidSequenceNumber { .. } => "InvalidSequenceNumber",
            BatchFailure::BatchOutOfOrder { .. } => "BatchOutOfOrder",
        }
    }
}

fn display_or_missing(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("<missing>")
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::processor::FailureKind;

    fn first_record(reason: StopReason) -> BatchFailure {
        BatchFailure::FirstRecordNotCompleted {
            event_id: "ev-1".into(),
            sequence_number: Some("100".into()),
            reason,
        }
    }

    #[test]
    fn each_failure_has_its_stable_error_type() {
        let failed = StopReason::Failed {
            kind: FailureKind::Permanent,
            message: "bad".into(),
            attempts: 1,
            retries_cut_short_by_deadline: false,
        };
        let cases = [
            (first_record(failed.clone()), "FirstRecordFailed"),
            (
                first_record(StopReason::Invalid {
                    message: "eventName".into(),
                }),
                "FirstRecordInvalid",
            ),
            (
                first_record(StopReason::Panicked {
                    message: "boom".into(),
                    attempts: 1,
                }),
                "FirstRecordPanicked",
            ),
            (
                first_record(StopReason::DeadlineReached {
                    attempts: 0,
                    margin: Duration::from_millis(200),
                }),
                "DeadlineReachedAtFirstRecord",
            ),
            (
                BatchFailure::MissingSequenceNumber {
                    index: 2,
                    event_id: "e".into(),
                    reason: failed,
                },
                "MissingSequenceNumber",
            ),
            (
                BatchFailure::InvalidSequenceNumber {
                    index: 2,
                    event_id: "e".into(),
                    problem: crate::record::sequence_number::validate("").unwrap_err(),
                },
                "InvalidSequenceNumber",
            ),
            (
                BatchFailure::BatchOutOfOrder {
                    index: 2,
                    sequence_number: "15".into(),
                    previous_index: 1,
                    previous_sequence_number: "20".into(),
                },
                "BatchOutOfOrder",
            ),
        ];
        for (failure, error_type) in cases {
            assert_eq!(failure.error_type(), error_type, "{failure}");
        }
    }

    #[test]
    fn messages_say_what_went_wrong_and_what_happens_next() {
        let failure = first_record(StopReason::Failed {
            kind: FailureKind::Permanent,
            message: "attribute `amount_cents`: invalid type".into(),
            attempts: 1,
            retries_cut_short_by_deadline: false,
        });
        assert_eq!(
            failure.to_string(),
            "the first record of the batch (eventID ev-1, SequenceNumber 100) failed (permanent) after 1 \
             attempt: attribute `amount_cents`: invalid type; failing the invocation so that Lambda retries \
             the batch and BisectBatchOnFunctionError can isolate the record"
        );
    }
}
