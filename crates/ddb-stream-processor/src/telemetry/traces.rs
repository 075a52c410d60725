//! Traces: the `tracing` spans of each invocation, exported as OpenTelemetry spans over OTLP/HTTP,
//! flushed before the runtime asks for the next event.
//!
//! # When it is on
//! Only when `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` is set (the
//! OpenTelemetry and ADOT Lambda layers run a collector on `localhost:4318`). Otherwise no exporter
//! is built and nothing tries to connect.
//!
//! # What is exported
//! The handler's `invocation` span becomes a SERVER span named after the function, with the FaaS
//! conventions for a datasource trigger (`faas.trigger`, `faas.invocation_id`, `faas.coldstart`,
//! `cloud.account.id`, `aws.lambda.invoked_arn`, `faas.document.collection`,
//! `messaging.batch.message_count`), and the checkpoint as `aws.dynamodb.stream.checkpoint`. Each
//! `record` span is its child with `faas.document.operation` (insert / edit / delete), the table, the
//! sequence number and event id; a record that failed has error status and its reason. The
//! [`Traces`] pipeline adds the convention attributes (as the engine's [`RecordObserver`] for record
//! spans, through [`OpenTelemetrySpanExt`] for the invocation span), so they cost nothing when
//! traces are off and never clutter the logs.
//!
//! # Which records get a span
//! [`RecordSampling`] (`PROCESSOR_TRACE_RECORDS`): every record, or — the default — failed, retried
//! and slow records and 1 in N of the others, or the failed, retried and slow ones only. A record
//! sampled when it starts runs in an INFO span the export turns into a span, with everything the
//! processor traces inside it; any other record runs untraced (the export's filter ignores the spans
//! and events made inside it, see [`inside_untraced_record`]) and, if it then fails, is retried or
//! is slow, gets a span built from what the engine measured, its retries as events.
//!
//! The exporter is behind the crate feature `otlp` (the template's binary turns it on); without it
//! an OTLP endpoint in the environment is a start-up error that says so.
//!
//! # Flushing
//! Lambda freezes the sandbox once the runtime polls `/next`: spans still buffered then are exported
//! late or never. The handler closes the invocation span and calls [`Traces::flush`] before it
//! returns, so every span of an invocation is exported before the response is even posted. The
//! flush runs on a blocking thread and is bounded by `PROCESSOR_TRACE_FLUSH_TIMEOUT_MS`, which is
//! also the exporter's HTTP timeout: a dead or hanging collector costs at most that per invocation
//! and never fails the batch.
//!
//! # Not losing spans
//! A batch has at most 10,000 records, one span each, plus the invocation span. The batch
//! processor's queue is sized to [`DEFAULT_MAX_QUEUE_SIZE`] (the SDK default of 2,048 would drop the
//! rest silently) unless `OTEL_BSP_MAX_QUEUE_SIZE` says otherwise.
//!
//! # X-Ray
//! With `OTEL_PROPAGATORS` naming `xray-lambda` (or `xray`), the invocation's `Lambda-Runtime-Trace-Id`
//! (from the context, never the `_X_AMZN_TRACE_ID` variable, which is unset under concurrent
//! invocations) becomes the parent of the invocation span, and trace ids are generated in X-Ray's
//! format. The trace header is always in the logs as `xrayTraceId`.

use std::num::NonZeroU32;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use chrono::SecondsFormat;
use opentelemetry::trace::{Span as _, Status, TraceContextExt, Tracer as _, TracerProvider as _};
use opentelemetry::{Context, KeyValue};
#[cfg(feature = "otlp")]
use opentelemetry_otlp::{Protocol, SpanExporter, WithExportConfig};
#[cfg(feature = "otlp")]
use opentelemetry_sdk::Resource;
#[cfg(feature = "otlp")]
use opentelemetry_sdk::trace::{BatchConfigBuilder, BatchSpanProcessor};
use opentelemetry_sdk::trace::{SdkTracer, SdkTracerProvider};
use tracing::Span;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::filter::{FilterExt, LevelFilter, dynamic_filter_fn, filter_fn};
use tracing_subscriber::{Layer, Registry};

use crate::engine::{
    RETRY_LINE, RecordEnding, RecordObserver, RecordSpan, StopReason, inside_untraced_record, record_span,
    run_untraced,
};
use crate::record::{BatchRecord, Operation, identity};
use crate::telemetry::repeated_failures::is_not_a_repeated_failure;

/// The default flush budget per invocation.
pub(crate) const DEFAULT_FLUSH_TIMEOUT: Duration = Duration::from_millis(500);
/// The batch processor's queue: a full batch of 10,000 record spans and its invocation span, with room
/// for a batch whose flush has not finished yet.
pub const DEFAULT_MAX_QUEUE_SIZE: usize = 16_384;
/// The instrumentation scope of the spans.
const SCOPE: &str = "ddb-stream-processor";

/// How traces are configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceSettings {
    /// The OTLP endpoint variable that turned tracing on, when one is set.
    pub endpoint: Option<String>,
    /// The flush budget per invocation, also the exporter's HTTP timeout.
    pub flush_timeout: Duration,
    /// `OTEL_PROPAGATORS` names `xray-lambda` or `xray`.
    pub xray_propagation: bool,
    /// `OTEL_BSP_MAX_QUEUE_SIZE` is set: the SDK reads it and the template leaves the queue alone.
    pub queue_size_from_environment: bool,
    /// Which record spans are exported.
    pub records: RecordSampling,
}

impl Default for TraceSettings {
    fn default() -> Self {
        Self {
            endpoint: None,
            flush_timeout: DEFAULT_FLUSH_TIMEOUT,
            xray_propagation: false,
            queue_size_from_environment: false,
            records: RecordSampling::default(),
        }
    }
}

/// What the resource says about the function.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FunctionIdentity {
    /// `service.name`: the same service name as the metrics.
    pub service_name: String,
    /// `faas.name`.
    pub function_name: Option<String>,
    /// `faas.version`.
    pub function_version: Option<String>,
    /// `cloud.region`.
    pub region: Option<String>,
    /// `faas.max_memory`, in MB as Lambda gives it.
    pub memory_mb: Option<i64>,
    /// `faas.instance`: the log stream, unique per execution environment.
    pub log_stream: Option<String>,
}

/// The trace pipeline: the SDK provider with its OTLP exporter, the flush budget, and which
/// record spans are exported.
#[derive(Debug, Clone)]
pub struct Traces {
    provider: SdkTracerProvider,
    /// Builds the spans of records left out when they started and kept when they ended.
    tracer: SdkTracer,
    flush_timeout: Duration,
    xray_propagation: bool,
    sampling: RecordSampling,
    /// Records started so far, for 1 in N.
    records_seen: Arc<AtomicU64>,
}

/// Tracing was asked for but cannot start.
#[derive(Debug, thiserror::Error)]
#[error("cannot set up the OTLP trace exporter: {0}")]
pub struct TraceSetupError(String);

/// How a flush ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FlushOutcome {
    /// Every span ended so far was handed to the exporter and the export returned.
    Completed,
    /// The exporter reported an error (the collector is down or refused the spans).
    Failed(String),
    /// The budget ran out; the export goes on in the background.
    TimedOut,
}

impl Traces {
    /// Builds the OTLP/HTTP exporter and the provider, when `settings` has an endpoint.
    pub fn start(
        settings: &TraceSettings,
        identity: &FunctionIdentity,
    ) -> Result<Option<Self>, TraceSetupError> {
        if settings.endpoint.is_none() {
            return Ok(None);
        }
        Self::export_over_otlp(settings, identity).map(Some)
    }

    #[cfg(not(feature = "otlp"))]
    fn export_over_otlp(
        _settings: &TraceSettings,
        _identity: &FunctionIdentity,
    ) -> Result<Self, TraceSetupError> {
        Err(TraceSetupError(
            "an OTLP endpoint is set, but this function was built without the `otlp` feature of \
             ddb-stream-processor; turn it on in Cargo.toml or unset OTEL_EXPORTER_OTLP_ENDPOINT"
                .to_owned(),
        ))
    }

    #[cfg(feature = "otlp")]
    fn export_over_otlp(
        settings: &TraceSettings,
        identity: &FunctionIdentity,
    ) -> Result<Self, TraceSetupError> {
        // The endpoint, headers and protocol details come from the standard OTEL_EXPORTER_OTLP_*
        // variables; the timeout is the flush budget, so a hanging collector cannot hold a flush.
        let exporter = SpanExporter::builder()
            .with_http()
            .with_protocol(Protocol::HttpBinary)
            .with_timeout(settings.flush_timeout)
            .build()
            .map_err(|error| TraceSetupError(error.to_string()))?;
        let mut batch = BatchConfigBuilder::default();
        if !settings.queue_size_from_environment {
            batch = batch.with_max_queue_size(DEFAULT_MAX_QUEUE_SIZE);
        }
        let processor = BatchSpanProcessor::builder(exporter)
            .with_batch_config(batch.build())
            .build();
        let mut builder = SdkTracerProvider::builder()
            .with_span_processor(processor)
            .with_resource(resource(identity));
        if settings.xray_propagation {
            builder = builder.with_id_generator(opentelemetry_aws::trace::XrayIdGenerator::default());
        }
        Ok(
            Self::with_provider(builder.build(), settings.flush_timeout, settings.xray_propagation)
                .with_record_sampling(settings.records),
        )
    }

    /// A pipeline around an existing provider (tests use one with an in-memory exporter), with
    /// the default [`RecordSampling`].
    pub fn with_provider(
        provider: SdkTracerProvider,
        flush_timeout: Duration,
        xray_propagation: bool,
    ) -> Self {
        Self {
            tracer: provider.tracer(SCOPE),
            provider,
            flush_timeout,
            xray_propagation,
            sampling: RecordSampling::default(),
            records_seen: Arc::new(AtomicU64::new(0)),
        }
    }

    /// Exports the record spans `sampling` keeps.
    pub fn with_record_sampling(mut self, sampling: RecordSampling) -> Self {
        self.sampling = sampling;
        self
    }

    /// The `tracing` layer that turns INFO spans into OpenTelemetry spans.
    ///
    /// Without the attributes tracing-opentelemetry adds to every span by default, each of which a
    /// 10,000-record batch pays 10,000 times: the source location (`code.*`: the template's own
    /// file and line, the same on every record span), the thread (`thread.*`: the function runs on
    /// one thread), and busy and idle times (`busy_ns`, `idle_ns`: two clock reads on every poll;
    /// the span's start and end are the times that matter).
    pub fn layer(&self) -> Box<dyn Layer<Registry> + Send + Sync> {
        tracing_opentelemetry::layer()
            .with_tracer(self.tracer.clone())
            .with_location(false)
            .with_threads(false)
            .with_tracked_inactivity(false)
            .with_target(false)
            .with_filter(
                LevelFilter::INFO
                    .and(filter_fn(is_not_a_repeated_failure))
                    .and(dynamic_filter_fn(|_, _| !inside_untraced_record())),
            )
            .boxed()
    }

    /// Whether the X-Ray trace header becomes the parent of the invocation span.
    pub fn xray_propagation(&self) -> bool {
        self.xray_propagation
    }

    /// Exports every ended span, waiting at most the flush budget.
    pub async fn flush(&self) -> FlushOutcome {
        let provider = self.provider.clone();
        let flushing = tokio::task::spawn_blocking(move || provider.force_flush());
        match tokio::time::timeout(self.flush_timeout, flushing).await {
            Ok(Ok(Ok(()))) => FlushOutcome::Completed,
            Ok(Ok(Err(error))) => FlushOutcome::Failed(error.to_string()),
            Ok(Err(join_error)) => FlushOutcome::Failed(join_error.to_string()),
            Err(_elapsed) => FlushOutcome::TimedOut,
        }
    }

    /// Flushes and stops the exporter (on SIGTERM, or at the end of a local run), within the budget.
    pub fn shutdown(&self) {
        if let Err(error) = self.provider.shutdown_with_timeout(self.flush_timeout) {
            tracing::warn!("the trace exporter did not shut down cleanly: {error}");
        }
    }
}

#[cfg(feature = "otlp")]
fn resource(identity: &FunctionIdentity) -> Resource {
    let mut attributes = vec![
        KeyValue::new("cloud.provider", "aws"),
        KeyValue::new("cloud.platform", "aws_lambda"),
    ];
    let mut optional = |key: &'static str, value: &Option<String>| {
        if let Some(value) = value {
            attributes.push(KeyValue::new(key, value.clone()));
        }
    };
    optional("faas.name", &identity.function_name);
    optional("faas.version", &identity.function_version);
    optional("cloud.region", &identity.region);
    optional("faas.instance", &identity.log_stream);
    if let Some(memory_mb) = identity.memory_mb {
        attributes.push(KeyValue::new("faas.max_memory", memory_mb * 1024 * 1024));
    }
    let mut builder = Resource::builder().with_attributes(attributes);
    // OTEL_SERVICE_NAME, read by the SDK's default detectors, wins over the template's name.
    if std::env::var_os("OTEL_SERVICE_NAME").is_none() {
        builder = builder.with_service_name(identity.service_name.clone());
    }
    builder.build()
}

/// The parent context for an invocation with this X-Ray trace header, if it parses.
pub(crate) fn xray_parent(trace_header: &str) -> Option<Context> {
    let span_context = opentelemetry_aws::trace::xray_propagator::span_context_from_str(trace_header)?;
    Some(Context::new().with_remote_span_context(span_context))
}

/// What the invocation span says about the invocation, beyond its fields.
#[derive(Debug, Clone, Copy)]
pub(crate) struct InvocationAttributes<'a> {
    pub request_id: &'a str,
    pub invoked_function_arn: &'a str,
    pub cold_start: bool,
}

impl Traces {
    /// Sets the FaaS convention attributes of a new invocation span.
    pub(crate) fn annotate_invocation(&self, span: &Span, attributes: InvocationAttributes<'_>) {
        span.set_attribute("faas.trigger", "datasource");
        span.set_attribute("faas.invocation_id", attributes.request_id.to_owned());
        span.set_attribute("faas.coldstart", attributes.cold_start);
        span.set_attribute(
            "aws.lambda.invoked_arn",
            attributes.invoked_function_arn.to_owned(),
        );
        // arn:aws:lambda:<region>:<account>:function:<name>[:<alias>]
        if let Some(account) = attributes
            .invoked_function_arn
            .split(':')
            .nth(4)
            .filter(|a| !a.is_empty())
        {
            span.set_attribute("cloud.account.id", account.to_owned());
        }
    }

    /// Sets what is known once the batch is parsed.
    pub(crate) fn annotate_batch(&self, span: &Span, records: &[BatchRecord]) {
        span.set_attribute("messaging.batch.message_count", records.len() as i64);
        if let Some(table) = records.first().and_then(|record| identity(record).table_name) {
            span.set_attribute("faas.document.collection", table.to_owned());
        }
    }

    /// Records how the invocation ended: the checkpoint, or the error that fails it.
    pub(crate) fn finish_invocation(
        &self,
        span: &Span,
        checkpoint: Option<&str>,
        error: Option<(&'static str, String)>,
    ) {
        if let Some(sequence_number) = checkpoint {
            span.set_attribute("aws.dynamodb.stream.checkpoint", sequence_number.to_owned());
        }
        if let Some((error_type, message)) = error {
            span.set_attribute("error.type", error_type);
            span.set_status(Status::error(message));
        }
    }
}

/// Which records get a span of their own. The invocation span is always exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordSpans {
    /// Every record, whatever happens to it.
    All,
    /// Failed, retried and slow records, and one in `every` of the others.
    Sampled {
        /// 1 in how many of the other records gets a span.
        every: NonZeroU32,
    },
    /// Failed, retried and slow records only.
    Problems,
}

/// The default of `PROCESSOR_TRACE_SAMPLE_EVERY`.
pub const DEFAULT_SAMPLE_EVERY: NonZeroU32 = NonZeroU32::new(100).expect("not zero");
/// The default of `PROCESSOR_TRACE_SLOW_RECORD_MS`.
pub const DEFAULT_SLOW_RECORD: Duration = Duration::from_millis(1_000);

/// Which record spans are exported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecordSampling {
    /// The policy.
    pub spans: RecordSpans,
    /// A record that takes at least this long (retries and pauses included) always gets a span.
    pub slow: Duration,
}

impl Default for RecordSampling {
    fn default() -> Self {
        Self {
            spans: RecordSpans::Sampled {
                every: DEFAULT_SAMPLE_EVERY,
            },
            slow: DEFAULT_SLOW_RECORD,
        }
    }
}

impl RecordSampling {
    /// Every record in its span.
    pub fn all() -> Self {
        Self {
            spans: RecordSpans::All,
            ..Self::default()
        }
    }
}

/// Why a record left out of the trace when it started gets a span when it ends, if it does.
fn reason_to_keep(ending: &RecordEnding<'_>, slow: Duration) -> Option<&'static str> {
    if ending.not_completed.is_some() {
        Some("failed")
    } else if !ending.retries.is_empty() {
        Some("retried")
    } else if ending.elapsed.is_some_and(|elapsed| elapsed >= slow) {
        Some("slow")
    } else {
        None
    }
}

/// The document operation of a record (`insert`, `edit`, `delete`), as the FaaS conventions name it.
fn document_operation(event_name: &str) -> &'static str {
    match Operation::from_event_name(event_name) {
        Some(Operation::Insert) => "insert",
        Some(Operation::Modify) => "edit",
        Some(Operation::Remove) => "delete",
        None => "unknown",
    }
}

/// When the change was made, for `faas.document.time`.
fn document_time(record: &BatchRecord) -> Option<String> {
    match record {
        BatchRecord::Change(change) => change
            .approximate_creation_time
            .map(|created| created.to_rfc3339_opts(SecondsFormat::Millis, true)),
        BatchRecord::Unreadable(_) => None,
    }
}

/// What a record's span says about the record: its log fields and the FaaS document conventions.
/// A span opened when the record starts gets them as fields ([`Traces::record_started`]); a span
/// built when it ends gets them from here, so both say the same.
fn record_attributes(record: &BatchRecord, attempts: u32, keys: Option<&str>) -> Vec<KeyValue> {
    let time = document_time(record);
    let record = identity(record);
    let mut attributes = Vec::with_capacity(13);
    attributes.push(KeyValue::new("eventId", record.event_id.to_owned()));
    attributes.push(KeyValue::new(
        "sequenceNumber",
        record.sequence_number.unwrap_or_default().to_owned(),
    ));
    attributes.push(KeyValue::new("operation", record.event_name.to_owned()));
    attributes.push(KeyValue::new(
        "table",
        record.table_name.unwrap_or_default().to_owned(),
    ));
    attributes.push(KeyValue::new("attempt", i64::from(attempts.max(1))));
    if let Some(keys) = keys {
        attributes.push(KeyValue::new("keys", keys.to_owned()));
    }
    attributes.push(KeyValue::new(
        "faas.document.operation",
        document_operation(record.event_name),
    ));
    if let Some(table) = record.table_name {
        attributes.push(KeyValue::new("faas.document.collection", table.to_owned()));
    }
    if let Some(time) = time {
        attributes.push(KeyValue::new("faas.document.time", time));
    }
    if let Some(sequence_number) = record.sequence_number {
        attributes.push(KeyValue::new(
            "aws.dynamodb.stream.sequence_number",
            sequence_number.to_owned(),
        ));
    }
    attributes.push(KeyValue::new(
        "aws.dynamodb.stream.event_id",
        record.event_id.to_owned(),
    ));
    attributes
}

/// The `error.type` of a record that was not completed.
fn error_type(reason: &StopReason) -> &'static str {
    match reason {
        StopReason::Failed { kind, .. } => kind.as_str(),
        StopReason::Invalid { .. } => "invalid_record",
        StopReason::Panicked { .. } => "panic",
        StopReason::DeadlineReached { .. } => "deadline",
    }
}

/// Record spans follow [`RecordSampling`]: a record sampled when it starts runs in an INFO span with
/// the document conventions as fields, which the trace export turns into a span (with the spans and
/// events the processor makes inside it); any other record runs untraced (the export ignores
/// what happens inside it), and gets a span built from what the engine measured when it ends, if
/// it failed, was retried or was slow.
impl RecordObserver for Traces {
    fn record_started(&self, record: &BatchRecord) -> RecordSpan {
        let sampled = match self.sampling.spans {
            RecordSpans::All => true,
            RecordSpans::Sampled { every } => {
                self.records_seen.fetch_add(1, Ordering::Relaxed) % u64::from(every.get()) == 0
            }
            RecordSpans::Problems => false,
        };
        if !sampled {
            // Opened untraced, so that the export ignores the INFO span the logs need.
            let span = run_untraced(|| RecordSpan::for_logs(record).span);
            return RecordSpan {
                span,
                untraced: true,
                started_at: Some(SystemTime::now()),
            };
        }
        let time = document_time(record);
        let conventions = identity(record);
        let span = record_span!(
            info_span,
            record,
            faas.document.operation = document_operation(conventions.event_name),
            faas.document.collection = conventions.table_name,
            faas.document.time = time.as_deref(),
            aws.dynamodb.stream.sequence_number = conventions.sequence_number,
            aws.dynamodb.stream.event_id = conventions.event_id,
        );
        RecordSpan {
            span,
            untraced: false,
            started_at: None,
        }
    }

    fn record_ended(&self, observed: &RecordSpan, record: &BatchRecord, ending: &RecordEnding<'_>) {
        if !observed.untraced {
            if let Some(reason) = ending.not_completed {
                observed.span.set_attribute("error.type", error_type(reason));
                observed.span.set_status(Status::error(reason.to_string()));
            }
            return;
        }
        let Some(kept_because) = reason_to_keep(ending, self.sampling.slow) else {
            return;
        };
        let started_at = observed.started_at.unwrap_or_else(SystemTime::now);
        let mut attributes = record_attributes(record, ending.attempts, ending.keys);
        attributes.push(KeyValue::new("sampling.kept_because", kept_because));
        // The invocation span: the record span was exited, so it is the current one.
        let parent = Span::current().context();
        let mut span = self
            .tracer
            .span_builder("record")
            .with_start_time(started_at)
            .with_attributes(attributes)
            .start_with_context(&self.tracer, &parent);
        for retry in ending.retries {
            span.add_event_with_timestamp(
                RETRY_LINE,
                retry.at,
                vec![
                    KeyValue::new("attempt", i64::from(retry.attempt)),
                    KeyValue::new("error", retry.error.clone()),
                    KeyValue::new("retry_in_ms", retry.pause.as_millis() as i64),
                ],
            );
        }
        if let Some(reason) = ending.not_completed {
            span.set_attribute(KeyValue::new("error.type", error_type(reason)));
            span.set_status(Status::error(reason.to_string()));
        }
        span.end();
    }
}
