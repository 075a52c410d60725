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
mod per_key;
mod stop_reason;

use std::sync::Arc;
use std::time::Duration;

use tracing::{Instrument, Span, debug_span, error, field, info_span, warn};

pub(crate) use attempt::panic_message;
pub(crate) use config::{DEFAULT_BASE_DELAY, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_DELAY};
pub use config::{DeadlineMargin, EngineConfig, FirstRecordFailurePolicy, RetryPolicy};
pub use deadline::Deadline;
pub use failure::BatchFailure;
pub use observer::{NoObserver, RecordObserver};
pub use outcome::{BatchOutcome, Disposition, Stop};
pub use stop_reason::StopReason;

use crate::processor::RecordProcessor;
use crate::record::{BatchRecord, identity};
use attempt::{RecordResult, process_record};

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
        let span = record_span(
            &record,
            self.config.log_keys || self.observer.wants_record_spans(),
        );
        self.observer.record_started(&span, &record);
        if self.config.log_keys {
            span.record("keys", keys_as_json(&record).as_str());
        }
        let started = tokio::time::Instant::now();
        // The record's identity is moved out of it after processing, never copied per record.
        let (result, event_id, sequence_number, operation) = match record {
            BatchRecord::Change(record) => {
                let result = process_record(
                    processor,
                    &record,
                    &self.config.retry,
                    self.config.log_error_sources,
                    deadline,
                    rng,
                    &span,
                )
                .instrument(span.clone())
                .await;
                let operation = record.operation.as_str().to_owned();
                (result, record.event_id, record.sequence_number, operation)
            }
            BatchRecord::Unreadable(unreadable) => (
                RecordResult::NotCompleted(StopReason::Invalid {
                    message: unreadable.to_string(),
                }),
                unreadable.event_id,
                unreadable.sequence_number,
                unreadable.event_name,
            ),
        };
        let time = (result.attempts() > 0).then(|| started.elapsed());
        if let RecordResult::NotCompleted(reason) = &result {
            self.observer.record_not_completed(&span, reason);
        }
        Attempted {
            index,
            event_id,
            sequence_number,
            operation,
            span,
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

/// The span every record runs in. Its fields are what the logs show of the record (camelCase, as
/// they appear at the top level of a JSON log line); `attempt` changes when the record is retried.
///
/// It is an INFO span when `info` is set — spans are exported (each record is a child span of the
/// invocation's trace: the [`RecordObserver`] asks for it) or keys are logged (its `keys` field
/// reaches the failure's log line) — and a DEBUG span otherwise: per-record detail belongs to DEBUG, and a disabled span costs nothing, where
/// formatting one per record would cost a 10,000-record batch dearly. The lines that matter (a
/// failure, a retry) carry the record's identity in their own fields.
fn record_span(record: &BatchRecord, info: bool) -> Span {
    let record = identity(record);
    macro_rules! span_at {
        ($span:ident) => {
            $span!(
                "record",
                eventId = record.event_id,
                sequenceNumber = record.sequence_number.unwrap_or_default(),
                operation = record.event_name,
                table = record.table_name.unwrap_or_default(),
                attempt = 1,
                keys = field::Empty,
            )
        };
    }
    if info {
        span_at!(info_span)
    } else {
        span_at!(debug_span)
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
