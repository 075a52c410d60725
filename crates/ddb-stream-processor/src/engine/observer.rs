//! The seam through which the engine reports each record to whoever watches it.
//!
//! The engine emits `tracing` spans and events and nothing else; it does not know whether spans are
//! exported. A [`RecordObserver`] — the trace export is one — opens the span each record runs in,
//! and is told how the record ended. The default, [`NoObserver`], opens the INFO span the logs
//! need ([`RecordSpan::for_logs`]) and does nothing more.
//!
//! An observer may leave a record out of the trace ([`RecordSpan::untraced`]): while it runs,
//! [`inside_untraced_record`] is true, so the trace export can ignore the spans and events the
//! processor makes inside it, and the observer can still build a span for it when it ends, if how it
//! ended calls for one (the trace export does this for failed, retried and slow records).

use std::cell::Cell;
use std::fmt::Debug;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use tracing::Span;

use super::stop_reason::StopReason;
use crate::record::BatchRecord;

/// The span every record runs in, at the level of the `tracing` span macro given (`info_span`,
/// `debug_span`), with the fields that follow the record, if any. Its own fields are what the
/// logs show of the record (camelCase, as they appear at the top level of a JSON log line);
/// `attempt` changes when the record is retried, `keys` is filled when keys are logged.
macro_rules! record_span {
    ($level:ident, $record:expr $(, $($extra:tt)+)?) => {{
        let record = $crate::record::identity($record);
        tracing::$level!(
            "record",
            eventId = record.event_id,
            sequenceNumber = record.sequence_number.unwrap_or_default(),
            operation = record.event_name,
            table = record.table_name.unwrap_or_default(),
            attempt = 1,
            keys = tracing::field::Empty,
            $($($extra)+)?
        )
    }};
}
pub(crate) use record_span;

/// Watches the records of every batch the engine runs.
pub trait RecordObserver: Send + Sync + Debug {
    /// Opens the span `record` runs in, at least the one the logs need; the default is
    /// [`RecordSpan::for_logs`].
    fn record_started(&self, record: &BatchRecord) -> RecordSpan {
        RecordSpan::for_logs(record)
    }

    /// `_record`, which ran in `_span`, ended as `_ending` says.
    fn record_ended(&self, _span: &RecordSpan, _record: &BatchRecord, _ending: &RecordEnding<'_>) {}
}

/// An observer that does nothing: the engine's default.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoObserver;

impl RecordObserver for NoObserver {}

/// The span a record runs in, and what its observer needs to know of it when it ends.
#[derive(Debug)]
pub struct RecordSpan {
    /// The span: its fields are what the log lines written inside it show of the record.
    pub span: Span,
    /// The record is left out of the trace: while it runs, [`inside_untraced_record`] is true.
    pub untraced: bool,
    /// When the record started, for an observer that builds its span when it ends.
    pub started_at: Option<SystemTime>,
}

impl RecordSpan {
    /// The span of a record as the logs see it: INFO, so that every line the processor writes while
    /// the record runs (its own `tracing::info!` included) carries the record's `eventId`,
    /// `sequenceNumber` and `operation`, at any log level (the log filter always lets the
    /// template's spans through). Its `keys` field is filled when keys are logged.
    pub fn for_logs(record: &BatchRecord) -> Self {
        Self {
            span: record_span!(info_span, record),
            untraced: false,
            started_at: None,
        }
    }
}

/// How a record ended, as its observer is told.
#[derive(Debug, Clone, Copy)]
pub struct RecordEnding<'a> {
    /// Why it was not completed; `None` when it succeeded.
    pub not_completed: Option<&'a StopReason>,
    /// Attempts made (0 for a record that could not be read).
    pub attempts: u32,
    /// The transient failures that were retried, in order.
    pub retries: &'a [Retry],
    /// The item keys in DynamoDB JSON, when keys are logged.
    pub keys: Option<&'a str>,
    /// From its start to its end, retries and pauses included; `None` when it was never attempted.
    pub elapsed: Option<Duration>,
}

/// A transient failure the engine retried.
#[derive(Debug, Clone, PartialEq)]
pub struct Retry {
    /// The attempt that failed (1 for the first).
    pub attempt: u32,
    /// When it failed.
    pub at: SystemTime,
    /// The failure, as its log line gives it (its cause withheld unless sources are logged).
    pub error: String,
    /// The pause before the next attempt.
    pub pause: Duration,
}

thread_local! {
    static UNTRACED: Cell<bool> = const { Cell::new(false) };
}

/// True while a record left out of the trace is being processed on this thread.
pub fn inside_untraced_record() -> bool {
    UNTRACED.with(Cell::get)
}

/// Runs `f` with [`inside_untraced_record`] true (an observer opens the span of an untraced
/// record this way).
pub fn run_untraced<R>(f: impl FnOnce() -> R) -> R {
    let _untraced = UntracedScope::enter();
    f()
}

/// [`inside_untraced_record`] is true from `enter` until the scope is dropped, then what it was
/// before: restored on drop, so that a panic unwinding through it cannot leave the thread untraced.
struct UntracedScope {
    outer: bool,
}

impl UntracedScope {
    fn enter() -> Self {
        Self {
            outer: UNTRACED.with(|untraced| untraced.replace(true)),
        }
    }
}

impl Drop for UntracedScope {
    fn drop(&mut self) {
        UNTRACED.with(|untraced| untraced.set(self.outer));
    }
}

pin_project_lite::pin_project! {
    /// Runs a future with [`inside_untraced_record`] true during each of its polls (only those:
    /// with per-key concurrency, other records run between them on the same thread).
    pub(crate) struct Untraced<F> {
        #[pin]
        future: F,
    }
}

impl<F> Untraced<F> {
    /// `future`, left out of the trace.
    pub(crate) fn new(future: F) -> Self {
        Self { future }
    }
}

impl<F: Future> Future for Untraced<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, context: &mut Context<'_>) -> Poll<F::Output> {
        let _untraced = UntracedScope::enter();
        self.project().future.poll(context)
    }
}

#[cfg(test)]
mod tests {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};

    use super::*;

    #[test]
    fn a_record_is_untraced_only_while_it_runs_even_when_it_panics() {
        assert!(!inside_untraced_record());
        let nested = run_untraced(|| run_untraced(inside_untraced_record) && inside_untraced_record());
        assert!(nested, "true inside, and still true after a nested scope ends");
        assert!(!inside_untraced_record(), "false again after the scope");
        let panicked = std::panic::catch_unwind(|| run_untraced(|| panic!("a bug")));
        assert!(panicked.is_err());
        assert!(
            !inside_untraced_record(),
            "a panic does not leave the thread untraced"
        );
    }

    #[test]
    fn an_untraced_future_is_untraced_during_its_polls_only() {
        let mut seen = Vec::new();
        {
            let mut future = std::pin::pin!(Untraced::new(std::future::poll_fn(|_| {
                seen.push(inside_untraced_record());
                if seen.len() < 2 {
                    Poll::Pending
                } else {
                    Poll::Ready(())
                }
            })));
            let mut context = Context::from_waker(Waker::noop());
            assert!(future.as_mut().poll(&mut context).is_pending());
            assert!(
                !inside_untraced_record(),
                "between polls, other records run traced"
            );
            assert!(future.as_mut().poll(&mut context).is_ready());
            assert!(!inside_untraced_record());
        }
        assert_eq!(seen, [true, true]);
    }
}
