//! The example's data: an order item as it is stored in the table, decoded from a stream image.
//!
//! Decoding goes through the library's `record::image::decode`, so a bad image is reported with the
//! name of the offending attribute and what it should hold ([`ImageSchema`]), never the value it
//! holds: item values are often personal data that must not reach the logs.

use chrono::{DateTime, Utc};
use ddb_stream_processor::record::image::ImageSchema;
use serde::Deserialize;

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
