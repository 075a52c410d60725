//! A model of what Lambda's event source mapping does with a DynamoDB stream shard, following the
//! rules of `ddb_stream_processor::lambda::event_source_mapping` (and the Lambda developer guide
//! they cite), driving a handler under test batch after batch.
//!
//! - A shard is records with item keys and increasing sequence numbers; `ParallelizationFactor`
//!   splits it into sub-shards by key (records of one key stay in one, in order), run concurrently.
//! - Batches of `BatchSize` start at the checkpoint. The response is applied as Lambda applies it:
//!   an empty or null list (or a wrong key name) checkpoints the whole batch; otherwise the lowest
//!   reported sequence number becomes the checkpoint and the rest is delivered again; an empty, null
//!   or unknown identifier, or an invocation error, retries the whole batch; with
//!   `BisectBatchOnFunctionError` an error splits the batch in two (splitting uses no retry).
//! - A batch retried more than `MaximumRetryAttempts` times (partial responses count, also those that
//!   moved the checkpoint: a merely slow batch gives up its tail), or whose records are older than
//!   `MaximumRecordAgeInSeconds`, goes to the on-failure destination as a range.
//!
//! The processor records every attempt in a [`Journal`]; [`check`] turns the journal, the invocations
//! and the destination into the properties the template promises.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::panic::AssertUnwindSafe;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_lambda_events::event::dynamodb::EventRecord;
use ddb_stream_processor::engine::{DeadlineMargin, EngineConfig};
use ddb_stream_processor::lambda::event_source_mapping::{
    Response, RetrySettings, ShardCursor, read_response,
};
use ddb_stream_processor::{
    BatchEngine, ChangeRecord, Invocation, RecordError, RecordProcessor, StreamHandler,
};
use futures_util::FutureExt;
use serde_json::{Value, json};

/// One record of the shard.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SimRecord {
    pub seq: u128,
    pub key: u32,
}

/// The event source mapping's settings.
#[derive(Debug, Clone, Copy)]
pub struct Esm {
    pub batch_size: usize,
    pub bisect: bool,
    pub max_retry_attempts: u32,
    pub parallelization: u32,
    /// Invocations after which a record is too old (`MaximumRecordAgeInSeconds`, in invocations).
    pub max_record_age: Option<usize>,
}

/// What the processor does with each record.
#[derive(Debug, Clone, Default)]
pub struct Script {
    pub poison: HashSet<u128>,
    pub panics: HashSet<u128>,
    /// Records that take 1.5 s (the invocation has 4 s of working time).
    pub slow: HashSet<u128>,
    /// Chance that an attempt fails transiently, decided by a hash of (seed, record, attempt).
    pub transient_probability: f64,
    pub seed: u64,
    /// Each attempt takes 0 to this many milliseconds (a hash of seed and record) before it ends as
    /// scripted: with per-key concurrency, records of several keys are then in flight together and
    /// can fail in the same invocation.
    pub work_ms: u64,
    /// Share of the records that are poison besides `poison` (a hash of seed and record): dense
    /// enough, and with several records in flight, several lanes fail in one invocation.
    pub poison_share: f64,
}

/// One attempt at one record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Attempt {
    pub invocation: usize,
    pub record: SimRecord,
    pub succeeded: bool,
}

/// How an invocation ended, as the ESM read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The whole batch is done.
    Complete,
    /// Checkpoint at a record of the batch; the rest comes again.
    Partial,
    /// The whole batch comes again (an error, or an empty identifier).
    WholeBatchFailed,
}

/// Everything a run produced.
#[derive(Debug, Default)]
pub struct Run {
    pub records: Vec<SimRecord>,
    pub attempts: Vec<Attempt>,
    /// Per invocation: the records delivered, the verdict, and the position the checkpoint moved to.
    pub invocations: BTreeMap<usize, (Vec<SimRecord>, Verdict, usize)>,
    /// Ranges (first and last sequence number) sent to the on-failure destination.
    pub destination: Vec<(u128, u128)>,
    /// The engine's `max_in_flight`: at 1, every invocation must attempt its records in stream order
    /// across keys.
    pub max_in_flight: usize,
}

/// The processor under the template: behaves as scripted, journals every attempt.
pub struct SimProcessor {
    script: Script,
    attempts: Mutex<Vec<Attempt>>,
    tries: Mutex<HashMap<u128, u32>>,
}

tokio::task_local! {
    static INVOCATION: usize;
}

impl SimProcessor {
    pub fn new(script: Script) -> Self {
        Self {
            script,
            attempts: Mutex::default(),
            tries: Mutex::default(),
        }
    }

    fn record_of(record: &ChangeRecord) -> SimRecord {
        let seq = record.sequence_number.as_deref().unwrap().parse().unwrap();
        let key = match record.keys.get("pk") {
            Some(serde_dynamo::AttributeValue::S(pk)) => pk.trim_start_matches("KEY#").parse().unwrap(),
            other => panic!("no pk: {other:?}"),
        };
        SimRecord { seq, key }
    }

    /// A small, deterministic hash of the seed, a record and a number: the same seed gives the
    /// same run.
    fn hash(&self, seq: u128, number: u64) -> u64 {
        let mut state = self.script.seed ^ (seq as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ number;
        state ^= state >> 33;
        state = state.wrapping_mul(0xff51_afd7_ed55_8ccd);
        state ^= state >> 33;
        state
    }

    fn transient(&self, seq: u128, try_number: u32) -> bool {
        (self.hash(seq, u64::from(try_number)) % 10_000) as f64 / 10_000.0 < self.script.transient_probability
    }

    fn is_poison(&self, seq: u128) -> bool {
        self.script.poison.contains(&seq)
            || (self.hash(seq, u64::MAX - 1) % 10_000) as f64 / 10_000.0 < self.script.poison_share
    }

    fn work(&self, seq: u128) -> Duration {
        Duration::from_millis(self.hash(seq, u64::MAX) % (self.script.work_ms + 1))
    }

    fn journal(&self, record: SimRecord, succeeded: bool) -> usize {
        let invocation = INVOCATION.try_with(|id| *id).unwrap_or(0);
        let mut attempts = self.attempts.lock().unwrap();
        attempts.push(Attempt {
            invocation,
            record,
            succeeded,
        });
        attempts.len() - 1
    }

    fn succeed(&self, index: usize) {
        self.attempts.lock().unwrap()[index].succeeded = true;
    }
}

impl RecordProcessor for SimProcessor {
    async fn process(&self, change: &ChangeRecord) -> Result<(), RecordError> {
        let record = Self::record_of(change);
        let try_number = {
            let mut tries = self.tries.lock().unwrap();
            let count = tries.entry(record.seq).or_default();
            *count += 1;
            *count
        };
        let index = self.journal(record, false);
        if self.script.work_ms > 0 {
            tokio::time::sleep(self.work(record.seq)).await;
        }
        if self.script.panics.contains(&record.seq) {
            panic!("scripted panic at {}", record.seq);
        }
        if self.is_poison(record.seq) {
            return Err(RecordError::permanent("scripted poison"));
        }
        if self.script.slow.contains(&record.seq) {
            tokio::time::sleep(Duration::from_millis(1_500)).await;
        }
        if self.transient(record.seq, try_number) {
            return Err(RecordError::transient("scripted transient failure"));
        }
        self.succeed(index);
        Ok(())
    }
}

/// The handler under test: the template's, or one of the mistakes of the published snippets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandlerKind {
    /// `StreamHandler::handle_payload`, the real entry point.
    Template,
    /// Saves the sequence number after processing: reports the record before the failure ("" first).
    ReportsPrevious,
    /// Reports the last record of the batch, with PascalCase keys.
    ReportsLastPascalCase,
    /// Reports every record of the batch when one fails.
    ReportsEvery,
    /// Keeps processing after a failure and reports each failed record.
    ContinuesAfterFailure,
}

fn event_record(record: SimRecord) -> Value {
    json!({
        "eventID": format!("e-{}", record.seq),
        "eventName": "INSERT",
        "eventSource": "aws:dynamodb",
        "awsRegion": "eu-west-1",
        "eventSourceARN": "arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/stream/2026-11-01T00:00:00.000",
        "dynamodb": {
            "ApproximateCreationDateTime": 1_793_491_200,
            "Keys": {"pk": {"S": format!("KEY#{}", record.key)}},
            "NewImage": {"pk": {"S": format!("KEY#{}", record.key)}},
            "SequenceNumber": format!("{:021}", record.seq),
            "SizeBytes": 64,
            "StreamViewType": "NEW_AND_OLD_IMAGES"
        }
    })
}

/// Invokes the handler on one batch: the response JSON, or `None` for an invocation error.
async fn invoke(
    kind: HandlerKind,
    handler: &StreamHandler<Arc<SimProcessor>>,
    processor: &SimProcessor,
    batch: &[SimRecord],
    invocation: usize,
) -> Option<Value> {
    let payload =
        serde_json::to_vec(&json!({"Records": batch.iter().copied().map(event_record).collect::<Vec<_>>()}))
            .unwrap();
    INVOCATION
        .scope(invocation, async {
            if kind == HandlerKind::Template {
                let context = Invocation::local(
                    Duration::from_secs(5),
                    &EngineConfig {
                        deadline_margin: DeadlineMargin::Fixed(Duration::from_secs(1)),
                        ..EngineConfig::default()
                    },
                )
                .with_request_id(format!("sim-{invocation}"))
                .with_function("sim", "arn:aws:lambda:eu-west-1:123456789012:function:sim");
                return handler
                    .handle_payload(&payload, &context)
                    .await
                    .ok()
                    .map(|response| serde_json::to_value(response).unwrap());
            }
            naive(kind, processor, batch).await
        })
        .await
}

/// The snippets' loops, with their mistakes (a panic is an invocation error, as in the snippets).
async fn naive(kind: HandlerKind, processor: &SimProcessor, batch: &[SimRecord]) -> Option<Value> {
    let mut previous = String::new();
    let mut failed: Vec<SimRecord> = Vec::new();
    for record in batch {
        let parsed: EventRecord = serde_json::from_value(event_record(*record)).unwrap();
        let change = ChangeRecord::try_from(parsed).unwrap();
        let outcome = AssertUnwindSafe(processor.process(&change))
            .catch_unwind()
            .await
            .ok()?;
        match (kind, outcome) {
            (_, Ok(())) => previous = format!("{:021}", record.seq),
            (HandlerKind::ReportsPrevious, Err(_)) => {
                return Some(json!({"batchItemFailures": [{"itemIdentifier": previous}]}));
            }
            (_, Err(_)) => failed.push(*record),
        }
    }
    if failed.is_empty() {
        return Some(json!({"batchItemFailures": []}));
    }
    let identifier = |record: &SimRecord| json!({"itemIdentifier": format!("{:021}", record.seq)});
    Some(match kind {
        HandlerKind::ReportsLastPascalCase => {
            json!({"BatchItemFailures": [{"ItemIdentifier": format!("{:021}", batch.last().unwrap().seq)}]})
        }
        HandlerKind::ReportsEvery => {
            json!({"batchItemFailures": batch.iter().map(identifier).collect::<Vec<_>>()})
        }
        _ => json!({"batchItemFailures": failed.iter().map(identifier).collect::<Vec<_>>()}),
    })
}

/// The verdict the journal keeps, and the index the checkpoint moved to, from the mapping's reading.
fn verdict_of(response: Response, batch: &[SimRecord]) -> (Verdict, usize) {
    match response {
        Response::Complete => (Verdict::Complete, batch.len()),
        Response::Partial { index } => (Verdict::Partial, index),
        Response::RetryWholeBatch | Response::FunctionError => (Verdict::WholeBatchFailed, 0),
    }
}

/// Runs the shard through the ESM model and the handler (the template's engine configured by
/// `engine`, per-key concurrency for instance).
pub async fn simulate_with(
    records: Vec<SimRecord>,
    esm: Esm,
    script: Script,
    kind: HandlerKind,
    engine: EngineConfig,
) -> Run {
    let processor = Arc::new(SimProcessor::new(script));
    let max_in_flight = engine.max_in_flight;
    let engine = BatchEngine::new(engine).with_jitter_seed(1);
    let handler = StreamHandler::new(Arc::clone(&processor)).with_engine(engine);
    let counter = AtomicUsize::new(0);
    let invocations = Mutex::new(BTreeMap::new());
    let destination = Mutex::new(Vec::new());

    let shards: Vec<Vec<SimRecord>> = (0..esm.parallelization.max(1))
        .map(|shard| {
            records
                .iter()
                .copied()
                .filter(|record| record.key % esm.parallelization.max(1) == shard)
                .collect()
        })
        .collect();
    let runs = shards.iter().map(|shard| async {
        let settings = RetrySettings {
            batch_size: esm.batch_size,
            bisect: esm.bisect,
            max_retry_attempts: Some(esm.max_retry_attempts),
        };
        let mut cursor = ShardCursor::new();
        let mut age = 0;
        while let Some(batch) = cursor.next_batch(&settings, shard.len() - cursor.checkpoint()) {
            let (start, end) = (batch.start, batch.end);
            age += 1;
            if esm.max_record_age.is_some_and(|limit| age > limit) {
                destination
                    .lock()
                    .unwrap()
                    .push((shard[start].seq, shard[end - 1].seq));
                cursor.expire(batch);
                continue;
            }
            let records = &shard[start..end];
            let invocation = counter.fetch_add(1, Ordering::SeqCst) + 1;
            let response = invoke(kind, &handler, &processor, records, invocation).await;
            let sequence_numbers: Vec<String> = records
                .iter()
                .map(|record| format!("{:021}", record.seq))
                .collect();
            let read = read_response(response.as_ref(), &sequence_numbers);
            let (verdict, index) = verdict_of(read, records);
            invocations
                .lock()
                .unwrap()
                .insert(invocation, (records.to_vec(), verdict, index));
            if let Some((first, last)) = cursor.apply(batch, read, &settings) {
                destination
                    .lock()
                    .unwrap()
                    .push((shard[first].seq, shard[last - 1].seq));
            }
        }
    });
    futures_util::future::join_all(runs).await;

    let attempts = processor.attempts.lock().unwrap().clone();
    Run {
        records,
        attempts,
        invocations: invocations.into_inner().unwrap(),
        destination: destination.into_inner().unwrap(),
        max_in_flight,
    }
}

/// What a run shows.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Findings {
    /// Records neither processed nor sent to the destination.
    pub lost: Vec<u128>,
    /// (key, sequence numbers in the order they first succeeded) where that order is not stream order.
    pub out_of_order: Vec<(u32, Vec<u128>)>,
    /// (invocation, record attempted after an earlier record of its key had failed in it).
    pub skipped_ahead: Vec<(usize, u128)>,
    /// Records that succeeded before the checkpoint of their invocation (or in a complete one), yet
    /// came again.
    pub needless_redeliveries: Vec<u128>,
    /// (invocation, record) where a partial response checkpointed at a record that had succeeded.
    pub wrong_checkpoints: Vec<(usize, u128)>,
    /// (invocation, record) attempted after a later record of the stream, although the engine ran
    /// one record at a time (`max_in_flight` 1: the whole batch in stream order, across keys).
    pub out_of_stream_order: Vec<(usize, u128)>,
    /// Successes beyond the first, over all records.
    pub duplicates: usize,
    /// Invocations in which records of several keys failed (per-key lanes failing together).
    pub multi_lane_failures: usize,
}

impl Findings {
    pub fn is_clean(&self) -> bool {
        self.lost.is_empty()
            && self.out_of_order.is_empty()
            && self.skipped_ahead.is_empty()
            && self.needless_redeliveries.is_empty()
            && self.wrong_checkpoints.is_empty()
            && self.out_of_stream_order.is_empty()
    }
}

/// Checks the properties of a run.
pub fn check(run: &Run) -> Findings {
    let mut findings = Findings::default();
    let succeeded: BTreeSet<u128> = run
        .attempts
        .iter()
        .filter(|a| a.succeeded)
        .map(|a| a.record.seq)
        .collect();
    let in_destination = |seq: u128| {
        run.destination
            .iter()
            .any(|(first, last)| (*first..=*last).contains(&seq))
    };
    findings.lost = run
        .records
        .iter()
        .map(|record| record.seq)
        .filter(|seq| !succeeded.contains(seq) && !in_destination(*seq))
        .collect();

    let mut first_success: BTreeMap<u32, Vec<u128>> = BTreeMap::new();
    let mut seen = HashSet::new();
    for attempt in run.attempts.iter().filter(|attempt| attempt.succeeded) {
        if seen.insert(attempt.record.seq) {
            first_success
                .entry(attempt.record.key)
                .or_default()
                .push(attempt.record.seq);
        } else {
            findings.duplicates += 1;
        }
    }
    for (key, order) in first_success {
        if order.windows(2).any(|pair| pair[0] > pair[1]) {
            findings.out_of_order.push((key, order));
        }
    }

    let mut by_invocation: BTreeMap<usize, Vec<Attempt>> = BTreeMap::new();
    for attempt in &run.attempts {
        by_invocation
            .entry(attempt.invocation)
            .or_default()
            .push(*attempt);
    }
    for (invocation, attempts) in &by_invocation {
        // A record failed in this invocation when its last attempt here failed.
        let mut last: HashMap<u128, (usize, bool)> = HashMap::new();
        for (position, attempt) in attempts.iter().enumerate() {
            last.insert(attempt.record.seq, (position, attempt.succeeded));
        }
        let failed_keys: HashSet<u32> = attempts
            .iter()
            .filter(|attempt| last.get(&attempt.record.seq).is_some_and(|(_, ok)| !ok))
            .map(|attempt| attempt.record.key)
            .collect();
        if failed_keys.len() > 1 {
            findings.multi_lane_failures += 1;
        }
        if run.max_in_flight == 1 {
            for pair in attempts.windows(2) {
                if pair[1].record.seq < pair[0].record.seq {
                    findings
                        .out_of_stream_order
                        .push((*invocation, pair[1].record.seq));
                }
            }
        }
        for (position, attempt) in attempts.iter().enumerate() {
            let after_failure = attempts[..position].iter().any(|earlier| {
                earlier.record.key == attempt.record.key
                    && earlier.record.seq != attempt.record.seq
                    && last
                        .get(&earlier.record.seq)
                        .is_some_and(|(at, ok)| !ok && *at < position)
            });
            if after_failure {
                findings.skipped_ahead.push((*invocation, attempt.record.seq));
            }
        }
    }

    for attempt in run.attempts.iter().filter(|attempt| attempt.succeeded) {
        let Some((batch, verdict, checkpoint)) = run.invocations.get(&attempt.invocation) else {
            continue;
        };
        let position = batch
            .iter()
            .position(|record| *record == attempt.record)
            .unwrap_or(usize::MAX);
        let kept = match verdict {
            Verdict::Complete => true,
            Verdict::Partial => position < *checkpoint,
            Verdict::WholeBatchFailed => false,
        };
        let delivered_again = run
            .invocations
            .range(attempt.invocation + 1..)
            .any(|(_, (batch, _, _))| batch.contains(&attempt.record));
        if kept && delivered_again && !findings.needless_redeliveries.contains(&attempt.record.seq) {
            findings.needless_redeliveries.push(attempt.record.seq);
        }
    }
    for (invocation, (batch, verdict, checkpoint)) in &run.invocations {
        if *verdict != Verdict::Partial {
            continue;
        }
        let reported = batch[*checkpoint];
        let completed = run.attempts.iter().any(|attempt| {
            attempt.invocation == *invocation && attempt.record == reported && attempt.succeeded
        });
        if completed {
            findings.wrong_checkpoints.push((*invocation, reported.seq));
        }
    }
    findings
}
