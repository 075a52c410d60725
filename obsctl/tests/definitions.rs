//! The repository's own dashboards and alarms: up to date in template.yaml, valid, and watching
//! metrics the function really writes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use ddb_stream_processor::engine::EngineConfig;
use ddb_stream_processor::telemetry::metrics::sink::MemorySink;
use ddb_stream_processor::telemetry::metrics::{Metrics, MetricsConfig};
use ddb_stream_processor::testing::ImageScriptedProcessor;
use ddb_stream_processor::{Invocation, StreamHandler};
use obsctl::definitions::Definitions;
use obsctl::lint::contract::{alarm_metrics, dashboard_metrics};
use obsctl::lint::{contract, dashboard};
use obsctl::render;
use obsctl::variables::METRICS_NAMESPACE;
use serde_json::Value;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

fn obsctl() -> Command {
    Command::new(env!("CARGO_BIN_EXE_obsctl"))
}

#[test]
fn template_yaml_and_the_readme_are_rendered_from_the_definitions() {
    let stale: Vec<String> = render::render(&repository())
        .expect("the definitions render")
        .into_iter()
        .filter(|file| file.is_stale())
        .map(|file| file.path.display().to_string())
        .collect();
    assert!(
        stale.is_empty(),
        "stale: {stale:?}; run `cargo run -p obsctl -- render` and commit"
    );
}

#[test]
fn the_definitions_pass_every_dashboard_rule_and_the_catalog_contract() {
    let definitions = Definitions::load(&repository()).unwrap();
    let mut problems = contract::check(&definitions);
    for board in &definitions.dashboards {
        problems.extend(dashboard::lint(&board.body, &board.name));
    }
    assert!(problems.is_empty(), "{problems:#?}");
    let output = obsctl()
        .args(["lint", "--repo"])
        .arg(repository())
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The metric names, and the dimension names of each, in the EMF the handler writes for the
/// library's scripted test events (success, a failed record, a failed first record, a record without
/// a sequence number, a malformed event, a TTL delete).
async fn emitted_metrics() -> BTreeMap<String, BTreeSet<Vec<String>>> {
    let sink = Arc::new(MemorySink::default());
    let handler = StreamHandler::new(ImageScriptedProcessor::new())
        .with_metrics(Metrics::new(MetricsConfig::default(), sink.clone()));
    let mut events: Vec<PathBuf> =
        std::fs::read_dir(repository().join("crates/ddb-stream-processor/tests/events"))
            .unwrap()
            .map(|entry| entry.unwrap().path())
            .collect();
    events.sort();
    for event in events {
        let invocation = Invocation::local(Duration::from_secs(30), &EngineConfig::default())
            .with_request_id("contract")
            .with_function("orders", "arn:aws:lambda:eu-west-1:123456789012:function:orders");
        let _ = handler
            .handle_payload(&std::fs::read(event).unwrap(), &invocation)
            .await;
    }
    let mut emitted: BTreeMap<String, BTreeSet<Vec<String>>> = BTreeMap::new();
    for document in sink.flushes().into_iter().flatten() {
        let document: Value = serde_json::from_str(&document).unwrap();
        let directive = &document["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(
            directive["Namespace"],
            ddb_stream_processor::telemetry::metrics::DEFAULT_NAMESPACE
        );
        let dimension_sets: Vec<Vec<String>> =
            serde_json::from_value(directive["Dimensions"].clone()).unwrap();
        for definition in directive["Metrics"].as_array().unwrap() {
            let name = definition["Name"].as_str().unwrap().to_owned();
            emitted
                .entry(name)
                .or_default()
                .extend(dimension_sets.iter().cloned());
        }
    }
    emitted
}

#[tokio::test]
async fn every_metric_of_the_function_an_alarm_watches_is_emitted_with_its_dimensions() {
    let definitions = Definitions::load(&repository()).unwrap();
    let emitted = emitted_metrics().await;
    let own = format!("${{{METRICS_NAMESPACE}}}");
    let mut watched = 0;
    for alarm in &definitions.alarms {
        for metric in alarm_metrics(alarm)
            .into_iter()
            .filter(|metric| metric.namespace == own)
        {
            watched += 1;
            let dimensions: Vec<String> = metric.dimensions.iter().map(|(name, _)| name.clone()).collect();
            let sets = emitted.get(&metric.name).unwrap_or_else(|| {
                panic!(
                    "alarms/{}.json watches {}, which no sample event emits",
                    alarm.name, metric.name
                )
            });
            assert!(
                sets.contains(&dimensions),
                "alarms/{}.json watches {} by {dimensions:?}; it is emitted by {sets:?}",
                alarm.name,
                metric.name
            );
        }
    }
    assert!(
        watched >= 3,
        "the failure alarms watch the function's own metrics ({watched} found)"
    );
    // And the dashboards' metrics of the function carry the dimensions the function writes.
    for (location, metric) in dashboard_metrics(&definitions)
        .into_iter()
        .filter(|(_, metric)| metric.namespace == own)
    {
        let dimensions: Vec<String> = metric.dimensions.iter().map(|(name, _)| name.clone()).collect();
        if let Some(sets) = emitted.get(&metric.name) {
            assert!(
                sets.contains(&dimensions),
                "{location}: {} by {dimensions:?}",
                metric.name
            );
        }
    }
}
