//! cargo-lambda's emulator (`cargo lambda watch --only-lambda-apis`, PyPI `cargo-lambda`): the
//! Runtime API a function binary polls (under `/.rt`) and the Lambda Invoke API
//! (`POST /2015-03-31/functions/<name>/invocations`) that `cargo lambda invoke` and the AWS SDKs
//! call, on one loopback port.
//!
//! The executable comes from `CARGO_LAMBDA`, or the project's `.venv/cargo-lambda`, created on first
//! use. Its Runtime API sends the deadline as a duration (600000) where Lambda sends epoch
//! milliseconds; the function reads it as the emulator meant it.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use crate::{Server, free_port, python_tool};

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
    server: Server,
}

impl Watch {
    /// Starts it from `folder` and waits until it listens.
    pub fn start(folder: &Path) -> Self {
        let port = free_port();
        let mut command = Command::new(executable());
        command
            .args(["lambda", "watch", "--only-lambda-apis", "-A", "127.0.0.1", "-P"])
            .arg(port.to_string())
            .current_dir(folder);
        Self {
            server: Server::start(command, port, START_WAIT, "cargo lambda watch"),
        }
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.server.port()
    }

    /// The Invoke API's endpoint (`AWS_ENDPOINT_URL_LAMBDA` for an SDK).
    pub fn endpoint(&self) -> String {
        self.server.endpoint()
    }

    /// The Runtime API a function binary is given as `AWS_LAMBDA_RUNTIME_API`.
    pub fn runtime_api(&self) -> String {
        format!("{}/.rt", self.server.endpoint())
    }
}
