//! The function assembled from the layers below: configuration, the handler, local invoke, `run`.
//!
//! - [`run`](run::run): the composition root, the whole `main` of a function;
//! - [`handler`]: [`StreamHandler`](handler::StreamHandler), one invocation from payload to response,
//!   and the builder tests and benchmarks use;
//! - [`config`]: the environment variables, read and validated once;
//! - [`local_invoke`]: `--event FILE`, one invocation without AWS.

pub mod config;
pub mod handler;
pub mod local_invoke;
pub mod run;
