//! The typed view of one stream record that a [`RecordProcessor`](crate::RecordProcessor) receives.
//!
//! `aws_lambda_events` models the wire format faithfully, including its traps: the operation is a free
//! string, a missing `ApproximateCreationDateTime` silently becomes 1970-01-01, absent images become
//! empty maps, and a TTL expiry is only recognisable from `userIdentity`. [`ChangeRecord`] resolves each
//! of these once, so business code reads `record.operation`, `record.new_image` and
//! `record.is_ttl_delete` instead of re-deriving them.
//!
//! - [`sequence_number`]: sequence numbers compared the way the stream orders them.
//! - [`image`]: decoding an image into a typed struct, with errors that never quote item values.

pub mod image;
pub mod sequence_number;

use std::fmt;

use aws_lambda_events::event::dynamodb::EventRecord;
use chrono::{DateTime, Utc};
use serde_dynamo::Item;

/// What happened to the item: the record's `eventName`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Operation {
    /// A new item was written (`INSERT`): `new_image` holds it.
    Insert,
    /// An existing item changed (`MODIFY`): `new_image` and, with `NEW_AND_OLD_IMAGES`, `old_image`.
    Modify,
    /// The item was deleted (`REMOVE`): `keys` and, with an old-image view, `old_image`.
    Remove,
}

impl Operation {
    /// The stream's name for the operation (`INSERT`, `MODIFY`, `REMOVE`).
    pub fn as_str(self) -> &'static str {
        match self {
            Operation::Insert => "INSERT",
            Operation::Modify => "MODIFY",
            Operation::Remove => "REMOVE",
        }
    }

    /// Parses the stream's `eventName`. Returns `None` for anything else.
    pub fn from_event_name(event_name: &str) -> Option<Self> {
        match event_name {
            "INSERT" => Some(Operation::Insert),
            "MODIFY" => Some(Operation::Modify),
            "REMOVE" => Some(Operation::Remove),
            _ => None,
        }
    }
}

impl fmt::Display for Operation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One change from the stream, as business code wants to see it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ChangeRecord {
    /// The record's `eventID`: unique per record, a good idempotency key.
    pub event_id: String,
    /// INSERT, MODIFY or REMOVE.
    pub operation: Operation,
    /// The table the stream belongs to, taken from `eventSourceARN` (`…:table/<name>/stream/…`).
    pub table_name: Option<String>,
    /// `dynamodb.SequenceNumber` as received (a decimal string of up to 40 digits).
    pub sequence_number: Option<String>,
    /// `dynamodb.ApproximateCreationDateTime`; `None` when the record does not carry one
    /// (the wire type would otherwise report 1970-01-01).
    pub approximate_creation_time: Option<DateTime<Utc>>,
    /// The primary key attributes of the item (always present on a real stream).
    pub keys: Item,
    /// The item after the change; `None` for REMOVE and for `KEYS_ONLY` / `OLD_IMAGE` streams.
    pub new_image: Option<Item>,
    /// The item before the change; `None` for INSERT and for `KEYS_ONLY` / `NEW_IMAGE` streams.
    pub old_image: Option<Item>,
    /// `true` when DynamoDB's Time to Live deleted the item (a REMOVE made by the service, not by a user).
    pub is_ttl_delete: bool,
    /// `dynamodb.SizeBytes`: the size of the stream record.
    pub size_bytes: i64,
}

/// The record cannot be read as a DynamoDB change. Retrying will not help: the engine treats it as a
/// permanent failure of that record. It keeps the record's identity, for the checkpoint and logs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("eventName {event_name:?} is not INSERT, MODIFY or REMOVE")]
pub struct UnknownOperation {
    /// The `eventName` the record has.
    pub event_name: String,
    /// The record's `eventID`.
    pub event_id: String,
    /// The record's `dynamodb.SequenceNumber`, when it has one.
    pub sequence_number: Option<String>,
}

/// The principal DynamoDB uses for deletes made by Time to Live.
const TTL_PRINCIPAL: &str = "dynamodb.amazonaws.com";

impl TryFrom<EventRecord> for ChangeRecord {
    type Error = UnknownOperation;

    fn try_from(record: EventRecord) -> Result<Self, Self::Error> {
        let Some(operation) = Operation::from_event_name(&record.event_name) else {
            return Err(UnknownOperation {
                event_name: record.event_name,
                event_id: record.event_id,
                sequence_number: record.change.sequence_number,
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

#[cfg(test)]
mod tests {
    use super::*;
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
    }
}
