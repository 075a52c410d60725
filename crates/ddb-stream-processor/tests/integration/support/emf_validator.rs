//! An EMF validator written from the specification, independent of the encoder under test.
//!
//! It checks the JSON shape of the specification's schema and the limits from the notes, with its own
//! literal numbers (never the encoder's constants), so a wrong constant in the encoder cannot make a
//! wrong document pass. Where CloudWatch is stricter than the EMF page (metric names), it checks
//! CloudWatch's rule.

use std::collections::{BTreeMap, HashSet};

use serde_json::Value;

const UNITS: &[&str] = &[
    "Seconds",
    "Microseconds",
    "Milliseconds",
    "Bytes",
    "Kilobytes",
    "Megabytes",
    "Gigabytes",
    "Terabytes",
    "Bits",
    "Kilobits",
    "Megabits",
    "Gigabits",
    "Terabits",
    "Percent",
    "Count",
    "Bytes/Second",
    "Kilobytes/Second",
    "Megabytes/Second",
    "Gigabytes/Second",
    "Terabytes/Second",
    "Bits/Second",
    "Kilobits/Second",
    "Megabits/Second",
    "Gigabits/Second",
    "Terabits/Second",
    "Count/Second",
    "None",
];

/// Checks one document; `now_ms` is the reference for the timestamp window (14 days back, 2 h ahead).
pub fn validate(document: &str, now_ms: i64) -> Result<(), String> {
    if document.len() > 256_000 {
        return Err(format!("{} bytes, more than 256 KB", document.len()));
    }
    if document.contains('\n') {
        return Err("a document must be one line".into());
    }
    let root: Value = serde_json::from_str(document).map_err(|error| format!("not JSON: {error}"))?;
    let root = root.as_object().ok_or("the document is not a JSON object")?;
    let aws = root
        .get("_aws")
        .and_then(Value::as_object)
        .ok_or("no _aws object")?;
    let timestamp = aws
        .get("Timestamp")
        .and_then(Value::as_i64)
        .ok_or("_aws.Timestamp is not an integer")?;
    if timestamp < now_ms - 14 * 24 * 3_600_000 || timestamp > now_ms + 2 * 3_600_000 {
        return Err(format!(
            "Timestamp {timestamp} is outside 14 days back / 2 hours ahead of {now_ms}"
        ));
    }
    let directives = aws
        .get("CloudWatchMetrics")
        .and_then(Value::as_array)
        .ok_or("_aws.CloudWatchMetrics is not an array")?;
    if directives.is_empty() {
        return Err("CloudWatchMetrics is empty".into());
    }
    for directive in directives {
        let directive = directive.as_object().ok_or("a directive is not an object")?;
        let namespace = directive
            .get("Namespace")
            .and_then(Value::as_str)
            .ok_or("Namespace is not a string")?;
        if namespace.is_empty()
            || namespace.len() > 256
            || namespace.starts_with("AWS/")
            || !namespace
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._#:/-".contains(c))
        {
            return Err(format!("invalid Namespace {namespace:?}"));
        }
        let dimension_sets = directive
            .get("Dimensions")
            .and_then(Value::as_array)
            .ok_or("Dimensions is not an array")?;
        if dimension_sets.is_empty() {
            return Err("Dimensions needs at least one dimension set".into());
        }
        for set in dimension_sets {
            let set = set.as_array().ok_or("a dimension set is not an array")?;
            if set.len() > 30 {
                return Err(format!(
                    "a dimension set has {} dimensions, more than 30",
                    set.len()
                ));
            }
            for name in set {
                let name = name.as_str().ok_or("a dimension name is not a string")?;
                if name.is_empty() || name.len() > 250 {
                    return Err(format!("dimension name {name:?} is not 1 to 250 characters"));
                }
                let value = root
                    .get(name)
                    .and_then(Value::as_str)
                    .ok_or_else(|| format!("dimension {name:?} has no top-level string value"))?;
                if value.is_empty() || value.len() > 1024 {
                    return Err(format!("dimension {name:?} value is not 1 to 1024 characters"));
                }
            }
        }
        let definitions = directive
            .get("Metrics")
            .and_then(Value::as_array)
            .ok_or("Metrics is not an array")?;
        if definitions.len() > 100 {
            return Err(format!("{} metric definitions, more than 100", definitions.len()));
        }
        let mut names = HashSet::new();
        for definition in definitions {
            let definition = definition
                .as_object()
                .ok_or("a metric definition is not an object")?;
            let name = definition
                .get("Name")
                .and_then(Value::as_str)
                .ok_or("a metric definition has no Name")?;
            if name.is_empty() || name.len() > 255 {
                return Err(format!("metric name {name:?} is not 1 to 255 characters"));
            }
            if !names.insert(name) {
                return Err(format!("metric {name:?} is defined twice"));
            }
            if let Some(unit) = definition.get("Unit") {
                let unit = unit.as_str().ok_or("Unit is not a string")?;
                if !UNITS.contains(&unit) {
                    return Err(format!("{unit:?} is not a CloudWatch unit"));
                }
            }
            if let Some(resolution) = definition.get("StorageResolution") {
                if resolution != 1 && resolution != 60 {
                    return Err(format!("StorageResolution {resolution} is neither 1 nor 60"));
                }
            }
            match root.get(name) {
                Some(Value::Number(number)) if number.as_f64().is_some_and(f64::is_finite) => {}
                Some(Value::Array(values)) => {
                    if values.is_empty() || values.len() > 100 {
                        return Err(format!(
                            "metric {name:?} has {} values, not 1 to 100",
                            values.len()
                        ));
                    }
                    if !values
                        .iter()
                        .all(|value| value.as_f64().is_some_and(f64::is_finite))
                    {
                        return Err(format!("metric {name:?} has a value that is not a finite number"));
                    }
                }
                other => {
                    return Err(format!(
                        "metric {name:?} has no numeric top-level value: {other:?}"
                    ));
                }
            }
        }
    }
    Ok(())
}

/// Validates every document, failing the test with the offending document.
pub fn assert_valid(documents: &[String], now_ms: i64) {
    for document in documents {
        if let Err(problem) = validate(document, now_ms) {
            panic!("invalid EMF document ({problem}): {document}");
        }
    }
}

/// The metric values of a flush, parsed back: every value of every metric, over all documents.
pub fn values_by_metric(documents: &[String]) -> BTreeMap<String, Vec<f64>> {
    let mut values: BTreeMap<String, Vec<f64>> = BTreeMap::new();
    for document in documents {
        let root: Value = serde_json::from_str(document).unwrap();
        for directive in root["_aws"]["CloudWatchMetrics"].as_array().unwrap() {
            for definition in directive["Metrics"].as_array().unwrap() {
                let name = definition["Name"].as_str().unwrap();
                let entry = values.entry(name.to_owned()).or_default();
                match &root[name] {
                    Value::Array(items) => entry.extend(items.iter().map(|item| item.as_f64().unwrap())),
                    single => entry.push(single.as_f64().unwrap()),
                }
            }
        }
    }
    values
}

#[test]
fn the_validator_rejects_what_the_specification_forbids() {
    let now = 1_800_000_000_000_i64;
    let good = serde_json::json!({
        "_aws": {"Timestamp": now, "CloudWatchMetrics": [{"Namespace": "N", "Dimensions": [["Service"]],
            "Metrics": [{"Name": "M", "Unit": "Count"}]}]},
        "Service": "s", "M": 1
    });
    assert_eq!(validate(&good.to_string(), now), Ok(()));
    let broken = |edit: &dyn Fn(&mut Value)| {
        let mut document = good.clone();
        edit(&mut document);
        validate(&document.to_string(), now)
    };
    assert!(
        broken(&|d| d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Unit"] = "Nanoseconds".into()).is_err()
    );
    assert!(broken(&|d| d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = serde_json::json!([])).is_err());
    assert!(broken(&|d| d["_aws"]["CloudWatchMetrics"][0]["Namespace"] = "AWS/Lambda".into()).is_err());
    assert!(broken(&|d| d["M"] = serde_json::json!((0..101).collect::<Vec<_>>())).is_err());
    assert!(broken(&|d| d["M"] = serde_json::json!([])).is_err());
    assert!(broken(&|d| d["M"] = "1".into()).is_err());
    assert!(broken(&|d| d["Service"] = serde_json::json!(1)).is_err());
    assert!(broken(&|d| d["_aws"]["Timestamp"] = (now - 15 * 24 * 3_600_000).into()).is_err());
    assert!(
        broken(&|d| d["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["StorageResolution"] = 5.into()).is_err()
    );
    assert!(
        broken(&|d| {
            let set: Vec<String> = (0..31).map(|i| format!("D{i}")).collect();
            for name in &set {
                d[name.as_str()] = "v".into();
            }
            d["_aws"]["CloudWatchMetrics"][0]["Dimensions"] = serde_json::json!([set]);
        })
        .is_err()
    );
}
