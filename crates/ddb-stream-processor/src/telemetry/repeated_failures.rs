//! One log line per failure: lambda_runtime's repeat of a failed invocation is left out.
//!
//! lambda_runtime's layer that catches panics also logs every error a handler returns, again, as
//! `error!("{error:?}")`: a Rust debug dump of the error (`FirstRecordNotCompleted { … }`), without
//! the `requestId`, which would land in the dashboard's table of failed records. The handler has
//! already logged that failure once, in the configured format, with its `requestId` and `errorType`,
//! so both the logs and the traces leave the repeat out. The layer's panic reports carry an `error`
//! field and are kept, although the handler catches its own panics (`HandlerPanicked`) before the
//! layer could see one.

use tracing::Metadata;

/// The target of lambda_runtime's layer that repeats a handler's error.
const LAMBDA_RUNTIME_ERROR_LAYER: &str = "lambda_runtime::layers::panic";

/// Whether an event is anything but lambda_runtime's repeat of a handler's error.
pub(crate) fn is_not_a_repeated_failure(metadata: &Metadata<'_>) -> bool {
    metadata.target() != LAMBDA_RUNTIME_ERROR_LAYER || metadata.fields().field("error").is_some()
}
