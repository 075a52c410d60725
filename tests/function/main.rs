//! The function binary, whatever its processor: what the template promises before any business
//! logic runs. These tests never assume the example's rules, so they pass unchanged when a team
//! replaces `src/processor/` (`.ci/replace-processor` proves it on every CI run). The template's
//! behaviour record by record is tested in the library, with scripted processors.

use std::process::{Command, Stdio};

use ddb_stream_processor::testing::function_command;
use serde_json::Value;

const BINARY: &str = env!("CARGO_BIN_EXE_ddb-stream-processor");

/// The binary with none of the caller's configuration, run from the repository root.
fn function() -> Command {
    let mut command = function_command(BINARY);
    command
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(Stdio::null());
    command
}

#[test]
fn a_payload_that_is_not_a_stream_event_fails_the_invocation_with_invalid_event() {
    let output = function()
        .args(["--event", "events/malformed-event.json"])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line: Value = serde_json::from_slice(&output.stdout).expect("one JSON line on stdout");
    assert_eq!(line["errorType"], "InvalidEvent");
    assert!(
        line["errorMessage"]
            .as_str()
            .unwrap()
            .contains("Records[0].dynamodb: missing field `SizeBytes`"),
        "{line}"
    );
}

#[test]
fn every_sample_event_gets_one_line_lambda_would_accept() {
    for entry in std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/events")).unwrap() {
        let path = entry.unwrap().path();
        let output = function().arg("--event").arg(&path).output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert_eq!(stdout.lines().count(), 1, "{}: {stdout}", path.display());
        let line: Value = serde_json::from_str(stdout.trim()).unwrap();
        match output.status.code() {
            Some(0) => assert!(line["batchItemFailures"].is_array(), "{}: {line}", path.display()),
            Some(1) => assert!(
                line["errorType"].is_string() && line["errorMessage"].is_string(),
                "{}: {line}",
                path.display()
            ),
            other => panic!("{}: exit code {other:?}", path.display()),
        }
    }
}

#[test]
fn a_bad_setting_stops_the_function_before_it_takes_an_event() {
    let output = function()
        .args(["--event", "events/clean-batch.json"])
        .env("PROCESSOR_MAX_ATTEMPTS", "0")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(output.stdout.is_empty());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("PROCESSOR_MAX_ATTEMPTS=\"0\" is not valid: a whole number from 1 to 20"),
        "{stderr}"
    );
}

#[test]
fn outside_lambda_it_says_how_to_run_locally() {
    let output = function().output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("AWS_LAMBDA_RUNTIME_API is not set"), "{stderr}");
    assert!(stderr.contains("cargo lambda watch"), "{stderr}");
}
