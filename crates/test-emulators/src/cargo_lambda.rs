//! cargo-lambda's emulator (`cargo lambda watch --only-lambda-apis`, PyPI `cargo-lambda`): the
//! Runtime API a function binary polls (under `/.rt`) and the Lambda Invoke API
//! (`POST /2015-03-31/functions/<name>/invocations`) that `cargo lambda invoke` and the AWS SDKs
//! call, on one loopback port.
//!
//! The executable comes from `CARGO_LAMBDA`, or the project's `.venv/cargo-lambda`, created on first
//! use. Its Runtime API sends the deadline as a duration (600000) where Lambda sends epoch
//! milliseconds; the function reads it as the emulator meant it.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::Duration;

use crate::{free_port, python_tool, wait_for_port};

/// The function name the emulator serves with `--only-lambda-apis`.
pub const FUNCTION_NAME: &str = "_";
/// The longest the emulator may take to listen.
const START_WAIT: Duration = Duration::from_secs(60);

/// cargo-lambda's executable (installed once for all the tests of a binary).
pub fn executable() -> PathBuf {
    static EXECUTABLE: OnceLock<PathBuf> = OnceLock::new();
    EXECUTABLE
        .get_or_init(|| {
            python_tool(
                "CARGO_LAMBDA",
                "cargo-lambda",
                "requirements-cargo-lambda.txt",
                "cargo-lambda",
            )
        })
        .clone()
}

/// `cargo lambda watch --only-lambda-apis` on a free loopback port, stopped when dropped.
pub struct Watch {
    child: Child,
    port: u16,
}

impl Watch {
    /// Starts it from `folder` and waits until it listens.
    pub fn start(folder: &Path) -> Self {
        let port = free_port();
        let child = Command::new(executable())
            .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P"])
            .arg(port.to_string())
            .current_dir(folder)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cargo lambda watch starts");
        let watch = Self { child, port };
        assert!(
            wait_for_port(port, START_WAIT),
            "cargo lambda watch did not listen on 127.0.0.1:{port} within {START_WAIT:?}"
        );
        watch
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The Invoke API's endpoint (`AWS_ENDPOINT_URL_LAMBDA` for an SDK).
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The Runtime API a function binary is given as `AWS_LAMBDA_RUNTIME_API`.
    pub fn runtime_api(&self) -> String {
        format!("http://127.0.0.1:{}/.rt", self.port)
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
