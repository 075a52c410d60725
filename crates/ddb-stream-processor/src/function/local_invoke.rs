//! Local invoke: the function's main job on a laptop, with no AWS account and no emulator.
//!
//! `ddb-stream-processor --event events/clean-batch.json` reads one event (a file, or `-` for
//! stdin), runs it through the same [`StreamHandler`] as Lambda with a synthetic invocation, and
//! prints exactly one line on stdout:
//!
//! - the batch response JSON (exit 0), also when it reports a failed record;
//! - `{"errorType":…,"errorMessage":…}` when the invocation fails as a whole (exit 1), exactly what
//!   Lambda would record.
//!
//! Logs go to stderr. An event that cannot be read at all is a usage error (exit 2, nothing on stdout).

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use crate::function::handler::StreamHandler;
use crate::lambda::Invocation;
use crate::processor::RecordProcessor;

/// Where the event comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventSource {
    /// A file.
    File(PathBuf),
    /// Standard input (`--event -`).
    Stdin,
}

impl EventSource {
    /// `-` means stdin; anything else is a path.
    pub fn from_argument(argument: &Path) -> Self {
        if argument == Path::new("-") {
            EventSource::Stdin
        } else {
            EventSource::File(argument.to_owned())
        }
    }

    fn read(&self) -> Result<Vec<u8>, String> {
        match self {
            EventSource::File(path) => std::fs::read(path)
                .map_err(|error| format!("cannot read the event file {}: {error}", path.display())),
            EventSource::Stdin => {
                let mut payload = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut payload)
                    .map_err(|error| format!("cannot read the event from stdin: {error}"))?;
                Ok(payload)
            }
        }
    }
}

/// Exit code when the invocation failed as a whole.
pub const EXIT_INVOCATION_ERROR: u8 = 1;
/// Exit code when the event could not be read or the output could not be written.
pub const EXIT_USAGE: u8 = 2;

/// Runs one local invocation and writes its result line to `stdout`.
pub async fn run<P: RecordProcessor>(
    handler: &StreamHandler<P>,
    source: &EventSource,
    timeout: Duration,
    stdout: &mut impl Write,
) -> ExitCode {
    let payload = match source.read() {
        Ok(payload) => payload,
        Err(message) => {
            eprintln!("ddb-stream-processor: {message}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let invocation = Invocation::local(timeout, handler.engine().config());
    let (line, code) = match handler.handle_payload(&payload, &invocation).await {
        Ok(response) => (serde_json::to_string(&response), ExitCode::SUCCESS),
        Err(error) => (
            serde_json::to_string(&lambda_runtime::Diagnostic::from(error)),
            ExitCode::from(EXIT_INVOCATION_ERROR),
        ),
    };
    let written = line
        .map_err(std::io::Error::from)
        .and_then(|line| writeln!(stdout, "{line}").and_then(|()| stdout.flush()));
    match written {
        Ok(()) => code,
        Err(error) => {
            eprintln!("ddb-stream-processor: cannot write the result to stdout: {error}");
            ExitCode::from(EXIT_USAGE)
        }
    }
}
