//! The standard Rust dev loop: the function under cargo-lambda's own emulator (`cargo lambda watch`,
//! the real one from PyPI), invoked with `cargo lambda invoke --data-file`, on 127.0.0.1.
//!
//! cargo-lambda's Runtime API sends `Lambda-Runtime-Deadline-Ms` as a duration (600000) where Lambda
//! sends epoch milliseconds; the function must read it as the emulator meant it and say so once.
//! Traces are on, so the graceful-shutdown registration runs against the emulator too; SIGTERM then
//! ends the process cleanly, and every line on stderr is JSON.
//!
//! The emulator is the `test-emulators` crate's (`CARGO_LAMBDA`, or `.venv/cargo-lambda` created on
//! first use, as `.ci/test` does).

use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};

use crate::support::binary::{command, fixtures_root};
use crate::support::function::RunningFunction;
use crate::support::otlp_receiver::OtlpReceiver;
use test_emulators::cargo_lambda;

/// The longest a test waits for anything the emulator or the function does.
const WAIT: Duration = Duration::from_secs(60);

/// `cargo lambda invoke --data-file` against the emulator; its stdout, parsed.
fn invoke(port: u16, event: &str) -> Value {
    let mut invoke = RunningFunction::start({
        let mut command = Command::new(cargo_lambda::executable());
        command
            .args(["lambda", "invoke", "-A", "127.0.0.1", "-P", &port.to_string()])
            .args([
                "--data-file",
                &format!("events/{event}"),
                cargo_lambda::FUNCTION_NAME,
            ])
            .current_dir(fixtures_root());
        command
    });
    let status = invoke.wait_for_exit(WAIT).expect("cargo lambda invoke returns");
    let output = invoke.stop();
    assert!(status.success(), "cargo lambda invoke {event}: {}", output.stderr);
    serde_json::from_str(output.stdout.trim())
        .unwrap_or_else(|error| panic!("{event}: not JSON ({error}): {}", output.stdout))
}

#[test]
fn cargo_lambda_watch_and_invoke_return_the_batch_response() {
    let emulator = cargo_lambda::Watch::start(&test_emulators::repository());
    let port = emulator.port();
    let receiver = OtlpReceiver::start();
    let function = RunningFunction::start({
        let mut function = command();
        function
            .env("AWS_LAMBDA_RUNTIME_API", emulator.runtime_api())
            .env("AWS_LAMBDA_FUNCTION_NAME", cargo_lambda::FUNCTION_NAME)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "128")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("OTEL_EXPORTER_OTLP_ENDPOINT", receiver.endpoint());
        function
    });

    assert_eq!(invoke(port, "clean-batch.json"), json!({"batchItemFailures": []}));
    assert_eq!(
        invoke(port, "poison-record-in-the-middle.json"),
        json!({"batchItemFailures": [{"itemIdentifier": "4421584500000000017450439291"}]}),
        "the checkpoint at the failed record, not DeadlineReachedAtFirstRecord"
    );

    let output = function.terminate_gracefully(WAIT);
    drop(emulator);

    let logs: Vec<Value> = output
        .stderr
        .lines()
        .map(|line| {
            serde_json::from_str(line).unwrap_or_else(|error| panic!("only JSON on stderr ({error}): {line}"))
        })
        .collect();
    let deadline_warnings = logs
        .iter()
        .filter(|log| {
            log["level"] == "WARN"
                && log["message"]
                    .as_str()
                    .is_some_and(|message| message.contains("Lambda-Runtime-Deadline-Ms 600000"))
        })
        .count();
    assert_eq!(
        deadline_warnings, 1,
        "one warning for the emulator's deadline: {logs:#?}"
    );
    assert!(
        logs.iter().any(|log| log["message"] == "shutdown complete"),
        "the shutdown is logged as JSON: {logs:#?}"
    );
    assert!(
        !receiver.spans().is_empty(),
        "the spans reached the collector under the emulator"
    );
}
