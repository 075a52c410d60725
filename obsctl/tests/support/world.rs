//! One redrive world: DynamoDB Local with the example's table, moto for the SQS queue and the S3
//! bucket, cargo-lambda's emulator in front of the function binary, and `obsctl redrive` pointed at
//! all of them. Shared by the redrive tests and the redrive benchmark.
//!
//! DynamoDB Local listens on every interface: whoever uses a `World` runs inside a private network
//! namespace ([`run_in_private_network`]). The function binary is the one Cargo builds for the
//! workspace beside this executable (`cargo test --workspace` builds it; for the benchmark,
//! `cargo build --release --bin ddb-stream-processor`), or `DDB_FUNCTION_BINARY`.

#![allow(dead_code)] // each user takes what it needs

use std::path::PathBuf;
use std::process::{Child, Output, Stdio};
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

use super::obsctl_command::obsctl_with_test_credentials;

/// The oldest record a trimmed shard still has, as the stub in front of DynamoDB Local says.
#[derive(Debug, Clone)]
enum Oldest {
    /// This one.
    At(String),
    /// The one after this.
    After(String),
}

impl Oldest {
    fn has_trimmed(&self, number: &str) -> bool {
        match self {
            Self::At(first) => compare(number, first).is_lt(),
            Self::After(last_trimmed) => compare(number, last_trimmed).is_le(),
        }
    }
}

pub const REGION: &str = "eu-west-1";
pub const TABLE: &str = "Orders";
/// The longest the stream may take to show a change.
pub const STREAM_WAIT: Duration = Duration::from_secs(60);

/// The function binary: `DDB_FUNCTION_BINARY`, or the workspace's debug build beside this test.
pub fn function_binary() -> PathBuf {
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
pub fn run_in_private_network(test: &str) -> bool {
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
pub struct World {
    pub dynamodb: DynamoDbLocal,
    pub moto: Moto,
    pub watch: Watch,
    pub function: Child,
    pub logs: tempfile::NamedTempFile,
    pub stream_arn: String,
    /// Where obsctl reads the stream: DynamoDB Local, or the trimming stub in front of it.
    pub streams_endpoint: String,
    pub sdk: aws_config::SdkConfig,
}

impl World {
    /// Every server, and the function logging each record it decodes (DEBUG), for [`Self::processed`].
    pub async fn start() -> Self {
        Self::start_logging("DEBUG").await
    }

    /// Every server, and the function logging at `level`.
    pub async fn start_logging(level: &str) -> Self {
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
            .env("AWS_LAMBDA_LOG_LEVEL", level)
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

    pub fn put(&self, pk: &str, status: &str, amount_cents: u64) {
        self.dynamodb.put(TABLE, &example_order(pk, status, amount_cents));
    }

    /// The stream's shard and its first `count` records, as `GetRecords` returns them.
    pub fn stream(&self, count: usize) -> (String, Vec<Value>) {
        let (shard, records) = self.dynamodb.stream_records(&self.stream_arn, count, STREAM_WAIT);
        assert_eq!(records.len(), count, "the stream holds exactly the changes made");
        (shard, records)
    }

    /// From now on, the stream answers `TrimmedDataAccessException` for every position up to
    /// `through` (inclusive), as AWS does for records older than 24 hours.
    pub fn trim_through(&mut self, through: &str) {
        self.stub_the_stream(Some(Oldest::After(through.to_owned())), 0);
    }

    /// From now on, the shard starts at `first` as far as the stream API says: the records before it
    /// are trimmed, and `TRIM_HORIZON` is `first`.
    pub fn trim_before(&mut self, first: &str) {
        self.stub_the_stream(Some(Oldest::At(first.to_owned())), 0);
    }

    /// From now on, the first `count` `GetRecords` calls answer `ExpiredIteratorException`, as AWS
    /// does for an iterator older than 15 minutes.
    pub fn expire_iterators(&mut self, count: usize) {
        self.stub_the_stream(None, count);
    }

    /// A stub in front of DynamoDB Local's stream API: it answers what no emulator produces and
    /// forwards everything else.
    fn stub_the_stream(&mut self, oldest: Option<Oldest>, expired_pages: usize) {
        let address = self.dynamodb.address().to_owned();
        let expiring = std::sync::atomic::AtomicUsize::new(expired_pages);
        let stub = serve(move |request| {
            let target = request.headers.get("x-amz-target").cloned().unwrap_or_default();
            let mut body = String::from_utf8_lossy(&request.body).into_owned();
            let mut asked: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
            let trimmed = target.ends_with(".GetShardIterator")
                && oldest.as_ref().is_some_and(|oldest| {
                    asked["SequenceNumber"]
                        .as_str()
                        .is_some_and(|number| oldest.has_trimmed(number))
                });
            // TRIM_HORIZON: the oldest record the stub leaves.
            if target.ends_with(".GetShardIterator")
                && asked["ShardIteratorType"] == "TRIM_HORIZON"
                && let Some(oldest) = &oldest
            {
                let (kind, number) = match oldest {
                    Oldest::At(number) => ("AT_SEQUENCE_NUMBER", number),
                    Oldest::After(number) => ("AFTER_SEQUENCE_NUMBER", number),
                };
                asked["ShardIteratorType"] = json!(kind);
                asked["SequenceNumber"] = json!(number);
                body = asked.to_string();
            }
            let expired = target.ends_with(".GetRecords")
                && expiring
                    .fetch_update(
                        std::sync::atomic::Ordering::SeqCst,
                        std::sync::atomic::Ordering::SeqCst,
                        |left| left.checked_sub(1),
                    )
                    .is_ok();
            let error = |kind: &str, message: &str| {
                let error =
                    json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"), "message": message});
                Reply::Send(response(
                    "400 Bad Request",
                    "application/x-amz-json-1.0",
                    error.to_string().as_bytes(),
                ))
            };
            if trimmed {
                return error(
                    "TrimmedDataAccessException",
                    "The operation attempted to read past the oldest stream record in a shard.",
                );
            }
            if expired {
                return error("ExpiredIteratorException", "Iterator expired");
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

    pub async fn queue(&self) -> String {
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

    pub async fn send(&self, queue: &str, body: &Value) {
        aws_sdk_sqs::Client::new(&self.sdk)
            .send_message()
            .queue_url(queue)
            .message_body(body.to_string())
            .send()
            .await
            .unwrap();
    }

    /// The messages in the queue, visible or not.
    pub async fn messages_in(&self, queue: &str) -> usize {
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

    /// A stack named `name` with these outputs (template.yaml's names), as `--stack-name` reads them.
    pub async fn stack(&self, name: &str, outputs: &[(&str, &str)]) {
        let outputs: serde_json::Map<String, Value> = outputs
            .iter()
            .map(|(output, value)| ((*output).to_owned(), json!({"Value": value})))
            .collect();
        let template = json!({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}, "Outputs": outputs});
        aws_sdk_cloudformation::Client::new(&self.sdk)
            .create_stack()
            .stack_name(name)
            .template_body(template.to_string())
            .send()
            .await
            .expect("moto creates the stack");
    }

    /// Writes `orders` (pk, status, amount), and sends the queue a pointer to all their records, as
    /// Lambda does when such a batch gives up; the shard, the records and the queue's URL.
    pub async fn failed_batch_in_the_queue(
        &self,
        orders: &[(&str, &str, u64)],
    ) -> (String, Vec<Value>, String) {
        for (pk, status, amount_cents) in orders {
            self.put(pk, status, *amount_cents);
        }
        let (shard, records) = self.stream(orders.len());
        let queue = self.queue().await;
        self.send(&queue, &invocation_record(self, &shard, &records, false))
            .await;
        (shard, records, queue)
    }

    pub fn s3(&self) -> aws_sdk_s3::Client {
        aws_sdk_s3::Client::from_conf(
            aws_sdk_s3::config::Builder::from(&self.sdk)
                .force_path_style(true)
                .build(),
        )
    }

    /// `obsctl redrive ARGS` with test credentials, every service at its emulator, and no other AWS
    /// configuration.
    pub fn redrive(&self, args: &[&str]) -> Output {
        obsctl_with_test_credentials(REGION)
            .arg("redrive")
            .args(args)
            .env("AWS_ENDPOINT_URL_SQS", self.moto.endpoint())
            .env("AWS_ENDPOINT_URL_S3", self.moto.endpoint())
            .env("AWS_ENDPOINT_URL_CLOUDFORMATION", self.moto.endpoint())
            .env("AWS_ENDPOINT_URL_DYNAMODB", self.dynamodb.endpoint())
            .env("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", &self.streams_endpoint)
            .env("AWS_ENDPOINT_URL_LAMBDA", self.watch.endpoint())
            .output()
            .expect("obsctl runs")
    }

    /// The orders the function has processed so far, in order: `(pk, status)` of each record it
    /// decoded (the example logs each change at DEBUG).
    pub fn processed(&self) -> Vec<(String, String)> {
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

pub fn sequence_number(record: &Value) -> &str {
    record["dynamodb"]["SequenceNumber"].as_str().unwrap()
}

/// The invocation record Lambda sends to the destination for a batch of `records` of `shard`
/// (`DDBStreamBatchInfo`; an S3 destination also gets the event as `payload`).
pub fn invocation_record(world: &World, shard: &str, records: &[Value], with_payload: bool) -> Value {
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

pub fn text(output: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    )
}

pub fn pairs(orders: &[(&str, &str)]) -> Vec<(String, String)> {
    orders
        .iter()
        .map(|(pk, status)| ((*pk).to_owned(), (*status).to_owned()))
        .collect()
}
