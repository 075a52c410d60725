//! Helpers of obsctl's integration tests.

pub mod world;
