//! The example processor: what each kind of record decodes to, and the error for each kind of bad
//! attribute (always permanent, always naming the attribute).

use chrono::{TimeZone, Utc};
use ddb_stream_processor::testing::records::{self, change_record};
use ddb_stream_processor::{FailureKind, RecordProcessor};
use serde_json::{Value, json};

use super::order::Status;
use super::{Order, OrderChange, OrderKey, OrderProcessor, decode_change};

/// A valid order image.
fn order_image(pk: &str) -> Value {
    json!({
        "pk": {"S": pk},
        "sk": {"S": "ORDER"},
        "status": {"S": "PAID"},
        "amount_cents": {"N": "2599"},
        "updated_at": {"S": "2026-11-01T09:00:00Z"}
    })
}

/// Record `index` as Lambda sends it: an INSERT of the valid order `ORDER#index`.
fn record_json(index: usize) -> Value {
    let pk = format!("ORDER#{index}");
    let mut record = records::record_json(index);
    record["dynamodb"]["Keys"] = json!({"pk": {"S": pk}, "sk": {"S": "ORDER"}});
    record["dynamodb"]["NewImage"] = order_image(&pk);
    record
}

fn expected_order(pk: &str) -> Order {
    Order {
        pk: pk.into(),
        sk: "ORDER".into(),
        status: Status::Paid,
        amount_cents: 2599,
        updated_at: Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap(),
    }
}

#[test]
fn insert_decodes_the_new_image() {
    let change = decode_change(&change_record(record_json(0))).unwrap();
    assert_eq!(change, OrderChange::Created(expected_order("ORDER#0")));
}

#[test]
fn modify_decodes_the_new_and_the_old_image() {
    let mut record = record_json(0);
    record["eventName"] = json!("MODIFY");
    record["dynamodb"]["OldImage"] = order_image("ORDER#0");
    record["dynamodb"]["OldImage"]["status"] = json!({"S": "PENDING"});
    let change = decode_change(&change_record(record)).unwrap();
    let mut before = expected_order("ORDER#0");
    before.status = Status::Pending;
    assert_eq!(
        change,
        OrderChange::Updated {
            before: Some(before),
            after: expected_order("ORDER#0")
        }
    );
}

#[test]
fn remove_reads_the_keys_and_the_old_image_when_present() {
    let mut record = record_json(0);
    record["eventName"] = json!("REMOVE");
    record["dynamodb"].as_object_mut().unwrap().remove("NewImage");
    let key = OrderKey {
        pk: "ORDER#0".into(),
        sk: "ORDER".into(),
    };
    assert_eq!(
        decode_change(&change_record(record.clone())).unwrap(),
        OrderChange::Deleted {
            key: key.clone(),
            last: None,
            expired: false
        }
    );

    record["dynamodb"]["OldImage"] = order_image("ORDER#0");
    record["userIdentity"] = json!({"type": "Service", "principalId": "dynamodb.amazonaws.com"});
    assert_eq!(
        decode_change(&change_record(record)).unwrap(),
        OrderChange::Deleted {
            key,
            last: Some(expected_order("ORDER#0")),
            expired: true
        }
    );
}

#[test]
fn every_status_decodes() {
    for (text, status) in [
        ("PENDING", Status::Pending),
        ("PAID", Status::Paid),
        ("SHIPPED", Status::Shipped),
        ("CANCELLED", Status::Cancelled),
    ] {
        let mut record = record_json(0);
        record["dynamodb"]["NewImage"]["status"] = json!({"S": text});
        match decode_change(&change_record(record)).unwrap() {
            OrderChange::Created(order) => assert_eq!(order.status, status),
            other => panic!("{other:?}"),
        }
    }
}

/// Decodes a record whose NewImage has `attribute` replaced (or removed, for `None`) and returns the
/// error message, checking that the error is permanent.
fn bad_new_image(attribute: &str, value: Option<Value>) -> String {
    let mut record = record_json(0);
    let image = record["dynamodb"]["NewImage"].as_object_mut().unwrap();
    match value {
        Some(value) => image.insert(attribute.into(), value),
        None => image.remove(attribute),
    };
    let error = decode_change(&change_record(record)).expect_err("a bad image does not decode");
    assert_eq!(
        error.kind(),
        FailureKind::Permanent,
        "decoding errors are never retried"
    );
    error.to_string()
}

#[test]
fn each_kind_of_bad_attribute_is_a_permanent_error_naming_the_attribute() {
    let cases: [(&str, Option<Value>, &str); 10] = [
        (
            "amount_cents",
            Some(json!({"N": "-450"})),
            "NewImage attribute \"amount_cents\": expected a whole number of cents, 0 or more (N)",
        ),
        (
            "amount_cents",
            Some(json!({"N": "12.5"})),
            "NewImage attribute \"amount_cents\": expected a whole number",
        ),
        (
            "amount_cents",
            Some(json!({"S": "2599"})),
            "NewImage attribute \"amount_cents\": expected a whole number",
        ),
        (
            "amount_cents",
            None,
            "NewImage item: missing field `amount_cents`",
        ),
        (
            "status",
            Some(json!({"S": "LOST"})),
            "NewImage attribute \"status\": expected one of PENDING, PAID, SHIPPED, CANCELLED (S)",
        ),
        (
            "status",
            Some(json!({"N": "1"})),
            "NewImage attribute \"status\": expected one of",
        ),
        (
            "updated_at",
            Some(json!({"S": "yesterday"})),
            "NewImage attribute \"updated_at\": expected an RFC 3339 timestamp",
        ),
        (
            "updated_at",
            Some(json!({"S": "2026-11-01 09:00"})),
            "NewImage attribute \"updated_at\": expected an RFC 3339",
        ),
        (
            "pk",
            Some(json!({"N": "7"})),
            "NewImage attribute \"pk\": expected a string (S)",
        ),
        ("sk", None, "NewImage item: missing field `sk`"),
    ];
    for (attribute, value, expected) in cases {
        let message = bad_new_image(attribute, value.clone());
        let offending = match &value {
            Some(Value::Object(typed)) => typed
                .values()
                .next()
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            _ => String::new(),
        };
        assert!(
            offending.is_empty() || !message.contains(&offending),
            "the message must not repeat the value {offending:?} (it may be personal data): {message}"
        );
        assert!(
            message.starts_with(expected),
            "{attribute} = {value:?}: expected a message starting with {expected:?}, got {message:?}"
        );
    }
}

#[test]
fn a_bad_old_image_or_bad_keys_are_named_too() {
    let mut modify = record_json(0);
    modify["eventName"] = json!("MODIFY");
    modify["dynamodb"]["OldImage"] = order_image("ORDER#0");
    modify["dynamodb"]["OldImage"]["amount_cents"] = json!({"BOOL": true});
    let error = decode_change(&change_record(modify)).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("OldImage attribute \"amount_cents\""),
        "{error}"
    );

    let mut remove = record_json(0);
    remove["eventName"] = json!("REMOVE");
    remove["dynamodb"]["Keys"] = json!({"pk": {"S": "ORDER#0"}});
    let error = decode_change(&change_record(remove)).unwrap_err();
    assert_eq!(error.to_string(), "Keys item: missing field `sk`");
}

#[test]
fn an_insert_without_a_new_image_explains_the_stream_view_type() {
    let mut record = record_json(0);
    record["dynamodb"].as_object_mut().unwrap().remove("NewImage");
    record["dynamodb"]["StreamViewType"] = json!("KEYS_ONLY");
    let error = decode_change(&change_record(record)).unwrap_err();
    assert_eq!(error.kind(), FailureKind::Permanent);
    assert!(
        error.to_string().contains("NEW_IMAGE or NEW_AND_OLD_IMAGES"),
        "{error}"
    );
}

#[tokio::test]
async fn the_processor_succeeds_on_good_records_and_fails_permanently_on_bad_ones() {
    assert!(
        OrderProcessor
            .process(&change_record(record_json(0)))
            .await
            .is_ok()
    );
    let mut bad = record_json(0);
    bad["dynamodb"]["NewImage"]["status"] = json!({"S": "LOST"});
    let error = OrderProcessor.process(&change_record(bad)).await.unwrap_err();
    assert_eq!(error.kind(), FailureKind::Permanent);
}
