//! The table's current items, for records whose later history the stream does not show whole.
//!
//! A record whose item is no longer in the state the stream's last known change of it left was
//! followed by a change the stream read did not see. The items are read with consistent
//! `BatchGetItem` calls and compared in DynamoDB's wire form, attribute by attribute: the type tag
//! of an attribute value says how (`SS`, `NS` and `BS` as sets, `L` in order, `M` by name), and an
//! attribute that is merely *named* `SS` is compared as the value it holds.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes};
use serde_json::{Map, Value};

use super::raw_body::RawBody;
use super::stream::ItemState;
use crate::cloud::{CloudError, explain};

/// The most keys one `BatchGetItem` call takes.
const BATCH_LIMIT: usize = 100;
/// How many `BatchGetItem` calls run at once.
const CONCURRENT_BATCHES: usize = 4;
/// How many times unprocessed keys are asked for again (with a growing pause) before giving up.
const MAX_UNPROCESSED_ROUNDS: u32 = 8;

/// The table of a stream ARN (`arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>`).
pub fn table_name(stream_arn: &str) -> Option<&str> {
    let (_, rest) = stream_arn.split_once(":table/")?;
    let (name, _) = rest.split_once("/stream/")?;
    Some(name).filter(|name| !name.is_empty())
}

/// Whether the table's current item (`None`: no item) is in `state`; `None` when the state is not
/// known (a record without its new image).
pub fn is_in_state(state: &ItemState, current: Option<&Value>) -> Option<bool> {
    match state {
        ItemState::Removed => Some(current.is_none()),
        ItemState::Written(image) => Some(current.is_some_and(|current| same_item(image, current))),
        ItemState::Unknown => None,
    }
}

/// Two items in wire form (attribute name → attribute value), equal attribute by attribute.
fn same_item(one: &Value, other: &Value) -> bool {
    match (one.as_object(), other.as_object()) {
        (Some(one), Some(other)) => same_attributes(one, other),
        _ => false,
    }
}

fn same_attributes(one: &Map<String, Value>, other: &Map<String, Value>) -> bool {
    one.len() == other.len()
        && one
            .iter()
            .all(|(name, value)| other.get(name).is_some_and(|other| same_value(value, other)))
}

/// Two attribute values (`{"S": "x"}`, `{"SS": [...]}`, `{"M": {...}}`, ...), compared by their type
/// tag.
fn same_value(one: &Value, other: &Value) -> bool {
    let (Some((tag, one)), Some((other_tag, other))) = (single_entry(one), single_entry(other)) else {
        return one == other;
    };
    if tag != other_tag {
        return false;
    }
    match tag.as_str() {
        "SS" | "NS" | "BS" => as_set(one).is_some_and(|set| Some(set) == as_set(other)),
        "L" => match (one.as_array(), other.as_array()) {
            (Some(one), Some(other)) => {
                one.len() == other.len() && one.iter().zip(other).all(|(a, b)| same_value(a, b))
            }
            _ => false,
        },
        "M" => match (one.as_object(), other.as_object()) {
            (Some(one), Some(other)) => same_attributes(one, other),
            _ => false,
        },
        _ => one == other,
    }
}

fn single_entry(value: &Value) -> Option<(&String, &Value)> {
    let object = value.as_object()?;
    let mut entries = object.iter();
    match (entries.next(), entries.next()) {
        (Some(entry), None) => Some(entry),
        _ => None,
    }
}

fn as_set(value: &Value) -> Option<BTreeSet<String>> {
    value
        .as_array()
        .map(|members| members.iter().map(Value::to_string).collect())
}

/// Why the table could not be asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TableProblem {
    /// The key cannot be sent (not a string, number or binary attribute).
    #[error("the record's key attribute {0} is not S, N or B")]
    BadKey(String),
    /// AWS refused or could not be reached.
    #[error(transparent)]
    Failed(#[from] CloudError),
}

/// The DynamoDB API of one account and region.
#[derive(Debug, Clone)]
pub struct Table {
    client: Client,
}

impl Table {
    /// The client for `config`.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: Client::new(config),
        }
    }

    /// The current items of `table` with these keys (each a record's `dynamodb.Keys`, in wire form),
    /// by the key's canonical text ([`super::stream::item_key`] of a record with those keys); an
    /// item that does not exist is absent from the map.
    pub async fn current_items(
        &self,
        table: &str,
        keys: &BTreeMap<String, Value>,
    ) -> Result<BTreeMap<String, Value>, TableProblem> {
        let mut found = BTreeMap::new();
        let mut requested: Vec<(String, BTreeMap<String, AttributeValue>)> = Vec::new();
        for (canonical, key) in keys {
            let mut attributes = BTreeMap::new();
            for (name, value) in key.as_object().into_iter().flatten() {
                attributes.insert(name.clone(), key_attribute(name, value)?);
            }
            requested.push((canonical.clone(), attributes));
        }
        let key_names: Vec<String> = requested
            .first()
            .map(|(_, attributes)| attributes.keys().cloned().collect())
            .unwrap_or_default();
        // A few batches at once: one range can ask for thousands of items.
        let mut batches = tokio::task::JoinSet::new();
        let mut chunks = requested.chunks(BATCH_LIMIT);
        loop {
            while batches.len() < CONCURRENT_BATCHES
                && let Some(chunk) = chunks.next()
            {
                let keys: Vec<_> = chunk
                    .iter()
                    .map(|(_, attributes)| attributes.clone().into_iter().collect())
                    .collect();
                batches.spawn(batch_get(
                    self.client.clone(),
                    table.to_owned(),
                    keys,
                    key_names.clone(),
                ));
            }
            match batches.join_next().await {
                None => break,
                Some(Ok(items)) => found.extend(items?),
                Some(Err(panicked)) => std::panic::resume_unwind(panicked.into_panic()),
            }
        }
        Ok(found)
    }
}

/// The items of `table` with `keys` (at most [`BATCH_LIMIT`]), by canonical key text; unprocessed
/// keys asked for again with a growing pause.
async fn batch_get(
    client: Client,
    table: String,
    keys: Vec<std::collections::HashMap<String, AttributeValue>>,
    key_names: Vec<String>,
) -> Result<BTreeMap<String, Value>, TableProblem> {
    let mut found = BTreeMap::new();
    let mut pending = keys;
    let mut round = 0;
    while !pending.is_empty() {
        let raw = RawBody::default();
        let request = KeysAndAttributes::builder()
            .set_keys(Some(pending))
            .consistent_read(true)
            .build()
            .expect("the keys are set");
        client
            .batch_get_item()
            .request_items(&table, request)
            .customize()
            .interceptor(raw.clone())
            .send()
            .await
            .map_err(|error| explain(error, &format!("dynamodb:BatchGetItem ({table})")))?;
        let body = raw.json();
        for item in body
            .get("Responses")
            .and_then(|responses| responses.get(&table))
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            let keys: BTreeMap<&String, &Value> = key_names
                .iter()
                .filter_map(|name| item.get(name).map(|value| (name, value)))
                .collect();
            if let Ok(canonical) = serde_json::to_string(&keys) {
                found.insert(canonical, item.clone());
            }
        }
        pending = unprocessed(&body, &table, &key_names);
        if pending.is_empty() {
            break;
        }
        round += 1;
        if round > MAX_UNPROCESSED_ROUNDS {
            return Err(TableProblem::Failed(CloudError::Throttled {
                action: format!("dynamodb:BatchGetItem ({table})"),
                message: format!("{} keys stayed unprocessed", pending.len()),
            }));
        }
        tokio::time::sleep(Duration::from_millis(50 << round)).await;
    }
    Ok(found)
}

/// The keys a `BatchGetItem` answer left unprocessed, to ask again.
fn unprocessed(
    body: &Value,
    table: &str,
    key_names: &[String],
) -> Vec<std::collections::HashMap<String, AttributeValue>> {
    body.get("UnprocessedKeys")
        .and_then(|tables| tables.get(table))
        .and_then(|keys| keys.get("Keys"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(|key| {
            key_names
                .iter()
                .map(|name| {
                    key.get(name)
                        .and_then(|value| key_attribute(name, value).ok())
                        .map(|value| (name.clone(), value))
                })
                .collect()
        })
        .collect()
}

/// A key attribute from its wire form (`{"S": …}`, `{"N": …}`, `{"B": base64}`).
fn key_attribute(name: &str, value: &Value) -> Result<AttributeValue, TableProblem> {
    let bad = || TableProblem::BadKey(name.to_owned());
    let (kind, value) = single_entry(value).ok_or_else(bad)?;
    let text = value.as_str().ok_or_else(bad)?;
    match kind.as_str() {
        "S" => Ok(AttributeValue::S(text.to_owned())),
        "N" => Ok(AttributeValue::N(text.to_owned())),
        "B" => aws_smithy_types::base64::decode(text)
            .map(|bytes| AttributeValue::B(Blob::new(bytes)))
            .map_err(|_| bad()),
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn the_table_is_named_in_the_stream_arn() {
        assert_eq!(
            table_name("arn:aws:dynamodb:eu-west-1:123456789012:table/orders/stream/2026-11-14T00:04:06.388"),
            Some("orders")
        );
        assert_eq!(
            table_name("arn:aws:dynamodb:eu-west-1:123456789012:table//stream/x"),
            None
        );
        assert_eq!(table_name("arn:aws:sqs:eu-west-1:123456789012:queue"), None);
    }

    fn written(image: Value) -> ItemState {
        ItemState::Written(image)
    }

    #[test]
    fn an_item_is_in_the_state_a_change_left_while_it_is_that_image() {
        let state = written(json!({"pk": {"S": "A"}, "tags": {"SS": ["x", "y"]}, "n": {"N": "1"}}));
        let same = json!({"pk": {"S": "A"}, "tags": {"SS": ["y", "x"]}, "n": {"N": "1"}});
        let changed = json!({"pk": {"S": "A"}, "tags": {"SS": ["x", "y"]}, "n": {"N": "2"}});
        let more = json!({"pk": {"S": "A"}, "tags": {"SS": ["x", "y"]}, "n": {"N": "1"}, "m": {"N": "1"}});
        assert_eq!(is_in_state(&state, Some(&same)), Some(true));
        assert_eq!(is_in_state(&state, Some(&changed)), Some(false));
        assert_eq!(is_in_state(&state, Some(&more)), Some(false));
        assert_eq!(is_in_state(&state, None), Some(false), "deleted since");

        assert_eq!(is_in_state(&ItemState::Removed, None), Some(true));
        assert_eq!(
            is_in_state(&ItemState::Removed, Some(&same)),
            Some(false),
            "written again since"
        );
        assert_eq!(is_in_state(&ItemState::Unknown, Some(&same)), None);

        let other_set = json!({"pk": {"S": "A"}, "tags": {"SS": ["x", "z"]}, "n": {"N": "1"}});
        assert_eq!(
            is_in_state(&state, Some(&other_set)),
            Some(false),
            "a set member changed"
        );
        let other_type = json!({"pk": {"S": "A"}, "tags": {"L": [{"S": "x"}, {"S": "y"}]}, "n": {"N": "1"}});
        assert_eq!(
            is_in_state(&state, Some(&other_type)),
            Some(false),
            "a set became a list"
        );
    }

    #[test]
    fn lists_keep_their_order_and_maps_and_sets_inside_them_are_compared_as_such() {
        let state =
            written(json!({"pk": {"S": "A"}, "lines": {"L": [{"N": "1"}, {"M": {"sku": {"S": "X"}}}]}}));
        let same = json!({"pk": {"S": "A"}, "lines": {"L": [{"N": "1"}, {"M": {"sku": {"S": "X"}}}]}});
        let longer =
            json!({"pk": {"S": "A"}, "lines": {"L": [{"N": "1"}, {"M": {"sku": {"S": "X"}}}, {"N": "2"}]}});
        let reordered = json!({"pk": {"S": "A"}, "lines": {"L": [{"M": {"sku": {"S": "X"}}}, {"N": "1"}]}});
        let inner = json!({"pk": {"S": "A"}, "lines": {"L": [{"N": "1"}, {"M": {"sku": {"S": "Y"}}}]}});
        assert_eq!(is_in_state(&state, Some(&same)), Some(true));
        assert_eq!(
            is_in_state(&state, Some(&longer)),
            Some(false),
            "an element added"
        );
        assert_eq!(
            is_in_state(&state, Some(&reordered)),
            Some(false),
            "a list keeps its order"
        );
        assert_eq!(
            is_in_state(&state, Some(&inner)),
            Some(false),
            "a nested value changed"
        );
        let sets_in_a_list = written(json!({"lines": {"L": [{"SS": ["a", "b"]}]}}));
        let members_reordered = json!({"lines": {"L": [{"SS": ["b", "a"]}]}});
        assert_eq!(
            is_in_state(&sets_in_a_list, Some(&members_reordered)),
            Some(true),
            "a set in a list is still a set"
        );
    }

    #[test]
    fn attributes_named_like_set_types_are_compared_as_the_values_they_hold() {
        let state = written(
            json!({"SS": {"S": "first"}, "meta": {"M": {"NS": {"N": "1"}, "BS": {"L": [{"S": "a"}]}}}}),
        );
        let same =
            json!({"SS": {"S": "first"}, "meta": {"M": {"NS": {"N": "1"}, "BS": {"L": [{"S": "a"}]}}}});
        let top =
            json!({"SS": {"S": "second"}, "meta": {"M": {"NS": {"N": "1"}, "BS": {"L": [{"S": "a"}]}}}});
        let nested =
            json!({"SS": {"S": "first"}, "meta": {"M": {"NS": {"N": "2"}, "BS": {"L": [{"S": "a"}]}}}});
        let list =
            json!({"SS": {"S": "first"}, "meta": {"M": {"NS": {"N": "1"}, "BS": {"L": [{"S": "b"}]}}}});
        assert_eq!(is_in_state(&state, Some(&same)), Some(true));
        assert_eq!(
            is_in_state(&state, Some(&top)),
            Some(false),
            "an attribute named SS"
        );
        assert_eq!(
            is_in_state(&state, Some(&nested)),
            Some(false),
            "a map key named NS"
        );
        assert_eq!(
            is_in_state(&state, Some(&list)),
            Some(false),
            "a map key named BS holding a list"
        );
    }

    #[test]
    fn key_attributes_are_sent_typed_and_others_refused() {
        assert_eq!(
            key_attribute("pk", &json!({"S": "A"})).unwrap(),
            AttributeValue::S("A".into())
        );
        assert_eq!(
            key_attribute("n", &json!({"N": "12"})).unwrap(),
            AttributeValue::N("12".into())
        );
        assert_eq!(
            key_attribute("b", &json!({"B": "AQI="})).unwrap(),
            AttributeValue::B(Blob::new(vec![1, 2]))
        );
        assert_eq!(
            key_attribute("l", &json!({"L": []})),
            Err(TableProblem::BadKey("l".into()))
        );
    }

    #[test]
    fn unprocessed_keys_are_asked_for_again_typed() {
        let body = json!({"UnprocessedKeys": {"Items": {"Keys": [
            {"pk": {"S": "A"}, "sk": {"S": "ITEM"}},
            {"pk": {"S": "B"}, "sk": {"S": "ITEM"}}
        ], "ConsistentRead": true}}});
        let names = ["pk".to_owned(), "sk".to_owned()];
        let keys = unprocessed(&body, "Items", &names);
        assert_eq!(keys.len(), 2);
        assert_eq!(keys[1]["pk"], AttributeValue::S("B".into()));
        assert!(unprocessed(&json!({}), "Items", &names).is_empty());
    }
}
