//! `obsctl redrive` end to end, against real emulators and a real function.
//!
//! DynamoDB Local (AWS's own engine) writes the items, so stream records, shard ids and sequence
//! numbers are DynamoDB's; moto serves the SQS queue, the S3 bucket and the stack's outputs;
//! cargo-lambda's emulator serves the Lambda Invoke API the SDK calls, in front of the library's
//! scripted function polling its Runtime API (an item's `script` attribute says what the function
//! does with its record; no example's business rule is involved). DynamoDB Local listens on every
//! interface, so each test runs again in a private network namespace with only loopback, where
//! every server lives. What no emulator produces — a stream trimmed after 24 hours, empty pages
//! before records, an expired iterator, a failing read — comes from a stub in front of DynamoDB
//! Local's stream API, which forwards everything else.
//!
//! The world they share is `support/world.rs` (the redrive benchmark uses it too).

mod support;

use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use support::obsctl_command::obsctl_with_test_credentials;
use support::world::{
    MAPPING_UUID, REGION, World, function_binary, invocation_record, invocation_record_of, item,
    run_in_private_network, sequence_number, sequence_numbers, text,
};
use test_emulators::cargo_lambda;

const INVOKE: [&str; 2] = ["--invoke", cargo_lambda::FUNCTION_NAME];

/// `--queue-url QUEUE --event-source-mapping UUID` and `rest`.
fn on_queue<'a>(queue: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec!["--queue-url", queue, "--event-source-mapping", MAPPING_UUID];
    args.extend_from_slice(rest);
    args
}

#[tokio::test]
async fn a_range_named_by_an_sqs_pointer_is_read_back_from_the_stream_and_replayed_in_order() {
    if !run_in_private_network(
        "a_range_named_by_an_sqs_pointer_is_read_back_from_the_stream_and_replayed_in_order",
    ) {
        return;
    }
    let world = World::start().await;
    let (_, records, queue) = world
        .failed_batch_in_the_queue(&[("ITEM#1", None), ("ITEM#2", None), ("ITEM#3", None)])
        .await;

    // A dry run changes nothing: the message is back in the queue at once.
    let dry = world.redrive(&on_queue(&queue, &["--dry-run"]));
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    assert!(
        text(&dry).contains("would replay") && text(&dry).contains("dry run: everything can be recovered"),
        "{}",
        text(&dry)
    );
    assert_eq!(world.message_counts(&queue).await, (1, 0), "visible again");

    // --to-dir writes the event Lambda would have built, which the function's own parsing takes.
    let folder = tempfile::tempdir().unwrap();
    let written = world.redrive(&on_queue(&queue, &["--to-dir", folder.path().to_str().unwrap()]));
    assert_eq!(written.status.code(), Some(0), "{}", text(&written));
    let files: Vec<PathBuf> = std::fs::read_dir(folder.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{}", text(&written));
    let event: Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    let rebuilt = event["Records"].as_array().unwrap();
    assert_eq!(rebuilt.len(), 3);
    for (rebuilt, original) in rebuilt.iter().zip(&records) {
        let mut names: Vec<&String> = rebuilt.as_object().unwrap().keys().collect();
        names.sort();
        assert_eq!(
            names,
            [
                "awsRegion",
                "dynamodb",
                "eventID",
                "eventName",
                "eventSource",
                "eventSourceARN",
                "eventVersion"
            ],
            "Lambda's field names"
        );
        assert_eq!(rebuilt["eventSourceARN"], world.stream_arn);
        assert_eq!(rebuilt["eventID"], original["eventID"]);
        assert_eq!(rebuilt["dynamodb"]["NewImage"], original["dynamodb"]["NewImage"]);
        assert_eq!(rebuilt["dynamodb"]["Keys"], original["dynamodb"]["Keys"]);
        assert_eq!(
            rebuilt["dynamodb"]["SizeBytes"],
            original["dynamodb"]["SizeBytes"]
        );
        assert_eq!(
            rebuilt["dynamodb"]["ApproximateCreationDateTime"].as_f64(),
            original["dynamodb"]["ApproximateCreationDateTime"].as_f64(),
            "the stream's creation time, not a date the SDK made of it"
        );
    }
    let local = Command::new(function_binary())
        .args(["--event", files[0].to_str().unwrap()])
        .env_remove("AWS_LAMBDA_RUNTIME_API")
        .output()
        .unwrap();
    assert_eq!(local.status.code(), Some(0), "{}", text(&local));
    let answer: Value = serde_json::from_slice(&local.stdout).unwrap();
    assert_eq!(answer, json!({"batchItemFailures": []}), "{}", text(&local));
    assert_eq!(world.messages_in(&queue).await, 1, "--to-dir settles nothing");

    // --invoke replays through the Invoke API, in stream order, then deletes the message; the
    // stack's outputs name the queue, the function and the mapping.
    world.stack_with_queue(&queue).await;
    let invoked = world.redrive(&["--stack-name", "items", "--invoke"]);
    let summary = text(&invoked);
    assert_eq!(invoked.status.code(), Some(0), "{summary}");
    assert!(
        summary.contains("1 failures: 3 records, 3 replayed, 0 superseded, 0 lost"),
        "{summary}"
    );
    assert!(summary.contains("everything is recovered"), "{summary}");
    let all: Vec<&Value> = records.iter().collect();
    assert_eq!(world.processed(), sequence_numbers(&all));
    assert_eq!(
        world.messages_in(&queue).await,
        0,
        "the recovered failure is deleted"
    );
}

#[tokio::test]
async fn a_change_superseded_by_a_later_one_in_the_stream_is_skipped_unless_asked_for() {
    if !run_in_private_network("a_change_superseded_by_a_later_one_in_the_stream_is_skipped_unless_asked_for")
    {
        return;
    }
    let world = World::start().await;
    // The first two pages find their iterators expired (15 minutes, on AWS): each read renews its
    // iterator where it stood and goes on, losing and repeating nothing.
    world.expire_iterators(2);
    world.put("ITEM#1", 1, None);
    world.put("ITEM#2", 1, None);
    // After the failed range: replaying ITEM#1's first version now would undo this.
    world.put("ITEM#1", 2, None);
    let (shard, records) = world.stream(3);
    let pointer = invocation_record(&world, &shard, &records[..2], false);
    let queue = world.queue().await;
    world.send(&queue, &pointer).await;

    let skipped = world.redrive(&on_queue(&queue, &INVOKE));
    let summary = text(&skipped);
    assert_eq!(skipped.status.code(), Some(0), "{summary}");
    assert!(summary.contains("1 skipped"), "{summary}");
    assert!(
        summary.contains(&format!(
            "1: superseded, skipped: event {} (sequence number {}): a later change of the item is in the stream",
            records[0]["eventID"].as_str().unwrap(),
            sequence_number(&records[0])
        )),
        "{summary}"
    );
    assert!(
        summary.contains("1 failures: 2 records, 1 replayed, 1 superseded, 0 lost"),
        "{summary}"
    );
    assert!(
        !summary.contains("ITEM#"),
        "no item key or value in the summary: {summary}"
    );
    assert_eq!(world.processed(), sequence_numbers(&[&records[1]]));
    assert_eq!(
        world.messages_in(&queue).await,
        0,
        "skipping a superseded change completes the range"
    );

    world.send(&queue, &pointer).await;
    let anyway = world.redrive(&on_queue(&queue, &["--invoke", "_", "--include-superseded"]));
    let summary = text(&anyway);
    assert_eq!(anyway.status.code(), Some(0), "{summary}");
    assert!(
        summary.contains("2 replayed") && summary.contains("superseded, replayed anyway"),
        "{summary}"
    );
    assert_eq!(
        world.processed(),
        sequence_numbers(&[&records[1], &records[0], &records[1]])
    );
}

#[tokio::test]
async fn a_change_in_a_later_failed_range_of_the_shard_supersedes_an_earlier_one_and_is_itself_replayed() {
    if !run_in_private_network(
        "a_change_in_a_later_failed_range_of_the_shard_supersedes_an_earlier_one_and_is_itself_replayed",
    ) {
        return;
    }
    let world = World::start().await;
    world.put("ITEM#1", 1, None);
    world.put("ITEM#2", 1, None);
    world.put("ITEM#1", 2, None);
    world.put("ITEM#3", 1, None);
    let (shard, records) = world.stream(4);
    let queue = world.queue().await;
    world
        .send(&queue, &invocation_record(&world, &shard, &records[..2], false))
        .await;
    world
        .send(&queue, &invocation_record(&world, &shard, &records[2..], false))
        .await;

    // The shard is read once for later changes; each range asks it from its own end.
    let replayed = world.redrive(&on_queue(&queue, &INVOKE));
    let summary = text(&replayed);
    assert_eq!(replayed.status.code(), Some(0), "{summary}");
    assert!(
        summary.contains(&format!(
            "1: superseded, skipped: event {} (sequence number {})",
            records[0]["eventID"].as_str().unwrap(),
            sequence_number(&records[0])
        )),
        "{summary}"
    );
    assert!(
        summary.contains("2 failures: 4 records, 3 replayed, 1 superseded, 0 lost"),
        "{summary}"
    );
    assert_eq!(
        world.processed(),
        sequence_numbers(&[&records[1], &records[2], &records[3]])
    );
    assert_eq!(world.messages_in(&queue).await, 0);
}

#[tokio::test]
async fn a_range_the_stream_has_trimmed_is_reported_lost_with_its_sequence_numbers_and_kept() {
    if !run_in_private_network(
        "a_range_the_stream_has_trimmed_is_reported_lost_with_its_sequence_numbers_and_kept",
    ) {
        return;
    }
    let world = World::start().await;
    let (shard, records, queue) = world
        .failed_batch_in_the_queue(&[("ITEM#1", None), ("ITEM#2", None)])
        .await;
    world.trim_through(sequence_number(&records[1]));

    let lost = world.redrive(&on_queue(&queue, &INVOKE));
    let summary = text(&lost);
    assert_eq!(lost.status.code(), Some(1), "{summary}");
    assert!(
        summary.contains(&format!(
            "1: LOST sequence numbers {} to {} of {shard}: the stream has trimmed these records (it keeps 24 hours)",
            sequence_number(&records[0]),
            sequence_number(&records[1])
        )),
        "{summary}"
    );
    assert!(
        summary.contains("1 failures: 0 records, 0 replayed, 0 superseded, 2 lost"),
        "{summary}"
    );
    assert!(summary.contains("NOT everything is recovered"), "{summary}");
    assert!(world.processed().is_empty());
    assert_eq!(
        world.message_counts(&queue).await,
        (1, 0),
        "the evidence of the loss is kept, visible"
    );
}

#[tokio::test]
async fn a_range_whose_first_records_the_stream_has_trimmed_replays_the_rest_and_reports_the_head_lost() {
    if !run_in_private_network(
        "a_range_whose_first_records_the_stream_has_trimmed_replays_the_rest_and_reports_the_head_lost",
    ) {
        return;
    }
    let world = World::start().await;
    let (shard, records, queue) = world
        .failed_batch_in_the_queue(&[("ITEM#1", None), ("ITEM#2", None), ("ITEM#3", None)])
        .await;
    world.trim_before(sequence_number(&records[1]));

    let partly = world.redrive(&on_queue(&queue, &INVOKE));
    let summary = text(&partly);
    assert_eq!(partly.status.code(), Some(1), "{summary}");
    assert!(summary.contains("recovered, PARTLY LOST"), "{summary}");
    assert!(
        summary.contains(&format!(
            "1: LOST sequence numbers {} up to {} (not included) of {shard}: the stream has trimmed these records",
            sequence_number(&records[0]),
            sequence_number(&records[1])
        )),
        "{summary}"
    );
    assert!(
        summary.contains("the 2 records after them were read, and the failure is kept"),
        "{summary}"
    );
    assert!(
        summary.contains("1 failures: 2 records, 2 replayed, 0 superseded, 1 lost"),
        "{summary}"
    );
    assert_eq!(
        world.processed(),
        sequence_numbers(&[&records[1], &records[2]]),
        "what the stream still has is replayed, in order"
    );
    assert_eq!(
        world.messages_in(&queue).await,
        1,
        "the evidence of the loss is kept"
    );

    // The next run finds what the stream still had already replayed: nothing runs twice.
    let again = world.redrive(&on_queue(&queue, &INVOKE));
    let summary = text(&again);
    assert_eq!(again.status.code(), Some(1), "{summary}");
    assert!(summary.contains("PARTLY LOST"), "{summary}");
    assert_eq!(world.processed().len(), 2, "{summary}");
}

#[tokio::test]
async fn an_s3_object_is_replayed_from_its_own_records_after_the_stream_has_trimmed_them() {
    if !run_in_private_network(
        "an_s3_object_is_replayed_from_its_own_records_after_the_stream_has_trimmed_them",
    ) {
        return;
    }
    let world = World::start().await;
    world.put("ITEM#1", 1, None);
    world.put("ITEM#2", 1, None);
    world.put("ITEM#3", 1, None);
    // Changed after the range; by the time of the redrive the stream has trimmed this change too,
    // so only the table can tell.
    world.put("ITEM#2", 2, None);
    let (shard, records) = world.stream(4);
    world.trim_through(sequence_number(&records[3]));
    world.bucket("items-failures").await;
    let key = world
        .failure_object(
            "items-failures",
            &shard,
            &records[..3],
            "2026-12-02T00.13.49-0c1e2f3a",
        )
        .await;

    // An object of another mapping in the same bucket is not this stack's to replay.
    world
        .s3()
        .put_object()
        .bucket("items-failures")
        .key(format!("aws/lambda/another-mapping/{shard}/2026/12/02/x"))
        .body(b"{}".to_vec().into())
        .send()
        .await
        .unwrap();
    world.stack_with_bucket("items-failures").await;
    let replayed = world.redrive(&["--stack-name", "items", "--invoke"]);
    let summary = text(&replayed);
    assert_eq!(replayed.status.code(), Some(0), "{summary}");
    assert!(
        summary.contains(&format!(
            "1: superseded, skipped: event {} (sequence number {}): the table's item has changed since",
            records[1]["eventID"].as_str().unwrap(),
            sequence_number(&records[1])
        )),
        "{summary}"
    );
    assert!(
        summary.contains("1 failures: 3 records, 2 replayed, 1 superseded, 0 lost"),
        "{summary}"
    );
    assert_eq!(world.processed(), sequence_numbers(&[&records[0], &records[2]]));
    assert!(
        world
            .tags("items-failures", &key)
            .await
            .contains(&("obsctl-redrive".to_owned(), "replayed".to_owned())),
        "the object is tagged"
    );

    let again = world.redrive(&["--stack-name", "items", "--invoke"]);
    let summary = text(&again);
    assert_eq!(again.status.code(), Some(0), "{summary}");
    assert!(
        summary.contains("0 failures: 0 records") && summary.contains("1 objects already replayed"),
        "{summary}"
    );
    assert_eq!(world.processed().len(), 2, "nothing replayed twice");
}

#[tokio::test]
async fn a_function_that_fails_again_keeps_the_failure_and_nothing_after_it_runs() {
    if !run_in_private_network("a_function_that_fails_again_keeps_the_failure_and_nothing_after_it_runs") {
        return;
    }
    let world = World::start().await;
    world.put("ITEM#1", 1, None);
    world.put("ITEM#2", 1, Some("fail-permanent"));
    world.put("ITEM#3", 1, None);
    world.put("ITEM#4", 1, None);
    let (shard, records) = world.stream(4);
    let queue = world.queue().await;
    world
        .send(&queue, &invocation_record(&world, &shard, &records[..3], false))
        .await;
    world
        .send(&queue, &invocation_record(&world, &shard, &records[3..], false))
        .await;

    let failed = world.redrive(&on_queue(&queue, &["--invoke", "_", "--max-retries", "1"]));
    let summary = text(&failed);
    // First the function reports ITEM#2 in its partial batch response; the retry starts at it and
    // fails as a whole (the first record of a batch failing is an invocation error): given up.
    assert_eq!(failed.status.code(), Some(1), "{summary}");
    assert!(
        summary.contains(&format!(
            "1: failed again at sequence number {}: 2 records from it on were not replayed, the failure is kept \
             (FirstRecordFailed: ",
            sequence_number(&records[1]),
        )),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("2: held back: an earlier range of {shard}")),
        "{summary}"
    );
    assert_eq!(
        world.processed(),
        sequence_numbers(&[&records[0]]),
        "ITEM#3 and ITEM#4 never ran"
    );
    assert_eq!(world.messages_in(&queue).await, 2, "both failures are kept");
}

// ----- What cannot be told is never settled -----------------------------------------------------

#[tokio::test]
async fn a_change_on_a_keys_only_stream_is_replayed_for_the_processor_to_read_the_item_itself() {
    if !run_in_private_network(
        "a_change_on_a_keys_only_stream_is_replayed_for_the_processor_to_read_the_item_itself",
    ) {
        return;
    }
    let world = World::start_with_view("KEYS_ONLY").await;
    world.put("ITEM#1", 1, None);
    world.put("ITEM#2", 1, None);
    let (shard, records) = world.stream(2);
    // Older than 24 hours: the stream no longer shows what followed, and the records hold no image
    // to compare with the table's item.
    world.trim_through(sequence_number(&records[1]));
    world.bucket("items-failures").await;
    let key = world
        .failure_object("items-failures", &shard, &records, "keys-only")
        .await;
    world.stack_with_bucket("items-failures").await;

    let replayed = world.redrive(&["--stack-name", "items", "--invoke"]);
    let summary = text(&replayed);
    assert_eq!(replayed.status.code(), Some(0), "{summary}");
    assert!(
        summary.contains(&format!(
            "1: replayed although its currency cannot be told: event {} (sequence number {}): the stream \
             has keys only (KEYS_ONLY), so the processor reads the item itself",
            records[0]["eventID"].as_str().unwrap(),
            sequence_number(&records[0])
        )),
        "{summary}"
    );
    assert!(
        summary.contains("1 failures: 2 records, 2 replayed, 0 superseded, 0 lost"),
        "{summary}"
    );
    let all: Vec<&Value> = records.iter().collect();
    assert_eq!(world.processed(), sequence_numbers(&all));
    assert!(
        world
            .tags("items-failures", &key)
            .await
            .contains(&("obsctl-redrive".to_owned(), "replayed".to_owned()))
    );
}

#[tokio::test]
async fn a_change_whose_currency_cannot_be_told_keeps_the_failure_and_says_why() {
    if !run_in_private_network("a_change_whose_currency_cannot_be_told_keeps_the_failure_and_says_why") {
        return;
    }
    let world = World::start_with_view("OLD_IMAGE").await;
    world.put("ITEM#1", 1, None);
    world.put("ITEM#2", 1, None);
    let (shard, records) = world.stream(2);
    world.trim_through(sequence_number(&records[1]));
    world.bucket("items-failures").await;
    let key = world
        .failure_object("items-failures", &shard, &records, "old-image")
        .await;
    world.stack_with_bucket("items-failures").await;

    let kept = world.redrive(&["--stack-name", "items", "--invoke"]);
    let summary = text(&kept);
    assert_eq!(kept.status.code(), Some(1), "{summary}");
    assert!(summary.contains("CANNOT TELL"), "{summary}");
    assert!(
        summary.contains(&format!(
            "1: CANNOT TELL whether event {} (sequence number {}) is still current: the record has no new image \
             to compare with the table's item (the stream's view is OLD_IMAGE), and the stream no longer shows \
             what followed; it and the 1 records after it were not replayed, the failure is kept",
            records[0]["eventID"].as_str().unwrap(),
            sequence_number(&records[0])
        )),
        "{summary}"
    );
    assert!(summary.contains("NOT everything is recovered"), "{summary}");
    assert!(world.processed().is_empty(), "nothing skipped ahead of it");
    assert!(
        !world
            .tags("items-failures", &key)
            .await
            .iter()
            .any(|(tag, value)| tag == "obsctl-redrive" && value == "replayed"),
        "the object is not settled"
    );
}

// ----- The mapping's FilterCriteria ------------------------------------------------------------

#[tokio::test]
async fn a_later_change_the_filter_never_delivers_supersedes_nothing_and_filtered_records_are_not_replayed() {
    if !run_in_private_network(
        "a_later_change_the_filter_never_delivers_supersedes_nothing_and_filtered_records_are_not_replayed",
    ) {
        return;
    }
    let world = World::start().await;
    world.filter(&json!({"eventName": ["INSERT"]}));
    world.put("ITEM#1", 1, None);
    world.put("ITEM#2", 1, None);
    world.put("ITEM#2", 2, None); // a MODIFY inside the range: the filter never delivered it
    world.put("ITEM#1", 2, None); // a MODIFY after the range: never delivered either
    let (shard, records) = world.stream(4);
    let queue = world.queue().await;
    let mut pointer = invocation_record(&world, &shard, &records[..3], false);
    pointer["DDBStreamBatchInfo"]["batchSize"] = json!(2);
    world.send(&queue, &pointer).await;
    world.stack_with_queue(&queue).await;

    let replayed = world.redrive(&["--stack-name", "items", "--invoke"]);
    let summary = text(&replayed);
    assert_eq!(replayed.status.code(), Some(0), "{summary}");
    assert!(
        summary.contains("1 failures: 2 records, 2 replayed, 0 superseded, 0 lost, 1 left out by the mapping's FilterCriteria"),
        "{summary}"
    );
    assert!(!summary.contains("superseded, skipped"), "{summary}");
    assert_eq!(
        world.processed(),
        sequence_numbers(&[&records[0], &records[1]]),
        "both INSERTs, and not the MODIFY the filter leaves out"
    );
    assert_eq!(world.messages_in(&queue).await, 0);
}

#[tokio::test]
async fn a_filter_pattern_the_evaluator_does_not_know_stops_the_redrive_naming_it() {
    if !run_in_private_network("a_filter_pattern_the_evaluator_does_not_know_stops_the_redrive_naming_it") {
        return;
    }
    let world = World::start().await;
    world.filter(&json!({"dynamodb": {"NewImage": {"address": {"S": [{"cidr": "10.0.0.0/24"}]}}}}));
    let (_, _, queue) = world.failed_batch_in_the_queue(&[("ITEM#1", None)]).await;
    world.stack_with_queue(&queue).await;

    let refused = world.redrive(&["--stack-name", "items", "--invoke"]);
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        stderr.contains(&format!(
            "the FilterCriteria of event source mapping {MAPPING_UUID} use \"cidr\""
        )),
        "{stderr}"
    );
    assert!(world.processed().is_empty());
    assert_eq!(world.message_counts(&queue).await, (1, 0), "nothing touched");

    // Filters encrypted with a key the caller may not use arrive as an error, not as no filter.
    {
        let mut mapping = world.mapping.lock().unwrap();
        mapping.as_object_mut().unwrap().remove("FilterCriteria");
        mapping["KMSKeyArn"] = json!("arn:aws:kms:eu-west-1:123456789012:key/0f1e2d3c");
        mapping["FilterCriteriaError"] = json!({
            "ErrorCode": "KMSAccessDeniedException",
            "Message": "The caller may not use the key"
        });
    }
    let refused = world.redrive(&["--stack-name", "items", "--invoke"]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains(&format!(
            "the FilterCriteria of event source mapping {MAPPING_UUID} are encrypted and could not be read \
             (KMSAccessDeniedException: The caller may not use the key)"
        )),
        "{}",
        text(&refused)
    );
    assert!(world.processed().is_empty());
    assert_eq!(world.message_counts(&queue).await, (1, 0), "nothing touched");
}

#[tokio::test]
async fn a_range_that_does_not_add_up_to_its_failed_batch_is_kept_and_written_whole_for_a_person() {
    if !run_in_private_network(
        "a_range_that_does_not_add_up_to_its_failed_batch_is_kept_and_written_whole_for_a_person",
    ) {
        return;
    }
    let world = World::start().await;
    world.put("ITEM#1", 1, None);
    world.put("ITEM#2", 1, None);
    world.put("ITEM#2", 2, None);
    let (shard, records) = world.stream(3);
    let queue = world.queue().await;
    // The batch held all three records: the mapping had no filter then. Its filter now delivers
    // only two of them.
    world
        .send(&queue, &invocation_record(&world, &shard, &records, false))
        .await;
    world.filter(&json!({"eventName": ["INSERT"]}));
    world.stack_with_queue(&queue).await;

    let kept = world.redrive(&["--stack-name", "items", "--invoke"]);
    let summary = text(&kept);
    assert_eq!(kept.status.code(), Some(1), "{summary}");
    assert!(
        summary.contains(
            "1: DOES NOT ADD UP: the range holds 2 records the mapping's FilterCriteria deliver as they are now, the \
             failed batch had 3"
        ),
        "{summary}"
    );
    assert!(world.processed().is_empty(), "nothing replayed");
    assert_eq!(world.message_counts(&queue).await, (1, 0));

    let folder = tempfile::tempdir().unwrap();
    let written = world.redrive(&[
        "--stack-name",
        "items",
        "--to-dir",
        folder.path().to_str().unwrap(),
    ]);
    assert_eq!(written.status.code(), Some(1), "{}", text(&written));
    let files: Vec<PathBuf> = std::fs::read_dir(folder.path())
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{}", text(&written));
    let event: Value = serde_json::from_slice(&std::fs::read(&files[0]).unwrap()).unwrap();
    assert_eq!(
        event["Records"].as_array().unwrap().len(),
        3,
        "every record of the range"
    );
}

// ----- Reading the stream to the end ----------------------------------------------------------

#[tokio::test]
async fn a_range_read_that_meets_empty_pages_reads_on_to_its_last_record() {
    if !run_in_private_network("a_range_read_that_meets_empty_pages_reads_on_to_its_last_record") {
        return;
    }
    let world = World::start().await;
    let (_, records, queue) = world
        .failed_batch_in_the_queue(&[("ITEM#1", None), ("ITEM#2", None), ("ITEM#3", None)])
        .await;
    // One record a page, and five empty pages before the rest of the range.
    world.page_size(1);
    world.withhold_pages_after(sequence_number(&records[0]), Some(5));
    world.stack_with_queue(&queue).await;

    let replayed = world.redrive(&["--stack-name", "items", "--invoke"]);
    let summary = text(&replayed);
    assert_eq!(replayed.status.code(), Some(0), "{summary}");
    assert!(
        summary.contains("1 failures: 3 records, 3 replayed, 0 superseded, 0 lost"),
        "{summary}"
    );
    let all: Vec<&Value> = records.iter().collect();
    assert_eq!(world.processed(), sequence_numbers(&all));
}

#[tokio::test]
async fn a_range_not_read_to_its_end_is_neither_replayed_nor_settled() {
    if !run_in_private_network("a_range_not_read_to_its_end_is_neither_replayed_nor_settled") {
        return;
    }
    let world = World::start().await;
    let (_, records, queue) = world
        .failed_batch_in_the_queue(&[("ITEM#1", None), ("ITEM#2", None)])
        .await;
    world.page_size(1);
    world.withhold_pages_after(sequence_number(&records[0]), None);
    world.stack_with_queue(&queue).await;

    let kept = world.redrive(&["--stack-name", "items", "--invoke", "--stream-read-timeout", "3"]);
    let summary = text(&kept);
    assert_eq!(kept.status.code(), Some(1), "{summary}");
    assert!(summary.contains("NOT READ TO ITS END"), "{summary}");
    assert!(
        summary.contains(&format!(
            "1: NOT READ TO ITS END: the stream gave no record after sequence number {} within 3 s, before the \
             range's last, {}; nothing was replayed, the failure is kept",
            sequence_number(&records[0]),
            sequence_number(&records[1])
        )),
        "{summary}"
    );
    assert!(world.processed().is_empty());
    assert_eq!(world.message_counts(&queue).await, (1, 0));
}

#[tokio::test]
async fn a_later_change_read_cut_short_leaves_the_decision_to_the_table() {
    if !run_in_private_network("a_later_change_read_cut_short_leaves_the_decision_to_the_table") {
        return;
    }
    let world = World::start().await;
    world.put("ITEM#1", 1, None);
    world.put("ITEM#2", 1, None);
    world.put("ITEM#1", 2, None);
    let (shard, records) = world.stream(3);
    let queue = world.queue().await;
    world
        .send(&queue, &invocation_record(&world, &shard, &records[..2], false))
        .await;
    // The later change is there, but the stream answers nothing but empty pages after the range.
    world.withhold_pages_after(sequence_number(&records[1]), None);
    world.stack_with_queue(&queue).await;

    let replayed = world.redrive(&["--stack-name", "items", "--invoke", "--stream-read-timeout", "3"]);
    let summary = text(&replayed);
    assert_eq!(replayed.status.code(), Some(0), "{summary}");
    assert!(
        summary.contains(&format!(
            "1: superseded, skipped: event {} (sequence number {}): the table's item has changed since",
            records[0]["eventID"].as_str().unwrap(),
            sequence_number(&records[0])
        )),
        "{summary}"
    );
    assert_eq!(
        world.processed(),
        sequence_numbers(&[&records[1]]),
        "never the old version over the new"
    );
}

// ----- Only the mapping's own failures ---------------------------------------------------------

#[tokio::test]
async fn failures_of_another_mapping_in_a_shared_queue_are_left_untouched_and_counted() {
    if !run_in_private_network("failures_of_another_mapping_in_a_shared_queue_are_left_untouched_and_counted")
    {
        return;
    }
    let world = World::start().await;
    let other_arn = world.dynamodb.create_table("OtherItems", "NEW_AND_OLD_IMAGES");
    world.dynamodb.put("OtherItems", &item("OTHER#1", 1));
    let (other_shard, other_records) =
        world
            .dynamodb
            .stream_records(&other_arn, 1, support::world::STREAM_WAIT);
    let (_, records, queue) = world.failed_batch_in_the_queue(&[("ITEM#1", None)]).await;
    world
        .send(
            &queue,
            &invocation_record_of(&other_arn, &other_shard, &other_records, false),
        )
        .await;
    world.stack_with_queue(&queue).await;

    let replayed = world.redrive(&["--stack-name", "items", "--invoke"]);
    let summary = text(&replayed);
    assert_eq!(replayed.status.code(), Some(0), "{summary}");
    assert!(
        summary.contains("1 failures: 1 records, 1 replayed")
            && summary.contains("1 failures of other event source mappings were left untouched"),
        "{summary}"
    );
    assert_eq!(world.processed(), sequence_numbers(&[&records[0]]));
    assert_eq!(
        world.message_counts(&queue).await,
        (1, 0),
        "the other mapping's failure is still there, visible"
    );
}

// ----- Holding messages ------------------------------------------------------------------------

#[tokio::test]
async fn a_message_being_worked_on_stays_hidden_from_other_readers_however_long_the_run() {
    if !run_in_private_network(
        "a_message_being_worked_on_stays_hidden_from_other_readers_however_long_the_run",
    ) {
        return;
    }
    let world = World::start().await;
    world.put("ITEM#1", 1, Some("sleep-ms:2500"));
    world.put("ITEM#2", 1, Some("sleep-ms:2500"));
    let (shard, records) = world.stream(2);
    let queue = world.queue().await;
    world
        .send(&queue, &invocation_record(&world, &shard, &records[..1], false))
        .await;
    world
        .send(&queue, &invocation_record(&world, &shard, &records[1..], false))
        .await;
    world.stack_with_queue(&queue).await;

    let running = world
        .redrive_command(&["--stack-name", "items", "--invoke", "--visibility-timeout", "2"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Past the hold's first timeout, while the run still works.
    tokio::time::sleep(Duration::from_millis(3_500)).await;
    let (visible, _) = world.message_counts(&queue).await;
    let output = running.wait_with_output().unwrap();
    let summary = text(&output);
    assert_eq!(visible, 0, "nothing visible to another reader mid-run: {summary}");
    assert_eq!(output.status.code(), Some(0), "{summary}");
    assert!(summary.contains("2 failures: 2 records, 2 replayed"), "{summary}");
    assert_eq!(world.messages_in(&queue).await, 0);
    let all: Vec<&Value> = records.iter().collect();
    assert_eq!(world.processed(), sequence_numbers(&all), "each once");
}

#[tokio::test]
async fn a_run_that_fails_part_way_prints_its_summary_and_leaves_the_rest_visible() {
    if !run_in_private_network("a_run_that_fails_part_way_prints_its_summary_and_leaves_the_rest_visible") {
        return;
    }
    let world = World::start().await;
    for pk in ["ITEM#1", "ITEM#2", "ITEM#3", "ITEM#4"] {
        world.put(pk, 1, None);
    }
    let (shard, records) = world.stream(4);
    let queue = world.queue().await;
    world
        .send(&queue, &invocation_record(&world, &shard, &records[..2], false))
        .await;
    world
        .send(&queue, &invocation_record(&world, &shard, &records[2..], false))
        .await;
    world.fail_stream_reads_from(sequence_number(&records[2]));
    world.stack_with_queue(&queue).await;

    let failed = world.redrive(&["--stack-name", "items", "--invoke"]);
    let stdout = String::from_utf8_lossy(&failed.stdout);
    let stderr = String::from_utf8_lossy(&failed.stderr);
    assert_eq!(failed.status.code(), Some(2), "{stdout}{stderr}");
    assert!(stderr.contains("dynamodb:GetShardIterator"), "{stderr}");
    assert!(
        stdout.contains("1  message") && stdout.contains("recovered"),
        "the summary of what was done: {stdout}"
    );
    assert!(
        stdout.contains("2: not done: the run stopped before this failure"),
        "{stdout}"
    );
    assert!(stdout.contains("NOT everything is recovered"), "{stdout}");
    assert_eq!(world.processed(), sequence_numbers(&[&records[0], &records[1]]));
    assert_eq!(
        world.message_counts(&queue).await,
        (1, 0),
        "the recovered one deleted, the other visible"
    );
}

#[tokio::test]
async fn a_replay_the_lambda_api_stops_part_way_keeps_its_progress_and_prints_the_summary() {
    if !run_in_private_network(
        "a_replay_the_lambda_api_stops_part_way_keeps_its_progress_and_prints_the_summary",
    ) {
        return;
    }
    let mut world = World::start().await;
    let (_, records, queue) = world
        .failed_batch_in_the_queue(&[
            ("ITEM#1", None),
            ("ITEM#2", Some("fail-until-fixed")),
            ("ITEM#3", None),
        ])
        .await;
    world.stack_with_queue(&queue).await;
    // The first invocation replays ITEM#1 and reports ITEM#2; the retry is throttled for good.
    world.throttle_invocations_from(Some(2));

    let stopped = world.redrive(&["--stack-name", "items", "--invoke"]);
    let stdout = String::from_utf8_lossy(&stopped.stdout);
    assert_eq!(stopped.status.code(), Some(2), "{}", text(&stopped));
    assert!(
        String::from_utf8_lossy(&stopped.stderr).contains("lambda:Invoke"),
        "{}",
        text(&stopped)
    );
    assert!(
        stdout.contains("1: not done: the run stopped before this failure"),
        "{stdout}"
    );
    assert_eq!(world.processed(), sequence_numbers(&[&records[0]]));
    assert_eq!(world.message_counts(&queue).await, (1, 0), "kept, visible");

    world.throttle_invocations_from(None);
    world.deploy_the_fix();
    let resumed = world.redrive(&["--stack-name", "items", "--invoke"]);
    let summary = text(&resumed);
    assert_eq!(resumed.status.code(), Some(0), "{summary}");
    assert!(
        summary.contains(&format!(
            "1: resumed at sequence number {}: an earlier run replayed the 1 records before it",
            sequence_number(&records[1])
        )),
        "{summary}"
    );
    let all: Vec<&Value> = records.iter().collect();
    assert_eq!(world.processed(), sequence_numbers(&all), "the first record once");
}

#[tokio::test]
async fn a_failure_that_cannot_be_read_holds_back_the_later_ranges_of_its_shard() {
    if !run_in_private_network("a_failure_that_cannot_be_read_holds_back_the_later_ranges_of_its_shard") {
        return;
    }
    let world = World::start().await;
    world.put("ITEM#1", 1, None);
    world.put("ITEM#2", 1, None);
    let (shard, records) = world.stream(2);
    world.bucket("items-failures").await;
    let mut broken = invocation_record(&world, &shard, &records[..1], true);
    broken["payload"] = json!("{\"Records\": [{\"eventID\": ");
    world
        .s3()
        .put_object()
        .bucket("items-failures")
        .key(format!("aws/lambda/{MAPPING_UUID}/{shard}/2026/12/02/broken"))
        .body(broken.to_string().into_bytes().into())
        .send()
        .await
        .unwrap();
    world
        .failure_object("items-failures", &shard, &records[1..], "later")
        .await;
    world.stack_with_bucket("items-failures").await;

    let held = world.redrive(&["--stack-name", "items", "--invoke"]);
    let summary = text(&held);
    assert_eq!(held.status.code(), Some(1), "{summary}");
    assert!(
        summary.contains("1: not a DynamoDB stream failure record, kept"),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("2: held back: an earlier range of {shard}")),
        "{summary}"
    );
    assert!(
        world.processed().is_empty(),
        "nothing overtakes the failure a person must look at"
    );
}

// ----- Comparing with the table ----------------------------------------------------------------

#[tokio::test]
async fn attributes_named_like_set_types_are_compared_as_the_values_they_hold() {
    if !run_in_private_network("attributes_named_like_set_types_are_compared_as_the_values_they_hold") {
        return;
    }
    let world = World::start().await;
    let mut first = item("ITEM#1", 1);
    first["SS"] = json!({"S": "first"});
    first["meta"] = json!({"M": {"NS": {"N": "1"}}});
    world.put_item(&first);
    let mut second = first.clone();
    second["SS"] = json!({"S": "second"});
    world.put_item(&second);
    let (shard, records) = world.stream(2);
    world.trim_through(sequence_number(&records[1]));
    world.bucket("items-failures").await;
    world
        .failure_object("items-failures", &shard, &records[..1], "set-names")
        .await;
    world.stack_with_bucket("items-failures").await;

    let replayed = world.redrive(&["--stack-name", "items", "--invoke"]);
    let summary = text(&replayed);
    assert_eq!(replayed.status.code(), Some(0), "{summary}");
    assert!(
        summary.contains("1 failures: 1 records, 0 replayed, 1 superseded"),
        "the attribute named SS changed, so the record is old: {summary}"
    );
    assert!(world.processed().is_empty());
}

// ----- ParallelizationFactor --------------------------------------------------------------------

#[tokio::test]
async fn overlapping_ranges_of_concurrent_batches_replay_each_record_once_and_say_why_they_hold_more() {
    if !run_in_private_network(
        "overlapping_ranges_of_concurrent_batches_replay_each_record_once_and_say_why_they_hold_more",
    ) {
        return;
    }
    let world = World::start().await;
    world.parallelization_factor(2);
    for pk in ["ITEM#1", "ITEM#2", "ITEM#3", "ITEM#4", "ITEM#5"] {
        world.put(pk, 1, None);
    }
    let (shard, records) = world.stream(5);
    let queue = world.queue().await;
    // Two concurrent batches of the shard gave up: items 1 and 4, items 2 and 5. Each pointer names
    // the range from its first to its last record, which holds the other batch's records too.
    let mut one = invocation_record(&world, &shard, &records[..4], false);
    one["DDBStreamBatchInfo"]["batchSize"] = json!(2);
    let mut other = invocation_record(&world, &shard, &records[1..], false);
    other["DDBStreamBatchInfo"]["batchSize"] = json!(2);
    world.send(&queue, &one).await;
    world.send(&queue, &other).await;
    world.stack_with_queue(&queue).await;

    let replayed = world.redrive(&["--stack-name", "items", "--invoke"]);
    let summary = text(&replayed);
    assert_eq!(replayed.status.code(), Some(0), "{summary}");
    let all: Vec<&Value> = records.iter().collect();
    assert_eq!(
        world.processed(),
        sequence_numbers(&all),
        "each record once, in order"
    );
    assert!(
        summary.contains(
            "note: the range holds 4 records in the stream, the failed batch had 2: with ParallelizationFactor 2 \
             it also holds the records of the shard's other concurrent batches (other items), which are replayed too"
        ),
        "{summary}"
    );
    assert!(
        summary.contains("2: 3 records already replayed by failure 1 of this run were not replayed again"),
        "{summary}"
    );
    assert!(!summary.contains("FilterCriteria"), "{summary}");
    assert_eq!(world.messages_in(&queue).await, 0);
}

// ----- Resuming a kept failure -----------------------------------------------------------------

#[tokio::test]
async fn a_kept_sqs_failure_resumes_after_what_an_earlier_run_replayed() {
    if !run_in_private_network("a_kept_sqs_failure_resumes_after_what_an_earlier_run_replayed") {
        return;
    }
    let mut world = World::start().await;
    let (_, records, queue) = world
        .failed_batch_in_the_queue(&[
            ("ITEM#1", None),
            ("ITEM#2", Some("fail-until-fixed")),
            ("ITEM#3", None),
        ])
        .await;
    world.stack_with_queue(&queue).await;

    let failed = world.redrive(&["--stack-name", "items", "--invoke", "--max-retries", "0"]);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    assert_eq!(world.processed(), sequence_numbers(&[&records[0]]));
    assert_eq!(world.messages_in(&queue).await, 1, "{}", text(&failed));

    world.deploy_the_fix();
    let resumed = world.redrive(&["--stack-name", "items", "--invoke"]);
    let summary = text(&resumed);
    assert_eq!(resumed.status.code(), Some(0), "{summary}");
    assert!(
        summary.contains(&format!(
            "1: resumed at sequence number {}: an earlier run replayed the 1 records before it",
            sequence_number(&records[1])
        )),
        "{summary}"
    );
    let all: Vec<&Value> = records.iter().collect();
    assert_eq!(world.processed(), sequence_numbers(&all), "the first record once");
    assert_eq!(world.messages_in(&queue).await, 0);
}

#[tokio::test]
async fn a_kept_s3_failure_resumes_after_what_an_earlier_run_replayed() {
    if !run_in_private_network("a_kept_s3_failure_resumes_after_what_an_earlier_run_replayed") {
        return;
    }
    let mut world = World::start().await;
    world.put("ITEM#1", 1, None);
    world.put("ITEM#2", 1, Some("fail-until-fixed"));
    world.put("ITEM#3", 1, None);
    let (shard, records) = world.stream(3);
    world.bucket("items-failures").await;
    let key = world
        .failure_object("items-failures", &shard, &records, "resumed")
        .await;
    world.stack_with_bucket("items-failures").await;

    let failed = world.redrive(&["--stack-name", "items", "--invoke", "--max-retries", "0"]);
    assert_eq!(failed.status.code(), Some(1), "{}", text(&failed));
    assert!(
        world.tags("items-failures", &key).await.contains(&(
            "obsctl-redrive-replayed-through".to_owned(),
            sequence_number(&records[0]).to_owned()
        )),
        "the progress is kept with the object"
    );

    world.deploy_the_fix();
    let resumed = world.redrive(&["--stack-name", "items", "--invoke"]);
    let summary = text(&resumed);
    assert_eq!(resumed.status.code(), Some(0), "{summary}");
    let all: Vec<&Value> = records.iter().collect();
    assert_eq!(world.processed(), sequence_numbers(&all), "the first record once");
}

// ----- What still waits ------------------------------------------------------------------------

#[tokio::test]
async fn after_a_replay_the_failure_queue_keeps_notifications_only_of_objects_that_still_wait() {
    if !run_in_private_network(
        "after_a_replay_the_failure_queue_keeps_notifications_only_of_objects_that_still_wait",
    ) {
        return;
    }
    let world = World::start().await;
    world.put("ITEM#1", 1, None);
    world.put("ITEM#2", 1, Some("fail-permanent"));
    let (shard, records) = world.stream(2);
    world.bucket("items-failures").await;
    let replayed = world
        .failure_object("items-failures", &shard, &records[..1], "replays")
        .await;
    let fails = world
        .failure_object("items-failures", &shard, &records[1..], "fails-again")
        .await;
    // The failure queue of template.yaml's S3 choice: EventBridge's "Object Created" event of each
    // object Lambda wrote, and a message that is no such notification.
    let notifications = world.named_queue("items-failure-notifications").await;
    for key in [&replayed, &fails] {
        world
            .send(
                &notifications,
                &json!({
                    "version": "0", "detail-type": "Object Created", "source": "aws.s3",
                    "detail": {"bucket": {"name": "items-failures"}, "object": {"key": key, "size": 512}}
                }),
            )
            .await;
    }
    world
        .send(&notifications, &json!({"note": "not a notification"}))
        .await;
    world
        .stack(
            "items",
            &[
                ("FailureBucketName", "items-failures"),
                ("FailureNotificationsQueueUrl", &notifications),
                ("FunctionName", cargo_lambda::FUNCTION_NAME),
            ],
        )
        .await;

    let run = world.redrive(&["--stack-name", "items", "--invoke", "--max-retries", "0"]);
    let summary = text(&run);
    assert_eq!(run.status.code(), Some(1), "{summary}");
    assert!(
        summary.contains(
            "the failure queue keeps 2 notifications of objects that wait, 1 of replayed or expired objects were removed"
        ),
        "{summary}"
    );
    let left: Vec<Value> = world.bodies_in(&notifications).await;
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(
        left.iter()
            .any(|body| body["detail"]["object"]["key"] == fails.as_str()),
        "the object that still waits keeps its notification: {left:?}"
    );
    assert!(
        !left
            .iter()
            .any(|body| body["detail"]["object"]["key"] == replayed.as_str()),
        "{left:?}"
    );

    // A dry run changes nothing, notifications included.
    let dry = world.redrive(&["--stack-name", "items", "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    assert_eq!(world.bodies_in(&notifications).await.len(), 2);
}

// ----- Order within a shard --------------------------------------------------------------------

#[tokio::test]
async fn failures_of_one_shard_replay_in_sequence_number_order_whatever_their_arrival_times_say() {
    if !run_in_private_network(
        "failures_of_one_shard_replay_in_sequence_number_order_whatever_their_arrival_times_say",
    ) {
        return;
    }
    let world = World::start().await;
    for pk in ["ITEM#1", "ITEM#2", "ITEM#3", "ITEM#4"] {
        world.put(pk, 1, None);
    }
    let (shard, records) = world.stream(4);
    let queue = world.queue().await;
    let mut later = invocation_record(&world, &shard, &records[2..], false);
    // Half a second later than the earlier range's, and "…19.500Z" sorts before "…19Z" as text.
    later["DDBStreamBatchInfo"]["approximateArrivalOfFirstRecord"] = json!("2026-12-02T00:13:19.500Z");
    world.send(&queue, &later).await;
    world
        .send(&queue, &invocation_record(&world, &shard, &records[..2], false))
        .await;
    world.stack_with_queue(&queue).await;

    let replayed = world.redrive(&["--stack-name", "items", "--invoke"]);
    assert_eq!(replayed.status.code(), Some(0), "{}", text(&replayed));
    let all: Vec<&Value> = records.iter().collect();
    assert_eq!(world.processed(), sequence_numbers(&all));
}

/// `obsctl redrive ARGS` with test credentials and no other AWS configuration, no emulator.
fn redrive_without_emulators(args: &[&str]) -> std::process::Output {
    obsctl_with_test_credentials(REGION)
        .arg("redrive")
        .args(args)
        // Nothing listens there: a call that gets that far is refused at once.
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .output()
        .expect("obsctl runs")
}

#[test]
fn a_redrive_that_cannot_start_says_what_is_missing_and_exits_2() {
    let cases: [(&[&str], &str); 7] = [
        (&["--queue-url", "q"], "--dry-run"),
        (
            &["--dry-run"],
            "say where the failures are: --stack-name, --queue-url or --bucket",
        ),
        (
            &["--queue-url", "q", "--dry-run"],
            "say which event source mapping the failures are of: --stack-name, or --event-source-mapping UUID",
        ),
        (
            &["--queue-url", "q", "--event-source-mapping", "u", "--invoke"],
            "cannot reach AWS for lambda:GetEventSourceMapping",
        ),
        (
            &["--queue-url", "q", "--bucket", "b", "--dry-run"],
            "cannot be used with",
        ),
        (
            &["--queue-url", "q", "--dry-run", "--to-dir", "x"],
            "cannot be used with",
        ),
        (
            &[
                "--queue-url",
                "q",
                "--event-source-mapping",
                "u",
                "--dry-run",
                "--visibility-timeout",
                "1",
            ],
            "1 is not in 2..=43200",
        ),
    ];
    for (args, says) in cases {
        let output = redrive_without_emulators(args);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(says), "{args:?} should say {says:?}: {stderr}");
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{args:?}: no summary without a redrive");
    }
}

/// Calls an AWS query API of moto (`Action=…&…`, form-encoded), as the CLI would: moto reads the
/// service from the credential scope and checks no signature.
fn moto_query(moto: &test_emulators::moto::Moto, service: &str, form: &str) -> String {
    use std::io::{Read, Write};
    let address = moto.endpoint().trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&address).unwrap();
    write!(
        stream,
        "POST / HTTP/1.0\r\nHost: {address}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20261201/{REGION}/{service}/aws4_request, \
         SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.0 200") || answer.starts_with("HTTP/1.1 200"),
        "{answer}"
    );
    answer
}

#[tokio::test]
async fn the_mapping_is_read_from_the_lambda_api_its_filters_with_it() {
    let moto = test_emulators::moto::Moto::start();
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(REGION))
        .endpoint_url(moto.endpoint())
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .load()
        .await;
    // moto keeps mappings of its own DynamoDB's streams, for functions whose role Lambda may assume.
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    let encoded: String = trust
        .bytes()
        .map(|byte| match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (byte as char).to_string(),
            other => format!("%{other:02X}"),
        })
        .collect();
    moto_query(
        &moto,
        "iam",
        &format!(
            "Action=CreateRole&Version=2010-05-08&RoleName=processor&AssumeRolePolicyDocument={encoded}"
        ),
    );
    let table = aws_sdk_dynamodb::Client::new(&sdk)
        .create_table()
        .table_name("Items")
        .key_schema(
            aws_sdk_dynamodb::types::KeySchemaElement::builder()
                .attribute_name("pk")
                .key_type(aws_sdk_dynamodb::types::KeyType::Hash)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            aws_sdk_dynamodb::types::AttributeDefinition::builder()
                .attribute_name("pk")
                .attribute_type(aws_sdk_dynamodb::types::ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .stream_specification(
            aws_sdk_dynamodb::types::StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(aws_sdk_dynamodb::types::StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let stream_arn = table
        .table_description()
        .unwrap()
        .latest_stream_arn()
        .unwrap()
        .to_owned();
    let lambda = aws_sdk_lambda::Client::new(&sdk);
    // An empty zip archive: moto stores the code, nothing runs it.
    let mut empty_zip = b"PK\x05\x06".to_vec();
    empty_zip.extend_from_slice(&[0; 18]);
    lambda
        .create_function()
        .function_name("items-stream-processor")
        .runtime(aws_sdk_lambda::types::Runtime::Providedal2023)
        .role("arn:aws:iam::123456789012:role/processor")
        .handler("bootstrap")
        .code(
            aws_sdk_lambda::types::FunctionCode::builder()
                .zip_file(aws_sdk_lambda::primitives::Blob::new(empty_zip))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let mapping = |pattern: Value| {
        let lambda = lambda.clone();
        let stream_arn = stream_arn.clone();
        async move {
            lambda
                .create_event_source_mapping()
                .function_name("items-stream-processor")
                .event_source_arn(stream_arn)
                .starting_position(aws_sdk_lambda::types::EventSourcePosition::TrimHorizon)
                .filter_criteria(
                    aws_sdk_lambda::types::FilterCriteria::builder()
                        .filters(
                            aws_sdk_lambda::types::Filter::builder()
                                .pattern(pattern.to_string())
                                .build(),
                        )
                        .build(),
                )
                .send()
                .await
                .unwrap()
                .uuid()
                .unwrap()
                .to_owned()
        }
    };
    let inserts_only = mapping(json!({"eventName": ["INSERT"]})).await;
    let by_address =
        mapping(json!({"dynamodb": {"NewImage": {"ip": {"S": [{"cidr": "10.0.0.0/8"}]}}}})).await;
    // A failure of another table's stream waits in the queue.
    let sqs = aws_sdk_sqs::Client::new(&sdk);
    let queue = sqs
        .create_queue()
        .queue_name("items-dead-letters")
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_owned();
    let other = json!({"dynamodb": {"SequenceNumber": "000000000000000000001"}});
    sqs.send_message()
        .queue_url(&queue)
        .message_body(
            invocation_record_of(
                "arn:aws:dynamodb:eu-west-1:123456789012:table/Other/stream/2026-12-01T00:00:00.000",
                "shardId-1",
                &[other],
                false,
            )
            .to_string(),
        )
        .send()
        .await
        .unwrap();

    let redrive = |mapping: &str| {
        obsctl_with_test_credentials(REGION)
            .args([
                "redrive",
                "--queue-url",
                &queue,
                "--event-source-mapping",
                mapping,
                "--dry-run",
            ])
            .env("AWS_ENDPOINT_URL", moto.endpoint())
            .output()
            .unwrap()
    };
    let looked = redrive(&inserts_only);
    let summary = text(&looked);
    assert_eq!(looked.status.code(), Some(0), "{summary}");
    assert!(
        summary.contains("0 failures: 0 records")
            && summary.contains("1 failures of other event source mappings were left untouched"),
        "{summary}"
    );
    let refused = redrive(&by_address);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(
        String::from_utf8_lossy(&refused.stderr).contains(&format!(
            "the FilterCriteria of event source mapping {by_address} use \"cidr\" at dynamodb.NewImage.ip.S"
        )),
        "{}",
        text(&refused)
    );
    let unknown = redrive("00000000-0000-4000-8000-000000000000");
    assert_eq!(unknown.status.code(), Some(2), "{}", text(&unknown));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("lambda:GetEventSourceMapping"),
        "{}",
        text(&unknown)
    );
}
