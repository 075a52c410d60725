//! The seam between the template and business code: [`RecordProcessor`] and [`RecordError`].
//!
//! A processor handles **one** record and says whether it worked. It never sees batches, checkpoints,
//! retries, spans or metrics; the [engine](crate::engine) owns all of that. The one decision a processor
//! makes about failure is its *kind*:
//!
//! - [`FailureKind::Transient`]: worth trying again (a throttled write, a timeout of a downstream call).
//!   The engine retries it in-process with backoff, then hands it back to the stream.
//! - [`FailureKind::Permanent`]: retrying will not help (an image that does not decode, a business rule
//!   that rejects the change). The engine does not retry it in-process; Lambda's retry and bisect
//!   settings isolate it and send it to the on-failure destination.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;

use crate::record::ChangeRecord;

/// Business logic for one stream record.
///
/// Implement this for your processor (see [`crate::example_processor`]), or wrap an async closure with
/// [`processor_fn`]. The engine calls `process` once per attempt, in stream order, and never calls it
/// for a record after an earlier record of the batch failed.
pub trait RecordProcessor: Send + Sync {
    /// Processes one record. `Ok(())` means the record's effects are done and it must not be delivered
    /// again; an error says whether another attempt could succeed.
    fn process(&self, record: &ChangeRecord) -> impl Future<Output = Result<(), RecordError>> + Send;
}

/// Whether another attempt at the same record could succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailureKind {
    /// A passing condition: retried in-process with backoff, then handed back to the stream.
    Transient,
    /// A poison record: never retried in-process.
    Permanent,
}

impl FailureKind {
    /// `transient` or `permanent`, for logs and error messages.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::Transient => "transient",
            FailureKind::Permanent => "permanent",
        }
    }
}

impl fmt::Display for FailureKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Why a record could not be processed, and whether retrying could help.
#[derive(Debug)]
pub struct RecordError {
    kind: FailureKind,
    message: String,
    source: Option<Box<dyn StdError + Send + Sync + 'static>>,
}

impl RecordError {
    /// A failure worth retrying.
    pub fn transient(message: impl Into<String>) -> Self {
        Self::new(FailureKind::Transient, message)
    }

    /// A failure that retrying will not fix (a poison record).
    pub fn permanent(message: impl Into<String>) -> Self {
        Self::new(FailureKind::Permanent, message)
    }

    /// A failure of the given kind.
    pub fn new(kind: FailureKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            source: None,
        }
    }

    /// Attaches the underlying error (a client error, a decode error, …).
    pub fn with_source(mut self, source: impl StdError + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    /// Transient or permanent.
    pub fn kind(&self) -> FailureKind {
        self.kind
    }

    /// `true` when another attempt could succeed.
    pub fn is_transient(&self) -> bool {
        self.kind == FailureKind::Transient
    }

    /// The processor's own description, without the source chain.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The message followed by every source in the chain: `message: source: source's source`.
    pub fn detailed_message(&self) -> String {
        let mut text = self.message.clone();
        let mut next = StdError::source(self);
        while let Some(source) = next {
            text.push_str(": ");
            text.push_str(&source.to_string());
            next = source.source();
        }
        text
    }
}

impl fmt::Display for RecordError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl StdError for RecordError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn StdError + 'static))
    }
}

/// A [`RecordProcessor`] made from an async closure; see [`processor_fn`].
#[derive(Clone)]
pub struct ProcessorFn<F> {
    function: F,
}

/// Wraps an async closure as a [`RecordProcessor`].
///
/// The closure receives its own copy of the record, so the future it returns may keep it across
/// `.await` points without lifetime annotations. The copy costs one clone of the record per attempt;
/// implement [`RecordProcessor`] directly when that matters.
///
/// ```
/// use ddb_stream_processor::{processor_fn, Operation, RecordError};
///
/// let processor = processor_fn(|record| async move {
///     match record.operation {
///         Operation::Remove if record.is_ttl_delete => Ok(()),
///         _ if record.new_image.is_none() && record.operation != Operation::Remove => {
///             Err(RecordError::permanent("the stream does not include new images"))
///         }
///         _ => Ok(()),
///     }
/// });
/// # let _ = processor;
/// ```
pub fn processor_fn<F, Fut>(function: F) -> ProcessorFn<F>
where
    F: Fn(ChangeRecord) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), RecordError>> + Send,
{
    ProcessorFn { function }
}

impl<F, Fut> RecordProcessor for ProcessorFn<F>
where
    F: Fn(ChangeRecord) -> Fut + Send + Sync,
    Fut: Future<Output = Result<(), RecordError>> + Send,
{
    fn process(&self, record: &ChangeRecord) -> impl Future<Output = Result<(), RecordError>> + Send {
        (self.function)(record.clone())
    }
}

impl<P: RecordProcessor> RecordProcessor for std::sync::Arc<P> {
    fn process(&self, record: &ChangeRecord) -> impl Future<Output = Result<(), RecordError>> + Send {
        (**self).process(record)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("connection reset")]
    struct Reset;

    #[derive(Debug, thiserror::Error)]
    #[error("write failed")]
    struct WriteFailed(#[source] Reset);

    #[test]
    fn classifies_and_keeps_the_source_chain() {
        let error = RecordError::transient("could not update the projection").with_source(WriteFailed(Reset));
        assert!(error.is_transient());
        assert_eq!(error.kind(), FailureKind::Transient);
        assert_eq!(error.to_string(), "could not update the projection");
        assert_eq!(
            error.detailed_message(),
            "could not update the projection: write failed: connection reset"
        );
        assert!(StdError::source(&error).is_some());

        let poison = RecordError::permanent("bad image");
        assert!(!poison.is_transient());
        assert_eq!(poison.detailed_message(), "bad image");
    }
}
