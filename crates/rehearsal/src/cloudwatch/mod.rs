//! CloudWatch as the alarms and the dashboard see it, computed from what the function wrote.
//!
//! - [`metric_store`]: samples per metric from the function's EMF documents and AWS's own metrics,
//!   and datapoints per period with a statistic;
//! - [`statistics`]: Sum, SampleCount, Average, Minimum, Maximum and percentiles;
//! - [`metric_math`]: the metric math expressions of `alarms/` and `dashboards/` over aligned series;
//! - [`alarm_evaluation`]: one evaluation by CloudWatch's documented rules (M of N, the evaluation
//!   range, missing data);
//! - [`alarm_timeline`]: an alarm over a whole scenario, as a list of state changes;
//! - [`anomaly_band`]: a documented, approximate stand-in for anomaly detection bands.

pub mod alarm_evaluation;
pub mod alarm_timeline;
pub mod anomaly_band;
pub mod metric_math;
pub mod metric_store;
pub mod statistics;
