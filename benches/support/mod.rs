//! What the benchmarks share: the binary's allocator and runtime, the sample event, the invocation,
//! and the INFO JSON logs.
//!
//! Each benchmark is its own crate and includes this module with `mod support;`.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use ddb_stream_processor::clock::SystemClock;
use ddb_stream_processor::config::{LogFormat, LogSettings};
use ddb_stream_processor::engine::DeadlineMargin;
use ddb_stream_processor::telemetry::logs::{LogOutput, subscriber};
use ddb_stream_processor::telemetry::traces::Traces;
use ddb_stream_processor::{Deadline, Invocation};
use serde_json::json;
use tracing::Subscriber;

/// The binary's allocator (src/main.rs), so the numbers are those of what ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// The runtime the binary uses (`#[tokio::main(flavor = "current_thread")]`).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// A DynamoDB stream event of `count` valid order INSERTs over `keys` items, as Lambda would send it.
pub fn order_event(count: usize, keys: usize) -> Vec<u8> {
    let records: Vec<serde_json::Value> = (0..count)
        .map(|index| {
            let pk = format!("ORDER#{}", index % keys);
            json!({
                "eventID": format!("{index:032x}"),
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "eu-west-1",
                "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/stream/2026-11-01T00:00:00.000",
                "dynamodb": {
                    "ApproximateCreationDateTime": 1_793_491_200 + index,
                    "Keys": {"pk": {"S": pk}, "sk": {"S": "ORDER"}},
                    "NewImage": {
                        "pk": {"S": pk}, "sk": {"S": "ORDER"}, "status": {"S": "PAID"},
                        "amount_cents": {"N": "2599"}, "updated_at": {"S": "2026-11-01T09:00:00Z"}
                    },
                    "SequenceNumber": (4_421_584_500_000_000_017_450_439_091_u128 + index as u128 * 100).to_string(),
                    "SizeBytes": 150,
                    "StreamViewType": "NEW_AND_OLD_IMAGES"
                }
            })
        })
        .collect();
    serde_json::to_vec(&json!({ "Records": records })).expect("serialisable")
}

/// An invocation with Lambda's longest timeout, so no benchmark ever reaches the deadline.
pub fn invocation() -> Invocation {
    Invocation {
        request_id: "bench".into(),
        invoked_function_arn: "arn:aws:lambda:eu-west-1:123456789012:function:orders-stream".into(),
        xray_trace_id: None,
        function_version: Some("1".into()),
        function_name: "orders-stream".into(),
        deadline: Deadline::after(Duration::from_secs(900), DeadlineMargin::Proportional),
    }
}

/// The function's logs at INFO in Lambda's JSON format, written to a discarded sink (their cost is
/// in every number), with the OpenTelemetry layer when `traces` is given.
pub fn info_json_logs(traces: Option<&Traces>) -> Box<dyn Subscriber + Send + Sync> {
    let logs = LogSettings {
        format: LogFormat::Json,
        filter: "info".into(),
        lambda_level: None,
    };
    let output = LogOutput {
        writer: io::sink,
        clock: Arc::new(SystemClock),
        ansi: false,
    };
    subscriber(&logs, output, traces)
}
