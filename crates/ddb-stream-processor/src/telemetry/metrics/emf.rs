//! The CloudWatch Embedded Metric Format encoder: metric values in, valid EMF documents out.
//!
//! # Why a module of our own
//! The notes list where the existing crates fall short of what this template promises:
//! `metrics_cloudwatch_embedded` 0.10 writes the invalid unit `Nanoseconds`, does not split at 100
//! metrics, drops histogram values beyond 100, keeps one process-global state (mixing concurrent
//! invocations) and panics when stdout fails; `metrique` enforces none of the 100/30/100 limits and
//! needs its own instrumentation instead of the `metrics` facade. The format itself is small, so
//! this module implements it with every limit enforced, and the tests validate its output against
//! the specification independently.
//!
//! # What "valid" means here (stricter than the specification where the two differ)
//! - at most [`MAX_METRICS_PER_DOCUMENT`] metric definitions per document and
//!   [`MAX_VALUES_PER_METRIC`] values per metric: more are split over several documents;
//! - at most [`MAX_DIMENSIONS`] dimensions per dimension set; every dimension a top-level string;
//! - only CloudWatch units ([`Unit`]); `Nanoseconds` from the facade is converted to microseconds;
//! - finite numbers only; metric names of 1 to 255 characters (CloudWatch's `MetricName` limit);
//! - a namespace of 1 to 256 characters from `[a-zA-Z0-9._#:/-]`, not starting with `AWS/`;
//! - `StorageResolution: 1` only when high resolution is asked for;
//! - documents under [`MAX_DOCUMENT_BYTES`] (the older 256 KB limit, with room to spare).
//!
//! What cannot be written validly is left out and reported in [`Encoded::dropped`], never written.

use std::collections::BTreeMap;

use serde_json::{Map, Number, Value};

/// The dimension every document carries; its value is the service name.
pub const SERVICE_DIMENSION: &str = "Service";
/// Metric definitions per document (specification: 100).
pub const MAX_METRICS_PER_DOCUMENT: usize = 100;
/// Values per metric in one document (specification: 100).
pub const MAX_VALUES_PER_METRIC: usize = 100;
/// Dimensions per dimension set (specification: 30).
pub const MAX_DIMENSIONS: usize = 30;
/// Metric name length (CloudWatch `MetricName`: 1 to 255).
pub const MAX_METRIC_NAME_LENGTH: usize = 255;
/// Dimension name length (the AWS client libraries' limit).
pub const MAX_DIMENSION_NAME_LENGTH: usize = 250;
/// Dimension value length (specification: 1024).
pub const MAX_DIMENSION_VALUE_LENGTH: usize = 1024;
/// Namespace length (the AWS client libraries' limit).
pub const MAX_NAMESPACE_LENGTH: usize = 256;
/// Serialized document size: well under the older 256 KB limit.
pub const MAX_DOCUMENT_BYTES: usize = 200 * 1024;

/// The units CloudWatch accepts, each variant named as CloudWatch spells it ([`Unit::as_str`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)] // a variant's name is its CloudWatch unit; a doc line each would repeat it
pub enum Unit {
    Seconds,
    Microseconds,
    Milliseconds,
    Bytes,
    Kilobytes,
    Megabytes,
    Gigabytes,
    Terabytes,
    Bits,
    Kilobits,
    Megabits,
    Gigabits,
    Terabits,
    Percent,
    Count,
    BytesPerSecond,
    KilobytesPerSecond,
    MegabytesPerSecond,
    GigabytesPerSecond,
    TerabytesPerSecond,
    BitsPerSecond,
    KilobitsPerSecond,
    MegabitsPerSecond,
    GigabitsPerSecond,
    TerabitsPerSecond,
    CountPerSecond,
    None,
}

impl Unit {
    /// The unit's name in an EMF document.
    pub fn as_str(self) -> &'static str {
        match self {
            Unit::Seconds => "Seconds",
            Unit::Microseconds => "Microseconds",
            Unit::Milliseconds => "Milliseconds",
            Unit::Bytes => "Bytes",
            Unit::Kilobytes => "Kilobytes",
            Unit::Megabytes => "Megabytes",
            Unit::Gigabytes => "Gigabytes",
            Unit::Terabytes => "Terabytes",
            Unit::Bits => "Bits",
            Unit::Kilobits => "Kilobits",
            Unit::Megabits => "Megabits",
            Unit::Gigabits => "Gigabits",
            Unit::Terabits => "Terabits",
            Unit::Percent => "Percent",
            Unit::Count => "Count",
            Unit::BytesPerSecond => "Bytes/Second",
            Unit::KilobytesPerSecond => "Kilobytes/Second",
            Unit::MegabytesPerSecond => "Megabytes/Second",
            Unit::GigabytesPerSecond => "Gigabytes/Second",
            Unit::TerabytesPerSecond => "Terabytes/Second",
            Unit::BitsPerSecond => "Bits/Second",
            Unit::KilobitsPerSecond => "Kilobits/Second",
            Unit::MegabitsPerSecond => "Megabits/Second",
            Unit::GigabitsPerSecond => "Gigabits/Second",
            Unit::TerabitsPerSecond => "Terabits/Second",
            Unit::CountPerSecond => "Count/Second",
            Unit::None => "None",
        }
    }

    /// The CloudWatch unit for a `metrics` facade unit, and the factor to apply to the values.
    /// The facade's `Nanoseconds` has no CloudWatch unit: values become microseconds.
    pub fn from_facade(unit: ::metrics::Unit) -> (Unit, f64) {
        use ::metrics::Unit as Facade;
        let unit = match unit {
            Facade::Nanoseconds => return (Unit::Microseconds, 1e-3),
            Facade::Count => Unit::Count,
            Facade::Percent => Unit::Percent,
            Facade::Seconds => Unit::Seconds,
            Facade::Milliseconds => Unit::Milliseconds,
            Facade::Microseconds => Unit::Microseconds,
            Facade::Tebibytes => Unit::Terabytes,
            Facade::Gibibytes => Unit::Gigabytes,
            Facade::Mebibytes => Unit::Megabytes,
            Facade::Kibibytes => Unit::Kilobytes,
            Facade::Bytes => Unit::Bytes,
            Facade::TerabitsPerSecond => Unit::TerabitsPerSecond,
            Facade::GigabitsPerSecond => Unit::GigabitsPerSecond,
            Facade::MegabitsPerSecond => Unit::MegabitsPerSecond,
            Facade::KilobitsPerSecond => Unit::KilobitsPerSecond,
            Facade::BitsPerSecond => Unit::BitsPerSecond,
            Facade::CountPerSecond => Unit::CountPerSecond,
        };
        (unit, 1.0)
    }
}

/// The values of one metric.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    /// One value, written as a number.
    Single(f64),
    /// Samples of a distribution, written as arrays of at most `MAX_VALUES_PER_METRIC` (100).
    Samples(Vec<f64>),
}

/// One metric to encode.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// The CloudWatch metric name.
    pub name: String,
    /// Extra dimensions (the facade's labels), added to `Service`.
    pub labels: Vec<(String, String)>,
    /// The CloudWatch unit.
    pub unit: Unit,
    /// The value or the samples.
    pub values: Values,
}

/// What every document of one flush shares.
#[derive(Debug, Clone, PartialEq)]
pub struct Directive {
    /// The CloudWatch namespace (validated with [`validate_namespace`]).
    pub namespace: String,
    /// The value of the `Service` dimension.
    pub service: String,
    /// Write `StorageResolution: 1` on every metric.
    pub high_resolution: bool,
    /// Milliseconds since the Unix epoch.
    pub timestamp_ms: i64,
    /// Top-level properties: searchable in Logs Insights, not dimensions.
    pub properties: BTreeMap<String, Value>,
}

/// The result of encoding: valid documents, and what had to be left out.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Encoded {
    /// One compact JSON document per entry, without a line break.
    pub documents: Vec<String>,
    /// Why each left-out metric or value was left out.
    pub dropped: Vec<String>,
}

/// Checks a namespace against the rules the AWS client libraries enforce.
pub fn validate_namespace(namespace: &str) -> Result<(), String> {
    if namespace.is_empty() || namespace.len() > MAX_NAMESPACE_LENGTH {
        return Err(format!("a namespace has 1 to {MAX_NAMESPACE_LENGTH} characters"));
    }
    if !namespace
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "._#:/-".contains(c))
    {
        return Err("a namespace has only letters, digits and . _ # : / -".into());
    }
    if namespace.starts_with("AWS/") {
        return Err("namespaces starting with AWS/ are reserved for AWS services".into());
    }
    Ok(())
}

/// Checks a dimension value (such as the service name).
pub fn validate_dimension_value(value: &str) -> Result<(), String> {
    if value.is_empty() || value.len() > MAX_DIMENSION_VALUE_LENGTH {
        return Err(format!(
            "a dimension value has 1 to {MAX_DIMENSION_VALUE_LENGTH} characters"
        ));
    }
    Ok(())
}

/// Encodes `metrics` into as few valid documents as the limits allow.
pub fn encode(metrics: Vec<Metric>, directive: &Directive) -> Encoded {
    let mut encoded = Encoded::default();
    let mut groups: BTreeMap<Vec<(String, String)>, Vec<Metric>> = BTreeMap::new();
    for mut metric in metrics {
        metric.labels.sort();
        match check_metric(&metric, directive) {
            Ok(()) => groups.entry(metric.labels.clone()).or_default().push(metric),
            Err(reason) => encoded
                .dropped
                .push(format!("metric {:?}: {reason}", metric.name)),
        }
    }
    for (labels, mut metrics) in groups {
        metrics.sort_by(|a, b| a.name.cmp(&b.name));
        encode_group(&labels, &metrics, directive, &mut encoded);
    }
    encoded
}

/// The reasons a metric cannot be written at all.
fn check_metric(metric: &Metric, directive: &Directive) -> Result<(), String> {
    let name = metric.name.as_str();
    if name.is_empty() || name.len() > MAX_METRIC_NAME_LENGTH {
        return Err(format!(
            "a metric name has 1 to {MAX_METRIC_NAME_LENGTH} characters"
        ));
    }
    if name == "_aws" || name == SERVICE_DIMENSION || directive.properties.contains_key(name) {
        return Err("the name is already a top-level key of the document".into());
    }
    if metric.labels.len() + 1 > MAX_DIMENSIONS {
        return Err(format!("more than {MAX_DIMENSIONS} dimensions"));
    }
    for (key, value) in &metric.labels {
        if key.is_empty() || key.len() > MAX_DIMENSION_NAME_LENGTH {
            return Err(format!(
                "the label {key:?} is not a dimension name of 1 to {MAX_DIMENSION_NAME_LENGTH} characters"
            ));
        }
        validate_dimension_value(value).map_err(|rule| format!("the label {key:?}: {rule}"))?;
        if key == "_aws" || key == SERVICE_DIMENSION || key == name || directive.properties.contains_key(key)
        {
            return Err(format!(
                "the label {key:?} is already a top-level key of the document"
            ));
        }
    }
    Ok(())
}

/// Encodes the metrics that share one label set.
fn encode_group(
    labels: &[(String, String)],
    metrics: &[Metric],
    directive: &Directive,
    encoded: &mut Encoded,
) {
    // Each metric's values, finite only, cut into chunks of at most MAX_VALUES_PER_METRIC.
    let mut chunked: Vec<(&Metric, Vec<Value>)> = Vec::with_capacity(metrics.len());
    for metric in metrics {
        let (values, is_single) = match &metric.values {
            Values::Single(value) => (std::slice::from_ref(value), true),
            Values::Samples(samples) => (samples.as_slice(), false),
        };
        let finite: Vec<f64> = values.iter().copied().filter(|value| value.is_finite()).collect();
        if finite.len() < values.len() {
            encoded.dropped.push(format!(
                "metric {:?}: {} value(s) that are not finite numbers",
                metric.name,
                values.len() - finite.len()
            ));
        }
        if finite.is_empty() {
            continue;
        }
        let chunks = if is_single {
            vec![number(finite[0])]
        } else {
            finite
                .chunks(MAX_VALUES_PER_METRIC)
                .map(|chunk| Value::Array(chunk.iter().copied().map(number).collect()))
                .collect()
        };
        chunked.push((metric, chunks));
    }

    // Round r holds chunk r of every metric that has one; each round is cut into documents of at
    // most MAX_METRICS_PER_DOCUMENT metrics.
    let rounds = chunked.iter().map(|(_, chunks)| chunks.len()).max().unwrap_or(0);
    for round in 0..rounds {
        let entries: Vec<(&Metric, &Value)> = chunked
            .iter()
            .filter_map(|(metric, chunks)| chunks.get(round).map(|chunk| (*metric, chunk)))
            .collect();
        for piece in entries.chunks(MAX_METRICS_PER_DOCUMENT) {
            push_within_size(labels, piece, directive, encoded);
        }
    }
}

/// Serializes `entries` as one document, halving the set until each document fits the size limit.
fn push_within_size(
    labels: &[(String, String)],
    entries: &[(&Metric, &Value)],
    directive: &Directive,
    encoded: &mut Encoded,
) {
    let document = document(labels, entries, directive);
    if document.len() > MAX_DOCUMENT_BYTES && entries.len() > 1 {
        let (first, second) = entries.split_at(entries.len() / 2);
        push_within_size(labels, first, directive, encoded);
        push_within_size(labels, second, directive, encoded);
    } else {
        encoded.documents.push(document);
    }
}

fn document(labels: &[(String, String)], entries: &[(&Metric, &Value)], directive: &Directive) -> String {
    let service = SERVICE_DIMENSION;
    let dimension_set: Vec<Value> = std::iter::once(service)
        .chain(labels.iter().map(|(key, _)| key.as_str()))
        .map(|name| Value::String(name.to_owned()))
        .collect();
    let definitions: Vec<Value> = entries
        .iter()
        .map(|(metric, _)| {
            let mut definition = Map::new();
            definition.insert("Name".into(), Value::String(metric.name.clone()));
            definition.insert("Unit".into(), Value::String(metric.unit.as_str().into()));
            if directive.high_resolution {
                definition.insert("StorageResolution".into(), Value::from(1));
            }
            Value::Object(definition)
        })
        .collect();

    let mut cloudwatch = Map::new();
    cloudwatch.insert("Namespace".into(), Value::String(directive.namespace.clone()));
    cloudwatch.insert(
        "Dimensions".into(),
        Value::Array(vec![Value::Array(dimension_set)]),
    );
    cloudwatch.insert("Metrics".into(), Value::Array(definitions));
    let mut aws = Map::new();
    aws.insert("Timestamp".into(), Value::from(directive.timestamp_ms));
    aws.insert(
        "CloudWatchMetrics".into(),
        Value::Array(vec![Value::Object(cloudwatch)]),
    );

    let mut root = Map::new();
    root.insert("_aws".into(), Value::Object(aws));
    root.insert(service.into(), Value::String(directive.service.clone()));
    for (key, value) in labels {
        root.insert(key.clone(), Value::String(value.clone()));
    }
    for (key, value) in &directive.properties {
        root.insert(key.clone(), value.clone());
    }
    for (metric, value) in entries {
        root.insert(metric.name.clone(), (*value).clone());
    }
    Value::Object(root).to_string()
}

/// A JSON number, written as an integer when it is one (`3`, not `3.0`).
fn number(value: f64) -> Value {
    const EXACT_INTEGER_LIMIT: f64 = 9_007_199_254_740_992.0; // 2^53
    if value.fract() == 0.0 && value.abs() < EXACT_INTEGER_LIMIT {
        Value::from(value as i64)
    } else {
        Number::from_f64(value).map_or(Value::Null, Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn directive() -> Directive {
        Directive {
            namespace: "Test".into(),
            service: "orders".into(),
            high_resolution: false,
            timestamp_ms: 1_700_000_000_000,
            properties: BTreeMap::from([("requestId".to_owned(), Value::from("r-1"))]),
        }
    }

    fn counter(name: &str, value: f64) -> Metric {
        Metric {
            name: name.into(),
            labels: Vec::new(),
            unit: Unit::Count,
            values: Values::Single(value),
        }
    }

    #[test]
    fn namespaces_follow_the_client_library_rules() {
        assert_eq!(validate_namespace("DdbStreamProcessor"), Ok(()));
        assert_eq!(validate_namespace("team/app:v1.2#x_y-z"), Ok(()));
        assert!(validate_namespace("").is_err());
        assert!(validate_namespace("has space").is_err());
        assert!(validate_namespace("AWS/Lambda").is_err());
        assert!(validate_namespace(&"n".repeat(257)).is_err());
    }

    #[test]
    fn integers_are_written_as_integers_and_fractions_as_fractions() {
        assert_eq!(number(3.0).to_string(), "3");
        assert_eq!(number(2.5).to_string(), "2.5");
        assert_eq!(number(-0.0).to_string(), "0");
    }

    #[test]
    fn non_finite_values_are_dropped_and_reported() {
        let encoded = encode(
            vec![
                counter("Bad", f64::NAN),
                Metric {
                    values: Values::Samples(vec![1.0, f64::INFINITY, 2.0]),
                    ..counter("Mixed", 0.0)
                },
            ],
            &directive(),
        );
        assert_eq!(encoded.documents.len(), 1);
        let document: Value = serde_json::from_str(&encoded.documents[0]).unwrap();
        assert_eq!(document["Mixed"], serde_json::json!([1, 2]));
        assert!(document.get("Bad").is_none());
        assert_eq!(encoded.dropped.len(), 2, "{:?}", encoded.dropped);
    }

    #[test]
    fn names_that_collide_with_other_keys_are_dropped() {
        let encoded = encode(
            vec![
                counter("Service", 1.0),
                counter("requestId", 1.0),
                counter(&"x".repeat(256), 1.0),
                Metric {
                    labels: vec![("requestId".into(), "x".into())],
                    ..counter("Labelled", 1.0)
                },
                counter("Fine", 1.0),
            ],
            &directive(),
        );
        assert_eq!(encoded.dropped.len(), 4, "{:?}", encoded.dropped);
        assert_eq!(encoded.documents.len(), 1);
        assert!(encoded.documents[0].contains("\"Fine\":1"));
    }

    #[test]
    fn the_facade_units_map_to_cloudwatch_units() {
        assert_eq!(
            Unit::from_facade(::metrics::Unit::Nanoseconds),
            (Unit::Microseconds, 1e-3)
        );
        assert_eq!(
            Unit::from_facade(::metrics::Unit::CountPerSecond),
            (Unit::CountPerSecond, 1.0)
        );
        assert_eq!(Unit::CountPerSecond.as_str(), "Count/Second");
    }
}
