//! `obsctl redrive` end to end, against real emulators and the real function.
//!
//! DynamoDB Local (AWS's own engine) writes the example's items, so stream records, shard ids and
//! sequence numbers are DynamoDB's; moto serves the SQS queue and the S3 bucket of the on-failure
//! destination; cargo-lambda's emulator serves the Lambda Invoke API the SDK calls, in front of the
//! function binary (`ddb-stream-processor`, the example processor) polling its Runtime API.
//! DynamoDB Local listens on every interface, so each test runs again in a private network
//! namespace with only loopback, where every server lives. No emulator trims a stream after 24
//! hours: a stub in front of DynamoDB Local answers `TrimmedDataAccessException` for the positions
//! a test declares trimmed, and forwards everything else.
//!
//! The world they share is `support/world.rs` (the redrive benchmark uses it too).

mod support;

use std::path::PathBuf;
use std::process::Command;

use serde_json::{Value, json};
use support::obsctl_command::obsctl_with_test_credentials;
use support::world::{
    REGION, World, function_binary, invocation_record, pairs, run_in_private_network, sequence_number, text,
};
use test_emulators::cargo_lambda;

#[tokio::test]
async fn a_range_named_by_an_sqs_pointer_is_read_back_from_the_stream_and_replayed_in_order() {
    if !run_in_private_network(
        "a_range_named_by_an_sqs_pointer_is_read_back_from_the_stream_and_replayed_in_order",
    ) {
        return;
    }
    let world = World::start().await;
    let (_, records, queue) = world
        .failed_batch_in_the_queue(&[
            ("ORDER#1", "PENDING", 4_200),
            ("ORDER#2", "PAID", 900),
            ("ORDER#3", "SHIPPED", 1_500),
        ])
        .await;

    // A dry run changes nothing: the message is back in the queue at once.
    let dry = world.redrive(&["--queue-url", &queue, "--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", text(&dry));
    assert!(
        text(&dry).contains("would replay") && text(&dry).contains("dry run: everything can be recovered"),
        "{}",
        text(&dry)
    );
    assert_eq!(world.messages_in(&queue).await, 1);

    // --to-dir writes the event Lambda would have built, which the function's own parsing takes.
    let folder = tempfile::tempdir().unwrap();
    let written = world.redrive(&["--queue-url", &queue, "--to-dir", folder.path().to_str().unwrap()]);
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
    // stack's outputs name the queue and the function.
    world
        .stack(
            "orders",
            &[
                ("DeadLetterQueueUrl", &queue),
                ("FunctionName", cargo_lambda::FUNCTION_NAME),
            ],
        )
        .await;
    let invoked = world.redrive(&["--stack-name", "orders", "--invoke"]);
    let summary = text(&invoked);
    assert_eq!(invoked.status.code(), Some(0), "{summary}");
    assert!(
        summary.contains("1 failures: 3 records, 3 replayed, 0 superseded, 0 lost"),
        "{summary}"
    );
    assert!(summary.contains("everything is recovered"), "{summary}");
    assert_eq!(
        world.processed(),
        pairs(&[
            ("ORDER#1", "Pending"),
            ("ORDER#2", "Paid"),
            ("ORDER#3", "Shipped")
        ])
    );
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
    let mut world = World::start().await;
    // The first two pages find their iterators expired (15 minutes, on AWS): each read renews its
    // iterator where it stood and goes on, losing and repeating nothing.
    world.expire_iterators(2);
    world.put("ORDER#1", "PENDING", 4_200);
    world.put("ORDER#2", "PAID", 900);
    // After the failed range: replaying ORDER#1's PENDING now would undo this.
    world.put("ORDER#1", "PAID", 4_200);
    let (shard, records) = world.stream(3);
    let pointer = invocation_record(&world, &shard, &records[..2], false);
    let queue = world.queue().await;
    world.send(&queue, &pointer).await;

    let skipped = world.redrive(&["--queue-url", &queue, "--invoke", cargo_lambda::FUNCTION_NAME]);
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
        !summary.contains("ORDER#"),
        "no item key or value in the summary: {summary}"
    );
    assert_eq!(world.processed(), pairs(&[("ORDER#2", "Paid")]));
    assert_eq!(
        world.messages_in(&queue).await,
        0,
        "skipping a superseded change completes the range"
    );

    world.send(&queue, &pointer).await;
    let anyway = world.redrive(&[
        "--queue-url",
        &queue,
        "--invoke",
        cargo_lambda::FUNCTION_NAME,
        "--include-superseded",
    ]);
    let summary = text(&anyway);
    assert_eq!(anyway.status.code(), Some(0), "{summary}");
    assert!(
        summary.contains("1 replayed") && summary.contains("superseded, replayed anyway"),
        "{summary}"
    );
    assert_eq!(
        world.processed(),
        pairs(&[("ORDER#2", "Paid"), ("ORDER#1", "Pending"), ("ORDER#2", "Paid")])
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
    world.put("ORDER#1", "PENDING", 4_200);
    world.put("ORDER#2", "PAID", 900);
    world.put("ORDER#1", "PAID", 4_200);
    world.put("ORDER#3", "SHIPPED", 1_500);
    let (shard, records) = world.stream(4);
    let queue = world.queue().await;
    world
        .send(&queue, &invocation_record(&world, &shard, &records[..2], false))
        .await;
    world
        .send(&queue, &invocation_record(&world, &shard, &records[2..], false))
        .await;

    // The shard is read once for later changes; each range asks it from its own end.
    let replayed = world.redrive(&["--queue-url", &queue, "--invoke", cargo_lambda::FUNCTION_NAME]);
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
        pairs(&[("ORDER#2", "Paid"), ("ORDER#1", "Paid"), ("ORDER#3", "Shipped")])
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
    let mut world = World::start().await;
    let (shard, records, queue) = world
        .failed_batch_in_the_queue(&[("ORDER#1", "PENDING", 4_200), ("ORDER#2", "PAID", 900)])
        .await;
    world.trim_through(sequence_number(&records[1]));

    let lost = world.redrive(&["--queue-url", &queue, "--invoke", cargo_lambda::FUNCTION_NAME]);
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
    assert_eq!(world.processed(), pairs(&[]));
    assert_eq!(
        world.messages_in(&queue).await,
        1,
        "the evidence of the loss is kept"
    );
}

#[tokio::test]
async fn a_range_whose_first_records_the_stream_has_trimmed_replays_the_rest_and_reports_the_head_lost() {
    if !run_in_private_network(
        "a_range_whose_first_records_the_stream_has_trimmed_replays_the_rest_and_reports_the_head_lost",
    ) {
        return;
    }
    let mut world = World::start().await;
    let (shard, records, queue) = world
        .failed_batch_in_the_queue(&[
            ("ORDER#1", "PENDING", 4_200),
            ("ORDER#2", "PAID", 900),
            ("ORDER#3", "SHIPPED", 1_500),
        ])
        .await;
    world.trim_before(sequence_number(&records[1]));

    let partly = world.redrive(&["--queue-url", &queue, "--invoke", cargo_lambda::FUNCTION_NAME]);
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
        pairs(&[("ORDER#2", "Paid"), ("ORDER#3", "Shipped")]),
        "what the stream still has is replayed, in order"
    );
    assert_eq!(
        world.messages_in(&queue).await,
        1,
        "the evidence of the loss is kept"
    );
}

#[tokio::test]
async fn an_s3_object_is_replayed_from_its_own_records_after_the_stream_has_trimmed_them() {
    if !run_in_private_network(
        "an_s3_object_is_replayed_from_its_own_records_after_the_stream_has_trimmed_them",
    ) {
        return;
    }
    let mut world = World::start().await;
    world.put("ORDER#1", "PENDING", 4_200);
    world.put("ORDER#2", "PAID", 900);
    world.put("ORDER#3", "SHIPPED", 1_500);
    // Changed after the range; by the time of the redrive the stream has trimmed this change too,
    // so only the table can tell.
    world.put("ORDER#2", "CANCELLED", 900);
    let (shard, records) = world.stream(4);
    world.trim_through(sequence_number(&records[3]));
    let s3 = world.s3();
    s3.create_bucket()
        .bucket("orders-failures")
        .create_bucket_configuration(
            aws_sdk_s3::types::CreateBucketConfiguration::builder()
                .location_constraint(aws_sdk_s3::types::BucketLocationConstraint::from(REGION))
                .build(),
        )
        .send()
        .await
        .unwrap();
    let key = format!(
        "aws/lambda/6f9a2b1c-0000-4000-8000-000000000001/{shard}/2026/12/02/2026-12-02T00.13.49-0c1e2f3a-4b5c-4d6e-8f70-81a2b3c4d5e6"
    );
    s3.put_object()
        .bucket("orders-failures")
        .key(&key)
        .body(
            invocation_record(&world, &shard, &records[..3], true)
                .to_string()
                .into_bytes()
                .into(),
        )
        .send()
        .await
        .unwrap();

    // An object of another mapping in the same bucket is not this stack's to replay.
    s3.put_object()
        .bucket("orders-failures")
        .key(format!("aws/lambda/another-mapping/{shard}/2026/12/02/x"))
        .body(b"{}".to_vec().into())
        .send()
        .await
        .unwrap();
    world
        .stack(
            "orders",
            &[
                ("FailureBucketName", "orders-failures"),
                ("FunctionName", cargo_lambda::FUNCTION_NAME),
                ("EventSourceMappingId", "6f9a2b1c-0000-4000-8000-000000000001"),
            ],
        )
        .await;
    let replayed = world.redrive(&["--stack-name", "orders", "--invoke"]);
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
    assert_eq!(
        world.processed(),
        pairs(&[("ORDER#1", "Pending"), ("ORDER#3", "Shipped")])
    );
    let tags = s3
        .get_object_tagging()
        .bucket("orders-failures")
        .key(&key)
        .send()
        .await
        .unwrap();
    assert!(
        tags.tag_set()
            .iter()
            .any(|tag| tag.key() == "obsctl-redrive" && tag.value() == "replayed"),
        "{tags:?}"
    );

    let again = world.redrive(&["--stack-name", "orders", "--invoke"]);
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
    world.put("ORDER#1", "PENDING", 4_200);
    // Not a status the example knows: it fails this record permanently, every time.
    world.put("ORDER#2", "MISLAID", 900);
    world.put("ORDER#3", "PAID", 1_500);
    world.put("ORDER#4", "SHIPPED", 700);
    let (shard, records) = world.stream(4);
    let queue = world.queue().await;
    world
        .send(&queue, &invocation_record(&world, &shard, &records[..3], false))
        .await;
    world
        .send(&queue, &invocation_record(&world, &shard, &records[3..], false))
        .await;

    let failed = world.redrive(&[
        "--queue-url",
        &queue,
        "--invoke",
        cargo_lambda::FUNCTION_NAME,
        "--max-retries",
        "1",
    ]);
    let summary = text(&failed);
    // First the function reports ORDER#2 in its partial batch response; the retry starts at it and
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
        summary.contains(&format!("2: held back: an earlier range of {shard} failed again")),
        "{summary}"
    );
    assert_eq!(
        world.processed(),
        pairs(&[("ORDER#1", "Pending")]),
        "the failed record twice (first try and one retry) decoded nothing; ORDER#3 and ORDER#4 never ran"
    );
    assert_eq!(world.messages_in(&queue).await, 2, "both failures are kept");
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
    let cases: [(&[&str], &str); 6] = [
        (&["--queue-url", "q"], "--dry-run"),
        (
            &["--dry-run"],
            "say where the failures are: --stack-name, --queue-url or --bucket",
        ),
        (&["--queue-url", "q", "--invoke"], "--invoke needs the function"),
        (
            &["--queue-url", "q", "--bucket", "b", "--dry-run"],
            "cannot be used with",
        ),
        (
            &["--queue-url", "q", "--dry-run", "--to-dir", "x"],
            "cannot be used with",
        ),
        (
            &["--queue-url", "http://127.0.0.1:9/000000000000/q", "--dry-run"],
            "cannot reach AWS for sqs:GetQueueAttributes",
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
