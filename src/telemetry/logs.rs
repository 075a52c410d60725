//! Log output: the `tracing` subscriber the binary installs, and the panic hook.
//!
//! The library only emits `tracing` events and spans; this module decides where they go. Logs are
//! written to **stderr**, so that stdout stays reserved for machine-readable output (the local
//! invoke's response line) and for the EMF metric documents. Lambda ships both streams to CloudWatch Logs.

use std::io::IsTerminal;

use tracing::Subscriber;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::{LogFormat, LogSettings};
use crate::engine::panic_message;

/// A subscriber that writes to `writer` in the configured format and at the configured level.
pub fn subscriber<W>(settings: &LogSettings, writer: W, ansi: bool) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    // The filter was validated when the settings were read.
    let filter = EnvFilter::builder().parse_lossy(&settings.filter);
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer);
    match settings.format {
        LogFormat::Json => Box::new(
            builder
                .json()
                .flatten_event(true)
                .with_current_span(true)
                .with_span_list(false)
                .finish(),
        ),
        LogFormat::Text => Box::new(builder.with_ansi(ansi).finish()),
    }
}

/// Installs the subscriber for the process (stderr) and routes panic reports through it.
pub fn init(settings: &LogSettings) {
    let ansi = std::io::stderr().is_terminal() && settings.format == LogFormat::Text;
    if tracing::subscriber::set_global_default(subscriber(settings, std::io::stderr, ansi)).is_ok() {
        install_panic_hook();
    }
}

/// Reports panics as ERROR events, so they carry the current record's span and the log format.
/// The engine catches processor panics; this hook adds where the panic happened.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|location| location.to_string())
            .unwrap_or_else(|| "an unknown location".to_owned());
        tracing::error!(
            panic.location = %location,
            "panic at {location}: {}",
            panic_message(info.payload())
        );
    }));
}
