//! Telemetry: what the function tells its operators.
//!
//! - [`logs`]: the `tracing` subscriber (JSON or text on stderr) and the panic hook.
//! - [`metrics`]: CloudWatch Embedded Metric Format documents, one flush per invocation on stdout.
//! - [`traces`]: OpenTelemetry spans over OTLP/HTTP, one bounded flush per invocation.
//! - `repeated_failures`: what both leave out, lambda_runtime's second line about a failure.
//!
//! The library emits `tracing` events and `metrics` facade calls; the modules here decide where they
//! go, and take their sinks and clocks as parameters so tests can capture everything.

pub mod logs;
pub mod metrics;
mod repeated_failures;
pub mod traces;
