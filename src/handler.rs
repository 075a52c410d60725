//! The Lambda edge: one invocation payload in, a partial batch response or an error out.
//!
//! [`StreamHandler`] is the whole function: it decodes the payload, runs the batch through the
//! [engine](crate::engine), logs one summary line, flushes the invocation's metrics once, and turns
//! the outcome into the response. It is used unchanged by the Lambda runtime loop
//! ([`StreamHandler::handle`]) and by local invoke ([`StreamHandler::handle_payload`] with a
//! synthetic [`Invocation`]).

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

use crate::engine::{BatchEngine, BatchOutcome, Deadline, Disposition, panic_message};
use crate::event::{BatchFacts, count_records_leniently, parse_event};
use crate::invocation_error::InvocationError;
use crate::processor::RecordProcessor;
use crate::telemetry::metrics::{InvocationSummary, Metrics, router};
use crate::telemetry::traces::{self, FlushOutcome, InvocationAttributes, Traces};

/// What the handler knows about one invocation, taken from the Lambda context (or made up locally).
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The AWS request id.
    pub request_id: String,
    /// The ARN the function was invoked with.
    pub invoked_function_arn: String,
    /// The X-Ray trace header of this invocation, when tracing is on.
    pub xray_trace_id: Option<String>,
    /// The function version (`$LATEST` or a number), when known.
    pub function_version: Option<String>,
    /// The function name: the name of the invocation's trace span.
    pub function_name: String,
    /// When the invocation times out.
    pub deadline: Deadline,
}

impl Invocation {
    /// The invocation described by a Lambda context. The deadline margin is resolved against the
    /// time left now, which is the function timeout minus the runtime's own start-up of the event.
    pub fn from_context(context: &lambda_runtime::Context, engine: &BatchEngine) -> Self {
        Self {
            request_id: context.request_id.clone(),
            invoked_function_arn: context.invoked_function_arn.clone(),
            xray_trace_id: context.xray_trace_id.clone(),
            function_version: Some(context.env_config.version.clone()).filter(|version| !version.is_empty()),
            function_name: context.env_config.function_name.clone(),
            deadline: Deadline::from_epoch_millis(context.deadline, engine.config().deadline_margin)
                .with_reserve(engine.config().telemetry_reserve),
        }
    }
}

/// The function: a batch engine, the processor it runs, and where its metrics and traces go.
#[derive(Debug)]
pub struct StreamHandler<P> {
    engine: BatchEngine,
    processor: P,
    metrics: Metrics,
    traces: Option<Traces>,
    /// `true` until the first invocation of this handler (one per process) has started.
    cold: AtomicBool,
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
    /// A handler running `processor` with `engine`, without metrics (see [`with_metrics`](Self::with_metrics)).
    pub fn new(engine: BatchEngine, processor: P) -> Self {
        Self {
            engine,
            processor,
            metrics: Metrics::disabled(),
            traces: None,
            cold: AtomicBool::new(true),
        }
    }

    /// Writes the metrics of every invocation through `metrics`.
    pub fn with_metrics(mut self, metrics: Metrics) -> Self {
        self.metrics = metrics;
        self
    }

    /// Exports the spans of every invocation through `traces`, flushed before the handler returns.
    pub fn with_traces(mut self, traces: Option<Traces>) -> Self {
        self.traces = traces;
        self
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
        let invocation = Invocation::from_context(&event.context, &self.engine);
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
        traces::annotate_invocation(
            &span,
            InvocationAttributes {
                request_id: &invocation.request_id,
                invoked_function_arn: &invocation.invoked_function_arn,
                cold_start,
            },
        );

        let mut record = RunRecord::default();
        let run = AssertUnwindSafe(
            self.run(payload, invocation, &mut record)
                .instrument(span.clone()),
        );
        let caught = router::scope(Arc::clone(&collected), run.catch_unwind()).await;
        let (result, handler_panicked) = match caught {
            Ok(result) => (result, false),
            Err(panic) => {
                let error = InvocationError::HandlerPanicked {
                    message: panic_message(panic.as_ref()),
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
        traces::finish_invocation(&span, checkpoint, failure);
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
        let event = match parse_event(payload) {
            Ok(event) => event,
            Err(invalid) => {
                record.records_in_invalid_event = count_records_leniently(payload);
                error!(
                    error_type = invalid.error_type(),
                    "{invalid}; failing the invocation (Lambda retries the batch)"
                );
                return Err(invalid);
            }
        };
        record.batch = Some(BatchFacts::of(&event.records));
        traces::annotate_batch(&Span::current(), &event.records);
        let started = tokio::time::Instant::now();
        let outcome = self
            .engine
            .process_batch(&self.processor, event.records, &invocation.deadline)
            .await;
        record.batch_time = Some(started.elapsed());
        log_summary(&outcome);
        let response = outcome.to_response();
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
