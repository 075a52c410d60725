//! The event source mapping and the Lambda service around the real handler, on the simulated clock.
//!
//! Each shard (split by item key into `ParallelizationFactor` parts) is polled by a loop of its own,
//! at most four times a second as Lambda polls a shard: it waits for records (and for the batching
//! window), invokes the function with at most `BatchSize` of them, and applies the response by the
//! event source mapping's rules the library's stream simulator uses too
//! (`ddb_stream_processor::lambda::event_source_mapping`): a partial response checkpoints at the
//! lowest reported sequence number, an error retries the whole batch or bisects it, and
//! `MaximumRetryAttempts` and `MaximumRecordAgeInSeconds` send the rest to the
//! on-failure destination. The Lambda service runs each invocation in an execution environment (a
//! new one is a cold start), at most `concurrency_limit` at once (more are throttled and retried a
//! second later), and stops an invocation at the function's timeout.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use ddb_stream_processor::lambda::event_source_mapping::{
    Response, RetrySettings, ShardCursor, read_response,
};
use ddb_stream_processor::telemetry::metrics::{Metrics, MetricsConfig};
use ddb_stream_processor::{BatchEngine, EngineConfig, Invocation, StreamHandler};
use serde_json::{Value, json};

use super::clock::SimulatedClock;
use super::processor::{PANIC_ATTRIBUTE, POISON_ATTRIBUTE, ScenarioProcessor};
use super::stream::StreamRecord;
use super::{DeadLetter, Deployment, Names, StoreSink};
use crate::cloudwatch::metric_store::{MetricKey, MetricStore};

/// The seed of the retries' backoff jitter: with it, the pauses (and so the moments at which a
/// scenario's dependency fails) are the same on every run, as the rest of a rehearsal is.
const JITTER_SEED: u64 = 20_261_205;

/// What every shard loop shares: the function's environments, the metrics AWS would publish, and
/// the destination.
pub(crate) struct Service {
    pub(crate) deployment: Deployment,
    pub(crate) names: Names,
    pub(crate) clock: SimulatedClock,
    pub(crate) processor: Arc<ScenarioProcessor>,
    pub(crate) metrics_config: MetricsConfig,
    pub(crate) sink: Arc<StoreSink>,
    pub(crate) store: Arc<Mutex<MetricStore>>,
    pub(crate) idle: Mutex<Vec<Arc<StreamHandler<Arc<ScenarioProcessor>>>>>,
    pub(crate) running: Mutex<usize>,
    pub(crate) invocations: Mutex<usize>,
    pub(crate) dead_letters: Mutex<Vec<DeadLetter>>,
    pub(crate) dead_letter_queue_unavailable: bool,
    pub(crate) concurrency_limit: Option<usize>,
    pub(crate) end_ms: i64,
}

/// Who invokes the function.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Invoker {
    /// The event source mapping, polling the stream.
    Mapping,
    /// `obsctl redrive`, through the Invoke API.
    Redrive,
}

/// Lambda polls each shard of a DynamoDB stream four times a second (the Lambda developer guide,
/// "How Lambda processes records from DynamoDB Streams").
const POLL_INTERVAL_MS: i64 = 250;

impl Service {
    fn put(&self, namespace: &str, name: &str, dimension: (&str, &str), value: f64) {
        let key = MetricKey::new(namespace, name, &[dimension]);
        self.store
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .put(key, self.clock.now_ms(), value, 1.0);
    }

    fn lambda_metric(&self, name: &str, value: f64) {
        self.put(
            "AWS/Lambda",
            name,
            ("FunctionName", &self.names.function_name),
            value,
        );
    }

    fn mapping_metric(&self, name: &str, value: f64) {
        self.put(
            "AWS/Lambda",
            name,
            ("EventSourceMappingUUID", &self.names.event_source_mapping_uuid),
            value,
        );
    }

    /// An execution environment for one invocation, or `None` when the concurrency limit is reached.
    fn acquire(&self) -> Option<Arc<StreamHandler<Arc<ScenarioProcessor>>>> {
        let mut running = self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if self.concurrency_limit.is_some_and(|limit| *running >= limit) {
            return None;
        }
        *running += 1;
        self.lambda_metric("ConcurrentExecutions", *running as f64);
        let reused = self
            .idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        Some(reused.unwrap_or_else(|| {
            Arc::new(
                StreamHandler::new(Arc::clone(&self.processor))
                    .with_engine(BatchEngine::new(EngineConfig::default()).with_jitter_seed(JITTER_SEED))
                    .with_metrics(
                        Metrics::new(self.metrics_config.clone(), self.sink.clone())
                            .with_clock(Arc::new(self.clock)),
                    ),
            )
        }))
    }

    fn release(&self, environment: Arc<StreamHandler<Arc<ScenarioProcessor>>>) {
        *self
            .running
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) -= 1;
        self.idle
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(environment);
    }

    /// Invokes the function with `batch` once an environment is free: its response, or `None` when
    /// the invocation failed (an error, or the timeout). An invocation by the event source mapping
    /// (`by`) also counts in the mapping's metrics and AWS/Lambda's IteratorAge; one by
    /// `obsctl redrive` (a request-response invocation of the Invoke API) does not.
    async fn invoke(
        &self,
        batch: &[StreamRecord],
        sequence_numbers: &[String],
        by: Invoker,
    ) -> Option<Value> {
        let environment = loop {
            if let Some(environment) = self.acquire() {
                break environment;
            }
            self.lambda_metric("Throttles", 1.0);
            tokio::time::sleep(Duration::from_secs(1)).await;
        };
        let invocation_number = {
            let mut invocations = self
                .invocations
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            *invocations += 1;
            *invocations
        };
        let started_ms = self.clock.now_ms();
        self.lambda_metric("Invocations", 1.0);
        if by == Invoker::Mapping {
            self.mapping_metric("InvokedEventCount", batch.len() as f64);
            if let Some(last) = batch.last() {
                self.lambda_metric("IteratorAge", (started_ms - last.arrived_ms).max(0) as f64);
            }
        }
        let payload = payload(batch, sequence_numbers, &self.names);
        let timeout = self.deployment.function_timeout;
        let invocation = Invocation::local(timeout, environment.engine().config())
            .with_request_id(format!("rehearsal-{invocation_number}"))
            .with_function(
                self.names.function_name.clone(),
                format!(
                    "arn:aws:lambda:eu-west-1:123456789012:function:{}",
                    self.names.function_name
                ),
            );
        let result = tokio::time::timeout(timeout, environment.handle_payload(&payload, &invocation)).await;
        self.lambda_metric("Duration", (self.clock.now_ms() - started_ms) as f64);
        self.release(environment);
        match result {
            Ok(Ok(response)) => Some(serde_json::to_value(response).unwrap_or(Value::Null)),
            Ok(Err(_)) | Err(_) => {
                self.lambda_metric("Errors", 1.0);
                if by == Invoker::Mapping {
                    self.mapping_metric("FailedInvokeEventCount", batch.len() as f64);
                }
                None
            }
        }
    }

    /// Invokes the function with `batch` and reads its response as the event source mapping does.
    async fn invoke_reading(&self, batch: &[StreamRecord], by: Invoker) -> Response {
        let sequence_numbers: Vec<String> = batch.iter().map(StreamRecord::sequence_number_text).collect();
        let response = self.invoke(batch, &sequence_numbers, by).await;
        read_response(response.as_ref(), &sequence_numbers)
    }

    /// Gives up on `records`: the on-failure destination gets their range (or the delivery fails).
    fn give_up(&self, shard: usize, records: &[StreamRecord], reason: &'static str) {
        let (Some(first), Some(last)) = (records.first(), records.last()) else {
            return;
        };
        if self.dead_letter_queue_unavailable {
            // Lambda's documentation: DroppedEventCount excludes what reached the on-failure
            // destination; a failed delivery counts its records there, and 1 delivery failure.
            self.lambda_metric("DestinationDeliveryFailures", 1.0);
            self.mapping_metric("DroppedEventCount", records.len() as f64);
            return;
        }
        self.mapping_metric("OnFailureDestinationDeliveredEventCount", records.len() as f64);
        self.put(
            "AWS/SQS",
            "NumberOfMessagesSent",
            ("QueueName", &self.names.dead_letter_queue_name),
            1.0,
        );
        self.dead_letters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(DeadLetter {
                at_ms: self.clock.now_ms(),
                shard,
                first_sequence_number: first.sequence_number_text(),
                last_sequence_number: last.sequence_number_text(),
                records: records.len(),
                reason,
                replayed_ms: None,
            });
    }

    /// `obsctl redrive --invoke` now: every message of the failure queue, in order, replayed through
    /// the function with two retries, as `obsctl redrive` replays; a message whose range succeeds
    /// whole is deleted, and after one that fails again the later messages of its shard wait.
    pub(crate) async fn redrive(&self, parts: &[(usize, Vec<StreamRecord>)]) {
        let now = self.clock.now_ms();
        let waiting: Vec<(usize, DeadLetter)> = self
            .dead_letters
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .cloned()
            .enumerate()
            .filter(|(_, letter)| letter.replayed_ms.is_none() && letter.at_ms <= now)
            .collect();
        let mut failed_again: Vec<usize> = Vec::new();
        for (index, letter) in waiting {
            if failed_again.contains(&letter.shard) {
                continue;
            }
            let in_range = |record: &&StreamRecord| {
                let number = record.sequence_number_text();
                number >= letter.first_sequence_number && number <= letter.last_sequence_number
            };
            let records: Vec<StreamRecord> = parts
                .iter()
                .filter(|(part, _)| *part == letter.shard)
                .flat_map(|(_, records)| records.iter().filter(in_range).copied())
                .collect();
            if self.replay(&records).await {
                self.dead_letters
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)[index]
                    .replayed_ms = Some(self.clock.now_ms());
            } else {
                failed_again.push(letter.shard);
            }
        }
    }

    /// Replays `records` as `obsctl redrive` does (the mapping's response rules, two retries, no
    /// bisection): whether every record succeeded.
    async fn replay(&self, records: &[StreamRecord]) -> bool {
        let settings = RetrySettings {
            batch_size: usize::MAX,
            bisect: false,
            max_retry_attempts: Some(2),
        };
        let mut cursor = ShardCursor::new();
        loop {
            let available = if cursor.has_pending() {
                0
            } else {
                records.len() - cursor.checkpoint()
            };
            let Some(batch) = cursor.next_batch(&settings, available) else {
                return true;
            };
            let read = self
                .invoke_reading(&records[batch.start..batch.end], Invoker::Redrive)
                .await;
            if cursor.apply(batch, read, &settings).is_some() {
                return false;
            }
        }
    }

    /// Polls one part of a shard until the scenario ends.
    pub(crate) async fn poll(&self, shard: usize, records: &[StreamRecord]) {
        let mapping = &self.deployment;
        let settings = RetrySettings {
            batch_size: mapping.batch_size,
            bisect: mapping.bisect,
            max_retry_attempts: mapping.max_retry_attempts,
        };
        let mut cursor = ShardCursor::new();
        let mut last_poll_ms = i64::MIN / 2;
        loop {
            let available = if cursor.has_pending() {
                // A retry or a bisected half goes out with the next poll. AWS documents no further
                // backoff for stream sources, so the rehearsal adds none.
                let poll_at = last_poll_ms + POLL_INTERVAL_MS;
                if self.clock.now_ms() < poll_at {
                    tokio::time::sleep_until(self.clock.instant_at(poll_at)).await;
                }
                last_poll_ms = self.clock.now_ms();
                0
            } else {
                let checkpoint = cursor.checkpoint();
                let Some(first) = records.get(checkpoint) else {
                    return;
                };
                let poll_at = first.arrived_ms.max(last_poll_ms + POLL_INTERVAL_MS);
                if poll_at >= self.end_ms {
                    return;
                }
                if self.clock.now_ms() < poll_at {
                    tokio::time::sleep_until(self.clock.instant_at(poll_at)).await;
                }
                last_poll_ms = self.clock.now_ms();
                let full_at = records
                    .get(checkpoint + mapping.batch_size - 1)
                    .map_or(i64::MAX, |record| record.arrived_ms);
                let window_ends = first.arrived_ms + mapping.batching_window.as_millis() as i64;
                let ready_at = full_at.min(window_ends).min(self.end_ms);
                if self.clock.now_ms() < ready_at {
                    tokio::time::sleep_until(self.clock.instant_at(ready_at)).await;
                }
                let now = self.clock.now_ms();
                records[checkpoint..]
                    .iter()
                    .take(mapping.batch_size)
                    .take_while(|record| record.arrived_ms <= now)
                    .count()
                    .max(1)
            };
            if self.clock.now_ms() >= self.end_ms {
                return;
            }
            let Some(batch) = cursor.next_batch(&settings, available) else {
                return;
            };
            let batch_records = &records[batch.start..batch.end];
            self.mapping_metric("PolledEventCount", batch_records.len() as f64);
            let too_old = mapping.max_record_age.is_some_and(|age| {
                self.clock.now_ms() - batch_records[0].arrived_ms > age.as_millis() as i64
            });
            if too_old {
                self.give_up(shard, batch_records, "MaximumRecordAgeInSeconds");
                cursor.expire(batch);
                continue;
            }
            let read = self.invoke_reading(batch_records, Invoker::Mapping).await;
            if let Some((first, end)) = cursor.apply(batch, read, &settings) {
                self.give_up(shard, &records[first..end], "MaximumRetryAttempts");
            }
        }
    }
}

/// The event Lambda would send for `batch`.
fn payload(batch: &[StreamRecord], sequence_numbers: &[String], names: &Names) -> Vec<u8> {
    let records: Vec<Value> = batch
        .iter()
        .zip(sequence_numbers)
        .map(|(record, sequence_number)| {
            let key = json!({"pk": {"S": format!("ITEM#{}", record.key)}});
            let mut image = json!({"pk": {"S": format!("ITEM#{}", record.key)}, "status": {"S": "NEW"}});
            if record.poison {
                image[POISON_ATTRIBUTE] = json!({"BOOL": true});
            }
            if record.panics {
                image[PANIC_ATTRIBUTE] = json!({"BOOL": true});
            }
            json!({
                "eventID": format!("{:032x}", record.sequence_number),
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": "eu-west-1",
                "eventSourceARN": format!(
                    "arn:aws:dynamodb:eu-west-1:123456789012:table/{}/stream/2026-01-01T00:00:00.000",
                    names.table_name
                ),
                "dynamodb": {
                    "ApproximateCreationDateTime": record.arrived_ms as f64 / 1000.0,
                    "Keys": key,
                    "NewImage": image,
                    "SequenceNumber": sequence_number,
                    "SizeBytes": 64,
                    "StreamViewType": "NEW_AND_OLD_IMAGES"
                }
            })
        })
        .collect();
    serde_json::to_vec(&json!({ "Records": records })).unwrap_or_default()
}
