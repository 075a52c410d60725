//! The event source mapping's rules for one shard, as the Lambda developer guide states them
//! ("Configuring partial batch response with DynamoDB and Lambda", "Retain discarded records for a
//! DynamoDB event source in Lambda", "Lambda parameters for Amazon DynamoDB event source mappings"):
//! what the next batch holds, how a response moves the checkpoint, retries, bisection, and when a
//! range is given up to the on-failure destination. One model, shared by the library's stream
//! simulator (generated cases), the incident rehearsal (`crates/rehearsal`, on a simulated clock) and
//! `obsctl redrive` (which replays a failed range against the deployed function as the mapping
//! would).
//!
//! **A partial batch response counts as a retry, also one that made progress.** AWS documents that
//! without a complete success Lambda "retries processing the batch up to the retry limit", and
//! documents no reset of the count when a partial response moved the checkpoint. The model takes
//! the reading that loses nothing silently: the retried rest of a batch keeps the count. So a batch
//! that is merely slow — each invocation checkpointing at its deadline margin, no record failing on
//! its own — gives up its tail to the on-failure destination once it has needed more than
//! `MaximumRetryAttempts` + 1 invocations (`DeadlineCheckpoints` shows it coming). What avoids it: a
//! `BatchSize` whose records fit in one invocation's time (BatchSize × p99 RecordProcessingTime below
//! the timeout less its margin), a longer timeout, or more retries (`MaximumRetryAttempts` -1 with
//! `MaximumRecordAgeInSeconds` as the bound).

use serde_json::Value;

/// How the mapping reads an invocation's result.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Response {
    /// An empty or null `batchItemFailures` (or none, or a wrong key name): the whole batch is done.
    Complete,
    /// The lowest reported sequence number is record `index` of the batch: the checkpoint moves
    /// there and the rest of the batch comes again.
    Partial {
        /// The position of the lowest reported record in the batch.
        index: usize,
    },
    /// An empty, null or unknown identifier, or a list that is not a list: the whole batch comes
    /// again (no bisection: the function did not fail).
    RetryWholeBatch,
    /// The invocation failed (an error, a crash, a timeout): the whole batch comes again, or is
    /// bisected when `BisectBatchOnFunctionError` is on.
    FunctionError,
}

/// Reads `response` (the JSON the function returned; `None` for an invocation error) for a batch
/// whose records have these `sequence_numbers`, in order.
pub fn read_response(response: Option<&Value>, sequence_numbers: &[String]) -> Response {
    let Some(response) = response else {
        return Response::FunctionError;
    };
    let failures = match response.get("batchItemFailures") {
        None | Some(Value::Null) => return Response::Complete,
        Some(Value::Array(items)) if items.is_empty() => return Response::Complete,
        Some(Value::Array(items)) => items,
        Some(_) => return Response::RetryWholeBatch,
    };
    let mut lowest: Option<usize> = None;
    for item in failures {
        let Some(identifier) = item
            .get("itemIdentifier")
            .and_then(Value::as_str)
            .filter(|identifier| !identifier.is_empty())
        else {
            return Response::RetryWholeBatch;
        };
        // Undocumented: an identifier that is not in the batch is read as a whole-batch failure.
        let Some(index) = sequence_numbers.iter().position(|number| number == identifier) else {
            return Response::RetryWholeBatch;
        };
        lowest = Some(lowest.map_or(index, |current| current.min(index)));
    }
    lowest.map_or(Response::Complete, |index| Response::Partial { index })
}

/// The settings of the mapping that decide what happens after a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetrySettings {
    /// `BatchSize`.
    pub batch_size: usize,
    /// `BisectBatchOnFunctionError`.
    pub bisect: bool,
    /// `MaximumRetryAttempts`; `None` for -1 (retry until the records expire). Partial responses
    /// count as retries too, also those that moved the checkpoint (see the module's documentation).
    pub max_retry_attempts: Option<u32>,
}

/// A batch: records `start..end` of the shard, and how many times it has been retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Batch {
    /// The first record's position in the shard.
    pub start: usize,
    /// One past the last record's position.
    pub end: usize,
    /// Retries so far (bisection does not count).
    pub retries: u32,
}

/// Where the mapping stands in one shard: the checkpoint, and the batches that come next because a
/// response put them back (a retry, or the halves of a bisected batch, the first on top).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShardCursor {
    checkpoint: usize,
    pending: Vec<Batch>,
}

impl ShardCursor {
    /// A cursor at the start of the shard.
    pub fn new() -> Self {
        Self::default()
    }

    /// The position of the first record not yet done.
    pub fn checkpoint(&self) -> usize {
        self.checkpoint
    }

    /// Whether a batch put back by a response comes next.
    pub fn has_pending(&self) -> bool {
        !self.pending.is_empty()
    }

    /// The next batch: one put back by a response, else up to `batch_size` of the `available`
    /// records from the checkpoint (`None` when none is available).
    pub fn next_batch(&mut self, settings: &RetrySettings, available: usize) -> Option<Batch> {
        if let Some(batch) = self.pending.pop() {
            return Some(batch);
        }
        (available > 0).then(|| Batch {
            start: self.checkpoint,
            end: self.checkpoint + available.min(settings.batch_size),
            retries: 0,
        })
    }

    /// Applies `response` to `batch`; returns the range (start..end) given up to the on-failure
    /// destination, if any.
    pub fn apply(
        &mut self,
        batch: Batch,
        response: Response,
        settings: &RetrySettings,
    ) -> Option<(usize, usize)> {
        let exhausted = settings
            .max_retry_attempts
            .is_some_and(|limit| batch.retries + 1 > limit);
        match response {
            Response::Complete => {
                self.checkpoint = batch.end;
                None
            }
            Response::Partial { index } => {
                self.checkpoint = batch.start + index;
                if exhausted {
                    self.checkpoint = batch.end;
                    Some((batch.start + index, batch.end))
                } else {
                    self.pending.push(Batch {
                        start: batch.start + index,
                        end: batch.end,
                        retries: batch.retries + 1,
                    });
                    None
                }
            }
            Response::FunctionError if settings.bisect && batch.end - batch.start > 1 => {
                let middle = batch.start + (batch.end - batch.start) / 2;
                self.pending.push(Batch {
                    start: middle,
                    ..batch
                });
                self.pending.push(Batch { end: middle, ..batch });
                None
            }
            Response::FunctionError | Response::RetryWholeBatch => {
                if exhausted {
                    self.checkpoint = batch.end;
                    Some((batch.start, batch.end))
                } else {
                    self.pending.push(Batch {
                        retries: batch.retries + 1,
                        ..batch
                    });
                    None
                }
            }
        }
    }

    /// Gives up `batch` whatever the response (its records are too old): the checkpoint moves past it.
    pub fn expire(&mut self, batch: Batch) {
        self.checkpoint = batch.end;
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn numbers(count: usize) -> Vec<String> {
        (0..count).map(|index| format!("{:021}", 100 + index)).collect()
    }

    #[test]
    fn responses_read_as_lambda_reads_them() {
        let batch = numbers(4);
        let id = |index: usize| json!({"itemIdentifier": batch[index]});
        let cases = [
            (None, Response::FunctionError),
            (Some(json!({"batchItemFailures": []})), Response::Complete),
            (Some(json!({"batchItemFailures": null})), Response::Complete),
            (Some(json!({})), Response::Complete),
            (Some(json!({"BatchItemFailures": [id(1)]})), Response::Complete),
            (
                Some(json!({"batchItemFailures": [id(3), id(1)]})),
                Response::Partial { index: 1 },
            ),
            (
                Some(json!({"batchItemFailures": [{"itemIdentifier": ""}]})),
                Response::RetryWholeBatch,
            ),
            (
                Some(json!({"batchItemFailures": [{"itemIdentifier": null}]})),
                Response::RetryWholeBatch,
            ),
            (
                Some(json!({"batchItemFailures": [{"itemIdentifier": "999"}]})),
                Response::RetryWholeBatch,
            ),
            (
                Some(json!({"batchItemFailures": "no"})),
                Response::RetryWholeBatch,
            ),
        ];
        for (response, expected) in cases {
            assert_eq!(read_response(response.as_ref(), &batch), expected, "{response:?}");
        }
    }

    #[test]
    fn partial_failures_retry_from_the_checkpoint_until_the_limit_then_give_up() {
        let settings = RetrySettings {
            batch_size: 10,
            bisect: true,
            max_retry_attempts: Some(1),
        };
        let mut cursor = ShardCursor::new();
        let batch = cursor.next_batch(&settings, 25).unwrap();
        assert_eq!(
            batch,
            Batch {
                start: 0,
                end: 10,
                retries: 0
            }
        );
        assert_eq!(
            cursor.apply(batch, Response::Partial { index: 4 }, &settings),
            None
        );
        assert_eq!(cursor.checkpoint(), 4);
        let retry = cursor.next_batch(&settings, 21).unwrap();
        assert_eq!(
            retry,
            Batch {
                start: 4,
                end: 10,
                retries: 1
            }
        );
        assert_eq!(
            cursor.apply(retry, Response::Partial { index: 0 }, &settings),
            Some((4, 10))
        );
        assert_eq!(cursor.checkpoint(), 10);
        assert_eq!(
            cursor.next_batch(&settings, 15),
            Some(Batch {
                start: 10,
                end: 20,
                retries: 0
            })
        );
    }

    #[test]
    fn a_function_error_bisects_without_using_a_retry_and_a_bad_response_does_not_bisect() {
        let settings = RetrySettings {
            batch_size: 8,
            bisect: true,
            max_retry_attempts: Some(0),
        };
        let mut cursor = ShardCursor::new();
        let batch = cursor.next_batch(&settings, 8).unwrap();
        assert_eq!(cursor.apply(batch, Response::FunctionError, &settings), None);
        let first_half = cursor.next_batch(&settings, 8).unwrap();
        assert_eq!(
            first_half,
            Batch {
                start: 0,
                end: 4,
                retries: 0
            }
        );
        assert_eq!(
            cursor.apply(first_half, Response::RetryWholeBatch, &settings),
            Some((0, 4)),
            "no retries left, and no bisection for a bad response"
        );
        assert_eq!(
            cursor.next_batch(&settings, 8),
            Some(Batch {
                start: 4,
                end: 8,
                retries: 0
            })
        );
        let mut unlimited = ShardCursor::new();
        let settings = RetrySettings {
            max_retry_attempts: None,
            bisect: false,
            ..settings
        };
        let batch = unlimited.next_batch(&settings, 1).unwrap();
        assert_eq!(unlimited.apply(batch, Response::FunctionError, &settings), None);
        assert_eq!(
            unlimited.next_batch(&settings, 1),
            Some(Batch {
                start: 0,
                end: 1,
                retries: 1
            })
        );
    }

    #[test]
    fn a_batch_that_only_checkpoints_at_its_deadline_still_uses_up_its_retries_and_gives_up_its_tail() {
        let settings = RetrySettings {
            batch_size: 100,
            bisect: true,
            max_retry_attempts: Some(5),
        };
        let mut cursor = ShardCursor::new();
        let mut invocations = 0;
        let given_up = loop {
            let batch = cursor.next_batch(&settings, 300).unwrap();
            invocations += 1;
            // Each invocation completes 13 records and checkpoints at the deadline: progress, and no
            // record failed on its own.
            let done = (batch.end - batch.start).min(13);
            let response = if done == batch.end - batch.start {
                Response::Complete
            } else {
                Response::Partial { index: done }
            };
            if let Some(range) = cursor.apply(batch, response, &settings) {
                break range;
            }
        };
        assert_eq!(invocations, 6, "the first try and five retries");
        assert_eq!(given_up, (78, 100), "records 78 to 99 go to the destination");
        assert_eq!(cursor.checkpoint(), 100, "and the shard moves on");
    }
}
