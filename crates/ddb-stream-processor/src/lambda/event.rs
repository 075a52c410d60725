//! Reading the invocation payload as a DynamoDB stream event, with errors that say what is wrong.
//!
//! The handler decodes the payload itself instead of letting `lambda_runtime` do it: a payload that
//! is not a stream event then becomes an [`InvocationError::InvalidEvent`] with a stable `errorType`,
//! goes through the same logging as every other outcome, and names the JSON path of the problem
//! (`Records[2].dynamodb: missing field "SizeBytes"`) instead of a Rust type name.

use aws_lambda_events::event::dynamodb::{Event, EventRecord};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::IgnoredAny;

use crate::lambda::invocation_error::InvocationError;

/// The `eventSource` of DynamoDB stream records.
pub const DYNAMODB_EVENT_SOURCE: &str = "aws:dynamodb";

/// Parses `payload` as a DynamoDB stream event.
///
/// Beyond the shape, it checks that no record declares another event source (an SQS or Kinesis
/// payload sent to this function by mistake must not be read as an empty or partial success).
pub fn parse_event(payload: &[u8]) -> Result<Event, InvocationError> {
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
    let event: Event = match serde_json::from_slice(payload) {
        Ok(event) => event,
        Err(_) => return Err(located_error(payload)),
    };
    for (index, record) in event.records.iter().enumerate() {
        if let Some(source) = record
            .event_source
            .as_deref()
            .filter(|source| *source != DYNAMODB_EVENT_SOURCE)
        {
            return Err(InvocationError::InvalidEvent {
                reason: format!("Records[{index}].eventSource is {source:?}, not {DYNAMODB_EVENT_SOURCE:?}"),
            });
        }
    }
    Ok(event)
}

/// The first problem of a payload that does not parse, with its JSON path.
fn located_error(payload: &[u8]) -> InvocationError {
    let deserializer = &mut serde_json::Deserializer::from_slice(payload);
    let reason = match serde_path_to_error::deserialize::<_, Event>(deserializer) {
        Ok(_) => "the payload does not parse as a DynamoDB stream event".to_owned(),
        Err(error) => {
            let path = error.path().to_string();
            if path == "." {
                error.inner().to_string()
            } else {
                format!("{path}: {}", error.inner())
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

impl BatchFacts {
    /// The facts of `records`.
    pub fn of(records: &[EventRecord]) -> Self {
        Self {
            size: records.len(),
            oldest_record_created_at: records
                .iter()
                .map(|record| record.change.approximate_creation_date_time)
                .filter(|created| *created != DateTime::<Utc>::UNIX_EPOCH)
                .min(),
            first_sequence_number: records
                .first()
                .and_then(|record| record.change.sequence_number.clone()),
            last_sequence_number: records
                .last()
                .and_then(|record| record.change.sequence_number.clone()),
        }
    }
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
        assert!(reason(r#"{"Records": {}}"#).starts_with("Records: invalid type: map"));
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
        let event = parse_event(
            br#"{"Records":[
              {"eventID":"a","eventName":"INSERT","awsRegion":"r","dynamodb":{"SizeBytes":1,"SequenceNumber":"10"}},
              {"eventID":"b","eventName":"INSERT","awsRegion":"r","dynamodb":{"SizeBytes":1,"SequenceNumber":"20",
               "ApproximateCreationDateTime":1700000100}},
              {"eventID":"c","eventName":"INSERT","awsRegion":"r","dynamodb":{"SizeBytes":1,"SequenceNumber":"30",
               "ApproximateCreationDateTime":1700000050}}]}"#,
        )
        .unwrap();
        let facts = BatchFacts::of(&event.records);
        assert_eq!(facts.size, 3);
        assert_eq!(
            facts.oldest_record_created_at.map(|time| time.timestamp()),
            Some(1_700_000_050)
        );
        assert_eq!(facts.first_sequence_number.as_deref(), Some("10"));
        assert_eq!(facts.last_sequence_number.as_deref(), Some("30"));
        assert_eq!(BatchFacts::of(&[]), BatchFacts::default());
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
}
