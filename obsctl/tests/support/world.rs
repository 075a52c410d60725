//! One redrive world: DynamoDB Local with a table and its stream, moto for the SQS queue, the S3
//! bucket and the stack's outputs, cargo-lambda's emulator in front of the library's scripted
//! function, and `obsctl redrive` pointed at all of them. Shared by the redrive tests and the
//! redrive benchmark.
//!
//! The function is `scripted-function`, the library's `run` with the record-scripted processor
//! (`ddb_stream_processor::testing::ImageScriptedProcessor`): an item's `script` attribute says
//! what the function does with its record, and each record it completes is logged by event id and
//! sequence number. So these tests hold whatever processor a team puts in place of the example.
//!
//! The Lambda API has one endpoint: a router in front of cargo-lambda's emulator answers
//! `GetEventSourceMapping` with the mapping this world describes (moto keeps mappings only for the
//! streams of its own DynamoDB, and the stream here is DynamoDB Local's) and forwards every other
//! request (`Invoke`) to the emulator.
//!
//! DynamoDB Local listens on every interface: whoever uses a `World` runs inside a private network
//! namespace ([`run_in_private_network`]). The function binary is the one Cargo builds for the
//! workspace beside this executable (`cargo test --workspace` builds it; for the benchmark,
//! `cargo build --release -p ddb-stream-processor --features testing,mimalloc --bin
//! scripted-function`), or `DDB_FUNCTION_BINARY`.

#![allow(dead_code)] // each user takes what it needs

use std::path::PathBuf;
use std::process::{Child, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use ddb_stream_processor::record::sequence_number::compare;
use ddb_stream_processor::testing::{DONE_MESSAGE, FIXED_VARIABLE};
use serde_json::{Value, json};
use test_emulators::cargo_lambda::{self, Watch};
use test_emulators::dynamodb_local::{DynamoDbLocal, in_private_network, inside_private_network};
use test_emulators::http::{Reply, forward, response, serve};
use test_emulators::moto::Moto;

use super::obsctl_command::obsctl_with_test_credentials;

pub const REGION: &str = "eu-west-1";
pub const TABLE: &str = "Items";
/// The longest the stream may take to show a change.
pub const STREAM_WAIT: Duration = Duration::from_secs(60);
/// The event source mapping the world describes (its UUID, as the stack's output names it).
pub const MAPPING_UUID: &str = "6f9a2b1c-0000-4000-8000-000000000001";
/// The function the mapping invokes, as Lambda names it in the failure records.
pub const FUNCTION_ARN: &str = "arn:aws:lambda:eu-west-1:123456789012:function:items-stream-processor";

/// The function binary: `DDB_FUNCTION_BINARY`, or the workspace's `scripted-function` beside this
/// test.
pub fn function_binary() -> PathBuf {
    if let Some(path) = std::env::var_os("DDB_FUNCTION_BINARY") {
        return PathBuf::from(path);
    }
    let binary = std::env::current_exe()
        .expect("the test executable")
        .parent()
        .and_then(|deps| deps.parent())
        .expect("target/<profile>/deps")
        .join("scripted-function");
    assert!(
        binary.exists(),
        "{} is missing: build it first (`cargo build -p ddb-stream-processor --features testing,mimalloc \
         --bin scripted-function`; `cargo test --workspace` builds it) or set DDB_FUNCTION_BINARY",
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

/// What the stub in front of DynamoDB Local's stream API does that no emulator does.
#[derive(Debug, Default)]
struct StreamFaults {
    /// Positions the stream has trimmed: `TrimmedDataAccessException` for them, and
    /// `TRIM_HORIZON` just after them.
    trimmed: Option<Oldest>,
    /// `GetRecords` calls left to answer `ExpiredIteratorException`.
    expired_pages: usize,
    /// Records per `GetRecords` page (DynamoDB Local answers up to the `Limit` asked).
    page_size: Option<u64>,
    /// Empty pages before records past this sequence number, as DynamoDB Streams may answer:
    /// how many (`None`: every page, for ever).
    withheld: Option<(String, Option<usize>)>,
    /// `GetShardIterator` at or after this sequence number answers `InternalServerError`.
    failing_from: Option<String>,
}

/// The oldest record a trimmed shard still has, as the stub says.
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

/// Every server of one test, and the function polling cargo-lambda's emulator.
pub struct World {
    pub dynamodb: DynamoDbLocal,
    pub moto: Moto,
    pub watch: Watch,
    pub function: Child,
    pub logs: tempfile::NamedTempFile,
    pub stream_arn: String,
    /// Where obsctl reads the stream: a stub in front of DynamoDB Local.
    pub streams_endpoint: String,
    /// Where obsctl calls the Lambda API: the router in front of cargo-lambda's emulator.
    pub lambda_endpoint: String,
    /// What the router answers for `GetEventSourceMapping`.
    pub mapping: Arc<Mutex<Value>>,
    /// Invocations so far through the router, and from which one on it answers
    /// `TooManyRequestsException` instead of invoking.
    invocations: Arc<Mutex<(usize, Option<usize>)>>,
    faults: Arc<Mutex<StreamFaults>>,
    log_level: String,
    pub sdk: aws_config::SdkConfig,
}

impl World {
    /// Every server, a table whose stream has both images, and the function logging each record it
    /// completes (DEBUG), for [`Self::processed`].
    pub async fn start() -> Self {
        Self::start_with("NEW_AND_OLD_IMAGES", "DEBUG").await
    }

    /// The same with a stream of `view_type`.
    pub async fn start_with_view(view_type: &str) -> Self {
        Self::start_with(view_type, "DEBUG").await
    }

    /// Every server, a table whose stream has `view_type`, and the function logging at `level`.
    pub async fn start_with(view_type: &str, level: &str) -> Self {
        let dynamodb = DynamoDbLocal::start();
        let stream_arn = dynamodb.create_table(TABLE, view_type);
        let moto = Moto::start();
        let watch = Watch::start(&test_emulators::repository());
        let logs = tempfile::NamedTempFile::new().unwrap();
        let function = start_function(&watch, &logs, level, false);
        let sdk = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(REGION))
            .endpoint_url(moto.endpoint())
            .credentials_provider(aws_sdk_sqs::config::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .load()
            .await;
        let faults = Arc::new(Mutex::new(StreamFaults::default()));
        let streams_endpoint = format!("http://{}", stream_stub(dynamodb.address(), Arc::clone(&faults)));
        let mapping = Arc::new(Mutex::new(json!({
            "UUID": MAPPING_UUID,
            "EventSourceArn": stream_arn,
            "FunctionArn": FUNCTION_ARN,
            "State": "Enabled",
            "StartingPosition": "TRIM_HORIZON",
            "BatchSize": 100,
            "ParallelizationFactor": 1,
            "MaximumRetryAttempts": 2,
            "BisectBatchOnFunctionError": true,
            "FunctionResponseTypes": ["ReportBatchItemFailures"]
        })));
        let invocations = Arc::new(Mutex::new((0, None)));
        let lambda_endpoint = format!(
            "http://{}",
            lambda_router(
                format!("127.0.0.1:{}", watch.port()),
                Arc::clone(&mapping),
                Arc::clone(&invocations)
            )
        );
        Self {
            dynamodb,
            moto,
            watch,
            function,
            logs,
            stream_arn,
            streams_endpoint,
            lambda_endpoint,
            mapping,
            invocations,
            faults,
            log_level: level.to_owned(),
            sdk,
        }
    }

    /// Writes an item: its key, a version, and the processor's script when there is one.
    pub fn put(&self, pk: &str, version: u64, script: Option<&str>) {
        let mut item = item(pk, version);
        if let Some(script) = script {
            item["script"] = json!({"S": script});
        }
        self.put_item(&item);
    }

    /// Writes `item` as it is.
    pub fn put_item(&self, item: &Value) {
        self.dynamodb.put(TABLE, item);
    }

    /// Deletes the item of `pk`.
    pub fn delete(&self, pk: &str) {
        self.dynamodb.call(
            "DynamoDB_20120810.DeleteItem",
            &json!({"TableName": TABLE, "Key": {"pk": {"S": pk}, "sk": {"S": "ITEM"}}}),
        );
    }

    /// The stream's shard and its first `count` records, as `GetRecords` returns them.
    pub fn stream(&self, count: usize) -> (String, Vec<Value>) {
        let (shard, records) = self.dynamodb.stream_records(&self.stream_arn, count, STREAM_WAIT);
        assert_eq!(records.len(), count, "the stream holds exactly the changes made");
        (shard, records)
    }

    /// The mapping's `FilterCriteria` become this one filter pattern.
    pub fn filter(&self, pattern: &Value) {
        self.mapping.lock().unwrap()["FilterCriteria"] =
            json!({"Filters": [{"Pattern": pattern.to_string()}]});
    }

    /// The mapping's `ParallelizationFactor`.
    pub fn parallelization_factor(&self, factor: u32) {
        self.mapping.lock().unwrap()["ParallelizationFactor"] = json!(factor);
    }

    /// From the `first`-th invocation on (counting from 1, from the world's start), the Lambda API
    /// answers `TooManyRequestsException` (the SDK's retries included); `None` lets them through again.
    pub fn throttle_invocations_from(&self, first: Option<usize>) {
        self.invocations.lock().unwrap().1 = first;
    }

    /// From now on, the stream answers `TrimmedDataAccessException` for every position up to
    /// `through` (inclusive), as AWS does for records older than 24 hours.
    pub fn trim_through(&self, through: &str) {
        self.faults.lock().unwrap().trimmed = Some(Oldest::After(through.to_owned()));
    }

    /// From now on, the shard starts at `first` as far as the stream API says: the records before it
    /// are trimmed, and `TRIM_HORIZON` is `first`.
    pub fn trim_before(&self, first: &str) {
        self.faults.lock().unwrap().trimmed = Some(Oldest::At(first.to_owned()));
    }

    /// From now on, the first `count` `GetRecords` calls answer `ExpiredIteratorException`, as AWS
    /// does for an iterator older than 15 minutes.
    pub fn expire_iterators(&self, count: usize) {
        self.faults.lock().unwrap().expired_pages = count;
    }

    /// From now on, every `GetRecords` page holds at most `records`.
    pub fn page_size(&self, records: u64) {
        self.faults.lock().unwrap().page_size = Some(records);
    }

    /// From now on, a page whose records come after sequence number `after` is answered empty
    /// first, `count` times (`None`: always), with the iterator it was asked with as the next one:
    /// DynamoDB Streams may answer empty pages before a shard's records.
    pub fn withhold_pages_after(&self, after: &str, count: Option<usize>) {
        self.faults.lock().unwrap().withheld = Some((after.to_owned(), count));
    }

    /// From now on, `GetShardIterator` at or after `first` answers `InternalServerError`.
    pub fn fail_stream_reads_from(&self, first: &str) {
        self.faults.lock().unwrap().failing_from = Some(first.to_owned());
    }

    /// Restarts the function as a team redeploys a fix: `fail-until-fixed` records now succeed.
    pub fn deploy_the_fix(&mut self) {
        let _ = self.function.kill();
        let _ = self.function.wait();
        self.function = start_function(&self.watch, &self.logs, &self.log_level, true);
    }

    pub async fn queue(&self) -> String {
        self.named_queue("items-dead-letters").await
    }

    pub async fn named_queue(&self, name: &str) -> String {
        aws_sdk_sqs::Client::new(&self.sdk)
            .create_queue()
            .queue_name(name)
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
        let (visible, hidden) = self.message_counts(queue).await;
        visible + hidden
    }

    /// The messages in the queue: (visible, hidden by a reader).
    pub async fn message_counts(&self, queue: &str) -> (usize, usize) {
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
        (
            count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessages),
            count(aws_sdk_sqs::types::QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
        )
    }

    /// The bodies of the messages in the queue, read and made visible again at once.
    pub async fn bodies_in(&self, queue: &str) -> Vec<Value> {
        let client = aws_sdk_sqs::Client::new(&self.sdk);
        let mut bodies = Vec::new();
        let mut handles = Vec::new();
        loop {
            let received = client
                .receive_message()
                .queue_url(queue)
                .max_number_of_messages(10)
                .visibility_timeout(30)
                .send()
                .await
                .unwrap();
            if received.messages().is_empty() {
                break;
            }
            for message in received.messages() {
                bodies.push(serde_json::from_str(message.body().unwrap()).unwrap());
                handles.push(message.receipt_handle().unwrap().to_owned());
            }
        }
        for handle in handles {
            client
                .change_message_visibility()
                .queue_url(queue)
                .receipt_handle(handle)
                .visibility_timeout(0)
                .send()
                .await
                .unwrap();
        }
        bodies
    }

    /// A stack named `name` with these outputs (template.yaml's names), as `--stack-name` reads them;
    /// `EventSourceMappingId` names the world's mapping unless given.
    pub async fn stack(&self, name: &str, outputs: &[(&str, &str)]) {
        let mut values: serde_json::Map<String, Value> = outputs
            .iter()
            .map(|(output, value)| ((*output).to_owned(), json!({"Value": value})))
            .collect();
        values
            .entry("EventSourceMappingId")
            .or_insert(json!({"Value": MAPPING_UUID}));
        let template = json!({"Resources": {"Topic": {"Type": "AWS::SNS::Topic"}}, "Outputs": values});
        aws_sdk_cloudformation::Client::new(&self.sdk)
            .create_stack()
            .stack_name(name)
            .template_body(template.to_string())
            .send()
            .await
            .expect("moto creates the stack");
    }

    /// A stack `items` whose outputs name the queue and the function.
    pub async fn stack_with_queue(&self, queue: &str) {
        self.stack(
            "items",
            &[
                ("DeadLetterQueueUrl", queue),
                ("FunctionName", cargo_lambda::FUNCTION_NAME),
            ],
        )
        .await;
    }

    /// A stack `items` whose outputs name the bucket and the function.
    pub async fn stack_with_bucket(&self, bucket: &str) {
        self.stack(
            "items",
            &[
                ("FailureBucketName", bucket),
                ("FunctionName", cargo_lambda::FUNCTION_NAME),
            ],
        )
        .await;
    }

    /// Writes items `pks` (version 1, with their scripts), and sends the queue a pointer to all their
    /// records, as Lambda does when such a batch gives up; the shard, the records and the queue's URL.
    pub async fn failed_batch_in_the_queue(
        &self,
        items: &[(&str, Option<&str>)],
    ) -> (String, Vec<Value>, String) {
        for (pk, script) in items {
            self.put(pk, 1, *script);
        }
        let (shard, records) = self.stream(items.len());
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

    /// Creates the bucket `bucket`.
    pub async fn bucket(&self, bucket: &str) {
        self.s3()
            .create_bucket()
            .bucket(bucket)
            .create_bucket_configuration(
                aws_sdk_s3::types::CreateBucketConfiguration::builder()
                    .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(REGION))
                    .build(),
            )
            .send()
            .await
            .unwrap();
    }

    /// Writes the S3 failure object of `records` (the invocation record with its payload) where
    /// Lambda writes it for the world's mapping; returns its key.
    pub async fn failure_object(&self, bucket: &str, shard: &str, records: &[Value], name: &str) -> String {
        let key = format!("aws/lambda/{MAPPING_UUID}/{shard}/2026/12/02/{name}");
        self.s3()
            .put_object()
            .bucket(bucket)
            .key(&key)
            .body(
                invocation_record(self, shard, records, true)
                    .to_string()
                    .into_bytes()
                    .into(),
            )
            .send()
            .await
            .unwrap();
        key
    }

    /// The tags of the object `key` of `bucket`, as (key, value).
    pub async fn tags(&self, bucket: &str, key: &str) -> Vec<(String, String)> {
        self.s3()
            .get_object_tagging()
            .bucket(bucket)
            .key(key)
            .send()
            .await
            .unwrap()
            .tag_set()
            .iter()
            .map(|tag| (tag.key().to_owned(), tag.value().to_owned()))
            .collect()
    }

    /// `obsctl redrive ARGS` with test credentials, every service at its emulator, and no other AWS
    /// configuration.
    pub fn redrive(&self, args: &[&str]) -> Output {
        self.redrive_command(args).output().expect("obsctl runs")
    }

    /// The command [`Self::redrive`] runs, to start it in the background.
    pub fn redrive_command(&self, args: &[&str]) -> std::process::Command {
        let mut command = obsctl_with_test_credentials(REGION);
        command
            .arg("redrive")
            .args(args)
            .env("AWS_ENDPOINT_URL_SQS", self.moto.endpoint())
            .env("AWS_ENDPOINT_URL_S3", self.moto.endpoint())
            .env("AWS_ENDPOINT_URL_CLOUDFORMATION", self.moto.endpoint())
            .env("AWS_ENDPOINT_URL_DYNAMODB", self.dynamodb.endpoint())
            .env("AWS_ENDPOINT_URL_DYNAMODB_STREAMS", &self.streams_endpoint)
            .env("AWS_ENDPOINT_URL_LAMBDA", &self.lambda_endpoint);
        command
    }

    /// The sequence numbers of the records the function has completed so far, in order (the
    /// scripted processor logs each at DEBUG).
    pub fn processed(&self) -> Vec<String> {
        std::fs::read_to_string(self.logs.path())
            .unwrap()
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|line| line["message"] == DONE_MESSAGE)
            .map(|line| line["sequenceNumber"].as_str().unwrap_or_default().to_owned())
            .collect()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = self.function.kill();
        let _ = self.function.wait();
    }
}

/// The scripted function, polling `watch`'s Runtime API, logging into `logs` at `level`.
fn start_function(watch: &Watch, logs: &tempfile::NamedTempFile, level: &str, fixed: bool) -> Child {
    let mut command = ddb_stream_processor::testing::function_command(function_binary());
    command
        .env("AWS_LAMBDA_RUNTIME_API", watch.runtime_api())
        .env("AWS_LAMBDA_FUNCTION_NAME", cargo_lambda::FUNCTION_NAME)
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .env("AWS_LAMBDA_LOG_LEVEL", level)
        .env_remove(FIXED_VARIABLE)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        // Appended to: a function restarted by `deploy_the_fix` keeps the lines of the one before.
        .stderr(
            std::fs::OpenOptions::new()
                .append(true)
                .open(logs.path())
                .unwrap(),
        );
    if fixed {
        command.env(FIXED_VARIABLE, "1");
    }
    command.spawn().expect("the function starts")
}

/// An item of the world's table: `pk`, the sort key `ITEM` and a version number.
pub fn item(pk: &str, version: u64) -> Value {
    json!({"pk": {"S": pk}, "sk": {"S": "ITEM"}, "version": {"N": version.to_string()}})
}

/// A Lambda REST error: its type in a header, as Lambda answers.
fn lambda_error(status: &str, kind: &str, message: &str) -> Reply {
    let body = json!({"Type": "User", "Message": message}).to_string();
    let mut answer = format!(
        "HTTP/1.1 {status}\r\ncontent-type: application/json\r\nx-amzn-errortype: {kind}\r\n\
         content-length: {}\r\n\r\n",
        body.len()
    )
    .into_bytes();
    answer.extend_from_slice(body.as_bytes());
    Reply::Send(answer)
}

/// The Lambda API: `GetEventSourceMapping` answered from `mapping`, everything else forwarded to
/// cargo-lambda's emulator at `watch` (unless `invocations` says to throttle).
fn lambda_router(
    watch: String,
    mapping: Arc<Mutex<Value>>,
    invocations: Arc<Mutex<(usize, Option<usize>)>>,
) -> String {
    serve(move |request| {
        if request.method == "GET" && request.path.starts_with("/2015-03-31/event-source-mappings/") {
            let mapping = mapping.lock().unwrap().clone();
            let asked = request.path.rsplit('/').next().unwrap_or_default();
            if mapping["UUID"] != asked {
                return lambda_error(
                    "404 Not Found",
                    "ResourceNotFoundException",
                    "The resource you requested does not exist.",
                );
            }
            return Reply::Send(response(
                "200 OK",
                "application/json",
                mapping.to_string().as_bytes(),
            ));
        }
        if request.path.ends_with("/invocations") {
            let mut invocations = invocations.lock().unwrap();
            invocations.0 += 1;
            if invocations.1.is_some_and(|first| invocations.0 >= first) {
                return lambda_error(
                    "429 Too Many Requests",
                    "TooManyRequestsException",
                    "Rate exceeded",
                );
            }
        }
        forward(&watch, &request)
    })
}

/// A stub in front of DynamoDB Local's stream API: it answers what no emulator produces (`faults`)
/// and forwards everything else.
fn stream_stub(address: &str, faults: Arc<Mutex<StreamFaults>>) -> String {
    let address = address.to_owned();
    serve(move |request| {
        let target = request.headers.get("x-amz-target").cloned().unwrap_or_default();
        let mut asked: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let error = |status: &str, kind: &str, message: &str| {
            let error =
                json!({"__type": format!("com.amazonaws.dynamodb.v20120810#{kind}"), "message": message});
            Reply::Send(response(
                status,
                "application/x-amz-json-1.0",
                error.to_string().as_bytes(),
            ))
        };
        let mut faults = faults.lock().unwrap();
        if target.ends_with(".GetShardIterator") {
            let number = asked["SequenceNumber"].as_str().map(str::to_owned);
            if let (Some(number), Some(oldest)) = (&number, &faults.trimmed)
                && oldest.has_trimmed(number)
            {
                return error(
                    "400 Bad Request",
                    "TrimmedDataAccessException",
                    "The operation attempted to read past the oldest stream record in a shard.",
                );
            }
            if let (Some(number), Some(first)) = (&number, &faults.failing_from)
                && compare(number, first).is_ge()
            {
                return error(
                    "500 Internal Server Error",
                    "InternalServerError",
                    "Internal server error",
                );
            }
            // TRIM_HORIZON: the oldest record the stub leaves.
            if asked["ShardIteratorType"] == "TRIM_HORIZON"
                && let Some(oldest) = &faults.trimmed
            {
                let (kind, number) = match oldest {
                    Oldest::At(number) => ("AT_SEQUENCE_NUMBER", number),
                    Oldest::After(number) => ("AFTER_SEQUENCE_NUMBER", number),
                };
                asked["ShardIteratorType"] = json!(kind);
                asked["SequenceNumber"] = json!(number);
            }
        }
        if target.ends_with(".GetRecords") {
            if faults.expired_pages > 0 {
                faults.expired_pages -= 1;
                return error("400 Bad Request", "ExpiredIteratorException", "Iterator expired");
            }
            if let Some(size) = faults.page_size {
                asked["Limit"] = json!(size);
            }
        }
        let answer = test_emulators::dynamodb_local::request(&address, &target, &asked.to_string());
        let Ok((status, answer)) = answer else {
            return Reply::Close;
        };
        if target.ends_with(".GetRecords")
            && status == 200
            && let Some((after, left)) = &mut faults.withheld
        {
            let page: Value = serde_json::from_str(&answer).unwrap_or(Value::Null);
            let past = page["Records"]
                .as_array()
                .and_then(|records| records.first())
                .and_then(|record| record["dynamodb"]["SequenceNumber"].as_str())
                .is_some_and(|first| compare(first, after).is_gt());
            if past && left.is_none_or(|left| left > 0) {
                if let Some(left) = left {
                    *left -= 1;
                }
                let empty = json!({"Records": [], "NextShardIterator": asked["ShardIterator"]});
                return Reply::Send(response(
                    "200 OK",
                    "application/x-amz-json-1.0",
                    empty.to_string().as_bytes(),
                ));
            }
        }
        Reply::Send(response(
            &format!("{status} Answer"),
            "application/x-amz-json-1.0",
            answer.as_bytes(),
        ))
    })
}

pub fn sequence_number(record: &Value) -> &str {
    record["dynamodb"]["SequenceNumber"].as_str().unwrap()
}

/// The sequence numbers of `records`.
pub fn sequence_numbers(records: &[&Value]) -> Vec<String> {
    records
        .iter()
        .map(|record| sequence_number(record).to_owned())
        .collect()
}

/// The invocation record Lambda sends to the destination for a batch of `records` of `shard`
/// (`DDBStreamBatchInfo`; an S3 destination also gets the event as `payload`).
pub fn invocation_record(world: &World, shard: &str, records: &[Value], with_payload: bool) -> Value {
    invocation_record_of(&world.stream_arn, shard, records, with_payload)
}

/// The same for the stream `stream_arn`.
pub fn invocation_record_of(stream_arn: &str, shard: &str, records: &[Value], with_payload: bool) -> Value {
    let mut record = json!({
        "requestContext": {
            "requestId": "316aa6d0-8154-4c1e-9af7-85d5f4a6bc81",
            "functionArn": FUNCTION_ARN,
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
            "streamArn": stream_arn
        }
    });
    if with_payload {
        let delivered: Vec<Value> = records
            .iter()
            .map(|record| {
                let mut record = record.clone();
                record["eventSourceARN"] = json!(stream_arn);
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
