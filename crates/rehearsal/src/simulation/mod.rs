//! The deployment, simulated: a DynamoDB stream with the scenario's traffic, the event source mapping
//! as `template.yaml` configures it, and the **real handler** (`StreamHandler::handle_payload`, with
//! its EMF metrics, logs and checkpoint logic) driving a processor the scenario scripts — all on a
//! simulated clock, so an hour of traffic takes seconds.
//!
//! - `stream`: when records arrive, on which shard, which are poison or panic;
//! - `processor`: the scenario's business code;
//! - `event_source_mapping`: polling, batching, the response rules, retries, bisection, the
//!   on-failure destination, and the Lambda service (environments, throttles, the timeout);
//! - `clock`: tokio's paused clock read as wall-clock time.
//!
//! What the rehearsal produces is what CloudWatch would hold: the function's own EMF documents,
//! extracted as CloudWatch Logs extracts them, and the metrics AWS publishes about the function
//! (AWS/Lambda), the mapping (its EventCount metrics), the dead-letter queue (AWS/SQS) and the log
//! group (AWS/Logs EMF errors), in a [`MetricStore`]; and the function's log lines.

mod clock;
mod event_source_mapping;
mod processor;
mod stream;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ddb_stream_processor::telemetry::logs::{LogFormat, LogOutput, LogSettings, MemoryWriter, subscriber};
use ddb_stream_processor::telemetry::metrics::MetricsConfig;
use ddb_stream_processor::telemetry::metrics::sink::MetricsSink;

pub use clock::SimulatedClock;
use event_source_mapping::Service;
use processor::ScenarioProcessor;

use crate::cloudwatch::metric_store::{MetricKey, MetricStore};
use crate::scenario::Scenario;

/// The deployment's settings that shape a rehearsal: the event source mapping's and the function's,
/// as `template.yaml` sets them.
#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    /// `BatchSize`.
    pub batch_size: usize,
    /// `MaximumBatchingWindowInSeconds`.
    pub batching_window: Duration,
    /// `ParallelizationFactor`.
    pub parallelization_factor: u32,
    /// `BisectBatchOnFunctionError`.
    pub bisect: bool,
    /// `MaximumRetryAttempts`; `None` for -1 (retry until the record expires).
    pub max_retry_attempts: Option<u32>,
    /// `MaximumRecordAgeInSeconds`; `None` for -1.
    pub max_record_age: Option<Duration>,
    /// The function's `Timeout`.
    pub function_timeout: Duration,
}

/// The names the deployment gives its resources, which metric dimensions carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Names {
    /// The function (`FunctionName` of AWS/Lambda, and the `Service` dimension of its own metrics).
    pub function_name: String,
    /// The function's metric namespace (`POWERTOOLS_METRICS_NAMESPACE`).
    pub namespace: String,
    /// The event source mapping's UUID.
    pub event_source_mapping_uuid: String,
    /// The dead-letter queue's name.
    pub dead_letter_queue_name: String,
    /// The function's log group.
    pub log_group_name: String,
    /// The table the stream belongs to.
    pub table_name: String,
}

/// A message the dead-letter queue received: a range of records given up on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    /// When it arrived, ms since the epoch.
    pub at_ms: i64,
    /// The shard (its part, with a ParallelizationFactor above 1).
    pub shard: usize,
    /// The range's first sequence number.
    pub first_sequence_number: String,
    /// Its last.
    pub last_sequence_number: String,
    /// Records in the range.
    pub records: usize,
    /// `MaximumRetryAttempts` or `MaximumRecordAgeInSeconds`.
    pub reason: &'static str,
    /// When a redrive replayed its range whole and deleted it, ms since the epoch.
    pub replayed_ms: Option<i64>,
}

/// Everything a rehearsal produced.
#[derive(Debug)]
pub struct Rehearsal {
    /// What CloudWatch would hold.
    pub metrics: MetricStore,
    /// The function's log lines (Lambda's JSON log format), in order.
    pub log_lines: Vec<String>,
    /// The dead-letter queue's messages.
    pub dead_letters: Vec<DeadLetter>,
    /// The simulated start, ms since the epoch.
    pub start_ms: i64,
    /// The simulated end (the scenario's duration plus the tail the alarms need to settle).
    pub end_ms: i64,
    /// Records the stream received.
    pub records: usize,
    /// Invocations of the function.
    pub invocations: usize,
    /// Panics of the processor the scenario scripted (each caught by the function, counted in
    /// PanicsCaught, and kept off stderr).
    pub scripted_panics: usize,
}

impl Rehearsal {
    /// The failure queue in words: how many messages it received, and how many a redrive replayed.
    pub fn dead_letters_summary(&self) -> String {
        let replayed = self
            .dead_letters
            .iter()
            .filter(|letter| letter.replayed_ms.is_some())
            .count();
        if replayed == 0 {
            format!("{} dead-letter message(s)", self.dead_letters.len())
        } else {
            format!(
                "{} dead-letter message(s), {replayed} replayed by a redrive",
                self.dead_letters.len()
            )
        }
    }
}

/// The simulated start of every rehearsal: 2026-01-01T00:00:00Z, a period boundary for every period.
pub const START_MS: i64 = 1_767_225_600_000;

/// How long the simulation runs on after the traffic stops, so that alarms can return to OK.
pub const TAIL: Duration = Duration::from_secs(15 * 60);

/// The function's metrics sink: each flush goes to the store as CloudWatch Logs would extract it,
/// received at the simulated moment of the flush.
#[derive(Debug)]
pub(crate) struct StoreSink {
    store: Arc<Mutex<MetricStore>>,
    clock: SimulatedClock,
}

impl MetricsSink for StoreSink {
    fn write_documents(&self, documents: &[String]) -> std::io::Result<()> {
        let mut store = self
            .store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        for document in documents {
            // A rejected document is counted as an EMF validation error by the store, as CloudWatch does.
            let _ = store.ingest_emf(document, self.clock.now_ms());
        }
        Ok(())
    }
}

/// Runs `scenario` against `deployment`. `progress` is told the share of simulated time done, about
/// once a simulated minute.
pub fn rehearse(
    scenario: &Scenario,
    deployment: &Deployment,
    names: &Names,
    progress: &dyn Fn(f64),
) -> Rehearsal {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .start_paused(true)
        .build()
        .expect("a current-thread tokio runtime builds");
    runtime.block_on(run(scenario, deployment, names, progress))
}

async fn run(
    scenario: &Scenario,
    deployment: &Deployment,
    names: &Names,
    progress: &dyn Fn(f64),
) -> Rehearsal {
    let clock = SimulatedClock::starting_at(START_MS);
    let end_ms = START_MS + i64::from(scenario.duration_minutes) * 60_000 + TAIL.as_millis() as i64;
    let logs = MemoryWriter::default();
    let log_settings = LogSettings {
        format: LogFormat::Json,
        filter: "info".into(),
        lambda_level: None,
        ..LogSettings::default()
    };
    let output = LogOutput {
        writer: logs.clone(),
        clock: Arc::new(clock),
        ansi: false,
    };
    let _logging = tracing::subscriber::set_default(subscriber(&log_settings, output, None));
    processor::silence_scripted_panics();

    let shards = stream::generate(scenario, START_MS);
    let records: usize = shards.iter().map(Vec::len).sum();
    let parts: Vec<(usize, Vec<stream::StreamRecord>)> = shards
        .into_iter()
        .enumerate()
        .flat_map(|(shard, records)| {
            let factor = deployment.parallelization_factor.max(1);
            (0..factor).map(move |part| {
                // Lambda keeps each item key in one part: a hash of the key picks it.
                let own: Vec<_> = records
                    .iter()
                    .copied()
                    .filter(|record| {
                        (u64::from(record.key).wrapping_mul(0x9E37_79B1) >> 16) % u64::from(factor)
                            == u64::from(part)
                    })
                    .collect();
                (shard * factor as usize + part as usize, own)
            })
        })
        .collect();

    let store = Arc::new(Mutex::new(MetricStore::new()));
    let processor = Arc::new(ScenarioProcessor::new(Arc::new(scenario.clone()), clock));
    let service = Service {
        deployment: deployment.clone(),
        names: names.clone(),
        clock,
        processor: Arc::clone(&processor),
        metrics_config: MetricsConfig {
            namespace: names.namespace.clone(),
            service: names.function_name.clone(),
            ..MetricsConfig::default()
        },
        sink: Arc::new(StoreSink {
            store: Arc::clone(&store),
            clock,
        }),
        store: Arc::clone(&store),
        idle: Mutex::new(Vec::new()),
        running: Mutex::new(0),
        invocations: Mutex::new(0),
        dead_letters: Mutex::new(Vec::new()),
        dead_letter_queue_unavailable: scenario.dead_letter_queue_unavailable,
        concurrency_limit: scenario.concurrency_limit.map(|limit| limit as usize),
        end_ms,
    };
    let pollers = parts.iter().map(|(part, records)| service.poll(*part, records));
    let rejected_documents = async {
        for moment in &scenario.invalid_emf_documents {
            let at_ms = START_MS + (moment.at_minute * 60_000.0) as i64;
            tokio::time::sleep_until(clock.instant_at(at_ms)).await;
            let document = invalid_emf_document(at_ms, names);
            let _ = store
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .ingest_emf(&document, at_ms);
        }
    };
    let redrives = async {
        for moment in &scenario.redrives {
            let at_ms = START_MS + (moment.at_minute * 60_000.0) as i64;
            tokio::time::sleep_until(clock.instant_at(at_ms)).await;
            service.redrive(&parts).await;
        }
    };
    let ticker = async {
        while clock.now_ms() < end_ms {
            progress((clock.now_ms() - START_MS) as f64 / (end_ms - START_MS) as f64);
            tokio::time::sleep(Duration::from_secs(60)).await;
        }
    };
    futures_util::future::join4(
        futures_util::future::join_all(pollers),
        ticker,
        rejected_documents,
        redrives,
    )
    .await;
    progress(1.0);

    let dead_letters = service
        .dead_letters
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let invocations = service
        .invocations
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    // Every execution environment's sink still holds the store: take its contents rather than copy them.
    let mut metrics = std::mem::take(&mut *store.lock().unwrap_or_else(std::sync::PoisonError::into_inner));
    publish_queue_and_log_metrics(&mut metrics, &dead_letters, names, end_ms);
    Rehearsal {
        metrics,
        log_lines: logs.contents().lines().map(str::to_owned).collect(),
        dead_letters,
        start_ms: START_MS,
        end_ms,
        records,
        invocations,
        scripted_panics: processor.panics(),
    }
}

/// An EMF document CloudWatch rejects: it declares a metric without giving its value.
fn invalid_emf_document(at_ms: i64, names: &Names) -> String {
    serde_json::json!({
        "_aws": {
            "Timestamp": at_ms,
            "CloudWatchMetrics": [{
                "Namespace": names.namespace,
                "Dimensions": [["Service"]],
                "Metrics": [{"Name": "OrdersShipped", "Unit": "Count"}]
            }]
        },
        "Service": names.function_name
    })
    .to_string()
}

/// The metrics SQS and CloudWatch Logs publish once a minute: the dead-letter queue's depth and the
/// age of its oldest message (SQS reports the age only while a message waits; a message a redrive
/// replayed is gone), and the log group's rejected EMF documents.
fn publish_queue_and_log_metrics(
    metrics: &mut MetricStore,
    dead_letters: &[DeadLetter],
    names: &Names,
    end_ms: i64,
) {
    let depth = MetricKey::new(
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        &[("QueueName", &names.dead_letter_queue_name)],
    );
    let oldest_age = MetricKey::new(
        "AWS/SQS",
        "ApproximateAgeOfOldestMessage",
        &[("QueueName", &names.dead_letter_queue_name)],
    );
    let mut minute_end = START_MS + 60_000;
    while minute_end <= end_ms {
        let waiting: Vec<&DeadLetter> = dead_letters
            .iter()
            .filter(|letter| letter.at_ms < minute_end)
            .filter(|letter| letter.replayed_ms.is_none_or(|replayed| replayed >= minute_end))
            .collect();
        metrics.put(depth.clone(), minute_end - 1, waiting.len() as f64, 1.0);
        if let Some(oldest) = waiting.iter().map(|letter| letter.at_ms).min() {
            metrics.put(
                oldest_age.clone(),
                minute_end - 1,
                ((minute_end - oldest) / 1000) as f64,
                1.0,
            );
        }
        minute_end += 60_000;
    }
    let rejected = MetricKey::new(
        "AWS/Logs",
        "EMFValidationErrors",
        &[("LogGroupName", &names.log_group_name)],
    );
    for at_ms in metrics.emf_errors().to_vec() {
        metrics.put(rejected.clone(), at_ms, 1.0, 1.0);
    }
}
