//! Per-key concurrency: records of different items at once, records of one item strictly in order.
//!
//! The stream only orders changes per item (partition key), so records of different keys may run
//! concurrently — what an I/O-bound processor needs to keep up. The batch is split into lanes, one
//! per item key, in stream order; lanes run together, at most `max_in_flight` records at a time.
//! The rules that keep it safe:
//!
//! - a lane stops at its first failure: no record of a key starts after an earlier record of that
//!   key failed;
//! - no lane starts a record placed after a failure already seen (it would be delivered again
//!   anyway);
//! - the checkpoint is the first record of the batch not completed, over all keys; records after
//!   it that did succeed are handed back with it (Lambda delivers from the checkpoint on) and are
//!   counted in `RecordsRetried`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::Semaphore;
use tracing::{Span, warn};

use super::outcome::BatchOutcome;
use super::{Attempted, BatchEngine, Deadline};
use crate::processor::RecordProcessor;
use crate::record::{BatchRecord, identity};

/// Processes `records` per key; fills `outcome` and returns the span of the stop, if any.
pub(super) async fn process<P: RecordProcessor>(
    engine: &BatchEngine,
    processor: &P,
    records: Vec<BatchRecord>,
    deadline: &Deadline,
    outcome: &mut BatchOutcome,
) -> Span {
    let lanes = lanes(records);
    let first_failure = AtomicUsize::new(usize::MAX);
    let permits = Semaphore::new(engine.config().max_in_flight);
    let attempted: Mutex<Vec<Attempted>> = Mutex::new(Vec::with_capacity(outcome.batch_size));

    let runs = lanes.into_iter().enumerate().map(|(lane, records)| {
        let (first_failure, permits, attempted) = (&first_failure, &permits, &attempted);
        async move {
            let mut rng = engine.rng(lane as u64);
            for (index, record) in records {
                let Ok(_permit) = permits.acquire().await else {
                    return;
                };
                // Checked once the record has its slot: a failure may have been seen while it
                // waited, and a record after it would only be delivered again.
                if index > first_failure.load(Ordering::Acquire) {
                    return;
                }
                let result = engine.attempt(processor, index, record, deadline, &mut rng).await;
                let completed = result.succeeded();
                attempted
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(result);
                if !completed {
                    first_failure.fetch_min(index, Ordering::AcqRel);
                    return;
                }
            }
        }
    });
    futures_util::future::join_all(runs).await;

    let mut attempted = attempted
        .into_inner()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    attempted.sort_by_key(|record| record.index);
    let mut stop_span = Span::none();
    let mut later_failures = Vec::new();
    for record in attempted {
        let index = record.index;
        // The line about a later failure names its record itself: its span is only recorded when
        // spans are exported.
        let identity =
            (!record.succeeded()).then(|| (record.event_id.clone(), record.sequence_number.clone()));
        if let Some(span) = outcome.count(record) {
            if outcome.stop.as_ref().is_some_and(|stop| stop.index == index) {
                stop_span = span;
            } else {
                later_failures.push((span, index, identity.unwrap_or_default()));
            }
        }
    }
    if let Some(stop) = &outcome.stop {
        for (span, index, (event_id, sequence_number)) in later_failures {
            span.in_scope(|| {
                warn!(
                    eventId = %event_id,
                    sequenceNumber = sequence_number.as_deref().unwrap_or_default(),
                    index,
                    checkpoint = stop.index,
                    "record not completed; it comes again with the batch from the checkpoint at record {}",
                    stop.index
                )
            });
        }
    }
    stop_span
}

/// The batch as lanes: one per item key, each with its records in stream order, with their index.
fn lanes(records: Vec<BatchRecord>) -> Vec<Vec<(usize, BatchRecord)>> {
    let mut lane_of: HashMap<String, usize> = HashMap::new();
    let mut lanes: Vec<Vec<(usize, BatchRecord)>> = Vec::new();
    for (index, record) in records.into_iter().enumerate() {
        let key = item_key(&record);
        let lane = *lane_of.entry(key).or_insert_with(|| {
            lanes.push(Vec::new());
            lanes.len() - 1
        });
        lanes[lane].push((index, record));
    }
    lanes
}

/// A canonical text of the record's primary key (attribute names sorted), the identity of its item.
fn item_key(record: &BatchRecord) -> String {
    let mut attributes: Vec<(&String, String)> = identity(record)
        .keys
        .iter()
        .map(|(name, value)| (name, serde_json::to_string(value).unwrap_or_default()))
        .collect();
    attributes.sort();
    attributes
        .into_iter()
        .map(|(name, value)| format!("{name}={value}"))
        .collect::<Vec<_>>()
        .join("\u{1f}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(pk: &str, sk: &str) -> BatchRecord {
        BatchRecord::Unreadable(crate::record::UnknownOperation {
            event_name: "TEST".into(),
            event_id: "e".into(),
            sequence_number: None,
            table_name: None,
            keys: serde_json::from_value(json!({"sk": {"S": sk}, "pk": {"S": pk}})).unwrap(),
        })
    }

    #[test]
    fn lanes_group_records_by_their_whole_key_in_stream_order() {
        let lanes = lanes(vec![
            record("a", "1"),
            record("b", "1"),
            record("a", "1"),
            record("a", "2"),
            record("b", "1"),
        ]);
        let indices: Vec<Vec<usize>> = lanes
            .iter()
            .map(|lane| lane.iter().map(|(index, _)| *index).collect())
            .collect();
        assert_eq!(indices, [vec![0, 2], vec![1, 4], vec![3]]);
    }
}
