//! `obsctl redrive` end to end, against real emulators and the real function.
//!
//! DynamoDB Local (AWS's own engine) writes the example's items, so stream records, shard ids and
//! sequence numbers are DynamoDB's; moto serves the SQS queue and the S3 bucket of the on-failure
//! destination; cargo-lambda's emulator serves the Lambda Invoke API the SDK calls, in front of the
//! function binary (`ddb-stream-processor`, the example processor) polling its Runtime API.
//! DynamoDB Local listens on every interface, so each test runs again in a private network
//! namespace with only loopback, where every server lives. No emulator trims a stream after 24
//! hours: a stub in front of DynamoDB Local answers `TrimmedDataAccessException` for the positions
//! a test declares trimmed, and forwards everything else.
//!
//! The function binary is the one Cargo builds for the workspace (`cargo test --workspace` builds
//! it), or `DDB_FUNCTION_BINARY`.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use ddb_stream_processor::record::sequence_number::compare;
use serde_json::{Value, json};
use test_emulators::cargo_lambda::{self, Watch};
use test_emulators::dynamodb_local::{
    DynamoDbLocal, example_order, in_private_network, inside_private_network,
};
use test_emulators::http::{Reply, response, serve};
use test_emulators::moto::Moto;

const REGION: &str = "eu-west-1";
const TABLE: &str = "Orders";
/// The longest the stream may take to show a change.
const STREAM_WAIT: Duration = Duration::from_secs(60);

/// The function binary: `DDB_FUNCTION_BINARY`, or the workspace's debug build beside this test.
fn function_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("DDB_FUNCTION_BINARY") {
        return PathBuf::from(path);
    }
    let binary = std::env::current_exe()
        .expect("the test executable")
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps")
        .join("ddb-stream-processor");
    assert!(
        binary.exists(),
        "{} is missing: build the function first (`cargo build --bin ddb-stream-processor`; \
         `cargo test --workspace` builds it) or set DDB_FUNCTION_BINARY",
        binary.display()
    );
    binary
}

/// Installs the emulators before a test enters its network namespace, where nothing can be fetched.
fn run_in_private_network(test: &str) -> bool {
    if inside_private_network() {
        return true;
    }
    test_emulators::moto::executable();
    cargo_lambda::executable();
    test_emulators::dynamodb_local::installation();
    function_binary();
    in_private_network(test);
    false
}

/// Every server of one test, and the function polling cargo-lambda's emulator.
struct World {
    dynamodb: DynamoDbLocal,
    moto: Moto,
    watch: Watch,
    function: Child,
    logs: tempfile::NamedTempFile,
    stream_arn: String,
    /// Where obsctl reads the stream: DynamoDB Local, or the trimming stub in front of it.
    streams_endpoint: String,
    sdk: aws_config::SdkConfig,
}

impl World {
    async fn start() -> Self {
        let dynamodb = DynamoDbLocal::start();
        let stream_arn = dynamodb.create_example_table(TABLE);
        let moto = Moto::start();
        let watch = Watch::start(&test_emulators::repository());
        let logs = tempfile::NamedTempFile::new().unwrap();
        let function = ddb_stream_processor::testing::function_command(function_binary())
            .env("AWS_LAMBDA_RUNTIME_API", watch.runtime_api())
            .env("AWS_LAMBDA_FUNCTION_NAME", cargo_lambda::FUNCTION_NAME)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
            .env("AWS_LAMBDA_LOG_LEVEL", "DEBUG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(logs.reopen().unwrap())
            .spawn()
            .expect("the function starts");
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(moto.endpoint())
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .load()
            .await;
        let streams_endpoint = dynamodb.endpoint();
        Self {
            dynamodb,
            moto,
            watch,
            function,
            logs,
            stream_arn,
            streams_endpoint,
            sdk,
        }
    }

    fn put(&self, pk: &str, status: &str, amount_cents: u64) {
        self.dynamodb.put(TABLE, &example_order(pk, status, amount_cents));
    }

    /// The stream's shard and its first `count` records, as `GetRecords` returns them.
    fn stream(&self, count: usize) -> (String, Vec<Value>) {
        let (shard, records) = self.dynamodb.stream_records(&self.stream_arn, count, STREAM_WAIT);
        assert_eq!(records.len(), count, "the stream holds exactly the changes made");
        (shard, records)
    }

    /// From now on, the stream answers `TrimmedDataAccessException` for every position up to
    /// `through` (inclusive), as AWS does for records older than 24 hours.
    fn trim_through(&mut self, through: &str) {
        let address = self.dynamodb.address().to_owned();
        let through = through.to_owned();
        let stub = serve(move |request| {
            let target = request.headers.get("x-amz-target").cloned().unwrap_or_default();
            let body = String::from_utf8_lossy(&request.body).into_owned();
            let asked: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let trimmed = target.ends_with(".GetShardIterator")
                && (asked["ShardIteratorType"] == "TRIM_HORIZON"
                    || asked["SequenceNumber"]
                        .as_str()
                        .is_some_and(|number| compare(number, &through).is_le()));
            if trimmed {
                let error = json!({
                    "__type": "com.amazonaws.dynamodb.v20120810#TrimmedDataAccessException",
                    "message": "The operation attempted to read past the oldest stream record in a shard."
                });
                return Reply::Send(response(
                    "400 Bad Request",
                    "application/x-amz-json-1.0",
                    error.to_string().as_bytes(),
                ));
            }
            match test_emulators::dynamodb_local::request(&address, &target, &body) {
                Ok((status, answer)) => Reply::Send(response(
                    &format!("{status} Answer"),
                    "application/x-amz-json-1.0",
                    answer.as_bytes(),
                )),
                Err(_) => Reply::Close,
            }
        });
        self.streams_endpoint = format!("http://{stub}");
    }

    async fn queue(&self) -> String {
        aws_sdk_sqs::Client::new(&self.sdk)
            .create_queue()
            .queue_name("orders-dead-letters")
            .send()
            .await
            .unwrap()
            .queue_url()
            .unwrap()
            .to_owned()
    }

    async fn send(&self, queue: &str, body: &Value) {
        aws_sdk_sqs::Client::new(&self.sdk)
            .send_message()
            .queue_url(queue)
            .message_body(body.to_string())
            .send()
            .await
            .unwrap();
    }

    /// The messages in the queue, visible or not.
    async fn messages_in(&self, queue: &str) -> usize {
        let attributes = aws_sdk_sqs::Client::new(&self.sdk)
            .get_queue_attributes()
            .queue_url(queue)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::All)
            .send()
            .await
            .unwrap();
        let count = |name| {
            attributes
                .attributes()
                .and_then(|attributes| attributes.get(&name))
                .map_or(0, |value| value.parse::<usize>().unwrap())
        };
        count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages)
            + count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
    }

    fn s3(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.sdk)
                .force_path_style(true)
                .build(),
        )
    }

    /// `obsctl redrive ARGS` with test credentials, every service at its emulator, and no other AWS
    /// configuration.
    fn redrive(&self, args: &[&str]) -> Output {
        let mut command = Command::new(env!("CARGO_BIN_EXE_obsctl"));
        for (name, _) in std::env::vars_os() {
            if name.to_string_lossy().starts_with("AWS_") {
                command.env_remove(name);
            }
        }
        command
            .arg("redrive")
            .args(args)
            .env("AWS_ACCESS_KEY_ID", "testing")
            .env("AWS_SECRET_ACCESS_KEY", "testing")
            .env("AWS_REGION", REGION)
            .env("AWS_CONFIG_FILE", "/nonexistent")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .env("AWS_ENDPOINT_URL_SQS", self.moto.endpoint())
            .env("AWS_ENDPOINT_URL_S3", self.moto.endpoint())
            .env("AWS_ENDPOINT_URL_DYNAMODB", self.dynamodb.endpoint())
            .env("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", &self.streams_endpoint)
            .env("AWS_ENDPOINT_URL_LAMBDA", self.watch.endpoint())
            .output()
            .expect("obsctl runs")
    }

    /// The orders the function has processed so far, in order: `(pk, status)` of each record it
    /// decoded (the example logs each change at DEBUG).
    fn processed(&self) -> Vec<(String, String)> {
        std::fs::read_to_string(self.logs.path())
            .unwrap()
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|line| matches!(line["message"].as_str(), Some("order created" | "order updated")))
            .map(|line| {
                let status = line["status"]
                    .as_str()
                    .or(line["to"].as_str())
                    .unwrap_or_default();
                (
                    line["pk"].as_str().unwrap_or_default().to_owned(),
                    status.trim_matches('"').to_owned(),
                )
            })
            .collect()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = self.function.kill();
        let _ = self.function.wait();
    }
}

fn sequence_number(record: &Value) -> &str {
    record["dynamodb"]["SequenceNumber"].as_str().unwrap()
}

/// The invocation record Lambda sends to the destination for a batch of `records` of `shard`
/// (`DDBStreamBatchInfo`; an S3 destination also gets the event as `payload`).
fn invocation_record(world: &World, shard: &str, records: &[Value], with_payload: bool) -> Value {
    let mut record = json!({
        "requestContext": {
            "requestId": "316aa6d0-8154-4c1e-9af7-85d5f4a6bc81",
            "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:orders",
            "condition": "RetryAttemptsExhausted",
            "approximateInvokeCount": 3
        },
        "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": null},
        "version": "1.0",
        "timestamp": "2026-12-02T00:13:49.717Z",
        "DDBStreamBatchInfo": {
            "shardId": shard,
            "startSequenceNumber": sequence_number(&records[0]),
            "endSequenceNumber": sequence_number(records.last().unwrap()),
            "approximateArrivalOfFirstRecord": "2026-12-02T00:13:19Z",
            "approximateArrivalOfLastRecord": "2026-12-02T00:13:19Z",
            "batchSize": records.len(),
            "streamArn": world.stream_arn
        }
    });
    if with_payload {
        let delivered: Vec<Value> = records
            .iter()
            .map(|record| {
                let mut record = record.clone();
                record["eventSourceARN"] = json!(world.stream_arn);
                record
            })
            .collect();
        record["payload"] = json!(json!({"Records": delivered}).to_string());
    }
    record
}

fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

fn pairs(orders: &[(&str, &str)]) -> Vec<(String, String)> {
    orders
        .iter()
        .map(|(pk, status)| ((*pk).to_owned(), (*status).to_owned()))
        .collect()
}

#[tokio::test]
async fn a_range_named_by_an_sqs_pointer_is_read_back_from_the_stream_and_replayed_in_order() {
    if !run_in_private_network(
        "a_range_named_by_an_sqs_pointer_is_read_back_from_the_stream_and_replayed_in_order",
    ) {
        return;
    }
    let world = World::start().await;
    world.put("ORDER#1", "PENDING", 4_200);
    world.put("ORDER#2", "PAID", 900);
    world.put("ORDER#3", "SHIPPED", 1_500);
    let (shard, records) = world.stream(3);
    let queue = world.queue().await;
    world
        .send(&queue, &invocation_record(&world, &shard, &records, false))
        .await;

    // A dry run changes nothing: the message is back in the queue at once.
    let dry = world.redrive(&["--queue-url", &queue, "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    assert!(text(&dry).contains("would replay"), "{}", text(&dry));
    assert_eq!(world.messages_in(&queue).await, 1);

    // --to-dir writes the event Lambda would have built, which the function's own parsing takes.
    let folder = tempfile::tempdir().unwrap();
    let written = world.redrive(&["--queue-url", &queue, "--to-dir", folder.path().to_str().unwrap()]);
    assert_eq!(written.status.code(), Some(0), "{}", text(&written));
    let files: Vec<PathBuf> = std::fs::read_dir(folder.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{}", text(&written));
    let event: Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    let rebuilt = event["Records"].as_array().unwrap();
    assert_eq!(rebuilt.len(), 3);
    for (rebuilt, original) in rebuilt.iter().zip(&records) {
        let mut names: Vec<&String> = rebuilt.as_object().unwrap().keys().collect();
        names.sort();
        assert_eq!(
            names,
            [
                "awsRegion",
                "dynamodb",
                "eventID",
                "eventName",
                "eventSource",
                "eventSourceARN",
                "eventVersion"
            ],
            "Lambda's field names"
        );
        assert_eq!(rebuilt["eventSourceARN"], world.stream_arn);
        assert_eq!(rebuilt["eventID"], original["eventID"]);
        assert_eq!(rebuilt["dynamodb"]["NewImage"], original["dynamodb"]["NewImage"]);
        assert_eq!(rebuilt["dynamodb"]["Keys"], original["dynamodb"]["Keys"]);
        assert_eq!(
            rebuilt["dynamodb"]["SizeBytes"],
            original["dynamodb"]["SizeBytes"]
        );
        assert_eq!(
            rebuilt["dynamodb"]["ApproximateCreationDateTime"].as_f64(),
            original["dynamodb"]["ApproximateCreationDateTime"].as_f64(),
            "the stream's creation time, not a date the SDK made of it"
        );
    }
    let local = Command::new(function_binary())
        .args(["--event", files[0].to_str().unwrap()])
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .unwrap();
    assert_eq!(local.status.code(), Some(0), "{}", text(&local));
    let answer: Value = serde_json::from_slice(&local.stdout).unwrap();
    assert_eq!(answer, json!({"batchItemFailures": []}), "{}", text(&local));
    assert_eq!(world.messages_in(&queue).await, 1, "--to-dir settles nothing");

    // --invoke replays through the Invoke API, in stream order, then deletes the message.
    let invoked = world.redrive(&["--queue-url", &queue, "--invoke", cargo_lambda::FUNCTION_NAME]);
    let summary = text(&invoked);
    assert_eq!(invoked.status.code(), Some(0), "{summary}");
    assert!(
        summary.contains("1 failures: 3 records, 3 replayed, 0 superseded, 0 lost"),
        "{summary}"
    );
    assert!(summary.contains("everything is recovered"), "{summary}");
    assert_eq!(
        world.processed(),
        pairs(&[
            ("ORDER#1", "Pending"),
            ("ORDER#2", "Paid"),
            ("ORDER#3", "Shipped")
        ])
    );
    assert_eq!(
        world.messages_in(&queue).await,
        0,
        "the recovered failure is deleted"
    );
}

#[tokio::test]
async fn a_change_superseded_by_a_later_one_in_the_stream_is_skipped_unless_asked_for() {
    if !run_in_private_network("a_change_superseded_by_a_later_one_in_the_stream_is_skipped_unless_asked_for")
    {
        return;
    }
    let world = World::start().await;
    world.put("ORDER#1", "PENDING", 4_200);
    world.put("ORDER#2", "PAID", 900);
    // After the failed range: replaying ORDER#1's PENDING now would undo this.
    world.put("ORDER#1", "PAID", 4_200);
    let (shard, records) = world.stream(3);
    let pointer = invocation_record(&world, &shard, &records[..2], false);
    let queue = world.queue().await;
    world.send(&queue, &pointer).await;

    let skipped = world.redrive(&["--queue-url", &queue, "--invoke", cargo_lambda::FUNCTION_NAME]);
    let summary = text(&skipped);
    assert_eq!(skipped.status.code(), Some(0), "{summary}");
    assert!(summary.contains("1 skipped"), "{summary}");
    assert!(
        summary.contains(&format!(
            "1: superseded, skipped: event {} (sequence number {}): a later change of the item is in the stream",
            records[0]["eventID"].as_str().unwrap(),
            sequence_number(&records[0])
        )),
        "{summary}"
    );
    assert!(
        summary.contains("1 failures: 2 records, 1 replayed, 1 superseded, 0 lost"),
        "{summary}"
    );
    assert!(
        !summary.contains("ORDER#"),
        "no item key or value in the summary: {summary}"
    );
    assert_eq!(world.processed(), pairs(&[("ORDER#2", "Paid")]));
    assert_eq!(
        world.messages_in(&queue).await,
        0,
        "skipping a superseded change completes the range"
    );

    world.send(&queue, &pointer).await;
    let anyway = world.redrive(&[
        "--queue-url",
        &queue,
        "--invoke",
        cargo_lambda::FUNCTION_NAME,
        "--include-superseded",
    ]);
    let summary = text(&anyway);
    assert_eq!(anyway.status.code(), Some(0), "{summary}");
    assert!(
        summary.contains("1 replayed") && summary.contains("superseded, replayed anyway"),
        "{summary}"
    );
    assert_eq!(
        world.processed(),
        pairs(&[("ORDER#2", "Paid"), ("ORDER#1", "Pending"), ("ORDER#2", "Paid")])
    );
}

#[tokio::test]
async fn a_range_the_stream_has_trimmed_is_reported_lost_with_its_sequence_numbers_and_kept() {
    if !run_in_private_network(
        "a_range_the_stream_has_trimmed_is_reported_lost_with_its_sequence_numbers_and_kept",
    ) {
        return;
    }
    let mut world = World::start().await;
    world.put("ORDER#1", "PENDING", 4_200);
    world.put("ORDER#2", "PAID", 900);
    let (shard, records) = world.stream(2);
    let queue = world.queue().await;
    world
        .send(&queue, &invocation_record(&world, &shard, &records, false))
        .await;
    world.trim_through(sequence_number(&records[1]));

    let lost = world.redrive(&["--queue-url", &queue, "--invoke", cargo_lambda::FUNCTION_NAME]);
    let summary = text(&lost);
    assert_eq!(lost.status.code(), Some(1), "{summary}");
    assert!(
        summary.contains(&format!(
            "1: LOST sequence numbers {} to {} of {shard}: the stream has trimmed these records (it keeps 24 hours)",
            sequence_number(&records[0]),
            sequence_number(&records[1])
        )),
        "{summary}"
    );
    assert!(
        summary.contains("1 failures: 0 records, 0 replayed, 0 superseded, 2 lost"),
        "{summary}"
    );
    assert!(summary.contains("NOT everything is recovered"), "{summary}");
    assert_eq!(world.processed(), pairs(&[]));
    assert_eq!(
        world.messages_in(&queue).await,
        1,
        "the evidence of the loss is kept"
    );
}

#[tokio::test]
async fn an_s3_object_is_replayed_from_its_own_records_after_the_stream_has_trimmed_them() {
    if !run_in_private_network(
        "an_s3_object_is_replayed_from_its_own_records_after_the_stream_has_trimmed_them",
    ) {
        return;
    }
    let mut world = World::start().await;
    world.put("ORDER#1", "PENDING", 4_200);
    world.put("ORDER#2", "PAID", 900);
    world.put("ORDER#3", "SHIPPED", 1_500);
    // Changed after the range; by the time of the redrive the stream has trimmed this change too,
    // so only the table can tell.
    world.put("ORDER#2", "CANCELLED", 900);
    let (shard, records) = world.stream(4);
    world.trim_through(sequence_number(&records[3]));
    let s3 = world.s3();
    s3.create_bucket()
        .bucket("orders-failures")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(REGION))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let key = format!(
        "aws/lambda/6f9a2b1c-0000-4000-8000-000000000001/{shard}/2026/12/02/2026-12-02T00.13.49-0c1e2f3a-4b5c-4d6e-8f70-81a2b3c4d5e6"
    );
    s3.put_object()
        .bucket("orders-failures")
        .key(&key)
        .body(
            invocation_record(&world, &shard, &records[..3], true)
                .to_string()
                .into_bytes()
                .into(),
        )
        .send()
        .await
        .unwrap();

    let replayed = world.redrive(&[
        "--bucket",
        "orders-failures",
        "--invoke",
        cargo_lambda::FUNCTION_NAME,
    ]);
    let summary = text(&replayed);
    assert_eq!(replayed.status.code(), Some(0), "{summary}");
    assert!(
        summary.contains(&format!(
            "1: superseded, skipped: event {} (sequence number {}): the table's item has changed since",
            records[1]["eventID"].as_str().unwrap(),
            sequence_number(&records[1])
        )),
        "{summary}"
    );
    assert!(
        summary.contains("1 failures: 3 records, 2 replayed, 1 superseded, 0 lost"),
        "{summary}"
    );
    assert_eq!(
        world.processed(),
        pairs(&[("ORDER#1", "Pending"), ("ORDER#3", "Shipped")])
    );
    let tags = s3
        .get_object_tagging()
        .bucket("orders-failures")
        .key(&key)
        .send()
        .await
        .unwrap();
    assert!(
        tags.tag_set()
            .iter()
            .any(|tag| tag.key() == "obsctl-redrive" && tag.value() == "replayed"),
        "{tags:?}"
    );

    let again = world.redrive(&[
        "--bucket",
        "orders-failures",
        "--invoke",
        cargo_lambda::FUNCTION_NAME,
    ]);
    let summary = text(&again);
    assert_eq!(again.status.code(), Some(0), "{summary}");
    assert!(
        summary.contains("0 failures: 0 records") && summary.contains("1 objects already replayed"),
        "{summary}"
    );
    assert_eq!(world.processed().len(), 2, "nothing replayed twice");
}

#[tokio::test]
async fn a_function_that_fails_again_keeps_the_failure_and_nothing_after_it_runs() {
    if !run_in_private_network("a_function_that_fails_again_keeps_the_failure_and_nothing_after_it_runs") {
        return;
    }
    let world = World::start().await;
    world.put("ORDER#1", "PENDING", 4_200);
    // Not a status the example knows: it fails this record permanently, every time.
    world.put("ORDER#2", "MISLAID", 900);
    world.put("ORDER#3", "PAID", 1_500);
    world.put("ORDER#4", "SHIPPED", 700);
    let (shard, records) = world.stream(4);
    let queue = world.queue().await;
    world
        .send(&queue, &invocation_record(&world, &shard, &records[..3], false))
        .await;
    world
        .send(&queue, &invocation_record(&world, &shard, &records[3..], false))
        .await;

    let failed = world.redrive(&[
        "--queue-url",
        &queue,
        "--invoke",
        cargo_lambda::FUNCTION_NAME,
        "--max-retries",
        "1",
    ]);
    let summary = text(&failed);
    // First the function reports ORDER#2 in its partial batch response; the retry starts at it and
    // fails as a whole (the first record of a batch failing is an invocation error): given up.
    assert_eq!(failed.status.code(), Some(1), "{summary}");
    assert!(
        summary.contains(&format!(
            "1: failed again at sequence number {}: 2 records from it on were not replayed, the failure is kept \
             (FirstRecordFailed: ",
            sequence_number(&records[1]),
        )),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("2: held back: an earlier range of {shard} failed again")),
        "{summary}"
    );
    assert_eq!(
        world.processed(),
        pairs(&[("ORDER#1", "Pending")]),
        "the failed record twice (first try and one retry) decoded nothing; ORDER#3 and ORDER#4 never ran"
    );
    assert_eq!(world.messages_in(&queue).await, 2, "both failures are kept");
}
