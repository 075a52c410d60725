//! Errors that fail a whole invocation, each with a stable `errorType` for Lambda.
//!
//! Failing the invocation makes Lambda retry the **whole** batch (and bisect it when
//! `BisectBatchOnFunctionError` is on); nothing is checkpointed, so nothing is lost. The handler
//! returns one of these only when a partial batch response cannot say the right thing.
//!
//! `errorType` values are part of the template's interface: alarms, log queries and runbooks match
//! on them, so they never change with a refactoring the way a Rust type name would. The engine's
//! own failures ([`BatchFailure`]) keep the `errorType` the engine gives them.

use crate::engine::BatchFailure;

/// Why the invocation fails as a whole.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum InvocationError {
    /// The payload is not a DynamoDB stream event.
    #[error("the payload is not a DynamoDB stream event: {reason}")]
    InvalidEvent {
        /// What is wrong, with the JSON path of the first bad field.
        reason: String,
    },

    /// The engine could not express the batch's result as a partial batch response.
    #[error(transparent)]
    Batch(#[from] BatchFailure),

    /// The handler itself panicked outside the processor (a bug in the template, not in your code).
    #[error("the handler panicked {message}; failing the invocation so that Lambda retries the whole batch")]
    HandlerPanicked {
        /// Where it panicked, and the panic's message with `PROCESSOR_LOG_ERROR_SOURCES=true`
        /// (`at src/engine/mod.rs:10:5 (message withheld: …)`).
        message: String,
    },
}

impl InvocationError {
    /// The stable `errorType` reported to Lambda.
    pub fn error_type(&self) -> &'static str {
        match self {
            InvocationError::InvalidEvent { .. } => "InvalidEvent",
            InvocationError::Batch(failure) => failure.error_type(),
            InvocationError::HandlerPanicked { .. } => "HandlerPanicked",
        }
    }
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
    use super::*;

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
                InvocationError::Batch(BatchFailure::BatchOutOfOrder {
                    index: 2,
                    sequence_number: "15".into(),
                    previous_index: 1,
                    previous_sequence_number: "20".into(),
                }),
                "BatchOutOfOrder",
            ),
            (
                InvocationError::HandlerPanicked {
                    message: "boom".into(),
                },
                "HandlerPanicked",
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
    fn a_batch_failure_keeps_its_message() {
        let failure = BatchFailure::BatchOutOfOrder {
            index: 2,
            sequence_number: "15".into(),
            previous_index: 1,
            previous_sequence_number: "20".into(),
        };
        assert_eq!(
            InvocationError::from(failure.clone()).to_string(),
            failure.to_string()
        );
    }
}
