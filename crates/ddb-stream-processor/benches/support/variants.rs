//! The invocations the benchmarks compare, as functions both the wall-clock benchmark (`overhead`)
//! and the instruction counts (`instructions`) run, so that both measure the same pairs.

use std::hint::black_box;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use ddb_stream_processor::engine::EngineConfig;
use ddb_stream_processor::telemetry::metrics::sink::WriterSink;
use ddb_stream_processor::telemetry::metrics::{Metrics, MetricsConfig};
use ddb_stream_processor::telemetry::traces::{RecordSampling, Traces};
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
}

impl Variant {
    /// Every variant, `Bare` before the others (their ratios are to it).
    pub const ALL: [Variant; 5] = [
        Variant::Bare,
        Variant::Parse,
        Variant::Template,
        Variant::TemplateOtel,
        Variant::TemplateOtelSampled,
    ];

    /// The name on the command line and in the tables.
    pub fn name(self) -> &'static str {
        match self {
            Variant::Parse => "parse",
            Variant::Bare => "bare",
            Variant::Template => "template",
            Variant::TemplateOtel => "template_otel",
            Variant::TemplateOtelSampled => "template_otel_sampled",
        }
    }

    /// The variant called `name`.
    pub fn named(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|variant| variant.name() == name)
    }
}

/// The AWS documentation's loop: no engine, no telemetry.
pub async fn bare<P: RecordProcessor>(payload: &[u8], processor: &P) -> Vec<u8> {
    let event: Event = serde_json::from_slice(payload).expect("a valid event");
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

/// Runs `variant` `invocations` times on an event of `records` order INSERTs over as many keys;
/// returns the size of the last response (so that nothing is optimised away).
pub fn run_variant(variant: Variant, records: usize, invocations: u32) -> usize {
    let runtime = runtime();
    let payload = order_event(records, records);
    let mut last = 0;
    match variant {
        Variant::Parse => {
            for _ in 0..invocations {
                let event: Event = serde_json::from_slice(black_box(&payload)).expect("a valid event");
                last = black_box(event).records.len();
            }
        }
        Variant::Bare => {
            for _ in 0..invocations {
                last = runtime.block_on(bare(&payload, &OrderDecoder)).len();
            }
        }
        Variant::Template => {
            let handler = template(OrderDecoder, EngineConfig::default());
            let _logs = tracing::subscriber::set_default(info_json_logs(None));
            for _ in 0..invocations {
                last = runtime.block_on(through_template(&handler, &payload)).len();
            }
        }
        Variant::TemplateOtel | Variant::TemplateOtelSampled => {
            let sampling = if variant == Variant::TemplateOtel {
                RecordSampling::all()
            } else {
                RecordSampling::default()
            };
            let (traces, exporter) = in_memory_traces(sampling);
            let handler = template(OrderDecoder, EngineConfig::default()).with_traces(Some(traces.clone()));
            let _logs = tracing::subscriber::set_default(info_json_logs(Some(&traces)));
            for _ in 0..invocations {
                last = runtime.block_on(through_template(&handler, &payload)).len();
                exporter.reset();
            }
        }
    }
    last
}
