//! EMF metrics: valid documents, the right numbers, exactly one flush per invocation on every path,
//! no mixing between concurrent invocations, and golden files for every shipped event.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, TimeZone, Utc};
use ddb_stream_processor::clock::FixedClock;
use ddb_stream_processor::engine::{DeadlineMargin, EngineConfig};
use ddb_stream_processor::telemetry::metrics::Unit;
use ddb_stream_processor::telemetry::metrics::sink::MemorySink;
use ddb_stream_processor::telemetry::metrics::{Metrics, MetricsConfig, catalog};
use ddb_stream_processor::testing::ImageScriptedProcessor;
use ddb_stream_processor::testing::internals::emf::{self, Directive, Metric, Values};
use ddb_stream_processor::testing::internals::install_metrics_router;
use ddb_stream_processor::{
    BatchEngine, ChangeRecord, FailureKind, Invocation, RecordError, RecordProcessor, StreamHandler,
};
use serde_json::{Value, json};

use crate::support::binary::fixtures_root;
use crate::support::emf_validator::{assert_valid, values_by_metric};
use ddb_stream_processor::testing::records::{batch_json, event_id};
use ddb_stream_processor::testing::{Behaviour, ScriptedProcessor};

/// The wall clock of every in-process test: an hour after the sample events' records were created.
fn clock_time() -> DateTime<Utc> {
    Utc.timestamp_opt(1_793_491_200 + 3_600, 0).unwrap()
}

fn now_ms() -> i64 {
    clock_time().timestamp_millis()
}

fn directive() -> Directive {
    Directive {
        namespace: "DdbStreamProcessor".into(),
        service: "orders-stream".into(),
        high_resolution: false,
        timestamp_ms: now_ms(),
        properties: BTreeMap::from([("requestId".to_owned(), json!("req-1"))]),
    }
}

fn counter(name: String, value: f64) -> Metric {
    Metric {
        name,
        labels: Vec::new(),
        unit: Unit::Count,
        values: Values::Single(value),
    }
}

fn samples(name: &str, values: Vec<f64>) -> Metric {
    Metric {
        name: name.into(),
        labels: Vec::new(),
        unit: Unit::Milliseconds,
        values: Values::Samples(values),
    }
}

#[test]
fn metrics_are_split_into_documents_of_at_most_100_definitions() {
    for (count, documents) in [(99, 1), (100, 1), (101, 2), (250, 3)] {
        let metrics = (0..count)
            .map(|i| counter(format!("M{i:03}"), i as f64))
            .collect();
        let encoded = emf::encode(metrics, &directive());
        assert!(encoded.dropped.is_empty(), "{:?}", encoded.dropped);
        assert_eq!(encoded.documents.len(), documents, "{count} metrics");
        assert_valid(&encoded.documents, now_ms());
        let parsed = values_by_metric(&encoded.documents);
        assert_eq!(parsed.len(), count, "every metric is written once");
        for i in 0..count {
            assert_eq!(parsed[&format!("M{i:03}")], [i as f64]);
        }
    }
}

#[test]
fn values_are_split_into_arrays_of_at_most_100() {
    for (count, documents) in [(99, 1), (100, 1), (101, 2), (1_000, 10)] {
        let values: Vec<f64> = (0..count).map(|i| i as f64 + 0.5).collect();
        let encoded = emf::encode(vec![samples("Latency", values.clone())], &directive());
        assert_eq!(encoded.documents.len(), documents, "{count} values");
        assert_valid(&encoded.documents, now_ms());
        assert_eq!(
            values_by_metric(&encoded.documents)["Latency"],
            values,
            "no value lost or reordered"
        );
    }
}

#[test]
fn many_metrics_with_many_values_stay_valid_and_complete() {
    // 150 distributions of 250 long values: both limits and the document size come into play.
    let metrics: Vec<Metric> = (0..150)
        .map(|m| {
            samples(
                &format!("D{m:03}"),
                (0..250)
                    .map(|v| 1.234_567_890_123_4e-300 * f64::from(v + m))
                    .collect(),
            )
        })
        .collect();
    let encoded = emf::encode(metrics.clone(), &directive());
    assert_valid(&encoded.documents, now_ms());
    assert!(
        encoded
            .documents
            .iter()
            .all(|document| document.len() <= emf::MAX_DOCUMENT_BYTES)
    );
    let parsed = values_by_metric(&encoded.documents);
    for metric in metrics {
        let Values::Samples(values) = metric.values else {
            unreachable!()
        };
        let read = &parsed[&metric.name];
        assert_eq!(read.len(), values.len(), "{}", metric.name);
        // serde_json's default float parser may be one unit in the last place off; the encoder's
        // output is exact (shortest round-trip), so compare within a relative tolerance.
        for (read, written) in read.iter().zip(&values) {
            assert!(
                (read - written).abs() <= written.abs() * 1e-15,
                "{}: {read} vs {written}",
                metric.name
            );
        }
    }
}

#[test]
fn labels_become_extra_dimensions_in_their_own_documents() {
    let mut refunds = counter("Orders".into(), 2.0);
    refunds.labels = vec![("Kind".into(), "refund".into())];
    let encoded = emf::encode(vec![counter("Orders".into(), 5.0), refunds], &directive());
    assert_eq!(encoded.documents.len(), 2);
    assert_valid(&encoded.documents, now_ms());
    let documents: Vec<Value> = encoded
        .documents
        .iter()
        .map(|d| serde_json::from_str(d).unwrap())
        .collect();
    let labelled = documents.iter().find(|d| d.get("Kind").is_some()).unwrap();
    assert_eq!(
        labelled["_aws"]["CloudWatchMetrics"][0]["Dimensions"],
        json!([["Service", "Kind"]])
    );
    assert_eq!(
        (labelled["Kind"].as_str(), labelled["Orders"].as_f64()),
        (Some("refund"), Some(2.0))
    );
}

#[test]
fn storage_resolution_is_written_only_for_high_resolution() {
    let standard = emf::encode(vec![counter("M".into(), 1.0)], &directive());
    assert!(!standard.documents[0].contains("StorageResolution"));
    let high = emf::encode(
        vec![counter("M".into(), 1.0)],
        &Directive {
            high_resolution: true,
            ..directive()
        },
    );
    assert_valid(&high.documents, now_ms());
    let document: Value = serde_json::from_str(&high.documents[0]).unwrap();
    assert_eq!(
        document["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["StorageResolution"],
        1
    );
}

// ---- The handler's flush -------------------------------------------------------------------------

fn handler_with<P: RecordProcessor>(
    processor: P,
    engine: EngineConfig,
    config: MetricsConfig,
) -> (StreamHandler<P>, Arc<MemorySink>) {
    let sink = Arc::new(MemorySink::default());
    let metrics = Metrics::new(config, sink.clone())
        .with_clock(Arc::new(FixedClock(clock_time())))
        .with_sampling_seed(1);
    let handler = StreamHandler::new(processor)
        .with_engine(BatchEngine::new(engine).with_jitter_seed(1))
        .with_metrics(metrics);
    (handler, sink)
}

fn metrics_config() -> MetricsConfig {
    MetricsConfig {
        service: "orders-stream".into(),
        ..MetricsConfig::default()
    }
}

fn invocation(request_id: &str, budget: Duration) -> Invocation {
    Invocation::local(
        budget,
        &EngineConfig {
            deadline_margin: DeadlineMargin::Fixed(Duration::from_secs(2)),
            ..EngineConfig::default()
        },
    )
    .with_request_id(request_id)
    .with_function(
        "orders-stream",
        "arn:aws:lambda:eu-west-1:123456789012:function:orders-stream",
    )
    .with_xray_trace_id("Root=1-6745a3b2-0123456789abcdef01234567;Parent=53995c3f42cd8ad8;Sampled=1")
    .with_function_version("7")
}

fn payload(records: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({ "Records": records })).unwrap()
}

/// The one flush an invocation made: asserts there was exactly one and that it is valid.
fn single_flush(sink: &MemorySink) -> Vec<String> {
    let flushes = sink.flushes();
    assert_eq!(flushes.len(), 1, "exactly one flush per invocation: {flushes:?}");
    let documents = flushes.into_iter().next().unwrap();
    assert_valid(&documents, now_ms());
    documents
}

fn value(values: &BTreeMap<String, Vec<f64>>, name: &str) -> f64 {
    match values.get(name).map(Vec::as_slice) {
        Some([single]) => *single,
        other => panic!("{name}: expected one value, got {other:?}"),
    }
}

/// (processed, failed, retried) as written in a flush.
fn core_counts(documents: &[String]) -> (f64, f64, f64) {
    let values = values_by_metric(documents);
    (
        value(&values, "RecordsProcessed"),
        value(&values, "RecordsFailed"),
        value(&values, "RecordsRetried"),
    )
}

#[tokio::test(start_paused = true)]
async fn every_path_flushes_exactly_once_with_the_right_numbers() {
    struct Case {
        name: &'static str,
        processor: ScriptedProcessor,
        payload: Vec<u8>,
        ok: bool,
        counts: (f64, f64, f64),
        extra: &'static [(&'static str, f64)],
    }
    let failing =
        |index| ScriptedProcessor::new().on(event_id(index), Behaviour::AlwaysFail(FailureKind::Permanent));
    let cases = vec![
        Case {
            name: "success",
            processor: ScriptedProcessor::new(),
            payload: payload(batch_json(5)),
            ok: true,
            counts: (5.0, 0.0, 0.0),
            extra: &[
                ("BatchSize", 5.0),
                ("PanicsCaught", 0.0),
                ("DeadlineCheckpoints", 0.0),
            ],
        },
        Case {
            name: "partial failure at index 3 of 5",
            processor: failing(3),
            payload: payload(batch_json(5)),
            ok: true,
            counts: (3.0, 1.0, 2.0),
            extra: &[("BatchSize", 5.0)],
        },
        Case {
            name: "whole-invocation error (poison first record)",
            processor: failing(0),
            payload: payload(batch_json(4)),
            ok: false,
            counts: (0.0, 1.0, 4.0),
            extra: &[],
        },
        Case {
            name: "whole-invocation error (not an event)",
            processor: ScriptedProcessor::new(),
            payload: br#"{"Records": [{"eventID": "x"}, {}]}"#.to_vec(),
            ok: false,
            counts: (0.0, 0.0, 2.0),
            extra: &[("BatchSize", 2.0)],
        },
        Case {
            name: "deadline checkpoint",
            processor: ScriptedProcessor::new().taking(Duration::from_millis(1_500)),
            payload: payload(batch_json(10)),
            ok: true,
            counts: (5.0, 1.0, 5.0),
            extra: &[("DeadlineCheckpoints", 1.0)],
        },
        Case {
            name: "caught panic",
            processor: ScriptedProcessor::new().on(event_id(2), Behaviour::Panic("bug")),
            payload: payload(batch_json(4)),
            ok: true,
            counts: (2.0, 1.0, 2.0),
            extra: &[("PanicsCaught", 1.0)],
        },
        Case {
            name: "in-process retry",
            processor: ScriptedProcessor::new().on(
                event_id(1),
                Behaviour::FailTimes {
                    kind: FailureKind::Transient,
                    times: 2,
                },
            ),
            payload: payload(batch_json(3)),
            ok: true,
            counts: (3.0, 0.0, 0.0),
            extra: &[("InProcessRetries", 2.0)],
        },
    ];
    for case in cases {
        let (handler, sink) = handler_with(case.processor, EngineConfig::default(), metrics_config());
        let result = handler
            .handle_payload(&case.payload, &invocation("req-1", Duration::from_secs(10)))
            .await;
        assert_eq!(result.is_ok(), case.ok, "{}: {result:?}", case.name);
        let documents = single_flush(&sink);
        assert_eq!(core_counts(&documents), case.counts, "{}", case.name);
        let values = values_by_metric(&documents);
        for (name, expected) in case.extra {
            assert_eq!(value(&values, name), *expected, "{}: {name}", case.name);
        }
    }
}

#[tokio::test(start_paused = true)]
async fn a_record_failing_again_when_it_comes_back_is_counted_and_a_first_failure_is_not() {
    // Record 1 of the batch fails every time: handed back at 1, it comes back as the first record.
    let (handler, sink) = handler_with(
        ScriptedProcessor::new().on(event_id(1), Behaviour::AlwaysFail(FailureKind::Permanent)),
        EngineConfig::default(),
        metrics_config(),
    );
    let failed_again = |documents: &[String]| value(&values_by_metric(documents), "RecordsFailedAgain");
    let first = batch_json(3);
    let redelivered: Vec<Value> = first[1..].to_vec();
    let mut written = Vec::new();
    for batch in [first, redelivered.clone(), redelivered] {
        let _ = handler
            .handle_payload(&payload(batch), &invocation("req-1", Duration::from_secs(10)))
            .await;
        written.push(failed_again(sink.flushes().last().unwrap()));
    }
    assert_eq!(
        written,
        [0.0, 1.0, 1.0],
        "the first failure, then each time it comes back"
    );

    // A record that fails once and succeeds when it comes back is never counted.
    let (handler, sink) = handler_with(
        ScriptedProcessor::new().on(
            event_id(1),
            Behaviour::FailTimes {
                kind: FailureKind::Permanent,
                times: 1,
            },
        ),
        EngineConfig::default(),
        metrics_config(),
    );
    let first = batch_json(3);
    let redelivered: Vec<Value> = first[1..].to_vec();
    for batch in [first, redelivered] {
        let _ = handler
            .handle_payload(&payload(batch), &invocation("req-1", Duration::from_secs(10)))
            .await;
        assert_eq!(failed_again(sink.flushes().last().unwrap()), 0.0);
    }
}

#[tokio::test(start_paused = true)]
async fn cold_start_is_written_once_per_process_in_a_document_of_its_own() {
    let (handler, sink) = handler_with(
        ScriptedProcessor::new(),
        EngineConfig::default(),
        metrics_config(),
    );
    for request in ["req-1", "req-2", "req-3"] {
        handler
            .handle_payload(
                &payload(batch_json(2)),
                &invocation(request, Duration::from_secs(10)),
            )
            .await
            .unwrap();
    }
    let flushes = sink.flushes();
    assert_eq!(flushes.len(), 3);
    let cold: Vec<Value> = flushes[0]
        .iter()
        .map(|document| serde_json::from_str::<Value>(document).unwrap())
        .filter(|document| document.get("ColdStart").is_some())
        .collect();
    assert_eq!(cold.len(), 1);
    assert_eq!(cold[0]["ColdStart"], 1);
    assert_eq!(
        cold[0]["_aws"]["CloudWatchMetrics"][0]["Metrics"]
            .as_array()
            .unwrap()
            .len(),
        1,
        "alone"
    );
    for later in &flushes[1..] {
        assert!(
            !values_by_metric(later).contains_key("ColdStart"),
            "never 0, never again"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn iterator_age_is_the_oldest_known_record_and_ignores_missing_creation_times() {
    let mut records = batch_json(3);
    records[0]["dynamodb"]
        .as_object_mut()
        .unwrap()
        .remove("ApproximateCreationDateTime");
    records[1]["dynamodb"]["ApproximateCreationDateTime"] = json!(1_793_491_200 + 600);
    records[2]["dynamodb"]["ApproximateCreationDateTime"] = json!(1_793_491_200 + 1_200);
    let (handler, sink) = handler_with(
        ScriptedProcessor::new(),
        EngineConfig::default(),
        metrics_config(),
    );
    handler
        .handle_payload(&payload(records), &invocation("req-1", Duration::from_secs(10)))
        .await
        .unwrap();
    let values = values_by_metric(&single_flush(&sink));
    assert_eq!(
        value(&values, "IteratorAge"),
        3_000_000.0,
        "an hour minus ten minutes, not 56 years"
    );

    let mut unknown = batch_json(2);
    for record in &mut unknown {
        record["dynamodb"]
            .as_object_mut()
            .unwrap()
            .remove("ApproximateCreationDateTime");
    }
    let (handler, sink) = handler_with(
        ScriptedProcessor::new(),
        EngineConfig::default(),
        metrics_config(),
    );
    handler
        .handle_payload(&payload(unknown), &invocation("req-1", Duration::from_secs(10)))
        .await
        .unwrap();
    assert!(!values_by_metric(&single_flush(&sink)).contains_key("IteratorAge"));
}

#[tokio::test(start_paused = true)]
async fn record_processing_time_is_a_bounded_sample_of_the_batch() {
    let config = MetricsConfig {
        max_samples: 50,
        ..metrics_config()
    };
    let processor = ScriptedProcessor::new().taking(Duration::from_millis(3));
    let (handler, sink) = handler_with(processor, EngineConfig::default(), config);
    handler
        .handle_payload(
            &payload(batch_json(1_000)),
            &invocation("req-1", Duration::from_secs(60)),
        )
        .await
        .unwrap();
    let values = values_by_metric(&single_flush(&sink));
    let times = &values["RecordProcessingTime"];
    assert_eq!(times.len(), 50);
    assert!(times.iter().all(|time| *time == 3.0), "{times:?}");
    assert_eq!(value(&values, "BatchProcessingTime"), 3_000.0);
}

#[tokio::test(start_paused = true)]
async fn disabled_metrics_write_nothing() {
    let config = MetricsConfig {
        enabled: false,
        ..metrics_config()
    };
    let (handler, sink) = handler_with(ScriptedProcessor::new(), EngineConfig::default(), config);
    handler
        .handle_payload(
            &payload(batch_json(2)),
            &invocation("req-1", Duration::from_secs(10)),
        )
        .await
        .unwrap();
    assert!(sink.flushes().is_empty());
}

/// Records one business metric per record through the global facade, slowly.
struct CountingProcessor;

impl RecordProcessor for CountingProcessor {
    async fn process(&self, _record: &ChangeRecord) -> Result<(), RecordError> {
        metrics::counter!("OrdersSeen").increment(1);
        tokio::time::sleep(Duration::from_millis(10)).await;
        Ok(())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_invocations_never_mix_their_metrics() {
    assert!(
        install_metrics_router(),
        "the router is this test binary's global recorder"
    );
    let (handler, sink) = handler_with(CountingProcessor, EngineConfig::default(), metrics_config());
    let handler = Arc::new(handler);
    let run = |request_id: &'static str, records: usize| {
        let handler = Arc::clone(&handler);
        tokio::spawn(async move {
            handler
                .handle_payload(
                    &payload(batch_json(records)),
                    &invocation(request_id, Duration::from_secs(60)),
                )
                .await
                .unwrap();
        })
    };
    let (small, large) = (run("req-small", 3), run("req-large", 7));
    small.await.unwrap();
    large.await.unwrap();

    let flushes = sink.flushes();
    assert_eq!(flushes.len(), 2);
    for documents in flushes {
        assert_valid(&documents, now_ms());
        let main: Value = documents
            .iter()
            .map(|document| serde_json::from_str::<Value>(document).unwrap())
            .find(|document| document.get("OrdersSeen").is_some())
            .expect("the business metric is in the flush");
        let expected = if main["requestId"] == "req-small" { 3 } else { 7 };
        assert_eq!(main["OrdersSeen"], expected, "{main}");
        assert_eq!(main["RecordsProcessed"], expected);
        assert_eq!(
            main["_aws"]["CloudWatchMetrics"][0]["Metrics"]
                .as_array()
                .unwrap()
                .iter()
                .find(|definition| definition["Name"] == "OrdersSeen")
                .unwrap()["Unit"],
            "None"
        );
    }
    // Outside any invocation, a facade call is dropped, never added to the next flush.
    metrics::counter!("OrdersSeen").increment(100);
}

// ---- Golden files --------------------------------------------------------------------------------

fn golden_path(event: &str) -> PathBuf {
    fixtures_root()
        .join("golden/emf")
        .join(event.replace(".json", ".jsonl"))
}

/// (processed, failed, retried, batch size) each shipped event must produce.
const SHIPPED_EVENT_COUNTS: &[(&str, (f64, f64, f64), f64)] = &[
    ("clean-batch.json", (3.0, 0.0, 0.0), 3.0),
    ("ttl-delete.json", (1.0, 0.0, 0.0), 1.0),
    ("poison-record-in-the-middle.json", (2.0, 1.0, 2.0), 4.0),
    ("poison-first-record.json", (0.0, 1.0, 2.0), 2.0),
    ("missing-sequence-number.json", (1.0, 1.0, 3.0), 3.0),
    ("malformed-event.json", (0.0, 0.0, 1.0), 1.0),
];

#[tokio::test(start_paused = true)]
async fn emf_output_of_every_shipped_event_matches_its_golden_file() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    for (event, counts, batch_size) in SHIPPED_EVENT_COUNTS {
        let bytes = std::fs::read(fixtures_root().join("events").join(event)).unwrap();
        let (handler, sink) = handler_with(
            ImageScriptedProcessor::new(),
            EngineConfig::default(),
            metrics_config(),
        );
        let request_id = format!("golden-{}", event.trim_end_matches(".json"));
        let _ = handler
            .handle_payload(&bytes, &invocation(&request_id, Duration::from_secs(30)))
            .await;
        let documents = single_flush(&sink);

        // Parse-back first, so a wrong golden file cannot lock a bug in.
        assert_eq!(core_counts(&documents), *counts, "{event}");
        let values = values_by_metric(&documents);
        assert_eq!(value(&values, "BatchSize"), *batch_size, "{event}");
        assert_eq!(value(&values, "ColdStart"), 1.0, "{event}");
        for definition in catalog::CATALOG
            .iter()
            .filter(|definition| definition.every_invocation)
        {
            assert!(
                values.contains_key(definition.name),
                "{event}: {} is written every time",
                definition.name
            );
        }

        let text = documents.join("\n") + "\n";
        let path = golden_path(event);
        if update {
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, &text).unwrap();
        }
        let golden = std::fs::read_to_string(&path).unwrap_or_else(|error| {
            panic!(
                "{}: {error}; run with UPDATE_GOLDEN=1 to create it",
                path.display()
            )
        });
        assert_eq!(
            text,
            golden,
            "{event}: EMF output differs from {} (UPDATE_GOLDEN=1 rewrites it)",
            path.display()
        );
    }
}

#[test]
fn every_shipped_event_has_a_golden_file() {
    for (event, _, _) in SHIPPED_EVENT_COUNTS {
        assert!(golden_path(event).exists(), "{event} has no golden EMF file");
    }
    let events = std::fs::read_dir(fixtures_root().join("events")).unwrap().count();
    assert_eq!(
        events,
        SHIPPED_EVENT_COUNTS.len(),
        "every event in events/ has expected metrics"
    );
}
