//! **The example processor: the part you replace.**
//!
//! Everything else in the crate is the template (batching, checkpoints, retries, deadline, panics,
//! telemetry). This module is the business logic of a made-up order service, shipped so the template
//! runs end to end and shows the idioms: decode the image into a typed struct, classify failures as
//! permanent or transient, keep the side effect idempotent.
//!
//! To replace it, implement [`RecordProcessor`] for your own type (or use
//! `ddb_stream_processor::processor_fn`), replace this folder with it, and name it in `src/main.rs`
//! instead of [`OrderProcessor`]. Its tests (`tests.rs`) go with it. The README walks through it.

mod order;
#[cfg(test)]
mod tests;

pub use order::{Order, OrderKey};

use ddb_stream_processor::record::image::{DecodeError, decode};
use ddb_stream_processor::{ChangeRecord, Operation, RecordError, RecordProcessor};
use tracing::debug;

/// What a record means for the order service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OrderChange {
    /// A new order (INSERT).
    Created(Order),
    /// An order changed (MODIFY); `before` is present with an old-image stream view.
    Updated { before: Option<Order>, after: Order },
    /// An order was deleted (REMOVE); `last` is present with an old-image stream view, and
    /// `expired` when Time to Live deleted it.
    Deleted {
        key: OrderKey,
        last: Option<Order>,
        expired: bool,
    },
}

/// Reads a record as an [`OrderChange`]. Every decoding problem is **permanent**: the same image will
/// not decode on a retry, so the record is a poison record and must reach the on-failure destination.
pub fn decode_change(record: &ChangeRecord) -> Result<OrderChange, RecordError> {
    let permanent = |error: DecodeError| RecordError::permanent(error.to_string());
    match record.operation {
        Operation::Insert => Ok(OrderChange::Created(decode_new_image(record)?)),
        Operation::Modify => Ok(OrderChange::Updated {
            before: record
                .old_image
                .as_ref()
                .map(|image| decode("OldImage", image))
                .transpose()
                .map_err(permanent)?,
            after: decode_new_image(record)?,
        }),
        Operation::Remove => Ok(OrderChange::Deleted {
            key: decode("Keys", &record.keys).map_err(permanent)?,
            last: record
                .old_image
                .as_ref()
                .map(|image| decode("OldImage", image))
                .transpose()
                .map_err(permanent)?,
            expired: record.is_ttl_delete,
        }),
    }
}

fn decode_new_image(record: &ChangeRecord) -> Result<Order, RecordError> {
    let image = record.new_image.as_ref().ok_or_else(|| {
        RecordError::permanent(format!(
            "{} record has no NewImage: the stream's view type must be NEW_IMAGE or NEW_AND_OLD_IMAGES",
            record.operation
        ))
    })?;
    decode("NewImage", image).map_err(|error| RecordError::permanent(error.to_string()))
}

/// The example's processor: decodes order changes and logs what kind of change each is at DEBUG.
///
/// A real service would apply the change somewhere (update a projection, publish an event) with an
/// idempotent write keyed by `record.event_id` or the item's key and version, and return
/// [`RecordError::transient`] for throttling or timeouts of that call.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrderProcessor;

impl RecordProcessor for OrderProcessor {
    async fn process(&self, record: &ChangeRecord) -> Result<(), RecordError> {
        // No value goes in a log line (images often hold personal data): the record's span already
        // names it (eventId, sequenceNumber, operation; its keys with PROCESSOR_LOG_KEYS=true).
        match decode_change(record)? {
            OrderChange::Created(_) => debug!("order created"),
            OrderChange::Updated { before, after } => debug!(
                status_changed = before.map(|before| before.status != after.status),
                "order updated"
            ),
            OrderChange::Deleted { expired, .. } => debug!(expired, "order deleted"),
        }
        Ok(())
    }
}
