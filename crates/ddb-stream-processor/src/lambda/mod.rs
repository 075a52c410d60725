//! The Lambda edge: what Lambda sends and what it must be told, in its own wire formats.
//!
//! - `event`: the payload read as a DynamoDB stream event, with errors that name the bad field, and
//!   its records made into the [`BatchRecord`](crate::record::BatchRecord)s the engine takes;
//! - `invalid_event`: what an `InvalidEvent` may say about a payload that does not parse (where
//!   and what was expected, never a value);
//! - [`Invocation`]: one invocation's request id, ARN, trace header and deadline (and the emulators
//!   that send the deadline as a duration);
//! - [`batch_response`]: the engine's disposition as the partial batch response or an error;
//! - [`InvocationError`]: the errors that fail an invocation, with their stable `errorType`;
//! - `init_error`: a start-up failure posted to the Runtime API, so Lambda shows why;
//! - `shutdown`: SIGTERM through a no-op extension, without a panic where there is no Extensions API;
//! - [`event_source_mapping`]: how the event source mapping reads a response and moves a shard's
//!   checkpoint — the rules the stream simulator, the incident rehearsal and `obsctl redrive` apply.
//!
//! It depends on the engine, never the other way round: the engine's failures are
//! [`BatchFailure`](crate::engine::BatchFailure)s that [`InvocationError`] wraps.

pub(crate) mod event;
pub mod event_source_mapping;
pub(crate) mod init_error;
mod invalid_event;
mod invocation;
pub(crate) mod invocation_error;
mod response;
pub(crate) mod shutdown;

pub use invocation::{DeadlineSource, Invocation};
pub use invocation_error::InvocationError;
pub use response::batch_response;
