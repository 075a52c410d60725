//! What the template costs, against the bare loop of the AWS documentation's Rust example.
//!
//! - `bare`: deserialize the event, loop over the records, call the processor, stop at the first
//!   failure and report it; no metrics, no spans, no logs.
//! - `template`: `StreamHandler::handle_payload`, the whole invocation path: the event parsed and
//!   checked, the engine (a span per record, retries, panic isolation, deadline), the response, the
//!   EMF flush and the INFO log line (JSON), OTel off. Both serialize their response.
//! - `template_otel`: the same, with every record in its span (`PROCESSOR_TRACE_RECORDS=all`),
//!   exported to an in-process exporter and flushed.
//! - `template_otel_sampled`: the same with the default sampling policy: none of these records
//!   fails, retries or is slow, so 1 in 100 has a span.
//!
//! The processor is the same in all three: `support::OrderDecoder`, which decodes each image into an order as the example does.
//! An I/O-bound group compares the in-order engine with per-key concurrency on records whose
//! processor waits 2 ms.
//!
//! Run: `cargo bench --bench overhead`. BENCHMARKS.md records the numbers.

mod support;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ddb_stream_processor::engine::EngineConfig;
use ddb_stream_processor::telemetry::traces::{RecordSampling, Traces};
use ddb_stream_processor::{ChangeRecord, RecordError, RecordProcessor};
use support::variants::{bare, in_memory_traces, template, through_template};
use support::{OrderDecoder, info_json_logs, order_event, runtime};

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
    for (label, sampling) in [
        ("template_otel", RecordSampling::all()),
        ("template_otel_sampled", RecordSampling::default()),
    ] {
        for records in sizes {
            let payload = order_event(records, records);
            group.throughput(Throughput::Elements(records as u64));
            let (traces, exporter) = in_memory_traces(sampling);
            let traced = template(OrderDecoder, EngineConfig::default()).with_traces(Some(traces.clone()));
            group.bench_with_input(BenchmarkId::new(label, records), &payload, |bench, payload| {
                let _logs = install_logs(Some(&traces));
                bench.iter(|| {
                    let response = runtime.block_on(through_template(&traced, payload));
                    exporter.reset();
                    black_box(response)
                });
            });
        }
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
