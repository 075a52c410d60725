//! The function assembled from the layers below: configuration, the handler, local invoke, `run`.
//!
//! - [`run`]: the composition root, the whole `main` of a function;
//! - [`StreamHandler`]: one invocation from payload to response, and the builder tests and
//!   benchmarks use;
//! - [`config`]: the environment variables, read and validated once;
//! - `handed_back`: the records this environment handed back, to count those that fail again;
//! - local invoke: `--event FILE`, one invocation without AWS (what `run` does outside Lambda).

pub mod config;
mod handed_back;
mod handler;
pub(crate) mod local_invoke;
mod run;

pub use handler::StreamHandler;
pub use run::run;
