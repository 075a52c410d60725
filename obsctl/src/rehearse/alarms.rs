//! The alarms of `alarms/`, their placeholders resolved, evaluated over what a rehearsal left in
//! CloudWatch: single-metric alarms, metric-math alarms and anomaly-detection alarms (against the
//! approximate stand-in band).

use rehearsal::cloudwatch::alarm_evaluation::{AlarmState, EvaluationRule, TreatMissingData};
use rehearsal::cloudwatch::alarm_timeline::{Comparison, StateChange, state_changes};
use rehearsal::cloudwatch::anomaly_band::band;
use rehearsal::cloudwatch::metric_math::{Series, evaluate_all};
use rehearsal::cloudwatch::metric_store::{MetricKey, MetricStore};
use rehearsal::cloudwatch::statistics::Statistic;
use serde_json::{Map, Value};
use std::collections::HashMap;

/// What the alarm compares its datapoints with.
#[derive(Debug, Clone, PartialEq)]
pub enum Threshold {
    /// A static threshold.
    Static(f64),
    /// An anomaly detection band (the stand-in: approximate), per period.
    Band {
        /// The lower edge.
        lower: Series,
        /// The upper edge.
        upper: Series,
    },
}

/// A notification the alarm's SNS topic would send.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Notification {
    /// When, ms since the epoch.
    pub at_ms: i64,
    /// The state the alarm went into.
    pub state: AlarmState,
}

/// One alarm over a rehearsal.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmVerdict {
    /// The file name in `alarms/`, without `.json`.
    pub name: String,
    /// Its `AlarmDescription`.
    pub description: String,
    /// Its period, in seconds.
    pub period_s: i64,
    /// The datapoint of each period of the rehearsal, from its start.
    pub datapoints: Series,
    /// What the datapoints are compared with.
    pub threshold: Threshold,
    /// The state changes, in order (a new alarm starts in INSUFFICIENT_DATA).
    pub changes: Vec<StateChange>,
    /// The notifications its actions would send.
    pub notifications: Vec<Notification>,
    /// The verdict rests on the anomaly band stand-in.
    pub approximate: bool,
}

impl AlarmVerdict {
    /// The notifications after its first evaluation, one period after `start_ms` (the one that takes
    /// a new alarm out of INSUFFICIENT_DATA, as after a deploy): what the scenario itself causes.
    pub fn later_notifications(&self, start_ms: i64) -> impl Iterator<Item = &Notification> {
        let first_evaluation_ms = start_ms + self.period_s * 1000;
        self.notifications
            .iter()
            .filter(move |notification| notification.at_ms != first_evaluation_ms)
    }

    /// When it first went to ALARM, if it did.
    pub fn first_alarm_ms(&self) -> Option<i64> {
        self.changes
            .iter()
            .find(|change| change.to == AlarmState::Alarm)
            .map(|change| change.at_ms)
    }
}

/// An alarm that cannot be evaluated, with what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("alarm {alarm}: {problem}")]
pub struct AlarmError {
    /// The alarm's file name.
    pub alarm: String,
    /// What is wrong.
    pub problem: String,
}

/// Evaluates the alarm `name` (its properties with placeholders resolved) over `store` from
/// `start_ms` (a boundary of its period) to `end_ms`.
pub fn evaluate(
    name: &str,
    properties: &Map<String, Value>,
    store: &MetricStore,
    start_ms: i64,
    end_ms: i64,
) -> Result<AlarmVerdict, AlarmError> {
    let error = |problem: String| AlarmError {
        alarm: name.to_owned(),
        problem,
    };
    let number = |property: &str| properties.get(property).and_then(Value::as_f64);
    let text = |property: &str| properties.get(property).and_then(Value::as_str);
    let evaluation_periods =
        number("EvaluationPeriods").ok_or_else(|| error("EvaluationPeriods is missing".into()))? as usize;
    let rule = EvaluationRule {
        evaluation_periods,
        datapoints_to_alarm: number("DatapointsToAlarm").map_or(evaluation_periods, |m| m as usize),
        treat_missing_data: match text("TreatMissingData") {
            None => TreatMissingData::Missing,
            Some(value) => TreatMissingData::parse(value).ok_or_else(|| {
                error(format!(
                    "TreatMissingData {value:?} is not one CloudWatch accepts"
                ))
            })?,
        },
    };
    let operator = text("ComparisonOperator").ok_or_else(|| error("ComparisonOperator is missing".into()))?;

    let (period_s, datapoints, band_series) = if let Some(metric_name) = text("MetricName") {
        let period_s = number("Period").ok_or_else(|| error("Period is missing".into()))? as i64;
        let statistic = text("Statistic")
            .or_else(|| text("ExtendedStatistic"))
            .ok_or_else(|| error("neither Statistic nor ExtendedStatistic is set".into()))?;
        let statistic = Statistic::parse(statistic).map_err(|problem| error(problem.to_string()))?;
        let key = metric_key(
            text("Namespace").unwrap_or_default(),
            metric_name,
            properties.get("Dimensions"),
        );
        (
            period_s,
            store.datapoints(&key, statistic, period_s, start_ms, end_ms - 1),
            None,
        )
    } else {
        math_alarm(properties, store, start_ms, end_ms).map_err(error)?
    };

    let comparison = Comparison::parse(operator);
    let (threshold, approximate) = match (comparison, band_series) {
        (Some(_), _) => {
            let threshold = number("Threshold").ok_or_else(|| error("Threshold is not a number".into()))?;
            (Threshold::Static(threshold), false)
        }
        (None, Some((lower, upper))) => (Threshold::Band { lower, upper }, true),
        (None, None) => {
            return Err(error(format!(
                "ComparisonOperator {operator} needs an anomaly detection band (ThresholdMetricId)"
            )));
        }
    };
    let breaches: Vec<Option<bool>> = datapoints
        .iter()
        .enumerate()
        .map(|(index, value)| {
            let value = (*value)?;
            match (&threshold, comparison) {
                (Threshold::Static(threshold), Some(comparison)) => {
                    Some(comparison.breaches(value, *threshold))
                }
                (Threshold::Band { lower, upper }, _) => {
                    let (lower, upper) = (lower[index]?, upper[index]?);
                    Some(match operator {
                        "GreaterThanUpperThreshold" => value > upper,
                        "LessThanLowerThreshold" => value < lower,
                        _ => value > upper || value < lower,
                    })
                }
                (Threshold::Static(_), None) => None,
            }
        })
        .collect();
    let changes = state_changes(&rule, &breaches, start_ms, period_s);
    let has_actions = |property: &str| {
        properties
            .get(property)
            .and_then(Value::as_array)
            .is_some_and(|actions| !actions.is_empty())
    };
    let notifications = changes
        .iter()
        .filter(|change| match change.to {
            AlarmState::Alarm => has_actions("AlarmActions"),
            AlarmState::Ok => has_actions("OKActions"),
            AlarmState::InsufficientData => has_actions("InsufficientDataActions"),
        })
        .map(|change| Notification {
            at_ms: change.at_ms,
            state: change.to,
        })
        .collect();
    Ok(AlarmVerdict {
        name: name.to_owned(),
        description: text("AlarmDescription").unwrap_or_default().to_owned(),
        period_s,
        datapoints,
        threshold,
        changes,
        notifications,
        approximate,
    })
}

fn metric_key(namespace: &str, name: &str, dimensions: Option<&Value>) -> MetricKey {
    MetricKey {
        namespace: namespace.to_owned(),
        name: name.to_owned(),
        dimensions: dimensions
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|dimension| {
                Some((
                    dimension.get("Name")?.as_str()?.to_owned(),
                    dimension.get("Value")?.as_str()?.to_owned(),
                ))
            })
            .collect(),
    }
}

/// The period, the returned series and, for an anomaly alarm, the band of a metric-math alarm.
type MathSeries = (i64, Series, Option<(Series, Series)>);

fn math_alarm(
    properties: &Map<String, Value>,
    store: &MetricStore,
    start_ms: i64,
    end_ms: i64,
) -> Result<MathSeries, String> {
    let queries = properties
        .get("Metrics")
        .and_then(Value::as_array)
        .ok_or("neither MetricName nor Metrics is set")?;
    let mut period_s = None;
    let mut series: HashMap<String, Series> = HashMap::new();
    for query in queries {
        let Some(stat) = query.get("MetricStat") else {
            continue;
        };
        let id = query
            .get("Id")
            .and_then(Value::as_str)
            .ok_or("a query has no Id")?;
        let period = stat
            .get("Period")
            .and_then(Value::as_i64)
            .ok_or_else(|| format!("query {id} has no Period"))?;
        period_s.get_or_insert(period);
        let statistic = stat
            .get("Stat")
            .and_then(Value::as_str)
            .ok_or_else(|| format!("query {id} has no Stat"))?;
        let statistic = Statistic::parse(statistic).map_err(|problem| problem.to_string())?;
        let metric = stat
            .get("Metric")
            .ok_or_else(|| format!("query {id} has no Metric"))?;
        let key = metric_key(
            metric
                .get("Namespace")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            metric
                .get("MetricName")
                .and_then(Value::as_str)
                .unwrap_or_default(),
            metric.get("Dimensions"),
        );
        series.insert(
            id.to_owned(),
            store.datapoints(&key, statistic, period, start_ms, end_ms - 1),
        );
    }
    let period_s = period_s.ok_or("a metric-math alarm needs at least one MetricStat query")?;
    let periods = series.values().next().map_or(0, Vec::len);
    let band_id = properties.get("ThresholdMetricId").and_then(Value::as_str);
    let expressions: Vec<(String, String)> = queries
        .iter()
        .filter_map(|query| Some((query.get("Id")?.as_str()?, query.get("Expression")?.as_str()?)))
        .filter(|(id, _)| Some(*id) != band_id)
        .map(|(id, text)| (id.to_owned(), text.to_owned()))
        .collect();
    evaluate_all(&expressions, &mut series, periods).map_err(|error| error.to_string())?;
    let band_series = match band_id {
        None => None,
        Some(band_id) => {
            let text = queries
                .iter()
                .find(|query| query.get("Id").and_then(Value::as_str) == Some(band_id))
                .and_then(|query| query.get("Expression")?.as_str())
                .ok_or_else(|| format!("ThresholdMetricId {band_id} names no expression"))?;
            let (metric, width) = anomaly_arguments(text)?;
            let values = series
                .get(metric)
                .ok_or_else(|| format!("the band {text:?} is of {metric}, which no query defines"))?;
            Some(band(values, width))
        }
    };
    let returned = queries
        .iter()
        .filter(|query| query.get("ReturnData").and_then(Value::as_bool).unwrap_or(true))
        .filter_map(|query| query.get("Id").and_then(Value::as_str))
        .find(|id| Some(*id) != band_id)
        .ok_or("no query has ReturnData true")?;
    let values = series
        .remove(returned)
        .ok_or_else(|| format!("query {returned} has no series"))?;
    Ok((period_s, values, band_series))
}

/// `ANOMALY_DETECTION_BAND(id, width)` → (id, width).
fn anomaly_arguments(text: &str) -> Result<(&str, f64), String> {
    let inner = text
        .trim()
        .strip_prefix("ANOMALY_DETECTION_BAND(")
        .and_then(|rest| rest.strip_suffix(')'))
        .ok_or_else(|| format!("the threshold query {text:?} is not ANOMALY_DETECTION_BAND(id, width)"))?;
    let (metric, width) = inner.split_once(',').unwrap_or((inner, "2"));
    let width = width
        .trim()
        .parse()
        .map_err(|_| format!("the band width in {text:?} is not a number"))?;
    Ok((metric.trim(), width))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const MINUTE: i64 = 60_000;

    fn store_with(name: &str, values: &[(i64, f64)]) -> MetricStore {
        let mut store = MetricStore::new();
        for (minute, value) in values {
            store.put(
                MetricKey::new("Orders", name, &[("Service", "orders")]),
                minute * MINUTE,
                *value,
                1.0,
            );
        }
        store
    }

    fn properties(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn a_single_metric_alarm_fires_and_notifies_on_alarm_and_ok() {
        let store = store_with("RecordsFailed", &[(2, 1.0), (3, 2.0), (4, 1.0)]);
        let alarm = properties(json!({
            "Namespace": "Orders", "MetricName": "RecordsFailed",
            "Dimensions": [{"Name": "Service", "Value": "orders"}],
            "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 5, "DatapointsToAlarm": 3,
            "Threshold": 1, "ComparisonOperator": "GreaterThanOrEqualToThreshold",
            "TreatMissingData": "notBreaching", "AlarmActions": ["topic"], "OKActions": ["topic"]
        }));
        let verdict = evaluate("spike", &alarm, &store, 0, 12 * MINUTE).unwrap();
        assert_eq!(
            verdict.first_alarm_ms(),
            Some(5 * MINUTE),
            "at the end of the third breaching minute"
        );
        assert_eq!(
            verdict
                .notifications
                .iter()
                .map(|n| (n.at_ms / MINUTE, n.state))
                .collect::<Vec<_>>(),
            [(1, AlarmState::Ok), (5, AlarmState::Alarm), (10, AlarmState::Ok)]
        );
        assert!(!verdict.approximate);
    }

    #[test]
    fn a_math_alarm_evaluates_its_expression_over_its_queries() {
        let mut store = store_with("RecordsFailed", &[(0, 5.0)]);
        store.put(
            MetricKey::new("Orders", "RecordsProcessed", &[("Service", "orders")]),
            0,
            95.0,
            1.0,
        );
        let stat = |name: &str| {
            json!({"Metric": {"Namespace": "Orders", "MetricName": name,
            "Dimensions": [{"Name": "Service", "Value": "orders"}]}, "Period": 300, "Stat": "Sum"})
        };
        let alarm = properties(json!({
            "Metrics": [
                {"Id": "rate", "ReturnData": true, "Expression": "IF(processed + failed > 0, 100 * failed / (processed + failed), 0)"},
                {"Id": "processed", "ReturnData": false, "MetricStat": stat("RecordsProcessed")},
                {"Id": "failed", "ReturnData": false, "MetricStat": stat("RecordsFailed")}
            ],
            "Threshold": 4, "ComparisonOperator": "GreaterThanThreshold",
            "EvaluationPeriods": 1, "TreatMissingData": "notBreaching"
        }));
        let verdict = evaluate("rate", &alarm, &store, 0, 10 * MINUTE).unwrap();
        assert_eq!(verdict.datapoints, [Some(5.0), None]);
        assert_eq!(verdict.first_alarm_ms(), Some(5 * MINUTE));
    }

    #[test]
    fn an_anomaly_alarm_uses_the_stand_in_band_and_says_it_is_approximate() {
        let mut failures: Vec<(i64, f64)> = (0..30).step_by(5).map(|minute| (minute, 1.0)).collect();
        failures.extend([(30, 50.0), (35, 60.0)]);
        let store = store_with("RecordsFailed", &failures);
        let alarm = properties(json!({
            "Metrics": [
                {"Id": "failed", "ReturnData": true, "MetricStat": {"Metric": {"Namespace": "Orders",
                    "MetricName": "RecordsFailed", "Dimensions": [{"Name": "Service", "Value": "orders"}]},
                    "Period": 300, "Stat": "Sum"}},
                {"Id": "band", "Expression": "ANOMALY_DETECTION_BAND(failed, 3)"}
            ],
            "ThresholdMetricId": "band", "ComparisonOperator": "GreaterThanUpperThreshold",
            "EvaluationPeriods": 3, "DatapointsToAlarm": 2, "TreatMissingData": "notBreaching"
        }));
        let verdict = evaluate("anomaly", &alarm, &store, 0, 45 * MINUTE).unwrap();
        assert!(verdict.approximate);
        assert_eq!(
            verdict.first_alarm_ms(),
            Some(40 * MINUTE),
            "the second period above the band"
        );
    }

    #[test]
    fn a_broken_alarm_says_what_is_wrong() {
        let store = MetricStore::new();
        let cases = [
            (
                json!({"ComparisonOperator": "GreaterThanThreshold"}),
                "alarm a: EvaluationPeriods is missing",
            ),
            (
                json!({"EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold", "MetricName": "M",
                       "Period": 60, "Statistic": "Median"}),
                "alarm a: statistic \"Median\" is not one of",
            ),
            (
                json!({"EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold",
                       "Metrics": [{"Id": "x", "Expression": "y * 2"},
                                   {"Id": "m", "MetricStat": {"Metric": {"MetricName": "M"}, "Period": 60, "Stat": "Sum"}, "ReturnData": false}]}),
                "alarm a: metric math \"y * 2\": no query with id \"y\"",
            ),
            (
                json!({"EvaluationPeriods": 1, "ComparisonOperator": "GreaterThanThreshold", "MetricName": "M",
                       "Period": 60, "Statistic": "Sum", "TreatMissingData": "NOT_BREACHING"}),
                "alarm a: TreatMissingData \"NOT_BREACHING\" is not one CloudWatch accepts",
            ),
        ];
        for (alarm, message) in cases {
            let error = evaluate("a", &properties(alarm), &store, 0, MINUTE).unwrap_err();
            assert!(error.to_string().starts_with(message), "{error}");
        }
    }
}
