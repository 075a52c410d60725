//! The binary's local mode (`--event`), on every shipped event and on bad input.

use std::collections::BTreeSet;

use serde_json::json;

use crate::support::binary::{command, fixtures_root, run};
use crate::support::emf_validator::{assert_valid, values_by_metric};

/// What each shipped event must produce: exit code, and the response or the error type.
enum Expected {
    Response(serde_json::Value),
    Error {
        error_type: &'static str,
        mentions: &'static str,
    },
}

fn shipped_events() -> Vec<(&'static str, Expected)> {
    vec![
        (
            "clean-batch.json",
            Expected::Response(json!({"batchItemFailures": []})),
        ),
        (
            "ttl-delete.json",
            Expected::Response(json!({"batchItemFailures": []})),
        ),
        (
            "poison-record-in-the-middle.json",
            Expected::Response(
                json!({"batchItemFailures": [{"itemIdentifier": "4421584500000000017450439291"}]}),
            ),
        ),
        (
            "poison-first-record.json",
            Expected::Error {
                error_type: "FirstRecordFailed",
                mentions: "scripted permanent failure",
            },
        ),
        (
            "missing-sequence-number.json",
            Expected::Error {
                error_type: "MissingSequenceNumber",
                mentions: "scripted permanent failure",
            },
        ),
        (
            "malformed-event.json",
            Expected::Error {
                error_type: "InvalidEvent",
                mentions: "Records[0].dynamodb: missing field `SizeBytes`",
            },
        ),
    ]
}

#[test]
fn every_shipped_event_has_an_expected_result() {
    let on_disk: BTreeSet<String> = std::fs::read_dir(fixtures_root().join("events"))
        .expect("events/ exists")
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    let expected: BTreeSet<String> = shipped_events()
        .into_iter()
        .map(|(name, _)| name.to_owned())
        .collect();
    assert_eq!(
        on_disk, expected,
        "add the new event to shipped_events() with its expected result"
    );
}

#[test]
fn each_shipped_event_gives_its_response_or_error_on_one_stdout_line() {
    for (name, expected) in shipped_events() {
        let mut binary = command();
        binary.args(["--event", &format!("events/{name}")]);
        let result = run(binary, b"");
        let line = result.stdout_json();
        match expected {
            Expected::Response(response) => {
                assert_eq!(result.code, Some(0), "{name}: stderr {}", result.stderr);
                assert_eq!(line, response, "{name}");
            }
            Expected::Error { error_type, mentions } => {
                assert_eq!(result.code, Some(1), "{name}: stderr {}", result.stderr);
                assert_eq!(line["errorType"], error_type, "{name}: {line}");
                let message = line["errorMessage"].as_str().expect("errorMessage is a string");
                assert!(message.contains(mentions), "{name}: {message}");
                assert_eq!(
                    line.as_object().unwrap().len(),
                    2,
                    "only errorType and errorMessage: {line}"
                );
            }
        }
        assert!(
            result.stderr.contains("batch done") || result.code == Some(1),
            "{name}: logs go to stderr"
        );
    }
}

#[test]
fn the_event_can_come_from_stdin() {
    let payload = std::fs::read(fixtures_root().join("events/poison-record-in-the-middle.json")).unwrap();
    let mut binary = command();
    binary.args(["--event", "-"]);
    let result = run(binary, &payload);
    assert_eq!(result.code, Some(0), "{}", result.stderr);
    assert_eq!(
        result.stdout_json(),
        json!({"batchItemFailures": [{"itemIdentifier": "4421584500000000017450439291"}]})
    );
}

#[test]
fn input_that_is_not_a_stream_event_is_an_error_never_a_success() {
    let cases: [(&[u8], &str); 7] = [
        (b"", "EOF while parsing"),
        (b"garbage", "expected value at line 1 column 1"),
        (b"{}", "missing field `Records`"),
        (b"[[]]", "the payload is a JSON array"),
        (b"{\"Records\": null}", "Records: invalid type: null"),
        (b"{\"Records\": [{}]}", "Records[0]: missing field"),
        (b"\xff\xfe{}", "expected value"),
    ];
    for (payload, mentions) in cases {
        let mut binary = command();
        binary.args(["--event", "-"]);
        let result = run(binary, payload);
        assert_eq!(result.code, Some(1), "{payload:?}: {}", result.stderr);
        let line = result.stdout_json();
        assert_eq!(line["errorType"], "InvalidEvent", "{payload:?}");
        assert!(
            line["errorMessage"].as_str().unwrap().contains(mentions),
            "{payload:?}: {line}"
        );
    }
}

#[test]
fn a_missing_event_file_is_a_usage_error_with_nothing_on_stdout() {
    let mut binary = command();
    binary.args(["--event", "events/no-such-event.json"]);
    run(binary, b"").assert_usage_error("cannot read the event file events/no-such-event.json");
}

#[test]
fn a_tiny_timeout_checkpoints_instead_of_running_over() {
    let mut binary = command();
    binary.args(["--event", "events/clean-batch.json", "--timeout-ms", "50"]);
    let result = run(binary, b"");
    assert_eq!(result.code, Some(1));
    assert_eq!(result.stdout_json()["errorType"], "DeadlineReachedAtFirstRecord");
}

#[test]
fn a_bad_configuration_value_stops_start_up_naming_the_variable() {
    let mut binary = command();
    binary
        .args(["--event", "events/clean-batch.json"])
        .env("PROCESSOR_MAX_ATTEMPTS", "zero");
    run(binary, b"")
        .assert_usage_error("PROCESSOR_MAX_ATTEMPTS=\"zero\" is not valid: a whole number from 1 to 20");
}

#[test]
fn without_lambda_or_an_event_it_says_how_to_run_locally() {
    let result = run(command(), b"");
    result.assert_usage_error("AWS_LAMBDA_RUNTIME_API is not set");
    result.assert_usage_error("--event events/clean-batch.json");
}

#[test]
fn json_logs_are_one_object_per_line_on_stderr() {
    let mut binary = command();
    binary
        .args(["--event", "events/poison-record-in-the-middle.json"])
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON");
    let result = run(binary, b"");
    assert_eq!(result.code, Some(0));
    let logs: Vec<serde_json::Value> = result
        .stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|error| panic!("{error}: {line}")))
        .collect();
    let checkpoint = logs
        .iter()
        .find(|log| log["level"] == "WARN")
        .expect("a warning for the failed record");
    let message = checkpoint["message"].as_str().unwrap();
    assert!(
        message.contains("scripted permanent failure"),
        "says why: {message}"
    );
    assert!(
        message.contains("Lambda delivers it and the 1 record(s) after it again"),
        "says what next: {message}"
    );
    assert_eq!(
        checkpoint["sequenceNumber"], "4421584500000000017450439291",
        "record fields at the top"
    );
    assert_eq!(checkpoint["eventId"], "c4ca4238a0b923820dcc509a6f758492");
    assert_eq!(checkpoint["operation"], "INSERT");
    assert!(checkpoint["requestId"].as_str().unwrap().starts_with("local-"));
    let timestamp = checkpoint["timestamp"].as_str().unwrap();
    assert!(
        chrono::DateTime::parse_from_rfc3339(timestamp).is_ok(),
        "RFC 3339: {timestamp}"
    );
    for log in logs.iter().filter(|log| log.get("_aws").is_none()) {
        assert!(log.get("keys").is_none(), "no item keys by default: {log}");
        let text = log.to_string();
        assert!(
            !text.contains("-450") && !text.contains("ORDER#1003"),
            "no item values: {log}"
        );
    }
    assert!(
        logs.iter().filter(|log| log["level"] == "INFO").count() == 1,
        "one INFO line per invocation"
    );
}

#[test]
fn emf_documents_go_to_stderr_so_stdout_keeps_only_the_response() {
    let mut binary = command();
    binary.args(["--event", "events/poison-record-in-the-middle.json"]);
    let result = run(binary, b"");
    assert_eq!(result.code, Some(0));
    result.stdout_json();
    let documents: Vec<String> = result
        .stderr
        .lines()
        .filter(|line| line.starts_with('{') && line.contains("\"_aws\""))
        .map(str::to_owned)
        .collect();
    assert_eq!(
        documents.len(),
        2,
        "the cold start and the invocation: {}",
        result.stderr
    );
    assert_valid(&documents, chrono::Utc::now().timestamp_millis());
    let values = values_by_metric(&documents);
    assert_eq!(values["RecordsFailed"], [1.0]);
    assert_eq!(values["RecordsRetried"], [2.0]);
}

#[test]
fn metrics_can_be_turned_off() {
    let mut binary = command();
    binary
        .args(["--event", "events/clean-batch.json"])
        .env("POWERTOOLS_METRICS_DISABLED", "true");
    let result = run(binary, b"");
    assert_eq!(result.code, Some(0));
    assert!(!result.stderr.contains("\"_aws\""), "{}", result.stderr);
}

#[test]
fn item_keys_are_logged_only_when_asked_for() {
    let mut binary = command();
    binary
        .args(["--event", "events/poison-record-in-the-middle.json"])
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("PROCESSOR_LOG_KEYS", "true");
    let result = run(binary, b"");
    let warning: serde_json::Value = result
        .stderr
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .find(|log| log["level"] == "WARN")
        .expect("the failed record's line");
    let keys: serde_json::Value =
        serde_json::from_str(warning["keys"].as_str().expect("keys as text")).unwrap();
    assert_eq!(keys, json!({"pk": {"S": "ORDER#1003"}, "sk": {"S": "ORDER"}}));
    assert!(!result.stderr.contains("-450"), "keys, never image values");
}
