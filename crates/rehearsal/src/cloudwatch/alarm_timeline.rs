//! An alarm over a whole scenario: each period's datapoint compared with the threshold, one
//! evaluation at the end of every period, and the state changes that result.
//!
//! A new alarm starts in INSUFFICIENT_DATA, as in CloudWatch. Each evaluation looks at the evaluation
//! range that ends with the period just completed ([`EvaluationRule::evaluation_range`]); periods
//! before the scenario started are missing.

use super::alarm_evaluation::{AlarmState, EvaluationRule};

/// A static threshold comparison (`ComparisonOperator`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Comparison {
    /// `GreaterThanThreshold`.
    GreaterThan,
    /// `GreaterThanOrEqualToThreshold`.
    GreaterThanOrEqualTo,
    /// `LessThanThreshold`.
    LessThan,
    /// `LessThanOrEqualToThreshold`.
    LessThanOrEqualTo,
}

impl Comparison {
    /// Reads a static `ComparisonOperator`; `None` for an anomaly-band operator or a bad value.
    pub fn parse(operator: &str) -> Option<Self> {
        match operator {
            "GreaterThanThreshold" => Some(Comparison::GreaterThan),
            "GreaterThanOrEqualToThreshold" => Some(Comparison::GreaterThanOrEqualTo),
            "LessThanThreshold" => Some(Comparison::LessThan),
            "LessThanOrEqualToThreshold" => Some(Comparison::LessThanOrEqualTo),
            _ => None,
        }
    }

    /// Whether `value` breaches `threshold`.
    pub fn breaches(self, value: f64, threshold: f64) -> bool {
        match self {
            Comparison::GreaterThan => value > threshold,
            Comparison::GreaterThanOrEqualTo => value >= threshold,
            Comparison::LessThan => value < threshold,
            Comparison::LessThanOrEqualTo => value <= threshold,
        }
    }

    /// The operator as `ComparisonOperator` spells it.
    pub fn as_str(self) -> &'static str {
        match self {
            Comparison::GreaterThan => "GreaterThanThreshold",
            Comparison::GreaterThanOrEqualTo => "GreaterThanOrEqualToThreshold",
            Comparison::LessThan => "LessThanThreshold",
            Comparison::LessThanOrEqualTo => "LessThanOrEqualToThreshold",
        }
    }
}

/// One transition of an alarm.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StateChange {
    /// When the evaluation that changed the state ran (the end of a period), in ms since the epoch.
    pub at_ms: i64,
    /// The state before.
    pub from: AlarmState,
    /// The state after.
    pub to: AlarmState,
}

/// The state changes of an alarm over `breaches`: one entry per period of `period_s` seconds from
/// `start_ms` (aligned to the period), `Some(true)` when the period's datapoint breaches, `None` when
/// the period has no datapoint.
pub fn state_changes(
    rule: &EvaluationRule,
    breaches: &[Option<bool>],
    start_ms: i64,
    period_s: i64,
) -> Vec<StateChange> {
    let range = rule.evaluation_range();
    let mut state = AlarmState::InsufficientData;
    let mut changes = Vec::new();
    let mut window: Vec<Option<bool>> = vec![None; range];
    for (index, breach) in breaches.iter().enumerate() {
        window.remove(0);
        window.push(*breach);
        let next = rule.evaluate(&window, state);
        if next != state {
            changes.push(StateChange {
                at_ms: start_ms + (index as i64 + 1) * period_s * 1000,
                from: state,
                to: next,
            });
            state = next;
        }
    }
    changes
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cloudwatch::alarm_evaluation::TreatMissingData;

    fn rule(m: usize, n: usize, treat_missing_data: TreatMissingData) -> EvaluationRule {
        EvaluationRule {
            evaluation_periods: n,
            datapoints_to_alarm: m,
            treat_missing_data,
        }
    }

    #[test]
    fn comparisons_match_their_names() {
        let cases = [
            ("GreaterThanThreshold", [false, false, true]),
            ("GreaterThanOrEqualToThreshold", [false, true, true]),
            ("LessThanThreshold", [true, false, false]),
            ("LessThanOrEqualToThreshold", [true, true, false]),
        ];
        for (name, expected) in cases {
            let comparison = Comparison::parse(name).unwrap();
            assert_eq!(comparison.as_str(), name);
            assert_eq!(
                [4.0, 5.0, 6.0].map(|value| comparison.breaches(value, 5.0)),
                expected,
                "{name}"
            );
        }
        assert_eq!(Comparison::parse("GreaterThanUpperThreshold"), None);
    }

    #[test]
    fn three_breaching_minutes_of_five_raise_the_alarm_and_it_clears_when_they_leave_the_range() {
        // A records-failed-spike style alarm: 3 of 5 one-minute periods, missing data not breaching.
        // Once the datapoints stop, fewer than 5 exist, so every real one of the 7-period evaluation
        // range counts: the alarm clears only when two of the three breaching ones have left it.
        let mut breaches = vec![Some(false); 3];
        breaches.extend([Some(true), None, Some(true), Some(true)]);
        breaches.extend(vec![None; 6]);
        let changes = state_changes(&rule(3, 5, TreatMissingData::NotBreaching), &breaches, 0, 60);
        assert_eq!(
            changes,
            [
                StateChange {
                    at_ms: 60_000,
                    from: AlarmState::InsufficientData,
                    to: AlarmState::Ok
                },
                StateChange {
                    at_ms: 7 * 60_000,
                    from: AlarmState::Ok,
                    to: AlarmState::Alarm
                },
                StateChange {
                    at_ms: 11 * 60_000,
                    from: AlarmState::Alarm,
                    to: AlarmState::Ok
                },
            ]
        );
    }

    #[test]
    fn missing_data_keeps_a_new_alarm_insufficient() {
        let changes = state_changes(
            &rule(1, 1, TreatMissingData::Missing),
            &[None, None, Some(true)],
            0,
            60,
        );
        assert_eq!(
            changes,
            [StateChange {
                at_ms: 180_000,
                from: AlarmState::InsufficientData,
                to: AlarmState::Alarm
            }],
            "one breaching datapoint of 1 of 1 is enough, whatever came before"
        );
    }
}
