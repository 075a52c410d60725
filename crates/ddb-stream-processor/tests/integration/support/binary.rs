//! Running a real function binary — `scripted-function`, the library's `run` with the
//! record-scripted processor — with a clean environment.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// The binary Cargo built for these tests.
pub const BINARY: &str = env!("CARGO_BIN_EXE_scripted-function");

/// The variable that points the binary tests at another build (`.ci/test` runs them again on the
/// release binary, the one `sam build` ships).
pub const BINARY_UNDER_TEST: &str = "DDB_BINARY_UNDER_TEST";

/// The binary the tests run: `DDB_BINARY_UNDER_TEST` when set, else the one Cargo built.
pub fn binary_under_test() -> std::path::PathBuf {
    std::env::var_os(BINARY_UNDER_TEST).map_or_else(|| BINARY.into(), std::path::PathBuf::from)
}

/// The folder of the test fixtures (`events/`, `golden/`); the binary runs from it.
pub fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// A command for the binary without any of the caller's configuration variables, run from the
/// repository root.
pub fn command() -> Command {
    let mut command = ddb_stream_processor::testing::function_command(binary_under_test());
    command.current_dir(fixtures_root());
    command
}

/// What a finished run printed.
#[derive(Debug)]
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The single line printed on stdout, parsed as JSON (fails the test if there is not exactly one).
    pub fn stdout_json(&self) -> serde_json::Value {
        let lines: Vec<&str> = self.stdout.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "exactly one line on stdout, got {:?}; stderr: {}",
            self.stdout,
            self.stderr
        );
        serde_json::from_str(lines[0])
            .unwrap_or_else(|error| panic!("stdout is not JSON ({error}): {}", lines[0]))
    }
}

impl Run {
    /// Asserts a start-up or usage failure: exit code 2, nothing on stdout, and `mentions` on stderr.
    pub fn assert_usage_error(&self, mentions: &str) {
        assert_eq!(self.code, Some(2), "stderr: {}", self.stderr);
        assert_eq!(self.stdout, "", "nothing on stdout");
        assert!(
            self.stderr.contains(mentions),
            "stderr should mention {mentions:?}: {}",
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked"),
            "a clear error, not a panic: {}",
            self.stderr
        );
    }
}

/// Runs `command` to completion, feeding `stdin` to it.
pub fn run(mut command: Command, stdin: &[u8]) -> Run {
    let mut child: Child = command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    child
        .stdin
        .take()
        .expect("piped stdin")
        .write_all(stdin)
        .expect("stdin accepts the payload");
    let output = child.wait_with_output().expect("the binary finishes");
    Run {
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}
