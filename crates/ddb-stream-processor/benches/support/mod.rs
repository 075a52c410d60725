//! What the benchmarks share: the binary's allocator and runtime, the sample event, the invocation,
//! and the INFO JSON logs.
//!
//! Each benchmark is its own crate and includes this module with `mod support;`.

use std::io;
use std::sync::Arc;
use std::time::Duration;

use ddb_stream_processor::clock::SystemClock;
use ddb_stream_processor::engine::EngineConfig;
use ddb_stream_processor::record::image::{ImageSchema, decode};
use ddb_stream_processor::telemetry::logs::{LogFormat, LogOutput, LogSettings, subscriber};
use ddb_stream_processor::telemetry::traces::Traces;
use ddb_stream_processor::{ChangeRecord, Invocation, RecordError, RecordProcessor};
use serde_json::json;
use tracing::Subscriber;

/// The binary's allocator (src/main.rs), so the numbers are those of what ships.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// An order item, as the template's example decodes it (the benchmarks' work per record).
#[derive(Debug, serde::Deserialize)]
#[allow(dead_code)] // decoded, not read: decoding is the work being measured
pub struct Order {
    pk: String,
    sk: String,
    status: Status,
    amount_cents: u64,
    updated_at: chrono::DateTime<chrono::Utc>,
}

/// The life of an order.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Pending,
    Paid,
    Shipped,
    Cancelled,
}

impl ImageSchema for Order {
    fn expectation(_attribute: &str) -> Option<&'static str> {
        None
    }
}

/// The processor of every benchmark: decodes each new image into an [`Order`], the typical work of
/// a processor (and what the example does), so the numbers stay comparable across versions.
#[derive(Debug, Clone, Copy, Default)]
pub struct OrderDecoder;

impl RecordProcessor for OrderDecoder {
    async fn process(&self, record: &ChangeRecord) -> Result<(), RecordError> {
        if let Some(image) = &record.new_image {
            decode::<Order>("NewImage", image).map_err(|error| RecordError::permanent(error.to_string()))?;
        }
        Ok(())
    }
}

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
    Invocation::local(Duration::from_secs(900), &EngineConfig::default())
        .with_request_id("bench")
        .with_function(
            "orders-stream",
            "arn:aws:lambda:eu-west-1:123456789012:function:orders-stream",
        )
        .with_function_version("1")
}

/// The function's logs at INFO in Lambda's JSON format, written to a discarded sink (their cost is
/// in every number), with the OpenTelemetry layer when `traces` is given.
pub fn info_json_logs(traces: Option<&Traces>) -> Box<dyn Subscriber + Send + Sync> {
    let logs = LogSettings {
        format: LogFormat::Json,
        filter: "info".into(),
        lambda_level: None,
        ..LogSettings::default()
    };
    let output = LogOutput {
        writer: io::sink,
        clock: Arc::new(SystemClock),
        ansi: false,
    };
    subscriber(&logs, output, traces)
}

// Each benchmark uses part of the variants.
#[allow(dead_code)]
pub mod variants;
