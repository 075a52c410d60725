//! The whole invocation path, payload bytes to response, with metrics on and off.
//!
//! Each iteration runs `StreamHandler::handle_payload` on a JSON event of valid order items with the
//! example processor: parsing, the engine (one span per record), the response, the INFO summary log
//! (JSON, to a discarded writer) and, with metrics on, the EMF flush (to a discarded writer). The
//! ratio of the two is the cost of the metrics; the README's performance section records it.
//!
//! Run: `cargo bench --bench invocation`.

mod support;

use std::hint::black_box;
use std::io;
use std::sync::Arc;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use ddb_stream_processor::engine::{DeadlineMargin, EngineConfig};
use ddb_stream_processor::telemetry::metrics::sink::WriterSink;
use ddb_stream_processor::telemetry::metrics::{Metrics, MetricsConfig};
use ddb_stream_processor::testing::internals::flush_batch_metrics;
use ddb_stream_processor::{BatchEngine, Deadline, StreamHandler};
use support::{OrderDecoder, info_json_logs, invocation, order_event, runtime};

fn handler(metrics_on: bool) -> StreamHandler<OrderDecoder> {
    let metrics = if metrics_on {
        Metrics::new(MetricsConfig::default(), Arc::new(WriterSink::new(io::sink())))
    } else {
        Metrics::disabled()
    };
    StreamHandler::new(OrderDecoder).with_metrics(metrics)
}

fn invocation_path(c: &mut Criterion) {
    // Logs at INFO in Lambda's JSON format, written to a discarded sink: their cost is in every number.
    tracing::subscriber::set_global_default(info_json_logs(None)).expect("first subscriber");
    let runtime = runtime();

    let mut group = c.benchmark_group("invocation");
    group.sample_size(30).measurement_time(Duration::from_secs(10));
    for records in [1_000, 10_000] {
        let payload = order_event(records, records);
        group.throughput(Throughput::Elements(records as u64));
        for (label, metrics_on) in [("metrics_off", false), ("metrics_on", true)] {
            let handler = handler(metrics_on);
            group.bench_with_input(BenchmarkId::new(label, records), &payload, |bench, payload| {
                bench.iter(|| {
                    let response = runtime.block_on(handler.handle_payload(payload, &invocation()));
                    black_box(response.expect("a valid batch succeeds"))
                });
            });
        }
    }
    group.finish();
}

/// The metrics' own cost, measured directly: recording a 10,000-record outcome and encoding and
/// writing its documents (the part of `metrics_on` that `metrics_off` does not do).
fn metrics_flush(c: &mut Criterion) {
    let runtime = runtime();
    let engine = BatchEngine::new(EngineConfig::default());
    let parsed =
        ddb_stream_processor::testing::internals::parse_event(&order_event(10_000, 10_000)).expect("valid");
    let facts = parsed.facts;
    let deadline = Deadline::after(Duration::from_secs(900), DeadlineMargin::Proportional);
    let outcome = runtime.block_on(engine.process_batch(&OrderDecoder, parsed.records, &deadline));
    let metrics = Metrics::new(MetricsConfig::default(), Arc::new(WriterSink::new(io::sink())));
    c.bench_function("metrics_flush/10000", |bench| {
        bench.iter(|| {
            black_box(flush_batch_metrics(
                &metrics,
                &facts,
                &outcome,
                Duration::from_millis(100),
            ))
        });
    });
}

criterion_group!(benches, invocation_path, metrics_flush);
criterion_main!(benches);
