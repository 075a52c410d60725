//! Metrics as CloudWatch holds them: samples per metric (namespace, name, dimensions), and datapoints
//! per period with a statistic, as an alarm or a dashboard widget reads them.
//!
//! The function's own metrics enter as the EMF documents it wrote ([`MetricStore::ingest_emf`]),
//! read the way CloudWatch Logs extracts them: every dimension set of a directive is a metric of its
//! own, a value is a number, an array of numbers, or `{"Values": […], "Counts": […]}`. A line that is
//! not an EMF document is a plain log line; an EMF document that breaks the specification yields no
//! metric and counts as an `EMFValidationErrors` of the log group, as in CloudWatch. Metrics AWS
//! itself publishes (AWS/Lambda, AWS/SQS, …) enter with [`MetricStore::put`].
//!
//! Periods are aligned to multiples of their length since the epoch, as alarm periods are.

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;

use super::statistics::{Sample, Statistic};

/// The identity of a metric.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MetricKey {
    /// The namespace (`DdbStreamProcessor`, `AWS/Lambda`, …).
    pub namespace: String,
    /// The metric name.
    pub name: String,
    /// Dimension names and values.
    pub dimensions: BTreeMap<String, String>,
}

impl MetricKey {
    /// A metric with these dimensions.
    pub fn new(namespace: &str, name: &str, dimensions: &[(&str, &str)]) -> Self {
        Self {
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            dimensions: dimensions
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        }
    }
}

/// Why an EMF document yields no metric.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmfError {
    /// The `_aws` metadata is not what the specification requires.
    #[error("the EMF metadata is invalid: {0}")]
    Metadata(String),
    /// A declared metric or dimension has no usable value at the top level.
    #[error("{0}")]
    Value(String),
}

/// Every sample the scenario produced, by metric.
#[derive(Debug, Clone, Default)]
pub struct MetricStore {
    samples: HashMap<MetricKey, Vec<(i64, Sample)>>,
    /// Timestamps (ms) of the EMF documents CloudWatch would have rejected.
    emf_errors: Vec<i64>,
}

impl MetricStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records `value` (`count` times) for `key` at `timestamp_ms`.
    pub fn put(&mut self, key: MetricKey, timestamp_ms: i64, value: f64, count: f64) {
        self.samples
            .entry(key)
            .or_default()
            .push((timestamp_ms, Sample { value, count }));
    }

    /// Reads one line of the function's output. Returns how many metric samples it added (0 for a
    /// plain log line). An invalid EMF document adds nothing, is counted as an EMF validation error at
    /// `received_ms` (when CloudWatch Logs would have received it), and is returned as the error.
    pub fn ingest_emf(&mut self, line: &str, received_ms: i64) -> Result<usize, EmfError> {
        let Ok(Value::Object(document)) = serde_json::from_str::<Value>(line) else {
            return Ok(0);
        };
        let Some(metadata) = document.get("_aws") else {
            return Ok(0);
        };
        match extract(&document, metadata) {
            Ok(extracted) => {
                let added = extracted.len();
                for (key, timestamp, sample) in extracted {
                    self.samples.entry(key).or_default().push((timestamp, sample));
                }
                Ok(added)
            }
            Err(error) => {
                self.emf_errors.push(received_ms);
                Err(error)
            }
        }
    }

    /// The timestamps (ms) of the EMF documents that were rejected.
    pub fn emf_errors(&self) -> &[i64] {
        &self.emf_errors
    }

    /// Every metric with at least one sample.
    pub fn metrics(&self) -> impl Iterator<Item = &MetricKey> {
        self.samples.keys()
    }

    /// One datapoint per period of `period_s` seconds from the period holding `from_ms` up to the one
    /// holding `to_ms` (both included): the statistic over that period's samples, `None` when the
    /// period has none.
    pub fn datapoints(
        &self,
        key: &MetricKey,
        statistic: Statistic,
        period_s: i64,
        from_ms: i64,
        to_ms: i64,
    ) -> Vec<Option<f64>> {
        let period_ms = period_s * 1000;
        let first = from_ms.div_euclid(period_ms);
        let last = to_ms.div_euclid(period_ms);
        if last < first {
            return Vec::new();
        }
        let mut buckets: Vec<Vec<Sample>> = vec![Vec::new(); (last - first + 1) as usize];
        for (timestamp, sample) in self.samples.get(key).into_iter().flatten() {
            let period = timestamp.div_euclid(period_ms);
            if (first..=last).contains(&period) {
                buckets[(period - first) as usize].push(*sample);
            }
        }
        buckets.iter().map(|samples| statistic.of(samples)).collect()
    }
}

/// The samples of one valid EMF document.
fn extract(
    document: &serde_json::Map<String, Value>,
    metadata: &Value,
) -> Result<Vec<(MetricKey, i64, Sample)>, EmfError> {
    let metadata_error = |what: &str| EmfError::Metadata(what.to_owned());
    let timestamp = metadata
        .get("Timestamp")
        .and_then(Value::as_i64)
        .ok_or_else(|| metadata_error("_aws.Timestamp is not a whole number of milliseconds"))?;
    let directives = metadata
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .ok_or_else(|| metadata_error("_aws.CloudWatchMetrics is not an array"))?;
    let mut extracted = Vec::new();
    for directive in directives {
        let namespace = directive
            .get("Namespace")
            .and_then(Value::as_str)
            .filter(|namespace| !namespace.is_empty())
            .ok_or_else(|| metadata_error("a directive has no Namespace"))?;
        let dimension_sets = directive
            .get("Dimensions")
            .and_then(Value::as_array)
            .filter(|sets| !sets.is_empty())
            .ok_or_else(|| metadata_error("a directive has no Dimensions array with at least one set"))?;
        let metrics = directive
            .get("Metrics")
            .and_then(Value::as_array)
            .ok_or_else(|| metadata_error("a directive has no Metrics array"))?;
        let mut sets = Vec::new();
        for set in dimension_sets {
            let names = set
                .as_array()
                .ok_or_else(|| metadata_error("a dimension set is not an array of names"))?;
            let mut dimensions = BTreeMap::new();
            for name in names {
                let name = name
                    .as_str()
                    .ok_or_else(|| metadata_error("a dimension name is not a string"))?;
                let value = document.get(name).and_then(Value::as_str).ok_or_else(|| {
                    EmfError::Value(format!("dimension {name:?} has no string value at the top level"))
                })?;
                dimensions.insert(name.to_owned(), value.to_owned());
            }
            sets.push(dimensions);
        }
        for metric in metrics {
            let name = metric
                .get("Name")
                .and_then(Value::as_str)
                .ok_or_else(|| metadata_error("a metric has no Name"))?;
            let samples = samples_of(name, document.get(name))?;
            for dimensions in &sets {
                let key = MetricKey {
                    namespace: namespace.to_owned(),
                    name: name.to_owned(),
                    dimensions: dimensions.clone(),
                };
                extracted.extend(samples.iter().map(|sample| (key.clone(), timestamp, *sample)));
            }
        }
    }
    Ok(extracted)
}

/// The samples of one metric's top-level value.
fn samples_of(name: &str, value: Option<&Value>) -> Result<Vec<Sample>, EmfError> {
    let bad = |what: &str| EmfError::Value(format!("metric {name:?} {what}"));
    let number = |value: &Value| value.as_f64().filter(|number| number.is_finite());
    match value {
        None => Err(bad("has no value at the top level")),
        Some(Value::Array(values)) => values
            .iter()
            .map(|value| number(value).map(|value| Sample { value, count: 1.0 }))
            .collect::<Option<Vec<_>>>()
            .ok_or_else(|| bad("has an array value that is not all numbers")),
        Some(Value::Object(histogram)) => {
            let values = histogram.get("Values").and_then(Value::as_array);
            let counts = histogram.get("Counts").and_then(Value::as_array);
            match (values, counts) {
                (Some(values), Some(counts)) if values.len() == counts.len() => values
                    .iter()
                    .zip(counts)
                    .map(|(value, count)| {
                        Some(Sample {
                            value: number(value)?,
                            count: number(count)?,
                        })
                    })
                    .collect::<Option<Vec<_>>>()
                    .ok_or_else(|| bad("has Values or Counts that are not all numbers")),
                _ => Err(bad("is an object without Values and Counts of the same length")),
            }
        }
        Some(value) => number(value)
            .map(|value| vec![Sample { value, count: 1.0 }])
            .ok_or_else(|| bad("is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const MINUTE: i64 = 60_000;

    fn document(timestamp: i64, metrics: Value) -> String {
        let mut document = json!({
            "_aws": {
                "Timestamp": timestamp,
                "CloudWatchMetrics": [{
                    "Namespace": "Orders",
                    "Dimensions": [["Service"], []],
                    "Metrics": [{"Name": "RecordsFailed", "Unit": "Count"}, {"Name": "Latency", "Unit": "Milliseconds"}]
                }]
            },
            "Service": "orders",
            "requestId": "r-1"
        });
        for (name, value) in metrics.as_object().unwrap() {
            document[name] = value.clone();
        }
        document.to_string()
    }

    fn failed(dimensions: &[(&str, &str)]) -> MetricKey {
        MetricKey::new("Orders", "RecordsFailed", dimensions)
    }

    #[test]
    fn every_dimension_set_is_a_metric_and_values_land_in_their_period() {
        let mut store = MetricStore::new();
        let added = store
            .ingest_emf(
                &document(MINUTE + 5, json!({"RecordsFailed": 2, "Latency": [3, 5]})),
                0,
            )
            .unwrap();
        assert_eq!(added, 6, "(1 + 2 samples) × 2 dimension sets");
        store
            .ingest_emf(
                &document(3 * MINUTE, json!({"RecordsFailed": 1, "Latency": 7})),
                0,
            )
            .unwrap();

        let sums = store.datapoints(
            &failed(&[("Service", "orders")]),
            Statistic::Sum,
            60,
            0,
            3 * MINUTE,
        );
        assert_eq!(sums, [None, Some(2.0), None, Some(1.0)]);
        assert_eq!(
            store.datapoints(&failed(&[]), Statistic::Sum, 120, 0, 3 * MINUTE),
            [Some(2.0), Some(1.0)],
            "the dimensionless set, two-minute periods"
        );
        let latency = MetricKey::new("Orders", "Latency", &[("Service", "orders")]);
        assert_eq!(
            store.datapoints(&latency, Statistic::Maximum, 300, 0, 4 * MINUTE),
            [Some(7.0)]
        );
        assert_eq!(
            store.datapoints(&latency, Statistic::SampleCount, 300, 0, 4 * MINUTE),
            [Some(3.0)]
        );
        assert_eq!(store.metrics().count(), 4);
    }

    #[test]
    fn values_and_counts_are_weighted_samples() {
        let mut store = MetricStore::new();
        store
            .ingest_emf(
                &document(
                    0,
                    json!({"RecordsFailed": 0, "Latency": {"Values": [10, 500], "Counts": [98, 2]}}),
                ),
                0,
            )
            .unwrap();
        let latency = MetricKey::new("Orders", "Latency", &[]);
        assert_eq!(
            store.datapoints(&latency, Statistic::Percentile(99.0), 60, 0, 0),
            [Some(500.0)]
        );
        assert_eq!(
            store.datapoints(&latency, Statistic::SampleCount, 60, 0, 0),
            [Some(100.0)]
        );
    }

    #[test]
    fn plain_log_lines_are_not_metrics() {
        let mut store = MetricStore::new();
        for line in [
            "not json",
            "{\"level\":\"INFO\",\"message\":\"batch done\"}",
            "[1,2]",
            "",
        ] {
            assert_eq!(store.ingest_emf(line, 0), Ok(0), "{line:?}");
        }
        assert!(store.emf_errors().is_empty());
    }

    #[test]
    fn an_invalid_document_adds_nothing_and_counts_as_an_emf_error() {
        let mut store = MetricStore::new();
        let cases = [
            (document(0, json!({"Latency": 1})), "metric \"RecordsFailed\" has no value at the top level"),
            (
                document(0, json!({"RecordsFailed": "2", "Latency": 1})),
                "metric \"RecordsFailed\" is not a number",
            ),
            (
                document(0, json!({"RecordsFailed": [1, "x"], "Latency": 1})),
                "metric \"RecordsFailed\" has an array value that is not all numbers",
            ),
            (
                json!({"_aws": {"Timestamp": 0, "CloudWatchMetrics": [{"Namespace": "Orders", "Dimensions": [], "Metrics": []}]}})
                    .to_string(),
                "the EMF metadata is invalid: a directive has no Dimensions array with at least one set",
            ),
            (
                json!({"_aws": {"Timestamp": "now", "CloudWatchMetrics": []}}).to_string(),
                "the EMF metadata is invalid: _aws.Timestamp is not a whole number of milliseconds",
            ),
        ];
        for (index, (line, message)) in cases.iter().enumerate() {
            let error = store.ingest_emf(line, index as i64 * MINUTE).unwrap_err();
            assert_eq!(error.to_string(), *message);
        }
        assert_eq!(
            store.metrics().count(),
            0,
            "nothing of a rejected document is kept"
        );
        assert_eq!(
            store.emf_errors(),
            [0, MINUTE, 2 * MINUTE, 3 * MINUTE, 4 * MINUTE]
        );
    }

    #[test]
    fn aws_metrics_are_put_directly() {
        let mut store = MetricStore::new();
        let errors = MetricKey::new("AWS/Lambda", "Errors", &[("FunctionName", "orders")]);
        store.put(errors.clone(), 30_000, 1.0, 1.0);
        store.put(errors.clone(), 45_000, 1.0, 1.0);
        assert_eq!(
            store.datapoints(&errors, Statistic::Sum, 60, 0, 2 * MINUTE),
            [Some(2.0), None, None]
        );
        assert_eq!(
            store.datapoints(&errors, Statistic::Sum, 60, MINUTE, 0),
            Vec::<Option<f64>>::new()
        );
    }
}
