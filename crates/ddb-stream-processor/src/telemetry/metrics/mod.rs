//! CloudWatch metrics in the Embedded Metric Format: what each invocation did to its batch.
//!
//! Every invocation ends with exactly one flush of its [`Metrics`], on every path (success, partial
//! failure, whole-invocation error, deadline checkpoint, caught panic), before the handler returns
//! and so before the runtime asks for the next event. The pieces:
//!
//! - [`catalog`]: every metric the function writes (name, unit, meaning), the one source of truth;
//! - `collector`: a `metrics` facade recorder scoped to one invocation;
//! - `router`: the global recorder that sends business code's facade calls to the right invocation;
//! - `emf`: the encoder that turns a collection into documents valid by the specification;
//! - [`sink`]: stdout under Lambda, stderr locally, memory in tests.

pub mod catalog;
mod collector;
pub(crate) mod emf;
pub(crate) mod router;
pub mod sink;

use collector::InvocationMetrics;
pub use emf::{Unit, validate_namespace};

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::clock::{SystemClock, WallClock};
use crate::engine::{BatchOutcome, Disposition, StopReason};
use crate::lambda::event::BatchFacts;
use crate::lambda::invocation_error::InvocationError;
use crate::telemetry::traces::FlushOutcome;
use catalog::{
    BATCH_PROCESSING_TIME, BATCH_SIZE, COLD_START, DEADLINE_CHECKPOINTS, IN_PROCESS_RETRIES, ITERATOR_AGE,
    PANICS_CAUGHT, RECORD_PROCESSING_TIME, RECORDS_FAILED, RECORDS_FAILED_AGAIN, RECORDS_PROCESSED,
    RECORDS_RETRIED, TRACE_FLUSH_FAILURES,
};
use collector::{Recorded, RecordedMetric};
use sink::MetricsSink;

/// The default CloudWatch namespace (`POWERTOOLS_METRICS_NAMESPACE`).
pub const DEFAULT_NAMESPACE: &str = "DdbStreamProcessor";
/// The service name when neither `POWERTOOLS_SERVICE_NAME` nor a function name is known.
pub(crate) const DEFAULT_SERVICE: &str = "ddb-stream-processor";
/// The default number of samples kept per distribution and invocation: one EMF document's worth.
pub(crate) const DEFAULT_MAX_SAMPLES: usize = 100;

/// How metrics are written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricsConfig {
    /// `false` writes nothing at all (`POWERTOOLS_METRICS_DISABLED`).
    pub enabled: bool,
    /// The CloudWatch namespace, validated.
    pub namespace: String,
    /// The value of the `Service` dimension, validated.
    pub service: String,
    /// One-second storage resolution (`StorageResolution: 1`), billed as high-resolution metrics.
    pub high_resolution: bool,
    /// Samples kept per distribution and invocation.
    pub max_samples: usize,
}

impl Default for MetricsConfig {
    fn default() -> Self {
        Self {
            enabled: true,
            namespace: DEFAULT_NAMESPACE.into(),
            service: DEFAULT_SERVICE.into(),
            high_resolution: false,
            max_samples: DEFAULT_MAX_SAMPLES,
        }
    }
}

/// What the handler learnt about one invocation, for its metrics.
#[derive(Debug, Clone, Default)]
pub(crate) struct InvocationSummary<'a> {
    pub(crate) request_id: &'a str,
    pub(crate) xray_trace_id: Option<&'a str>,
    pub(crate) function_version: Option<&'a str>,
    /// When the invocation started (wall clock): the EMF timestamp and the base of the iterator age.
    pub(crate) started_at: DateTime<Utc>,
    /// Facts about the batch, when the payload was an event.
    pub(crate) batch: Option<&'a BatchFacts>,
    /// The number of records, when the payload was not a valid event but still had a `Records` array.
    pub(crate) records_in_invalid_event: Option<usize>,
    /// What the engine did, when it ran.
    pub(crate) outcome: Option<&'a BatchOutcome>,
    /// How long the engine took.
    pub(crate) batch_time: Option<Duration>,
    /// The error that fails the invocation, if any.
    pub(crate) error: Option<&'a InvocationError>,
    /// The handler itself panicked (a bug in the template): counted as a caught panic.
    pub(crate) handler_panicked: bool,
    /// The record the batch stopped at had been handed back by this environment before.
    pub(crate) failed_again: bool,
    /// The first invocation of the process: a `ColdStart` document is written.
    pub(crate) cold_start: bool,
    /// How the trace flush ended, when traces are on.
    pub(crate) trace_flush: Option<&'a FlushOutcome>,
}

/// The metrics pipeline of a handler: configuration, sink, clock and cold-start state.
#[derive(Debug)]
pub struct Metrics {
    config: MetricsConfig,
    sink: Arc<dyn MetricsSink>,
    clock: Arc<dyn WallClock>,
    sampling_seed: Option<u64>,
}

impl Metrics {
    /// Metrics written to `sink` with the system clock.
    pub fn new(config: MetricsConfig, sink: Arc<dyn MetricsSink>) -> Self {
        Self {
            config,
            sink,
            clock: Arc::new(SystemClock),
            sampling_seed: None,
        }
    }

    /// No metrics at all.
    pub fn disabled() -> Self {
        Self::new(
            MetricsConfig {
                enabled: false,
                ..MetricsConfig::default()
            },
            Arc::new(sink::MemorySink::default()),
        )
    }

    /// Replaces the wall clock (tests).
    pub fn with_clock(mut self, clock: Arc<dyn WallClock>) -> Self {
        self.clock = clock;
        self
    }

    /// Fixes the seed of distribution sampling (tests).
    pub fn with_sampling_seed(mut self, seed: u64) -> Self {
        self.sampling_seed = Some(seed);
        self
    }

    /// The current wall-clock time.
    pub(crate) fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// A fresh collection for one invocation.
    pub(crate) fn start_invocation(&self) -> Arc<InvocationMetrics> {
        Arc::new(match self.sampling_seed {
            Some(seed) => InvocationMetrics::with_seed(self.config.max_samples, seed),
            None => InvocationMetrics::new(self.config.max_samples),
        })
    }

    /// Records the invocation's own metrics into `collected`, encodes everything and writes it: the
    /// one flush of the invocation. Returns the documents written (empty when disabled).
    pub(crate) fn flush(
        &self,
        collected: &InvocationMetrics,
        summary: &InvocationSummary<'_>,
    ) -> Vec<String> {
        if !self.config.enabled {
            return Vec::new();
        }
        ::metrics::with_local_recorder(collected, || record_invocation(summary));
        let directive = emf::Directive {
            namespace: self.config.namespace.clone(),
            service: self.config.service.clone(),
            high_resolution: self.config.high_resolution,
            timestamp_ms: summary.started_at.timestamp_millis(),
            properties: properties(summary),
        };

        let mut documents = Vec::new();
        let mut dropped = Vec::new();
        if summary.cold_start {
            let cold_start = emf::Metric {
                name: COLD_START.name.into(),
                labels: Vec::new(),
                unit: COLD_START.unit,
                values: emf::Values::Single(1.0),
            };
            let encoded = emf::encode(vec![cold_start], &directive);
            documents.extend(encoded.documents);
            dropped.extend(encoded.dropped);
        }
        let encoded = emf::encode(collected.snapshot().into_iter().map(to_emf).collect(), &directive);
        documents.extend(encoded.documents);
        dropped.extend(encoded.dropped);
        for reason in dropped {
            tracing::warn!("a metric was left out of the EMF output: {reason}");
        }
        // A failed write is reported by the sink and never fails the invocation.
        let _ = self.sink.write_documents(&documents);
        documents
    }
}

/// The template's own metrics, through the `metrics` facade.
fn record_invocation(summary: &InvocationSummary<'_>) {
    let outcome = summary.outcome;
    let count = |select: fn(&BatchOutcome) -> usize| outcome.map_or(0, select);
    let batch_size = summary
        .batch
        .map(|batch| batch.size)
        .or(summary.records_in_invalid_event);

    ::metrics::counter!(RECORDS_PROCESSED.name).increment(count(|outcome| outcome.succeeded) as u64);
    ::metrics::counter!(RECORDS_FAILED.name).increment(count(|outcome| outcome.failed) as u64);
    ::metrics::counter!(RECORDS_FAILED_AGAIN.name).increment(u64::from(summary.failed_again));
    // A failed invocation hands the whole batch back, whatever the engine got done before.
    let handed_back = if summary.error.is_some() {
        batch_size.unwrap_or(0)
    } else {
        count(BatchOutcome::records_handed_back)
    };
    ::metrics::counter!(RECORDS_RETRIED.name).increment(handed_back as u64);
    ::metrics::counter!(IN_PROCESS_RETRIES.name)
        .increment(outcome.map_or(0, |outcome| u64::from(outcome.retries)));
    ::metrics::counter!(PANICS_CAUGHT.name)
        .increment(count(|outcome| outcome.panics) as u64 + u64::from(summary.handler_panicked));
    let deadline_stop = outcome
        .and_then(|outcome| outcome.stop.as_ref())
        .is_some_and(|stop| matches!(stop.reason, StopReason::DeadlineReached { .. }));
    ::metrics::counter!(DEADLINE_CHECKPOINTS.name).increment(u64::from(deadline_stop));

    if let Some(flush) = summary.trace_flush {
        ::metrics::counter!(TRACE_FLUSH_FAILURES.name)
            .increment(u64::from(*flush != FlushOutcome::Completed));
    }
    if let Some(size) = batch_size {
        ::metrics::counter!(BATCH_SIZE.name).increment(size as u64);
    }
    if let Some(oldest) = summary.batch.and_then(|batch| batch.oldest_record_created_at) {
        let age_ms = (summary.started_at - oldest).num_milliseconds().max(0);
        ::metrics::gauge!(ITERATOR_AGE.name).set(age_ms as f64);
    }
    if let Some(batch_time) = summary.batch_time {
        ::metrics::gauge!(BATCH_PROCESSING_TIME.name).set(milliseconds(batch_time));
    }
    if let Some(outcome) = outcome {
        let histogram = ::metrics::histogram!(RECORD_PROCESSING_TIME.name);
        for time in &outcome.record_times {
            histogram.record(milliseconds(*time));
        }
    }
}

/// Milliseconds with microsecond precision (`0.082`, not `0.08213999999999999`).
fn milliseconds(duration: Duration) -> f64 {
    duration.as_micros() as f64 / 1_000.0
}

/// Everything that identifies the invocation without being a dimension.
fn properties(summary: &InvocationSummary<'_>) -> BTreeMap<String, Value> {
    let mut properties = BTreeMap::new();
    let mut put = |key: &str, value: Option<&str>| {
        if let Some(value) = value {
            properties.insert(key.to_owned(), Value::String(value.to_owned()));
        }
    };
    put("requestId", Some(summary.request_id));
    put("xrayTraceId", summary.xray_trace_id);
    put("functionVersion", summary.function_version);
    put(
        "firstSequenceNumber",
        summary
            .batch
            .and_then(|batch| batch.first_sequence_number.as_deref()),
    );
    put(
        "lastSequenceNumber",
        summary
            .batch
            .and_then(|batch| batch.last_sequence_number.as_deref()),
    );
    let checkpoint = summary.outcome.and_then(|outcome| match &outcome.disposition {
        Disposition::Checkpoint { sequence_number, .. } => Some(sequence_number.as_str()),
        _ => None,
    });
    put("checkpointSequenceNumber", checkpoint);
    put("errorType", summary.error.map(InvocationError::error_type));
    properties
}

/// A recorded metric as the encoder wants it: the catalog's unit for the template's own metrics,
/// the declared unit (converted to a CloudWatch unit) for business metrics, `None` otherwise.
fn to_emf(metric: RecordedMetric) -> emf::Metric {
    let (unit, scale) = match catalog::definition(&metric.name) {
        Some(definition) => (definition.unit, 1.0),
        None => metric
            .unit
            .or_else(|| router::described_unit(&metric.name))
            .map_or((emf::Unit::None, 1.0), emf::Unit::from_facade),
    };
    let values = match metric.value {
        Recorded::Counter(count) => emf::Values::Single(count as f64 * scale),
        Recorded::Gauge(value) => emf::Values::Single(value * scale),
        Recorded::Distribution { samples, .. } => {
            emf::Values::Samples(samples.into_iter().map(|sample| sample * scale).collect())
        }
    };
    emf::Metric {
        name: metric.name,
        labels: metric.labels,
        unit,
        values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counter(collected: &InvocationMetrics, name: &str) -> u64 {
        collected
            .snapshot()
            .into_iter()
            .find_map(|metric| match metric.value {
                Recorded::Counter(value) if metric.name == name => Some(value),
                _ => None,
            })
            .unwrap_or_else(|| panic!("no counter {name}"))
    }

    #[test]
    fn a_panic_of_the_handler_itself_counts_with_the_processors_panics() {
        let outcome = BatchOutcome {
            batch_size: 4,
            succeeded: 1,
            failed: 2,
            retries: 0,
            panics: 2,
            stop: None,
            disposition: Disposition::Complete,
            record_times: Vec::new(),
        };
        let collected = InvocationMetrics::with_seed(10, 1);
        let summary = InvocationSummary {
            outcome: Some(&outcome),
            handler_panicked: true,
            ..InvocationSummary::default()
        };
        ::metrics::with_local_recorder(&collected, || record_invocation(&summary));
        assert_eq!(counter(&collected, PANICS_CAUGHT.name), 3);
    }

    #[test]
    fn disabled_metrics_flush_nothing() {
        let metrics = Metrics::disabled();
        let collected = metrics.start_invocation();
        ::metrics::with_local_recorder(collected.as_ref(), || ::metrics::counter!("Orders").increment(1));
        let summary = InvocationSummary {
            cold_start: true,
            ..InvocationSummary::default()
        };
        assert!(metrics.flush(&collected, &summary).is_empty());
    }

    #[test]
    fn a_business_metric_in_a_unit_cloudwatch_lacks_is_converted_with_its_values() {
        let metric = |value: Recorded| RecordedMetric {
            name: "LookupTime".into(),
            labels: Vec::new(),
            unit: Some(::metrics::Unit::Nanoseconds),
            value,
        };
        let converted = to_emf(metric(Recorded::Counter(1_500)));
        assert_eq!(converted.unit, emf::Unit::Microseconds);
        assert_eq!(converted.values, emf::Values::Single(1.5));
        assert_eq!(
            to_emf(metric(Recorded::Gauge(2_000.0))).values,
            emf::Values::Single(2.0)
        );
        assert_eq!(
            to_emf(metric(Recorded::Distribution {
                samples: vec![1_000.0, 3_000.0],
                recorded: 2
            }))
            .values,
            emf::Values::Samples(vec![1.0, 3.0])
        );
        let undeclared = RecordedMetric {
            unit: None,
            ..metric(Recorded::Counter(7))
        };
        let undeclared = to_emf(undeclared);
        assert_eq!(
            (undeclared.unit, undeclared.values),
            (emf::Unit::None, emf::Values::Single(7.0))
        );
    }
}
