//! The metric catalog: every metric the function writes, with its unit and meaning.
//!
//! This list is the single source of truth. The EMF encoder takes units from it, `obsctl render`
//! writes the README's metric table from it, and `obsctl lint` checks the dashboards and alarms
//! against it.
//! All metrics carry one dimension, `Service`; everything with many values (request id, sequence
//! numbers, function version) is a property of the document, never a dimension.

use super::emf::Unit;

/// How a metric is recorded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One value per invocation (a count or a single measurement).
    Counter,
    /// Several samples per invocation; CloudWatch derives percentiles from them.
    Distribution,
}

/// One metric of the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct MetricDefinition {
    /// The CloudWatch metric name.
    pub name: &'static str,
    /// The CloudWatch unit.
    pub unit: Unit,
    /// Counter or distribution.
    pub kind: Kind,
    /// Written in every invocation (also as 0), so alarms and rate math never lack data.
    pub every_invocation: bool,
    /// What the value means.
    pub meaning: &'static str,
    /// Why an operator wants it.
    pub reason: &'static str,
}

/// The dimension every metric carries; its value is the service name. The encoder writes it, so it
/// is defined there.
pub use super::emf::SERVICE_DIMENSION;

/// Records whose processing succeeded in this invocation.
pub(crate) const RECORDS_PROCESSED: MetricDefinition = MetricDefinition {
    name: "RecordsProcessed",
    unit: Unit::Count,
    kind: Kind::Counter,
    every_invocation: true,
    meaning: "records whose processing succeeded in this invocation",
    reason: "throughput; the denominator of the failure rate",
};

/// Records whose processing failed after in-process retries.
pub(crate) const RECORDS_FAILED: MetricDefinition = MetricDefinition {
    name: "RecordsFailed",
    unit: Unit::Count,
    kind: Kind::Counter,
    every_invocation: true,
    meaning: "records whose processing failed after in-process retries (a caught panic or a record cancelled at the deadline included)",
    reason: "partial failures are successful invocations and never show in AWS/Lambda Errors",
};

/// Records that failed again after this execution environment had handed them back.
pub(crate) const RECORDS_FAILED_AGAIN: MetricDefinition = MetricDefinition {
    name: "RecordsFailedAgain",
    unit: Unit::Count,
    kind: Kind::Counter,
    every_invocation: true,
    meaning: "1 when the record the batch stopped at had failed and been handed back by this execution environment before: a record that keeps failing (a redelivery that lands in another environment is not counted)",
    reason: "a stuck record, told apart from records that fail once and succeed when redelivered",
};

/// Records handed back to the stream for redelivery.
pub(crate) const RECORDS_RETRIED: MetricDefinition = MetricDefinition {
    name: "RecordsRetried",
    unit: Unit::Count,
    kind: Kind::Counter,
    every_invocation: true,
    meaning: "records handed back to the stream for redelivery: n - k on a checkpoint at index k of n, n when the invocation fails as a whole",
    reason: "the redelivery volume a failure causes; a steady non-zero value means a shard is stuck",
};

/// The age of the oldest record of the batch when processing started.
pub(crate) const ITERATOR_AGE: MetricDefinition = MetricDefinition {
    name: "IteratorAge",
    unit: Unit::Milliseconds,
    kind: Kind::Counter,
    every_invocation: false,
    meaning: "age of the oldest record of the batch when processing started (now - ApproximateCreationDateTime); records without a creation time are left out",
    reason: "how far behind the stream the function is; AWS/Lambda IteratorAge measures the last record instead",
};

/// 1 on the first invocation of a process, in a document of its own.
pub(crate) const COLD_START: MetricDefinition = MetricDefinition {
    name: "ColdStart",
    unit: Unit::Count,
    kind: Kind::Counter,
    every_invocation: false,
    meaning: "1 on the first invocation of a process, in a document of its own (never 0)",
    reason: "cold starts add latency and IteratorAge; their rate shows scaling churn",
};

/// Records in the batch.
pub(crate) const BATCH_SIZE: MetricDefinition = MetricDefinition {
    name: "BatchSize",
    unit: Unit::Count,
    kind: Kind::Counter,
    every_invocation: false,
    meaning: "records delivered in the batch (absent when the payload is not an event)",
    reason: "whether BatchSize and the batching window are effective; small batches cost more invocations",
};

/// Time to process each record, retries included.
pub(crate) const RECORD_PROCESSING_TIME: MetricDefinition = MetricDefinition {
    name: "RecordProcessingTime",
    unit: Unit::Milliseconds,
    kind: Kind::Distribution,
    every_invocation: false,
    meaning: "time spent on each attempted record, retries and backoff included; a uniform sample of at most PROCESSOR_METRICS_MAX_SAMPLES records per invocation",
    reason: "p99 exposes a slow dependency before the batch runs into the timeout",
};

/// Time to process the whole batch.
pub(crate) const BATCH_PROCESSING_TIME: MetricDefinition = MetricDefinition {
    name: "BatchProcessingTime",
    unit: Unit::Milliseconds,
    kind: Kind::Counter,
    every_invocation: false,
    meaning: "time from the start of the first record to the checkpoint decision (absent when the payload is not an event)",
    reason: "headroom against the function timeout, without the runtime's own time in AWS/Lambda Duration",
};

/// In-process retries of transient failures.
pub(crate) const IN_PROCESS_RETRIES: MetricDefinition = MetricDefinition {
    name: "InProcessRetries",
    unit: Unit::Count,
    kind: Kind::Counter,
    every_invocation: true,
    meaning: "attempts beyond the first, over all records of the invocation",
    reason: "throttling of a downstream service shows here before records fail",
};

/// Panics caught.
pub(crate) const PANICS_CAUGHT: MetricDefinition = MetricDefinition {
    name: "PanicsCaught",
    unit: Unit::Count,
    kind: Kind::Counter,
    every_invocation: true,
    meaning: "panics caught in the processor (or the handler) and turned into a failed record or invocation",
    reason: "a panic is a bug: any non-zero value deserves a look",
};

/// Batches stopped by the deadline.
pub(crate) const DEADLINE_CHECKPOINTS: MetricDefinition = MetricDefinition {
    name: "DeadlineCheckpoints",
    unit: Unit::Count,
    kind: Kind::Counter,
    every_invocation: true,
    meaning: "1 when the batch stopped because the deadline margin was reached",
    reason: "the batch is too large or the processor too slow for the timeout: lower BatchSize or raise the timeout",
};

/// Invocations whose trace flush did not complete.
pub(crate) const TRACE_FLUSH_FAILURES: MetricDefinition = MetricDefinition {
    name: "TraceFlushFailures",
    unit: Unit::Count,
    kind: Kind::Counter,
    every_invocation: false,
    meaning: "1 when the invocation's spans could not all be exported within PROCESSOR_TRACE_FLUSH_TIMEOUT_MS (written only when traces are on)",
    reason: "a dead or slow collector: traces are missing, the batch is not affected",
};

/// Every metric the function writes.
pub const CATALOG: &[MetricDefinition] = &[
    RECORDS_PROCESSED,
    RECORDS_FAILED,
    RECORDS_FAILED_AGAIN,
    RECORDS_RETRIED,
    ITERATOR_AGE,
    COLD_START,
    BATCH_SIZE,
    RECORD_PROCESSING_TIME,
    BATCH_PROCESSING_TIME,
    IN_PROCESS_RETRIES,
    PANICS_CAUGHT,
    DEADLINE_CHECKPOINTS,
    TRACE_FLUSH_FAILURES,
];

/// The catalog entry of `name`, if it is one of the function's own metrics.
pub fn definition(name: &str) -> Option<&'static MetricDefinition> {
    CATALOG.iter().find(|definition| definition.name == name)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn names_are_unique_and_valid_cloudwatch_metric_names() {
        let mut seen = HashSet::new();
        for definition in CATALOG {
            assert!(seen.insert(definition.name), "{} twice", definition.name);
            assert!(!definition.name.is_empty() && definition.name.len() <= 255);
            assert!(
                definition.name.chars().all(|c| c.is_ascii_alphanumeric()),
                "{}",
                definition.name
            );
            assert_ne!(definition.name, SERVICE_DIMENSION);
        }
    }
}
