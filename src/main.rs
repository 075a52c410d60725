//! The Lambda function binary.
//!
//! Under Lambda (`AWS_LAMBDA_RUNTIME_API` set) it serves the Runtime API loop; with `--event` it runs
//! one local invocation. Configuration is read from the environment once, before either.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use clap::Parser;
use ddb_stream_processor::config::{self, Settings};
use ddb_stream_processor::example_processor::OrderProcessor;
use ddb_stream_processor::local_invoke::{self, EventSource};
use ddb_stream_processor::telemetry::metrics::sink::{self, MetricsSink};
use ddb_stream_processor::telemetry::metrics::{Metrics, router};
use ddb_stream_processor::telemetry::traces::{FunctionIdentity, Traces};
use ddb_stream_processor::{BatchEngine, StreamHandler, telemetry};
use lambda_runtime::{LambdaEvent, Runtime, service_fn};
use serde_json::value::RawValue;

/// See the `mimalloc` entry of Cargo.toml for why this allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
const EXIT_START_UP: u8 = 2;

/// One thread: Lambda hands the runtime one invocation at a time, per-key concurrency interleaves
/// records on one task, and the trace exporter has its own thread. In the overhead benchmark it
/// was faster than the multi-threaded runtime on 10,000 records (55.9 ms against 78.6 ms, under
/// glibc's allocator): no cross-thread wake-ups or timer synchronization per record.
#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let settings = match Settings::from_env() {
        Ok(settings) => settings,
        Err(error) => {
            eprintln!("ddb-stream-processor: configuration error: {error}");
            return ExitCode::from(EXIT_START_UP);
        }
    };
    let traces = match Traces::start(&settings.traces, &function_identity(&settings)) {
        Ok(traces) => traces,
        Err(error) => {
            eprintln!("ddb-stream-processor: {error}");
            return ExitCode::from(EXIT_START_UP);
        }
    };
    telemetry::init(&settings.log, traces.as_ref());
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

    // ---- Your business logic: replace `OrderProcessor` with your own `RecordProcessor`. ----
    let processor = OrderProcessor;
    let handler = StreamHandler::new(BatchEngine::new(engine), processor)
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
             To process an event locally: cargo run -- --event events/clean-batch.json"
        );
        return ExitCode::from(EXIT_START_UP);
    }
    if let Err(problem) = config::check_runtime_environment(|name| std::env::var(name).ok()) {
        tracing::error!("cannot start the Lambda runtime loop: {problem}");
        return ExitCode::from(EXIT_START_UP);
    }
    if let Some(traces) = traces {
        // Lambda sends SIGTERM only to runtimes with an extension; this registers a no-op one.
        lambda_runtime::spawn_graceful_shutdown_handler(move || async move {
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
