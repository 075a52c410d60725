//! Traces, in process: the spans an invocation produces, checked with the SDK's in-memory exporter
//! behind a batch processor (so the handler's own flush is what puts them there).

use std::sync::Arc;
use std::time::Duration;

use ddb_stream_processor::clock::SystemClock;
use ddb_stream_processor::engine::EngineConfig;
use ddb_stream_processor::telemetry::logs::{LogFormat, LogSettings};
use ddb_stream_processor::telemetry::logs::{LogOutput, MemoryWriter, subscriber};
use ddb_stream_processor::telemetry::metrics::sink::MemorySink;
use ddb_stream_processor::telemetry::metrics::{Metrics, MetricsConfig};
use ddb_stream_processor::telemetry::traces::{RecordSampling, RecordSpans, Traces};
use ddb_stream_processor::{
    ChangeRecord, FailureKind, Invocation, RecordError, RecordProcessor, StreamHandler,
};
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::{KeyValue, Value as OtelValue};
use opentelemetry_sdk::trace::{InMemorySpanExporter, SdkTracerProvider, SpanData};
use serde_json::{Value, json};
use tracing::Instrument;

use crate::support::emf_validator::values_by_metric;
use crate::support::tracing_isolation;
use ddb_stream_processor::testing::records::{batch_json, event_id, sequence_number};
use ddb_stream_processor::testing::{Behaviour, ScriptedProcessor};

const FUNCTION_ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:orders-stream:live";
const XRAY_HEADER: &str = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1";

struct Traced<P = ScriptedProcessor> {
    handler: StreamHandler<P>,
    exporter: InMemorySpanExporter,
    metrics: Arc<MemorySink>,
    _subscriber: tracing::subscriber::DefaultGuard,
}

/// Installs, for this thread, JSON logs at INFO into `writer` and the spans of `traces`.
fn install_subscriber<W>(writer: W, traces: Option<&Traces>) -> tracing::subscriber::DefaultGuard
where
    W: for<'writer> tracing_subscriber::fmt::MakeWriter<'writer> + Send + Sync + 'static,
{
    let logs = LogSettings {
        format: LogFormat::Json,
        filter: "info".into(),
        lambda_level: None,
        ..LogSettings::default()
    };
    let output = LogOutput {
        writer,
        clock: Arc::new(SystemClock),
        ansi: false,
    };
    // Other tests of this binary hit the same callsites concurrently, with and without scoped
    // subscribers: keep callsite interest from being cached as "never" (see tracing_isolation).
    tracing_isolation::ask_every_time();
    tracing::subscriber::set_default(subscriber(&logs, output, traces))
}

/// A handler whose spans go through a batch processor (5 s schedule) into memory, every record in
/// its span, with the logs discarded, installed as this thread's subscriber.
fn traced(processor: ScriptedProcessor, xray_propagation: bool) -> Traced {
    traced_with(processor, xray_propagation, RecordSampling::all())
}

/// [`traced`], with the record spans `sampling` keeps.
fn traced_with<P: RecordProcessor>(
    processor: P,
    xray_propagation: bool,
    sampling: RecordSampling,
) -> Traced<P> {
    let exporter = InMemorySpanExporter::default();
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter.clone())
        .build();
    let traces = Traces::with_provider(provider, Duration::from_secs(5), xray_propagation)
        .with_record_sampling(sampling);
    let guard = install_subscriber(std::io::sink, Some(&traces));
    let metrics = Arc::new(MemorySink::default());
    let handler = StreamHandler::new(processor)
        .with_metrics(Metrics::new(MetricsConfig::default(), metrics.clone()))
        .with_traces(Some(traces));
    Traced {
        handler,
        exporter,
        metrics,
        _subscriber: guard,
    }
}

impl<P: RecordProcessor> Traced<P> {
    /// Runs `payload` as invocation `req-1`, which must succeed; returns every span exported so far.
    async fn invoke(&self, payload: &[u8]) -> Vec<SpanData> {
        self.handler
            .handle_payload(payload, &invocation("req-1"))
            .await
            .unwrap();
        self.exporter.get_finished_spans().unwrap()
    }
}

fn invocation(request_id: &str) -> Invocation {
    Invocation::local(Duration::from_secs(30), &EngineConfig::default())
        .with_request_id(request_id)
        .with_function("orders-stream", FUNCTION_ARN)
        .with_xray_trace_id(XRAY_HEADER)
        .with_function_version("3")
}

fn payload(records: usize) -> Vec<u8> {
    serde_json::to_vec(&json!({ "Records": batch_json(records) })).unwrap()
}

fn attribute(span: &SpanData, key: &str) -> Option<OtelValue> {
    span.attributes
        .iter()
        .find(|attribute: &&KeyValue| attribute.key.as_str() == key)
        .map(|attribute| attribute.value.clone())
}

fn text(span: &SpanData, key: &str) -> String {
    attribute(span, key)
        .map(|value| value.to_string())
        .unwrap_or_default()
}

fn split(spans: Vec<SpanData>) -> (SpanData, Vec<SpanData>) {
    let (invocations, records): (Vec<SpanData>, Vec<SpanData>) = spans
        .into_iter()
        .partition(|span| span.span_kind == SpanKind::Server);
    assert_eq!(invocations.len(), 1, "one invocation span");
    (invocations.into_iter().next().unwrap(), records)
}

/// The invocation span and the record spans of one successful 3-record invocation with `processor`.
async fn three_record_invocation(processor: ScriptedProcessor) -> (SpanData, Vec<SpanData>) {
    let traced = traced(processor, false);
    split(traced.invoke(&payload(3)).await)
}

#[tokio::test]
async fn an_invocation_is_a_server_span_with_one_child_per_record() {
    let traced = traced(ScriptedProcessor::new(), false);
    let spans = traced.invoke(&payload(3)).await;
    assert_eq!(
        spans.len(),
        4,
        "exported before handle_payload returned: {spans:#?}"
    );
    let (root, records) = split(spans);
    assert_eq!(root.name, "orders-stream", "named after the function");
    assert_eq!(text(&root, "faas.trigger"), "datasource");
    assert_eq!(text(&root, "faas.invocation_id"), "req-1");
    assert_eq!(attribute(&root, "faas.coldstart"), Some(OtelValue::Bool(true)));
    assert_eq!(text(&root, "cloud.account.id"), "123456789012");
    assert_eq!(text(&root, "aws.lambda.invoked_arn"), FUNCTION_ARN);
    assert_eq!(text(&root, "faas.document.collection"), "Orders");
    assert_eq!(
        attribute(&root, "messaging.batch.message_count"),
        Some(OtelValue::I64(3))
    );
    assert_eq!(root.status, Status::Unset);

    for (index, record) in records.iter().enumerate() {
        assert_eq!(record.name, "record");
        assert_eq!(
            record.parent_span_id,
            root.span_context.span_id(),
            "a child of the invocation"
        );
        assert_eq!(record.span_context.trace_id(), root.span_context.trace_id());
        assert_eq!(text(record, "faas.document.operation"), "insert");
        assert_eq!(text(record, "faas.document.collection"), "Orders");
        assert_eq!(
            text(record, "aws.dynamodb.stream.sequence_number"),
            sequence_number(index)
        );
        assert_eq!(text(record, "aws.dynamodb.stream.event_id"), event_id(index));
        assert_eq!(record.status, Status::Unset);
    }
    let emf = values_by_metric(&traced.metrics.flushes()[0]);
    assert_eq!(emf["TraceFlushFailures"], [0.0]);
}

#[tokio::test]
async fn a_failed_record_has_error_status_and_the_checkpoint_is_on_the_invocation() {
    let processor = ScriptedProcessor::new().on(event_id(1), Behaviour::AlwaysFail(FailureKind::Permanent));
    let (root, records) = three_record_invocation(processor).await;
    assert_eq!(records.len(), 2, "record 2 was never started");
    let failed = records
        .iter()
        .find(|record| text(record, "aws.dynamodb.stream.event_id") == event_id(1))
        .unwrap();
    match &failed.status {
        Status::Error { description } => assert!(description.contains("scripted failure"), "{description}"),
        other => panic!("expected an error status, got {other:?}"),
    }
    assert_eq!(text(failed, "error.type"), "permanent");
    assert!(
        failed
            .events
            .iter()
            .any(|event| event.name.contains("reporting SequenceNumber")),
        "the failure log line is recorded on the span: {:?}",
        failed.events
    );
    assert_eq!(text(&root, "aws.dynamodb.stream.checkpoint"), sequence_number(1));
    assert_eq!(
        root.status,
        Status::Unset,
        "a partial failure is a successful invocation"
    );
}

/// Four records over two items (0, 1, 0, 1); records 2 and 3 run together under
/// [`per_key_over_two_items`], and both fail: 3 at once, 2 after 20 ms.
fn two_items_failing_together() -> (ScriptedProcessor, Vec<u8>) {
    let processor = ScriptedProcessor::new()
        .on(
            event_id(2),
            Behaviour::SleepThenFail(Duration::from_millis(20), FailureKind::Permanent),
        )
        .on(event_id(3), Behaviour::AlwaysFail(FailureKind::Permanent));
    let mut records = batch_json(4);
    for (index, record) in records.iter_mut().enumerate() {
        record["dynamodb"]["Keys"] = json!({"pk": {"S": format!("ITEM#{}", index % 2)}});
    }
    let payload = serde_json::to_vec(&json!({ "Records": records })).unwrap();
    (processor, payload)
}

fn per_key_over_two_items() -> EngineConfig {
    EngineConfig {
        max_in_flight: 2,
        ..EngineConfig::default()
    }
}

#[tokio::test]
async fn with_two_items_failing_the_checkpoint_line_is_on_the_earlier_records_span() {
    // Per-key concurrency over two items: records 2 (item 0) and 3 (item 1) run together; 3 fails at
    // once, 2 a little later. Record 2 is the checkpoint: its span carries the checkpoint line, and
    // record 3's span the line saying it comes again from there.
    let (processor, payload) = two_items_failing_together();
    let mut traced = traced(processor, false);
    traced.handler = traced.handler.with_engine_config(per_key_over_two_items());
    let (root, records) = split(traced.invoke(&payload).await);
    assert_eq!(text(&root, "aws.dynamodb.stream.checkpoint"), sequence_number(2));
    let events_of = |index: usize| -> Vec<String> {
        records
            .iter()
            .find(|record| text(record, "aws.dynamodb.stream.event_id") == event_id(index))
            .unwrap_or_else(|| panic!("no span for record {index}"))
            .events
            .iter()
            .map(|event| event.name.to_string())
            .collect()
    };
    let (stop, later) = (events_of(2), events_of(3));
    assert!(
        stop.iter()
            .any(|event| event.contains("reporting SequenceNumber")),
        "{stop:?}"
    );
    assert!(
        later
            .iter()
            .any(|event| event.contains("comes again with the batch from the checkpoint")),
        "{later:?}"
    );
    assert!(
        !later
            .iter()
            .any(|event| event.contains("reporting SequenceNumber")),
        "{later:?}"
    );
}

#[tokio::test]
async fn without_traces_every_line_about_a_record_names_it() {
    // The same two failing items, traces off: record spans are not recorded, so each line must
    // carry its record's identity itself.
    let captured = MemoryWriter::default();
    let _guard = install_subscriber(captured.clone(), None);
    let (processor, payload) = two_items_failing_together();
    let handler = StreamHandler::new(processor).with_engine_config(per_key_over_two_items());
    handler
        .handle_payload(&payload, &invocation("req-1"))
        .await
        .unwrap();
    let text = captured.contents();
    let warnings: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str::<Value>(line).unwrap())
        .filter(|line| line["level"] == "WARN")
        .collect();
    assert_eq!(warnings.len(), 2, "{text}");
    // The later failure is logged as the lanes' results are counted, the checkpoint after.
    for (line, index) in warnings.iter().zip([3, 2]) {
        assert_eq!(line["eventId"], event_id(index), "{line}");
        assert_eq!(line["sequenceNumber"], sequence_number(index), "{line}");
    }
}

#[tokio::test]
async fn a_retried_record_carries_the_attempt_that_succeeded() {
    let processor = ScriptedProcessor::new().on(
        event_id(1),
        Behaviour::FailTimes {
            kind: FailureKind::Transient,
            times: 2,
        },
    );
    let (_, records) = three_record_invocation(processor).await;
    let attempts: Vec<Option<OtelValue>> = records
        .iter()
        .map(|record| attribute(record, "attempt"))
        .collect();
    let retried = records
        .iter()
        .find(|record| text(record, "aws.dynamodb.stream.event_id") == event_id(1))
        .unwrap();
    // tracing-opentelemetry appends a recorded field to the span's attributes rather than replacing
    // it: the last value is the latest.
    let recorded: Vec<&OtelValue> = retried
        .attributes
        .iter()
        .filter(|attribute| attribute.key.as_str() == "attempt")
        .map(|attribute| &attribute.value)
        .collect();
    assert_eq!(
        recorded.last(),
        Some(&&OtelValue::I64(3)),
        "two transient failures, then success: {recorded:?}"
    );
    assert_eq!(retried.status, Status::Unset);
    for record in records.iter().filter(|record| !std::ptr::eq(*record, retried)) {
        assert_eq!(
            attribute(record, "attempt"),
            Some(OtelValue::I64(1)),
            "one attempt: {attempts:?}"
        );
        assert!(
            !record
                .attributes
                .iter()
                .skip_while(|a| a.key.as_str() != "attempt")
                .skip(1)
                .any(|a| a.key.as_str() == "attempt"),
            "recorded once: {attempts:?}"
        );
    }
}

#[tokio::test]
async fn a_failed_invocation_has_error_status_and_type() {
    let processor = ScriptedProcessor::new().on(event_id(0), Behaviour::Panic("bug"));
    let traced = traced(processor, false);
    let error = traced
        .handler
        .handle_payload(&payload(2), &invocation("req-1"))
        .await
        .unwrap_err();

    let (root, records) = split(traced.exporter.get_finished_spans().unwrap());
    assert_eq!(text(&root, "error.type"), "FirstRecordPanicked");
    assert_eq!(root.status, Status::error(error.to_string()));
    assert_eq!(records.len(), 1, "one record span: {root:#?}");
    assert_eq!(text(&records[0], "error.type"), "panic");
}

#[tokio::test]
async fn the_xray_header_is_the_parent_only_when_xray_propagation_is_configured() {
    let propagating = traced(ScriptedProcessor::new(), true);
    let (root, _) = split(propagating.invoke(&payload(1)).await);
    assert_eq!(
        root.span_context.trace_id().to_string(),
        "5759e988bd862e3fe1be46a994272793"
    );
    assert_eq!(root.parent_span_id.to_string(), "53995c3f42cd8ad8");
    drop(propagating);

    let independent = traced(ScriptedProcessor::new(), false);
    let (root, _) = split(independent.invoke(&payload(1)).await);
    assert_ne!(
        root.span_context.trace_id().to_string(),
        "5759e988bd862e3fe1be46a994272793"
    );
    assert_eq!(root.parent_span_id, opentelemetry::trace::SpanId::INVALID);
}

#[tokio::test]
async fn only_the_first_invocation_is_a_cold_start_and_each_gets_its_own_trace() {
    let traced = traced(ScriptedProcessor::new(), false);
    traced
        .handler
        .handle_payload(&payload(1), &invocation("req-1"))
        .await
        .unwrap();
    traced
        .handler
        .handle_payload(&payload(1), &invocation("req-2"))
        .await
        .unwrap();
    let roots: Vec<SpanData> = traced
        .exporter
        .get_finished_spans()
        .unwrap()
        .into_iter()
        .filter(|span| span.span_kind == SpanKind::Server)
        .collect();
    assert_eq!(roots.len(), 2);
    assert_eq!(
        attribute(&roots[0], "faas.coldstart"),
        Some(OtelValue::Bool(true))
    );
    assert_eq!(
        attribute(&roots[1], "faas.coldstart"),
        Some(OtelValue::Bool(false))
    );
    assert_ne!(roots[0].span_context.trace_id(), roots[1].span_context.trace_id());
}

#[tokio::test]
async fn a_ten_thousand_record_batch_loses_no_span() {
    let exporter = InMemorySpanExporter::default();
    let processor = opentelemetry_sdk::trace::BatchSpanProcessor::builder(exporter.clone())
        .with_batch_config(
            opentelemetry_sdk::trace::BatchConfigBuilder::default()
                .with_max_queue_size(ddb_stream_processor::telemetry::traces::DEFAULT_MAX_QUEUE_SIZE)
                .build(),
        )
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .build();
    let traces = Traces::with_provider(provider, Duration::from_secs(5), false)
        .with_record_sampling(RecordSampling::all());
    let _guard = install_subscriber(std::io::sink, Some(&traces));
    let handler = StreamHandler::new(ScriptedProcessor::new()).with_traces(Some(traces));
    handler
        .handle_payload(&payload(10_000), &invocation("req-1"))
        .await
        .unwrap();
    assert_eq!(
        exporter.get_finished_spans().unwrap().len(),
        10_001,
        "every record span and the invocation"
    );
}

#[tokio::test]
async fn by_default_one_record_in_a_hundred_has_a_span() {
    let traced = traced_with(ScriptedProcessor::new(), false, RecordSampling::default());
    let (root, records) = split(traced.invoke(&payload(10_000)).await);
    assert_eq!(
        records.len(),
        100,
        "1 in 100 of 10,000 records that all succeed at once"
    );
    let sampled: Vec<String> = records.iter().map(|record| text(record, "eventId")).collect();
    assert_eq!(sampled[..3], [event_id(0), event_id(100), event_id(200)]);
    for record in &records {
        assert_eq!(record.parent_span_id, root.span_context.span_id());
        assert_eq!(attribute(record, "sampling.kept_because"), None);
    }
}

/// Seven records: 1 is retried once, 4 takes 60 ms, 6 fails for good (the checkpoint). With
/// `slow` at 30 ms, records 1, 4 and 6 must have spans under any policy.
fn troubled_batch() -> (ScriptedProcessor, Vec<u8>, Duration) {
    let processor = ScriptedProcessor::new()
        .on(
            event_id(1),
            Behaviour::FailTimes {
                kind: FailureKind::Transient,
                times: 1,
            },
        )
        .on(event_id(4), Behaviour::Sleep(Duration::from_millis(60)))
        .on(event_id(6), Behaviour::AlwaysFail(FailureKind::Permanent));
    (processor, payload(7), Duration::from_millis(30))
}

/// The record spans of one invocation of the troubled batch under `spans`, by record index, and the
/// invocation span.
async fn troubled_spans(spans: RecordSpans) -> (SpanData, Vec<(usize, SpanData)>) {
    let (processor, payload, slow) = troubled_batch();
    let traced = traced_with(processor, false, RecordSampling { spans, slow });
    let (root, records) = split(traced.invoke(&payload).await);
    let mut indexed: Vec<(usize, SpanData)> = records
        .into_iter()
        .map(|record| {
            let index = (0..7)
                .find(|index| text(&record, "eventId") == event_id(*index))
                .unwrap();
            (index, record)
        })
        .collect();
    indexed.sort_by_key(|(index, _)| *index);
    (root, indexed)
}

#[tokio::test]
async fn problems_keeps_the_failed_retried_and_slow_records_and_says_why() {
    let (root, records) = troubled_spans(RecordSpans::Problems).await;
    let kept: Vec<(usize, String)> = records
        .iter()
        .map(|(index, record)| (*index, text(record, "sampling.kept_because")))
        .collect();
    assert_eq!(
        kept,
        [(1, "retried".into()), (4, "slow".into()), (6, "failed".into())]
    );
    for (_, record) in &records {
        assert_eq!(
            record.parent_span_id,
            root.span_context.span_id(),
            "a child of the invocation"
        );
        assert_eq!(record.span_context.trace_id(), root.span_context.trace_id());
        assert!(record.start_time <= record.end_time);
        assert_eq!(record.name, "record");
        assert_eq!(text(record, "faas.document.operation"), "insert");
        assert_eq!(text(record, "faas.document.collection"), "Orders");
        assert!(!text(record, "faas.document.time").is_empty());
    }
    let (_, retried) = &records[0];
    assert_eq!(attribute(retried, "attempt"), Some(OtelValue::I64(2)));
    assert_eq!(retried.status, Status::Unset);
    let retries: Vec<&opentelemetry::trace::Event> = retried.events.iter().collect();
    assert_eq!(retries.len(), 1, "one retry: {retries:?}");
    assert_eq!(
        retries[0].name,
        "transient failure; retrying the record in process"
    );
    assert!(retried.start_time <= retries[0].timestamp && retries[0].timestamp <= retried.end_time);
    assert!(
        retries[0]
            .attributes
            .iter()
            .any(|attribute| attribute.key.as_str() == "attempt" && attribute.value == OtelValue::I64(1)),
        "{retries:?}"
    );
    let (_, slow) = &records[1];
    let took = slow.end_time.duration_since(slow.start_time).unwrap();
    assert!(
        took >= Duration::from_millis(60),
        "the span covers the record: {took:?}"
    );
    let (_, failed) = &records[2];
    assert_eq!(text(failed, "error.type"), "permanent");
    assert_eq!(
        text(failed, "aws.dynamodb.stream.sequence_number"),
        sequence_number(6)
    );
    assert!(
        matches!(&failed.status, Status::Error { description } if description.contains("scripted failure"))
    );
    assert_eq!(text(&root, "aws.dynamodb.stream.checkpoint"), sequence_number(6));
}

#[tokio::test]
async fn sampled_adds_one_in_n_of_the_other_records() {
    // Records 0, 3 and 6 are sampled when they start; 1, 4 and 6 have a span for what happened.
    let every = std::num::NonZeroU32::new(3).unwrap();
    let (_, records) = troubled_spans(RecordSpans::Sampled { every }).await;
    let kept: Vec<(usize, String)> = records
        .iter()
        .map(|(index, record)| (*index, text(record, "sampling.kept_because")))
        .collect();
    assert_eq!(
        kept,
        [
            (0, String::new()),
            (1, "retried".into()),
            (3, String::new()),
            (4, "slow".into()),
            (6, String::new()),
        ],
        "a sampled record needs no reason"
    );
    let (_, failed) = &records[4];
    assert_eq!(text(failed, "error.type"), "permanent", "sampled and failed");
    assert!(matches!(failed.status, Status::Error { .. }));
}

#[tokio::test]
async fn a_record_left_out_keeps_its_keys_in_the_logs_and_out_of_the_trace() {
    // PROCESSOR_LOG_KEYS makes every record span an INFO span, for its `keys` field: the record
    // left out of the trace must still not be exported.
    let every = std::num::NonZeroU32::new(2).unwrap();
    let mut traced = traced_with(
        ScriptedProcessor::new(),
        false,
        RecordSampling {
            spans: RecordSpans::Sampled { every },
            ..RecordSampling::default()
        },
    );
    traced.handler = traced.handler.with_engine_config(EngineConfig {
        log_keys: true,
        ..EngineConfig::default()
    });
    let (_, records) = split(traced.invoke(&payload(4)).await);
    let exported: Vec<String> = records.iter().map(|record| text(record, "eventId")).collect();
    assert_eq!(exported, [event_id(0), event_id(2)]);
    for record in &records {
        assert!(text(record, "keys").contains("ITEM#"), "{:?}", record.attributes);
    }
}

/// Opens a span of its own for every record (a call to another service) and logs an error in it.
struct CallsAnotherService;

impl RecordProcessor for CallsAnotherService {
    async fn process(&self, _record: &ChangeRecord) -> Result<(), RecordError> {
        async { tracing::error!("the other service answered slowly") }
            .instrument(tracing::info_span!("other-service"))
            .await;
        tracing::error!("logged in the record");
        Ok(())
    }
}

#[tokio::test]
async fn what_a_processor_traces_follows_its_record_into_or_out_of_the_trace() {
    let every = std::num::NonZeroU32::new(2).unwrap();
    let sampling = RecordSampling {
        spans: RecordSpans::Sampled { every },
        ..RecordSampling::default()
    };
    let traced = traced_with(CallsAnotherService, false, sampling);
    let spans = traced.invoke(&payload(2)).await;
    let named = |name: &str| -> Vec<&SpanData> { spans.iter().filter(|span| span.name == name).collect() };
    let (records, calls) = (named("record"), named("other-service"));
    assert_eq!(
        records.len(),
        1,
        "record 0 is sampled, record 1 is not: {spans:#?}"
    );
    assert_eq!(text(records[0], "eventId"), event_id(0));
    assert_eq!(
        calls.len(),
        1,
        "only the sampled record's call is exported: {spans:#?}"
    );
    assert_eq!(calls[0].parent_span_id, records[0].span_context.span_id());
    assert!(
        records[0]
            .events
            .iter()
            .any(|event| event.name == "logged in the record"),
        "{:?}",
        records[0].events
    );
    let root = spans
        .iter()
        .find(|span| span.span_kind == SpanKind::Server)
        .unwrap();
    assert_eq!(
        root.status,
        Status::Unset,
        "an untraced record's ERROR line is not the invocation's"
    );
    assert!(
        !root
            .events
            .iter()
            .any(|event| event.name.contains("logged") || event.name.contains("other service")),
        "{:?}",
        root.events
    );
}

#[tokio::test]
async fn a_ten_thousand_record_batch_writes_one_info_line() {
    let captured = MemoryWriter::default();
    let _guard = install_subscriber(captured.clone(), None);
    let handler = StreamHandler::new(ScriptedProcessor::new());
    handler
        .handle_payload(&payload(10_000), &invocation("req-1"))
        .await
        .unwrap();
    let text = captured.contents();
    let lines: Vec<Value> = text
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert_eq!(lines[0]["level"], "INFO");
    assert_eq!(lines[0]["requestId"], "req-1");
    assert_eq!(lines[0]["batch_size"], 10_000);
}
