//! The engine's disposition as Lambda's wire response: the partial batch response, or an error.
//!
//! One identifier at most, the checkpoint's sequence number, case-sensitive keys
//! (`{"batchItemFailures":[{"itemIdentifier":"…"}]}`); an empty list when every record succeeded.
//! `aws_lambda_events`' response structs are `#[non_exhaustive]`, so they are built from `Default`.

use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};

use super::invocation_error::InvocationError;
use crate::engine::{BatchOutcome, Disposition};

/// The response for Lambda: the partial batch response, or the error that fails the invocation.
pub fn batch_response(outcome: &BatchOutcome) -> Result<DynamoDbEventResponse, InvocationError> {
    let mut response = DynamoDbEventResponse::default();
    match &outcome.disposition {
        Disposition::Complete => Ok(response),
        Disposition::Checkpoint { sequence_number, .. } => {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = Some(sequence_number.clone());
            response.batch_item_failures.push(failure);
            Ok(response)
        }
        Disposition::FailInvocation(failure) => Err(InvocationError::Batch(failure.clone())),
    }
}
