//! The example's data: an order item as it is stored in the table, decoded from a stream image.
//!
//! Decoding goes through `serde_path_to_error`, so a bad image is reported with the name of the
//! offending attribute rather than serde_dynamo's bare "Expected num". The message says what the
//! attribute should hold ([`ImageSchema`]) and never repeats the value it holds: serde's own messages
//! quote the offending value, and item values are often personal data that must not reach the logs.

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_dynamo::{AttributeValue, Item};

/// An order item. Attribute names in the table are the field names.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Order {
    /// Partition key, e.g. `ORDER#1042`.
    pub pk: String,
    /// Sort key, e.g. `ORDER`.
    pub sk: String,
    /// Where the order is in its life.
    pub status: Status,
    /// The amount in cents (a non-negative whole number).
    pub amount_cents: u64,
    /// The last change, an RFC 3339 timestamp such as `2024-05-01T12:00:00Z`.
    pub updated_at: DateTime<Utc>,
}

/// The life of an order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Pending,
    Paid,
    Shipped,
    Cancelled,
}

/// The primary key of an order item: all a `KEYS_ONLY` record or a REMOVE carries for sure.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OrderKey {
    pub pk: String,
    pub sk: String,
}

/// What the attributes of a decoded type should hold, for error messages that name no values.
pub trait ImageSchema {
    /// A description of a valid value of `attribute`, or `None` for an attribute the type ignores.
    fn expectation(attribute: &str) -> Option<&'static str>;
}

impl ImageSchema for Order {
    fn expectation(attribute: &str) -> Option<&'static str> {
        match attribute {
            "pk" | "sk" => Some("a string (S)"),
            "status" => Some("one of PENDING, PAID, SHIPPED, CANCELLED (S)"),
            "amount_cents" => Some("a whole number of cents, 0 or more (N)"),
            "updated_at" => Some("an RFC 3339 timestamp such as 2026-11-01T09:00:00Z (S)"),
            _ => None,
        }
    }
}

impl ImageSchema for OrderKey {
    fn expectation(attribute: &str) -> Option<&'static str> {
        Order::expectation(attribute).filter(|_| matches!(attribute, "pk" | "sk"))
    }
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
