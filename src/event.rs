//! Reading the invocation payload as a DynamoDB stream event, with errors that say what is wrong.
//!
//! The handler decodes the payload itself instead of letting `lambda_runtime` do it: a payload that
//! is not a stream event then becomes an [`InvocationError::InvalidEvent`] with a stable `errorType`,
//! goes through the same logging as every other outcome, and names the JSON path of the problem
//! (`Records[2].dynamodb: missing field "SizeBytes"`) instead of a Rust type name.

use aws_lambda_events::event::dynamodb::Event;

use crate::invocation_error::InvocationError;

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
    let deserializer = &mut serde_json::Deserializer::from_slice(payload);
    let event: Event = serde_path_to_error::deserialize(deserializer).map_err(|error| {
        let path = error.path().to_string();
        let reason = if path == "." {
            error.inner().to_string()
        } else {
            format!("{path}: {}", error.inner())
        };
        InvocationError::InvalidEvent { reason }
    })?;
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
    fn an_empty_batch_is_a_valid_event() {
        assert_eq!(parse_event(br#"{"Records": []}"#).unwrap().records.len(), 0);
    }
}
