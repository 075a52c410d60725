//! A scenario: the traffic of a stream and what goes wrong while it flows, in a small JSON file.
//!
//! ```json
//! {
//!   "description": "The orders service is down for ten minutes",
//!   "duration_minutes": 40,
//!   "shards": 2,
//!   "item_keys": 500,
//!   "traffic": [{"from_minute": 0, "records_per_second": 20}],
//!   "record_latency_ms": 2,
//!   "dependency": [{"from_minute": 10, "to_minute": 20, "failure_rate": 1.0}],
//!   "poison_records": [{"at_minute": 5}],
//!   "panics": [],
//!   "concurrency_limit": null,
//!   "dead_letter_queue_unavailable": false,
//!   "invalid_emf_documents": [],
//!   "redrives": [{"at_minute": 30}],
//!   "expected_alarms": [
//!     {"alarm": "records-failed-spike", "fires_between_minutes": [11, 16]},
//!     {"alarm": "failures-waiting", "fires_between_minutes": [11, 17], "ok_again_between_minutes": [30, 36]}
//!   ]
//! }
//! ```
//!
//! - `traffic`: from each `from_minute` on, records arrive at `records_per_second` (over all shards,
//!   item keys drawn evenly), until the next window; 0 stops the traffic.
//! - `record_latency_ms`: what the processor's work on one record takes when nothing goes wrong.
//! - `dependency`: between `from_minute` and `to_minute` each attempt fails (transiently) with
//!   `failure_rate` and takes `latency_ms` more.
//! - `poison_records` / `panics`: the first record arriving at or after `at_minute` always fails
//!   (permanently) / panics, on every attempt.
//! - `concurrency_limit`: the most invocations that may run at once (reserved concurrency, or what is
//!   left of the account's); more are throttled and retried by the event source mapping.
//! - `dead_letter_queue_unavailable`: deliveries to the on-failure destination fail.
//! - `invalid_emf_documents`: at each `at_minute`, the log group receives an EMF document CloudWatch
//!   rejects (as another writer in the log group, or a hand-edited directive, would produce; the
//!   function's own writer never does).
//! - `redrives`: at each `at_minute`, a team runs `obsctl redrive --invoke`: the failure queue's
//!   messages are replayed in order through the function (the processor as the scenario scripts it
//!   at that moment, so a poison record fails again and keeps its message, and the later messages of
//!   its shard wait), with `obsctl redrive`'s two retries; each message whose range succeeds whole is
//!   deleted.
//! - `expected_alarms`: every alarm the scenario fires (by its file name in `alarms/`), each with the
//!   simulated minutes between which it must first go to ALARM; optionally the minutes between which
//!   it must first go back to OK after that (`ok_again_between_minutes`), or that it must still be in
//!   ALARM at the end (`in_alarm_at_the_end`). The tests hold each scenario to its list, exactly: an
//!   alarm that fires unexpectedly fails them too.
//!
//! Unknown fields are errors, so a misspelt field is never silently ignored.

use std::path::Path;

use serde::Deserialize;

/// A scenario file, as read.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// What the scenario rehearses, in a sentence.
    pub description: String,
    /// How long the traffic runs, in simulated minutes.
    pub duration_minutes: u32,
    /// The stream's shards.
    #[serde(default = "one")]
    pub shards: u32,
    /// Distinct item keys the records are spread over.
    #[serde(default = "thousand")]
    pub item_keys: u32,
    /// The arrival rate over time.
    pub traffic: Vec<TrafficWindow>,
    /// The processor's work per record, in milliseconds.
    #[serde(default = "one_ms")]
    pub record_latency_ms: u64,
    /// Windows in which the processor's dependency fails or slows down.
    #[serde(default)]
    pub dependency: Vec<DependencyWindow>,
    /// Records that always fail.
    #[serde(default)]
    pub poison_records: Vec<Moment>,
    /// Records whose processing always panics.
    #[serde(default)]
    pub panics: Vec<Moment>,
    /// The most concurrent invocations; `None` for no limit below the shards' own.
    #[serde(default)]
    pub concurrency_limit: Option<u32>,
    /// Deliveries to the on-failure destination fail.
    #[serde(default)]
    pub dead_letter_queue_unavailable: bool,
    /// Moments the log group receives an EMF document CloudWatch rejects.
    #[serde(default)]
    pub invalid_emf_documents: Vec<Moment>,
    /// Moments a team replays what waits in the failure queue (`obsctl redrive --invoke`).
    #[serde(default)]
    pub redrives: Vec<Moment>,
    /// The alarms the scenario fires, and when.
    #[serde(default)]
    pub expected_alarms: Vec<ExpectedAlarm>,
}

/// An alarm a scenario fires, and the simulated minutes between which it first goes to ALARM.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedAlarm {
    /// The alarm's file name in `alarms/`, without `.json`.
    pub alarm: String,
    /// The earliest and the latest minute of its first transition to ALARM.
    pub fires_between_minutes: [f64; 2],
    /// The earliest and the latest minute of its first transition back to OK after that.
    #[serde(default)]
    pub ok_again_between_minutes: Option<[f64; 2]>,
    /// Whether it must still be in ALARM when the rehearsal ends.
    #[serde(default)]
    pub in_alarm_at_the_end: bool,
    /// The notifications it sends after its first evaluation, in order (`ALARM`, `OK`,
    /// `INSUFFICIENT_DATA`); by default it fires once and, unless it is in ALARM at the end, goes
    /// back to OK once: `ALARM`, `OK`.
    #[serde(default)]
    pub notifications: Option<Vec<String>>,
}

impl ExpectedAlarm {
    /// The notifications it must send after its first evaluation, in order.
    pub fn expected_notifications(&self) -> Vec<String> {
        self.notifications.clone().unwrap_or_else(|| {
            let mut states = vec!["ALARM".to_owned()];
            if !self.in_alarm_at_the_end {
                states.push("OK".to_owned());
            }
            states
        })
    }
}

/// An arrival rate from a minute on.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TrafficWindow {
    /// The minute the rate starts.
    pub from_minute: u32,
    /// Records per second over all shards.
    pub records_per_second: f64,
}

/// A time in which the processor's dependency misbehaves.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DependencyWindow {
    /// The first minute.
    pub from_minute: u32,
    /// The minute it recovers.
    pub to_minute: u32,
    /// Share of attempts that fail transiently, 0 to 1.
    #[serde(default)]
    pub failure_rate: f64,
    /// Extra time per attempt, in milliseconds.
    #[serde(default)]
    pub latency_ms: u64,
}

/// A moment of the scenario.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Moment {
    /// The minute (fractions allowed).
    pub at_minute: f64,
}

fn one() -> u32 {
    1
}

fn thousand() -> u32 {
    1000
}

fn one_ms() -> u64 {
    1
}

/// A scenario that cannot be rehearsed, with what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Unreadable {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a scenario.
    #[error("{path} is not a valid scenario: {problem}")]
    Invalid {
        /// The file (or `<text>`).
        path: String,
        /// What is wrong.
        problem: String,
    },
}

impl Scenario {
    /// Reads and checks a scenario file.
    pub fn load(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Unreadable {
            path: path.display().to_string(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Reads and checks a scenario; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, ScenarioError> {
        let invalid = |problem: String| ScenarioError::Invalid {
            path: origin.to_owned(),
            problem,
        };
        let scenario: Scenario = serde_json::from_str(text).map_err(|error| invalid(error.to_string()))?;
        scenario.check().map_err(invalid)?;
        Ok(scenario)
    }

    fn check(&self) -> Result<(), String> {
        if self.duration_minutes == 0 || self.duration_minutes > 24 * 60 {
            return Err(format!(
                "duration_minutes is {}; a scenario runs 1 to 1440 minutes",
                self.duration_minutes
            ));
        }
        if !(1..=64).contains(&self.shards) {
            return Err(format!("shards is {}; 1 to 64", self.shards));
        }
        if self.item_keys == 0 {
            return Err("item_keys is 0; records need at least one item key".into());
        }
        if self.traffic.is_empty() {
            return Err("traffic is empty; give at least one window, such as {\"from_minute\": 0, \"records_per_second\": 10}".into());
        }
        for (index, window) in self.traffic.iter().enumerate() {
            if !(window.records_per_second.is_finite()
                && (0.0..=10_000.0).contains(&window.records_per_second))
            {
                return Err(format!(
                    "traffic[{index}].records_per_second is {}; 0 to 10000",
                    window.records_per_second
                ));
            }
            if index > 0 && window.from_minute <= self.traffic[index - 1].from_minute {
                return Err(format!(
                    "traffic[{index}].from_minute does not come after the window before it"
                ));
            }
        }
        for (index, window) in self.dependency.iter().enumerate() {
            if window.to_minute <= window.from_minute {
                return Err(format!("dependency[{index}] ends at or before it starts"));
            }
            if !(0.0..=1.0).contains(&window.failure_rate) {
                return Err(format!(
                    "dependency[{index}].failure_rate is {}; a share from 0 to 1",
                    window.failure_rate
                ));
            }
        }
        for (index, expected) in self.expected_alarms.iter().enumerate() {
            let [earliest, latest] = expected.fires_between_minutes;
            if !(0.0 <= earliest && earliest <= latest) {
                return Err(format!(
                    "expected_alarms[{index}].fires_between_minutes is [{earliest}, {latest}]; give [earliest, latest] minutes"
                ));
            }
            if let Some([from, to]) = expected.ok_again_between_minutes {
                if !(earliest <= from && from <= to) {
                    return Err(format!(
                        "expected_alarms[{index}].ok_again_between_minutes is [{from}, {to}]; give [earliest, latest] \
                         minutes, not before it fires"
                    ));
                }
                if expected.in_alarm_at_the_end {
                    return Err(format!(
                        "expected_alarms[{index}] cannot be back to OK and in ALARM at the end: give one"
                    ));
                }
            }
        }
        for (name, moments) in [
            ("poison_records", &self.poison_records),
            ("panics", &self.panics),
            ("invalid_emf_documents", &self.invalid_emf_documents),
            ("redrives", &self.redrives),
        ] {
            for (index, moment) in moments.iter().enumerate() {
                if !(moment.at_minute >= 0.0 && moment.at_minute < f64::from(self.duration_minutes)) {
                    return Err(format!(
                        "{name}[{index}].at_minute is {}; within the scenario's {} minutes",
                        moment.at_minute, self.duration_minutes
                    ));
                }
            }
        }
        if self.concurrency_limit == Some(0) {
            return Err("concurrency_limit is 0; nothing could run (leave it out for no limit)".into());
        }
        Ok(())
    }

    /// The arrival rate (records per second) at `minute`.
    pub fn rate_at(&self, minute: f64) -> f64 {
        self.traffic
            .iter()
            .rev()
            .find(|window| f64::from(window.from_minute) <= minute)
            .map_or(0.0, |window| window.records_per_second)
    }

    /// The dependency's behaviour at `minute`: (failure rate, extra latency in ms).
    pub fn dependency_at(&self, minute: f64) -> (f64, u64) {
        self.dependency
            .iter()
            .filter(|window| f64::from(window.from_minute) <= minute && minute < f64::from(window.to_minute))
            .fold((0.0, 0), |(rate, latency), window| {
                (rate.max(window.failure_rate), latency + window.latency_ms)
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"{"description": "d", "duration_minutes": 10, "traffic": [{"from_minute": 0, "records_per_second": 5}]}"#;

    #[test]
    fn defaults_fill_what_a_minimal_scenario_leaves_out() {
        let scenario = Scenario::parse(MINIMAL, "minimal").unwrap();
        assert_eq!(
            (scenario.shards, scenario.item_keys, scenario.record_latency_ms),
            (1, 1000, 1)
        );
        assert!(scenario.dependency.is_empty() && scenario.concurrency_limit.is_none());
    }

    #[test]
    fn rates_and_dependency_windows_apply_over_their_minutes() {
        let scenario = Scenario::parse(
            r#"{"description": "d", "duration_minutes": 30,
                "traffic": [{"from_minute": 0, "records_per_second": 5}, {"from_minute": 10, "records_per_second": 50}],
                "dependency": [{"from_minute": 5, "to_minute": 15, "failure_rate": 0.5, "latency_ms": 20},
                               {"from_minute": 12, "to_minute": 13, "failure_rate": 1.0}]}"#,
            "windows",
        )
        .unwrap();
        assert_eq!(
            [
                scenario.rate_at(0.0),
                scenario.rate_at(9.99),
                scenario.rate_at(10.0)
            ],
            [5.0, 5.0, 50.0]
        );
        assert_eq!(scenario.dependency_at(4.9), (0.0, 0));
        assert_eq!(scenario.dependency_at(5.0), (0.5, 20));
        assert_eq!(scenario.dependency_at(12.5), (1.0, 20));
        assert_eq!(scenario.dependency_at(15.0), (0.0, 0));
    }

    #[test]
    fn a_bad_scenario_says_what_is_wrong() {
        let cases = [
            (
                r#"{"description": "d", "duration_minutes": 10, "traffic": [], "speed": 1}"#,
                "unknown field `speed`",
            ),
            (
                r#"{"description": "d", "duration_minutes": 0, "traffic": [{"from_minute": 0, "records_per_second": 5}]}"#,
                "duration_minutes is 0",
            ),
            (
                r#"{"description": "d", "duration_minutes": 5, "traffic": []}"#,
                "traffic is empty",
            ),
            (
                r#"{"description": "d", "duration_minutes": 5, "traffic": [{"from_minute": 0, "records_per_second": -1}]}"#,
                "traffic[0].records_per_second is -1",
            ),
            (
                r#"{"description": "d", "duration_minutes": 5, "traffic": [{"from_minute": 0, "records_per_second": 1}],
                    "dependency": [{"from_minute": 3, "to_minute": 2}]}"#,
                "dependency[0] ends at or before it starts",
            ),
            (
                r#"{"description": "d", "duration_minutes": 5, "traffic": [{"from_minute": 0, "records_per_second": 1}],
                    "poison_records": [{"at_minute": 7}]}"#,
                "poison_records[0].at_minute is 7",
            ),
            (
                r#"{"description": "d", "duration_minutes": 5, "traffic": [{"from_minute": 0, "records_per_second": 1}],
                    "redrives": [{"at_minute": 5}]}"#,
                "redrives[0].at_minute is 5",
            ),
            (
                r#"{"description": "d", "duration_minutes": 5, "traffic": [{"from_minute": 0, "records_per_second": 1}],
                    "expected_alarms": [{"alarm": "a", "fires_between_minutes": [2, 3], "ok_again_between_minutes": [1, 4]}]}"#,
                "ok_again_between_minutes is [1, 4]",
            ),
            (
                r#"{"description": "d", "duration_minutes": 5, "traffic": [{"from_minute": 0, "records_per_second": 1}],
                    "expected_alarms": [{"alarm": "a", "fires_between_minutes": [2, 3], "ok_again_between_minutes": [3, 4],
                                         "in_alarm_at_the_end": true}]}"#,
                "cannot be back to OK and in ALARM at the end",
            ),
        ];
        for (text, expected) in cases {
            let message = Scenario::parse(text, "case.json").unwrap_err().to_string();
            assert!(
                message.starts_with("case.json is not a valid scenario: "),
                "{message}"
            );
            assert!(message.contains(expected), "{message} should say {expected}");
        }
    }
}
