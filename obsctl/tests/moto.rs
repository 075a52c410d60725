//! `obsctl apply` and `obsctl diff` against a real CloudWatch and CloudFormation API: the moto
//! emulator (PyPI `moto[server]`), started by each test on 127.0.0.1 on a free port, stopped by its
//! process id, bounded in time.
//!
//! moto accepts what CloudWatch would reject and never evaluates alarms: these tests prove the
//! round trip (apply, diff, drift made behind obsctl's back, repair); `obsctl lint` and the alarm
//! rules carry the validation.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use aws_config::{BehaviorVersion, Region};
use aws_sdk_cloudwatch::types::{ComparisonOperator, Dimension, Statistic};
use test_emulators::moto::Moto;

#[path = "support/obsctl_command.rs"]
mod obsctl_command;
use obsctl_command::obsctl_with_test_credentials;

const REGION: &str = "eu-west-1";

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// An SDK configuration for `moto`, with test credentials.
async fn config(moto: &Moto) -> aws_config::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(moto.endpoint())
        .credentials_provider(aws_sdk_cloudwatch::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await
}

/// Runs obsctl against `moto` with test credentials and no other AWS configuration.
fn obsctl(moto: &Moto, args: &[&str]) -> Output {
    obsctl_with_test_credentials(REGION)
        .args(args)
        .args(["--repo", repository().to_str().unwrap()])
        .args(["--endpoint-url", &moto.endpoint()])
        .output()
        .expect("obsctl runs")
}

/// obsctl on this repository with no AWS configuration at all: no `AWS_*` variable of the test's
/// environment, no config or credentials file, no instance metadata. Callers add what they test.
fn obsctl_without_aws_configuration(args: &[&str]) -> Command {
    let mut command = obsctl_command::obsctl_without_aws_configuration();
    command
        .args(args)
        .args(["--repo", repository().to_str().unwrap()]);
    command
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

/// A stack with the outputs template.yaml gives, and a non-default threshold parameter.
async fn create_stack(moto: &Moto, name: &str) {
    let template = serde_json::json!({
        "Parameters": {
            "FunctionTimeoutSeconds": {"Type": "Number", "Default": "60"},
            "IteratorAgeThresholdMs": {"Type": "Number", "Default": "600000"}
        },
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {
            "FunctionName": {"Value": format!("{name}-stream-processor")},
            "MetricsNamespace": {"Value": "DdbStreamProcessor"},
            "FunctionLogGroupName": {"Value": format!("/aws/lambda/{name}-stream-processor")},
            "AlarmTopicArn": {"Value": {"Ref": "Topic"}},
            "EventSourceMappingId": {"Value": "6f9a2b1c-0000-4000-8000-000000000001"},
            "FailureQueueName": {"Value": format!("{name}-DeadLetterQueue-1A2B3C")}
        }
    });
    aws_sdk_cloudformation::Client::new(&config(moto).await)
        .create_stack()
        .stack_name(name)
        .template_body(template.to_string())
        .send()
        .await
        .expect("moto creates the stack");
}

#[tokio::test(flavor = "multi_thread")]
async fn apply_creates_everything_diff_finds_drift_and_apply_repairs_it() {
    let moto = Moto::start();
    create_stack(&moto, "orders").await;
    let cloudwatch = aws_sdk_cloudwatch::Client::new(&config(&moto).await);

    // apply creates every dashboard and alarm, resolved for the stack.
    let applied = obsctl(&moto, &["apply", "--stack-name", "orders"]);
    assert!(applied.status.success(), "{}", text(&applied));
    assert!(
        text(&applied).contains("created dashboard orders-stream-processor"),
        "{}",
        text(&applied)
    );
    let alarms = cloudwatch
        .describe_alarms()
        .alarm_name_prefix("orders-")
        .send()
        .await
        .unwrap();
    let definitions = std::fs::read_dir(repository().join("alarms")).unwrap().count();
    assert_eq!(
        alarms.metric_alarms().len(),
        definitions,
        "one alarm per alarms/*.json"
    );
    let iterator_age = alarms
        .metric_alarms()
        .iter()
        .find(|alarm| alarm.alarm_name() == Some("orders-iterator-age"))
        .unwrap();
    assert_eq!(
        iterator_age.threshold(),
        Some(600_000.0),
        "the stack's parameter, not the default"
    );
    assert_eq!(
        iterator_age.dimensions()[0].value(),
        Some("orders-stream-processor")
    );
    let body = cloudwatch
        .get_dashboard()
        .dashboard_name("orders-stream-processor")
        .send()
        .await
        .unwrap()
        .dashboard_body()
        .unwrap()
        .to_owned();
    assert!(!body.contains("${"), "every placeholder resolved: {body}");
    assert!(
        body.contains("arn:aws:cloudwatch:eu-west-1:"),
        "alarm ARNs in the alarm widget"
    );

    // diff: nothing to report.
    let clean = obsctl(&moto, &["diff", "--stack-name", "orders"]);
    assert_eq!(clean.status.code(), Some(0), "{}", text(&clean));
    assert!(text(&clean).contains("no drift"), "{}", text(&clean));

    // Changes behind obsctl's back: a threshold, a dashboard title, and a console-made alarm.
    cloudwatch
        .put_metric_alarm()
        .alarm_name("orders-iterator-age")
        .alarm_description(iterator_age.alarm_description().unwrap())
        .namespace("AWS/Lambda")
        .metric_name("IteratorAge")
        .dimensions(
            Dimension::builder()
                .name("FunctionName")
                .value("orders-stream-processor")
                .build(),
        )
        .statistic(Statistic::Maximum)
        .period(60)
        .evaluation_periods(5)
        .datapoints_to_alarm(5)
        .threshold(100.0)
        .comparison_operator(ComparisonOperator::GreaterThanThreshold)
        .set_treat_missing_data(iterator_age.treat_missing_data().map(str::to_owned))
        .set_alarm_actions(Some(iterator_age.alarm_actions().to_vec()))
        .set_ok_actions(Some(iterator_age.ok_actions().to_vec()))
        .send()
        .await
        .unwrap();
    let edited = body.replacen(
        "Records: processed, failed, handed back",
        "Records (edited in the console)",
        1,
    );
    cloudwatch
        .put_dashboard()
        .dashboard_name("orders-stream-processor")
        .dashboard_body(edited)
        .send()
        .await
        .unwrap();
    cloudwatch
        .put_metric_alarm()
        .alarm_name("orders-console-only")
        .namespace("AWS/Lambda")
        .metric_name("Errors")
        .statistic(Statistic::Sum)
        .period(60)
        .evaluation_periods(1)
        .threshold(1.0)
        .comparison_operator(ComparisonOperator::GreaterThanOrEqualToThreshold)
        .send()
        .await
        .unwrap();

    let drift = obsctl(&moto, &["diff", "--stack-name", "orders"]);
    assert_eq!(drift.status.code(), Some(1), "{}", text(&drift));
    let report = text(&drift);
    assert!(
        report.contains("alarm orders-iterator-age: 1 difference(s)"),
        "{report}"
    );
    assert!(report.contains("~ /Threshold: 100.0 → 600000"), "{report}");
    assert!(
        report.contains("dashboard orders-stream-processor: 1 difference(s)"),
        "{report}"
    );
    assert!(
        report.contains("\"Records (edited in the console)\" → \"Records: processed, failed, handed back\""),
        "{report}"
    );
    assert!(
        report.contains("alarm orders-console-only: deployed, not in the repository"),
        "{report}"
    );

    // A dry run changes nothing.
    let dry = obsctl(&moto, &["apply", "--stack-name", "orders", "--dry-run"]);
    assert!(dry.status.success(), "{}", text(&dry));
    assert!(text(&dry).contains("dry run: nothing was changed"));
    assert_eq!(
        obsctl(&moto, &["diff", "--stack-name", "orders"]).status.code(),
        Some(1)
    );

    // apply repairs what it owns and leaves the console-made alarm alone.
    let repaired = obsctl(&moto, &["apply", "--stack-name", "orders"]);
    assert!(repaired.status.success(), "{}", text(&repaired));
    let log = text(&repaired);
    assert!(log.contains("updated alarm orders-iterator-age"), "{log}");
    assert!(log.contains("updated dashboard orders-stream-processor"), "{log}");
    assert!(log.contains("left alone: alarm orders-console-only"), "{log}");
    cloudwatch
        .delete_alarms()
        .alarm_names("orders-console-only")
        .send()
        .await
        .unwrap();
    let clean_again = obsctl(&moto, &["diff", "--stack-name", "orders"]);
    assert_eq!(clean_again.status.code(), Some(0), "{}", text(&clean_again));

    // apply is idempotent.
    let again = obsctl(&moto, &["apply", "--stack-name", "orders"]);
    assert!(again.status.success());
    assert!(text(&again).contains("nothing to change"), "{}", text(&again));
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_stack_the_placeholders_come_from_flags() {
    let moto = Moto::start();
    let vars = [
        "AWS::StackName=billing",
        "AWS::AccountId=123456789012",
        "StreamProcessorFunction=billing-fn",
        "MetricsNamespace=Billing",
        "FunctionLogGroup=/aws/lambda/billing-fn",
        "DeadLetterQueue.QueueName=billing-dlq",
        "AlarmTopic=arn:aws:sns:eu-west-1:123456789012:billing-alarms",
        "StreamProcessorFunctionStream=uuid-1",
        "FunctionTimeoutSeconds=120",
    ];
    let mut args = vec!["apply"];
    for var in &vars {
        args.extend(["--var", var]);
    }
    let applied = obsctl(&moto, &args);
    assert!(applied.status.success(), "{}", text(&applied));
    args[0] = "diff";
    assert_eq!(obsctl(&moto, &args).status.code(), Some(0));

    let incomplete = obsctl(&moto, &["diff", "--var", "AWS::StackName=billing"]);
    assert_eq!(incomplete.status.code(), Some(2));
    assert!(
        text(&incomplete).contains("no value for"),
        "{}",
        text(&incomplete)
    );
}

#[test]
fn aws_problems_are_one_line_each_with_what_to_do() {
    let moto = Moto::start();
    let unknown_stack = obsctl(&moto, &["diff", "--stack-name", "nosuch"]);
    assert_eq!(unknown_stack.status.code(), Some(2));
    assert!(
        text(&unknown_stack).contains("no stack named \"nosuch\""),
        "{}",
        text(&unknown_stack)
    );

    let unreachable = obsctl_without_aws_configuration(&["diff", "--stack-name", "orders"])
        .args(["--region", REGION, "--endpoint-url", "http://127.0.0.1:1"])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .unwrap();
    assert_eq!(unreachable.status.code(), Some(2));
    let message = text(&unreachable);
    assert!(
        message.contains("cannot reach AWS") && message.contains("Connection refused"),
        "{message}"
    );
    assert!(!message.contains("DispatchFailure {"), "no debug dump: {message}");

    let no_credentials = obsctl_without_aws_configuration(&["diff", "--stack-name", "orders"])
        .args(["--region", REGION, "--endpoint-url", &moto.endpoint()])
        .output()
        .unwrap();
    assert_eq!(no_credentials.status.code(), Some(2));
    assert!(
        text(&no_credentials).contains("no AWS credentials"),
        "{}",
        text(&no_credentials)
    );

    let no_region = obsctl_without_aws_configuration(&["diff", "--stack-name", "orders"])
        .args(["--endpoint-url", &moto.endpoint()])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .unwrap();
    assert_eq!(no_region.status.code(), Some(2));
    assert!(text(&no_region).contains("no AWS region"), "{}", text(&no_region));
}

/// An instance-metadata endpoint on 127.0.0.1 that refuses every request with 403, as IMDS does when
/// it is disabled or the hop limit is too low; it lives as long as the test process.
fn forbidding_instance_metadata_endpoint() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let address = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().flatten() {
            let mut request = [0_u8; 4096];
            let _ = std::io::Read::read(&mut stream, &mut request);
            let _ = std::io::Write::write_all(
                &mut stream,
                b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
            );
        }
    });
    format!("http://{address}")
}

#[test]
fn a_forbidden_instance_metadata_endpoint_is_reported_as_missing_credentials_not_the_network() {
    let output = obsctl_without_aws_configuration(&["diff", "--stack-name", "orders"])
        .args(["--region", REGION, "--endpoint-url", "http://127.0.0.1:1"])
        .env_remove("AWS_EC2_METADATA_DISABLED")
        .env(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            forbidding_instance_metadata_endpoint(),
        )
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let message = text(&output);
    assert!(
        message.contains("no AWS credentials") && message.contains("IMDS"),
        "{message}"
    );
    assert!(!message.contains("cannot reach AWS"), "{message}");
}

#[test]
fn diff_without_a_stack_says_to_name_it() {
    let output = obsctl_without_aws_configuration(&["diff"])
        .args(["--region", REGION, "--endpoint-url", "http://127.0.0.1:1"])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let message = text(&output);
    assert!(
        message.contains("StreamProcessorFunction") && message.contains("pass --stack-name NAME"),
        "{message}"
    );
}
