//! Helpers shared by the integration tests: the binary, the emulated Runtime API and OTLP receiver,
//! the EMF validator, the stream simulator, DynamoDB Local. Records and scripted processors come from the library's
//! `testing` module.

pub mod binary;
pub mod dynamodb_local;
pub mod emf_validator;
pub mod function;
pub mod http;
pub mod otlp_receiver;
pub mod runtime_api;
pub mod stream_simulator;
pub mod tracing_isolation;
