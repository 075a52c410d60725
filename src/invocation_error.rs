//! Errors that fail a whole invocation, each with a stable `errorType` for Lambda.
//!
//! Failing the invocation makes Lambda retry the **whole** batch (and bisect it when
//! `BisectBatchOnFunctionError` is on); nothing is checkpointed, so nothing is lost. The handler
//! returns one of these only when a partial batch response cannot say the right thing.
//!
//! `errorType` values are part of the template's interface: alarms, log queries and runbooks match
//! on them, so they never change with a refactoring the way a Rust type name would.

use crate::engine::StopReason;
use crate::sequence_number::InvalidSequenceNumber;

/// Why the invocation fails as a whole.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum InvocationError {
    /// The payload is not a DynamoDB stream event.
    #[error("the payload is not a DynamoDB stream event: {reason}")]
    InvalidEvent { reason: String },

    /// The first record of the batch could not be completed, so nothing succeeded.
    #[error(
        "the first record of the batch (eventID {event_id}, SequenceNumber {}) {reason}; failing the \
         invocation so that Lambda retries the batch and BisectBatchOnFunctionError can isolate the record",
        display_or_missing(sequence_number)
    )]
    FirstRecordNotCompleted {
        event_id: String,
        sequence_number: Option<String>,
        reason: StopReason,
    },

    /// A record has to be reported but carries no `SequenceNumber`.
    #[error(
        "record {index} of the batch (eventID {event_id}) {reason}, and it must be reported as the \
         checkpoint but has no dynamodb.SequenceNumber; failing the invocation so that Lambda retries \
         the whole batch instead of losing records"
    )]
    MissingSequenceNumber {
        index: usize,
        event_id: String,
        reason: StopReason,
    },

    /// A record has to be reported but its `SequenceNumber` is not one.
    #[error(
        "record {index} of the batch (eventID {event_id}) must be reported as the checkpoint, but {problem}; \
         failing the invocation so that Lambda retries the whole batch instead of losing records"
    )]
    InvalidSequenceNumber {
        index: usize,
        event_id: String,
        problem: InvalidSequenceNumber,
    },

    /// The handler itself panicked outside the processor (a bug in the template, not in your code).
    #[error("the handler panicked: {message}; failing the invocation so that Lambda retries the whole batch")]
    HandlerPanicked { message: String },

    /// The records are not in stream order, so no checkpoint would be safe.
    #[error(
        "record {index} has SequenceNumber {sequence_number}, not above record {previous_index}'s \
         {previous_sequence_number}: the batch is not in stream order, so no record was processed"
    )]
    BatchOutOfOrder {
        index: usize,
        sequence_number: String,
        previous_index: usize,
        previous_sequence_number: String,
    },
}

impl InvocationError {
    /// The stable `errorType` reported to Lambda.
    pub fn error_type(&self) -> &'static str {
        match self {
            InvocationError::InvalidEvent { .. } => "InvalidEvent",
            InvocationError::FirstRecordNotCompleted { reason, .. } => match reason {
                StopReason::Failed { .. } => "FirstRecordFailed",
                StopReason::Invalid { .. } => "FirstRecordInvalid",
                StopReason::Panicked { .. } => "FirstRecordPanicked",
                StopReason::DeadlineReached { .. } => "DeadlineReachedAtFirstRecord",
            },
            InvocationError::MissingSequenceNumber { .. } => "MissingSequenceNumber",
            InvocationError::InvalidSequenceNumber { .. } => "InvalidSequenceNumber",
            InvocationError::BatchOutOfOrder { .. } => "BatchOutOfOrder",
            InvocationError::HandlerPanicked { .. } => "HandlerPanicked",
        }
    }
}

fn display_or_missing(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("<missing>")
}

impl From<InvocationError> for lambda_runtime::Diagnostic {
    fn from(error: InvocationError) -> Self {
        lambda_runtime::Diagnostic {
            error_type: error.error_type().to_owned(),
            error_message: error.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::processor::FailureKind;

    #[test]
    fn diagnostics_carry_stable_error_types_not_rust_type_names() {
        let cases = [
            (
                InvocationError::InvalidEvent {
                    reason: "missing field `Records`".into(),
                },
                "InvalidEvent",
            ),
            (
                InvocationError::FirstRecordNotCompleted {
                    event_id: "e".into(),
                    sequence_number: Some("1".into()),
                    reason: StopReason::Failed {
                        kind: FailureKind::Permanent,
                        message: "bad".into(),
                        attempts: 1,
                        retries_cut_short_by_deadline: false,
                    },
                },
                "FirstRecordFailed",
            ),
            (
                InvocationError::FirstRecordNotCompleted {
                    event_id: "e".into(),
                    sequence_number: None,
                    reason: StopReason::Panicked {
                        message: "boom".into(),
                        attempts: 1,
                    },
                },
                "FirstRecordPanicked",
            ),
            (
                InvocationError::FirstRecordNotCompleted {
                    event_id: "e".into(),
                    sequence_number: None,
                    reason: StopReason::DeadlineReached {
                        attempts: 0,
                        margin: Duration::from_millis(200),
                    },
                },
                "DeadlineReachedAtFirstRecord",
            ),
        ];
        for (error, error_type) in cases {
            let message = error.to_string();
            let diagnostic = lambda_runtime::Diagnostic::from(error);
            assert_eq!(diagnostic.error_type, error_type);
            assert_eq!(diagnostic.error_message, message);
        }
    }

    #[test]
    fn messages_say_what_went_wrong_and_what_happens_next() {
        let error = InvocationError::FirstRecordNotCompleted {
            event_id: "ev-1".into(),
            sequence_number: Some("100".into()),
            reason: StopReason::Failed {
                kind: FailureKind::Permanent,
                message: "attribute `amount_cents`: invalid type".into(),
                attempts: 1,
                retries_cut_short_by_deadline: false,
            },
        };
        assert_eq!(
            error.to_string(),
            "the first record of the batch (eventID ev-1, SequenceNumber 100) failed (permanent) after 1 \
             attempt: attribute `amount_cents`: invalid type; failing the invocation so that Lambda retries \
             the batch and BisectBatchOnFunctionError can isolate the record"
        );
    }
}
