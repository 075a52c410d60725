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
//!
//! [`ResultExt`] classifies with `?`: `client.put(item).await.transient("writing the projection")?`,
//! `decode(image).permanent("decoding the order")?`. [`InvocationContext::current`] gives a processor
//! the invocation's request id and the time it has left.

use std::error::Error as StdError;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use crate::record::ChangeRecord;

/// Business logic for one stream record.
///
/// Implement this for your processor, or wrap an async closure with [`processor_fn`]. The engine calls `process` once per attempt, in stream order, and never calls it
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

    /// Attaches the underlying error (a client error, a decode error, …). Its text reaches the logs,
    /// spans and error messages only with `PROCESSOR_LOG_ERROR_SOURCES=true`: sources often quote
    /// item values (serde's decode errors do), so by default the failure's line says that a cause
    /// was withheld. Decode images with [`record::image::decode`](crate::record::image::decode),
    /// whose errors name the attribute and never its value, to have a useful message either way.
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

    /// What the logs, spans and error messages say of this failure: the [`detailed_message`] when
    /// `with_sources` (`PROCESSOR_LOG_ERROR_SOURCES=true`), else the processor's own message and,
    /// when it has a source, a note that the cause was withheld.
    ///
    /// [`detailed_message`]: RecordError::detailed_message
    pub fn loggable_message(&self, with_sources: bool) -> String {
        if with_sources || self.source.is_none() {
            return self.detailed_message();
        }
        format!(
            "{} (cause withheld: it may quote item values; PROCESSOR_LOG_ERROR_SOURCES=true logs it)",
            self.message
        )
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

impl<P: RecordProcessor + ?Sized> RecordProcessor for Arc<P> {
    fn process(&self, record: &ChangeRecord) -> impl Future<Output = Result<(), RecordError>> + Send {
        (**self).process(record)
    }
}

impl<P: RecordProcessor + ?Sized> RecordProcessor for Box<P> {
    fn process(&self, record: &ChangeRecord) -> impl Future<Output = Result<(), RecordError>> + Send {
        (**self).process(record)
    }
}

impl<P: RecordProcessor + ?Sized> RecordProcessor for &P {
    fn process(&self, record: &ChangeRecord) -> impl Future<Output = Result<(), RecordError>> + Send {
        (**self).process(record)
    }
}

/// Classifies the error of a `Result` as a [`RecordError`], so a processor can use `?`.
///
/// ```
/// use ddb_stream_processor::{ChangeRecord, RecordError, RecordProcessor, ResultExt};
///
/// struct Projection;
///
/// async fn write(_record: &ChangeRecord) -> Result<(), std::io::Error> {
///     Err(std::io::Error::new(std::io::ErrorKind::TimedOut, "timed out"))
/// }
///
/// impl RecordProcessor for Projection {
///     async fn process(&self, record: &ChangeRecord) -> Result<(), RecordError> {
///         write(record).await.transient("writing the projection")?;
///         Ok(())
///     }
/// }
/// ```
pub trait ResultExt<T> {
    /// A failure worth retrying, described by `context`, with the error as its source.
    fn transient(self, context: &str) -> Result<T, RecordError>;
    /// A failure that retrying will not fix, described by `context`, with the error as its source.
    fn permanent(self, context: &str) -> Result<T, RecordError>;
}

impl<T, E: StdError + Send + Sync + 'static> ResultExt<T> for Result<T, E> {
    fn transient(self, context: &str) -> Result<T, RecordError> {
        self.map_err(|error| RecordError::transient(context).with_source(error))
    }

    fn permanent(self, context: &str) -> Result<T, RecordError> {
        self.map_err(|error| RecordError::permanent(context).with_source(error))
    }
}

/// What a processor may know about the invocation it runs in.
///
/// Set by the handler around each batch; records of one invocation see the same context, also with
/// per-key concurrency.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct InvocationContext {
    request_id: Arc<str>,
    deadline: tokio::time::Instant,
}

tokio::task_local! {
    static CURRENT: InvocationContext;
}

impl InvocationContext {
    /// A context for the invocation `request_id`, which must end at `deadline`.
    pub fn new(request_id: impl Into<Arc<str>>, deadline: tokio::time::Instant) -> Self {
        Self {
            request_id: request_id.into(),
            deadline,
        }
    }

    /// The context of the invocation the caller runs in; `None` outside a handler (a unit test
    /// calling a processor directly).
    pub fn current() -> Option<Self> {
        CURRENT.try_with(Clone::clone).ok()
    }

    /// The AWS request id of the invocation.
    pub fn request_id(&self) -> &str {
        &self.request_id
    }

    /// Time until the invocation's deadline (the engine keeps its margin out of this already:
    /// a record that runs past the margin is cancelled).
    pub fn remaining_time(&self) -> Duration {
        self.deadline
            .saturating_duration_since(tokio::time::Instant::now())
    }

    /// Runs `future` with this context as [`current`](Self::current).
    pub async fn scope<F: Future>(self, future: F) -> F::Output {
        CURRENT.scope(self, future).await
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

    #[test]
    fn the_loggable_message_withholds_sources_unless_allowed() {
        let error = RecordError::permanent("decoding").with_source(WriteFailed(Reset));
        assert_eq!(
            error.loggable_message(false),
            "decoding (cause withheld: it may quote item values; PROCESSOR_LOG_ERROR_SOURCES=true logs it)"
        );
        assert_eq!(
            error.loggable_message(true),
            "decoding: write failed: connection reset"
        );
        let without_source = RecordError::permanent("rejected by a business rule");
        assert_eq!(
            without_source.loggable_message(false),
            "rejected by a business rule"
        );
    }

    #[test]
    fn results_are_classified_with_their_error_as_the_source() {
        let transient = Err::<(), _>(WriteFailed(Reset))
            .transient("writing the projection")
            .unwrap_err();
        assert_eq!(transient.kind(), FailureKind::Transient);
        assert_eq!(
            transient.detailed_message(),
            "writing the projection: write failed: connection reset"
        );
        let permanent = Err::<(), _>(Reset).permanent("decoding").unwrap_err();
        assert_eq!(permanent.kind(), FailureKind::Permanent);
        assert_eq!(permanent.message(), "decoding");
        assert_eq!(Ok::<_, Reset>(7).permanent("decoding").unwrap(), 7);
    }

    #[tokio::test(start_paused = true)]
    async fn the_invocation_context_is_reachable_inside_its_scope_only() {
        assert!(InvocationContext::current().is_none());
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        let seen = InvocationContext::new("req-1", deadline)
            .scope(async {
                tokio::time::advance(Duration::from_secs(10)).await;
                let context = InvocationContext::current().expect("inside the scope");
                (context.request_id().to_owned(), context.remaining_time())
            })
            .await;
        assert_eq!(seen, ("req-1".to_owned(), Duration::from_secs(20)));
    }
}
