//! Dashboard body rules. Nothing offline validates a `DashboardBody` (not cfn-lint, not moto), and
//! CloudWatch rejects a bad one only at deploy time, so the project checks what the console would:
//!
//! - `widgets`: an array of 0 to 500 widgets of a known type;
//! - the 24-column grid: `x` 0–23, `width` 1–24, `x + width` ≤ 24, `height` 1–1000, `y` ≥ 0, and no
//!   two widgets overlapping;
//! - metric widgets: a `region`, 1 to 100 `metrics` rows, each either `[{"expression": …, "id": …}]`
//!   or `[Namespace, MetricName, (DimensionName, DimensionValue)*, {options}]` with the `.` / `...`
//!   shorthands, valid ids, and periods of 1, 5, 10, 30 or a multiple of 60 seconds;
//! - alarm widgets list alarm ARNs; log widgets have a region and a `SOURCE '…'` query; text
//!   widgets have markdown; horizontal annotations have numeric values (or numeric placeholders).

use serde_json::Value;

use super::{MetricRef, Problem, valid_id, valid_period};

const WIDGET_TYPES: [&str; 6] = ["metric", "text", "log", "alarm", "explorer", "custom"];
const METRIC_OPTIONS: [&str; 9] = [
    "stat",
    "period",
    "label",
    "id",
    "visible",
    "color",
    "yAxis",
    "region",
    "accountId",
];

/// Checks one dashboard body; `source` names it in the problems.
pub fn lint(body: &Value, source: &str) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut problem = |location: String, message: String| problems.push(Problem { location, message });
    let Some(widgets) = body.get("widgets").and_then(Value::as_array) else {
        problem(
            source.to_owned(),
            "a dashboard body needs a \"widgets\" array".into(),
        );
        return problems;
    };
    if widgets.len() > 500 {
        problem(
            source.to_owned(),
            format!("{} widgets, more than 500", widgets.len()),
        );
    }
    let mut placed: Vec<(usize, [i64; 4])> = Vec::new();
    for (index, widget) in widgets.iter().enumerate() {
        let location = format!("{source} widgets[{index}]");
        let kind = widget.get("type").and_then(Value::as_str).unwrap_or_default();
        if !WIDGET_TYPES.contains(&kind) {
            problem(
                location.clone(),
                format!("type {kind:?} is not one of {}", WIDGET_TYPES.join(", ")),
            );
        }
        let number = |key: &str| widget.get(key).and_then(Value::as_i64);
        match (number("x"), number("y"), number("width"), number("height")) {
            (Some(x), Some(y), Some(width), Some(height)) => {
                if !(0..=23).contains(&x) || !(1..=24).contains(&width) || x + width > 24 {
                    problem(
                        location.clone(),
                        format!("x {x} and width {width} leave the 24-column grid"),
                    );
                }
                if y < 0 || !(1..=1000).contains(&height) {
                    problem(
                        location.clone(),
                        format!("y {y} or height {height} is out of range (y ≥ 0, height 1–1000)"),
                    );
                }
                for (other, [ox, oy, ow, oh]) in &placed {
                    if x < ox + ow && *ox < x + width && y < oy + oh && *oy < y + height {
                        problem(location.clone(), format!("overlaps widgets[{other}]"));
                    }
                }
                placed.push((index, [x, y, width, height]));
            }
            _ => problem(
                location.clone(),
                "x, y, width and height are all needed (whole numbers)".into(),
            ),
        }
        let properties = widget.get("properties").cloned().unwrap_or(Value::Null);
        let text = |key: &str| properties.get(key).and_then(Value::as_str);
        match kind {
            "metric" => {
                if text("region").is_none() {
                    problem(location.clone(), "a metric widget needs a \"region\"".into());
                }
                if let Some(period) = properties.get("period") {
                    if !valid_period(period) {
                        problem(
                            location.clone(),
                            format!("period {period} is not 1, 5, 10, 30 or a multiple of 60"),
                        );
                    }
                }
                match properties.get("metrics").and_then(Value::as_array) {
                    None => problem(
                        location.clone(),
                        "a metric widget needs a \"metrics\" array".into(),
                    ),
                    Some(rows) if rows.is_empty() || rows.len() > 100 => problem(
                        location.clone(),
                        format!("{} metrics rows, not 1 to 100", rows.len()),
                    ),
                    Some(rows) => {
                        if let Err(row_problem) = metric_rows(rows) {
                            problem(location.clone(), row_problem);
                        }
                    }
                }
                for (index, annotation) in properties
                    .pointer("/annotations/horizontal")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let value = annotation.get("value");
                    let numeric = value.is_some_and(|value| value.is_number() || is_placeholder(value));
                    if !numeric {
                        problem(
                            location.clone(),
                            format!("annotations.horizontal[{index}] needs a numeric \"value\""),
                        );
                    }
                }
            }
            "alarm" => match properties.get("alarms").and_then(Value::as_array) {
                Some(alarms) if !alarms.is_empty() && alarms.len() <= 100 => {
                    for alarm in alarms {
                        let arn = alarm.as_str().unwrap_or_default();
                        if !(arn.starts_with("arn:") || (arn.starts_with("${") && arn.ends_with(".Arn}"))) {
                            problem(location.clone(), format!("{alarm} is not an alarm ARN"));
                        }
                    }
                }
                _ => problem(
                    location.clone(),
                    "an alarm widget lists 1 to 100 alarm ARNs in \"alarms\"".into(),
                ),
            },
            "log" => {
                if text("region").is_none() {
                    problem(location.clone(), "a log widget needs a \"region\"".into());
                }
                if !text("query").is_some_and(|query| query.starts_with("SOURCE '")) {
                    problem(
                        location.clone(),
                        "a log widget's \"query\" starts with SOURCE '<log group>'".into(),
                    );
                }
            }
            "text" if text("markdown").is_none() => {
                problem(location.clone(), "a text widget needs \"markdown\"".into());
            }
            _ => {}
        }
    }
    problems
}

fn is_placeholder(value: &Value) -> bool {
    value
        .as_str()
        .is_some_and(|text| text.starts_with("${") && text.ends_with('}'))
}

/// The metric rows of a widget with `.` and `...` resolved, and expressions left out.
pub fn metric_rows(rows: &[Value]) -> Result<Vec<MetricRef>, String> {
    let mut metrics = Vec::new();
    let mut previous: Vec<String> = Vec::new();
    for (index, row) in rows.iter().enumerate() {
        let Some(items) = row.as_array() else {
            return Err(format!("metrics[{index}] is not an array"));
        };
        let (fields, options) = match items.split_last() {
            Some((Value::Object(options), fields)) => (fields, Some(options)),
            _ => (items.as_slice(), None),
        };
        if let Some(options) = options {
            if let Some(unknown) = options
                .keys()
                .find(|key| !METRIC_OPTIONS.contains(&key.as_str()) && key.as_str() != "expression")
            {
                return Err(format!("metrics[{index}] has the unknown option {unknown:?}"));
            }
            if let Some(id) = options.get("id").and_then(Value::as_str) {
                if !valid_id(id) {
                    return Err(format!(
                        "metrics[{index}] id {id:?} does not match ^[a-z][A-Za-z0-9_]*$"
                    ));
                }
            }
            if let Some(period) = options.get("period") {
                if !valid_period(period) {
                    return Err(format!(
                        "metrics[{index}] period {period} is not 1, 5, 10, 30 or a multiple of 60"
                    ));
                }
            }
            if options.contains_key("expression") {
                if !fields.is_empty() {
                    return Err(format!(
                        "metrics[{index}]: an expression row holds only its options object"
                    ));
                }
                if options.get("id").and_then(Value::as_str).is_none() {
                    return Err(format!("metrics[{index}]: an expression needs an \"id\""));
                }
                continue;
            }
        }
        let mut resolved: Vec<String> = Vec::new();
        for (position, field) in fields.iter().enumerate() {
            match field.as_str() {
                Some("...") => {
                    resolved.extend(previous.iter().skip(resolved.len()).cloned());
                    if position + 1 != fields.len() {
                        return Err(format!("metrics[{index}]: \"...\" must be the last field"));
                    }
                }
                Some(".") => match previous.get(resolved.len()) {
                    Some(same) => resolved.push(same.clone()),
                    None => {
                        return Err(format!(
                            "metrics[{index}]: \".\" at position {position} has nothing above it"
                        ));
                    }
                },
                Some(text) if !text.is_empty() => resolved.push(text.to_owned()),
                _ => {
                    return Err(format!(
                        "metrics[{index}] field {position} is not a non-empty string"
                    ));
                }
            }
        }
        if resolved.len() < 2 || resolved.len() % 2 != 0 {
            return Err(format!(
                "metrics[{index}] is not [Namespace, MetricName, (DimensionName, DimensionValue)…]: {resolved:?}"
            ));
        }
        metrics.push(MetricRef {
            namespace: resolved[0].clone(),
            name: resolved[1].clone(),
            dimensions: resolved[2..]
                .chunks(2)
                .map(|pair| (pair[0].clone(), pair[1].clone()))
                .collect(),
        });
        previous = resolved;
    }
    Ok(metrics)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn widget(kind: &str, x: i64, y: i64, width: i64, properties: Value) -> Value {
        json!({"type": kind, "x": x, "y": y, "width": width, "height": 6, "properties": properties})
    }

    fn messages(body: Value) -> Vec<String> {
        lint(&body, "d")
            .into_iter()
            .map(|problem| problem.message)
            .collect()
    }

    #[test]
    fn shorthands_resolve_to_full_rows() {
        let rows = json!([
            ["NS", "A", "Service", "s", {"stat": "Sum"}],
            [".", "B", ".", "."],
            ["...", {"stat": "p99"}],
            [{"expression": "a + b", "id": "total"}]
        ]);
        let metrics = metric_rows(rows.as_array().unwrap()).unwrap();
        let names: Vec<(String, String)> = metrics
            .iter()
            .map(|m| (m.name.clone(), m.dimensions[0].1.clone()))
            .collect();
        assert_eq!(
            names,
            [
                ("A".into(), "s".into()),
                ("B".into(), "s".into()),
                ("B".into(), "s".into())
            ]
        );
    }

    #[test]
    fn a_valid_body_has_no_problem() {
        let body = json!({"widgets": [
            widget("metric", 0, 0, 12, json!({"region": "eu-west-1", "period": 60,
                "metrics": [["NS", "A", "Service", "s"]],
                "annotations": {"horizontal": [{"value": "${Threshold}"}]}})),
            widget("text", 12, 0, 12, json!({"markdown": "# hi"})),
            widget("alarm", 0, 6, 24, json!({"alarms": ["${XAlarm.Arn}", "arn:aws:cloudwatch:eu-west-1:1:alarm:x"]})),
            widget("log", 0, 12, 24, json!({"region": "eu-west-1", "query": "SOURCE 'g' | fields @message"}))
        ]});
        assert_eq!(messages(body), Vec::<String>::new());
    }

    #[test]
    fn every_rule_catches_its_mistake() {
        let cases = [
            (json!({}), "needs a \"widgets\" array"),
            (
                json!({"widgets": [widget("graph", 0, 0, 6, json!({}))]}),
                "is not one of",
            ),
            (
                json!({"widgets": [widget("text", 20, 0, 6, json!({"markdown": ""}))]}),
                "leave the 24-column grid",
            ),
            (
                json!({"widgets": [widget("text", 0, 0, 6, json!({"markdown": ""})), widget("text", 3, 2, 6, json!({"markdown": ""}))]}),
                "overlaps widgets[0]",
            ),
            (
                json!({"widgets": [widget("metric", 0, 0, 6, json!({"metrics": [["N", "M"]]}))]}),
                "needs a \"region\"",
            ),
            (
                json!({"widgets": [widget("metric", 0, 0, 6, json!({"region": "r", "period": 45, "metrics": [["N", "M"]]}))]}),
                "period 45",
            ),
            (
                json!({"widgets": [widget("metric", 0, 0, 6, json!({"region": "r", "metrics": []}))]}),
                "0 metrics rows",
            ),
            (
                json!({"widgets": [widget("metric", 0, 0, 6, json!({"region": "r", "metrics": [["N", "M", "Dim"]]}))]}),
                "is not [Namespace",
            ),
            (
                json!({"widgets": [widget("metric", 0, 0, 6, json!({"region": "r", "metrics": [[".", "M"]]}))]}),
                "has nothing above it",
            ),
            (
                json!({"widgets": [widget("metric", 0, 0, 6, json!({"region": "r", "metrics": [["N", "M", {"id": "Bad"}]]}))]}),
                "does not match",
            ),
            (
                json!({"widgets": [widget("metric", 0, 0, 6, json!({"region": "r", "metrics": [[{"expression": "m1"}]]}))]}),
                "needs an \"id\"",
            ),
            (
                json!({"widgets": [widget("metric", 0, 0, 6, json!({"region": "r", "metrics": [["N", "M", {"colour": "red"}]]}))]}),
                "unknown option",
            ),
            (
                json!({"widgets": [widget("metric", 0, 0, 6, json!({"region": "r", "metrics": [["N", "M"]], "annotations": {"horizontal": [{"value": "high"}]}}))]}),
                "numeric \"value\"",
            ),
            (
                json!({"widgets": [widget("alarm", 0, 0, 6, json!({"alarms": []}))]}),
                "lists 1 to 100 alarm ARNs",
            ),
            (
                json!({"widgets": [widget("alarm", 0, 0, 6, json!({"alarms": ["my-alarm"]}))]}),
                "is not an alarm ARN",
            ),
            (
                json!({"widgets": [widget("log", 0, 0, 6, json!({"region": "r", "query": "fields @message"}))]}),
                "starts with SOURCE",
            ),
            (
                json!({"widgets": [widget("text", 0, 0, 6, json!({}))]}),
                "needs \"markdown\"",
            ),
        ];
        for (body, expected) in cases {
            let found = messages(body.clone());
            assert!(
                found.iter().any(|message| message.contains(expected)),
                "{body}: expected a problem containing {expected:?}, got {found:?}"
            );
        }
    }
}
