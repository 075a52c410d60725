//! The batch engine: runs a batch of stream records through a [`RecordProcessor`] and decides what
//! Lambda must be told, without depending on the Lambda runtime (so it is tested directly).
//!
//! The rules it enforces, in order of importance:
//!
//! 1. Records run **one at a time, in stream order**, each in a `record` span (event id, sequence
//!    number, operation, table, attempt).
//! 2. The engine **stops at the first record it cannot complete** (a failure after in-process
//!    retries, a panic, an unreadable record, or the deadline) and never starts a later one.
//! 3. It reports **exactly that record's sequence number** (`engine/checkpoint.rs` holds the rule and its two
//!    exceptions that fail the invocation instead).
//! 4. Transient failures are retried with full-jitter backoff ([`RetryPolicy`]), never past the
//!    deadline margin ([`DeadlineMargin`]); permanent failures and panics are not retried.
//!
//! The result is a [`BatchOutcome`]: counts for the metrics, the stop and its reason for the logs, and
//! the [`Disposition`] for the response. The engine knows nothing of Lambda's wire response or of
//! telemetry: the edge turns the disposition into a response or an error, and a [`RecordObserver`]
//! is told about each record (the trace export annotates its span).

mod attempt;
mod checkpoint;
mod config;
mod deadline;
mod failure;
mod observer;
mod outcome;
mod panics;
mod per_key;
mod stop_reason;

use std::sync::Arc;
use std::time::Duration;

use tracing::{Instrument, Span, error, warn};

pub(crate) use attempt::RETRY_LINE;
pub(crate) use config::{DEFAULT_BASE_DELAY, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_DELAY};
pub use config::{DeadlineMargin, EngineConfig, FirstRecordFailurePolicy, RetryPolicy};
pub use deadline::Deadline;
pub use failure::BatchFailure;
pub(crate) use observer::record_span;
pub use observer::{
    NoObserver, RecordEnding, RecordObserver, RecordSpan, Retry, inside_untraced_record, run_untraced,
};
pub use outcome::{BatchOutcome, Disposition, Stop};
pub(crate) use panics::{
    describe as describe_panic, describe_caught as describe_caught_panic,
    forget_location as forget_panic_location, note_location as note_panic_location,
};
pub use stop_reason::StopReason;

use crate::processor::RecordProcessor;
use crate::record::{BatchRecord, identity};
use attempt::{RecordResult, Trail, process_record};
use observer::Untraced;

/// Processes batches with one configuration. Cheap to share: it holds no per-batch state.
#[derive(Debug, Clone)]
pub struct BatchEngine {
    config: EngineConfig,
    jitter_seed: Option<u64>,
    observer: Arc<dyn RecordObserver>,
}

impl Default for BatchEngine {
    fn default() -> Self {
        Self::new(EngineConfig::default())
    }
}

impl BatchEngine {
    /// An engine with the given configuration.
    pub fn new(config: EngineConfig) -> Self {
        Self {
            config,
            jitter_seed: None,
            observer: Arc::new(NoObserver),
        }
    }

    /// Tells `observer` about every record (the trace export annotates record spans this way).
    pub fn with_observer(mut self, observer: Arc<dyn RecordObserver>) -> Self {
        self.observer = observer;
        self
    }

    /// Seeds the backoff jitter, so that tests get the same pauses on every run.
    pub fn with_jitter_seed(mut self, seed: u64) -> Self {
        self.jitter_seed = Some(seed);
        self
    }

    /// The configuration in force.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Runs `records` (one batch, in the order Lambda sent them) through `processor`.
    pub async fn process_batch<P: RecordProcessor>(
        &self,
        processor: &P,
        records: Vec<BatchRecord>,
        deadline: &Deadline,
    ) -> BatchOutcome {
        let batch_size = records.len();
        if let Err(refusal) = checkpoint::check_order(&records) {
            error!(error_type = refusal.error_type(), "{refusal}");
            return BatchOutcome::rejected(batch_size, refusal);
        }

        let mut outcome = BatchOutcome::new(batch_size);
        outcome.record_times.reserve(batch_size);
        let stop_span = if self.config.max_in_flight > 1 {
            per_key::process(self, processor, records, deadline, &mut outcome).await
        } else {
            self.process_in_order(processor, records, deadline, &mut outcome)
                .await
        };
        outcome.disposition = checkpoint::decide(outcome.stop.as_ref(), self.config.first_record_failure);
        stop_span.in_scope(|| log_stop(&outcome));
        outcome
    }

    /// One record at a time, stopping at the first it cannot complete. Returns the stop's span.
    async fn process_in_order<P: RecordProcessor>(
        &self,
        processor: &P,
        records: Vec<BatchRecord>,
        deadline: &Deadline,
        outcome: &mut BatchOutcome,
    ) -> Span {
        let mut rng = self.rng(0);
        for (index, record) in records.into_iter().enumerate() {
            let attempted = self.attempt(processor, index, record, deadline, &mut rng).await;
            if let Some(span) = outcome.count(attempted) {
                return span;
            }
        }
        Span::none()
    }

    /// The backoff jitter of one lane of work.
    fn rng(&self, lane: u64) -> fastrand::Rng {
        self.jitter_seed
            .map_or_else(fastrand::Rng::new, |seed| fastrand::Rng::with_seed(seed ^ lane))
    }

    /// Runs one record in its span, to its result.
    async fn attempt<P: RecordProcessor>(
        &self,
        processor: &P,
        index: usize,
        record: BatchRecord,
        deadline: &Deadline,
        rng: &mut fastrand::Rng,
    ) -> Attempted {
        let observed = self.observer.record_started(&record);
        let keys = self.config.log_keys.then(|| keys_as_json(&record));
        if let Some(keys) = &keys {
            observed.span.record("keys", keys.as_str());
        }
        let started = tokio::time::Instant::now();
        let mut trail = Trail {
            span: &observed.span,
            retries: Vec::new(),
        };
        let result = match &record {
            BatchRecord::Change(change) => {
                let processing = process_record(
                    processor,
                    change,
                    &self.config.retry,
                    self.config.log_error_sources,
                    deadline,
                    rng,
                    &mut trail,
                )
                .instrument(observed.span.clone());
                if observed.untraced {
                    Untraced::new(processing).await
                } else {
                    processing.await
                }
            }
            BatchRecord::Unreadable(unreadable) => RecordResult::NotCompleted(StopReason::Invalid {
                message: unreadable.to_string(),
            }),
        };
        let time = (result.attempts() > 0).then(|| started.elapsed());
        self.observer.record_ended(
            &observed,
            &record,
            &RecordEnding {
                not_completed: match &result {
                    RecordResult::NotCompleted(reason) => Some(reason),
                    RecordResult::Succeeded { .. } => None,
                },
                attempts: result.attempts(),
                retries: &trail.retries,
                keys: keys.as_deref(),
                elapsed: time,
            },
        );
        // The record's identity is moved out of it, never copied per record.
        let (event_id, sequence_number, operation) = match record {
            BatchRecord::Change(change) => (
                change.event_id,
                change.sequence_number,
                change.operation.as_str().to_owned(),
            ),
            BatchRecord::Unreadable(unreadable) => (
                unreadable.event_id,
                unreadable.sequence_number,
                unreadable.event_name,
            ),
        };
        Attempted {
            index,
            event_id,
            sequence_number,
            operation,
            span: observed.span,
            result,
            time,
        }
    }
}

/// One record, attempted.
pub(crate) struct Attempted {
    index: usize,
    event_id: String,
    sequence_number: Option<String>,
    operation: String,
    span: Span,
    result: RecordResult,
    time: Option<Duration>,
}

impl Attempted {
    fn succeeded(&self) -> bool {
        matches!(self.result, RecordResult::Succeeded { .. })
    }
}

impl BatchOutcome {
    /// Adds an attempted record to the counts; when it was not completed, returns its span and, if
    /// it is the first such record, records it as the stop. Records must be counted in stream
    /// order: the sequential loop attempts them that way, and per-key concurrency sorts its lanes'
    /// results by index before counting, so the first record not completed is the earliest.
    fn count(&mut self, attempted: Attempted) -> Option<Span> {
        if let Some(time) = attempted.time {
            self.record_times.push(time);
        }
        self.retries += attempted.result.attempts().saturating_sub(1);
        let reason = match attempted.result {
            RecordResult::Succeeded { .. } => {
                self.succeeded += 1;
                return None;
            }
            RecordResult::NotCompleted(reason) => reason,
        };
        if reason.is_record_failure() {
            self.failed += 1;
        }
        if matches!(reason, StopReason::Panicked { .. }) {
            self.panics += 1;
        }
        debug_assert!(
            self.stop.as_ref().is_none_or(|stop| stop.index < attempted.index),
            "records are counted in stream order"
        );
        if self.stop.is_none() {
            self.stop = Some(Stop {
                index: attempted.index,
                event_id: attempted.event_id,
                sequence_number: attempted.sequence_number,
                operation: attempted.operation,
                reason,
            });
        }
        Some(attempted.span)
    }
}

/// The item keys in DynamoDB JSON (`{"pk":{"S":"ORDER#1"}}`), for `PROCESSOR_LOG_KEYS=true`.
fn keys_as_json(record: &BatchRecord) -> String {
    serde_json::to_string(identity(record).keys)
        .unwrap_or_else(|error| format!("<keys not serializable: {error}>"))
}

/// One log line for the record the batch stopped at: why, and what happens next.
fn log_stop(outcome: &BatchOutcome) {
    let Some(stop) = &outcome.stop else { return };
    match &outcome.disposition {
        Disposition::Checkpoint { sequence_number, .. } => warn!(
            eventId = %stop.event_id,
            sequenceNumber = %sequence_number,
            operation = %stop.operation,
            index = stop.index,
            handed_back = outcome.records_handed_back(),
            "record {}; reporting SequenceNumber {sequence_number} as the checkpoint: Lambda delivers it \
             and the {} record(s) after it again",
            stop.reason,
            outcome.batch_size - stop.index - 1,
        ),
        Disposition::FailInvocation(error) => error!(
            eventId = %stop.event_id,
            sequenceNumber = stop.sequence_number.as_deref().unwrap_or_default(),
            operation = %stop.operation,
            index = stop.index,
            handed_back = outcome.records_handed_back(),
            error_type = error.error_type(),
            "{error}"
        ),
        Disposition::Complete => {}
    }
}
