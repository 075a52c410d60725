//! # obsctl
//!
//! The operator CLI of ddb-stream-processor: renders, lints, diffs and applies the dashboards and
//! alarms kept in `dashboards/` and `alarms/`, rehearses incidents, and redrives failed records. A workspace member of its own, so the Lambda build
//! never compiles what it needs.
//!
//! - [`definitions`]: reads the two folders;
//! - [`variables`]: the `${Placeholder}` names they may use;
//! - [`cloudformation`] and [`yaml`]: turn them into template.yaml resources;
//! - [`render`]: writes (or checks) template.yaml's generated regions and the README's alarm table;
//! - [`lint`]: the offline checks;
//! - [`resolve`], [`cloud`], [`plan`] and [`diff`]: compare with, and apply to, a deployed stack;
//! - [`rehearse`]: an incident rehearsed before the first deploy, every alarm evaluated;
//! - [`redrive`]: the records behind the on-failure destination, recovered in stream order.

pub mod cloud;
pub mod cloudformation;
pub mod definitions;
pub mod diff;
pub mod lint;
pub mod plan;
pub mod redrive;
pub mod rehearse;
pub mod render;
pub mod resolve;
pub mod variables;
pub mod yaml;
