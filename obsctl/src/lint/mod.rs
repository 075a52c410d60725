//! `obsctl lint`: offline checks of `dashboards/` and `alarms/`.
//!
//! - [`dashboard`]: the dashboard body rules CloudWatch applies at deploy time.
//! - [`alarm`]: the alarm rules of `PutMetricAlarm`, and the project's alarm policy.
//! - [`contract`]: every metric named exists (the function's catalog, or a known AWS metric with its
//!   dimensions), and every metric of the catalog is on a dashboard.

pub mod alarm;
pub mod contract;
pub mod dashboard;

use std::fmt;

use serde_json::Value;

/// One thing wrong, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file and the place in it.
    pub location: String,
    pub message: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.location, self.message)
    }
}

/// A metric as a dashboard row or an alarm names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetricRef {
    pub namespace: String,
    pub name: String,
    /// (name, value) pairs, in the order written.
    pub dimensions: Vec<(String, String)>,
}

/// Metric math ids: `^[a-z][A-Za-z0-9_]*$`.
pub fn valid_id(id: &str) -> bool {
    let mut characters = id.chars();
    characters.next().is_some_and(|first| first.is_ascii_lowercase())
        && characters.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// CloudWatch periods: 1, 5, 10, 30 or a multiple of 60 seconds.
pub fn valid_period(period: &Value) -> bool {
    period
        .as_u64()
        .is_some_and(|seconds| matches!(seconds, 1 | 5 | 10 | 30) || (seconds > 0 && seconds % 60 == 0))
}

/// Every problem of the definitions: dashboards, alarms, and the catalog contract.
pub fn all(definitions: &crate::definitions::Definitions) -> Vec<Problem> {
    let mut problems = Vec::new();
    for board in &definitions.dashboards {
        problems.extend(dashboard::lint(
            &board.body,
            &format!("dashboards/{}.json", board.name),
        ));
    }
    for definition in &definitions.alarms {
        problems.extend(alarm::lint(definition));
    }
    problems.extend(contract::check(definitions));
    problems
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn ids_and_periods_follow_cloudwatch() {
        assert!(valid_id("rate") && valid_id("m1") && valid_id("p99_s"));
        assert!(!valid_id("Rate") && !valid_id("1m") && !valid_id("") && !valid_id("a-b"));
        for good in [1, 5, 10, 30, 60, 300, 3600] {
            assert!(valid_period(&json!(good)), "{good}");
        }
        for bad in [0, 2, 45, 90, -60] {
            assert!(!valid_period(&json!(bad)), "{bad}");
        }
        assert!(!valid_period(&json!("60")));
    }
}
