//! The invocations the benchmarks compare, shared by criterion's `overhead` and by `ratios`
//! (alternating pairs and instruction counts), so that all of them measure the same pairs.

use std::hint::black_box;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use ddb_stream_processor::engine::EngineConfig;
use ddb_stream_processor::telemetry::metrics::sink::WriterSink;
use ddb_stream_processor::telemetry::metrics::{Metrics, MetricsConfig};
use ddb_stream_processor::telemetry::traces::{RecordSampling, RecordSpans, Traces};
use ddb_stream_processor::{BatchEngine, ChangeRecord, RecordProcessor, StreamHandler};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};

use super::{OrderDecoder, info_json_logs, invocation, order_event, runtime};

/// One way of running an invocation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    /// The event parsed into `aws_lambda_events`' types and dropped.
    Parse,
    /// The AWS documentation's loop.
    Bare,
    /// The template, OTel off.
    Template,
    /// The template, every record in its span, exported and flushed.
    TemplateOtel,
    /// The template, record spans kept by the default sampling policy (none of these records fails,
    /// retries or is slow: 1 in 100 has a span), exported and flushed.
    TemplateOtelSampled,
    /// The template, record spans only for failed, retried and slow records (none here): the
    /// invocation span alone is exported.
    TemplateOtelProblems,
}

impl Variant {
    /// Every variant, `Bare` before the others (their ratios are to it).
    pub const ALL: [Variant; 6] = [
        Variant::Bare,
        Variant::Parse,
        Variant::Template,
        Variant::TemplateOtel,
        Variant::TemplateOtelSampled,
        Variant::TemplateOtelProblems,
    ];

    /// The name on the command line and in the tables.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Parse => "parse",
            Variant::Bare => "bare",
            Variant::Template => "template",
            Variant::TemplateOtel => "template_otel",
            Variant::TemplateOtelSampled => "template_otel_sampled",
            Variant::TemplateOtelProblems => "template_otel_problems",
        }
    }

    /// The variant called `name`.
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|variant| variant.name() == name)
    }
}

/// The AWS documentation's loop: no engine, no telemetry.
pub async fn bare<P: RecordProcessor>(payload: &[u8], processor: &P) -> Vec<u8> {
    bare_parsed_by(
        |payload| serde_json::from_slice(payload).expect("a valid event"),
        payload,
        processor,
    )
    .await
}

/// [`bare`] with the event parsed by `parse` (the `parsers` benchmark swaps serde_json for others).
pub async fn bare_parsed_by<P: RecordProcessor>(
    parse: impl FnOnce(&[u8]) -> Event,
    payload: &[u8],
    processor: &P,
) -> Vec<u8> {
    let event = parse(payload);
    let mut response = DynamoDbEventResponse::default();
    for record in event.records {
        let sequence_number = record.change.sequence_number.clone();
        let change = ChangeRecord::try_from(record).expect("a known operation");
        if processor.process(&change).await.is_err() {
            let mut failure = DynamoDbBatchItemFailure::default();
            failure.item_identifier = sequence_number;
            response.batch_item_failures.push(failure);
            break;
        }
    }
    serde_json::to_vec(&response).expect("serialisable")
}

/// The template's handler around `processor`, metrics written to a discarded sink.
pub fn template<P: RecordProcessor>(processor: P, engine: EngineConfig) -> StreamHandler<P> {
    let metrics = Metrics::new(MetricsConfig::default(), Arc::new(WriterSink::new(io::sink())));
    StreamHandler::new(processor)
        .with_engine(BatchEngine::new(engine))
        .with_metrics(metrics)
}

/// One invocation through the template, its response serialized.
pub async fn through_template<P: RecordProcessor>(handler: &StreamHandler<P>, payload: &[u8]) -> Vec<u8> {
    let response = handler
        .handle_payload(payload, &invocation())
        .await
        .expect("a valid batch succeeds");
    serde_json::to_vec(&response).expect("serialisable")
}

/// A trace pipeline exporting to memory through the SDK's batch processor, as the OTLP one does,
/// keeping the record spans `sampling` keeps.
pub fn in_memory_traces(sampling: RecordSampling) -> (Traces, InMemorySpanExporter) {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter.clone())
        .build();
    let traces =
        Traces::with_provider(provider, Duration::from_secs(5), false).with_record_sampling(sampling);
    (traces, exporter)
}

/// A variant ready to run invocations on its event: the handler, the trace pipeline and the logs
/// are built once, outside anything measured.
pub struct Prepared {
    variant: Variant,
    runtime: tokio::runtime::Runtime,
    payload: Vec<u8>,
    handler: Option<StreamHandler<OrderDecoder>>,
    traces: Option<(Traces, InMemorySpanExporter)>,
    logs: tracing::Dispatch,
}

impl Prepared {
    /// `variant` on an event of `records` order INSERTs over as many keys.
    pub fn new(variant: Variant, records: usize) -> Self {
        let traces = match variant {
            Variant::TemplateOtel => Some(in_memory_traces(RecordSampling::all())),
            Variant::TemplateOtelSampled => Some(in_memory_traces(RecordSampling::default())),
            Variant::TemplateOtelProblems => Some(in_memory_traces(RecordSampling {
                spans: RecordSpans::Problems,
                ..RecordSampling::default()
            })),
            Variant::Parse | Variant::Bare | Variant::Template => None,
        };
        let handler = match variant {
            Variant::Template
            | Variant::TemplateOtel
            | Variant::TemplateOtelSampled
            | Variant::TemplateOtelProblems => Some(
                template(OrderDecoder, EngineConfig::default())
                    .with_traces(traces.as_ref().map(|(traces, _)| traces.clone())),
            ),
            Variant::Parse | Variant::Bare => None,
        };
        let logs = tracing::Dispatch::new(info_json_logs(traces.as_ref().map(|(traces, _)| traces)));
        Self {
            variant,
            runtime: runtime(),
            payload: order_event(records, records),
            handler,
            traces,
            logs,
        }
    }

    /// The variant.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// One invocation, with the variant's logs (and traces) as the thread's subscriber while it
    /// runs; returns the size of its response (so that nothing is optimised away). Exported spans
    /// are dropped afterwards.
    pub fn invoke(&self) -> usize {
        let Some(handler) = &self.handler else {
            return match self.variant {
                Variant::Parse => {
                    let event: Event =
                        serde_json::from_slice(black_box(&self.payload)).expect("a valid event");
                    black_box(event).records.len()
                }
                _ => self.runtime.block_on(bare(&self.payload, &OrderDecoder)).len(),
            };
        };
        let size = tracing::dispatcher::with_default(&self.logs, || {
            self.runtime
                .block_on(through_template(handler, &self.payload))
                .len()
        });
        if let Some((_, exporter)) = &self.traces {
            exporter.reset();
        }
        size
    }
}
