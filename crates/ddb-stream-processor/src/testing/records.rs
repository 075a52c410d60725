//! Stream records for tests, built from JSON the way Lambda sends them.
//!
//! Record `i` is an INSERT of item `ITEM#i` with an increasing 28-digit sequence number and a
//! creation time, as a real shard would send it; edit the JSON before parsing to make it anything
//! else (a script for [`ImageScriptedProcessor`](super::ImageScriptedProcessor), a missing field).

use aws_lambda_events::event::dynamodb::EventRecord;
use serde_json::{Value, json};

use crate::record::{BatchRecord, ChangeRecord};

/// The stream ARN of the test table.
pub const STREAM_ARN: &str =
    "arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/stream/2026-11-01T00:00:00.000";

/// The sequence number of record `index`: 21+ digits and increasing, like a real shard's.
pub fn sequence_number(index: usize) -> String {
    (4_421_584_500_000_000_017_450_439_091_u128 + index as u128 * 100).to_string()
}

/// The event id of record `index`.
pub fn event_id(index: usize) -> String {
    format!("event-{index:05}")
}

/// The image of item `pk`: its keys and one attribute.
pub fn item_image(pk: &str) -> Value {
    json!({
        "pk": {"S": pk},
        "sk": {"S": "ITEM"},
        "note": {"S": "a value that must never reach a log line"}
    })
}

/// Record `index` as JSON: an INSERT of item `ITEM#index` with a sequence number and creation time.
pub fn record_json(index: usize) -> Value {
    let pk = format!("ITEM#{index}");
    json!({
        "eventID": event_id(index),
        "eventName": "INSERT",
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "eventSourceARN": STREAM_ARN,
        "dynamodb": {
            "ApproximateCreationDateTime": 1_793_491_200 + index,
            "Keys": {"pk": {"S": pk}, "sk": {"S": "ITEM"}},
            "NewImage": item_image(&pk),
            "SequenceNumber": sequence_number(index),
            "SizeBytes": 120,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        }
    })
}

/// `count` valid records as JSON values, to be edited before use.
pub fn batch_json(count: usize) -> Vec<Value> {
    (0..count).map(record_json).collect()
}

/// Parses JSON records as the Lambda edge reads them: the records a [`BatchEngine`](crate::BatchEngine)
/// takes (a record with an unknown `eventName` is [`BatchRecord::Unreadable`]).
pub fn parse(records: Vec<Value>) -> Vec<BatchRecord> {
    records
        .into_iter()
        .map(|record| {
            serde_json::from_value::<EventRecord>(record).expect("test record is a valid EventRecord")
        })
        .map(BatchRecord::from)
        .collect()
}

/// `count` valid records.
pub fn batch(count: usize) -> Vec<BatchRecord> {
    parse(batch_json(count))
}

/// A DynamoDB stream event (`{"Records": [...]}`) of these records, as Lambda sends it.
pub fn event_json(records: Vec<Value>) -> Value {
    json!({ "Records": records })
}

/// A record's JSON (from [`record_json`], edited) as the typed record a processor receives.
pub fn change_record(record: Value) -> ChangeRecord {
    match parse(vec![record]).remove(0) {
        BatchRecord::Change(change) => change,
        BatchRecord::Unreadable(unknown) => panic!("a test record is a valid change: {unknown}"),
    }
}
