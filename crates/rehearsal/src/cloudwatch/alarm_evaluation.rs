//! One alarm evaluation by CloudWatch's documented rules: M of N datapoints, the evaluation range, and
//! the four ways of treating missing data.
//!
//! The rules, as the CloudWatch user guide states them ("How alarm state is evaluated when data is
//! missing"):
//!
//! - CloudWatch retrieves more datapoints than **EvaluationPeriods** (N): the *evaluation range*. We use
//!   N + max(N / 3, 2) periods, which gives the guide's 5 for N = 3 (and is what LocalStack uses).
//! - With at least N datapoints in the range, the N most recent *existing* ones are evaluated and the
//!   missing-data setting is not used.
//! - With fewer, the missing ones are filled in by the setting, as few times as possible, and every real
//!   datapoint of the range takes part.
//! - **DatapointsToAlarm** (M) or more breaching → ALARM, else OK.
//!
//! What the fill means for each setting is pinned by the guide's two example tables (3 of 3 and 2 of 3,
//! a range of 5), which the tests below reproduce row by row:
//!
//! - `breaching` / `notBreaching`: the filled datapoints breach / do not breach.
//! - `ignore`: missing data never moves the alarm. Enough real breaching datapoints → ALARM; else a real
//!   non-breaching datapoint → OK; else the state is kept.
//! - `missing`: no datapoint at all → INSUFFICIENT_DATA. Enough real breaching → ALARM; a real
//!   non-breaching datapoint → OK. Otherwise the real datapoints all breach but are too few: ALARM when
//!   the oldest period of the range holds one of them (it has stayed alone long enough; the guide: "the
//!   oldest evaluated data point is breaching and there aren't any non-breaching data points"), and
//!   INSUFFICIENT_DATA when it does not (later datapoints may still arrive).
//! - With `missing` and M above 1, the guide's rule against late transitions comes first: "the
//!   oldest available breaching datapoint during the Evaluation Periods number of data points is at
//!   least as old as the value of Datapoints to Alarm, and all other more recent data points are
//!   breaching or missing" → ALARM, read as LocalStack reads it (`premature_alarm`); with `ignore`
//!   LocalStack keeps the state there, and so do we. (LocalStack also reads a datapoint of value 0
//!   as missing in that rule, a quirk of its Python we do not copy: here a datapoint is breaching or
//!   not, whatever its value.)

use std::fmt;

/// The state of an alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AlarmState {
    /// Within the threshold.
    Ok,
    /// Outside the threshold for enough datapoints.
    Alarm,
    /// Not enough data to decide (also the state of a new alarm).
    InsufficientData,
}

impl AlarmState {
    /// CloudWatch's name for the state (`OK`, `ALARM`, `INSUFFICIENT_DATA`).
    pub fn as_str(self) -> &'static str {
        match self {
            AlarmState::Ok => "OK",
            AlarmState::Alarm => "ALARM",
            AlarmState::InsufficientData => "INSUFFICIENT_DATA",
        }
    }
}

impl fmt::Display for AlarmState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an alarm treats a period without a datapoint (`TreatMissingData`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TreatMissingData {
    /// `missing`, CloudWatch's default.
    #[default]
    Missing,
    /// `ignore`: the current state is kept.
    Ignore,
    /// `breaching`: a missing datapoint breaches.
    Breaching,
    /// `notBreaching`: a missing datapoint is within the threshold.
    NotBreaching,
}

impl TreatMissingData {
    /// Reads the `TreatMissingData` property; `None` for a value CloudWatch would reject.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "missing" => Some(TreatMissingData::Missing),
            "ignore" => Some(TreatMissingData::Ignore),
            "breaching" => Some(TreatMissingData::Breaching),
            "notBreaching" => Some(TreatMissingData::NotBreaching),
            _ => None,
        }
    }
}

/// How many datapoints decide, and how missing ones count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvaluationRule {
    /// `EvaluationPeriods` (N).
    pub evaluation_periods: usize,
    /// `DatapointsToAlarm` (M, at most N; N when the alarm does not set it).
    pub datapoints_to_alarm: usize,
    /// `TreatMissingData`.
    pub treat_missing_data: TreatMissingData,
}

impl EvaluationRule {
    /// The number of most recent periods one evaluation looks at: N + max(N / 3, 2).
    pub fn evaluation_range(&self) -> usize {
        self.evaluation_periods + (self.evaluation_periods / 3).max(2)
    }

    /// The state after one evaluation of `range`: the datapoints of the evaluation range, oldest
    /// first, `Some(true)` breaching, `Some(false)` not breaching, `None` missing. `current` is the
    /// state before, which `ignore` may keep.
    pub fn evaluate(&self, range: &[Option<bool>], current: AlarmState) -> AlarmState {
        let n = self.evaluation_periods;
        let m = self.datapoints_to_alarm;
        let existing: Vec<bool> = range.iter().flatten().copied().collect();
        if existing.len() >= n {
            let breaching = existing[existing.len() - n..]
                .iter()
                .filter(|breach| **breach)
                .count();
            return if breaching >= m {
                AlarmState::Alarm
            } else {
                AlarmState::Ok
            };
        }
        let real_breaching = existing.iter().filter(|breach| **breach).count();
        let any_real_within = existing.iter().any(|breach| !breach);
        let filled = n - existing.len();
        if premature_alarm(range, m) {
            match self.treat_missing_data {
                TreatMissingData::Missing => return AlarmState::Alarm,
                // LocalStack keeps the state there ("the state should be retained").
                TreatMissingData::Ignore => return current,
                TreatMissingData::Breaching | TreatMissingData::NotBreaching => {}
            }
        }
        match self.treat_missing_data {
            TreatMissingData::Breaching => {
                if real_breaching + filled >= m {
                    AlarmState::Alarm
                } else {
                    AlarmState::Ok
                }
            }
            TreatMissingData::NotBreaching => {
                if real_breaching >= m {
                    AlarmState::Alarm
                } else {
                    AlarmState::Ok
                }
            }
            TreatMissingData::Ignore => {
                if real_breaching >= m {
                    AlarmState::Alarm
                } else if any_real_within {
                    AlarmState::Ok
                } else {
                    current
                }
            }
            TreatMissingData::Missing => {
                if existing.is_empty() {
                    AlarmState::InsufficientData
                } else if real_breaching >= m {
                    AlarmState::Alarm
                } else if any_real_within {
                    AlarmState::Ok
                } else if range.first().copied().flatten() == Some(true) {
                    AlarmState::Alarm
                } else {
                    AlarmState::InsufficientData
                }
            }
        }
    }
}

/// The guide's rule against transitions to ALARM that come too late ("Avoiding premature transitions
/// to alarm state"), as LocalStack implements it (`is_triggering_premature_alarm`): with M above 1,
/// it applies when the M-th most recent datapoint breaches,
/// every datapoint before it is missing, and every one after it breaches or is missing — the oldest
/// breaching datapoint is then at least M periods old, even if fewer than M datapoints exist.
fn premature_alarm(range: &[Option<bool>], m: usize) -> bool {
    if m <= 1 || range.len() < m {
        return false;
    }
    let (older, recent) = range.split_at(range.len() - m);
    older.iter().all(Option::is_none)
        && recent.first() == Some(&Some(true))
        && recent.iter().flatten().all(|breach| *breach)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A row of the guide's tables: `0` within, `X` breaching, `-` missing, oldest first.
    fn range(row: &str) -> Vec<Option<bool>> {
        row.split_whitespace()
            .map(|point| match point {
                "0" => Some(false),
                "X" => Some(true),
                "-" => None,
                other => panic!("not a datapoint: {other}"),
            })
            .collect()
    }

    /// The state for each setting, in the guide's column order: MISSING, IGNORE, BREACHING,
    /// NOT BREACHING. `None` stands for "Retain current state".
    fn check(m: usize, n: usize, row: &str, expected: [Option<AlarmState>; 4]) {
        let settings = [
            TreatMissingData::Missing,
            TreatMissingData::Ignore,
            TreatMissingData::Breaching,
            TreatMissingData::NotBreaching,
        ];
        for (treat_missing_data, expected) in settings.into_iter().zip(expected) {
            let rule = EvaluationRule {
                evaluation_periods: n,
                datapoints_to_alarm: m,
                treat_missing_data,
            };
            assert_eq!(rule.evaluation_range(), 5, "the guide's range for N = 3");
            for current in [AlarmState::Ok, AlarmState::Alarm, AlarmState::InsufficientData] {
                let state = rule.evaluate(&range(row), current);
                assert_eq!(
                    state,
                    expected.unwrap_or(current),
                    "{m} of {n}, {row:?}, {treat_missing_data:?}, from {current}"
                );
            }
        }
    }

    use AlarmState::{Alarm, InsufficientData as Insufficient, Ok as Fine};

    // The first table of the guide: DatapointsToAlarm and EvaluationPeriods both 3.
    #[test]
    fn three_of_three_some_missing_but_enough_points() {
        check(
            3,
            3,
            "0 - X - X",
            [Some(Fine), Some(Fine), Some(Fine), Some(Fine)],
        );
    }

    #[test]
    fn three_of_three_one_point_within() {
        check(
            3,
            3,
            "0 - - - -",
            [Some(Fine), Some(Fine), Some(Fine), Some(Fine)],
        );
    }

    #[test]
    fn three_of_three_all_missing() {
        check(
            3,
            3,
            "- - - - -",
            [Some(Insufficient), None, Some(Alarm), Some(Fine)],
        );
    }

    #[test]
    fn three_of_three_enough_real_points_breaching() {
        check(
            3,
            3,
            "0 X X - X",
            [Some(Alarm), Some(Alarm), Some(Alarm), Some(Alarm)],
        );
    }

    #[test]
    fn three_of_three_only_the_newest_breaching() {
        check(
            3,
            3,
            "- - - - X",
            [Some(Insufficient), None, Some(Alarm), Some(Fine)],
        );
    }

    #[test]
    fn three_of_three_only_the_oldest_breaching() {
        check(3, 3, "X - - - -", [Some(Alarm), None, Some(Alarm), Some(Fine)]);
    }

    // The rule against premature transitions, as LocalStack applies it: the oldest breaching
    // datapoint is M periods old and nothing after it is within.
    #[test]
    fn three_of_three_a_breaching_point_three_periods_old_with_nothing_after_it() {
        check(3, 3, "- - X - -", [Some(Alarm), None, Some(Alarm), Some(Fine)]);
        check(3, 3, "- - X X -", [Some(Alarm), None, Some(Alarm), Some(Fine)]);
    }

    #[test]
    fn three_of_three_a_breaching_point_two_periods_old_is_not_enough() {
        check(
            3,
            3,
            "- - - X -",
            [Some(Insufficient), None, Some(Alarm), Some(Fine)],
        );
    }

    #[test]
    fn two_of_three_a_breaching_point_two_periods_old_with_nothing_after_it() {
        check(2, 3, "- - - X -", [Some(Alarm), None, Some(Alarm), Some(Fine)]);
    }

    // The second table: 2 out of 3.
    #[test]
    fn two_of_three_some_missing_but_enough_points() {
        check(
            2,
            3,
            "0 - X - X",
            [Some(Alarm), Some(Alarm), Some(Alarm), Some(Alarm)],
        );
    }

    #[test]
    fn two_of_three_nothing_missing() {
        check(
            2,
            3,
            "0 0 X 0 X",
            [Some(Alarm), Some(Alarm), Some(Alarm), Some(Alarm)],
        );
    }

    #[test]
    fn two_of_three_one_within_one_breaching() {
        check(
            2,
            3,
            "0 - X - -",
            [Some(Fine), Some(Fine), Some(Alarm), Some(Fine)],
        );
    }

    #[test]
    fn two_of_three_only_the_newest_within() {
        check(
            2,
            3,
            "- - - - 0",
            [Some(Fine), Some(Fine), Some(Alarm), Some(Fine)],
        );
    }

    #[test]
    fn two_of_three_only_the_newest_breaching() {
        check(
            2,
            3,
            "- - - - X",
            [Some(Insufficient), None, Some(Alarm), Some(Fine)],
        );
    }

    #[test]
    fn the_evaluation_range_grows_with_the_evaluation_periods() {
        let range_of = |n| {
            EvaluationRule {
                evaluation_periods: n,
                datapoints_to_alarm: n,
                treat_missing_data: TreatMissingData::Missing,
            }
            .evaluation_range()
        };
        assert_eq!([range_of(1), range_of(5), range_of(15)], [3, 7, 20]);
    }

    #[test]
    fn only_the_n_most_recent_existing_points_count() {
        let rule = EvaluationRule {
            evaluation_periods: 3,
            datapoints_to_alarm: 3,
            treat_missing_data: TreatMissingData::Breaching,
        };
        // Four real points: the oldest breaching one has left the evaluated three.
        assert_eq!(
            rule.evaluate(&range("X 0 X X X"), AlarmState::Ok),
            AlarmState::Alarm
        );
        assert_eq!(
            rule.evaluate(&range("X X X X 0"), AlarmState::Alarm),
            AlarmState::Ok
        );
    }

    #[test]
    fn settings_read_as_cloudwatch_spells_them() {
        assert_eq!(
            TreatMissingData::parse("notBreaching"),
            Some(TreatMissingData::NotBreaching)
        );
        assert_eq!(TreatMissingData::parse("ignore"), Some(TreatMissingData::Ignore));
        assert_eq!(TreatMissingData::parse("NOT_BREACHING"), None);
        assert_eq!(AlarmState::InsufficientData.to_string(), "INSUFFICIENT_DATA");
    }
}
