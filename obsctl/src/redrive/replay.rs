//! Replaying records: invoking the deployed function as the event source mapping would, or writing
//! the events for `ddb-stream-processor --event`.
//!
//! Invocation follows the mapping's rules ([`ShardCursor`], the model the stream simulator and the
//! rehearsal use): records go in stream order, a partial batch response moves the checkpoint to the
//! lowest reported record and the rest comes again, an error or an unreadable response retries the
//! whole batch, and retries are bounded. Unlike the mapping, a redrive never moves past a range it
//! gave up on: the records from the checkpoint on are reported as failed again, never skipped.

use std::path::{Path, PathBuf};

use aws_sdk_lambda::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_lambda::primitives::Blob;
use aws_sdk_lambda::types::InvocationType;
use ddb_stream_processor::lambda::event_source_mapping::{
    Response, RetrySettings, ShardCursor, read_response,
};
use serde_json::Value;

use super::stream::sequence_number;
use crate::cloud::{CloudError, explain};

/// The largest request payload of a synchronous invocation (6 MB).
pub const MAX_PAYLOAD_BYTES: usize = 6 * 1024 * 1024;
/// `{"Records":[` and `]}` around the records, and the commas between them.
const EVENT_FRAME_BYTES: usize = 14;

/// How many of `records`, from the first, fit in one event of at most `limit` bytes: at least one
/// when there is one (a single record above the limit is Lambda's to refuse, and the refusal is
/// reported), none of none.
pub fn fitting(records: &[Value], limit: usize) -> usize {
    let mut size = EVENT_FRAME_BYTES;
    for (index, record) in records.iter().enumerate() {
        size += serde_json::to_vec(record).map_or(0, |bytes| bytes.len()) + 1;
        if size > limit {
            return index.max(1);
        }
    }
    records.len()
}

/// The event Lambda would give the function for `records`.
pub fn event(records: &[Value]) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({ "Records": records })).expect("JSON values serialize")
}

/// Writes `records` as events of at most 6 MB to `folder`, named so that they sort in replay order
/// (`<number>-<shard>-<first sequence number>.json`); returns the files written.
pub fn write_events(
    folder: &Path,
    number: usize,
    shard_id: &str,
    records: &[Value],
) -> std::io::Result<Vec<PathBuf>> {
    std::fs::create_dir_all(folder)?;
    let mut written = Vec::new();
    let mut position = 0;
    let mut part = 0;
    while position < records.len() {
        let count = fitting(&records[position..], MAX_PAYLOAD_BYTES);
        let first = sequence_number(&records[position]).unwrap_or("unknown");
        let suffix = if position == 0 && count == records.len() {
            String::new()
        } else {
            part += 1;
            format!("-part{part}")
        };
        let path = folder.join(format!("{number:04}-{shard_id}-{first}{suffix}.json"));
        std::fs::write(&path, event(&records[position..position + count]))?;
        written.push(path);
        position += count;
    }
    Ok(written)
}

/// The records of a range that failed again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailedAgain {
    /// How many records were replayed before the failure.
    pub replayed: usize,
    /// The sequence number of the first record not replayed (the checkpoint).
    pub checkpoint: String,
    /// How many records, from the checkpoint on, were not replayed.
    pub not_replayed: usize,
    /// What the last attempt said.
    pub reason: String,
}

/// A replay the Lambda API stopped part-way (no such function, throttled, unreachable): what had
/// been replayed by then.
#[derive(Debug)]
pub struct Interrupted {
    /// How many records, from the first, had been replayed successfully.
    pub replayed: usize,
    /// Why it stopped.
    pub error: CloudError,
}

/// Invokes one function with request-response invocations.
#[derive(Debug, Clone)]
pub struct Invoker {
    client: aws_sdk_lambda::Client,
    function: String,
    max_retries: u32,
}

impl Invoker {
    /// The function `function` (a name, ARN or `name:alias`), each batch retried at most
    /// `max_retries` times.
    pub fn new(config: &aws_config::SdkConfig, function: String, max_retries: u32) -> Self {
        Self {
            client: aws_sdk_lambda::Client::new(config),
            function,
            max_retries,
        }
    }

    /// Replays `records` in order; `Ok(count)` when every one succeeded.
    pub async fn replay(&self, records: &[Value]) -> Result<Result<usize, FailedAgain>, Interrupted> {
        let settings = RetrySettings {
            batch_size: usize::MAX,
            bisect: false,
            max_retry_attempts: Some(self.max_retries),
        };
        let numbers: Vec<String> = records
            .iter()
            .map(|record| sequence_number(record).unwrap_or_default().to_owned())
            .collect();
        let mut cursor = ShardCursor::new();
        let mut reason = String::new();
        loop {
            // A batch a response put back comes next whatever is available; else as many records
            // from the checkpoint as fit in one event (none once all are done).
            let available = if cursor.has_pending() {
                0
            } else {
                fitting(&records[cursor.checkpoint()..], MAX_PAYLOAD_BYTES)
            };
            let Some(batch) = cursor.next_batch(&settings, available) else {
                return Ok(Ok(records.len()));
            };
            let (response, said) = self
                .invoke(&records[batch.start..batch.end], &numbers[batch.start..batch.end])
                .await
                .map_err(|error| Interrupted {
                    replayed: cursor.checkpoint(),
                    error,
                })?;
            if !said.is_empty() {
                reason = said;
            }
            if let Some((given_up, _)) = cursor.apply(batch, response, &settings) {
                return Ok(Err(FailedAgain {
                    replayed: given_up,
                    checkpoint: numbers[given_up].clone(),
                    not_replayed: records.len() - given_up,
                    reason,
                }));
            }
        }
    }

    /// One invocation: how the mapping reads its result, and what it said when it failed.
    async fn invoke(&self, records: &[Value], numbers: &[String]) -> Result<(Response, String), CloudError> {
        let sent = self
            .client
            .invoke()
            .function_name(&self.function)
            .invocation_type(InvocationType::RequestResponse)
            .payload(Blob::new(event(records)))
            .send()
            .await;
        let output = match sent {
            Ok(output) => output,
            Err(error) => {
                // Lambda answers a function error with 200 and `X-Amz-Function-Error`; local
                // emulators (cargo-lambda's) answer it with an error status and the same body. A
                // Lambda API error (no such function, throttled, denied) has a code and stops the redrive.
                if let SdkError::ServiceError(service) = &error
                    && error.code().is_none()
                    && let Some(message) = service.raw().body().bytes().and_then(function_error_message)
                {
                    return Ok((Response::FunctionError, message));
                }
                return Err(explain(error, &format!("lambda:Invoke ({})", self.function)));
            }
        };
        let payload = output.payload().map(Blob::as_ref).unwrap_or_default();
        if let Some(kind) = output.function_error() {
            let message =
                function_error_message(payload).unwrap_or_else(|| format!("the invocation failed ({kind})"));
            return Ok((Response::FunctionError, message));
        }
        let response = if payload.iter().all(u8::is_ascii_whitespace) {
            Value::Null
        } else {
            match serde_json::from_slice(payload) {
                Ok(response) => response,
                Err(_) => {
                    return Ok((
                        Response::RetryWholeBatch,
                        "the function's response is not JSON".to_owned(),
                    ));
                }
            }
        };
        let read = read_response(Some(&response), numbers);
        let said = match read {
            Response::Partial { index } => {
                format!("the function reported record {} as failed", numbers[index])
            }
            Response::RetryWholeBatch => {
                "the function's batchItemFailures name no record of the batch: the whole batch failed"
                    .to_owned()
            }
            Response::Complete | Response::FunctionError => String::new(),
        };
        Ok((read, said))
    }
}

/// `errorType: errorMessage` of a function error's body (Lambda's `{"errorType", "errorMessage"}`).
fn function_error_message(body: &[u8]) -> Option<String> {
    let error: Value = serde_json::from_slice(body).ok()?;
    let kind = error.get("errorType")?.as_str()?;
    let message = error
        .get("errorMessage")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Some(format!("{kind}: {message}"))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(number: u64, padding: usize) -> Value {
        json!({"dynamodb": {"SequenceNumber": format!("{number:021}"), "Pad": "x".repeat(padding)}})
    }

    #[test]
    fn events_stay_within_the_payload_limit_and_never_empty() {
        let records: Vec<Value> = (0..10).map(|number| record(number, 100)).collect();
        let one = serde_json::to_vec(&records[0]).unwrap().len();
        assert_eq!(fitting(&records, usize::MAX), 10);
        let limit = EVENT_FRAME_BYTES + 3 * (one + 1);
        assert_eq!(fitting(&records, limit), 3);
        assert!(event(&records[..3]).len() <= limit);
        assert_eq!(fitting(&records, limit - 1), 2);
        assert_eq!(
            fitting(&records, 1),
            1,
            "one record too large still goes, for Lambda to refuse"
        );
        assert_eq!(fitting(&[], usize::MAX), 0, "nothing left to send");
    }

    #[test]
    fn a_function_error_reads_as_its_type_and_message() {
        assert_eq!(
            function_error_message(
                br#"{"errorType": "FirstRecordFailed", "errorMessage": "the first record failed"}"#
            )
            .as_deref(),
            Some("FirstRecordFailed: the first record failed")
        );
        assert_eq!(function_error_message(br#"{"message": "Rate exceeded"}"#), None);
        assert_eq!(function_error_message(b"<html>"), None);
    }

    #[test]
    fn written_events_sort_in_replay_order_and_hold_every_record_once() {
        let folder = tempfile::tempdir().unwrap();
        let records: Vec<Value> = (0..3).map(|number| record(number, 10)).collect();
        let written = write_events(folder.path(), 7, "shardId-1", &records).unwrap();
        assert_eq!(written.len(), 1);
        assert_eq!(
            written[0].file_name().unwrap().to_string_lossy(),
            "0007-shardId-1-000000000000000000000.json"
        );
        let event: Value = serde_json::from_slice(&std::fs::read(&written[0]).unwrap()).unwrap();
        assert_eq!(event, json!({"Records": records}));
    }
}
