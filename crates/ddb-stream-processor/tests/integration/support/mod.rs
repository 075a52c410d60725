//! Helpers shared by the integration tests: the binary, the emulated Runtime API and OTLP receiver,
//! the EMF validator, the stream simulator. Records and scripted processors come from the library's
//! `testing` module; the real emulators (DynamoDB Local, cargo-lambda) from the `test-emulators` crate.

pub mod binary;
pub mod emf_validator;
pub mod function;
pub mod otlp_receiver;
pub mod runtime_api;
pub mod stream_simulator;
pub mod tracing_isolation;
