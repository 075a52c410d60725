//! The example's data: an order item as it is stored in the table, decoded from a stream image.
//!
//! Decoding goes through `serde_path_to_error`, so a bad image is reported with the name of the
//! offending attribute (`attribute "amount_cents": …`) rather than serde_dynamo's bare
//! "Expected num".

use chrono::{DateTime, Utc};
use serde::Deserialize;
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

/// An image (or the keys) of a record did not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{image} {location}: {problem}")]
pub struct DecodeError {
    /// Which part of the record: `NewImage`, `OldImage` or `Keys`.
    pub image: &'static str,
    /// `attribute "amount_cents"`, or `item` when the problem is the item as a whole
    /// (a missing attribute is named in `problem`).
    pub location: String,
    /// What is wrong, as serde reports it.
    pub problem: String,
}

/// Decodes `item` (the `image` part of a record) into `T`, naming the attribute that does not fit.
pub fn decode<T: for<'de> Deserialize<'de>>(image: &'static str, item: &Item) -> Result<T, DecodeError> {
    let value = AttributeValue::M(item.clone().into());
    serde_path_to_error::deserialize(serde_dynamo::Deserializer::from_attribute_value(value)).map_err(
        |error| {
            let path = error.path().to_string();
            DecodeError {
                image,
                location: if path == "." {
                    "item".to_owned()
                } else {
                    format!("attribute {path:?}")
                },
                problem: error.inner().to_string(),
            }
        },
    )
}
