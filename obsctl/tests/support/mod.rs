//! Helpers of obsctl's integration tests.

pub mod obsctl_command;
pub mod world;
