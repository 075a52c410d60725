//! How long `obsctl redrive` takes for one failed range of 10,000 records: from an SQS pointer (the
//! range read back from DynamoDB Local's stream) and from an S3 object (the records in its payload),
//! as a dry run and replayed through cargo-lambda's Invoke API into the release function binary.
//!
//! ```sh
//! cargo build --release -p ddb-stream-processor --features testing,mimalloc --bin scripted-function
//! cargo bench -p obsctl --bench redrive            # REDRIVE_RECORDS, REDRIVE_RUNS to change the size
//! ```
//!
//! Wall-clock time of the whole `obsctl` process, every run and the median; the world (emulators,
//! items, queue, bucket) is set up once and not timed. It runs in a private network namespace, as
//! the tests do (DynamoDB Local cannot bind loopback only). The summaries of the last runs are
//! printed, so the numbers come with what was done.

#[path = "../tests/support/obsctl_command.rs"]
mod obsctl_command;
#[path = "../tests/support/world.rs"]
mod world;

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use test_emulators::cargo_lambda;
use world::{MAPPING_UUID, World, invocation_record, item, run_in_private_network, text};

fn setting(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(default)
}

/// Times `runs` redrives of `args`; before each, `prepare` puts the failure back.
async fn time(world: &World, label: &str, args: &[&str], runs: usize, prepare: impl AsyncFn()) -> String {
    let mut times = Vec::new();
    let mut last = String::new();
    for _ in 0..runs {
        prepare().await;
        let started = Instant::now();
        let output = world.redrive(args);
        times.push(started.elapsed());
        last = text(&output);
        assert!(output.status.success(), "{label}: {last}");
    }
    times.sort();
    let shown: Vec<String> = times
        .iter()
        .map(|time| format!("{:.2}", time.as_secs_f64()))
        .collect();
    println!(
        "{label:<40} median {:>6.2} s   runs: {}",
        times[times.len() / 2].as_secs_f64(),
        shown.join(" ")
    );
    last
}

fn main() {
    if !run_in_private_network("redrive") {
        return;
    }
    let records = setting("REDRIVE_RECORDS", 10_000);
    let runs = setting("REDRIVE_RUNS", 3);
    let runtime = tokio::runtime::Runtime::new().expect("a Tokio runtime");
    runtime.block_on(async {
        // INFO: the function's time is its own work, not a DEBUG line per record.
        let world = World::start_with("NEW_AND_OLD_IMAGES", "INFO").await;
        for chunk in (0..records).collect::<Vec<_>>().chunks(25) {
            let writes: Vec<Value> = chunk
                .iter()
                .map(|index| json!({"PutRequest": {"Item": item(&format!("ITEM#{index:05}"), 1)}}))
                .collect();
            world.dynamodb.call(
                "DynamoDB_20120810.BatchWriteItem",
                &json!({"RequestItems": {world::TABLE: writes}}),
            );
        }
        let started = Instant::now();
        let (shard, stream) =
            world
                .dynamodb
                .stream_records(&world.stream_arn, records, Duration::from_secs(300));
        println!(
            "{records} records in the stream ({:.2} s to read them once from the test)",
            started.elapsed().as_secs_f64()
        );

        let queue = world.queue().await;
        let pointer = invocation_record(&world, &shard, &stream, false);
        let resend = async || {
            if world.messages_in(&queue).await == 0 {
                world.send(&queue, &pointer).await;
            }
        };
        time(
            &world,
            "SQS pointer, --dry-run",
            &[
                "--queue-url",
                &queue,
                "--event-source-mapping",
                MAPPING_UUID,
                "--dry-run",
            ],
            runs,
            resend,
        )
        .await;
        let sqs_session = time(
            &world,
            "SQS pointer, --invoke",
            &[
                "--queue-url",
                &queue,
                "--event-source-mapping",
                MAPPING_UUID,
                "--invoke",
                cargo_lambda::FUNCTION_NAME,
            ],
            runs,
            resend,
        )
        .await;

        let s3 = world.s3();
        world.bucket("items-failures").await;
        let object = invocation_record(&world, &shard, &stream, true).to_string();
        let key = format!("aws/lambda/{MAPPING_UUID}/{shard}/2026/12/02/2026-12-02T00.13.49-bench");
        let upload = async || {
            s3.put_object()
                .bucket("items-failures")
                .key(&key)
                .body(object.clone().into_bytes().into())
                .send()
                .await
                .unwrap();
        };
        let s3_session = time(
            &world,
            "S3 object, --invoke",
            &[
                "--bucket",
                "items-failures",
                "--event-source-mapping",
                MAPPING_UUID,
                "--invoke",
                cargo_lambda::FUNCTION_NAME,
            ],
            runs,
            upload,
        )
        .await;
        println!("\nlast SQS session:\n{sqs_session}\nlast S3 session:\n{s3_session}");
    });
}
