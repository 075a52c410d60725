//! The contract between the code and what watches it: a dashboard or alarm can only name a metric
//! the function writes (the [catalog](ddb_stream_processor::telemetry::metrics::catalog), in the
//! `${MetricsNamespace}` namespace with the `Service` dimension), or an AWS metric that exists with
//! the dimensions it has. And every metric of the catalog is on a dashboard, so nothing the
//! function measures goes unseen.

use std::collections::BTreeSet;

use ddb_stream_processor::telemetry::metrics::catalog::{CATALOG, SERVICE_DIMENSION};
use serde_json::Value;

use super::dashboard::metric_rows;
use super::{MetricRef, Problem};
use crate::definitions::{AlarmDefinition, Definitions};
use crate::variables::{FUNCTION, METRICS_NAMESPACE};

/// AWS metrics the definitions may name: namespace, metric names, and the dimension names they have.
pub const AWS_METRICS: &[(&str, &[&str], &[&str])] = &[
    (
        "AWS/Lambda",
        &[
            "Invocations",
            "Errors",
            "Throttles",
            "Duration",
            "ConcurrentExecutions",
            "IteratorAge",
            "DestinationDeliveryFailures",
        ],
        &["FunctionName"],
    ),
    (
        "AWS/Lambda",
        &[
            "PolledEventCount",
            "FilteredOutEventCount",
            "InvokedEventCount",
            "FailedInvokeEventCount",
            "DroppedEventCount",
            "OnFailureDestinationDeliveredEventCount",
        ],
        &["EventSourceMappingUUID"],
    ),
    (
        "AWS/SQS",
        &[
            "ApproximateNumberOfMessagesVisible",
            "ApproximateAgeOfOldestMessage",
            "NumberOfMessagesSent",
        ],
        &["QueueName"],
    ),
    (
        "AWS/Logs",
        &["EMFValidationErrors", "EMFParsingErrors"],
        &["LogGroupName"],
    ),
];

/// Every metric a dashboard names, with where.
pub fn dashboard_metrics(definitions: &Definitions) -> Vec<(String, MetricRef)> {
    let mut metrics = Vec::new();
    for dashboard in &definitions.dashboards {
        let widgets = dashboard.body.get("widgets").and_then(Value::as_array);
        for (index, widget) in widgets.into_iter().flatten().enumerate() {
            let rows = widget.pointer("/properties/metrics").and_then(Value::as_array);
            if let Some(Ok(rows)) = rows.map(|rows| metric_rows(rows)) {
                let location = format!("dashboards/{}.json widgets[{index}]", dashboard.name);
                metrics.extend(rows.into_iter().map(|metric| (location.clone(), metric)));
            }
        }
    }
    metrics
}

/// Every metric an alarm watches (its single metric, or each `MetricStat` of its metric math).
pub fn alarm_metrics(alarm: &AlarmDefinition) -> Vec<MetricRef> {
    let dimensions = |value: Option<&Value>| -> Vec<(String, String)> {
        value
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .map(|dimension| {
                let text = |key: &str| {
                    dimension
                        .get(key)
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_owned()
                };
                (text("Name"), text("Value"))
            })
            .collect()
    };
    if let Some(name) = alarm.text("MetricName") {
        return vec![MetricRef {
            namespace: alarm.text("Namespace").unwrap_or_default().to_owned(),
            name: name.to_owned(),
            dimensions: dimensions(alarm.properties.get("Dimensions")),
        }];
    }
    let queries = alarm.properties.get("Metrics").and_then(Value::as_array);
    queries
        .into_iter()
        .flatten()
        .filter_map(|query| query.pointer("/MetricStat/Metric"))
        .map(|metric| MetricRef {
            namespace: metric
                .get("Namespace")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            name: metric
                .get("MetricName")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            dimensions: dimensions(metric.get("Dimensions")),
        })
        .collect()
}

/// Checks that every metric named exists, and that every catalog metric is on a dashboard.
pub fn check(definitions: &Definitions) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut named: Vec<(String, MetricRef)> = dashboard_metrics(definitions);
    for alarm in &definitions.alarms {
        let location = format!("alarms/{}.json", alarm.name);
        named.extend(
            alarm_metrics(alarm)
                .into_iter()
                .map(|metric| (location.clone(), metric)),
        );
    }
    for (location, metric) in &named {
        if let Some(message) = unknown_metric(metric) {
            problems.push(Problem {
                location: location.clone(),
                message,
            });
        }
    }
    let on_dashboards: BTreeSet<String> = dashboard_metrics(definitions)
        .into_iter()
        .filter(|(_, metric)| metric.namespace == own_namespace())
        .map(|(_, metric)| metric.name)
        .collect();
    for definition in CATALOG {
        if !on_dashboards.contains(definition.name) {
            problems.push(Problem {
                location: "dashboards/".into(),
                message: format!("the catalog metric {} is on no dashboard", definition.name),
            });
        }
    }
    problems
}

fn own_namespace() -> String {
    format!("${{{METRICS_NAMESPACE}}}")
}

/// Why `metric` does not exist, or `None` when it does.
fn unknown_metric(metric: &MetricRef) -> Option<String> {
    let dimension_names: Vec<&str> = metric.dimensions.iter().map(|(name, _)| name.as_str()).collect();
    if metric.namespace == own_namespace() {
        if !CATALOG.iter().any(|definition| definition.name == metric.name) {
            return Some(format!(
                "{} is not a metric the function writes (not in the catalog)",
                metric.name
            ));
        }
        let service = (SERVICE_DIMENSION.to_owned(), format!("${{{FUNCTION}}}"));
        if metric.dimensions != [service] {
            return Some(format!(
                "{} has the dimensions {:?}; the function writes it with Service = ${{{FUNCTION}}} only",
                metric.name, metric.dimensions
            ));
        }
        return None;
    }
    if !metric.namespace.starts_with("AWS/") {
        return Some(format!(
            "namespace {:?} is neither the function's (${{{METRICS_NAMESPACE}}}) nor an AWS one",
            metric.namespace
        ));
    }
    let known = AWS_METRICS.iter().find(|(namespace, names, _)| {
        *namespace == metric.namespace && names.contains(&metric.name.as_str())
    });
    match known {
        None => Some(format!(
            "{} {} is not a known AWS metric",
            metric.namespace, metric.name
        )),
        Some((_, _, dimensions)) if dimension_names != *dimensions => Some(format!(
            "{} {} is published with the dimensions {:?}, not {:?}",
            metric.namespace, metric.name, dimensions, dimension_names
        )),
        Some(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metric(namespace: &str, name: &str, dimensions: &[(&str, &str)]) -> MetricRef {
        MetricRef {
            namespace: namespace.into(),
            name: name.into(),
            dimensions: dimensions
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        }
    }

    #[test]
    fn names_unknown_metrics_and_wrong_dimensions() {
        let own = "${MetricsNamespace}";
        assert_eq!(
            unknown_metric(&metric(
                own,
                "RecordsFailed",
                &[("Service", "${StreamProcessorFunction}")]
            )),
            None
        );
        assert!(
            unknown_metric(&metric(
                own,
                "RecordFailures",
                &[("Service", "${StreamProcessorFunction}")]
            ))
            .unwrap()
            .contains("not in the catalog")
        );
        assert!(
            unknown_metric(&metric(own, "RecordsFailed", &[("Function", "x")]))
                .unwrap()
                .contains("Service")
        );
        assert_eq!(
            unknown_metric(&metric("AWS/Lambda", "Errors", &[("FunctionName", "f")])),
            None
        );
        assert!(
            unknown_metric(&metric("AWS/Lambda", "Errors", &[("QueueName", "f")]))
                .unwrap()
                .contains("dimensions")
        );
        assert!(
            unknown_metric(&metric("AWS/Lambda", "Error", &[("FunctionName", "f")]))
                .unwrap()
                .contains("not a known")
        );
        assert!(
            unknown_metric(&metric("Custom", "X", &[]))
                .unwrap()
                .contains("neither")
        );
    }
}
