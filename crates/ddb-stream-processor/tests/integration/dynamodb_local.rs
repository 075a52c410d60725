//! Real stream records: DynamoDB Local (AWS's own engine) writes, updates, deletes and expires
//! (Time to Live) items of a table keyed like template.yaml's demo table; the test reads the stream, builds the events as
//! Lambda delivers them, and runs them through the binary (`--event` and the Runtime API) and
//! through the event source mapping's rules in process.
//!
//! DynamoDB Local listens on every interface, so the test runs again inside a private network
//! namespace with only loopback, where the server, the function and the Runtime API double all
//! live. Where DynamoDB Local differs from AWS, the event builder does
//! what Lambda would have received from AWS: its Time to Live delete (`UNKNOWN_TO_SDK_VERSION`
//! without `userIdentity`) becomes the `REMOVE` with the DynamoDB service as `userIdentity` that AWS
//! writes. Everything else — event ids, 21-digit sequence numbers, `SizeBytes`, the
//! `ApproximateCreationDateTime` in its wire form, images — is DynamoDB's own.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};

use ddb_stream_processor::lambda::event_source_mapping::{RetrySettings, ShardCursor, read_response};
use ddb_stream_processor::testing::ImageScriptedProcessor;
use ddb_stream_processor::{ChangeRecord, Invocation, RecordError, RecordProcessor, StreamHandler};

use crate::support::binary::{command, run};
use crate::support::emf_validator::{assert_valid, values_by_metric};
use crate::support::function::{RunningFunction, lambda_command};
use crate::support::runtime_api::{PostKind, RuntimeApi};
use test_emulators::dynamodb_local::{DynamoDbLocal, in_private_network, inside_private_network};

/// The longest the stream may take to show every change (a Time to Live expiry takes seconds).
const STREAM_WAIT: Duration = Duration::from_secs(120);
/// The longest the function may take to answer an invocation.
const POST_WAIT: Duration = Duration::from_secs(60);
/// How AWS marks a delete made by Time to Live.
const TTL_IDENTITY: &str = "dynamodb.amazonaws.com";

/// The stream's records in order, and its ARN.
struct Stream {
    arn: String,
    records: Vec<Value>,
}

/// A table keyed like template.yaml's demo table (`pk`/`sk`, streams with both images, Time to
/// Live on `expires_at`), and six changes: insert, insert of a poison record (the scripted function fails it
/// permanently), update, delete, insert of an expired item, and its Time to Live delete.
fn write_and_read_the_stream(local: &DynamoDbLocal) -> Stream {
    let arn = local.create_table("Orders", "NEW_AND_OLD_IMAGES");
    local.call(
        "DynamoDB_20120810.UpdateTimeToLive",
        &json!({
            "TableName": "Orders",
            "TimeToLiveSpecification": {"AttributeName": "expires_at", "Enabled": true}
        }),
    );
    let put = |item: Value| local.put("Orders", &item);
    put(item("ORDER#1"));
    let mut poison = item("ORDER#2");
    poison["script"] = json!({"S": "fail-permanent"});
    put(poison);
    local.call(
        "DynamoDB_20120810.UpdateItem",
        &json!({
            "TableName": "Orders",
            "Key": {"pk": {"S": "ORDER#1"}, "sk": {"S": "ORDER"}},
            "UpdateExpression": "SET #version = :two",
            "ExpressionAttributeNames": {"#version": "version"},
            "ExpressionAttributeValues": {":two": {"N": "2"}}
        }),
    );
    local.call(
        "DynamoDB_20120810.DeleteItem",
        &json!({"TableName": "Orders", "Key": {"pk": {"S": "ORDER#1"}, "sk": {"S": "ORDER"}}}),
    );
    // Last, so that its Time to Live delete (made by DynamoDB whenever it gets to it) is the last
    // change of the stream.
    let mut expired = item("ORDER#3");
    expired["expires_at"] = json!({"N": (chrono::Utc::now().timestamp() - 3_600).to_string()});
    put(expired);

    let (_, records) = local.stream_records(&arn, 6, STREAM_WAIT);
    assert_eq!(records.len(), 6, "{records:#?}");
    Stream { arn, records }
}

/// An item: its key and a version number (the scripted function reads only a `script` attribute).
fn item(pk: &str) -> Value {
    json!({"pk": {"S": pk}, "sk": {"S": "ORDER"}, "version": {"N": "1"}})
}

/// A stream record as Lambda delivers it: GetRecords' record with the stream's `eventSourceARN`
/// (Lambda adds it), and DynamoDB Local's Time to Live delete in the form AWS writes it.
fn as_lambda_delivers(record: &Value, stream_arn: &str) -> Value {
    let mut record = record.clone();
    record["eventSourceARN"] = json!(stream_arn);
    if record["eventName"] == "UNKNOWN_TO_SDK_VERSION" && record["dynamodb"].get("NewImage").is_none() {
        record["eventName"] = json!("REMOVE");
        record["userIdentity"] = json!({"type": "Service", "principalId": TTL_IDENTITY});
    }
    record
}

fn event(records: &[Value]) -> Vec<u8> {
    serde_json::to_vec(&json!({ "Records": records })).unwrap()
}

fn sequence_number(record: &Value) -> String {
    record["dynamodb"]["SequenceNumber"].as_str().unwrap().to_owned()
}

#[test]
fn real_stream_records_are_processed_as_lambda_delivers_them() {
    if !inside_private_network() {
        in_private_network("dynamodb_local::real_stream_records_are_processed_as_lambda_delivers_them");
        return;
    }
    let local = DynamoDbLocal::start();
    let stream = write_and_read_the_stream(&local);
    drop(local);
    let records: Vec<Value> = stream
        .records
        .iter()
        .map(|record| as_lambda_delivers(record, &stream.arn))
        .collect();
    let names: Vec<&str> = records
        .iter()
        .map(|record| record["eventName"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        ["INSERT", "INSERT", "MODIFY", "REMOVE", "INSERT", "REMOVE"]
    );
    let sequence_numbers: Vec<String> = records.iter().map(sequence_number).collect();
    assert!(
        sequence_numbers
            .windows(2)
            .all(|pair| pair[0].len() == 21
                && pair[0].parse::<u128>().unwrap() < pair[1].parse::<u128>().unwrap()),
        "21-digit, increasing: {sequence_numbers:?}"
    );

    the_binary_with_an_event_file(&records);
    the_binary_under_the_runtime_api(&records);
    the_event_source_mapping_in_process(&records);
}

/// `--event`: the poison record (second) is the checkpoint; the EMF counts say so.
fn the_binary_with_an_event_file(records: &[Value]) {
    let file = std::env::temp_dir().join(format!("ddb-local-event-{}.json", std::process::id()));
    std::fs::write(&file, event(records)).unwrap();
    let mut binary = command();
    binary.arg("--event").arg(&file);
    let result = run(binary, b"");
    std::fs::remove_file(&file).unwrap();
    assert_eq!(result.code, Some(0), "{}", result.stderr);
    assert_eq!(
        result.stdout_json(),
        json!({"batchItemFailures": [{"itemIdentifier": sequence_number(&records[1])}]})
    );
    let documents: Vec<String> = result
        .stderr
        .lines()
        .filter(|line| line.contains("\"_aws\""))
        .map(str::to_owned)
        .collect();
    assert_valid(&documents, chrono::Utc::now().timestamp_millis());
    let values = values_by_metric(&documents);
    assert_eq!(values["RecordsProcessed"], [1.0], "{documents:#?}");
    assert_eq!(values["RecordsFailed"], [1.0]);
    assert_eq!(
        values["RecordsRetried"],
        [5.0],
        "the poison record and the four after it"
    );
}

/// The Runtime API: the batches the mapping would send around the poison record.
fn the_binary_under_the_runtime_api(records: &[Value]) {
    let api = RuntimeApi::start();
    api.enqueue("req-before", event(&records[..1]));
    api.enqueue("req-poison-first", event(&records[1..]));
    api.enqueue("req-after", event(&records[2..]));
    let function = RunningFunction::start(lambda_command(&api));
    let posts: Vec<_> = (0..3)
        .map(|_| api.next_post(POST_WAIT).expect("a result for every invocation"))
        .collect();
    let find = |id: &str| {
        posts
            .iter()
            .find(|post| post.request_id.as_deref() == Some(id))
            .unwrap_or_else(|| panic!("no result for {id}"))
    };
    assert_eq!(find("req-before").json(), json!({"batchItemFailures": []}));
    assert_eq!(find("req-poison-first").kind, PostKind::Error);
    assert_eq!(find("req-poison-first").json()["errorType"], "FirstRecordFailed");
    assert_eq!(find("req-after").json(), json!({"batchItemFailures": []}));

    let stdout = function.stop().stdout;
    let documents: Vec<String> = stdout.lines().map(str::to_owned).collect();
    assert_valid(&documents, chrono::Utc::now().timestamp_millis());
    let processed = |id: &str| {
        documents
            .iter()
            .map(|line| serde_json::from_str::<Value>(line).unwrap())
            .find(|document| document["requestId"] == id && document.get("RecordsProcessed").is_some())
            .map(|document| document["RecordsProcessed"].clone())
            .unwrap_or_else(|| panic!("no EMF document for {id}: {stdout}"))
    };
    assert_eq!(processed("req-before"), json!(1));
    assert_eq!(processed("req-poison-first"), json!(0));
    assert_eq!(processed("req-after"), json!(4));
}

/// What the processor saw of each record: (sequence number, operation, made by Time to Live).
type Seen = Arc<Mutex<Vec<(String, String, bool)>>>;

struct Journaled {
    inner: ImageScriptedProcessor,
    seen: Seen,
}

impl RecordProcessor for Journaled {
    async fn process(&self, record: &ChangeRecord) -> Result<(), RecordError> {
        let result = self.inner.process(record).await;
        if result.is_ok() {
            self.seen.lock().unwrap().push((
                record.sequence_number.clone().unwrap_or_default(),
                record.operation.as_str().to_owned(),
                record.is_ttl_delete,
            ));
        }
        result
    }
}

/// The mapping's rules (batches of 2, bisection, 2 retries) over the shard, the handler in process:
/// every record but the poison one succeeds once, in stream order; the poison one goes to the
/// on-failure destination alone; the Time to Live delete is recognised as one.
fn the_event_source_mapping_in_process(records: &[Value]) {
    let seen = Seen::default();
    let handler = StreamHandler::new(Journaled {
        inner: ImageScriptedProcessor::new(),
        seen: Arc::clone(&seen),
    });
    let sequence_numbers: Vec<String> = records.iter().map(sequence_number).collect();
    let settings = RetrySettings {
        batch_size: 2,
        bisect: true,
        max_retry_attempts: Some(2),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut cursor = ShardCursor::new();
    let mut destination = Vec::new();
    let mut invocations = 0;
    while let Some(batch) = cursor.next_batch(&settings, records.len() - cursor.checkpoint()) {
        invocations += 1;
        assert!(invocations < 50, "the shard never drains");
        let payload = event(&records[batch.start..batch.end]);
        let invocation = Invocation::local(Duration::from_secs(30), &Default::default());
        let response = runtime
            .block_on(handler.handle_payload(&payload, &invocation))
            .ok()
            .map(|response| serde_json::to_value(response).unwrap());
        let read = read_response(response.as_ref(), &sequence_numbers[batch.start..batch.end]);
        if let Some((first, last)) = cursor.apply(batch, read, &settings) {
            destination.push(sequence_numbers[first..last].to_vec());
        }
    }
    assert_eq!(
        destination,
        [vec![sequence_numbers[1].clone()]],
        "the poison record, alone"
    );
    let seen = seen.lock().unwrap().clone();
    let expected: Vec<(String, String, bool)> = [
        (0, "INSERT", false),
        (2, "MODIFY", false),
        (3, "REMOVE", false),
        (4, "INSERT", false),
        (5, "REMOVE", true),
    ]
    .into_iter()
    .map(|(index, operation, ttl)| (sequence_numbers[index].clone(), operation.to_owned(), ttl))
    .collect();
    assert_eq!(
        seen, expected,
        "each record once, in order; the TTL delete recognised"
    );
}
