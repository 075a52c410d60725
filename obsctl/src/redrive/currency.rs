//! Whether each record of a failed range is still current, superseded by a later change of its
//! item, or cannot be told — decided from the stream's later changes and, where the stream does not
//! show them whole, the table's current item.
//!
//! 1. A later change of the item that the mapping's `FilterCriteria` deliver, after the range,
//!    supersedes the record: replaying it would put old data over new. A later change the filter
//!    never delivers supersedes nothing: the function would never have seen it.
//! 2. When the stream showed every later change (closed shards read to their end), a record with no
//!    delivered later change is current.
//! 3. Otherwise the table decides: the item must still be in the state the last change the stream
//!    showed left it in (the record itself, a later record of the range, or a later change read).
//!    Then the stream's history of the item is whole up to now, and step 1 answered. If it is not,
//!    a change followed that the stream read did not see: without filters that change was
//!    delivered, so the record is superseded; with filters nobody can tell whether it was.
//! 4. A record whose state is unknown (no new image: a `KEYS_ONLY` or `OLD_IMAGE` stream), or whose
//!    stream ARN names no table, cannot be told either. The caller replays such a record only where
//!    the processor reads the item anyway (`KEYS_ONLY`), and otherwise keeps the failure.

use std::collections::BTreeMap;

use ddb_stream_processor::record::sequence_number::compare;
use serde_json::Value;

use super::stream::{ItemState, LaterChanges, item_key, sequence_number};
use super::table::{Table, TableProblem, is_in_state, table_name};
use crate::cloud::CloudError;

/// What is known of one record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Currency {
    /// Nothing the mapping delivers followed it: replay it.
    Current,
    /// A later change supersedes it: why.
    Superseded(String),
    /// Whether it is current cannot be told: why.
    CannotTell(String),
}

/// The stream view of a record (`dynamodb.StreamViewType`), as Lambda delivers it.
pub fn view_type(record: &Value) -> &str {
    record
        .pointer("/dynamodb/StreamViewType")
        .and_then(Value::as_str)
        .unwrap_or("unknown")
}

/// Decides the currency of `records` (the ones to decide, in stream order) of a range whose records
/// are `range` (all of them, delivered or not) and whose last sequence number is `range_end`, given
/// what changed after it.
pub async fn decide(
    table: &Table,
    stream_arn: &str,
    filtered: bool,
    records: &[Value],
    range: &[Value],
    later: &LaterChanges,
    range_end: &str,
) -> Result<Vec<Currency>, CloudError> {
    let mut decisions: Vec<Option<Currency>> = vec![None; records.len()];
    let last_in_range = last_changes(range);
    // The state each undecided record's item should be in now, by record.
    let mut expected: Vec<(usize, String, ItemState)> = Vec::new();
    for (index, record) in records.iter().enumerate() {
        let (Some(key), Some(_)) = (item_key(record), sequence_number(record)) else {
            decisions[index] = Some(Currency::CannotTell(
                "the record has no Keys or SequenceNumber".into(),
            ));
            continue;
        };
        if later.delivered_after(&key, range_end) {
            decisions[index] = Some(Currency::Superseded(
                "a later change of the item is in the stream".into(),
            ));
            continue;
        }
        let Some(incomplete) = &later.incomplete else {
            decisions[index] = Some(Currency::Current);
            continue;
        };
        let state = last_known_state(record, &last_in_range, &key, later, range_end);
        if state == ItemState::Unknown {
            decisions[index] = Some(Currency::CannotTell(format!(
                "the record has no new image to compare with the table's item (the stream's view is {}), and {incomplete}",
                view_type(record)
            )));
            continue;
        }
        expected.push((index, key, state));
    }
    if !expected.is_empty() {
        let incomplete = later.incomplete.as_deref().unwrap_or_default();
        match table_name(stream_arn) {
            None => {
                for (index, _, _) in &expected {
                    decisions[*index] = Some(Currency::CannotTell(format!(
                        "the stream ARN {stream_arn} names no table to compare with, and {incomplete}"
                    )));
                }
            }
            Some(name) => {
                let keys: BTreeMap<String, Value> = expected
                    .iter()
                    .map(|(index, key, _)| {
                        let keys = records[*index]
                            .pointer("/dynamodb/Keys")
                            .cloned()
                            .unwrap_or(Value::Null);
                        (key.clone(), keys)
                    })
                    .collect();
                let current = match table.current_items(name, &keys).await {
                    Ok(current) => current,
                    Err(TableProblem::Failed(error)) => return Err(error),
                    Err(TableProblem::BadKey(problem)) => {
                        for (index, _, _) in &expected {
                            decisions[*index] =
                                Some(Currency::CannotTell(format!("{problem}, and {incomplete}")));
                        }
                        return Ok(finish(decisions));
                    }
                };
                for (index, key, state) in expected {
                    let unchanged = is_in_state(&state, current.get(&key)).unwrap_or(false);
                    decisions[index] = Some(if unchanged {
                        Currency::Current
                    } else if !filtered {
                        Currency::Superseded(format!("the table's item has changed since ({incomplete})"))
                    } else {
                        Currency::CannotTell(format!(
                            "the table's item has changed since, and {incomplete}: whether that change is one the \
                             mapping's FilterCriteria deliver cannot be told"
                        ))
                    });
                }
            }
        }
    }
    Ok(finish(decisions))
}

fn finish(decisions: Vec<Option<Currency>>) -> Vec<Currency> {
    decisions
        .into_iter()
        .map(|decision| decision.unwrap_or(Currency::Current))
        .collect()
}

/// The last record of each item in `range` (delivered or not), by item key, read once per range.
fn last_changes(range: &[Value]) -> BTreeMap<String, (&str, &Value)> {
    let mut last: BTreeMap<String, (&str, &Value)> = BTreeMap::new();
    for record in range {
        if let (Some(key), Some(number)) = (item_key(record), sequence_number(record)) {
            let entry = last.entry(key).or_insert((number, record));
            if compare(number, entry.0).is_gt() {
                *entry = (number, record);
            }
        }
    }
    last
}

/// The state the last change of the item `key` the stream showed left it in: the latest of
/// `record` itself, the range's last record of the item (`last_in_range`, delivered or not), and
/// the changes read after the range.
fn last_known_state(
    record: &Value,
    last_in_range: &BTreeMap<String, (&str, &Value)>,
    key: &str,
    later: &LaterChanges,
    range_end: &str,
) -> ItemState {
    let mut last: (&str, &Value) = (sequence_number(record).unwrap_or_default(), record);
    if let Some((number, other)) = last_in_range.get(key)
        && compare(number, last.0).is_gt()
    {
        last = (number, other);
    }
    match later.last_after(key, range_end) {
        Some((position, state)) if position.is_after(last.0) => state.clone(),
        _ => ItemState::of(last.1),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::redrive::stream::{History, Position};

    fn record(pk: &str, number: &str, version: Option<u64>) -> Value {
        let mut record = json!({
            "eventName": if version.is_some() { "MODIFY" } else { "REMOVE" },
            "dynamodb": {"Keys": {"pk": {"S": pk}}, "SequenceNumber": number, "StreamViewType": "NEW_AND_OLD_IMAGES"}
        });
        if let Some(version) = version {
            record["dynamodb"]["NewImage"] = json!({"pk": {"S": pk}, "v": {"N": version.to_string()}});
        }
        record
    }

    #[test]
    fn the_last_known_state_is_the_latest_change_of_the_item_in_the_range_or_after_it() {
        let range = [
            record("A", "10", Some(1)),
            record("B", "11", Some(1)),
            record("A", "12", Some(2)),
        ];
        let key = item_key(&range[0]).unwrap();
        let none = LaterChanges::default();
        assert_eq!(
            last_known_state(&range[0], &last_changes(&range), &key, &none, "12"),
            ItemState::Written(json!({"pk": {"S": "A"}, "v": {"N": "2"}})),
            "a later record of the range"
        );
        assert_eq!(
            last_known_state(&range[2], &last_changes(&range), &key, &none, "12"),
            ItemState::Written(json!({"pk": {"S": "A"}, "v": {"N": "2"}})),
            "the record itself"
        );
        assert_eq!(
            last_known_state(&range[0], &last_changes(&range[..2]), &key, &none, "12"),
            ItemState::Written(json!({"pk": {"S": "A"}, "v": {"N": "1"}})),
            "no later change known"
        );
        let mut later = LaterChanges::default();
        later.by_key.insert(
            key.clone(),
            History {
                last_delivered: None,
                last: (
                    Position {
                        generation: 0,
                        number: "20".into(),
                    },
                    ItemState::Removed,
                ),
            },
        );
        assert_eq!(
            last_known_state(&range[0], &last_changes(&range), &key, &later, "12"),
            ItemState::Removed
        );
    }

    /// A table client that is never called (no endpoint answers it): the cases below decide without
    /// the table.
    fn no_table() -> Table {
        Table::new(
            &aws_config::SdkConfig::builder()
                .behavior_version(aws_config::BehaviorVersion::latest())
                .build(),
        )
    }

    #[tokio::test]
    async fn the_stream_alone_decides_when_it_shows_a_delivered_later_change_or_everything() {
        let range = [record("A", "10", Some(1)), record("B", "11", Some(1))];
        let mut later = LaterChanges::default();
        later.by_key.insert(
            item_key(&range[0]).unwrap(),
            History {
                last_delivered: Some(Position {
                    generation: 0,
                    number: "20".into(),
                }),
                last: (
                    Position {
                        generation: 0,
                        number: "20".into(),
                    },
                    ItemState::Removed,
                ),
            },
        );
        let arn = "arn:aws:dynamodb:eu-west-1:1:table/t/stream/s";
        let decided = decide(&no_table(), arn, false, &range, &range, &later, "11")
            .await
            .unwrap();
        assert_eq!(
            decided,
            [
                Currency::Superseded("a later change of the item is in the stream".into()),
                Currency::Current
            ],
            "a whole read: what has no delivered later change is current"
        );
    }

    #[tokio::test]
    async fn a_record_without_its_new_image_cannot_be_told_when_the_stream_is_not_whole() {
        let mut keys_only = record("A", "10", Some(1));
        keys_only["dynamodb"].as_object_mut().unwrap().remove("NewImage");
        keys_only["dynamodb"]["StreamViewType"] = json!("KEYS_ONLY");
        let later = LaterChanges {
            incomplete: Some("the stream no longer shows what followed".into()),
            ..LaterChanges::default()
        };
        let arn = "arn:aws:dynamodb:eu-west-1:1:table/t/stream/s";
        let range = [keys_only];
        let decided = decide(&no_table(), arn, false, &range, &range, &later, "10")
            .await
            .unwrap();
        assert_eq!(
            decided,
            [Currency::CannotTell(
                "the record has no new image to compare with the table's item (the stream's view is KEYS_ONLY), \
                 and the stream no longer shows what followed"
                    .into()
            )]
        );
        assert_eq!(view_type(&range[0]), "KEYS_ONLY");
        assert_eq!(view_type(&json!({})), "unknown");
        let no_table_arn = decide(
            &no_table(),
            "arn:aws:dynamodb:eu-west-1:1:stream/s",
            false,
            &[record("B", "10", Some(1))],
            &[record("B", "10", Some(1))],
            &later,
            "10",
        )
        .await
        .unwrap();
        assert!(
            matches!(&no_table_arn[..], [Currency::CannotTell(reason)] if reason.contains("names no table")),
            "{no_table_arn:?}"
        );
    }
}
