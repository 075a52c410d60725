//! Bad input, every kind: never a panic, never a success for what is not a valid event, always a
//! clear error; and valid but unusual input (huge, empty, odd) handled as it should be.

use std::time::Duration;

use ddb_stream_processor::engine::EngineConfig;
use ddb_stream_processor::testing::ImageScriptedProcessor;
use ddb_stream_processor::{Invocation, InvocationError, StreamHandler};
use proptest::prelude::*;
use serde_json::{Value, json};

use crate::support::binary::{command, run};
use ddb_stream_processor::testing::records::{batch_json, record_json, sequence_number};

fn invocation() -> Invocation {
    Invocation::local(Duration::from_secs(60), &EngineConfig::default()).with_request_id("bad-input")
}

fn handle(payload: &[u8]) -> Result<Value, InvocationError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap()
        .block_on(async {
            StreamHandler::new(ImageScriptedProcessor::new())
                .handle_payload(payload, &invocation())
                .await
                .map(|response| serde_json::to_value(response).unwrap())
        })
}

fn event(records: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({ "Records": records })).unwrap()
}

/// A valid batch as a mapping with `TumblingWindowInSeconds` sends it: with the window, its state
/// and the final-invocation flag.
fn tumbling_window_event() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "Records": batch_json(2),
        "window": {"start": "2026-11-01T09:00:00Z", "end": "2026-11-01T09:05:00Z"},
        "state": {"orders": "12"},
        "shardId": "shardId-00000001796169840000-3d914019",
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/stream/2026-11-01T00:00:00.000",
        "isFinalInvokeForWindow": false,
        "isWindowTerminatedEarly": false
    }))
    .unwrap()
}

/// What a bad input must produce.
#[derive(Debug)]
enum Expected {
    /// The invocation fails with this errorType.
    Error(&'static str),
    /// A partial response reporting this record's sequence number.
    Checkpoint(usize),
    /// Complete success.
    Success,
}

fn cases() -> Vec<(&'static str, Vec<u8>, Expected)> {
    let mut missing_size = batch_json(2);
    missing_size[1]["dynamodb"]
        .as_object_mut()
        .unwrap()
        .remove("SizeBytes");
    let mut missing_sequence_ok = batch_json(2);
    missing_sequence_ok[1]["dynamodb"]
        .as_object_mut()
        .unwrap()
        .remove("SequenceNumber");
    let mut missing_sequence_failing = batch_json(3);
    missing_sequence_failing[1]["dynamodb"]
        .as_object_mut()
        .unwrap()
        .remove("SequenceNumber");
    missing_sequence_failing[1]["dynamodb"]["NewImage"]["script"] = json!({"S": "fail-permanent"});
    let mut non_decimal = batch_json(3);
    non_decimal[1]["dynamodb"]["SequenceNumber"] = json!("12ab");
    non_decimal[1]["dynamodb"]["NewImage"]["script"] = json!({"S": "fail-permanent"});
    let mut overlong = batch_json(3);
    overlong[1]["dynamodb"]["SequenceNumber"] = json!("9".repeat(41));
    overlong[1]["dynamodb"]["NewImage"]["script"] = json!({"S": "fail-permanent"});
    let mut duplicate = batch_json(3);
    duplicate[2]["dynamodb"]["SequenceNumber"] = json!(sequence_number(1));
    let mut decreasing = batch_json(3);
    decreasing[2]["dynamodb"]["SequenceNumber"] = json!(sequence_number(0));
    let mut no_creation_time = batch_json(2);
    no_creation_time[0]["dynamodb"]
        .as_object_mut()
        .unwrap()
        .remove("ApproximateCreationDateTime");
    let mut unknown_event = batch_json(3);
    unknown_event[1]["eventName"] = json!("UPSERT");
    let mut empty_image = batch_json(3);
    empty_image[1]["dynamodb"]["NewImage"] = json!({});
    let mut huge_image = batch_json(2);
    huge_image[0]["dynamodb"]["NewImage"]["notes"] = json!({"S": "x".repeat(390_000)});
    let six_megabytes: Vec<Value> = (0..1_400)
        .map(|index| {
            let mut record = record_json(index);
            record["dynamodb"]["NewImage"]["notes"] = json!({"S": "y".repeat(4_200)});
            record
        })
        .collect();

    vec![
        (
            "not JSON",
            b"{\"Records\": [".to_vec(),
            Expected::Error("InvalidEvent"),
        ),
        ("empty input", Vec::new(), Expected::Error("InvalidEvent")),
        (
            "a JSON string",
            b"\"Records\"".to_vec(),
            Expected::Error("InvalidEvent"),
        ),
        (
            "Records is not an array",
            br#"{"Records": {"0": {}}}"#.to_vec(),
            Expected::Error("InvalidEvent"),
        ),
        (
            "the positional array form",
            b"[[]]".to_vec(),
            Expected::Error("InvalidEvent"),
        ),
        (
            "an SQS event",
            br#"{"Records":[{"messageId":"1","body":"x","eventSource":"aws:sqs"}]}"#.to_vec(),
            Expected::Error("InvalidEvent"),
        ),
        (
            "missing SizeBytes",
            event(missing_size),
            Expected::Error("InvalidEvent"),
        ),
        (
            "missing SequenceNumber on a record that succeeds",
            event(missing_sequence_ok),
            Expected::Success,
        ),
        (
            "missing SequenceNumber on the record to report",
            event(missing_sequence_failing),
            Expected::Error("MissingSequenceNumber"),
        ),
        (
            "non-decimal SequenceNumber on the record to report",
            event(non_decimal),
            Expected::Error("InvalidSequenceNumber"),
        ),
        (
            "overlong SequenceNumber on the record to report",
            event(overlong),
            Expected::Error("InvalidSequenceNumber"),
        ),
        (
            "duplicate sequence numbers",
            event(duplicate),
            Expected::Error("BatchOutOfOrder"),
        ),
        (
            "decreasing sequence numbers",
            event(decreasing),
            Expected::Error("BatchOutOfOrder"),
        ),
        (
            "missing ApproximateCreationDateTime",
            event(no_creation_time),
            Expected::Success,
        ),
        ("unknown eventName", event(unknown_event), Expected::Checkpoint(1)),
        ("empty NewImage", event(empty_image), Expected::Success),
        ("a 390 KB image", event(huge_image), Expected::Success),
        ("10,000 records", event(batch_json(10_000)), Expected::Success),
        ("a 6 MB event", event(six_megabytes), Expected::Success),
        (
            "an event of a tumbling window (its state would be dropped)",
            tumbling_window_event(),
            Expected::Error("InvalidEvent"),
        ),
    ]
}

#[test]
fn each_bad_input_has_its_expected_outcome() {
    for (name, payload, expected) in cases() {
        let outcome = handle(&payload);
        match (&expected, &outcome) {
            (Expected::Error(error_type), Err(error)) => {
                assert_eq!(error.error_type(), *error_type, "{name}: {error}");
                assert!(
                    error.to_string().len() > 20,
                    "{name}: a message that explains: {error}"
                );
            }
            (Expected::Checkpoint(index), Ok(response)) => assert_eq!(
                response,
                &json!({"batchItemFailures": [{"itemIdentifier": sequence_number(*index)}]}),
                "{name}"
            ),
            (Expected::Success, Ok(response)) => {
                assert_eq!(response, &json!({"batchItemFailures": []}), "{name}")
            }
            _ => panic!("{name}: expected {expected:?}, got {outcome:?}"),
        }
    }
    assert!(
        cases()
            .iter()
            .any(|(name, payload, _)| *name == "a 6 MB event" && payload.len() >= 6_000_000)
    );
}

/// Arbitrary JSON, up to a few levels deep.
fn json_values() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        "[a-zA-Z0-9 ]{0,12}".prop_map(Value::from),
        prop_oneof![
            Just("Records"),
            Just("dynamodb"),
            Just("SizeBytes"),
            Just("SequenceNumber")
        ]
        .prop_map(Value::from),
    ];
    leaf.prop_recursive(4, 48, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(
                prop_oneof![
                    Just("Records".to_owned()),
                    Just("dynamodb".to_owned()),
                    Just("eventName".to_owned()),
                    "[a-z]{1,8}"
                ],
                inner,
                0..6
            )
            .prop_map(|map| Value::Object(map.into_iter().collect())),
        ]
    })
}

fn is_an_event_shape(payload: &[u8]) -> bool {
    serde_json::from_slice::<Value>(payload)
        .ok()
        .and_then(|value| value.get("Records").cloned())
        .is_some_and(|records| records.is_array())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes_never_panic_and_never_succeed_unless_they_are_an_event(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let outcome = handle(&bytes);
        prop_assert!(outcome.is_err() || is_an_event_shape(&bytes));
        if let Err(error) = outcome {
            prop_assert_eq!(error.error_type(), "InvalidEvent");
        }
    }

    #[test]
    fn arbitrary_json_never_succeeds_without_a_records_array(value in json_values()) {
        let payload = serde_json::to_vec(&value).unwrap();
        let outcome = handle(&payload);
        prop_assert!(outcome.is_err() || is_an_event_shape(&payload), "{value}");
    }

    #[test]
    fn a_truncated_event_is_always_an_invalid_event(cut in 0usize..1_000) {
        let payload = event(batch_json(3));
        let cut = cut % payload.len();
        let outcome = handle(&payload[..cut]);
        prop_assert!(matches!(outcome, Err(InvocationError::InvalidEvent { .. })), "{cut}: {outcome:?}");
    }
}

#[test]
fn the_local_event_path_answers_every_kind_of_input_with_one_clear_line() {
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 24,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    runner
        .run(&prop::collection::vec(any::<u8>(), 0..256), |bytes| {
            let mut binary = command();
            binary.args(["--event", "-"]);
            let result = run(binary, &bytes);
            prop_assert!(
                matches!(result.code, Some(0 | 1)),
                "exit {:?}: {}",
                result.code,
                result.stderr
            );
            let line = result.stdout_json();
            if result.code == Some(1) {
                prop_assert_eq!(&line["errorType"], "InvalidEvent");
            } else {
                prop_assert!(is_an_event_shape(&bytes));
            }
            Ok(())
        })
        .unwrap();
}
