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
            let attribute = path.split(['.', '[']).next().unwrap_or(&path).to_owned();
            DecodeError {
                image,
                location: format!("attribute {path:?}"),
                problem: match T::expectation(&attribute) {
                    Some(expectation) => format!("expected {expectation}"),
                    None => "the value does not have the expected type".to_owned(),
                },
            }
        },
    )
}
