//! Decoding a stream image into a typed struct, with errors that name the attribute and never its value.
//!
//! serde_dynamo's own messages quote the offending value (`invalid value: string "secret-4111"`),
//! and item values are often personal data that must not reach the logs. [`decode`] goes through
//! `serde_path_to_error` to find the attribute that does not fit, and reports what it should hold
//! ([`ImageSchema`]) instead of what it holds.
//!
//! ```
//! use ddb_stream_processor::record::image::{decode, ImageSchema};
//! use serde::Deserialize;
//!
//! #[derive(Debug, Deserialize)]
//! struct Account { id: String, balance_cents: u64 }
//!
//! impl ImageSchema for Account {
//!     fn expectation(attribute: &str) -> Option<&'static str> {
//!         match attribute {
//!             "id" => Some("a string (S)"),
//!             "balance_cents" => Some("a whole number of cents, 0 or more (N)"),
//!             _ => None,
//!         }
//!     }
//! }
//!
//! let item: serde_dynamo::Item = serde_json::from_value(serde_json::json!({
//!     "id": {"S": "A-1"}, "balance_cents": {"S": "secret-4111"}
//! })).unwrap();
//! let error = decode::<Account>("NewImage", &item).unwrap_err();
//! assert_eq!(error.to_string(), "NewImage attribute \"balance_cents\": expected a whole number of cents, 0 or more (N)");
//! assert!(!error.to_string().contains("secret"));
//! ```

use serde::de::DeserializeOwned;
use serde_dynamo::{AttributeValue, Item};

/// What the attributes of a decoded type should hold, for error messages that name no values.
pub trait ImageSchema {
    /// A description of a valid value of `attribute`, or `None` for an attribute the type ignores.
    fn expectation(attribute: &str) -> Option<&'static str>;
}

/// An image (or the keys) of a record did not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{image} {location}: {problem}")]
pub struct DecodeError {
    /// Which part of the record: `NewImage`, `OldImage` or `Keys`.
    pub image: &'static str,
    /// `attribute "amount_cents"`, or `item` when the problem is the item as a whole
    /// (a missing attribute is named in `problem`).
    pub location: String,
    /// What is wrong, without the offending value.
    pub problem: String,
}

/// The attribute a decoding error is in, and its path without item data: the top-level attribute's
/// name, list positions (`[2]`), and `<key>` for each key below it, since a map attribute's keys are
/// written by whoever wrote the item (`{"tags": {"M": {"alice@example.com": …}}}`) and a nested
/// struct field cannot be told apart from them in the path.
fn attribute_path(path: &serde_path_to_error::Path) -> (String, String) {
    use serde_path_to_error::Segment;
    let mut segments = path.iter();
    let attribute = match segments.next() {
        Some(Segment::Map { key }) => key.clone(),
        Some(Segment::Enum { variant }) => variant.clone(),
        _ => "?".to_owned(),
    };
    let mut location = attribute.clone();
    for segment in segments {
        match segment {
            Segment::Seq { index } => location.push_str(&format!("[{index}]")),
            Segment::Map { .. } | Segment::Enum { .. } => location.push_str(".<key>"),
            Segment::Unknown => location.push_str(".?"),
        }
    }
    (attribute, location)
}

/// Decodes `item` (the `image` part of a record) into `T`, naming the attribute that does not fit and
/// what it should hold.
pub fn decode<T: DeserializeOwned + ImageSchema>(image: &'static str, item: &Item) -> Result<T, DecodeError> {
    let value = AttributeValue::M(item.clone().into());
    serde_path_to_error::deserialize(serde_dynamo::Deserializer::from_attribute_value(value)).map_err(
        |error| {
            let path = error.path().to_string();
            if path == "." {
                let serde_message = error.inner().to_string();
                // "missing field `status`" names a field, never a value; anything else is about the shape.
                let problem = if serde_message.starts_with("missing field") {
                    serde_message
                } else {
                    "the item is not a map of attributes".to_owned()
                };
                return DecodeError {
                    image,
                    location: "item".to_owned(),
                    problem,
                };
            }
            let (attribute, location) = attribute_path(error.path());
            DecodeError {
                image,
                location: format!("attribute {location:?}"),
                problem: match T::expectation(&attribute) {
                    Some(expectation) => format!("expected {expectation}"),
                    None => "the value does not have the expected type".to_owned(),
                },
            }
        },
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)] // read by serde only
    struct Customer {
        id: String,
        tags: BTreeMap<String, u64>,
        lines: Vec<Line>,
    }

    #[derive(Debug, Deserialize)]
    #[allow(dead_code)] // read by serde only
    struct Line {
        cents: u64,
    }

    impl ImageSchema for Customer {
        fn expectation(attribute: &str) -> Option<&'static str> {
            match attribute {
                "tags" => Some("a map of counts (M of N)"),
                "lines" => Some("a list of order lines (L of M)"),
                _ => None,
            }
        }
    }

    fn item(json: serde_json::Value) -> Item {
        serde_json::from_value(json).unwrap()
    }

    #[test]
    fn a_map_key_in_the_path_is_item_data_and_is_not_quoted() {
        let error = decode::<Customer>(
            "NewImage",
            &item(serde_json::json!({
                "id": {"S": "C-1"},
                "tags": {"M": {"alice@example.com": {"S": "secret-4111"}}},
                "lines": {"L": []}
            })),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "NewImage attribute \"tags.<key>\": expected a map of counts (M of N)"
        );
        assert!(!error.to_string().contains("alice") && !error.to_string().contains("secret"));
    }

    #[test]
    fn list_positions_stay_in_the_path() {
        let error = decode::<Customer>(
            "NewImage",
            &item(serde_json::json!({
                "id": {"S": "C-1"},
                "tags": {"M": {}},
                "lines": {"L": [{"M": {"cents": {"N": "1"}}}, {"M": {"cents": {"S": "secret-4111"}}}]}
            })),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "NewImage attribute \"lines[1].<key>\": expected a list of order lines (L of M)"
        );
    }

    #[test]
    fn an_attribute_the_schema_does_not_describe_gets_a_general_problem() {
        let error = decode::<Customer>(
            "OldImage",
            &item(
                serde_json::json!({"id": {"N": "4111111111111111"}, "tags": {"M": {}}, "lines": {"L": []}}),
            ),
        )
        .unwrap_err();
        assert_eq!(
            error.to_string(),
            "OldImage attribute \"id\": the value does not have the expected type"
        );
    }
}
