//! What Lambda sends to a DynamoDB stream mapping's on-failure destination, read.
//!
//! The invocation record is the same JSON for SQS and S3: `requestContext`, `responseContext`,
//! `version`, `timestamp` and the pointer `DDBStreamBatchInfo` (shard id, first and last sequence
//! number, stream ARN, arrival times, batch size). An S3 object also has `payload`: the event the
//! function was given, as a JSON string, so its records survive the stream's 24 hours.
//!
//! A failure that a redrive replayed in part carries its progress: an SQS message is sent again
//! with the field [`PROGRESS_FIELD`] added (`{"replayedThrough": "<sequence number>"}`), an S3
//! object is tagged; a later redrive resumes after it.

use ddb_stream_processor::record::sequence_number::{self, compare};
use serde_json::Value;

/// The failed range, as `DDBStreamBatchInfo` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchInfo {
    /// The shard the batch was read from.
    pub shard_id: String,
    /// The first record's sequence number.
    pub start_sequence_number: String,
    /// The last record's sequence number.
    pub end_sequence_number: String,
    /// The stream's ARN (Lambda's events carry it as `eventSourceARN`).
    pub stream_arn: String,
    /// How many records the batch held (with filter criteria, fewer than the range holds).
    pub batch_size: Option<u64>,
    /// When the first record reached the stream (an RFC 3339 time, as Lambda writes it).
    pub first_arrival: Option<String>,
    /// Why Lambda gave up: `RetryAttemptsExhausted`, `RecordAgeExceeded`, ….
    pub condition: Option<String>,
    /// The function the batch was given to (`requestContext.functionArn`).
    pub function_arn: Option<String>,
}

impl BatchInfo {
    /// When the first record reached the stream, in milliseconds since the epoch, when the time is
    /// given and readable.
    pub fn first_arrival_ms(&self) -> Option<i64> {
        let text = self.first_arrival.as_deref()?;
        aws_smithy_types::DateTime::from_str(text, aws_smithy_types::date_time::Format::DateTime)
            .ok()?
            .to_millis()
            .ok()
    }
}

/// The field of an SQS failure message that holds a redrive's progress.
pub const PROGRESS_FIELD: &str = "obsctlRedrive";

/// One invocation record: the pointer, and the event when the destination is S3.
#[derive(Debug, Clone, PartialEq)]
pub struct InvocationRecord {
    /// The failed range.
    pub info: BatchInfo,
    /// The records of the event Lambda gave the function (S3 destinations only), in batch order.
    pub records: Option<Vec<Value>>,
    /// The last sequence number of the range an earlier redrive completed (replayed or skipped
    /// everything up to it), from the message's [`PROGRESS_FIELD`].
    pub replayed_through: Option<String>,
}

/// Why a message or object is not an invocation record of a DynamoDB stream mapping.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NotAnInvocationRecord {
    /// Not JSON at all.
    #[error("not JSON ({0})")]
    NotJson(String),
    /// JSON without the pointer (a Kinesis record, an SQS test message, something else).
    #[error("no DDBStreamBatchInfo object: not a DynamoDB stream mapping's failure record")]
    NoBatchInfo,
    /// The pointer lacks a field or has one of the wrong type.
    #[error("DDBStreamBatchInfo.{field} is missing or not a {expected}")]
    BadField {
        /// The field's name.
        field: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// A sequence number that is not one.
    #[error("DDBStreamBatchInfo.{field} is not a sequence number: {reason}")]
    BadSequenceNumber {
        /// The field's name.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The range ends before it starts.
    #[error("DDBStreamBatchInfo names an empty range: endSequenceNumber is below startSequenceNumber")]
    EmptyRange,
    /// `payload` is there but is not an event with `Records`.
    #[error("payload is not a DynamoDB stream event with a Records list ({0})")]
    BadPayload(String),
    /// The redrive progress field is not one.
    #[error("{PROGRESS_FIELD}.replayedThrough is not a sequence number")]
    BadProgress,
}

/// Reads an invocation record (an SQS message body or an S3 object).
pub fn parse(body: &[u8]) -> Result<InvocationRecord, NotAnInvocationRecord> {
    let record: Value =
        serde_json::from_slice(body).map_err(|error| NotAnInvocationRecord::NotJson(error.to_string()))?;
    let info = record
        .get("DDBStreamBatchInfo")
        .filter(|info| info.is_object())
        .ok_or(NotAnInvocationRecord::NoBatchInfo)?;
    let text = |field: &'static str| {
        info.get(field)
            .and_then(Value::as_str)
            .filter(|text| !text.is_empty())
            .map(str::to_owned)
            .ok_or(NotAnInvocationRecord::BadField {
                field,
                expected: "non-empty string",
            })
    };
    let sequence_number = |field: &'static str| {
        let value = text(field)?;
        sequence_number::validate(&value).map_err(|error| NotAnInvocationRecord::BadSequenceNumber {
            field,
            reason: error.to_string(),
        })?;
        Ok(value)
    };
    let info = BatchInfo {
        shard_id: text("shardId")?,
        start_sequence_number: sequence_number("startSequenceNumber")?,
        end_sequence_number: sequence_number("endSequenceNumber")?,
        stream_arn: text("streamArn")?,
        batch_size: info.get("batchSize").and_then(Value::as_u64),
        first_arrival: text("approximateArrivalOfFirstRecord").ok(),
        condition: record
            .pointer("/requestContext/condition")
            .and_then(Value::as_str)
            .map(str::to_owned),
        function_arn: record
            .pointer("/requestContext/functionArn")
            .and_then(Value::as_str)
            .map(str::to_owned),
    };
    if compare(&info.end_sequence_number, &info.start_sequence_number).is_lt() {
        return Err(NotAnInvocationRecord::EmptyRange);
    }
    let records = match record.get("payload") {
        None | Some(Value::Null) => None,
        Some(payload) => Some(payload_records(payload)?),
    };
    let replayed_through = match record.get(PROGRESS_FIELD) {
        None | Some(Value::Null) => None,
        Some(progress) => Some(
            progress
                .get("replayedThrough")
                .and_then(Value::as_str)
                .filter(|number| sequence_number::validate(number).is_ok())
                .ok_or(NotAnInvocationRecord::BadProgress)?
                .to_owned(),
        ),
    };
    Ok(InvocationRecord {
        info,
        records,
        replayed_through,
    })
}

/// The body of an SQS failure message with a redrive's progress set to `replayed_through`: the
/// invocation record as Lambda wrote it, and the [`PROGRESS_FIELD`]. `None` when `body` is not a
/// JSON object.
pub fn with_progress(body: &[u8], replayed_through: &str) -> Option<String> {
    let mut record: Value = serde_json::from_slice(body).ok()?;
    record.as_object_mut()?.insert(
        PROGRESS_FIELD.to_owned(),
        serde_json::json!({"replayedThrough": replayed_through}),
    );
    Some(record.to_string())
}

/// The stream and shard a failure record names, read leniently from a record [`parse`] refused (a
/// bad payload, a bad progress field), so that the later ranges of its shard can wait for it.
pub fn shard_of(body: &[u8]) -> Option<(String, String)> {
    let record: Value = serde_json::from_slice(body).ok()?;
    let info = record.get("DDBStreamBatchInfo")?;
    Some((
        info.get("streamArn")?.as_str()?.to_owned(),
        info.get("shardId")?.as_str()?.to_owned(),
    ))
}

/// The records of `payload`: the event as a JSON string (as Lambda writes it) or as an object.
fn payload_records(payload: &Value) -> Result<Vec<Value>, NotAnInvocationRecord> {
    let event = match payload {
        Value::String(text) => serde_json::from_str(text)
            .map_err(|error| NotAnInvocationRecord::BadPayload(error.to_string()))?,
        other => other.clone(),
    };
    match event {
        Value::Object(mut event) => match event.remove("Records") {
            Some(Value::Array(records)) => Ok(records),
            _ => Err(NotAnInvocationRecord::BadPayload("no Records list".into())),
        },
        _ => Err(NotAnInvocationRecord::BadPayload("not an object".into())),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pointer() -> Value {
        json!({
            "requestContext": {"requestId": "316aa6d0", "condition": "RetryAttemptsExhausted",
                "functionArn": "arn:aws:lambda:eu-west-1:123456789012:function:orders", "approximateInvokeCount": 3},
            "responseContext": {"statusCode": 200, "executedVersion": "$LATEST", "functionError": null},
            "version": "1.0",
            "timestamp": "2026-11-14T00:13:49.717Z",
            "DDBStreamBatchInfo": {
                "shardId": "shardId-00000001573689847184-864758bb",
                "startSequenceNumber": "800000000003126276362",
                "endSequenceNumber": "800000000003126276370",
                "approximateArrivalOfFirstRecord": "2026-11-14T00:13:19Z",
                "approximateArrivalOfLastRecord": "2026-11-14T00:13:19Z",
                "batchSize": 3,
                "streamArn": "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-11-14T00:04:06.388"
            }
        })
    }

    #[test]
    fn an_sqs_pointer_is_read_without_records() {
        let record = parse(pointer().to_string().as_bytes()).unwrap();
        assert_eq!(record.info.shard_id, "shardId-00000001573689847184-864758bb");
        assert_eq!(record.info.start_sequence_number, "800000000003126276362");
        assert_eq!(record.info.end_sequence_number, "800000000003126276370");
        assert_eq!(record.info.batch_size, Some(3));
        assert_eq!(record.info.condition.as_deref(), Some("RetryAttemptsExhausted"));
        assert_eq!(record.info.first_arrival.as_deref(), Some("2026-11-14T00:13:19Z"));
        assert_eq!(record.info.first_arrival_ms(), Some(1_794_615_199_000));
        assert_eq!(
            record.info.function_arn.as_deref(),
            Some("arn:aws:lambda:eu-west-1:123456789012:function:orders")
        );
        assert_eq!(record.records, None);
        assert_eq!(record.replayed_through, None);
    }

    #[test]
    fn arrival_times_are_read_as_times_whatever_their_precision() {
        let mut with_fraction = pointer();
        with_fraction["DDBStreamBatchInfo"]["approximateArrivalOfFirstRecord"] =
            json!("2026-11-14T00:13:19.500Z");
        let record = parse(with_fraction.to_string().as_bytes()).unwrap();
        assert_eq!(record.info.first_arrival_ms(), Some(1_794_615_199_500));
        let mut unreadable = pointer();
        unreadable["DDBStreamBatchInfo"]["approximateArrivalOfFirstRecord"] = json!("yesterday");
        assert_eq!(
            parse(unreadable.to_string().as_bytes())
                .unwrap()
                .info
                .first_arrival_ms(),
            None
        );
    }

    #[test]
    fn the_shard_of_a_record_that_cannot_be_read_is_still_known() {
        let mut bad = pointer();
        bad["payload"] = json!("{not json");
        assert!(parse(bad.to_string().as_bytes()).is_err());
        assert_eq!(
            shard_of(bad.to_string().as_bytes()),
            Some((
                "arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-11-14T00:04:06.388"
                    .to_owned(),
                "shardId-00000001573689847184-864758bb".to_owned()
            ))
        );
        assert_eq!(shard_of(b"{}"), None);
        assert_eq!(shard_of(b"not json"), None);
    }

    #[test]
    fn a_message_carries_the_progress_of_an_earlier_redrive() {
        let body = with_progress(pointer().to_string().as_bytes(), "800000000003126276365").unwrap();
        let record = parse(body.as_bytes()).unwrap();
        assert_eq!(record.replayed_through.as_deref(), Some("800000000003126276365"));
        assert_eq!(
            record.info.start_sequence_number, "800000000003126276362",
            "the range as Lambda wrote it"
        );
        let again = with_progress(body.as_bytes(), "800000000003126276368").unwrap();
        assert_eq!(
            parse(again.as_bytes()).unwrap().replayed_through.as_deref(),
            Some("800000000003126276368")
        );
        let mut bad = pointer();
        bad[PROGRESS_FIELD] = json!({"replayedThrough": "soon"});
        assert_eq!(
            parse(bad.to_string().as_bytes()),
            Err(NotAnInvocationRecord::BadProgress)
        );
        assert_eq!(with_progress(b"[1]", "1"), None);
    }

    #[test]
    fn an_s3_object_brings_its_records_from_the_payload_string() {
        let mut object = pointer();
        object["payload"] = json!(json!({"Records": [{"eventID": "a"}, {"eventID": "b"}]}).to_string());
        let record = parse(object.to_string().as_bytes()).unwrap();
        assert_eq!(
            record.records,
            Some(vec![json!({"eventID": "a"}), json!({"eventID": "b"})])
        );
    }

    #[test]
    fn what_is_not_a_stream_failure_record_says_why() {
        assert!(matches!(parse(b"{"), Err(NotAnInvocationRecord::NotJson(_))));
        let kinesis = json!({"KinesisBatchInfo": {"shardId": "shardId-0"}});
        assert_eq!(
            parse(kinesis.to_string().as_bytes()),
            Err(NotAnInvocationRecord::NoBatchInfo)
        );
        let mut missing = pointer();
        missing["DDBStreamBatchInfo"]
            .as_object_mut()
            .unwrap()
            .remove("streamArn");
        assert_eq!(
            parse(missing.to_string().as_bytes()).unwrap_err().to_string(),
            "DDBStreamBatchInfo.streamArn is missing or not a non-empty string"
        );
        let mut letters = pointer();
        letters["DDBStreamBatchInfo"]["endSequenceNumber"] = json!("12ab");
        assert!(matches!(
            parse(letters.to_string().as_bytes()),
            Err(NotAnInvocationRecord::BadSequenceNumber {
                field: "endSequenceNumber",
                ..
            })
        ));
        let mut backwards = pointer();
        backwards["DDBStreamBatchInfo"]["endSequenceNumber"] = json!("99");
        assert_eq!(
            parse(backwards.to_string().as_bytes()),
            Err(NotAnInvocationRecord::EmptyRange)
        );
        let mut payload = pointer();
        payload["payload"] = json!("{\"records\": []}");
        assert!(matches!(
            parse(payload.to_string().as_bytes()),
            Err(NotAnInvocationRecord::BadPayload(_))
        ));
    }
}
