//! Our alarm evaluation against a CloudWatch implementation that is not ours: LocalStack
//! (`localstack-core` from PyPI, host mode, no Docker; `.ci/test` installs it into .venv/localstack,
//! `LOCALSTACK_PYTHON` names another interpreter), started here on 127.0.0.1 and stopped by process
//! id. LocalStack evaluates single-metric alarms with a plain statistic (not percentiles, metric math
//! or anomaly bands), so those alarms of `alarms/` are put there with their Period scaled down to
//! 10 s, and the same series goes to both: first values at the edge of the threshold that do not
//! breach, then values exactly at the edge that do (two samples a period, so the statistic matters).
//! Each phase lasts long enough for LocalStack's own evaluation schedule (once per Period ×
//! EvaluationPeriods) to run at least twice; at its end, both verdicts must be the same. Then one
//! row of the guide's rule against late transitions to ALARM (`- - X - -` for 3 of 3 under
//! `missing`) must be ALARM in both.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_cloudwatch::primitives::DateTime;
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, MetricDatum, StandardUnit, Statistic};
use rehearsal::cloudwatch::alarm_evaluation::{AlarmState, EvaluationRule, TreatMissingData};
use rehearsal::cloudwatch::alarm_timeline::{Comparison, state_changes};
use serde_json::{Map, Value};
use test_emulators::{Server, free_port};

const PERIOD_S: i64 = 10;
const START_TIMEOUT: Duration = Duration::from_secs(90);

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

struct LocalStack {
    server: Server,
    _root: tempfile::TempDir,
}

impl LocalStack {
    fn start() -> Self {
        let python = std::env::var_os("LOCALSTACK_PYTHON")
            .map(PathBuf::from)
            .unwrap_or_else(|| repository().join(".venv/localstack/bin/python"));
        assert!(
            python.exists(),
            "{} not found: .ci/test installs LocalStack into .venv/localstack (or set LOCALSTACK_PYTHON)",
            python.display()
        );
        let port = free_port();
        let root = tempfile::tempdir().unwrap();
        let mut command = Command::new(python);
        command
            .args(["-m", "localstack.runtime.main"])
            .env("GATEWAY_LISTEN", format!("127.0.0.1:{port}"))
            // The default server ignores the host and listens on every interface.
            .env("GATEWAY_SERVER", "hypercorn")
            .env("DNS_ADDRESS", "0")
            .env("OVERRIDE_IN_DOCKER", "0")
            .env("FILESYSTEM_ROOT", root.path())
            .env("SKIP_SSL_CERT_DOWNLOAD", "1")
            .env("SERVICES", "cloudwatch")
            .env("PERSISTENCE", "0");
        Self {
            server: Server::start(command, port, START_TIMEOUT, "LocalStack"),
            _root: root,
        }
    }

    fn endpoint(&self) -> String {
        self.server.endpoint()
    }
}

/// A single-metric alarm of `alarms/`, as both engines take it.
struct Case {
    name: String,
    namespace: String,
    metric: String,
    dimensions: Vec<(String, String)>,
    statistic: String,
    comparison: Comparison,
    threshold: f64,
    rule: EvaluationRule,
    treat_missing_data: String,
}

impl Case {
    fn from(name: &str, alarm: &Map<String, Value>) -> Option<Self> {
        let statistic = alarm.get("Statistic")?.as_str()?.to_owned();
        let text = |property: &str| {
            alarm
                .get(property)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned()
        };
        let evaluation_periods = alarm.get("EvaluationPeriods")?.as_u64()? as usize;
        let treat_missing_data = alarm
            .get("TreatMissingData")
            .and_then(Value::as_str)
            .unwrap_or("missing")
            .to_owned();
        Some(Self {
            name: name.to_owned(),
            namespace: text("Namespace"),
            metric: text("MetricName"),
            dimensions: alarm
                .get("Dimensions")?
                .as_array()?
                .iter()
                .filter_map(|d| {
                    Some((
                        d.get("Name")?.as_str()?.to_owned(),
                        d.get("Value")?.as_str()?.to_owned(),
                    ))
                })
                .collect(),
            statistic,
            comparison: Comparison::parse(alarm.get("ComparisonOperator")?.as_str()?)?,
            threshold: alarm.get("Threshold")?.as_f64()?,
            rule: EvaluationRule {
                evaluation_periods,
                datapoints_to_alarm: alarm
                    .get("DatapointsToAlarm")
                    .and_then(Value::as_u64)
                    .map_or(evaluation_periods, |m| m as usize),
                treat_missing_data: TreatMissingData::parse(&treat_missing_data)?,
            },
            treat_missing_data,
        })
    }

    /// The dimensions, as the SDK takes them.
    fn cloudwatch_dimensions(&self) -> Vec<Dimension> {
        self.dimensions
            .iter()
            .map(|(name, value)| Dimension::builder().name(name).value(value).build())
            .collect()
    }

    /// The period's statistic value: at the edge of the threshold, breaching or not.
    fn value(&self, breaching: bool) -> f64 {
        let edge = self.threshold;
        match (self.comparison, breaching) {
            (Comparison::GreaterThanOrEqualTo, true) | (Comparison::GreaterThan, false) => edge,
            (Comparison::GreaterThanOrEqualTo, false) => edge - 1.0,
            (Comparison::GreaterThan, true) => edge + 1.0,
            (Comparison::LessThanOrEqualTo, true) | (Comparison::LessThan, false) => edge,
            (Comparison::LessThanOrEqualTo, false) => edge + 1.0,
            (Comparison::LessThan, true) => edge - 1.0,
        }
    }

    /// Two samples whose statistic is `value`.
    fn samples(&self, value: f64) -> [f64; 2] {
        match self.statistic.as_str() {
            "Sum" => [value / 2.0, value / 2.0],
            "Maximum" => [value, value.min(0.0)],
            "Minimum" => [value, value.max(0.0) + 1.0],
            _ => [value, value],
        }
    }

    /// Our state after every period of `breaches`, evaluated at each period's end.
    fn our_state(&self, breaches: &[Option<bool>]) -> AlarmState {
        state_changes(&self.rule, breaches, 0, PERIOD_S)
            .last()
            .map_or(AlarmState::InsufficientData, |change| change.to)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_metric_alarms_reach_the_same_verdict_in_localstack_and_here() {
    let outcome = obsctl::rehearse::resolved_alarms(&repository(), &BTreeMap::new()).unwrap();
    let cases: Vec<Case> = outcome
        .iter()
        .filter_map(|(name, alarm)| Case::from(name, alarm))
        .collect();
    let names: Vec<&str> = cases.iter().map(|case| case.name.as_str()).collect();
    assert!(
        cases.len() >= 5,
        "single-metric alarms with a plain statistic: {names:?}"
    );

    let localstack = LocalStack::start();
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .endpoint_url(localstack.endpoint())
        .credentials_provider(aws_sdk_cloudwatch::config::Credentials::new(
            "test", "test", None, None, "test",
        ))
        .load()
        .await;
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&config);
    for case in &cases {
        cloudwatch
            .put_metric_alarm()
            .alarm_name(&case.name)
            .namespace(&case.namespace)
            .metric_name(&case.metric)
            .set_dimensions(Some(case.cloudwatch_dimensions()))
            .statistic(Statistic::from(case.statistic.as_str()))
            .period(PERIOD_S as i32)
            .evaluation_periods(case.rule.evaluation_periods as i32)
            .datapoints_to_alarm(case.rule.datapoints_to_alarm as i32)
            .threshold(case.threshold)
            .comparison_operator(ComparisonOperator::from(case.comparison.as_str()))
            .treat_missing_data(&case.treat_missing_data)
            .send()
            .await
            .unwrap();
    }

    let longest = cases
        .iter()
        .map(|case| case.rule.evaluation_periods)
        .max()
        .unwrap();
    // Each phase: twice LocalStack's evaluation interval for the longest alarm, and one period more.
    let phase_periods = 2 * longest + 1;
    let mut histories: Vec<Vec<Option<bool>>> = vec![Vec::new(); cases.len()];
    let mut disagreements = Vec::new();
    for (phase, breaching) in [("not breaching", false), ("breaching", true)] {
        for _ in 0..phase_periods {
            let period_started = Instant::now();
            for (case, history) in cases.iter().zip(&mut histories) {
                let data = case
                    .samples(case.value(breaching))
                    .into_iter()
                    .map(|value| {
                        MetricDatum::builder()
                            .metric_name(&case.metric)
                            .set_dimensions(Some(case.cloudwatch_dimensions()))
                            .value(value)
                            .unit(StandardUnit::None)
                            .timestamp(DateTime::from(std::time::SystemTime::now()))
                            .build()
                    })
                    .collect();
                cloudwatch
                    .put_metric_data()
                    .namespace(&case.namespace)
                    .set_metric_data(Some(data))
                    .send()
                    .await
                    .unwrap();
                history.push(Some(breaching));
            }
            tokio::time::sleep(Duration::from_secs(PERIOD_S as u64).saturating_sub(period_started.elapsed()))
                .await;
        }
        let described = cloudwatch.describe_alarms().send().await.unwrap();
        for (case, history) in cases.iter().zip(&histories) {
            let theirs = described
                .metric_alarms()
                .iter()
                .find(|alarm| alarm.alarm_name() == Some(case.name.as_str()))
                .and_then(|alarm| alarm.state_value())
                .map(|state| state.as_str().to_owned())
                .unwrap_or_default();
            let ours = case.our_state(history);
            if theirs != ours.as_str() {
                disagreements.push(format!(
                    "{} after the {phase} phase: LocalStack {theirs}, ours {ours}",
                    case.name
                ));
            }
            let expected = if breaching {
                AlarmState::Alarm
            } else {
                AlarmState::Ok
            };
            assert_eq!(ours, expected, "{} after the {phase} phase", case.name);
        }
    }
    assert!(disagreements.is_empty(), "{disagreements:#?}");

    premature_transition_reaches_the_same_verdict(&cloudwatch).await;
}

/// The guide's rule against late transitions to ALARM: one breaching datapoint three periods old
/// and nothing after it, for 3 of 3 under `missing` (`- - X - -`, oldest first), is ALARM in
/// LocalStack and here. LocalStack evaluates an alarm as soon as it is put, over windows that end
/// at that moment, so the datapoint is put first, two and a half periods in the past: the third
/// most recent window holds it.
async fn premature_transition_reaches_the_same_verdict(cloudwatch: &aws_sdk_cloudwatch::Client) {
    let name = "premature-3-of-3";
    let at = std::time::SystemTime::now() - Duration::from_secs(PERIOD_S as u64 * 5 / 2);
    cloudwatch
        .put_metric_data()
        .namespace("Rehearsal/Premature")
        .metric_data(
            MetricDatum::builder()
                .metric_name("Probe")
                .value(10.0)
                .unit(StandardUnit::None)
                .timestamp(DateTime::from(at))
                .build(),
        )
        .send()
        .await
        .unwrap();
    cloudwatch
        .put_metric_alarm()
        .alarm_name(name)
        .namespace("Rehearsal/Premature")
        .metric_name("Probe")
        .statistic(Statistic::Maximum)
        .period(PERIOD_S as i32)
        .evaluation_periods(3)
        .datapoints_to_alarm(3)
        .threshold(5.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .treat_missing_data("missing")
        .send()
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    let theirs = loop {
        let described = cloudwatch
            .describe_alarms()
            .alarm_names(name)
            .send()
            .await
            .unwrap();
        let state = described
            .metric_alarms()
            .first()
            .and_then(|alarm| alarm.state_value())
            .map(|state| state.as_str().to_owned())
            .unwrap_or_default();
        if state == "ALARM" || Instant::now() > deadline {
            break state;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let rule = EvaluationRule {
        evaluation_periods: 3,
        datapoints_to_alarm: 3,
        treat_missing_data: TreatMissingData::Missing,
    };
    let ours = rule.evaluate(
        &[None, None, Some(true), None, None],
        AlarmState::InsufficientData,
    );
    assert_eq!(theirs, "ALARM", "LocalStack on - - X - -");
    assert_eq!(ours, AlarmState::Alarm, "ours on - - X - -");
}
