//! The integration tests: one test binary (one link step) with shared helpers in `support/`.
//!
//! - `engine`: the batch engine's contract, record by record, under tokio's paused clock.
//! - `example_processor`: decoding of order images and the errors for each kind of bad attribute.
//! - `local_invoke`: the real binary run with `--event` on every file in `events/`.
//! - `metrics`: EMF documents: limits, numbers, one flush per invocation, golden files.
//! - `lambda_runtime`: the real binary serving a Runtime API emulated in the test.

mod engine;
mod example_processor;
mod lambda_runtime;
mod local_invoke;
mod metrics;
mod support;
