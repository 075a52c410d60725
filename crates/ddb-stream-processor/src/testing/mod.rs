//! Test support (crate feature `testing`): scripted processors and stream records, for the tests of
//! this library, of obsctl, and of a team's own function.
//!
//! - [`ScriptedProcessor`]: behaviour per event id, scripted by the test, with every call recorded;
//! - [`ImageScriptedProcessor`]: behaviour scripted by each record's `script` attribute, for tests of
//!   a whole process (the `scripted-function` binary of this crate runs it);
//! - [`records`]: records and events as Lambda sends them;
//! - [`function_command`]: a function binary to run without the caller's configuration;
//! - [`internals`]: the encoder, router and parser the library's own tests drive directly.
//!
//! A function is wired for a test the way `run` wires it, with the builder methods of
//! [`StreamHandler`](crate::StreamHandler) and an [`Invocation::local`](crate::Invocation::local).

pub mod internals;
pub mod records;
mod scripted;

pub use scripted::{
    Behaviour, DONE_MESSAGE, FIXED_VARIABLE, ImageScriptedProcessor, SCRIPT_ATTRIBUTE, ScriptedProcessor,
};

/// A command that runs the function binary at `binary` with none of the caller's configuration
/// (`PROCESSOR_*`, `AWS_*`, `OTEL_*`, `POWERTOOLS_*`, `RUST_LOG` removed), so a test sets exactly
/// what it means to.
pub fn function_command(binary: impl AsRef<std::ffi::OsStr>) -> std::process::Command {
    let mut command = std::process::Command::new(binary);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if ["PROCESSOR_", "AWS_", "OTEL_", "POWERTOOLS_"]
            .iter()
            .any(|prefix| name.starts_with(prefix))
            || name == "RUST_LOG"
        {
            command.env_remove(name.as_ref());
        }
    }
    command
}
