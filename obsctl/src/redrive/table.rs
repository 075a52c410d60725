//! The table's current item, for records whose later history the stream no longer holds.
//!
//! A record whose new image is not the item as it is now was followed by another change: replaying
//! it would put old data over new. The item is read with a consistent `GetItem` and compared in
//! DynamoDB's wire form (sets compared as sets).

use std::collections::HashMap;

use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::primitives::Blob;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_json::Value;

use super::raw_body::RawBody;
use crate::cloud::{CloudError, explain};

/// The table of a stream ARN (`arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>`).
pub fn table_name(stream_arn: &str) -> Option<&str> {
    let (_, rest) = stream_arn.split_once(":table/")?;
    let (name, _) = rest.split_once("/stream/")?;
    Some(name).filter(|name| !name.is_empty())
}

/// Whether the table's current item (`None`: no item) is still what `record` left behind.
/// `None` when the record cannot tell (no new image in a `KEYS_ONLY` or `OLD_IMAGE` stream).
pub fn still_current(record: &Value, current: Option<&Value>) -> Option<bool> {
    if record.get("eventName").and_then(Value::as_str) == Some("REMOVE") {
        return Some(current.is_none());
    }
    let new_image = record.pointer("/dynamodb/NewImage")?;
    Some(current.is_some_and(|current| same_attributes(new_image, current)))
}

/// Two items in wire form, equal attribute by attribute; sets (`SS`, `NS`, `BS`) in any order.
fn same_attributes(one: &Value, other: &Value) -> bool {
    match (one, other) {
        (Value::Object(one), Value::Object(other)) => {
            one.len() == other.len()
                && one.iter().all(|(name, value)| {
                    other.get(name).is_some_and(|other| match name.as_str() {
                        "SS" | "NS" | "BS" => as_set(value) == as_set(other),
                        _ => same_attributes(value, other),
                    })
                })
        }
        (Value::Array(one), Value::Array(other)) => {
            one.len() == other.len() && one.iter().zip(other).all(|(a, b)| same_attributes(a, b))
        }
        _ => one == other,
    }
}

fn as_set(value: &Value) -> Option<std::collections::BTreeSet<String>> {
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

    /// The current item of `table` with the key `keys` (wire form), in wire form; `None` when there
    /// is none.
    pub async fn current_item(&self, table: &str, keys: &Value) -> Result<Option<Value>, TableProblem> {
        let mut key = HashMap::new();
        for (name, value) in keys.as_object().into_iter().flatten() {
            key.insert(name.clone(), key_attribute(name, value)?);
        }
        let raw = RawBody::default();
        self.client
            .get_item()
            .table_name(table)
            .set_key(Some(key))
            .consistent_read(true)
            .customize()
            .interceptor(raw.clone())
            .send()
            .await
            .map_err(|error| TableProblem::Failed(explain(error, &format!("dynamodb:GetItem ({table})"))))?;
        Ok(match raw.json() {
            Value::Object(mut body) => body.remove("Item"),
            _ => None,
        })
    }
}

/// A key attribute from its wire form (`{"S": …}`, `{"N": …}`, `{"B": base64}`).
fn key_attribute(name: &str, value: &Value) -> Result<AttributeValue, TableProblem> {
    let bad = || TableProblem::BadKey(name.to_owned());
    let (kind, value) = value
        .as_object()
        .and_then(|value| value.iter().next())
        .ok_or_else(bad)?;
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

    #[test]
    fn a_record_is_current_while_the_item_is_still_its_new_image() {
        let insert = json!({"eventName": "INSERT", "dynamodb": {"NewImage": {
            "pk": {"S": "A"}, "tags": {"SS": ["x", "y"]}, "n": {"N": "1"}}}});
        let same = json!({"pk": {"S": "A"}, "tags": {"SS": ["y", "x"]}, "n": {"N": "1"}});
        let changed = json!({"pk": {"S": "A"}, "tags": {"SS": ["x", "y"]}, "n": {"N": "2"}});
        let more = json!({"pk": {"S": "A"}, "tags": {"SS": ["x", "y"]}, "n": {"N": "1"}, "m": {"N": "1"}});
        assert_eq!(still_current(&insert, Some(&same)), Some(true));
        assert_eq!(still_current(&insert, Some(&changed)), Some(false));
        assert_eq!(still_current(&insert, Some(&more)), Some(false));
        assert_eq!(still_current(&insert, None), Some(false), "deleted since");

        let remove = json!({"eventName": "REMOVE", "dynamodb": {"OldImage": {"pk": {"S": "A"}}}});
        assert_eq!(still_current(&remove, None), Some(true));
        assert_eq!(
            still_current(&remove, Some(&same)),
            Some(false),
            "written again since"
        );

        let other_set = json!({"pk": {"S": "A"}, "tags": {"SS": ["x", "z"]}, "n": {"N": "1"}});
        assert_eq!(
            still_current(&insert, Some(&other_set)),
            Some(false),
            "a set member changed"
        );

        let list = json!({"eventName": "MODIFY", "dynamodb": {"NewImage": {
            "pk": {"S": "A"}, "lines": {"L": [{"N": "1"}, {"M": {"sku": {"S": "X"}}}]}}}});
        let same_list = json!({"pk": {"S": "A"}, "lines": {"L": [{"N": "1"}, {"M": {"sku": {"S": "X"}}}]}});
        let longer =
            json!({"pk": {"S": "A"}, "lines": {"L": [{"N": "1"}, {"M": {"sku": {"S": "X"}}}, {"N": "2"}]}});
        let reordered = json!({"pk": {"S": "A"}, "lines": {"L": [{"M": {"sku": {"S": "X"}}}, {"N": "1"}]}});
        let inner = json!({"pk": {"S": "A"}, "lines": {"L": [{"N": "1"}, {"M": {"sku": {"S": "Y"}}}]}});
        assert_eq!(still_current(&list, Some(&same_list)), Some(true));
        assert_eq!(
            still_current(&list, Some(&longer)),
            Some(false),
            "an element added"
        );
        assert_eq!(
            still_current(&list, Some(&reordered)),
            Some(false),
            "a list keeps its order"
        );
        assert_eq!(
            still_current(&list, Some(&inner)),
            Some(false),
            "a nested value changed"
        );
        let sets_in_a_list = json!({"eventName": "MODIFY", "dynamodb": {"NewImage": {
            "lines": {"L": [{"SS": ["a", "b"]}]}}}});
        let members_reordered = json!({"lines": {"L": [{"SS": ["b", "a"]}]}});
        assert_eq!(
            still_current(&sets_in_a_list, Some(&members_reordered)),
            Some(true),
            "a set in a list is still a set"
        );

        let keys_only = json!({"eventName": "MODIFY", "dynamodb": {"Keys": {"pk": {"S": "A"}}}});
        assert_eq!(still_current(&keys_only, Some(&same)), None);
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
}
