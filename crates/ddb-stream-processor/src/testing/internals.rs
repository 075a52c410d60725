//! The pieces below the public API that the library's own tests and benchmarks drive directly: the
//! EMF encoder (its limits are tested on documents built by hand), the global metrics router, and the
//! event parser with its batch facts (the metrics flush is benchmarked on its own).
//!
//! Not a stable API: a team's tests use the processor, [`StreamHandler`](crate::StreamHandler) and
//! the records of [`testing`](crate::testing), never these.

/// The EMF encoder: documents valid by the specification, split at its limits.
pub mod emf {
    pub use crate::telemetry::metrics::emf::{
        Directive, Encoded, MAX_DOCUMENT_BYTES, Metric, Values, encode,
    };
}

/// Installs the process-wide `metrics` recorder that routes facade calls to their invocation.
pub use crate::telemetry::metrics::router::install as install_metrics_router;

/// The payload read as a stream event, and the facts of its batch the metrics report.
pub use crate::lambda::event::{BatchFacts, ParsedEvent, parse_event};

use std::time::Duration;

use crate::engine::BatchOutcome;
use crate::telemetry::metrics::{InvocationSummary, Metrics};

/// Records and flushes the metrics of one invocation whose batch (`facts`) ended in `outcome` after
/// `batch_time`, as the handler does at the end of every invocation; returns the documents written.
pub fn flush_batch_metrics(
    metrics: &Metrics,
    facts: &BatchFacts,
    outcome: &BatchOutcome,
    batch_time: Duration,
) -> Vec<String> {
    let summary = InvocationSummary {
        request_id: "internals",
        started_at: metrics.now(),
        batch: Some(facts),
        outcome: Some(outcome),
        batch_time: Some(batch_time),
        ..InvocationSummary::default()
    };
    metrics.flush(&metrics.start_invocation(), &summary)
}
