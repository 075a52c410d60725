//! A dashboard's metric widget as CloudWatch would draw it over a rehearsal: each line of its
//! `metrics` array (CloudWatch's shorthand included: `"."` repeats a field of the line above, `"..."`
//! all of them, an object at the end holds `label`, `color`, `id`, `visible`, `stat`, `period`,
//! `yAxis`), expressions over the other lines' ids, the widget's `stat` and `period`, its left
//! y-axis and its horizontal annotations.

use std::collections::HashMap;

use rehearsal::cloudwatch::metric_math::{Series, evaluate_all};
use rehearsal::cloudwatch::metric_store::{MetricKey, MetricStore};
use rehearsal::cloudwatch::statistics::Statistic;
use serde_json::{Map, Value};

/// One line of the graph.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// The legend.
    pub label: String,
    /// The colour, when the widget sets one.
    pub color: Option<String>,
    /// One datapoint per period from the rehearsal's start.
    pub values: Series,
    /// Drawn against the right y-axis.
    pub right_axis: bool,
}

/// A horizontal annotation.
#[derive(Debug, Clone, PartialEq)]
pub struct Annotation {
    /// Its label.
    pub label: String,
    /// Its value.
    pub value: f64,
    /// Its colour.
    pub color: Option<String>,
}

/// A metric widget, computed.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricWidget {
    /// The title.
    pub title: String,
    /// The period of the datapoints, in seconds.
    pub period_s: i64,
    /// The visible lines.
    pub lines: Vec<Line>,
    /// Horizontal annotations.
    pub annotations: Vec<Annotation>,
    /// The left axis' fixed minimum and maximum, when set.
    pub y_range: (Option<f64>, Option<f64>),
}

/// Computes a metric widget's `properties` (placeholders resolved) over `store`.
pub fn compute(
    properties: &Map<String, Value>,
    store: &MetricStore,
    start_ms: i64,
    end_ms: i64,
) -> Result<MetricWidget, String> {
    let title = properties
        .get("title")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_owned();
    let widget_period = properties.get("period").and_then(Value::as_i64).unwrap_or(300);
    let widget_stat = properties
        .get("stat")
        .and_then(Value::as_str)
        .unwrap_or("Average");
    let entries = properties
        .get("metrics")
        .and_then(Value::as_array)
        .ok_or_else(|| format!("widget {title:?} has no metrics"))?;

    let mut series: HashMap<String, Series> = HashMap::new();
    // (id, color, label, visible, right axis)
    let mut drawn: Vec<(String, Option<String>, String, bool, bool)> = Vec::new();
    let mut expressions: Vec<(String, String)> = Vec::new();
    let mut previous: Vec<Value> = Vec::new();
    let mut periods = None;
    for (index, entry) in entries.iter().enumerate() {
        let parts = entry
            .as_array()
            .ok_or_else(|| format!("widget {title:?}: metrics[{index}] is not an array"))?;
        let (options, fields) = match parts.last() {
            Some(Value::Object(options)) => (options.clone(), &parts[..parts.len() - 1]),
            _ => (Map::new(), &parts[..]),
        };
        let id = options
            .get("id")
            .and_then(Value::as_str)
            .map_or_else(|| format!("line{index}"), str::to_owned);
        let visible = options.get("visible").and_then(Value::as_bool).unwrap_or(true);
        let color = options.get("color").and_then(Value::as_str).map(str::to_owned);
        let right_axis = options.get("yAxis").and_then(Value::as_str) == Some("right");
        if let Some(expression) = options.get("expression").and_then(Value::as_str) {
            let label = options
                .get("label")
                .and_then(Value::as_str)
                .unwrap_or(expression)
                .to_owned();
            expressions.push((id.clone(), expression.to_owned()));
            drawn.push((id, color, label, visible, right_axis));
            continue;
        }
        let fields: &[Value] = if fields.len() == 1 && fields[0].as_str() == Some("...") {
            &previous
        } else {
            fields
        };
        let fields: Vec<Value> = fields
            .iter()
            .enumerate()
            .map(|(position, field)| match field.as_str() {
                Some(".") => previous.get(position).cloned().unwrap_or(Value::Null),
                _ => field.clone(),
            })
            .collect();
        previous = fields.clone();
        let text = |position: usize| fields.get(position).and_then(Value::as_str).unwrap_or_default();
        let dimensions: Vec<(&str, &str)> = (2..fields.len())
            .step_by(2)
            .map(|position| (text(position), text(position + 1)))
            .collect();
        let key = MetricKey::new(text(0), text(1), &dimensions);
        let period = options
            .get("period")
            .and_then(Value::as_i64)
            .unwrap_or(widget_period);
        periods.get_or_insert(period);
        let stat = options.get("stat").and_then(Value::as_str).unwrap_or(widget_stat);
        let statistic = Statistic::parse(stat).map_err(|error| format!("widget {title:?}: {error}"))?;
        series.insert(
            id.clone(),
            store.datapoints(&key, statistic, period, start_ms, end_ms - 1),
        );
        let label = options
            .get("label")
            .and_then(Value::as_str)
            .unwrap_or(text(1))
            .to_owned();
        drawn.push((id, color, label, visible, right_axis));
    }
    let period_s = periods.unwrap_or(widget_period);
    let length =
        ((end_ms - 1).div_euclid(period_s * 1000) - start_ms.div_euclid(period_s * 1000) + 1).max(0) as usize;
    evaluate_all(&expressions, &mut series, length).map_err(|error| format!("widget {title:?}: {error}"))?;
    let lines = drawn
        .into_iter()
        .filter(|(_, _, _, visible, _)| *visible)
        .map(|(id, color, label, _, right_axis)| Line {
            label,
            color,
            values: series.remove(&id).unwrap_or_default(),
            right_axis,
        })
        .collect();
    let annotations = properties
        .get("annotations")
        .and_then(|annotations| annotations.get("horizontal"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|annotation| {
            let value = annotation.get("value")?;
            let value = value.as_f64().or_else(|| value.as_str()?.parse().ok())?;
            Some(Annotation {
                label: annotation
                    .get("label")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                value,
                color: annotation.get("color").and_then(Value::as_str).map(str::to_owned),
            })
        })
        .collect();
    let axis = properties.get("yAxis").and_then(|axis| axis.get("left"));
    let bound = |name: &str| axis.and_then(|axis| axis.get(name)).and_then(Value::as_f64);
    Ok(MetricWidget {
        title,
        period_s,
        lines,
        annotations,
        y_range: (bound("min"), bound("max")),
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn shorthand_lines_expressions_and_annotations() {
        let mut store = MetricStore::new();
        let key = |name: &str| MetricKey::new("Orders", name, &[("Service", "f")]);
        store.put(key("RecordsProcessed"), 0, 90.0, 1.0);
        store.put(key("RecordsFailed"), 0, 10.0, 1.0);
        store.put(key("RecordsFailed"), 400_000, 5.0, 1.0);
        let properties = json!({
            "title": "Failure rate (%)", "period": 300, "stat": "Sum",
            "metrics": [
                [{"expression": "IF(processed + failed > 0, 100 * failed / (processed + failed), 0)", "label": "rate", "id": "rate"}],
                ["Orders", "RecordsProcessed", "Service", "f", {"id": "processed", "visible": false}],
                [".", "RecordsFailed", ".", ".", {"id": "failed", "label": "failed", "color": "#d62728"}]
            ],
            "yAxis": {"left": {"min": 0, "max": 100}},
            "annotations": {"horizontal": [{"label": "alarm", "value": 5, "color": "#d62728"}]}
        });
        let widget = compute(properties.as_object().unwrap(), &store, 0, 600_000).unwrap();
        assert_eq!(widget.period_s, 300);
        assert_eq!(
            widget.lines,
            [
                Line {
                    label: "rate".into(),
                    color: None,
                    values: vec![Some(10.0), None],
                    right_axis: false
                },
                Line {
                    label: "failed".into(),
                    color: Some("#d62728".into()),
                    values: vec![Some(10.0), Some(5.0)],
                    right_axis: false
                },
            ],
            "the hidden line is computed for the expression but not drawn"
        );
        assert_eq!(
            widget.annotations,
            [Annotation {
                label: "alarm".into(),
                value: 5.0,
                color: Some("#d62728".into())
            }]
        );
        assert_eq!(widget.y_range, (Some(0.0), Some(100.0)));
    }

    #[test]
    fn three_dots_repeat_the_line_above_with_other_options() {
        let mut store = MetricStore::new();
        let key = MetricKey::new("AWS/Lambda", "Duration", &[("FunctionName", "f")]);
        for value in [100.0, 200.0, 9_000.0] {
            store.put(key.clone(), 0, value, 1.0);
        }
        let properties = json!({
            "period": 60,
            "metrics": [
                ["AWS/Lambda", "Duration", "FunctionName", "f", {"stat": "p50", "label": "p50"}],
                ["...", {"stat": "Maximum", "label": "max", "yAxis": "right"}]
            ]
        });
        let widget = compute(properties.as_object().unwrap(), &store, 0, 60_000).unwrap();
        let lines: Vec<(&str, Series, bool)> = widget
            .lines
            .iter()
            .map(|line| (line.label.as_str(), line.values.clone(), line.right_axis))
            .collect();
        assert_eq!(
            lines,
            [
                ("p50", vec![Some(200.0)], false),
                ("max", vec![Some(9_000.0)], true)
            ]
        );
    }

    #[test]
    fn a_broken_widget_says_what_is_wrong() {
        let store = MetricStore::new();
        let properties = json!({"title": "t", "metrics": [[{"expression": "missing * 2", "id": "x"}]]});
        assert_eq!(
            compute(properties.as_object().unwrap(), &store, 0, 60_000).unwrap_err(),
            "widget \"t\": metric math \"missing * 2\": no query with id \"missing\""
        );
    }
}
