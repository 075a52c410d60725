//! The simulated deployment end to end: the real handler over a scenario's stream, and what CloudWatch
//! would hold afterwards.

use std::time::Duration;

use rehearsal::cloudwatch::metric_store::MetricKey;
use rehearsal::cloudwatch::statistics::Statistic;
use rehearsal::scenario::Scenario;
use rehearsal::simulation::{Deployment, Names, Rehearsal, rehearse};

fn deployment() -> Deployment {
    Deployment {
        batch_size: 100,
        batching_window: Duration::ZERO,
        parallelization_factor: 1,
        bisect: true,
        max_retry_attempts: Some(2),
        max_record_age: Some(Duration::from_secs(6 * 3600)),
        function_timeout: Duration::from_secs(60),
    }
}

fn names() -> Names {
    Names {
        function_name: "orders-processor".into(),
        namespace: "DdbStreamProcessor".into(),
        event_source_mapping_uuid: "esm-1".into(),
        dead_letter_queue_name: "orders-dlq".into(),
        log_group_name: "/aws/lambda/orders-processor".into(),
        table_name: "Orders".into(),
    }
}

fn run(scenario: &str) -> Rehearsal {
    let scenario = Scenario::parse(scenario, "test").unwrap();
    rehearse(&scenario, &deployment(), &names(), &|_| {})
}

/// The sum of a metric over the whole rehearsal.
fn total(rehearsal: &Rehearsal, key: &MetricKey) -> f64 {
    rehearsal
        .metrics
        .datapoints(
            key,
            Statistic::Sum,
            24 * 3600,
            rehearsal.start_ms,
            rehearsal.end_ms,
        )
        .into_iter()
        .flatten()
        .sum()
}

fn own(name: &str) -> MetricKey {
    MetricKey::new("DdbStreamProcessor", name, &[("Service", "orders-processor")])
}

fn lambda(name: &str) -> MetricKey {
    MetricKey::new("AWS/Lambda", name, &[("FunctionName", "orders-processor")])
}

#[test]
fn normal_traffic_is_processed_in_full_and_the_emf_documents_say_so() {
    let rehearsal = run(r#"{"description": "normal", "duration_minutes": 10, "shards": 2,
            "traffic": [{"from_minute": 0, "records_per_second": 20}]}"#);
    assert_eq!(rehearsal.records, 12_000);
    assert_eq!(total(&rehearsal, &own("RecordsProcessed")), 12_000.0);
    assert_eq!(total(&rehearsal, &own("RecordsFailed")), 0.0);
    assert_eq!(total(&rehearsal, &lambda("Errors")), 0.0);
    assert_eq!(
        total(&rehearsal, &lambda("Invocations")),
        rehearsal.invocations as f64
    );
    assert!(rehearsal.dead_letters.is_empty());
    assert!(rehearsal.metrics.emf_errors().is_empty());
    let age = rehearsal.metrics.datapoints(
        &lambda("IteratorAge"),
        Statistic::Maximum,
        600,
        rehearsal.start_ms,
        rehearsal.start_ms,
    );
    assert!(
        age[0].is_some_and(|age| age < 1_000.0),
        "a function keeping up: {age:?}"
    );
    assert!(
        rehearsal
            .log_lines
            .iter()
            .all(|line| serde_json::from_str::<serde_json::Value>(line).is_ok()),
        "every log line is JSON"
    );
}

#[test]
fn a_poison_record_is_retried_then_given_up_to_the_dead_letter_queue() {
    let rehearsal = run(r#"{"description": "poison", "duration_minutes": 5,
            "traffic": [{"from_minute": 0, "records_per_second": 10}],
            "poison_records": [{"at_minute": 1}]}"#);
    assert!(total(&rehearsal, &own("RecordsFailed")) >= 1.0);
    assert_eq!(rehearsal.dead_letters.len(), 1, "{:?}", rehearsal.dead_letters);
    let letter = &rehearsal.dead_letters[0];
    assert_eq!(
        (letter.records, letter.reason),
        (1, "MaximumRetryAttempts"),
        "bisection isolated it"
    );
    assert_eq!(
        total(&rehearsal, &own("RecordsProcessed")),
        (rehearsal.records - 1) as f64,
        "every other record was processed"
    );
    let depth = MetricKey::new(
        "AWS/SQS",
        "ApproximateNumberOfMessagesVisible",
        &[("QueueName", "orders-dlq")],
    );
    let visible = rehearsal.metrics.datapoints(
        &depth,
        Statistic::Maximum,
        60,
        rehearsal.start_ms,
        rehearsal.end_ms - 1,
    );
    assert_eq!(visible.first().copied().flatten(), Some(0.0));
    assert_eq!(visible.last().copied().flatten(), Some(1.0));
    assert!(
        rehearsal
            .log_lines
            .iter()
            .any(|line| line.contains("the scenario's poison record"))
    );
}

#[test]
fn a_dependency_down_fails_records_while_it_is_down_and_the_stream_catches_up_after() {
    let rehearsal = run(r#"{"description": "down", "duration_minutes": 12,
            "traffic": [{"from_minute": 0, "records_per_second": 5}],
            "dependency": [{"from_minute": 3, "to_minute": 6, "failure_rate": 1.0}]}"#);
    let failed = rehearsal.metrics.datapoints(
        &own("RecordsFailed"),
        Statistic::Sum,
        60,
        rehearsal.start_ms,
        rehearsal.end_ms - 1,
    );
    let failing_minutes: Vec<usize> = failed
        .iter()
        .enumerate()
        .filter(|(_, value)| value.is_some_and(|value| value > 0.0))
        .map(|(minute, _)| minute)
        .collect();
    assert!(
        !failing_minutes.is_empty() && failing_minutes.iter().all(|minute| (3..=7).contains(minute)),
        "{failing_minutes:?}"
    );
    let age = rehearsal.metrics.datapoints(
        &lambda("IteratorAge"),
        Statistic::Maximum,
        60,
        rehearsal.start_ms,
        rehearsal.end_ms - 1,
    );
    assert!(
        age[5].is_some_and(|age| age > 30_000.0),
        "behind while it is down: {age:?}"
    );
    assert!(age[11].is_some_and(|age| age < 1_000.0), "caught up: {age:?}");
}
