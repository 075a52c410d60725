//! # rehearsal
//!
//! Rehearsing an incident before the first deploy: what CloudWatch would hold and which alarms would
//! fire while the function runs a scenario, computed from what the function writes rather than from
//! internal counters:
//!
//! - [`scenario`]: the traffic of a stream and what goes wrong while it flows, in a small JSON file;
//! - [`simulation`]: the stream, the event source mapping and the Lambda service on a simulated clock,
//!   around the function's real handler;
//! - [`cloudwatch`]: metrics extracted from the function's EMF documents, CloudWatch's statistics per
//!   period, and alarm evaluation by CloudWatch's documented rules, with the state changes over time.
//!
//! Nothing here talks to AWS: the rules are the ones the CloudWatch user guide documents, and the
//! tests reproduce its examples.

#![deny(missing_docs)]

pub mod cloudwatch;
pub mod scenario;
pub mod simulation;
