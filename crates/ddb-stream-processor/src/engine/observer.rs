//! The seam through which the engine reports each record to whoever watches it.
//!
//! The engine emits `tracing` spans and events and nothing else; it does not know whether spans are
//! exported. A [`RecordObserver`] — the trace export is one — is told when a record starts and when
//! it was not completed, with the record's span, and decides what to attach to it. The default,
//! [`NoObserver`], does nothing and costs nothing.

use std::fmt::Debug;

use tracing::Span;

use super::stop_reason::StopReason;
use crate::record::BatchRecord;

/// Watches the records of every batch the engine runs.
pub trait RecordObserver: Send + Sync + Debug {
    /// `true` when record spans are consumed (exported as trace spans): the engine then opens them
    /// at INFO instead of DEBUG, where a disabled span costs nothing.
    fn wants_record_spans(&self) -> bool {
        false
    }

    /// A record is about to be processed in `_span`.
    fn record_started(&self, _span: &Span, _record: &BatchRecord) {}

    /// The record of `_span` was not completed, for `_reason`.
    fn record_not_completed(&self, _span: &Span, _reason: &StopReason) {}
}

/// An observer that does nothing: the engine's default.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl RecordObserver for NoObserver {}
