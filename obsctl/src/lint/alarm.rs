//! Alarm rules: what `PutMetricAlarm` rejects, plus the project's own policy. The moto emulator
//! accepts invalid alarms (a period of 45 s, say), and CloudWatch only says no at deploy time, so
//! these checks run offline in `obsctl lint` and in the tests.
//!
//! - only known properties (a typo is not silently ignored);
//! - one metric (`MetricName`, `Namespace`, `Statistic` xor `ExtendedStatistic`, `Period`) xor
//!   metric math (`Metrics`);
//! - periods of 10, 30 or a multiple of 60 seconds, and at most a day of evaluation;
//! - `DatapointsToAlarm` ≤ `EvaluationPeriods`;
//! - a comparison operator CloudWatch knows, with `Threshold`, or with `ThresholdMetricId` naming an
//!   `ANOMALY_DETECTION_BAND` expression for the band operators (never both);
//! - metric math: ids `^[a-z][A-Za-z0-9_]*$`, unique, each query either a `MetricStat` or an
//!   `Expression`, expressions naming only existing ids, exactly one result returned (two, the
//!   metric and its band, for anomaly detection);
//! - policy: a `TreatMissingData` chosen deliberately, `AlarmActions` and `OKActions` (at most 5),
//!   a description of at most 1,024 characters that says what to look at first.

use serde_json::{Map, Value};

use super::{Problem, valid_id, valid_period};
use crate::definitions::AlarmDefinition;

const PROPERTIES: [&str; 22] = [
    "AlarmName",
    "AlarmDescription",
    "ActionsEnabled",
    "OKActions",
    "AlarmActions",
    "InsufficientDataActions",
    "MetricName",
    "Namespace",
    "Statistic",
    "ExtendedStatistic",
    "Dimensions",
    "Period",
    "Unit",
    "EvaluationPeriods",
    "DatapointsToAlarm",
    "Threshold",
    "ComparisonOperator",
    "TreatMissingData",
    "EvaluateLowSampleCountPercentile",
    "Metrics",
    "Tags",
    "ThresholdMetricId",
];
const STATISTICS: [&str; 5] = ["SampleCount", "Average", "Sum", "Minimum", "Maximum"];
const THRESHOLD_OPERATORS: [&str; 4] = [
    "GreaterThanOrEqualToThreshold",
    "GreaterThanThreshold",
    "LessThanThreshold",
    "LessThanOrEqualToThreshold",
];
const BAND_OPERATORS: [&str; 3] = [
    "LessThanLowerOrGreaterThanUpperThreshold",
    "LessThanLowerThreshold",
    "GreaterThanUpperThreshold",
];
const MISSING_DATA: [&str; 4] = ["breaching", "notBreaching", "ignore", "missing"];

/// Checks one alarm definition.
pub fn lint(alarm: &AlarmDefinition) -> Vec<Problem> {
    let location = format!("alarms/{}.json", alarm.name);
    let properties = &alarm.properties;
    let mut problems = Vec::new();
    let mut problem = |message: String| {
        problems.push(Problem {
            location: location.clone(),
            message,
        })
    };
    let numeric = |key: &str| properties.get(key).is_some_and(|value| is_number(value, alarm));

    for key in properties.keys() {
        if !PROPERTIES.contains(&key.as_str()) {
            problem(format!("{key:?} is not a property of an alarm"));
        }
    }
    let name = properties
        .get("AlarmName")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if name.is_empty() || name.len() > 255 {
        problem("AlarmName needs 1 to 255 characters".into());
    }
    let description = properties
        .get("AlarmDescription")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if description.len() > 1024 {
        problem(format!(
            "AlarmDescription has {} characters, more than 1024",
            description.len()
        ));
    }
    if !description.contains("First look") {
        problem(
            "AlarmDescription must say what it means and what to look at first (\"First look: …\")".into(),
        );
    }
    for actions in ["AlarmActions", "OKActions"] {
        match properties.get(actions).and_then(Value::as_array) {
            Some(list) if !list.is_empty() && list.len() <= 5 => {}
            _ => problem(format!("{actions} lists 1 to 5 targets (the alarm topic)")),
        }
    }
    match properties.get("TreatMissingData").and_then(Value::as_str) {
        Some(treatment) if MISSING_DATA.contains(&treatment) => {}
        Some(other) => problem(format!(
            "TreatMissingData {other:?} is not one of {}",
            MISSING_DATA.join(", ")
        )),
        None => problem("TreatMissingData must be chosen deliberately".into()),
    }

    let evaluation = properties.get("EvaluationPeriods").and_then(Value::as_u64);
    match evaluation {
        Some(periods) if periods >= 1 => {}
        _ => problem("EvaluationPeriods must be a whole number of at least 1".into()),
    }
    if let Some(datapoints) = properties.get("DatapointsToAlarm") {
        match (datapoints.as_u64(), evaluation) {
            (Some(datapoints), Some(periods)) if (1..=periods).contains(&datapoints) => {}
            _ => problem(format!(
                "DatapointsToAlarm {datapoints} must be from 1 to EvaluationPeriods"
            )),
        }
    }

    let operator = properties
        .get("ComparisonOperator")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let band = BAND_OPERATORS.contains(&operator);
    if !band && !THRESHOLD_OPERATORS.contains(&operator) {
        problem(format!(
            "ComparisonOperator {operator:?} is not one CloudWatch knows"
        ));
    }
    let has_threshold = properties.contains_key("Threshold");
    let has_band = properties.contains_key("ThresholdMetricId");
    match (has_threshold, has_band) {
        (true, true) => problem("Threshold and ThresholdMetricId exclude each other".into()),
        (false, false) => problem("an alarm needs a Threshold, or a ThresholdMetricId for a band".into()),
        (true, false) if band => problem(format!("{operator} compares with a band: use ThresholdMetricId")),
        (false, true) if !band => problem(format!("{operator} compares with a Threshold, not a band")),
        (true, false) if !numeric("Threshold") => {
            problem("Threshold must be a number or a numeric parameter".into())
        }
        _ => {}
    }

    let single = properties.contains_key("MetricName");
    let math = properties.get("Metrics");
    let mut period = None;
    match (single, math) {
        (true, Some(_)) => problem("MetricName and Metrics exclude each other".into()),
        (false, None) => problem("an alarm watches a MetricName or Metrics (metric math)".into()),
        (true, None) => {
            if properties
                .get("Namespace")
                .and_then(Value::as_str)
                .is_none_or(str::is_empty)
            {
                problem("a single-metric alarm needs a Namespace".into());
            }
            match (properties.get("Statistic"), properties.get("ExtendedStatistic")) {
                (Some(_), Some(_)) => problem("Statistic and ExtendedStatistic exclude each other".into()),
                (None, None) => {
                    problem("a single-metric alarm needs a Statistic or an ExtendedStatistic".into())
                }
                (Some(statistic), None) if !statistic.as_str().is_some_and(|s| STATISTICS.contains(&s)) => {
                    problem(format!(
                        "Statistic {statistic} is not one of {}",
                        STATISTICS.join(", ")
                    ))
                }
                (None, Some(extended)) if !extended.as_str().is_some_and(valid_percentile) => problem(
                    format!("ExtendedStatistic {extended} is not a percentile such as p99"),
                ),
                _ => {}
            }
            period = properties.get("Period").cloned();
            if period.is_none() {
                problem("a single-metric alarm needs a Period".into());
            }
            if let Some(dimensions) = properties.get("Dimensions").and_then(Value::as_array) {
                if dimensions.len() > 30 {
                    problem(format!("{} dimensions, more than 30", dimensions.len()));
                }
            }
        }
        (false, Some(queries)) => {
            let (query_problems, query_period) = metric_math(queries, properties, band);
            for message in query_problems {
                problem(message);
            }
            period = query_period;
        }
    }
    if let Some(period) = &period {
        if !valid_alarm_period(period) {
            problem(format!(
                "Period {period} is not 10, 30 or a multiple of 60 seconds"
            ));
        } else if let (Some(seconds), Some(periods)) = (period.as_u64(), evaluation) {
            if seconds * periods > 86_400 {
                problem(format!(
                    "{periods} periods of {seconds} s evaluate more than a day"
                ));
            }
        }
    }
    problems
}

/// Alarm periods: 10, 30, or a multiple of 60 seconds (1 and 5 are not allowed for alarms).
fn valid_alarm_period(period: &Value) -> bool {
    valid_period(period) && !matches!(period.as_u64(), Some(1 | 5))
}

/// The metric math queries of an alarm; returns the problems and the period of its metrics.
fn metric_math(queries: &Value, properties: &Map<String, Value>, band: bool) -> (Vec<String>, Option<Value>) {
    let mut problems = Vec::new();
    let Some(queries) = queries.as_array().filter(|queries| !queries.is_empty()) else {
        return (vec!["Metrics is a non-empty array of queries".into()], None);
    };
    let ids: Vec<&str> = queries
        .iter()
        .filter_map(|query| query.get("Id").and_then(Value::as_str))
        .collect();
    let mut period = None;
    let mut returned = 0;
    for (index, query) in queries.iter().enumerate() {
        let id = query.get("Id").and_then(Value::as_str).unwrap_or_default();
        if !valid_id(id) {
            problems.push(format!(
                "Metrics[{index}] Id {id:?} does not match ^[a-z][A-Za-z0-9_]*$"
            ));
        }
        if ids.iter().filter(|other| **other == id).count() > 1 {
            problems.push(format!("Metrics[{index}] Id {id:?} is used twice"));
        }
        if query.get("ReturnData").and_then(Value::as_bool).unwrap_or(true) {
            returned += 1;
        }
        match (
            query.get("MetricStat"),
            query.get("Expression").and_then(Value::as_str),
        ) {
            (Some(_), Some(_)) | (None, None) => problems.push(format!(
                "Metrics[{index}] ({id}) needs exactly one of MetricStat and Expression"
            )),
            (Some(stat), None) => {
                let metric = stat.get("Metric");
                let text = |key: &str| metric.and_then(|metric| metric.get(key)).and_then(Value::as_str);
                if text("Namespace").is_none() || text("MetricName").is_none() {
                    problems.push(format!(
                        "Metrics[{index}] ({id}) MetricStat needs Metric.Namespace and Metric.MetricName"
                    ));
                }
                let stat_name = stat.get("Stat").and_then(Value::as_str).unwrap_or_default();
                if !STATISTICS.contains(&stat_name) && !valid_percentile(stat_name) {
                    problems.push(format!(
                        "Metrics[{index}] ({id}) Stat {stat_name:?} is not a statistic"
                    ));
                }
                match stat.get("Period") {
                    Some(value) => period = Some(value.clone()),
                    None => problems.push(format!("Metrics[{index}] ({id}) MetricStat needs a Period")),
                }
            }
            (None, Some(expression)) => {
                for reference in identifiers(expression) {
                    if reference == id || !ids.contains(&reference) {
                        problems.push(format!(
                            "Metrics[{index}] ({id}) expression names {reference:?}, which is not another query's Id"
                        ));
                    }
                }
            }
        }
    }
    if band {
        let target = properties
            .get("ThresholdMetricId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let band_query = queries
            .iter()
            .find(|query| query.get("Id").and_then(Value::as_str) == Some(target));
        let is_band = band_query
            .and_then(|query| query.get("Expression"))
            .and_then(Value::as_str)
            .is_some_and(|expression| expression.contains("ANOMALY_DETECTION_BAND"));
        if !is_band {
            problems.push(format!(
                "ThresholdMetricId {target:?} must name an ANOMALY_DETECTION_BAND expression"
            ));
        }
        if returned != 2 {
            problems.push(format!(
                "an anomaly alarm returns the metric and its band, not {returned} series"
            ));
        }
    } else if returned != 1 {
        problems.push(format!(
            "exactly one query returns data (the alarm's series), not {returned}"
        ));
    }
    (problems, period)
}

/// The lower-case identifiers of a metric math expression: the ids it refers to (functions are
/// upper case, numbers and placeholders are skipped).
fn identifiers(expression: &str) -> Vec<&str> {
    let word = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '.';
    let mut found = Vec::new();
    let mut characters = expression.char_indices().peekable();
    while let Some((start, c)) = characters.next() {
        if c == '$' && characters.peek().is_some_and(|(_, next)| *next == '{') {
            // A placeholder: skip to its closing brace.
            for (_, inside) in characters.by_ref() {
                if inside == '}' {
                    break;
                }
            }
            continue;
        }
        if !word(c) {
            continue;
        }
        let mut end = start + c.len_utf8();
        while let Some((index, next)) = characters.peek().copied() {
            if !word(next) {
                break;
            }
            end = index + next.len_utf8();
            characters.next();
        }
        let token = &expression[start..end];
        if token.starts_with(|first: char| first.is_ascii_lowercase()) {
            found.push(token);
        }
    }
    found
}

fn valid_percentile(statistic: &str) -> bool {
    statistic
        .strip_prefix('p')
        .and_then(|number| number.parse::<f64>().ok())
        .is_some_and(|number| (0.0..=100.0).contains(&number))
}

/// A number, or a placeholder of a numeric parameter the alarm declares.
fn is_number(value: &Value, alarm: &AlarmDefinition) -> bool {
    match value {
        Value::Number(_) => true,
        Value::String(text) => text
            .strip_prefix("${")
            .and_then(|rest| rest.strip_suffix('}'))
            .and_then(|name| alarm.parameters.get(name))
            .is_some_and(|definition| definition.get("Type").and_then(Value::as_str) == Some("Number")),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn expression_identifiers_skip_functions_numbers_and_placeholders() {
        assert_eq!(
            identifiers("IF(processed + failed > 0, 100 * failed / (processed + failed), 0)"),
            ["processed", "failed", "failed", "processed", "failed"]
        );
        assert_eq!(identifiers("ANOMALY_DETECTION_BAND(m1, ${Width})"), ["m1"]);
        assert_eq!(identifiers("duration / (${Timeout} * 10)"), ["duration"]);
        assert_eq!(
            identifiers("FILL(validation, 0) + FILL(parsing, 0)"),
            ["validation", "parsing"]
        );
    }

    fn definition(properties: Value, parameters: Value) -> AlarmDefinition {
        AlarmDefinition {
            name: "a".into(),
            parameters: parameters.as_object().unwrap().clone(),
            properties: properties.as_object().unwrap().clone(),
        }
    }

    fn single() -> Value {
        json!({
            "AlarmName": "${AWS::StackName}-a", "AlarmDescription": "It broke. First look: the logs.",
            "Namespace": "AWS/Lambda", "MetricName": "Errors", "Dimensions": [{"Name": "FunctionName", "Value": "f"}],
            "Statistic": "Sum", "Period": 60, "EvaluationPeriods": 5, "DatapointsToAlarm": 3,
            "Threshold": "${Limit}", "ComparisonOperator": "GreaterThanThreshold", "TreatMissingData": "notBreaching",
            "AlarmActions": ["${AlarmTopic}"], "OKActions": ["${AlarmTopic}"]
        })
    }

    fn math() -> Value {
        json!({
            "AlarmName": "x", "AlarmDescription": "Rate. First look: logs.",
            "Metrics": [
                {"Id": "rate", "Expression": "100 * failed / processed"},
                {"Id": "processed", "ReturnData": false, "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "P"}, "Period": 300, "Stat": "Sum"}},
                {"Id": "failed", "ReturnData": false, "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "F"}, "Period": 300, "Stat": "Sum"}}
            ],
            "Threshold": 5, "ComparisonOperator": "GreaterThanThreshold", "EvaluationPeriods": 3,
            "TreatMissingData": "notBreaching", "AlarmActions": ["t"], "OKActions": ["t"]
        })
    }

    fn band() -> Value {
        json!({
            "AlarmName": "x", "AlarmDescription": "Odd. First look: logs.",
            "Metrics": [
                {"Id": "failed", "MetricStat": {"Metric": {"Namespace": "N", "MetricName": "F"}, "Period": 300, "Stat": "Sum"}},
                {"Id": "expected", "Expression": "ANOMALY_DETECTION_BAND(failed, 2)"}
            ],
            "ThresholdMetricId": "expected", "ComparisonOperator": "GreaterThanUpperThreshold", "EvaluationPeriods": 3,
            "TreatMissingData": "notBreaching", "AlarmActions": ["t"], "OKActions": ["t"]
        })
    }

    fn problems(alarm: Value) -> Vec<String> {
        let parameters = json!({"Limit": {"Type": "Number", "Default": 1, "Description": "why"}});
        lint(&definition(alarm, parameters))
            .into_iter()
            .map(|problem| problem.message)
            .collect()
    }

    #[test]
    fn valid_alarms_of_each_shape_have_no_problem() {
        for alarm in [single(), math(), band()] {
            assert_eq!(problems(alarm.clone()), Vec::<String>::new(), "{alarm}");
        }
    }

    #[test]
    fn every_rule_catches_its_mistake() {
        type Edit = fn(&mut Value);
        let cases: Vec<(Value, Edit, &str)> = vec![
            (single(), |a| a["Period"] = json!(45), "Period 45 is not 10, 30"),
            (single(), |a| a["Period"] = json!(5), "Period 5 is not 10, 30"),
            (
                single(),
                |a| a["EvaluationPeriods"] = json!(2000),
                "evaluate more than a day",
            ),
            (
                single(),
                |a| a["DatapointsToAlarm"] = json!(6),
                "must be from 1 to EvaluationPeriods",
            ),
            (
                single(),
                |a| a["EvaluationPeriods"] = json!(0),
                "EvaluationPeriods must be a whole number",
            ),
            (
                single(),
                |a| a["Statistic"] = json!("Total"),
                "Statistic \"Total\" is not one of",
            ),
            (
                single(),
                |a| a["ExtendedStatistic"] = json!("p99"),
                "exclude each other",
            ),
            (
                single(),
                |a| {
                    a.as_object_mut().unwrap().remove("Statistic");
                    a["ExtendedStatistic"] = json!("p101");
                },
                "not a percentile",
            ),
            (
                single(),
                |a| a["ComparisonOperator"] = json!("Above"),
                "is not one CloudWatch knows",
            ),
            (
                single(),
                |a| a["ComparisonOperator"] = json!("GreaterThanUpperThreshold"),
                "use ThresholdMetricId",
            ),
            (
                single(),
                |a| a["ThresholdMetricId"] = json!("band"),
                "Threshold and ThresholdMetricId exclude each other",
            ),
            (
                single(),
                |a| {
                    a.as_object_mut().unwrap().remove("Threshold");
                },
                "needs a Threshold",
            ),
            (
                single(),
                |a| a["Threshold"] = json!("${Unknown}"),
                "Threshold must be a number",
            ),
            (
                single(),
                |a| a["Threshold"] = json!("high"),
                "Threshold must be a number",
            ),
            (
                single(),
                |a| {
                    a.as_object_mut().unwrap().remove("TreatMissingData");
                },
                "chosen deliberately",
            ),
            (
                single(),
                |a| a["TreatMissingData"] = json!("zero"),
                "is not one of breaching",
            ),
            (
                single(),
                |a| {
                    a.as_object_mut().unwrap().remove("OKActions");
                },
                "OKActions lists 1 to 5",
            ),
            (
                single(),
                |a| a["AlarmActions"] = json!(["1", "2", "3", "4", "5", "6"]),
                "AlarmActions lists 1 to 5",
            ),
            (
                single(),
                |a| a["AlarmDescription"] = json!("It broke."),
                "what to look at first",
            ),
            (
                single(),
                |a| a["AlarmDescription"] = json!(format!("First look: {}", "x".repeat(1100))),
                "more than 1024",
            ),
            (
                single(),
                |a| a["AlarmName"] = json!(""),
                "AlarmName needs 1 to 255",
            ),
            (
                single(),
                |a| a["Treshold"] = json!(1),
                "\"Treshold\" is not a property",
            ),
            (
                single(),
                |a| a["Metrics"] = json!([]),
                "MetricName and Metrics exclude each other",
            ),
            (
                single(),
                |a| {
                    a.as_object_mut().unwrap().remove("Namespace");
                },
                "needs a Namespace",
            ),
            (
                single(),
                |a| {
                    a.as_object_mut().unwrap().remove("MetricName");
                },
                "watches a MetricName or Metrics",
            ),
            (
                math(),
                |a| a["Metrics"][0]["Id"] = json!("Rate"),
                "does not match",
            ),
            (
                math(),
                |a| a["Metrics"][1]["Id"] = json!("failed"),
                "is used twice",
            ),
            (
                math(),
                |a| a["Metrics"][0]["Expression"] = json!("100 * faild / processed"),
                "names \"faild\"",
            ),
            (
                math(),
                |a| a["Metrics"][1]["ReturnData"] = json!(true),
                "exactly one query returns data",
            ),
            (
                math(),
                |a| a["Metrics"][2]["MetricStat"]["Period"] = json!(90),
                "Period 90 is not 10, 30",
            ),
            (
                math(),
                |a| a["Metrics"][2]["MetricStat"]["Stat"] = json!("Mean"),
                "Stat \"Mean\" is not a statistic",
            ),
            (
                math(),
                |a| {
                    a["Metrics"][2].as_object_mut().unwrap().remove("MetricStat");
                },
                "exactly one of MetricStat and Expression",
            ),
            (
                band(),
                |a| a["ThresholdMetricId"] = json!("failed"),
                "must name an ANOMALY_DETECTION_BAND expression",
            ),
            (
                band(),
                |a| a["Metrics"][0]["ReturnData"] = json!(false),
                "returns the metric and its band",
            ),
            (band(), |a| a["Threshold"] = json!(1), "exclude each other"),
        ];
        for (mut alarm, edit, expected) in cases {
            edit(&mut alarm);
            let found = problems(alarm.clone());
            assert!(
                found.iter().any(|message| message.contains(expected)),
                "{alarm}: expected a problem containing {expected:?}, got {found:?}"
            );
        }
    }

    #[test]
    fn percentiles() {
        assert!(valid_percentile("p99") && valid_percentile("p99.9") && valid_percentile("p0"));
        assert!(!valid_percentile("p101") && !valid_percentile("99") && !valid_percentile("pX"));
    }
}
