//! No item values in what the function tells anyone, whatever its processor's errors carry, however
//! it panics, at every log level, with traces on or off.
//!
//! The scripted function decodes images with serde_dynamo, as its documentation shows, and wraps
//! the errors with `RecordError::with_source` (through `ResultExt`). serde_dynamo's messages quote
//! the value that does not fit. The records hold recognisable values; the test looks for them in
//! every log line, every EMF document, every exported span (the raw OTLP bodies, so attributes,
//! events and statuses alike) and every result posted to the Runtime API. With
//! `PROCESSOR_LOG_ERROR_SOURCES=true` the same run puts them in the logs, which shows the search
//! finds them when they are there.

use std::process::Command;
use std::time::{Duration, Instant};

use ddb_stream_processor::telemetry::logs::is_quiet_dependency;
use ddb_stream_processor::testing::records::{event_id, event_json, record_json, sequence_number};
use serde_json::{Value, json};

use crate::support::function::{Output, RunningFunction, lambda_command};
use crate::support::otlp_receiver::OtlpReceiver;
use crate::support::runtime_api::{Post, PostKind, RuntimeApi};

/// The longest a test waits for anything the function does.
const WAIT: Duration = Duration::from_secs(60);

/// A value serde_dynamo quotes as `Failed to parse '…' as an integer` (too large for a `u32`).
const CARD_NUMBER: &str = "4111111111111111";
/// Another that does not fit a `u32`, quoted the same way.
const NEGATIVE_AMOUNT: &str = "-730195512";
/// A value serde_dynamo quotes as `unknown variant `…``.
const SECRET_STATUS: &str = "secret-status-5512";

/// Record `index` of the test shard, with an image the `decode-*` scripts read.
fn record(index: usize, script: Option<&str>, amount: Value, status: &str) -> Value {
    let mut record = record_json(index);
    let image = &mut record["dynamodb"]["NewImage"];
    image["amount_cents"] = amount;
    image["status"] = json!({"S": status});
    if let Some(script) = script {
        image["script"] = json!({"S": script});
    }
    record
}

fn event(records: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&event_json(records)).unwrap()
}

/// What one run of the function left behind.
struct Run {
    output: Output,
    posts: Vec<Post>,
    receiver: OtlpReceiver,
}

fn run_with(configure: impl FnOnce(&mut Command)) -> Run {
    let receiver = OtlpReceiver::start();
    let api = RuntimeApi::start();
    // A poison record after a good one: a partial batch response at it.
    api.enqueue(
        "req-partial",
        event(vec![
            record(1, None, json!({"N": "100"}), "PENDING"),
            record(2, Some("decode-permanent"), json!({"N": NEGATIVE_AMOUNT}), "PAID"),
        ]),
    );
    // The first record fails: the invocation fails with its message.
    api.enqueue(
        "req-first",
        event(vec![record(
            3,
            Some("decode-permanent"),
            json!({"N": CARD_NUMBER}),
            "PAID",
        )]),
    );
    // A transient failure: retried in process (a WARN per retry), then the invocation fails.
    api.enqueue(
        "req-retried",
        event(vec![record(
            4,
            Some("decode-transient"),
            json!({"N": "100"}),
            SECRET_STATUS,
        )]),
    );
    let mut command = lambda_command(&api);
    command
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
        .env("PROCESSOR_RETRY_BASE_DELAY_MS", "1")
        .env("AWS_REGION", "eu-west-1");
    configure(&mut command);
    run_to_the_end(command, &api, receiver, 3)
}

/// Starts the function, waits for the result of each of the `invocations` queued in `api`, then for
/// the function to ask for the next event (it exports the last invocation's spans before that), and
/// stops it.
fn run_to_the_end(command: Command, api: &RuntimeApi, receiver: OtlpReceiver, invocations: usize) -> Run {
    let function = RunningFunction::start(command);
    let posts: Vec<Post> = (0..invocations)
        .map(|_| api.next_post(WAIT).expect("a result for every invocation"))
        .collect();
    let started = Instant::now();
    while api.next_requests() < invocations + 1 && started.elapsed() < WAIT {
        std::thread::sleep(Duration::from_millis(20));
    }
    Run {
        output: function.stop(),
        posts,
        receiver,
    }
}

fn post<'run>(run: &'run Run, request_id: &str) -> &'run Post {
    run.posts
        .iter()
        .find(|post| post.request_id.as_deref() == Some(request_id))
        .unwrap_or_else(|| panic!("no result for {request_id}"))
}

#[test]
fn serde_dynamo_errors_never_put_item_values_in_logs_spans_metrics_or_errors() {
    let run = run_with(|_| {});

    // The failures happened and were reported as they should be.
    assert_eq!(
        post(&run, "req-partial").json(),
        json!({"batchItemFailures": [{"itemIdentifier": sequence_number(2)}]})
    );
    for (id, error_type) in [
        ("req-first", "FirstRecordFailed"),
        ("req-retried", "FirstRecordFailed"),
    ] {
        let post = post(&run, id);
        assert_eq!(post.kind, PostKind::Error, "{id}");
        assert_eq!(post.json()["errorType"], error_type, "{id}");
        let message = post.json()["errorMessage"].as_str().unwrap().to_owned();
        assert!(
            message.contains("decoding the image (cause withheld"),
            "{message}"
        );
    }
    let warnings = run
        .output
        .stderr
        .lines()
        .filter(|line| line.contains("\"level\":\"WARN\""))
        .count();
    assert!(
        warnings >= 3,
        "the partial failure and the retries are logged: {}",
        run.output.stderr
    );
    assert!(
        run.output.stderr.contains("cause withheld"),
        "{}",
        run.output.stderr
    );
    assert!(
        run.receiver.received_text("decoding the image"),
        "the failures were exported as spans"
    );

    assert_no_value_left(&run, "defaults");
}

#[test]
fn with_error_sources_allowed_the_same_values_reach_the_logs() {
    let run = run_with(|command| {
        command.env("PROCESSOR_LOG_ERROR_SOURCES", "true");
    });
    for value in [CARD_NUMBER, NEGATIVE_AMOUNT, SECRET_STATUS] {
        assert!(
            run.output.stderr.contains(value),
            "{value} not logged: {}",
            run.output.stderr
        );
    }
    let message = post(&run, "req-first").json()["errorMessage"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        message.contains(&format!("decoding the image: Failed to parse '{CARD_NUMBER}'")),
        "{message}"
    );
}

/// What a careless processor's records hold, each value recognisable.
const UNWRAPPED_NUMBER: &str = "5500005555555559";
/// A status a processor panics with.
const PANICKED_STATUS: &str = "secret-status-7781";
/// The attribute every test record carries (`testing::records::item_image`).
const NOTE: &str = "a value that must never reach a log line";
/// The partition keys of the test records (`ITEM#1`, …): keys are logged only with PROCESSOR_LOG_KEYS.
const KEY_PREFIX: &str = "ITEM#";

/// Four invocations of a careless processor: it logs at every level, decodes with `.unwrap()`,
/// panics with a value, and fails with serde_dynamo's errors as sources; `level` is Lambda's
/// application log level (or, as `RUST_LOG=…`, a tracing filter), `traces` the record spans
/// exported (`PROCESSOR_TRACE_RECORDS`), or no export at all.
fn careless_run(level: &str, traces: Option<&str>, configure: impl FnOnce(&mut Command)) -> Run {
    let receiver = OtlpReceiver::start();
    let api = RuntimeApi::start();
    api.enqueue(
        "req-logs",
        event(vec![
            record(1, Some("log-every-level"), json!({"N": "100"}), "PENDING"),
            record(2, Some("decode-permanent"), json!({"N": NEGATIVE_AMOUNT}), "PAID"),
        ]),
    );
    api.enqueue(
        "req-unwrap",
        event(vec![record(
            3,
            Some("decode-unwrap"),
            json!({"N": UNWRAPPED_NUMBER}),
            "PAID",
        )]),
    );
    api.enqueue(
        "req-panic",
        event(vec![
            record(5, None, json!({"N": "100"}), "PAID"),
            record(6, Some("panic-with-status"), json!({"N": "100"}), PANICKED_STATUS),
        ]),
    );
    api.enqueue(
        "req-retried",
        event(vec![record(
            4,
            Some("decode-transient"),
            json!({"N": CARD_NUMBER}),
            SECRET_STATUS,
        )]),
    );
    let mut command = lambda_command(&api);
    match level.strip_prefix("RUST_LOG=") {
        Some(filter) => command.env("RUST_LOG", filter),
        None => command.env("AWS_LAMBDA_LOG_LEVEL", level),
    };
    command
        .env("PROCESSOR_RETRY_BASE_DELAY_MS", "1")
        .env("AWS_REGION", "eu-west-1");
    if let Some(records) = traces {
        command
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint())
            .env("PROCESSOR_TRACE_RECORDS", records);
    }
    configure(&mut command);
    run_to_the_end(command, &api, receiver, 4)
}

/// Every place a value could leave the function, searched for each recognisable value.
fn assert_no_value_left(run: &Run, setting: &str) {
    let values = [
        CARD_NUMBER,
        NEGATIVE_AMOUNT,
        SECRET_STATUS,
        UNWRAPPED_NUMBER,
        PANICKED_STATUS,
        NOTE,
        KEY_PREFIX,
    ];
    for value in values {
        assert!(
            !run.output.stderr.contains(value),
            "{setting}: {value} in the logs: {}",
            run.output.stderr
        );
        assert!(
            !run.output.stdout.contains(value),
            "{setting}: {value} in EMF: {}",
            run.output.stdout
        );
        assert!(
            !run.receiver.received_text(value),
            "{setting}: {value} in an exported span"
        );
        for post in &run.posts {
            assert!(
                !post.body.contains(value),
                "{setting}: {value} in a result: {}",
                post.body
            );
        }
    }
}

fn log_lines(run: &Run) -> Vec<Value> {
    run.output
        .stderr
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect()
}

#[test]
fn a_careless_processor_leaks_no_value_at_any_log_level_with_traces_on_or_off() {
    // A span condition in RUST_LOG enables every target inside the span for EnvFilter: the
    // dependencies must stay quiet there too.
    let levels = [
        "TRACE",
        "DEBUG",
        "INFO",
        "WARN",
        "ERROR",
        "RUST_LOG=trace,[record]=trace",
    ];
    for level in levels {
        for traces in [None, Some("all"), Some("sampled")] {
            let setting = format!("{level}, record spans exported: {traces:?}");
            let run = careless_run(level, traces, |_| {});

            // The failures happened and were reported as they should be.
            assert_eq!(
                post(&run, "req-logs").json(),
                json!({"batchItemFailures": [{"itemIdentifier": sequence_number(2)}]}),
                "{setting}"
            );
            let unwrapped = post(&run, "req-unwrap").json();
            assert_eq!(unwrapped["errorType"], "FirstRecordPanicked", "{setting}");
            let message = unwrapped["errorMessage"].as_str().unwrap();
            assert!(
                message.contains("panicked at crates/ddb-stream-processor/src/testing/scripted.rs:")
                    && message.contains("(message withheld: it may quote item values"),
                "{setting}: the location stays, the message goes: {message}"
            );
            assert_eq!(
                post(&run, "req-panic").json(),
                json!({"batchItemFailures": [{"itemIdentifier": sequence_number(6)}]}),
                "{setting}"
            );
            if traces.is_some() {
                assert!(
                    run.receiver.received_text("message withheld"),
                    "{setting}: the panics were exported as spans"
                );
            }
            assert_no_value_left(&run, &setting);

            let lines = log_lines(&run);
            assert!(!lines.is_empty(), "{setting}: {}", run.output.stderr);
            // At TRACE, the template's own detail remains and dependencies stay at WARN.
            for line in &lines {
                let target = line["target"].as_str().unwrap_or_default();
                let level_of_line = line["level"].as_str().unwrap_or_default();
                if is_quiet_dependency(target) {
                    assert!(
                        matches!(level_of_line, "WARN" | "ERROR"),
                        "{setting}: a dependency's {level_of_line} line: {line}"
                    );
                }
            }
            // Every line the processor writes sits in its record's span.
            let processor_lines: Vec<&Value> = lines
                .iter()
                .filter(|line| line["attribute"].is_string())
                .collect();
            let expected = match level {
                "TRACE" | "RUST_LOG=trace,[record]=trace" => 5,
                "DEBUG" => 4,
                "INFO" => 3,
                "WARN" => 2,
                _ => 1,
            };
            assert_eq!(
                processor_lines.len(),
                expected,
                "{setting}: {}",
                run.output.stderr
            );
            for line in processor_lines {
                assert_eq!(line["eventId"], event_id(1), "{setting}: {line}");
                assert_eq!(line["sequenceNumber"], sequence_number(1), "{setting}: {line}");
                assert_eq!(line["operation"], "INSERT", "{setting}: {line}");
                assert_eq!(line["requestId"], "req-logs", "{setting}: {line}");
            }
            // The panic hook's line names where, never what.
            let panic_lines: Vec<&Value> = lines
                .iter()
                .filter(|line| {
                    line["message"]
                        .as_str()
                        .is_some_and(|text| text.starts_with("panic at "))
                })
                .collect();
            assert_eq!(panic_lines.len(), 2, "{setting}: {}", run.output.stderr);
            assert!(panic_lines.iter().all(|line| {
                line["panic.location"]
                    .as_str()
                    .is_some_and(|location| location.contains("src/testing/scripted.rs:"))
            }));
        }
    }
}

#[test]
fn at_trace_the_raw_event_is_logged_only_when_asked_for() {
    let run = careless_run("TRACE", None, |command| {
        command.env("PROCESSOR_LOG_RAW_EVENTS", "true");
    });
    assert!(
        run.output
            .stderr
            .contains("PROCESSOR_LOG_RAW_EVENTS=true: at TRACE, lambda_runtime logs each raw event"),
        "a start-up line says the opt-in is on: {}",
        run.output.stderr
    );
    assert!(
        run.output.stderr.contains("raw JSON event received from Lambda") && run.output.stderr.contains(NOTE),
        "the raw events are there, which shows the search would find them: {}",
        run.output.stderr
    );
}

#[test]
fn with_error_sources_allowed_the_panic_messages_reach_the_logs_and_the_error() {
    let run = careless_run("INFO", None, |command| {
        command.env("PROCESSOR_LOG_ERROR_SOURCES", "true");
    });
    let message = post(&run, "req-unwrap").json()["errorMessage"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(message.contains(UNWRAPPED_NUMBER), "{message}");
    assert!(
        run.output.stderr.contains(PANICKED_STATUS),
        "{}",
        run.output.stderr
    );
}
