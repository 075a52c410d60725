//! # ddb-stream-processor
//!
//! A template for AWS Lambda functions that consume a DynamoDB stream, built so that no record is
//! ever lost or processed out of order.
//!
//! - [`processor`]: the trait your business logic implements ([`RecordProcessor`]) and its error
//!   type, which says whether a failure is transient or permanent.
//! - [`example_processor`]: the shipped example (order items). **The part you replace.**
//! - [`record`]: the typed view of one stream record your processor receives.
//! - [`engine`]: runs a batch in order, retries, isolates panics, watches the deadline, and applies
//!   the checkpoint rule (`engine/checkpoint.rs`).
//! - [`handler`]: the Lambda edge: payload in, partial batch response or [`InvocationError`] out.
//! - [`event`], [`sequence_number`], [`invocation_error`]: parsing and the types behind the rule.
//! - [`telemetry`]: logs and CloudWatch EMF metrics ([`telemetry::metrics`]), one flush per invocation.
//! - [`config`], [`clock`], [`local_invoke`]: what the binary needs to start and to run locally.

pub mod clock;
pub mod config;
pub mod engine;
pub mod event;
pub mod example_processor;
pub mod handler;
pub mod invocation_error;
pub mod local_invoke;
pub mod processor;
pub mod record;
pub mod sequence_number;
pub mod telemetry;

pub use engine::{BatchEngine, BatchOutcome, Deadline, Disposition, EngineConfig};
pub use handler::{Invocation, StreamHandler};
pub use invocation_error::InvocationError;
pub use processor::{FailureKind, ProcessorFn, RecordError, RecordProcessor, processor_fn};
pub use record::{ChangeRecord, Operation};

/// The README's Rust examples compile as doc tests, so the README cannot drift from the API.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
