//! The binary end to end with traces on: an emulated Runtime API, an OTLP/HTTP receiver, both on
//! 127.0.0.1. `.ci/test` runs these again on the release binary (`DDB_BINARY_UNDER_TEST`).

use std::process::Command;
use std::time::{Duration, Instant};

use chrono::DateTime;
use serde_json::{Value, json};

use crate::support::emf_validator::{assert_valid, values_by_metric};
use crate::support::function::{RunningFunction, event, lambda_command};
use crate::support::otlp_receiver::{OtlpReceiver, ReceivedSpan};
use crate::support::runtime_api::{PostKind, RuntimeApi};
use test_emulators::free_port;

/// The longest a test waits for anything the function does.
const WAIT: Duration = Duration::from_secs(60);
/// OTLP span kind SERVER, status code ERROR.
const SERVER: i32 = 2;
const STATUS_ERROR: i32 = 2;

fn traced_command(api: &RuntimeApi, endpoint: &str, flush_timeout_ms: u64) -> Command {
    let mut command = lambda_command(api);
    command
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        .env("OTEL_PROPAGATORS", "tracecontext,xray-lambda")
        .env("PROCESSOR_TRACE_FLUSH_TIMEOUT_MS", flush_timeout_ms.to_string())
        // Every record in its span, so that every span of the protocol is checked (the default
        // samples; tests/integration/traces.rs covers the policies).
        .env("PROCESSOR_TRACE_RECORDS", "all")
        .env("AWS_REGION", "eu-west-1");
    command
}

fn wait_until(condition: impl Fn() -> bool) -> bool {
    let started = Instant::now();
    while started.elapsed() < WAIT {
        if condition() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    false
}

/// Every line of stdout is an EMF document and every line of stderr a Lambda JSON log object.
fn assert_output_is_machine_readable(stdout: &str, stderr: &str) -> Vec<Value> {
    let documents: Vec<String> = stdout.lines().map(str::to_owned).collect();
    assert!(!documents.is_empty(), "EMF on stdout");
    assert_valid(&documents, chrono::Utc::now().timestamp_millis());
    let mut logs = Vec::new();
    for line in stderr.lines() {
        let log: Value =
            serde_json::from_str(line).unwrap_or_else(|error| panic!("not JSON ({error}): {line}"));
        let timestamp = log["timestamp"]
            .as_str()
            .unwrap_or_else(|| panic!("no timestamp: {line}"));
        assert!(
            DateTime::parse_from_rfc3339(timestamp).is_ok(),
            "not RFC 3339: {line}"
        );
        assert!(
            ["TRACE", "DEBUG", "INFO", "WARN", "ERROR"].contains(&log["level"].as_str().unwrap_or_default()),
            "no Lambda level: {line}"
        );
        assert!(log["message"].is_string(), "no message: {line}");
        logs.push(log);
    }
    logs
}

fn spans_of_invocation(spans: &[ReceivedSpan], request_id: &str) -> (ReceivedSpan, Vec<ReceivedSpan>) {
    let root = spans
        .iter()
        .find(|span| {
            span.kind == SERVER
                && span.attributes.get("faas.invocation_id").map(String::as_str) == Some(request_id)
        })
        .unwrap_or_else(|| panic!("no invocation span for {request_id}: {spans:#?}"))
        .clone();
    let children = spans
        .iter()
        .filter(|span| span.trace_id == root.trace_id && span.parent_span_id == root.span_id)
        .cloned()
        .collect();
    (root, children)
}

#[test]
fn every_span_of_an_invocation_reaches_the_collector_before_the_next_event_is_requested() {
    let receiver = OtlpReceiver::start();
    let api = RuntimeApi::start();
    api.enqueue("req-1", event("clean-batch.json"));
    api.enqueue("req-2", event("poison-record-in-the-middle.json"));
    let function = RunningFunction::start(traced_command(&api, &receiver.endpoint(), 2_000));

    let first = api.next_post(WAIT).expect("a result for the first event");
    let second = api.next_post(WAIT).expect("a result for the second event");
    assert_eq!(
        (first.request_id.as_deref(), &first.kind),
        (Some("req-1"), &PostKind::Response)
    );
    assert_eq!(first.json(), json!({"batchItemFailures": []}));
    assert_eq!(
        (second.request_id.as_deref(), &second.kind),
        (Some("req-2"), &PostKind::Response)
    );
    assert_eq!(
        second.json(),
        json!({"batchItemFailures": [{"itemIdentifier": "4421584500000000017450439291"}]})
    );
    assert!(
        wait_until(|| api.next_requests() >= 3),
        "the function asks for a third event"
    );

    let asked_for_second_event = api.next_times()[1];
    let spans = receiver.spans();
    let (root, records) = spans_of_invocation(&spans, "req-1");
    assert_eq!(records.len(), 3, "one span per record of the clean batch");
    for span in records.iter().chain(std::iter::once(&root)) {
        assert!(
            span.received_at < asked_for_second_event,
            "span {} of the first invocation arrived after the function asked for the next event",
            span.name
        );
    }
    assert_eq!(root.name, "orders-stream");
    assert_eq!(root.attributes["faas.trigger"], "datasource");
    assert_eq!(root.attributes["faas.coldstart"], "true");
    assert_eq!(root.attributes["cloud.account.id"], "123456789012");
    assert_eq!(root.attributes["messaging.batch.message_count"], "3");
    assert_eq!(
        root.trace_id, "6745a3b20123456789abcdef01234567",
        "X-Ray's root is the trace"
    );
    assert_eq!(
        root.parent_span_id, "53995c3f42cd8ad8",
        "X-Ray's segment is the parent"
    );
    assert_eq!(root.resource["service.name"], "orders-stream");
    assert_eq!(root.resource["faas.name"], "orders-stream");
    assert_eq!(root.resource["cloud.region"], "eu-west-1");
    let mut operations: Vec<&str> = records
        .iter()
        .map(|record| record.attributes["faas.document.operation"].as_str())
        .collect();
    operations.sort_unstable();
    assert_eq!(
        operations,
        ["delete", "edit", "insert"],
        "INSERT, MODIFY and REMOVE in the clean batch"
    );

    let (second_root, second_records) = spans_of_invocation(&spans, "req-2");
    assert_eq!(second_root.attributes["faas.coldstart"], "false");
    assert_eq!(
        second_root.attributes["aws.dynamodb.stream.checkpoint"],
        "4421584500000000017450439291"
    );
    let failed: Vec<&ReceivedSpan> = second_records
        .iter()
        .filter(|span| span.status_code == STATUS_ERROR)
        .collect();
    assert_eq!(failed.len(), 1, "{second_records:#?}");
    assert_eq!(failed[0].attributes["error.type"], "permanent");
    assert!(
        failed[0].status_message.contains("scripted permanent failure"),
        "{}",
        failed[0].status_message
    );

    let output = function.stop();
    let logs = assert_output_is_machine_readable(&output.stdout, &output.stderr);
    let warning = logs
        .iter()
        .find(|log| log["level"] == "WARN")
        .expect("the failed record's log line");
    assert_eq!(warning["requestId"], "req-2");
    assert_eq!(warning["sequenceNumber"], "4421584500000000017450439291");
    assert!(
        warning["xrayTraceId"]
            .as_str()
            .unwrap()
            .starts_with("Root=1-6745a3b2")
    );
    assert_eq!(
        values_by_metric(&output.stdout.lines().map(str::to_owned).collect::<Vec<_>>())["TraceFlushFailures"],
        [0.0, 0.0]
    );
}

/// A port nothing listens on: connections are refused at once.
fn closed_port_endpoint() -> String {
    format!("http://127.0.0.1:{}", free_port())
}

/// Runs two events with the given collector and returns how long each invocation took, from the
/// function's `/next` to its result, and what the function wrote.
fn invocations_with_collector(
    endpoint: &str,
    flush_timeout_ms: u64,
) -> (Vec<Duration>, crate::support::function::Output) {
    let api = RuntimeApi::start();
    api.enqueue("req-1", event("clean-batch.json"));
    api.enqueue("req-2", event("ttl-delete.json"));
    let function = RunningFunction::start(traced_command(&api, endpoint, flush_timeout_ms));
    let mut durations = Vec::new();
    for (index, id) in ["req-1", "req-2"].into_iter().enumerate() {
        let post = api
            .next_post(WAIT)
            .expect("the function answers without a collector");
        assert_eq!(
            (post.request_id.as_deref(), &post.kind),
            (Some(id), &PostKind::Response)
        );
        assert_eq!(post.json(), json!({"batchItemFailures": []}));
        durations.push(post.received_at - api.next_times()[index]);
    }
    (durations, function.stop())
}

#[test]
fn with_the_collector_down_invocations_succeed_within_the_flush_budget() {
    let budget = Duration::from_millis(300);
    for (collector, endpoint) in [
        ("refusing connections", closed_port_endpoint()),
        (
            "accepting but never answering",
            OtlpReceiver::black_hole().endpoint(),
        ),
    ] {
        let (durations, output) = invocations_with_collector(&endpoint, budget.as_millis() as u64);
        for duration in durations {
            // The budget, plus generous room for the (debug) binary's own work on a busy machine.
            assert!(
                duration < budget + Duration::from_millis(1_500),
                "{collector}: an invocation took {duration:?}"
            );
        }
        let documents: Vec<String> = output.stdout.lines().map(str::to_owned).collect();
        assert_eq!(
            values_by_metric(&documents)["TraceFlushFailures"],
            [1.0, 1.0],
            "{collector}"
        );
        assert_output_is_machine_readable(&output.stdout, &output.stderr);
    }
}

#[test]
fn sigterm_shuts_the_trace_exporter_down_and_exits_cleanly() {
    let receiver = OtlpReceiver::start();
    let api = RuntimeApi::start();
    api.enqueue("req-1", event("clean-batch.json"));
    let function = RunningFunction::start(traced_command(&api, &receiver.endpoint(), 500));
    api.next_post(WAIT).expect("a result");
    assert!(
        wait_until(|| api.next_requests() >= 2),
        "waiting for the next event"
    );

    let output = function.terminate_gracefully(Duration::from_secs(10));
    assert!(
        output.stderr.contains("\"message\":\"shutdown complete\""),
        "{}",
        output.stderr
    );
    for line in output.stderr.lines() {
        assert!(
            serde_json::from_str::<serde_json::Value>(line).is_ok_and(|line| line.is_object()),
            "with the JSON log format, nothing but JSON reaches stderr: {line}"
        );
    }
}
