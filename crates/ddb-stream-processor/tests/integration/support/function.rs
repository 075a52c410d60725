//! The real binary run the way Lambda runs it: pointed at an emulated Runtime API, with the
//! variables Lambda sets, its stdout and stderr drained by threads so a full pipe never blocks it,
//! and killed when the test ends however it ends.

use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::thread::JoinHandle;

use super::binary::{command, fixtures_root};
use super::runtime_api::RuntimeApi;

/// The binary set up as Lambda starts it, pointed at `api`, logging in Lambda's JSON format.
pub fn lambda_command(api: &RuntimeApi) -> Command {
    let mut binary = command();
    binary
        .env("AWS_LAMBDA_RUNTIME_API", api.address())
        .env("AWS_LAMBDA_FUNCTION_NAME", "orders-stream")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON");
    binary
}

/// A shipped sample event.
pub fn event(name: &str) -> Vec<u8> {
    std::fs::read(fixtures_root().join("events").join(name)).expect("shipped event")
}

/// What the function wrote.
#[derive(Debug, Default)]
pub struct Output {
    pub stdout: String,
    pub stderr: String,
}

/// A running function process.
pub struct RunningFunction {
    child: Child,
    stdout: Option<JoinHandle<String>>,
    stderr: Option<JoinHandle<String>>,
}

fn drain(stream: Option<impl Read + Send + 'static>) -> Option<JoinHandle<String>> {
    stream.map(|mut stream| {
        std::thread::spawn(move || {
            let mut text = String::new();
            let _ = stream.read_to_string(&mut text);
            text
        })
    })
}

impl RunningFunction {
    /// Starts `command` with stdout and stderr captured.
    pub fn start(mut command: Command) -> Self {
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        Self::spawn(command)
    }

    /// Starts `command` as configured by the caller.
    pub fn spawn(mut command: Command) -> Self {
        Self::from_child(command.spawn().expect("the binary starts"))
    }

    /// Takes charge of a started process, draining whichever of its outputs are still piped.
    pub fn from_child(mut child: Child) -> Self {
        let stdout = drain(child.stdout.take());
        let stderr = drain(child.stderr.take());
        Self {
            child,
            stdout,
            stderr,
        }
    }

    /// The process id, to send it signals.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The exit code once the process has ended, waiting at most `timeout`.
    pub fn wait_for_exit(&mut self, timeout: std::time::Duration) -> Option<std::process::ExitStatus> {
        let started = std::time::Instant::now();
        while started.elapsed() < timeout {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        None
    }

    /// Sends SIGTERM, asserts a graceful exit (code 0) within `timeout`, and returns what it wrote.
    pub fn terminate_gracefully(mut self, timeout: std::time::Duration) -> Output {
        let signalled = std::process::Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("kill runs");
        assert!(signalled.success(), "SIGTERM was sent");
        let status = self
            .wait_for_exit(timeout)
            .expect("the function exits on SIGTERM");
        assert_eq!(status.code(), Some(0), "a graceful exit");
        self.stop()
    }

    /// Stops the process (if it still runs) and returns what it wrote.
    pub fn stop(mut self) -> Output {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let join = |reader: Option<JoinHandle<String>>| {
            reader
                .map(|reader| reader.join().expect("reader"))
                .unwrap_or_default()
        };
        Output {
            stdout: join(self.stdout.take()),
            stderr: join(self.stderr.take()),
        }
    }
}

impl Drop for RunningFunction {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
