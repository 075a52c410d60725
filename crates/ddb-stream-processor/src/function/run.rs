//! The composition root: `run(processor)` is the whole `main` of a stream function.
//!
//! It reads and validates the configuration, sets up logs, metrics and traces, builds the
//! [`StreamHandler`], and then either runs one local invocation (`--event FILE`) or serves the
//! Lambda Runtime API until the process ends. Every step that can fail says what is wrong and exits
//! with code 2 before an event is taken; under a Runtime API it first posts the failure to
//! `/runtime/init/error`, so Lambda shows it instead of a bare `Runtime.ExitError`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use lambda_runtime::{Diagnostic, LambdaEvent, Runtime, service_fn};
use serde_json::value::RawValue;

use super::config::{self, Settings};
use super::handler::StreamHandler;
use super::local_invoke::{self, EventSource};
use crate::clock::SystemClock;
use crate::lambda::init_error::{self, INVALID_CONFIGURATION, INVALID_RUNTIME_ENVIRONMENT};
use crate::lambda::shutdown;
use crate::processor::RecordProcessor;
use crate::telemetry;
use crate::telemetry::logs::{self, LogFormat, LogOutput, LogSettings};
use crate::telemetry::metrics::sink::{self, MetricsSink};
use crate::telemetry::metrics::{Metrics, router};
use crate::telemetry::traces::{FunctionIdentity, Traces};

/// A DynamoDB stream consumer for AWS Lambda. Without options it serves the Lambda Runtime API.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Cli {
    /// Run once on this DynamoDB stream event (a JSON file, or `-` for stdin) and print the response.
    #[arg(long, value_name = "FILE")]
    event: Option<PathBuf>,

    /// Time budget of the local invocation, like the function's timeout.
    #[arg(long, value_name = "MS", default_value_t = 30_000, requires = "event",
          value_parser = clap::value_parser!(u64).range(1..=900_000))]
    timeout_ms: u64,
}

/// Exit code of a start-up failure (bad configuration, no runtime API).
pub const EXIT_START_UP: u8 = 2;

/// Runs the function with `processor`: one local invocation with `--event FILE`, else the Lambda
/// Runtime API loop. This is all a function's `main` needs:
///
/// ```no_run
/// use ddb_stream_processor::{processor_fn, run};
///
/// fn main() -> std::process::ExitCode {
///     run(processor_fn(|_record| async { Ok(()) }))
/// }
/// ```
///
/// It runs on a current-thread tokio runtime: Lambda hands the runtime one invocation at a time,
/// per-key concurrency interleaves records on one task, and the trace exporter has its own thread.
/// In the overhead benchmark that was faster than the multi-threaded runtime on 10,000 records (no
/// cross-thread wake-ups or timer synchronization per record).
pub fn run<P: RecordProcessor + 'static>(processor: P) -> ExitCode {
    let cli = Cli::parse();
    match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(serve(processor, cli)),
        Err(error) => {
            eprintln!("ddb-stream-processor: cannot start the tokio runtime: {error}");
            ExitCode::from(EXIT_START_UP)
        }
    }
}

async fn serve<P: RecordProcessor + 'static>(processor: P, cli: Cli) -> ExitCode {
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            let message = format!("configuration error: {error}");
            return fail_start_up(&cli, INVALID_CONFIGURATION, message).await;
        }
    };
    let traces = match Traces::start(&settings.traces, &function_identity(&settings)) {
        Ok(traces) => traces,
        Err(error) => return fail_start_up(&cli, INVALID_CONFIGURATION, error.to_string()).await,
    };
    telemetry::logs::init(&settings.log, traces.as_ref());
    for warning in settings.start_up_warnings() {
        tracing::warn!("{warning}");
    }
    // Business code's `metrics::counter!` calls reach the invocation they are made in.
    if !router::install() {
        tracing::warn!("another global metrics recorder was installed first: business metrics go there");
    }
    // Under Lambda, EMF goes to stdout; locally stdout is reserved for the response line.
    let metrics_sink: Arc<dyn MetricsSink> = if cli.event.is_some() {
        Arc::new(sink::stderr())
    } else {
        Arc::new(sink::stdout())
    };
    let mut engine = settings.engine.clone();
    if traces.is_some() {
        // The trace flush happens inside the invocation: keep its budget out of the records' time.
        engine.telemetry_reserve = settings.traces.flush_timeout;
    }
    let handler = StreamHandler::new(processor)
        .with_engine_config(engine)
        .with_metrics(Metrics::new(settings.metrics.clone(), metrics_sink))
        .with_traces(traces.clone());

    if let Some(event) = &cli.event {
        let source = EventSource::from_argument(event);
        let timeout = Duration::from_millis(cli.timeout_ms);
        let code = local_invoke::run(&handler, &source, timeout, &mut std::io::stdout().lock()).await;
        if let Some(traces) = traces {
            let _ = tokio::task::spawn_blocking(move || traces.shutdown()).await;
        }
        return code;
    }
    if std::env::var_os("AWS_LAMBDA_RUNTIME_API").is_none() {
        eprintln!(
            "ddb-stream-processor: AWS_LAMBDA_RUNTIME_API is not set, so this is not running under Lambda.\n\
             To process an event locally: cargo run -- --event events/clean-batch.json\n\
             To run under a local Lambda emulator: cargo lambda watch, then cargo lambda invoke"
        );
        return ExitCode::from(EXIT_START_UP);
    }
    if let Err(problem) = config::check_runtime_environment(|name| std::env::var(name).ok()) {
        let message = format!("cannot start the Lambda runtime loop: {problem}");
        return fail_start_up(&cli, INVALID_RUNTIME_ENVIRONMENT, message).await;
    }
    if let Some(traces) = traces {
        shutdown::on_shutdown(move || async move {
            let _ = tokio::task::spawn_blocking(move || traces.shutdown()).await;
        })
        .await;
    }

    // `Runtime::new` without lambda_runtime's TracingLayer: the handler's own `invocation` span is
    // the root of each trace.
    let handler = &handler;
    let served = Runtime::new(service_fn(move |event: LambdaEvent<Box<RawValue>>| async move {
        handler.handle(event).await
    }))
    .run()
    .await;
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("the Lambda runtime loop stopped: {error}");
            ExitCode::FAILURE
        }
    }
}

/// Says why the function cannot start — on stderr, and to the Runtime API's `/runtime/init/error`
/// when it serves one — and returns the start-up exit code.
///
/// The line is JSON when `AWS_LAMBDA_LOG_FORMAT` asks for it (the logs are not set up yet, and may
/// be what is misconfigured), so that a JSON log group holds only JSON lines.
async fn fail_start_up(cli: &Cli, error_type: &str, message: String) -> ExitCode {
    let json_logs = std::env::var(config::LOG_FORMAT)
        .is_ok_and(|format| config::log_format_named(&format) == Some(LogFormat::Json));
    print_start_up_error(json_logs, error_type, &message);
    let runtime_api = std::env::var("AWS_LAMBDA_RUNTIME_API")
        .ok()
        .filter(|api| !api.is_empty());
    if let (None, Some(runtime_api)) = (&cli.event, runtime_api) {
        let diagnostic = Diagnostic {
            error_type: error_type.to_owned(),
            error_message: message,
        };
        if let Err(problem) = init_error::report_init_error(&runtime_api, &diagnostic).await {
            let message = format!("the start-up error could not be reported to Lambda: {problem}");
            print_start_up_error(json_logs, error_type, &message);
        }
    }
    ExitCode::from(EXIT_START_UP)
}

/// One stderr line about a start-up failure: in Lambda's JSON log shape, written by the function's
/// own JSON log format (the global logs may not be set up yet), or as text.
fn print_start_up_error(json: bool, error_type: &str, message: &str) {
    if !json {
        eprintln!("ddb-stream-processor: {message}");
        return;
    }
    let settings = LogSettings {
        format: LogFormat::Json,
        filter: "error".into(),
        lambda_level: None,
        ..LogSettings::default()
    };
    let output = LogOutput {
        writer: std::io::stderr,
        clock: Arc::new(SystemClock),
        ansi: false,
    };
    tracing::subscriber::with_default(logs::subscriber(&settings, output, None), || {
        tracing::error!(error_type, "{message}");
    });
}

/// What the trace resource says about this function, from the variables Lambda sets.
fn function_identity(settings: &Settings) -> FunctionIdentity {
    let variable = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
    FunctionIdentity {
        service_name: settings.metrics.service.clone(),
        function_name: variable("AWS_LAMBDA_FUNCTION_NAME"),
        function_version: variable("AWS_LAMBDA_FUNCTION_VERSION"),
        region: variable("AWS_REGION"),
        memory_mb: variable("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").and_then(|memory| memory.parse().ok()),
        log_stream: variable("AWS_LAMBDA_LOG_STREAM_NAME"),
    }
}
