//! What the engine did with a batch: counts, where it stopped and why, and what Lambda must hear.
//!
//! [`BatchOutcome`] is the engine's only output. The Lambda edge turns its [`Disposition`] into the
//! partial batch response or an error (`lambda/response.rs`); the metrics turn its counts into EMF.

use std::time::Duration;

use super::failure::BatchFailure;
use super::stop_reason::StopReason;

/// The result of one batch.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct BatchOutcome {
    /// Records in the batch.
    pub batch_size: usize,
    /// Records whose processing succeeded in this invocation.
    pub succeeded: usize,
    /// Records whose processing failed after in-process retries (a panic or a deadline timeout of a
    /// started record included); at most one in order, one per item key with per-key concurrency.
    pub failed: usize,
    /// In-process retries: attempts beyond the first, over all records.
    pub retries: u32,
    /// Processor panics caught (each also counted in `failed`).
    pub panics: usize,
    /// The record the engine stopped at, when it did not complete the batch.
    pub stop: Option<Stop>,
    /// What Lambda must be told.
    pub disposition: Disposition,
    /// Time spent on each record that was attempted, retries and backoff included, in batch order.
    pub record_times: Vec<Duration>,
}

/// The record the engine stopped at.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Stop {
    /// Its position in the batch (0-based).
    pub index: usize,
    /// Its `eventID`.
    pub event_id: String,
    /// Its `dynamodb.SequenceNumber`, as received.
    pub sequence_number: Option<String>,
    /// Its `eventName` (INSERT, MODIFY, REMOVE, or what an unreadable record said).
    pub operation: String,
    /// Why the engine stopped there.
    pub reason: StopReason,
}

/// What the handler must tell Lambda about the batch.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Disposition {
    /// Every record succeeded: an empty `batchItemFailures`.
    Complete,
    /// Report exactly this sequence number, record `index`'s: Lambda redelivers that record and every
    /// record after it.
    Checkpoint {
        /// The position of the record in the batch.
        index: usize,
        /// Its `SequenceNumber`, the `itemIdentifier` of the response.
        sequence_number: String,
    },
    /// Fail the invocation: Lambda retries the whole batch (and bisects it, when configured).
    FailInvocation(BatchFailure),
}

impl BatchOutcome {
    /// The outcome of a batch before any record ran: nothing counted, nothing to report.
    pub(crate) fn new(batch_size: usize) -> Self {
        Self {
            batch_size,
            succeeded: 0,
            failed: 0,
            retries: 0,
            panics: 0,
            stop: None,
            disposition: Disposition::Complete,
            record_times: Vec::new(),
        }
    }

    /// The outcome of a batch the engine refused before processing any record.
    pub(crate) fn rejected(batch_size: usize, error: BatchFailure) -> Self {
        Self {
            disposition: Disposition::FailInvocation(error),
            ..Self::new(batch_size)
        }
    }

    /// Records that Lambda will deliver again: from the checkpoint to the end of the batch, or the
    /// whole batch when the invocation fails.
    pub fn records_handed_back(&self) -> usize {
        match &self.disposition {
            Disposition::Complete => 0,
            Disposition::Checkpoint { index, .. } => self.batch_size - index,
            Disposition::FailInvocation(_) => self.batch_size,
        }
    }
}
