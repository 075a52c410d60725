//! The function assembled: one invocation payload in, a partial batch response or an error out.
//!
//! [`StreamHandler`] composes the layers below it: it decodes the payload (the Lambda edge), runs
//! the batch through the [engine](crate::engine), logs one summary line, flushes the invocation's
//! metrics once, exports its spans, and turns the outcome into the response. It is used unchanged by
//! the Lambda runtime loop ([`StreamHandler::handle`]), by local invoke and by tests
//! ([`StreamHandler::handle_payload`] with an [`Invocation::local`]).
//!
//! It is also the one way to wire a function by hand: `StreamHandler::new(processor)` with
//! `with_engine`, `with_metrics` and `with_traces` (tests, benchmarks and obsctl build it so; `run`
//! builds it from the environment).

use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use aws_lambda_events::event::streams::DynamoDbEventResponse;
use futures_util::FutureExt;
use lambda_runtime::LambdaEvent;
use serde_json::value::RawValue;
use tracing::{Instrument, Span, error, field, info, info_span, warn};
use tracing_opentelemetry::OpenTelemetrySpanExt;

use super::handed_back::HandedBack;
use crate::engine::{
    BatchEngine, BatchOutcome, Disposition, EngineConfig, describe_caught_panic, forget_panic_location,
};
use crate::lambda::batch_response;
use crate::lambda::event::{BatchFacts, ParsedEvent, count_records_leniently, parse_event};
use crate::lambda::invocation_error::InvocationError;
use crate::lambda::{DeadlineSource, Invocation};
use crate::processor::{InvocationContext, RecordProcessor};
use crate::telemetry::metrics::{InvocationSummary, Metrics, router};
use crate::telemetry::traces::{self, FlushOutcome, InvocationAttributes, Traces};

/// The function: a batch engine, the processor it runs, and where its metrics and traces go.
#[derive(Debug)]
pub struct StreamHandler<P> {
    engine: BatchEngine,
    processor: P,
    metrics: Metrics,
    traces: Option<Traces>,
    /// `true` until the first invocation of this handler (one per process) has started.
    cold: AtomicBool,
    /// `true` once the logs said that the Runtime API sends its deadline as a duration.
    deadline_warned: AtomicBool,
    /// The records this environment handed back, to count those that fail again.
    handed_back: HandedBack,
}

/// What one run of the handler learnt, kept for the metrics even when the run fails or panics.
#[derive(Debug, Default)]
struct RunRecord {
    batch: Option<BatchFacts>,
    records_in_invalid_event: Option<usize>,
    outcome: Option<BatchOutcome>,
    batch_time: Option<Duration>,
}

impl<P: RecordProcessor> StreamHandler<P> {
    /// A handler running `processor` with the default engine configuration, without metrics or
    /// traces (see [`with_engine`](Self::with_engine), [`with_metrics`](Self::with_metrics) and
    /// [`with_traces`](Self::with_traces)).
    pub fn new(processor: P) -> Self {
        Self {
            engine: BatchEngine::default(),
            processor,
            metrics: Metrics::disabled(),
            traces: None,
            cold: AtomicBool::new(true),
            deadline_warned: AtomicBool::new(false),
            handed_back: HandedBack::default(),
        }
    }

    /// Runs batches with `engine`.
    pub fn with_engine(mut self, engine: BatchEngine) -> Self {
        self.engine = engine;
        self.observe_records();
        self
    }

    /// Runs batches with an engine configured by `config`.
    pub fn with_engine_config(self, config: EngineConfig) -> Self {
        self.with_engine(BatchEngine::new(config))
    }

    /// Writes the metrics of every invocation through `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Exports the spans of every invocation through `traces`, flushed before the handler returns.
    pub fn with_traces(mut self, traces: Option<Traces>) -> Self {
        self.traces = traces;
        self.observe_records();
        self
    }

    /// Record spans are annotated by the trace pipeline, when there is one.
    fn observe_records(&mut self) {
        if let Some(traces) = &self.traces {
            self.engine = self.engine.clone().with_observer(Arc::new(traces.clone()));
        }
    }

    /// The processor.
    pub fn processor(&self) -> &P {
        &self.processor
    }

    /// The engine, for its configuration.
    pub fn engine(&self) -> &BatchEngine {
        &self.engine
    }

    /// The Lambda runtime's entry point.
    pub async fn handle(
        &self,
        event: LambdaEvent<Box<RawValue>>,
    ) -> Result<DynamoDbEventResponse, InvocationError> {
        let invocation = Invocation::from_context(&event.context, self.engine.config());
        if let DeadlineSource::EmulatorDuration { sent_ms } = invocation.deadline_source {
            if !self.deadline_warned.swap(true, Ordering::Relaxed) {
                warn!(
                    "the Runtime API sent Lambda-Runtime-Deadline-Ms {sent_ms}, a time before the year 2000 \
                     and already past: read as a duration of {sent_ms} ms from each invocation's arrival \
                     (an emulator such as cargo lambda watch sends its timeout); Lambda itself sends epoch \
                     milliseconds"
                );
            }
        }
        self.handle_payload(event.payload.get().as_bytes(), &invocation)
            .await
    }

    /// Handles one raw payload: the same path for Lambda and for local invoke. The invocation's
    /// metrics are flushed exactly once before this returns, whatever happened.
    pub async fn handle_payload(
        &self,
        payload: &[u8],
        invocation: &Invocation,
    ) -> Result<DynamoDbEventResponse, InvocationError> {
        let started_at = self.metrics.now();
        let cold_start = self.cold.swap(false, Ordering::Relaxed);
        let collected = self.metrics.start_invocation();
        let span = info_span!(
            "invocation",
            otel.name = %invocation.function_name,
            otel.kind = "server",
            requestId = %invocation.request_id,
            xrayTraceId = field::Empty,
        );
        if let Some(trace_id) = &invocation.xray_trace_id {
            span.record("xrayTraceId", trace_id.as_str());
            let parent = self
                .traces
                .as_ref()
                .filter(|traces| traces.xray_propagation())
                .and_then(|_| traces::xray_parent(trace_id));
            if let Some(parent) = parent {
                let _ = span.set_parent(parent);
            }
        }
        if let Some(traces) = &self.traces {
            traces.annotate_invocation(
                &span,
                InvocationAttributes {
                    request_id: &invocation.request_id,
                    invoked_function_arn: &invocation.invoked_function_arn,
                    cold_start,
                },
            );
        }

        let mut record = RunRecord::default();
        let context = InvocationContext::new(invocation.request_id.as_str(), invocation.deadline.at());
        let run = AssertUnwindSafe(
            context.scope(
                self.run(payload, invocation, &mut record)
                    .instrument(span.clone()),
            ),
        );
        forget_panic_location();
        let caught = router::scope(Arc::clone(&collected), run.catch_unwind()).await;
        let (result, handler_panicked) = match caught {
            Ok(result) => (result, false),
            Err(panic) => {
                let error = InvocationError::HandlerPanicked {
                    message: describe_caught_panic(panic.as_ref(), self.engine.config().log_error_sources),
                };
                span.in_scope(|| error!(error_type = error.error_type(), "{error}"));
                (Err(error), true)
            }
        };

        // Close the invocation span, then export everything it contains before returning.
        let checkpoint = record
            .outcome
            .as_ref()
            .and_then(|outcome| match &outcome.disposition {
                Disposition::Checkpoint { sequence_number, .. } => Some(sequence_number.as_str()),
                _ => None,
            });
        let failure = result
            .as_ref()
            .err()
            .map(|error| (error.error_type(), error.to_string()));
        if let Some(traces) = &self.traces {
            traces.finish_invocation(&span, checkpoint, failure);
        }
        drop(span);
        let trace_flush = match &self.traces {
            Some(traces) => Some(traces.flush().await),
            None => None,
        };
        if let Some(problem) = trace_flush
            .as_ref()
            .filter(|outcome| **outcome != FlushOutcome::Completed)
        {
            warn!(
                requestId = %invocation.request_id,
                "the spans of this invocation were not all exported: {problem:?}; the batch is not affected"
            );
        }

        // The record a batch stopped at is handed back whatever the response: by the partial batch
        // response, or with the whole batch when the invocation fails.
        let failed_again = record
            .outcome
            .as_ref()
            .and_then(|outcome| outcome.stop.as_ref())
            .filter(|stop| stop.reason.is_record_failure())
            .is_some_and(|stop| self.handed_back.failed(&stop.event_id));
        let summary = InvocationSummary {
            request_id: &invocation.request_id,
            xray_trace_id: invocation.xray_trace_id.as_deref(),
            function_version: invocation.function_version.as_deref(),
            started_at,
            cold_start,
            batch: record.batch.as_ref(),
            records_in_invalid_event: record.records_in_invalid_event,
            outcome: record.outcome.as_ref(),
            batch_time: record.batch_time,
            error: result.as_ref().err(),
            handler_panicked,
            failed_again,
            trace_flush: trace_flush.as_ref(),
        };
        self.metrics.flush(&collected, &summary);
        result
    }

    async fn run(
        &self,
        payload: &[u8],
        invocation: &Invocation,
        record: &mut RunRecord,
    ) -> Result<DynamoDbEventResponse, InvocationError> {
        let ParsedEvent { records, facts } = match parse_event(payload) {
            Ok(parsed) => parsed,
            Err(invalid) => {
                record.records_in_invalid_event = count_records_leniently(payload);
                error!(
                    error_type = invalid.error_type(),
                    "{invalid}; failing the invocation (Lambda retries the batch)"
                );
                return Err(invalid);
            }
        };
        record.batch = Some(facts);
        if let Some(traces) = &self.traces {
            traces.annotate_batch(&Span::current(), &records);
        }
        let started = tokio::time::Instant::now();
        let outcome = self
            .engine
            .process_batch(&self.processor, records, &invocation.deadline)
            .await;
        record.batch_time = Some(started.elapsed());
        log_summary(&outcome);
        let response = batch_response(&outcome);
        record.outcome = Some(outcome);
        response
    }
}

/// The one INFO line per invocation: a 10,000-record batch logs one line, not 10,000.
fn log_summary(outcome: &BatchOutcome) {
    info!(
        batch_size = outcome.batch_size,
        succeeded = outcome.succeeded,
        failed = outcome.failed,
        handed_back = outcome.records_handed_back(),
        retries = outcome.retries,
        panics = outcome.panics,
        "batch done: {} of {} record(s) succeeded, {} handed back to the stream",
        outcome.succeeded,
        outcome.batch_size,
        outcome.records_handed_back(),
    );
}
