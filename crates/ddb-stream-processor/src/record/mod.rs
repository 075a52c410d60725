//! The typed view of one stream record that a [`RecordProcessor`](crate::RecordProcessor) receives.
//!
//! `aws_lambda_events` models the wire format faithfully, including its traps: the operation is a free
//! string, a missing `ApproximateCreationDateTime` silently becomes 1970-01-01, absent images become
//! empty maps, and a TTL expiry is only recognisable from `userIdentity`. [`ChangeRecord`] resolves each
//! of these once (the Lambda edge makes it from the wire type), so business code reads
//! `record.operation`, `record.new_image` and `record.is_ttl_delete` instead of re-deriving them.
//!
//! - [`BatchRecord`]: a record as the engine takes it, a change or why it is not one;
//! - [`sequence_number`]: sequence numbers compared the way the stream orders them.
//! - [`image`]: decoding an image into a typed struct, with errors that never quote item values.

pub mod image;
pub mod sequence_number;

use std::fmt;

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
/// permanent failure of that record. It keeps the record's identity, for the checkpoint, the logs and
/// the order of its item.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("eventName {event_name:?} is not INSERT, MODIFY or REMOVE")]
pub struct UnknownOperation {
    /// The `eventName` the record has.
    pub event_name: String,
    /// The record's `eventID`.
    pub event_id: String,
    /// The record's `dynamodb.SequenceNumber`, when it has one.
    pub sequence_number: Option<String>,
    /// The table the stream belongs to, when the record says.
    pub table_name: Option<String>,
    /// The item's primary key attributes, so the record keeps its place among its item's records.
    pub keys: Item,
}

/// One record of a batch as the engine takes it, in stream order. The Lambda edge makes them from
/// the wire type (`BatchRecord::from(EventRecord)`); the engine never sees the wire type.
#[derive(Debug, Clone, PartialEq)]
pub enum BatchRecord {
    /// A change a processor can handle.
    Change(ChangeRecord),
    /// A record that cannot be read as a change: the batch stops there, as at a permanent failure.
    Unreadable(UnknownOperation),
}

/// What the engine and its observers read of any record of a batch, a change or not: its identity
/// for spans, the checkpoint and the order of its item.
pub(crate) struct Identity<'a> {
    pub(crate) event_id: &'a str,
    pub(crate) sequence_number: Option<&'a str>,
    /// The `eventName` as received.
    pub(crate) event_name: &'a str,
    pub(crate) table_name: Option<&'a str>,
    pub(crate) keys: &'a Item,
}

pub(crate) fn identity(record: &BatchRecord) -> Identity<'_> {
    match record {
        BatchRecord::Change(change) => Identity {
            event_id: &change.event_id,
            sequence_number: change.sequence_number.as_deref(),
            event_name: change.operation.as_str(),
            table_name: change.table_name.as_deref(),
            keys: &change.keys,
        },
        BatchRecord::Unreadable(unknown) => Identity {
            event_id: &unknown.event_id,
            sequence_number: unknown.sequence_number.as_deref(),
            event_name: &unknown.event_name,
            table_name: unknown.table_name.as_deref(),
            keys: &unknown.keys,
        },
    }
}
