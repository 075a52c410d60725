//! Helpers shared by the integration tests: stream records, a scripted processor, the binary.

pub mod binary;
pub mod emf_validator;
pub mod function;
pub mod http;
pub mod otlp_receiver;
pub mod records;
pub mod runtime_api;
pub mod scripted_processor;
pub mod stream_simulator;
pub mod tracing_isolation;
