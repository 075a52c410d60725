//! Configuration from environment variables: read once at start-up, validated, typed.
//!
//! A bad value stops start-up with a message that names the variable, the value and what is
//! expected; nothing is silently replaced by a default. [`SETTINGS`] lists every variable with its
//! default and meaning; `obsctl render` writes the README's configuration table from it.

use std::num::NonZeroU32;
use std::time::Duration;

use tracing::level_filters::LevelFilter;
use tracing_subscriber::EnvFilter;

use crate::engine::{DeadlineMargin, EngineConfig, FirstRecordFailurePolicy, RetryPolicy};
use crate::telemetry::logs::{LogFormat, LogSettings};
use crate::telemetry::metrics::emf::{validate_dimension_value, validate_namespace};
use crate::telemetry::metrics::{DEFAULT_MAX_SAMPLES, DEFAULT_NAMESPACE, DEFAULT_SERVICE, MetricsConfig};
use crate::telemetry::traces::{
    DEFAULT_FLUSH_TIMEOUT, DEFAULT_SAMPLE_EVERY, DEFAULT_SLOW_RECORD, RecordSampling, RecordSpans,
    TraceSettings,
};

/// One documented environment variable.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Setting {
    /// The variable's name.
    pub name: &'static str,
    /// Its default, as the README's table shows it.
    pub default: &'static str,
    /// What it controls, with its range.
    pub meaning: &'static str,
}

/// Attempts per record.
pub(crate) const MAX_ATTEMPTS: &str = "PROCESSOR_MAX_ATTEMPTS";
/// Backoff cap of the first retry.
pub(crate) const RETRY_BASE_DELAY_MS: &str = "PROCESSOR_RETRY_BASE_DELAY_MS";
/// Largest pause between attempts.
pub(crate) const RETRY_MAX_DELAY_MS: &str = "PROCESSOR_RETRY_MAX_DELAY_MS";
/// Time kept back before the deadline.
pub(crate) const DEADLINE_MARGIN_MS: &str = "PROCESSOR_DEADLINE_MARGIN_MS";
/// What to do when the first record fails.
pub(crate) const FIRST_RECORD_FAILURE: &str = "PROCESSOR_FIRST_RECORD_FAILURE";
/// The CloudWatch namespace of the metrics (the Powertools variable).
pub(crate) const METRICS_NAMESPACE: &str = "POWERTOOLS_METRICS_NAMESPACE";
/// The `Service` dimension of the metrics (the Powertools variable).
pub(crate) const SERVICE_NAME: &str = "POWERTOOLS_SERVICE_NAME";
/// Turns metrics off (the Powertools variable).
pub(crate) const METRICS_DISABLED: &str = "POWERTOOLS_METRICS_DISABLED";
/// One-second storage resolution for every metric.
pub(crate) const METRICS_HIGH_RESOLUTION: &str = "PROCESSOR_METRICS_HIGH_RESOLUTION";
/// Samples kept per distribution and invocation.
pub(crate) const METRICS_MAX_SAMPLES: &str = "PROCESSOR_METRICS_MAX_SAMPLES";
/// Records processed at once (per-key concurrency when above 1).
pub(crate) const MAX_IN_FLIGHT: &str = "PROCESSOR_MAX_IN_FLIGHT";
/// Puts each record's item keys in its span and log lines.
pub(crate) const LOG_KEYS: &str = "PROCESSOR_LOG_KEYS";
/// Puts the source chain of each failure in its log line, span and error message.
pub(crate) const LOG_ERROR_SOURCES: &str = "PROCESSOR_LOG_ERROR_SOURCES";
/// Lets lambda_runtime's TRACE line with each raw event (every image in it) reach the logs.
pub(crate) const LOG_RAW_EVENTS: &str = "PROCESSOR_LOG_RAW_EVENTS";
/// The OTLP endpoint for traces only (turns traces on).
pub(crate) const OTLP_TRACES_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT";
/// The OTLP endpoint for every signal (turns traces on).
pub(crate) const OTLP_ENDPOINT: &str = "OTEL_EXPORTER_OTLP_ENDPOINT";
/// Turns the OpenTelemetry SDK off, whatever the endpoint says.
pub(crate) const OTEL_SDK_DISABLED: &str = "OTEL_SDK_DISABLED";
/// The flush budget of the traces per invocation.
pub(crate) const TRACE_FLUSH_TIMEOUT_MS: &str = "PROCESSOR_TRACE_FLUSH_TIMEOUT_MS";
/// Which record spans are exported: `all`, `sampled` or `problems`.
pub(crate) const TRACE_RECORDS: &str = "PROCESSOR_TRACE_RECORDS";
/// With `sampled`, 1 in how many of the other records gets a span.
pub(crate) const TRACE_SAMPLE_EVERY: &str = "PROCESSOR_TRACE_SAMPLE_EVERY";
/// A record at least this slow always gets a span (unless every record does anyway).
pub(crate) const TRACE_SLOW_RECORD_MS: &str = "PROCESSOR_TRACE_SLOW_RECORD_MS";
/// The trace propagators; `xray-lambda` makes the X-Ray trace header the parent.
pub(crate) const OTEL_PROPAGATORS: &str = "OTEL_PROPAGATORS";
/// The batch span processor's queue size (read by the SDK).
pub(crate) const OTEL_BSP_MAX_QUEUE_SIZE: &str = "OTEL_BSP_MAX_QUEUE_SIZE";
/// The function name Lambda sets; the default service name.
pub(crate) const FUNCTION_NAME: &str = "AWS_LAMBDA_FUNCTION_NAME";
/// Lambda's log format (set by Lambda from the function's `LoggingConfig`).
pub(crate) const LOG_FORMAT: &str = "AWS_LAMBDA_LOG_FORMAT";
/// Lambda's application log level (set by Lambda from the function's `LoggingConfig`).
pub(crate) const LOG_LEVEL: &str = "AWS_LAMBDA_LOG_LEVEL";
/// A `tracing` filter, used when `AWS_LAMBDA_LOG_LEVEL` is not set.
pub(crate) const RUST_LOG: &str = "RUST_LOG";

/// Every variable the function reads, for the docs and their test.
pub const SETTINGS: &[Setting] = &[
    Setting {
        name: MAX_ATTEMPTS,
        default: "3",
        meaning: "attempts per record for transient failures, the first included (1 to 20)",
    },
    Setting {
        name: RETRY_BASE_DELAY_MS,
        default: "50",
        meaning: "backoff cap of the first retry; it doubles per retry, with full jitter (1 to 60000)",
    },
    Setting {
        name: RETRY_MAX_DELAY_MS,
        default: "2000",
        meaning: "largest pause between two attempts (at least the base delay, at most 60000)",
    },
    Setting {
        name: DEADLINE_MARGIN_MS,
        default: "auto",
        meaning: "time kept back before the invocation deadline; `auto` = 10 % of the timeout, 200 ms to 5 s (10 to 900000)",
    },
    Setting {
        name: FIRST_RECORD_FAILURE,
        default: "error",
        meaning: "when the first record of a batch fails: `error` fails the invocation so bisection can isolate it, `report` returns it as the batch item failure",
    },
    Setting {
        name: METRICS_NAMESPACE,
        default: DEFAULT_NAMESPACE,
        meaning: "CloudWatch namespace of the metrics: letters, digits and . _ # : / -, not starting with AWS/",
    },
    Setting {
        name: SERVICE_NAME,
        default: "the function name",
        meaning: "value of the `Service` dimension of every metric (`ddb-stream-processor` outside Lambda)",
    },
    Setting {
        name: METRICS_DISABLED,
        default: "false",
        meaning: "`true` writes no metrics at all",
    },
    Setting {
        name: METRICS_HIGH_RESOLUTION,
        default: "false",
        meaning: "`true` stores metrics at one-second resolution (`StorageResolution: 1`, billed as high-resolution metrics)",
    },
    Setting {
        name: METRICS_MAX_SAMPLES,
        default: "100",
        meaning: "samples of RecordProcessingTime kept per invocation (a uniform sample; 1 to 10000; 100 fits one EMF document)",
    },
    Setting {
        name: MAX_IN_FLIGHT,
        default: "1",
        meaning: "records processed at once: 1 keeps the whole batch in order; more processes records of different item keys concurrently, each key in order (1 to 1000)",
    },
    Setting {
        name: LOG_KEYS,
        default: "false",
        meaning: "`true` puts each record's item keys (DynamoDB JSON) in its span and log lines; images are never logged",
    },
    Setting {
        name: LOG_ERROR_SOURCES,
        default: "false",
        meaning: "`true` puts the source chain of each failure (`RecordError::with_source`) and the message of each caught panic in its log line, span and error message; off, the line says a cause or message was withheld (a panic keeps its location), since both often quote item values",
    },
    Setting {
        name: LOG_RAW_EVENTS,
        default: "false",
        meaning: "`true` lets lambda_runtime's TRACE line with each raw event, every image in it, reach the logs (at AWS_LAMBDA_LOG_LEVEL=TRACE); for a short troubleshooting session only, and said at start-up",
    },
    Setting {
        name: OTLP_ENDPOINT,
        default: "(unset)",
        meaning: "OTLP/HTTP endpoint (`http://localhost:4318` for the OpenTelemetry and ADOT Lambda layers); setting it, or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, turns traces on",
    },
    Setting {
        name: OTLP_TRACES_ENDPOINT,
        default: "(unset)",
        meaning: "OTLP/HTTP endpoint for traces only, used as given (no `/v1/traces` appended)",
    },
    Setting {
        name: TRACE_FLUSH_TIMEOUT_MS,
        default: "500",
        meaning: "longest wait per invocation for the spans to be exported, also the exporter's HTTP timeout; added to the deadline margin (10 to 10000)",
    },
    Setting {
        name: TRACE_RECORDS,
        default: "sampled",
        meaning: "which records get a span: `all`; `sampled`, failed, retried and slow records and 1 in PROCESSOR_TRACE_SAMPLE_EVERY of the others; `problems`, failed, retried and slow records only. The invocation span is always exported",
    },
    Setting {
        name: TRACE_SAMPLE_EVERY,
        default: "100",
        meaning: "with `sampled`, 1 in how many of the other records gets a span (1 to 1000000; 1 is every record)",
    },
    Setting {
        name: TRACE_SLOW_RECORD_MS,
        default: "1000",
        meaning: "with `sampled` or `problems`, a record that takes at least this long, retries included, gets a span (1 to 900000)",
    },
    Setting {
        name: OTEL_PROPAGATORS,
        default: "(unset)",
        meaning: "with `xray-lambda` (or `xray`), the invocation's X-Ray trace header becomes the parent of its span and trace ids use X-Ray's format",
    },
    Setting {
        name: OTEL_BSP_MAX_QUEUE_SIZE,
        default: "16384",
        meaning: "spans the batch processor can hold; the default fits a 10,000-record batch (1 to 1000000)",
    },
    Setting {
        name: OTEL_SDK_DISABLED,
        default: "false",
        meaning: "`true` turns traces off even with an endpoint set",
    },
    Setting {
        name: LOG_FORMAT,
        default: "Text",
        meaning: "`JSON` or `Text`; Lambda sets it from the function's LoggingConfig",
    },
    Setting {
        name: LOG_LEVEL,
        default: "(unset)",
        meaning: "TRACE, DEBUG, INFO, WARN, ERROR or FATAL; Lambda sets it from LoggingConfig; wins over RUST_LOG",
    },
    Setting {
        name: RUST_LOG,
        default: "info",
        meaning: "a `tracing` filter such as `info,ddb_stream_processor=debug`, used when AWS_LAMBDA_LOG_LEVEL is unset",
    },
];

/// Which record spans are exported, from `PROCESSOR_TRACE_RECORDS`, `PROCESSOR_TRACE_SAMPLE_EVERY`
/// and `PROCESSOR_TRACE_SLOW_RECORD_MS`. A sample rate or a slowness threshold that the policy
/// would ignore is an error: it says the policy is not what its author thinks.
fn record_sampling(
    variable: &impl Fn(&'static str) -> Option<(&'static str, String)>,
    problems: &mut Problems,
) -> RecordSampling {
    let every = variable(TRACE_SAMPLE_EVERY).map(|found| {
        let every = problems.or(whole_number(found.clone(), 1, 1_000_000), 1);
        (
            found,
            NonZeroU32::new(every as u32).unwrap_or(DEFAULT_SAMPLE_EVERY),
        )
    });
    let slow = variable(TRACE_SLOW_RECORD_MS).map(|found| {
        let slow = Duration::from_millis(problems.or(whole_number(found.clone(), 1, 900_000), 1));
        (found, slow)
    });
    let sampled = RecordSpans::Sampled {
        every: every.as_ref().map_or(DEFAULT_SAMPLE_EVERY, |(_, every)| *every),
    };
    let policy = variable(TRACE_RECORDS);
    let spans = match &policy {
        None => sampled,
        Some((_, value)) if value.eq_ignore_ascii_case("sampled") => sampled,
        Some((_, value)) if value.eq_ignore_ascii_case("all") => RecordSpans::All,
        Some((_, value)) if value.eq_ignore_ascii_case("problems") => RecordSpans::Problems,
        // The default stands in, so that no setting is reported as ignored by a policy nobody chose.
        Some((variable, value)) => problems.or(
            Err(ConfigError {
                variable,
                value: value.clone(),
                expected: "`all`, `sampled` or `problems`".into(),
            }),
            sampled,
        ),
    };
    // Only a policy that was set can ignore a setting: the default reads both.
    if let Some((_, policy)) = &policy {
        let mut ignored = |(variable, value): &(&'static str, String), why: &str| {
            problems.0.push(ConfigError {
                variable,
                value: value.clone(),
                expected: format!("unset, since {TRACE_RECORDS} is {policy:?}: {why}"),
            });
        };
        if let (Some((found, _)), RecordSpans::All | RecordSpans::Problems) = (&every, spans) {
            ignored(found, "a sample rate applies to `sampled` only");
        }
        if let (Some((found, _)), RecordSpans::All) = (&slow, spans) {
            ignored(found, "every record has a span already");
        }
    }
    RecordSampling {
        spans,
        slow: slow.map_or(DEFAULT_SLOW_RECORD, |(_, slow)| slow),
    }
}

/// A variable has a value the function cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}={value:?} is not valid: {expected}")]
pub struct ConfigError {
    /// The variable with the bad value.
    pub variable: &'static str,
    /// The value it has (a setting, never item data).
    pub value: String,
    /// What it should hold.
    pub expected: String,
}

/// Everything the binary is configured with.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Settings {
    /// Retries, the deadline margin, the first-record policy, concurrency.
    pub engine: EngineConfig,
    /// Namespace, service, resolution and sampling of the metrics.
    pub metrics: MetricsConfig,
    /// The OTLP endpoint and the flush budget of the traces.
    pub traces: TraceSettings,
    /// Log format and level.
    pub log: LogSettings,
}

impl Settings {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigErrors> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the variables through `lookup` (the environment in production, a map in tests). Every
    /// bad value is reported, not only the first, so one deploy fixes them all.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigErrors> {
        let variable = |name: &'static str| {
            lookup(name)
                .map(|value| value.trim().to_owned())
                .filter(|value| !value.is_empty())
                .map(|value| (name, value))
        };
        let mut problems = Problems::default();

        let max_attempts = match variable(MAX_ATTEMPTS) {
            Some(found) => problems.or(whole_number(found, 1, 20), 0) as u32,
            None => crate::engine::DEFAULT_MAX_ATTEMPTS,
        };
        let base_delay = match variable(RETRY_BASE_DELAY_MS) {
            Some(found) => Duration::from_millis(problems.or(whole_number(found, 1, 60_000), 0)),
            None => crate::engine::DEFAULT_BASE_DELAY,
        };
        let max_delay = match variable(RETRY_MAX_DELAY_MS) {
            Some(found) => Duration::from_millis(
                problems.or(whole_number(found, base_delay.as_millis() as u64, 60_000), 0),
            ),
            None => crate::engine::DEFAULT_MAX_DELAY.max(base_delay),
        };
        let deadline_margin = match variable(DEADLINE_MARGIN_MS) {
            Some((_, value)) if value.eq_ignore_ascii_case("auto") => DeadlineMargin::Proportional,
            Some(found) => DeadlineMargin::Fixed(Duration::from_millis(problems.or(
                whole_number(found, 10, 900_000).map_err(|error| ConfigError {
                    expected: format!("`auto` or {}", error.expected),
                    ..error
                }),
                0,
            ))),
            None => DeadlineMargin::Proportional,
        };
        let first_record_failure = match variable(FIRST_RECORD_FAILURE) {
            None => FirstRecordFailurePolicy::ReturnError,
            Some((_, value)) if value.eq_ignore_ascii_case("error") => FirstRecordFailurePolicy::ReturnError,
            Some((_, value)) if value.eq_ignore_ascii_case("report") => {
                FirstRecordFailurePolicy::ReportItemFailure
            }
            Some((variable, value)) => problems.or(
                Err(ConfigError {
                    variable,
                    value,
                    expected: "`error` or `report`".into(),
                }),
                FirstRecordFailurePolicy::ReturnError,
            ),
        };

        let log_keys = problems.or(boolean(variable(LOG_KEYS)), None).unwrap_or(false);
        let log_error_sources = problems
            .or(boolean(variable(LOG_ERROR_SOURCES)), None)
            .unwrap_or(false);
        let raw_events = problems
            .or(boolean(variable(LOG_RAW_EVENTS)), None)
            .unwrap_or(false);
        let max_in_flight = match variable(MAX_IN_FLIGHT) {
            Some(found) => problems.or(whole_number(found, 1, 1_000), 1) as usize,
            None => 1,
        };
        let endpoint = [OTLP_TRACES_ENDPOINT, OTLP_ENDPOINT]
            .into_iter()
            .find_map(|name| variable(name).map(|(_, value)| value));
        let traces_disabled = problems
            .or(boolean(variable(OTEL_SDK_DISABLED)), None)
            .unwrap_or(false);
        let traces = TraceSettings {
            endpoint: endpoint.filter(|_| !traces_disabled),
            flush_timeout: match variable(TRACE_FLUSH_TIMEOUT_MS) {
                Some(found) => Duration::from_millis(problems.or(whole_number(found, 10, 10_000), 0)),
                None => DEFAULT_FLUSH_TIMEOUT,
            },
            xray_propagation: variable(OTEL_PROPAGATORS).is_some_and(|(_, value)| {
                value
                    .split(',')
                    .any(|propagator| matches!(propagator.trim(), "xray" | "xray-lambda"))
            }),
            queue_size_from_environment: match variable(OTEL_BSP_MAX_QUEUE_SIZE) {
                Some(found) => problems.or(whole_number(found, 1, 1_000_000).map(|_| true), false),
                None => false,
            },
            records: record_sampling(&variable, &mut problems),
        };

        let metrics = MetricsConfig {
            enabled: !problems
                .or(boolean(variable(METRICS_DISABLED)), None)
                .unwrap_or(false),
            namespace: problems
                .or(checked(variable(METRICS_NAMESPACE), validate_namespace), None)
                .unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned()),
            service: problems
                .or(
                    checked(
                        variable(SERVICE_NAME).or_else(|| variable(FUNCTION_NAME)),
                        validate_dimension_value,
                    ),
                    None,
                )
                .unwrap_or_else(|| DEFAULT_SERVICE.to_owned()),
            high_resolution: problems
                .or(boolean(variable(METRICS_HIGH_RESOLUTION)), None)
                .unwrap_or(false),
            max_samples: match variable(METRICS_MAX_SAMPLES) {
                Some(found) => problems.or(whole_number(found, 1, 10_000), 1) as usize,
                None => DEFAULT_MAX_SAMPLES,
            },
        };

        let format = match variable(LOG_FORMAT) {
            None => LogFormat::Text,
            Some((variable, value)) => match log_format_named(&value) {
                Some(format) => format,
                None => problems.or(
                    Err(ConfigError {
                        variable,
                        value,
                        expected: "`JSON` or `Text`".into(),
                    }),
                    LogFormat::Text,
                ),
            },
        };
        let lambda_level = problems.or(variable(LOG_LEVEL).map(lambda_log_level).transpose(), None);
        let filter = match (lambda_level, variable(RUST_LOG)) {
            (Some(level), _) => level.to_string(),
            (None, Some((variable, value))) => match EnvFilter::builder().parse(&value) {
                Ok(_) => value,
                Err(error) => problems.or(
                    Err(ConfigError {
                        variable,
                        value,
                        expected: format!(
                            "a tracing filter such as `info` or `warn,my_crate=debug` ({error})"
                        ),
                    }),
                    String::new(),
                ),
            },
            (None, None) => LevelFilter::INFO.to_string(),
        };

        problems.into_result()?;
        Ok(Settings {
            engine: EngineConfig {
                retry: RetryPolicy {
                    max_attempts,
                    base_delay,
                    max_delay,
                },
                deadline_margin,
                first_record_failure,
                telemetry_reserve: Duration::ZERO,
                log_keys,
                log_error_sources,
                max_in_flight,
            },
            metrics,
            traces,
            log: LogSettings {
                format,
                filter,
                lambda_level,
                panic_messages: log_error_sources,
                raw_events,
            },
        })
    }
}

/// Every variable with a value the function cannot use, in the order they are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigErrors(Vec<ConfigError>);

impl ConfigErrors {
    /// The bad variables, one error each (never empty).
    pub fn errors(&self) -> &[ConfigError] {
        &self.0
    }
}

impl std::fmt::Display for ConfigErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if let [only] = self.0.as_slice() {
            return write!(f, "{only}");
        }
        write!(f, "{} settings are not valid: ", self.0.len())?;
        for (index, error) in self.0.iter().enumerate() {
            let separator = if index == 0 { "" } else { "; " };
            write!(f, "{separator}{error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ConfigErrors {}

/// The problems found while reading the settings; reading goes on with a stand-in value so that
/// every bad variable is found in one pass, and the stand-ins are never used.
#[derive(Default)]
struct Problems(Vec<ConfigError>);

impl Problems {
    fn or<T>(&mut self, result: Result<T, ConfigError>, stand_in: T) -> T {
        result.unwrap_or_else(|error| {
            self.0.push(error);
            stand_in
        })
    }

    fn into_result(self) -> Result<(), ConfigErrors> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors(self.0))
        }
    }
}

/// The variables Lambda sets for a custom runtime and `lambda_runtime` requires (it panics without
/// them). Checked before the runtime loop starts, so a hand-started binary gets a clear message.
pub(crate) const RUNTIME_VARIABLES: &[&str] = &[
    "AWS_LAMBDA_RUNTIME_API",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
];

/// The log format a value of `AWS_LAMBDA_LOG_FORMAT` names (surrounding blanks and case ignored).
pub(crate) fn log_format_named(value: &str) -> Option<LogFormat> {
    match value.trim() {
        value if value.eq_ignore_ascii_case("json") => Some(LogFormat::Json),
        value if value.eq_ignore_ascii_case("text") => Some(LogFormat::Text),
        _ => None,
    }
}

/// Checks that the Lambda runtime variables are present and usable; the error says which are not.
pub(crate) fn check_runtime_environment(lookup: impl Fn(&str) -> Option<String>) -> Result<(), String> {
    let missing: Vec<&str> = RUNTIME_VARIABLES
        .iter()
        .copied()
        .filter(|name| lookup(name).is_none_or(|value| value.trim().is_empty()))
        .collect();
    if !missing.is_empty() {
        return Err(format!(
            "{} not set; Lambda sets {} for a custom runtime",
            missing.join(", "),
            if missing.len() == 1 { "it" } else { "them" }
        ));
    }
    let memory = lookup("AWS_LAMBDA_FUNCTION_MEMORY_SIZE").unwrap_or_default();
    if memory.trim().parse::<i32>().is_err() {
        return Err(format!(
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE={memory:?} is not valid: the function's memory in MB"
        ));
    }
    Ok(())
}

impl Settings {
    /// Combinations that work but lose something, to be logged at start-up.
    pub fn start_up_warnings(&self) -> Vec<String> {
        let mut warnings = Vec::new();
        if self.metrics.enabled
            && self.log.format == LogFormat::Json
            && self
                .log
                .lambda_level
                .is_some_and(|level| level < LevelFilter::INFO)
        {
            warnings.push(format!(
                "{LOG_LEVEL} is above INFO: Lambda drops JSON lines without a level below it, and EMF metric \
                 documents have none, so CloudWatch will not receive this function's metrics; set the \
                 application log level to INFO or lower"
            ));
        }
        if self.log.raw_events {
            warnings.push(format!(
                "{LOG_RAW_EVENTS}=true: at TRACE, lambda_runtime logs each raw event with every item image \
                 in it; unset it once the troubleshooting is done"
            ));
        }
        warnings
    }
}

/// The value of a variable that `rule` accepts; the rule's complaint becomes the error.
fn checked(
    found: Option<(&'static str, String)>,
    rule: fn(&str) -> Result<(), String>,
) -> Result<Option<String>, ConfigError> {
    match found {
        None => Ok(None),
        Some((variable, value)) => match rule(&value) {
            Ok(()) => Ok(Some(value)),
            Err(expected) => Err(ConfigError {
                variable,
                value,
                expected,
            }),
        },
    }
}

fn boolean(found: Option<(&'static str, String)>) -> Result<Option<bool>, ConfigError> {
    match found {
        None => Ok(None),
        Some((_, value)) if value.eq_ignore_ascii_case("true") => Ok(Some(true)),
        Some((_, value)) if value.eq_ignore_ascii_case("false") => Ok(Some(false)),
        Some((variable, value)) => Err(ConfigError {
            variable,
            value,
            expected: "`true` or `false`".into(),
        }),
    }
}

fn whole_number((variable, value): (&'static str, String), min: u64, max: u64) -> Result<u64, ConfigError> {
    match value.parse::<u64>() {
        Ok(number) if (min..=max).contains(&number) => Ok(number),
        _ => Err(ConfigError {
            variable,
            value,
            expected: format!("a whole number from {min} to {max}"),
        }),
    }
}

/// Lambda's level names; FATAL has no `tracing` level of its own and maps to ERROR.
fn lambda_log_level((variable, value): (&'static str, String)) -> Result<LevelFilter, ConfigError> {
    match value.to_ascii_uppercase().as_str() {
        "TRACE" => Ok(LevelFilter::TRACE),
        "DEBUG" => Ok(LevelFilter::DEBUG),
        "INFO" => Ok(LevelFilter::INFO),
        "WARN" => Ok(LevelFilter::WARN),
        "ERROR" | "FATAL" => Ok(LevelFilter::ERROR),
        _ => Err(ConfigError {
            variable,
            value,
            expected: "TRACE, DEBUG, INFO, WARN, ERROR or FATAL".into(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    /// The settings, or the one error they have (a test with several bad values reads them itself).
    fn settings(pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        Settings::from_lookup(|name| map.get(name).cloned()).map_err(|errors| {
            assert_eq!(errors.errors().len(), 1, "{errors}");
            errors.errors()[0].clone()
        })
    }

    #[test]
    fn every_bad_setting_is_reported_at_once_and_the_good_ones_are_not() {
        let map: HashMap<&str, &str> = [
            (MAX_ATTEMPTS, "zero"),
            (RETRY_BASE_DELAY_MS, "100"),
            (LOG_FORMAT, "xml"),
            (RUST_LOG, "info,["),
            (METRICS_MAX_SAMPLES, "0"),
        ]
        .into();
        let errors = Settings::from_lookup(|name| map.get(name).map(|value| value.to_string())).unwrap_err();
        let variables: Vec<&str> = errors.errors().iter().map(|error| error.variable).collect();
        assert_eq!(
            variables,
            [MAX_ATTEMPTS, METRICS_MAX_SAMPLES, LOG_FORMAT, RUST_LOG]
        );
        let message = errors.to_string();
        assert!(
            message.starts_with("4 settings are not valid: PROCESSOR_MAX_ATTEMPTS=\"zero\" is not valid: "),
            "{message}"
        );
        assert!(
            message.contains("; AWS_LAMBDA_LOG_FORMAT=\"xml\" is not valid: `JSON` or `Text`"),
            "{message}"
        );
    }

    #[test]
    fn one_bad_setting_reads_as_that_error_alone() {
        let errors =
            Settings::from_lookup(|name| (name == LOG_FORMAT).then(|| "xml".to_owned())).unwrap_err();
        assert_eq!(
            errors.to_string(),
            "AWS_LAMBDA_LOG_FORMAT=\"xml\" is not valid: `JSON` or `Text`"
        );
    }

    #[test]
    fn defaults_are_the_documented_ones() {
        let defaults = settings(&[]).unwrap();
        assert_eq!(defaults.engine, EngineConfig::default());
        assert_eq!(defaults.metrics, MetricsConfig::default());
        assert_eq!(
            defaults.log,
            LogSettings {
                format: LogFormat::Text,
                filter: "info".into(),
                lambda_level: None,
                ..LogSettings::default()
            }
        );
    }

    #[test]
    fn reads_every_variable() {
        let read = settings(&[
            (MAX_ATTEMPTS, "5"),
            (RETRY_BASE_DELAY_MS, "10"),
            (RETRY_MAX_DELAY_MS, "80"),
            (DEADLINE_MARGIN_MS, "1500"),
            (FIRST_RECORD_FAILURE, "report"),
            (LOG_KEYS, "true"),
            (LOG_ERROR_SOURCES, "true"),
            (MAX_IN_FLIGHT, "8"),
            (LOG_FORMAT, "JSON"),
            (LOG_LEVEL, "fatal"),
            (RUST_LOG, "debug"),
        ])
        .unwrap();
        assert_eq!(
            read.engine,
            EngineConfig {
                retry: RetryPolicy {
                    max_attempts: 5,
                    base_delay: Duration::from_millis(10),
                    max_delay: Duration::from_millis(80),
                },
                deadline_margin: DeadlineMargin::Fixed(Duration::from_millis(1500)),
                first_record_failure: FirstRecordFailurePolicy::ReportItemFailure,
                telemetry_reserve: Duration::ZERO,
                log_keys: true,
                log_error_sources: true,
                max_in_flight: 8,
            }
        );
        assert_eq!(read.log.format, LogFormat::Json);
        assert_eq!(
            read.log.filter, "error",
            "AWS_LAMBDA_LOG_LEVEL wins over RUST_LOG"
        );
        assert_eq!(
            settings(&[(RUST_LOG, "warn,ddb_stream_processor=debug")])
                .unwrap()
                .log
                .filter,
            "warn,ddb_stream_processor=debug"
        );
    }

    #[test]
    fn record_spans_are_sampled_by_default_and_each_policy_reads_its_own_settings() {
        let sampling = |pairs: &[(&str, &str)]| settings(pairs).map(|read| read.traces.records);
        let every = |n: u32| NonZeroU32::new(n).unwrap();
        assert_eq!(sampling(&[]), Ok(RecordSampling::default()));
        assert_eq!(
            RecordSampling::default(),
            RecordSampling {
                spans: RecordSpans::Sampled { every: every(100) },
                slow: Duration::from_secs(1),
            }
        );
        assert_eq!(
            sampling(&[(TRACE_RECORDS, "ALL")]),
            Ok(RecordSampling {
                spans: RecordSpans::All,
                slow: Duration::from_secs(1),
            })
        );
        assert_eq!(
            sampling(&[(TRACE_SAMPLE_EVERY, "7"), (TRACE_SLOW_RECORD_MS, "250")]),
            Ok(RecordSampling {
                spans: RecordSpans::Sampled { every: every(7) },
                slow: Duration::from_millis(250),
            })
        );
        assert_eq!(
            sampling(&[(TRACE_RECORDS, "problems"), (TRACE_SLOW_RECORD_MS, "20")]),
            Ok(RecordSampling {
                spans: RecordSpans::Problems,
                slow: Duration::from_millis(20),
            })
        );
    }

    #[test]
    fn a_record_span_setting_the_policy_ignores_is_an_error() {
        let error = settings(&[(TRACE_RECORDS, "all"), (TRACE_SAMPLE_EVERY, "10")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "PROCESSOR_TRACE_SAMPLE_EVERY=\"10\" is not valid: unset, since PROCESSOR_TRACE_RECORDS is \
             \"all\": a sample rate applies to `sampled` only"
        );
        let error = settings(&[(TRACE_RECORDS, "problems"), (TRACE_SAMPLE_EVERY, "10")]).unwrap_err();
        assert_eq!(error.variable, TRACE_SAMPLE_EVERY);
        let error = settings(&[(TRACE_RECORDS, "some"), (TRACE_SAMPLE_EVERY, "10")]).unwrap_err();
        assert_eq!(
            error.variable, TRACE_RECORDS,
            "a policy nobody chose ignores nothing"
        );
        let error = settings(&[(TRACE_RECORDS, "all"), (TRACE_SLOW_RECORD_MS, "10")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "PROCESSOR_TRACE_SLOW_RECORD_MS=\"10\" is not valid: unset, since PROCESSOR_TRACE_RECORDS is \
             \"all\": every record has a span already"
        );
    }

    #[test]
    fn a_bad_value_names_the_variable_and_what_is_expected() {
        let cases = [
            (MAX_ATTEMPTS, "0", "a whole number from 1 to 20"),
            (MAX_ATTEMPTS, "three", "a whole number from 1 to 20"),
            (RETRY_BASE_DELAY_MS, "-1", "a whole number from 1 to 60000"),
            (
                DEADLINE_MARGIN_MS,
                "5",
                "`auto` or a whole number from 10 to 900000",
            ),
            (FIRST_RECORD_FAILURE, "ignore", "`error` or `report`"),
            (LOG_FORMAT, "yaml", "`JSON` or `Text`"),
            (
                METRICS_NAMESPACE,
                "AWS/Lambda",
                "namespaces starting with AWS/ are reserved for AWS services",
            ),
            (
                METRICS_NAMESPACE,
                "my namespace",
                "a namespace has only letters, digits and . _ # : / -",
            ),
            (METRICS_DISABLED, "yes", "`true` or `false`"),
            (METRICS_HIGH_RESOLUTION, "1", "`true` or `false`"),
            (METRICS_MAX_SAMPLES, "0", "a whole number from 1 to 10000"),
            (MAX_IN_FLIGHT, "0", "a whole number from 1 to 1000"),
            (LOG_LEVEL, "verbose", "TRACE, DEBUG, INFO, WARN, ERROR or FATAL"),
            (TRACE_RECORDS, "some", "`all`, `sampled` or `problems`"),
            (TRACE_SAMPLE_EVERY, "0", "a whole number from 1 to 1000000"),
            (TRACE_SLOW_RECORD_MS, "0", "a whole number from 1 to 900000"),
        ];
        for (variable, value, expected) in cases {
            let error = settings(&[(variable, value)]).unwrap_err();
            assert_eq!(
                error.to_string(),
                format!("{variable}={value:?} is not valid: {expected}")
            );
        }
        let error = settings(&[(RUST_LOG, "info,[")]).unwrap_err();
        assert_eq!(error.variable, RUST_LOG);
    }

    #[test]
    fn metrics_settings_follow_the_powertools_variables() {
        let read = settings(&[
            (METRICS_NAMESPACE, "Team/Orders"),
            (FUNCTION_NAME, "orders-stream"),
            (METRICS_HIGH_RESOLUTION, "TRUE"),
            (METRICS_MAX_SAMPLES, "500"),
        ])
        .unwrap();
        assert_eq!(
            read.metrics,
            MetricsConfig {
                enabled: true,
                namespace: "Team/Orders".into(),
                service: "orders-stream".into(),
                high_resolution: true,
                max_samples: 500,
            },
            "the service defaults to the function name"
        );
        let named = settings(&[(FUNCTION_NAME, "orders-stream"), (SERVICE_NAME, "orders")]).unwrap();
        assert_eq!(named.metrics.service, "orders", "POWERTOOLS_SERVICE_NAME wins");
        assert!(!settings(&[(METRICS_DISABLED, "true")]).unwrap().metrics.enabled);
        let error = settings(&[(SERVICE_NAME, &"s".repeat(1025))]).unwrap_err();
        assert_eq!(error.variable, SERVICE_NAME);
    }

    #[test]
    fn warns_when_lambda_would_drop_the_metric_documents() {
        let quiet_json = settings(&[(LOG_FORMAT, "JSON"), (LOG_LEVEL, "WARN")]).unwrap();
        assert_eq!(quiet_json.start_up_warnings().len(), 1);
        assert!(quiet_json.start_up_warnings()[0].contains("EMF metric documents have none"));
        for fine in [
            settings(&[(LOG_FORMAT, "JSON"), (LOG_LEVEL, "INFO")]),
            settings(&[(LOG_FORMAT, "Text"), (LOG_LEVEL, "ERROR")]),
            settings(&[
                (LOG_FORMAT, "JSON"),
                (LOG_LEVEL, "ERROR"),
                (METRICS_DISABLED, "true"),
            ]),
        ] {
            assert!(fine.unwrap().start_up_warnings().is_empty());
        }
    }

    #[test]
    fn the_max_delay_may_not_be_below_the_base_delay() {
        let error = settings(&[(RETRY_BASE_DELAY_MS, "500"), (RETRY_MAX_DELAY_MS, "100")]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "PROCESSOR_RETRY_MAX_DELAY_MS=\"100\" is not valid: a whole number from 500 to 60000"
        );
        let raised = settings(&[(RETRY_BASE_DELAY_MS, "5000")]).unwrap();
        assert_eq!(
            raised.engine.retry.max_delay,
            Duration::from_secs(5),
            "the default cap follows a larger base"
        );
    }

    #[test]
    fn the_runtime_environment_check_names_what_is_missing() {
        let complete = |name: &str| {
            Some(match name {
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE" => "256".to_owned(),
                other => format!("value of {other}"),
            })
        };
        assert_eq!(check_runtime_environment(complete), Ok(()));

        let without_name_and_version = |name: &str| match name {
            "AWS_LAMBDA_FUNCTION_NAME" | "AWS_LAMBDA_FUNCTION_VERSION" => None,
            other => complete(other),
        };
        assert_eq!(
            check_runtime_environment(without_name_and_version),
            Err(
                "AWS_LAMBDA_FUNCTION_NAME, AWS_LAMBDA_FUNCTION_VERSION not set; Lambda sets them for a \
                 custom runtime"
                    .to_owned()
            )
        );

        let bad_memory = |name: &str| match name {
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE" => Some("lots".to_owned()),
            other => complete(other),
        };
        assert!(
            check_runtime_environment(bad_memory)
                .unwrap_err()
                .starts_with("AWS_LAMBDA_FUNCTION_MEMORY_SIZE=\"lots\"")
        );
    }
}
