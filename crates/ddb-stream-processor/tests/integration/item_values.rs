//! No item values in what the function tells anyone, whatever its processor's errors carry.
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

use ddb_stream_processor::testing::records::{event_json, record_json, sequence_number};
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

/// What one run of the three invocations left behind.
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
    let function = RunningFunction::start(command);
    let posts: Vec<Post> = (0..3)
        .map(|_| api.next_post(WAIT).expect("a result for every invocation"))
        .collect();
    // The spans of the last invocation are exported before the function asks for the next event.
    let started = Instant::now();
    while api.next_requests() < 4 && started.elapsed() < WAIT {
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

    for value in [CARD_NUMBER, NEGATIVE_AMOUNT, SECRET_STATUS] {
        assert!(
            !run.output.stderr.contains(value),
            "{value} in the logs: {}",
            run.output.stderr
        );
        assert!(
            !run.output.stdout.contains(value),
            "{value} in EMF: {}",
            run.output.stdout
        );
        assert!(!run.receiver.received_text(value), "{value} in an exported span");
        for post in &run.posts {
            assert!(!post.body.contains(value), "{value} in a result: {}", post.body);
        }
    }
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
