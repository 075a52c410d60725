//! The real binary serving the Lambda Runtime API (emulated in the test): responses and errors reach
//! Lambda in the shape it expects, with stable `errorType` values, and the process survives them.

use std::process::Stdio;
use std::time::Duration;

use serde_json::json;

use crate::support::binary::run;
use crate::support::emf_validator::assert_valid;
use crate::support::function::{RunningFunction, event, lambda_command};
use crate::support::runtime_api::{PostKind, RuntimeApi};
use test_emulators::free_port;

/// The longest a test waits for the function to post a result.
const POST_WAIT: Duration = Duration::from_secs(60);

#[test]
fn responses_and_errors_reach_lambda_with_stable_error_types() {
    let api = RuntimeApi::start();
    api.enqueue("req-clean", event("clean-batch.json"));
    api.enqueue("req-poison-middle", event("poison-record-in-the-middle.json"));
    api.enqueue("req-poison-first", event("poison-first-record.json"));
    api.enqueue(
        "req-not-an-event",
        br#"{"detail-type": "Scheduled Event"}"#.to_vec(),
    );
    api.enqueue("req-missing-sequence", event("missing-sequence-number.json"));
    api.enqueue("req-after-errors", event("ttl-delete.json"));
    let function = RunningFunction::start(lambda_command(&api));

    let mut posts = Vec::new();
    for _ in 0..6 {
        posts.push(
            api.next_post(POST_WAIT)
                .expect("the function posts a result for every invocation"),
        );
    }
    let find = |id: &str| {
        posts
            .iter()
            .find(|post| post.request_id.as_deref() == Some(id))
            .unwrap_or_else(|| panic!("no result for {id}: {posts:?}"))
    };

    for id in ["req-clean", "req-after-errors"] {
        assert_eq!(find(id).kind, PostKind::Response, "{id}");
        assert_eq!(find(id).json(), json!({"batchItemFailures": []}), "{id}");
    }
    let partial = find("req-poison-middle");
    assert_eq!(partial.kind, PostKind::Response);
    assert_eq!(
        partial.json(),
        json!({"batchItemFailures": [{"itemIdentifier": "4421584500000000017450439291"}]})
    );
    for (id, error_type) in [
        ("req-poison-first", "FirstRecordFailed"),
        ("req-not-an-event", "InvalidEvent"),
        ("req-missing-sequence", "MissingSequenceNumber"),
    ] {
        let post = find(id);
        assert_eq!(post.kind, PostKind::Error, "{id}");
        let body = post.json();
        assert_eq!(body["errorType"], error_type, "{id}: {body}");
        assert!(!body["errorMessage"].as_str().unwrap().is_empty(), "{id}");
    }
    assert!(
        find("req-not-an-event").json()["errorMessage"]
            .as_str()
            .unwrap()
            .contains("missing field `Records`"),
        "the handler, not lambda_runtime, parses the payload"
    );

    let output = function.stop();
    assert_one_line_per_failure(&output.stderr);
    // Every invocation flushed its EMF documents to stdout before posting its result.
    let stdout = output.stdout;
    let documents: Vec<String> = stdout.lines().map(str::to_owned).collect();
    assert_valid(&documents, chrono::Utc::now().timestamp_millis());
    let parsed: Vec<serde_json::Value> = documents
        .iter()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    let cold_starts = parsed
        .iter()
        .filter(|document| document.get("ColdStart").is_some())
        .count();
    assert_eq!(cold_starts, 1, "one cold start per process");
    let main_document = |id: &str| {
        parsed
            .iter()
            .find(|document| document["requestId"] == id && document.get("RecordsProcessed").is_some())
            .unwrap_or_else(|| panic!("no EMF document for {id} in {stdout}"))
    };
    let partial = main_document("req-poison-middle");
    assert_eq!(
        (
            &partial["RecordsProcessed"],
            &partial["RecordsFailed"],
            &partial["RecordsRetried"]
        ),
        (&json!(2), &json!(1), &json!(2))
    );
    assert_eq!(
        partial["Service"], "orders-stream",
        "the service defaults to the function name"
    );
    assert_eq!(main_document("req-not-an-event")["errorType"], "InvalidEvent");
    for id in [
        "req-clean",
        "req-poison-first",
        "req-missing-sequence",
        "req-after-errors",
    ] {
        main_document(id);
    }
}

/// The logs of the six invocations above, in Lambda's JSON format: only JSON lines, and each failure
/// said once, in a line with its `requestId`, never as a Rust debug dump.
fn assert_one_line_per_failure(stderr: &str) {
    let lines: Vec<serde_json::Value> = stderr
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|_| panic!("a log line that is not JSON: {line}"))
        })
        .collect();
    let problems = |id: &str| {
        lines
            .iter()
            .filter(|line| {
                line["requestId"] == id && matches!(line["level"].as_str(), Some("WARN" | "ERROR"))
            })
            .map(|line| line["level"].as_str().unwrap())
            .collect::<Vec<_>>()
    };
    for (id, expected) in [
        ("req-clean", vec![]),
        ("req-poison-middle", vec!["WARN"]),
        ("req-poison-first", vec!["ERROR"]),
        ("req-not-an-event", vec!["ERROR"]),
        ("req-missing-sequence", vec!["ERROR"]),
        ("req-after-errors", vec![]),
    ] {
        assert_eq!(problems(id), expected, "{id}: {stderr}");
    }
    let errors_without_request = lines
        .iter()
        .filter(|line| line["level"] == "ERROR" && line.get("requestId").is_none())
        .count();
    assert_eq!(errors_without_request, 0, "{stderr}");
    for type_name in [
        "FirstRecordNotCompleted",
        "MissingSequenceNumber {",
        "InvalidEvent {",
    ] {
        assert!(
            !stderr.contains(type_name),
            "a Rust type name in the logs: {stderr}"
        );
    }
}

#[test]
fn a_bad_configuration_is_posted_to_init_error_before_any_event_is_taken() {
    let api = RuntimeApi::start();
    let mut binary = lambda_command(&api);
    binary.env("PROCESSOR_FIRST_RECORD_FAILURE", "skip");
    let output = run(binary, b"");
    output.assert_usage_error("PROCESSOR_FIRST_RECORD_FAILURE");
    assert_start_up_error_is_one_json_line(&output.stderr, "InvalidConfiguration");
    let report = api
        .next_post(POST_WAIT)
        .expect("the failure is posted before the process exits");
    assert_eq!(report.kind, PostKind::InitError);
    assert_eq!(report.error_type_header.as_deref(), Some("InvalidConfiguration"));
    let body = report.json();
    assert_eq!(body["errorType"], "InvalidConfiguration");
    let message = body["errorMessage"].as_str().unwrap();
    assert!(
        message.contains(r#"PROCESSOR_FIRST_RECORD_FAILURE="skip" is not valid: `error` or `report`"#),
        "{message}"
    );
    assert_eq!(
        api.next_requests(),
        0,
        "no event is taken before the configuration is valid"
    );
}

#[test]
fn a_runtime_api_without_the_other_lambda_variables_is_a_clear_start_up_error() {
    let api = RuntimeApi::start();
    let mut binary = lambda_command(&api);
    binary
        .env_remove("AWS_LAMBDA_FUNCTION_NAME")
        .env_remove("AWS_LAMBDA_FUNCTION_VERSION");
    let output = run(binary, b"");
    output.assert_usage_error("AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_VERSION not set");
    assert_start_up_error_is_one_json_line(&output.stderr, "InvalidRuntimeEnvironment");
    let report = api.next_post(POST_WAIT).expect("the failure is posted");
    assert_eq!(
        (report.kind.clone(), report.json()["errorType"].clone()),
        (PostKind::InitError, json!("InvalidRuntimeEnvironment"))
    );
    assert_eq!(api.next_requests(), 0);
}

#[test]
fn a_start_up_failure_that_cannot_be_reported_still_exits_with_the_reason() {
    // Nothing listens on the Runtime API's port: the report fails, the reason is still on stderr.
    let api_address = format!("127.0.0.1:{}", free_port());
    let mut binary = crate::support::binary::command();
    binary
        .env("AWS_LAMBDA_RUNTIME_API", &api_address)
        .env("PROCESSOR_MAX_ATTEMPTS", "0");
    let output = run(binary, b"");
    output.assert_usage_error("PROCESSOR_MAX_ATTEMPTS");
    assert!(
        output
            .stderr
            .contains("the start-up error could not be reported to Lambda"),
        "{}",
        output.stderr
    );
}

/// In Lambda's JSON log format the start-up failure is one JSON line, at ERROR, with its errorType.
fn assert_start_up_error_is_one_json_line(stderr: &str, error_type: &str) {
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    let line: serde_json::Value = serde_json::from_str(lines[0]).expect("a JSON line");
    assert_eq!(line["level"], "ERROR");
    assert_eq!(line["error_type"], error_type);
}

#[test]
fn a_closed_stdout_loses_the_metrics_but_never_the_function() {
    let api = RuntimeApi::start();
    api.enqueue("req-1", event("clean-batch.json"));
    api.enqueue("req-2", event("poison-record-in-the-middle.json"));
    let mut binary = lambda_command(&api);
    binary
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null());
    let mut child = binary.spawn().expect("the binary starts");
    drop(child.stdout.take()); // every EMF write now fails with a broken pipe
    let _function = RunningFunction::from_child(child);

    for id in ["req-1", "req-2"] {
        let post = api.next_post(POST_WAIT).expect("the function keeps answering");
        assert_eq!(post.request_id.as_deref(), Some(id));
        assert_eq!(post.kind, PostKind::Response);
    }
}

#[test]
fn a_runtime_api_that_rejects_a_result_does_not_stop_the_function() {
    let api = RuntimeApi::start();
    api.fail_next_posts(1);
    api.enqueue("req-1", event("clean-batch.json"));
    api.enqueue("req-2", event("poison-first-record.json"));
    api.enqueue("req-3", event("ttl-delete.json"));
    let _function = RunningFunction::start(lambda_command(&api));

    // The first result was refused: Lambda would retry that batch; the function goes on serving.
    let second = api.next_post(POST_WAIT).expect("the function keeps serving");
    assert_eq!(second.request_id.as_deref(), Some("req-2"));
    assert_eq!(
        second.kind,
        PostKind::Error,
        "a failed batch is never reported as a success"
    );
    let third = api.next_post(POST_WAIT).expect("and keeps serving");
    assert_eq!(
        (third.request_id.as_deref(), &third.kind),
        (Some("req-3"), &PostKind::Response)
    );
}
