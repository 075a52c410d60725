//! Reading the invocation payload as a DynamoDB stream event, with errors that say what is wrong.
//!
//! The handler decodes the payload itself instead of letting `lambda_runtime` do it: a payload that
//! is not a stream event then becomes an [`InvocationError::InvalidEvent`] with a stable `errorType`,
//! goes through the same logging as every other outcome, and names the JSON path of the problem
//! (`Records[2].dynamodb: missing field "SizeBytes"`) instead of a Rust type name.

use aws_lambda_events::event::dynamodb::EventRecord;
use chrono::{DateTime, Utc};
use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer};
use serde_dynamo::Item;

use crate::lambda::invalid_event::{is_in_image, message_without_values, path_without_item_data};
use crate::lambda::invocation_error::InvocationError;
use crate::record::{BatchRecord, ChangeRecord, Operation, UnknownOperation, identity};

/// The `eventSource` of DynamoDB stream records.
pub const DYNAMODB_EVENT_SOURCE: &str = "aws:dynamodb";

/// A DynamoDB stream event as Lambda sends it, with the fields that only a mapping with
/// `TumblingWindowInSeconds` adds, so that such an event is recognised instead of read as a plain
/// batch (its `state` would be dropped from the response, which breaks the window's aggregation).
#[derive(Deserialize)]
struct StreamEvent {
    #[serde(rename = "Records")]
    records: RecordsAsRead,
    #[serde(default)]
    window: Option<IgnoredAny>,
    #[serde(default, rename = "isFinalInvokeForWindow")]
    is_final_invoke_for_window: Option<IgnoredAny>,
}

/// A stream event's records as the engine takes them, in the order Lambda sent them, and the facts
/// of the batch the metrics report.
#[derive(Debug)]
pub struct ParsedEvent {
    /// The records, each converted as soon as it was read.
    pub records: Vec<BatchRecord>,
    /// Size, oldest creation time, first and last sequence numbers.
    pub facts: BatchFacts,
}

/// Parses `payload` as a DynamoDB stream event and returns its records, in the order Lambda sent
/// them, with the facts of the batch.
///
/// Beyond the shape, it checks that no record declares another event source (an SQS or Kinesis
/// payload sent to this function by mistake must not be read as an empty or partial success), and
/// refuses the events of a tumbling window, which this template does not aggregate.
///
/// Each record is checked and converted while it is read (`RecordsAsRead`): the payload is gone
/// over once, while its records are still in the cache, and no array of wire records is held next
/// to the converted ones.
pub fn parse_event(payload: &[u8]) -> Result<ParsedEvent, InvocationError> {
    // serde's derived structs also accept the positional array form (`[[]]` would read as an empty
    // batch and succeed); a stream event is always an object.
    if payload.iter().find(|byte| !byte.is_ascii_whitespace()) == Some(&b'[') {
        return Err(InvocationError::InvalidEvent {
            reason: "the payload is a JSON array; a stream event is an object with a \"Records\" array"
                .into(),
        });
    }
    // The fast path parses without tracking the path; only a payload that fails is parsed again
    // with serde_path_to_error, to name where it goes wrong.
    let event: StreamEvent = match serde_json::from_slice(payload) {
        Ok(event) => event,
        Err(_) => return Err(located_error(payload)),
    };
    if event.window.is_some() || event.is_final_invoke_for_window.is_some() {
        return Err(InvocationError::InvalidEvent {
            reason: "the event comes from a tumbling window (it has \"window\" and \
                     \"isFinalInvokeForWindow\"), which this template does not support: its response \
                     would drop the window's \"state\" and break the aggregation. Remove \
                     TumblingWindowInSeconds from the event source mapping"
                .into(),
        });
    }
    let RecordsAsRead {
        records,
        oldest_record_created_at,
        other_source,
    } = event.records;
    if let Some((index, source)) = other_source {
        return Err(InvocationError::InvalidEvent {
            reason: format!("Records[{index}].eventSource is {source:?}, not {DYNAMODB_EVENT_SOURCE:?}"),
        });
    }
    let sequence_number = |record: Option<&BatchRecord>| {
        record.and_then(|record| identity(record).sequence_number.map(str::to_owned))
    };
    let facts = BatchFacts {
        size: records.len(),
        oldest_record_created_at,
        first_sequence_number: sequence_number(records.first()),
        last_sequence_number: sequence_number(records.last()),
    };
    Ok(ParsedEvent { records, facts })
}

/// The `Records` array, each record converted for the engine as soon as it is read, with what
/// must be known of the wire records that the conversion drops.
struct RecordsAsRead {
    records: Vec<BatchRecord>,
    oldest_record_created_at: Option<DateTime<Utc>>,
    /// The first record that declares another event source: its index and source.
    other_source: Option<(usize, String)>,
}

impl<'de> Deserialize<'de> for RecordsAsRead {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_seq(RecordsVisitor)
    }
}

struct RecordsVisitor;

impl<'de> Visitor<'de> for RecordsVisitor {
    type Value = RecordsAsRead;

    fn expecting(&self, formatter: &mut std::fmt::Formatter) -> std::fmt::Result {
        formatter.write_str("a sequence")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut sequence: A) -> Result<RecordsAsRead, A::Error> {
        // A batch holds at most 10,000 records; a hint beyond that is not trusted.
        let mut read = RecordsAsRead {
            records: Vec::with_capacity(sequence.size_hint().unwrap_or(0).min(10_000)),
            oldest_record_created_at: None,
            other_source: None,
        };
        while let Some(record) = sequence.next_element::<EventRecord>()? {
            if read.other_source.is_none()
                && let Some(source) = record
                    .event_source
                    .as_deref()
                    .filter(|source| *source != DYNAMODB_EVENT_SOURCE)
            {
                read.other_source = Some((read.records.len(), source.to_owned()));
            }
            if let Some(created) = known_time(record.change.approximate_creation_date_time) {
                read.oldest_record_created_at = Some(
                    read.oldest_record_created_at
                        .map_or(created, |oldest| oldest.min(created)),
                );
            }
            read.records.push(BatchRecord::from(record));
        }
        Ok(read)
    }
}

impl From<EventRecord> for BatchRecord {
    fn from(record: EventRecord) -> Self {
        match ChangeRecord::try_from(record) {
            Ok(change) => BatchRecord::Change(change),
            Err(unknown) => BatchRecord::Unreadable(unknown),
        }
    }
}

/// The principal DynamoDB uses for deletes made by Time to Live.
const TTL_PRINCIPAL: &str = "dynamodb.amazonaws.com";

impl TryFrom<EventRecord> for ChangeRecord {
    type Error = UnknownOperation;

    fn try_from(record: EventRecord) -> Result<Self, Self::Error> {
        let Some(operation) = Operation::from_event_name(&record.event_name) else {
            return Err(UnknownOperation {
                table_name: table_name_of(&record).map(str::to_owned),
                event_name: record.event_name,
                event_id: record.event_id,
                sequence_number: record.change.sequence_number,
                keys: record.change.keys,
            });
        };
        let is_ttl_delete = operation == Operation::Remove
            && record.user_identity.as_ref().is_some_and(|identity| {
                identity.type_ == "Service" && identity.principal_id == TTL_PRINCIPAL
            });
        let table_name = table_name_of(&record).map(str::to_owned);
        let change = record.change;
        Ok(ChangeRecord {
            event_id: record.event_id,
            operation,
            table_name,
            sequence_number: change.sequence_number,
            approximate_creation_time: known_time(change.approximate_creation_date_time),
            keys: change.keys,
            new_image: non_empty(change.new_image),
            old_image: non_empty(change.old_image),
            is_ttl_delete,
            size_bytes: change.size_bytes,
        })
    }
}

/// The table a record comes from: from its stream ARN, else from its `tableName` field.
pub(crate) fn table_name_of(record: &EventRecord) -> Option<&str> {
    record
        .event_source_arn
        .as_deref()
        .and_then(table_name_from_stream_arn)
        .or(record.table_name.as_deref())
}

/// The table name inside a stream ARN: `arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>`.
pub(crate) fn table_name_from_stream_arn(arn: &str) -> Option<&str> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let mut parts = resource.split('/');
    match (parts.next(), parts.next()) {
        (Some("table"), Some(name)) if !name.is_empty() => Some(name),
        _ => None,
    }
}

/// The wire type decodes a missing creation time as the Unix epoch; no real record is that old.
fn known_time(time: DateTime<Utc>) -> Option<DateTime<Utc>> {
    (time != DateTime::<Utc>::UNIX_EPOCH).then_some(time)
}

/// The wire type decodes an absent or null image as an empty map; no real image is empty.
fn non_empty(image: Item) -> Option<Item> {
    (!image.is_empty()).then_some(image)
}

/// The first problem of a payload that does not parse, with its JSON path.
fn located_error(payload: &[u8]) -> InvocationError {
    let deserializer = &mut serde_json::Deserializer::from_slice(payload);
    let reason = match serde_path_to_error::deserialize::<_, StreamEvent>(deserializer) {
        Ok(_) => "the payload does not parse as a DynamoDB stream event".to_owned(),
        Err(error) => {
            let message = message_without_values(&error.inner().to_string(), is_in_image(error.path()));
            let path = path_without_item_data(error.path());
            if path == "." {
                message
            } else {
                format!("{path}: {message}")
            }
        }
    };
    InvocationError::InvalidEvent { reason }
}

/// How many entries the `Records` array of a payload has, for a payload that is not a valid event.
/// `None` when there is no such array.
pub fn count_records_leniently(payload: &[u8]) -> Option<usize> {
    #[derive(Deserialize)]
    struct Lenient {
        #[serde(rename = "Records")]
        records: Vec<IgnoredAny>,
    }
    serde_json::from_slice::<Lenient>(payload)
        .ok()
        .map(|lenient| lenient.records.len())
}

/// What the metrics need to know about a batch, read before the engine consumes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchFacts {
    /// Records in the batch.
    pub size: usize,
    /// The earliest `ApproximateCreationDateTime` of the batch; records without one are left out.
    pub oldest_record_created_at: Option<DateTime<Utc>>,
    /// The first record's sequence number.
    pub first_sequence_number: Option<String>,
    /// The last record's sequence number.
    pub last_sequence_number: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(payload: &str) -> String {
        match parse_event(payload.as_bytes()) {
            Err(InvocationError::InvalidEvent { reason }) => reason,
            other => panic!("expected InvalidEvent for {payload}, got {other:?}"),
        }
    }

    #[test]
    fn names_what_is_wrong() {
        assert!(reason("").starts_with("EOF while parsing"), "{}", reason(""));
        assert!(
            reason("{}").starts_with("missing field `Records`"),
            "{}",
            reason("{}")
        );
        let not_an_array = reason(r#"{"Records": {}}"#);
        assert!(
            not_an_array.starts_with("Records: invalid type: map, expected a sequence"),
            "{not_an_array}"
        );
        let missing_size = r#"{"Records":[{"eventID":"1","eventName":"INSERT","awsRegion":"eu-west-1",
            "dynamodb":{"SequenceNumber":"1"}}]}"#;
        assert!(
            reason(missing_size).starts_with("Records[0].dynamodb: missing field `SizeBytes`"),
            "{}",
            reason(missing_size)
        );
        let sqs = r#"{"Records":[{"eventID":"1","eventName":"INSERT","awsRegion":"eu-west-1",
            "eventSource":"aws:sqs","dynamodb":{"SizeBytes":1}}]}"#;
        assert_eq!(
            reason(sqs),
            r#"Records[0].eventSource is "aws:sqs", not "aws:dynamodb""#
        );
        let kinesis_second = r#"{"Records":[
            {"eventID":"1","eventName":"INSERT","awsRegion":"r","eventSource":"aws:dynamodb","dynamodb":{"SizeBytes":1}},
            {"eventID":"2","eventName":"INSERT","awsRegion":"r","eventSource":"aws:kinesis","dynamodb":{"SizeBytes":1}},
            {"eventID":"3","eventName":"INSERT","awsRegion":"r","eventSource":"aws:sqs","dynamodb":{"SizeBytes":1}}]}"#;
        assert_eq!(
            reason(kinesis_second),
            r#"Records[1].eventSource is "aws:kinesis", not "aws:dynamodb""#,
            "the first record from elsewhere is named"
        );
    }

    #[test]
    fn no_value_of_the_payload_is_quoted_and_map_keys_inside_images_are_not_named() {
        let record = |dynamodb: &str| {
            format!(
                r#"{{"Records":[{{"eventID":"1","eventName":"INSERT","awsRegion":"r","eventSource":"aws:dynamodb",
                "dynamodb":{dynamodb}}}]}}"#
            )
        };
        let bad_number = reason(&record(
            r#"{"SizeBytes":1,"NewImage":{"card":{"M":{"alice@example.com":{"N":4111111111111111}}}}}"#,
        ));
        assert!(
            bad_number.starts_with(
                "Records[0].dynamodb.NewImage.card.M.<key>.N: invalid type: integer, expected a string"
            ),
            "{bad_number}"
        );
        let bad_list = reason(&record(
            r#"{"SizeBytes":1,"OldImage":{"lines":{"L":[{"S":"a"},{"S":["secret-4111"]}]}}}"#,
        ));
        assert!(
            bad_list.starts_with("Records[0].dynamodb.OldImage.lines.L[1].S: invalid type: sequence"),
            "{bad_list}"
        );
        let bad_size = reason(&record(r#"{"SizeBytes":"secret-4111"}"#));
        assert!(
            bad_size.starts_with("Records[0].dynamodb.SizeBytes: invalid type: string, expected"),
            "{bad_size}"
        );
        for reason in [bad_number, bad_list, bad_size] {
            assert!(!reason.contains("4111") && !reason.contains("alice"), "{reason}");
        }
    }

    #[test]
    fn the_positional_array_form_is_not_an_event() {
        for payload in ["[]", " [[]]", "\n[[[]]]"] {
            assert!(
                reason(payload).starts_with("the payload is a JSON array"),
                "{payload}"
            );
        }
    }

    #[test]
    fn batch_facts_leave_out_records_without_a_creation_time() {
        let parsed = parse_event(
            br#"{"Records":[
              {"eventID":"a","eventName":"INSERT","awsRegion":"r","dynamodb":{"SizeBytes":1,"SequenceNumber":"10"}},
              {"eventID":"b","eventName":"INSERT","awsRegion":"r","dynamodb":{"SizeBytes":1,"SequenceNumber":"20",
               "ApproximateCreationDateTime":1700000100}},
              {"eventID":"c","eventName":"INSERT","awsRegion":"r","dynamodb":{"SizeBytes":1,"SequenceNumber":"30",
               "ApproximateCreationDateTime":1700000050}}]}"#,
        )
        .unwrap();
        let facts = parsed.facts;
        assert_eq!(facts.size, 3);
        assert_eq!(
            facts.oldest_record_created_at.map(|time| time.timestamp()),
            Some(1_700_000_050)
        );
        assert_eq!(facts.first_sequence_number.as_deref(), Some("10"));
        assert_eq!(facts.last_sequence_number.as_deref(), Some("30"));
        let sequence_numbers: Vec<Option<&str>> = parsed
            .records
            .iter()
            .map(|record| identity(record).sequence_number)
            .collect();
        assert_eq!(sequence_numbers, [Some("10"), Some("20"), Some("30")], "in order");
        assert_eq!(
            parse_event(br#"{"Records": []}"#).unwrap().facts,
            BatchFacts::default()
        );
    }

    #[test]
    fn records_of_an_invalid_event_are_counted_when_the_array_is_there() {
        assert_eq!(count_records_leniently(br#"{"Records":[1,{},"x"]}"#), Some(3));
        assert_eq!(count_records_leniently(b"{}"), None);
        assert_eq!(count_records_leniently(b"garbage"), None);
    }

    #[test]
    fn an_empty_batch_is_a_valid_event() {
        assert_eq!(parse_event(br#"{"Records": []}"#).unwrap().records.len(), 0);
    }

    /// An event of a mapping with TumblingWindowInSeconds, as the Lambda developer guide shows it
    /// (the records cut short): processing it would answer without its `state`.
    #[test]
    fn an_event_of_a_tumbling_window_is_refused_not_processed_without_its_state() {
        let window_event = r#"{"Records":[{"eventID":"1","eventName":"INSERT","awsRegion":"us-east-1",
            "eventSource":"aws:dynamodb","dynamodb":{"SizeBytes":26,"SequenceNumber":"111"}}],
            "window":{"start":"2020-07-30T17:00:00Z","end":"2020-07-30T17:05:00Z"},
            "state":{"1":"state1"},"shardId":"shard123456789",
            "eventSourceARN":"arn:aws:dynamodb:us-east-1:123456789012:table/orders/stream/2020",
            "isFinalInvokeForWindow":false,"isWindowTerminatedEarly":false}"#;
        let refusal = reason(window_event);
        assert!(refusal.contains("tumbling window"), "{refusal}");
        assert!(refusal.contains("TumblingWindowInSeconds"), "{refusal}");
        let final_invoke_only = r#"{"Records":[],"isFinalInvokeForWindow":true}"#;
        assert!(reason(final_invoke_only).contains("tumbling window"));
        // `null` is what a plain event would never carry either, but it holds no state to lose.
        assert!(parse_event(br#"{"Records":[],"window":null}"#).is_ok());
    }

    mod change_records {
        use super::super::*;
        use serde_json::json;

        fn event_record(value: serde_json::Value) -> EventRecord {
            serde_json::from_value(value).expect("test record parses")
        }

        fn base_record(event_name: &str) -> serde_json::Value {
            json!({
                "eventID": "e1",
                "eventName": event_name,
                "awsRegion": "eu-west-1",
                "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/stream/2024-05-01T00:00:00.000",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1714521600.0,
                    "Keys": {"pk": {"S": "ORDER#1"}},
                    "NewImage": {"pk": {"S": "ORDER#1"}},
                    "SequenceNumber": "111",
                    "SizeBytes": 26,
                    "StreamViewType": "NEW_AND_OLD_IMAGES"
                }
            })
        }

        #[test]
        fn reads_the_fields_business_code_needs() {
            let record = ChangeRecord::try_from(event_record(base_record("MODIFY"))).expect("valid record");
            assert_eq!(record.event_id, "e1");
            assert_eq!(record.operation, Operation::Modify);
            assert_eq!(record.table_name.as_deref(), Some("Orders"));
            assert_eq!(record.sequence_number.as_deref(), Some("111"));
            assert_eq!(
                record.approximate_creation_time.map(|t| t.timestamp()),
                Some(1_714_521_600)
            );
            assert!(record.keys.contains_key("pk"));
            assert!(record.new_image.is_some());
            assert_eq!(
                record.old_image, None,
                "an absent image is None, not an empty map"
            );
            assert!(!record.is_ttl_delete);
        }

        #[test]
        fn a_missing_creation_time_is_none_not_1970() {
            let mut value = base_record("INSERT");
            value["dynamodb"]
                .as_object_mut()
                .unwrap()
                .remove("ApproximateCreationDateTime");
            let record = ChangeRecord::try_from(event_record(value)).unwrap();
            assert_eq!(record.approximate_creation_time, None);
        }

        #[test]
        fn recognises_ttl_deletes_only_from_the_dynamodb_service_principal() {
            let mut ttl = base_record("REMOVE");
            ttl["userIdentity"] = json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"});
            assert!(ChangeRecord::try_from(event_record(ttl)).unwrap().is_ttl_delete);

            let mut other_service = base_record("REMOVE");
            other_service["userIdentity"] = json!({"type": "Service", "principalId": "lambda.amazonaws.com"});
            assert!(
                !ChangeRecord::try_from(event_record(other_service))
                    .unwrap()
                    .is_ttl_delete
            );

            let user_delete = base_record("REMOVE");
            assert!(
                !ChangeRecord::try_from(event_record(user_delete))
                    .unwrap()
                    .is_ttl_delete
            );
        }

        #[test]
        fn an_unknown_event_name_is_an_error_that_names_it() {
            let error = ChangeRecord::try_from(event_record(base_record("UPSERT"))).unwrap_err();
            assert_eq!(
                error.to_string(),
                "eventName \"UPSERT\" is not INSERT, MODIFY or REMOVE"
            );
        }

        #[test]
        fn table_name_comes_from_the_stream_arn() {
            assert_eq!(
                table_name_from_stream_arn("arn:aws:dynamodb:us-east-1:1:table/My-Table.v2/stream/2020"),
                Some("My-Table.v2")
            );
            assert_eq!(
                table_name_from_stream_arn("arn:aws:dynamodb:us-east-1:1:index/x"),
                None
            );
            assert_eq!(table_name_from_stream_arn("not an arn"), None);
            // An empty name is no name: the record's own `tableName` is used instead.
            assert_eq!(
                table_name_from_stream_arn("arn:aws:dynamodb:us-east-1:1:table//stream/2020"),
                None
            );
        }
    }
}
