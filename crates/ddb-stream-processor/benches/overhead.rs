//! What the template costs, against the bare loop of the AWS documentation's Rust example.
//!
//! - `bare`: deserialize the event, loop over the records, call the processor, stop at the first
//!   failure and report it; no metrics, no spans, no logs.
//! - `template`: `StreamHandler::handle_payload`, the whole invocation path: the event parsed and
//!   checked, the engine (a span per record, retries, panic isolation, deadline), the response, the
//!   EMF flush and the INFO log line (JSON), OTel off. Both serialize their response.
//! - `template_otel`: the same, with every span exported to an in-process exporter and flushed.
//!
//! The processor is the same in all three: `support::OrderDecoder`, which decodes each image into an order as the example does.
//! An I/O-bound group compares the in-order engine with per-key concurrency on records whose
//! processor waits 2 ms.
//!
//! Run: `cargo bench --bench overhead`. BENCHMARKS.md records the numbers.

mod support;

use std::hint::black_box;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use aws_lambda_events::event::dynamodb::Event;
use aws_lambda_events::event::streams::{DynamoDbBatchItemFailure, DynamoDbEventResponse};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ddb_stream_processor::engine::EngineConfig;
use ddb_stream_processor::telemetry::metrics::sink::WriterSink;
use ddb_stream_processor::telemetry::metrics::{Metrics, MetricsConfig};
use ddb_stream_processor::telemetry::traces::Traces;
use ddb_stream_processor::{BatchEngine, ChangeRecord, RecordError, RecordProcessor, StreamHandler};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider};
use support::{OrderDecoder, info_json_logs, invocation, order_event, runtime};

/// The AWS documentation's loop: no engine, no telemetry.
async fn bare<P: RecordProcessor>(payload: &[u8], processor: &P) -> Vec<u8> {
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

fn template<P: RecordProcessor>(processor: P, engine: EngineConfig) -> StreamHandler<P> {
    let metrics = Metrics::new(MetricsConfig::default(), Arc::new(WriterSink::new(io::sink())));
    StreamHandler::new(processor)
        .with_engine(BatchEngine::new(engine))
        .with_metrics(metrics)
}

async fn through_template<P: RecordProcessor>(handler: &StreamHandler<P>, payload: &[u8]) -> Vec<u8> {
    let response = handler
        .handle_payload(payload, &invocation())
        .await
        .expect("a valid batch succeeds");
    serde_json::to_vec(&response).expect("serialisable")
}

fn install_logs(traces: Option<&Traces>) -> tracing::subscriber::DefaultGuard {
    tracing::subscriber::set_default(info_json_logs(traces))
}

fn overhead(c: &mut Criterion) {
    let runtime = runtime();
    let mut group = c.benchmark_group("overhead");
    group.sample_size(20).measurement_time(Duration::from_secs(8));
    let sizes = [100, 1_000, 10_000];
    // Every run without OTel comes first: once a subscriber with the OpenTelemetry layer has existed
    // in the process, the later runs were up to 1.6 times slower (at 1,000 records; most likely
    // tracing's callsite interest cache, which then asks the current subscriber about every span),
    // a cost a deployed function, with its one subscriber, does not pay.
    for records in sizes {
        let payload = order_event(records, records);
        group.throughput(Throughput::Elements(records as u64));

        group.bench_with_input(BenchmarkId::new("bare", records), &payload, |bench, payload| {
            bench.iter(|| black_box(runtime.block_on(bare(payload, &OrderDecoder))));
        });

        let handler = template(OrderDecoder, EngineConfig::default());
        group.bench_with_input(
            BenchmarkId::new("template", records),
            &payload,
            |bench, payload| {
                let _logs = install_logs(None);
                bench.iter(|| black_box(runtime.block_on(through_template(&handler, payload))));
            },
        );
    }
    for records in sizes {
        let payload = order_event(records, records);
        group.throughput(Throughput::Elements(records as u64));
        let exporter = InMemorySpanExporter::default();
        let provider = SdkTracerProvider::builder()
            .with_batch_exporter(exporter.clone())
            .build();
        let traces = Traces::with_provider(provider, Duration::from_secs(5), false);
        let traced = template(OrderDecoder, EngineConfig::default()).with_traces(Some(traces.clone()));
        group.bench_with_input(
            BenchmarkId::new("template_otel", records),
            &payload,
            |bench, payload| {
                let _logs = install_logs(Some(&traces));
                bench.iter(|| {
                    let response = runtime.block_on(through_template(&traced, payload));
                    exporter.reset();
                    black_box(response)
                });
            },
        );
    }
    group.finish();
}

/// A processor that waits 2 ms per record, like a call to another service.
struct Waits;

impl RecordProcessor for Waits {
    async fn process(&self, _record: &ChangeRecord) -> Result<(), RecordError> {
        tokio::time::sleep(Duration::from_millis(2)).await;
        Ok(())
    }
}

fn io_bound(c: &mut Criterion) {
    let runtime = runtime();
    let payload = order_event(1_000, 100);
    let mut group = c.benchmark_group("io_bound_1000_records_100_keys");
    group.sample_size(10).measurement_time(Duration::from_secs(30));
    for (label, max_in_flight) in [("in_order", 1), ("per_key_100_in_flight", 100)] {
        let handler = template(
            Waits,
            EngineConfig {
                max_in_flight,
                ..EngineConfig::default()
            },
        );
        group.bench_function(label, |bench| {
            bench.iter(|| black_box(runtime.block_on(through_template(&handler, &payload))));
        });
    }
    group.finish();
}

criterion_group!(benches, overhead, io_bound);
criterion_main!(benches);
