//! # ddb-stream-processor
//!
//! AWS Lambda functions in Rust that consume a DynamoDB stream and never lose or reorder a record.
//! A function is one [`RecordProcessor`] and one line of `main`:
//!
//! ```no_run
//! use ddb_stream_processor::{ChangeRecord, RecordError, RecordProcessor, run};
//!
//! struct Projection;
//!
//! impl RecordProcessor for Projection {
//!     async fn process(&self, record: &ChangeRecord) -> Result<(), RecordError> {
//!         // apply the change idempotently, keyed by record.event_id
//!         let _ = record;
//!         Ok(())
//!     }
//! }
//!
//! fn main() -> std::process::ExitCode {
//!     run(Projection)
//! }
//! ```
//!
//! The layers, each depending only on the ones before it (a test keeps it so):
//!
//! 1. [`record`] and [`processor`]: the domain — the typed record, sequence numbers, image decoding,
//!    and the trait your business logic implements with its error type;
//! 2. [`engine`]: runs a batch in order (or per key), retries, isolates panics, watches the
//!    deadline, and applies the checkpoint rule (`engine/checkpoint.rs`); it knows neither Lambda's
//!    wire types nor telemetry;
//! 3. [`lambda`]: the Lambda edge — the event, the invocation and its deadline, the partial batch
//!    response, the errors with their stable `errorType`, graceful shutdown;
//! 4. [`telemetry`]: logs in Lambda's format, CloudWatch EMF metrics, OpenTelemetry traces;
//! 5. [`function`]: the composition — configuration, [`StreamHandler`], local invoke, and [`run`].
//!
//! Crate features: `otlp` (the OTLP/HTTP trace exporter), `mimalloc` (re-exported as [`MiMalloc`]
//! for a binary's `#[global_allocator]`), `testing` (scripted processors and records).

#![deny(missing_docs)]

pub mod clock;
pub mod engine;
pub mod function;
pub mod lambda;
pub mod processor;
pub mod record;
pub mod telemetry;
#[cfg(feature = "testing")]
pub mod testing;

pub use engine::{BatchEngine, BatchOutcome, Deadline, DeadlineMargin, Disposition, EngineConfig};
pub use function::{StreamHandler, run};
pub use lambda::{Invocation, InvocationError};
#[cfg(feature = "mimalloc")]
pub use mimalloc::MiMalloc;
pub use processor::{
    FailureKind, InvocationContext, ProcessorFn, RecordError, RecordProcessor, ResultExt, processor_fn,
};
pub use record::{ChangeRecord, Operation};

/// The README's Rust examples compile as doc tests, so the README cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
struct ReadmeExamples;
