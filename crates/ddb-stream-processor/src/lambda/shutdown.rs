//! Graceful shutdown: run a hook (the trace exporter's final flush) when the process is told to stop.
//!
//! Lambda sends SIGTERM only to functions with at least one extension, so this registers a no-op
//! internal extension — what `lambda_runtime::spawn_graceful_shutdown_handler` does — with two
//! differences that matter for a production template:
//!
//! - a Runtime API without the Extensions API (cargo-lambda's emulator, some test harnesses) costs
//!   one warning and the SIGTERM from Lambda, not a panic at start-up; SIGTERM and SIGINT sent by
//!   anyone else (Ctrl-C under `cargo lambda watch`) still run the hook;
//! - what it says goes through `tracing`, so with `AWS_LAMBDA_LOG_FORMAT=JSON` every line on stderr
//!   is JSON (lambda_runtime prints plain-text `[runtime] SIGTERM received` lines).

use std::future::Future;

use tokio::signal::unix::{SignalKind, signal};
use tracing::{info, warn};

/// The internal extension's name; unique within a function.
pub const EXTENSION_NAME: &str = "ddb-stream-processor-graceful-shutdown";

/// Registers the no-op extension (before the runtime loop starts, as Lambda requires) and spawns
/// the task that runs `hook` on SIGTERM or SIGINT, then ends the process with exit code 0.
pub async fn on_shutdown<Hook, Fut>(hook: Hook)
where
    Hook: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let (mut terminate, mut interrupt) = match (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) {
        (Ok(terminate), Ok(interrupt)) => (terminate, interrupt),
        (Err(error), _) | (_, Err(error)) => {
            warn!(
                "cannot listen for SIGTERM and SIGINT ({error}); traces are flushed after each invocation, not at shutdown"
            );
            return;
        }
    };
    let registered = lambda_extension::Extension::new()
        .with_events(&[])
        .with_extension_name(EXTENSION_NAME)
        .register()
        .await;
    let extension = match registered {
        Ok(extension) => Some(extension),
        Err(error) => {
            warn!(
                "the Runtime API has no Extensions API ({error}), so Lambda would not send SIGTERM before \
                 ending the process; expected under a local emulator such as cargo lambda watch. Traces \
                 are still flushed after each invocation, and SIGTERM or SIGINT still flush them"
            );
            None
        }
    };
    tokio::spawn(async move {
        let shutdown = async move {
            let signal = tokio::select! {
                _ = terminate.recv() => "SIGTERM",
                _ = interrupt.recv() => "SIGINT",
            };
            info!("{signal} received: flushing the traces before the process ends");
            hook().await;
            info!("shutdown complete");
            std::process::exit(0);
        };
        let keep_registered = async move {
            // The extension asks for no events: its long poll never returns while the function lives.
            if let Some(extension) = extension {
                let _ = extension.run().await;
            }
            std::future::pending::<()>().await;
        };
        tokio::join!(shutdown, keep_registered);
    });
}
