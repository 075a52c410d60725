//! The integration tests: one test binary (one link step) with shared helpers in `support/`.
//!
//! - `architecture`: the layers of the library and no import circle, read from its source.
//! - `bad_input`: every kind of bad input, table-driven and generated, through the handler and the binary.
//! - `engine`: the batch engine's contract, record by record, under tokio's paused clock.
//! - `local_invoke`: the real binary run with `--event` on every file in `events/`.
//! - `metrics`: EMF documents: limits, numbers, one flush per invocation, golden files.
//! - `simulator`: the event source mapping simulated over generated cases; the properties and their teeth.
//! - `traces`: the spans of an invocation, through the SDK's in-memory exporter.
//! - `lambda_runtime`: the real binary serving a Runtime API emulated in the test.
//! - `dev_loop`: the binary under cargo-lambda's emulator (`cargo lambda watch` + `invoke`).
//! - `dynamodb_local`: real stream records from DynamoDB Local through the binary and the mapping's rules.
//! - `docs`: RELIABILITY.md names only tests and files that exist.
//! - `end_to_end`: the binary with traces on, an emulated Runtime API and an OTLP/HTTP receiver.
//! - `item_values`: no item value in logs, spans, metrics or errors, whatever the processor's errors quote.

mod architecture;
mod bad_input;
mod dev_loop;
mod docs;
mod dynamodb_local;
mod end_to_end;
mod engine;
mod item_values;
mod lambda_runtime;
mod local_invoke;
mod metrics;
mod simulator;
mod support;
mod traces;
