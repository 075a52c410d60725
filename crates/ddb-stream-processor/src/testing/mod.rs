//! Test support (crate feature `testing`): scripted processors and stream records, for the tests of
//! this library, of obsctl, and of a team's own function.
//!
//! - [`ScriptedProcessor`]: behaviour per event id, scripted by the test, with every call recorded;
//! - [`ImageScriptedProcessor`]: behaviour scripted by each record's `script` attribute, for tests of
//!   a whole process (the `scripted-function` binary of this crate runs it);
//! - [`records`]: records and events as Lambda sends them.
//!
//! A function is wired for a test the way `run` wires it, with the builder methods of
//! [`StreamHandler`](crate::StreamHandler) and an [`Invocation::local`](crate::Invocation::local).

pub mod records;
mod scripted;

pub use scripted::{Behaviour, ImageScriptedProcessor, SCRIPT_ATTRIBUTE, ScriptedProcessor};
