//! `obsctl redrive`: the records behind the on-failure destination, recovered in order.
//!
//! 1. [`destination`] reads the failures: SQS pointers or S3 invocation records ([`failure`]);
//! 2. the records come from the S3 object, or from the stream ([`stream`]), rebuilt as Lambda
//!    delivers them; what the stream no longer has is reported lost, never skipped quietly;
//! 3. order: a record whose item changed again after its range (in the stream, or — where the
//!    stream cannot tell — because the table's item is no longer its new image, [`table`]) is
//!    superseded: replaying it would put old data over new, so it is skipped unless asked for;
//! 4. [`replay`]: the deployed function is invoked as the mapping would, or the events are written
//!    for `ddb-stream-processor --event`, or nothing is done (dry run);
//! 5. a failure is settled (message deleted, object tagged) only when its whole range succeeded;
//!    after a range fails again, later ranges of its shard are held back, so nothing overtakes it.
//!
//! [`summary`] prints the table at the end.

pub mod destination;
pub mod failure;
mod raw_body;
pub mod replay;
pub mod stream;
pub mod summary;
pub mod table;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use ddb_stream_processor::record::sequence_number::compare;
use serde_json::Value;

use crate::cloud::CloudError;
use destination::{Destination, Failure, Origin};
use failure::InvocationRecord;
use replay::Invoker;
use stream::{LaterChanges, RangeRead, ReadProblem, Stream, item_key, sequence_number};
use table::{Table, TableProblem, still_current, table_name};

/// What to do with the records recovered.
#[derive(Debug, Clone)]
pub enum Action {
    /// Only report.
    DryRun,
    /// Write the events into this folder.
    ToDir(PathBuf),
    /// Invoke the deployed function.
    Invoke(Invoker),
}

/// The AWS services a redrive reads.
#[derive(Debug, Clone)]
pub struct Services {
    /// Where the failures are.
    pub destination: Destination,
    /// The stream the ranges name.
    pub stream: Stream,
    /// The table, for records whose later history the stream no longer has.
    pub table: Table,
}

/// A record not replayed because its item changed again afterwards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Superseded {
    /// Its `eventID`.
    pub event_id: String,
    /// Its sequence number.
    pub sequence_number: String,
    /// How the later change is known.
    pub reason: String,
}

/// How one failure ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every record replayed (or skipped as superseded): the failure is settled.
    Recovered,
    /// Dry run: this is what would be replayed.
    WouldReplay,
    /// The events were written for `--event`; the failure is left in place.
    Written(Vec<PathBuf>),
    /// The records cannot be recovered.
    Lost(String),
    /// The function failed again; the records from the checkpoint on were not replayed.
    FailedAgain {
        /// The first record not replayed.
        checkpoint: String,
        /// How many records were not replayed.
        not_replayed: usize,
        /// What the last attempt said.
        reason: String,
    },
    /// Not attempted: an earlier range of the same shard failed again.
    HeldBack,
    /// Not an invocation record of a DynamoDB stream mapping.
    Unreadable(String),
}

/// One failure's line of the summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeReport {
    /// The message or object.
    pub origin: String,
    /// The range's shard.
    pub shard_id: String,
    /// The first and last sequence numbers.
    pub first: String,
    /// The last.
    pub last: String,
    /// Records found for the range.
    pub records: usize,
    /// Records replayed successfully (invoked, or written).
    pub replayed: usize,
    /// Records superseded by a later change (skipped unless `--include-superseded`).
    pub superseded: Vec<Superseded>,
    /// Whether superseded records were replayed anyway.
    pub superseded_replayed: bool,
    /// Records lost (the batch size when the stream no longer has the range).
    pub lost: usize,
    /// The first records of the range the stream has trimmed while it still has the rest:
    /// which sequence numbers, and why.
    pub lost_head: Option<String>,
    /// Remarks (a range holding more records than the batch had).
    pub notes: Vec<String>,
    /// How it ended.
    pub outcome: Outcome,
}

/// The whole redrive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// One line per failure, in replay order.
    pub ranges: Vec<RangeReport>,
    /// S3 objects skipped because an earlier redrive replayed them.
    pub already_replayed: usize,
}

impl Report {
    /// Whether everything the destination held is recovered (or, in a dry run or with `--to-dir`,
    /// recoverable): the exit code says so.
    pub fn complete(&self) -> bool {
        self.ranges.iter().all(|range| {
            range.lost_head.is_none()
                && matches!(
                    range.outcome,
                    Outcome::Recovered | Outcome::WouldReplay | Outcome::Written(_)
                )
        })
    }
}

/// Progress for a long redrive: told the number of failures, then each one done.
pub trait Progress {
    /// `total` failures were found.
    fn start(&self, total: usize);
    /// One failure is done; `label` names the next.
    fn advance(&self, label: &str);
}

/// No progress shown.
impl Progress for () {
    fn start(&self, _total: usize) {}
    fn advance(&self, _label: &str) {}
}

/// Runs a redrive. `Err` only when AWS cannot be asked at all; every failure it could read is in
/// the report, and those not settled were made visible again.
pub async fn run(
    services: &Services,
    action: &Action,
    include_superseded: bool,
    progress: &dyn Progress,
) -> Result<Report, CloudError> {
    let found = services.destination.failures().await?;
    let mut report = Report {
        already_replayed: found.already_replayed,
        ..Report::default()
    };
    let mut failures = found.failures;
    failures.sort_by(replay_order);
    progress.start(failures.len());
    let mut shards = Shards::default();
    let mut remaining = failures.iter();
    while let Some(failure) = remaining.next() {
        let number = report.ranges.len() + 1;
        let done = redrive_one(services, action, include_superseded, failure, number, &mut shards).await;
        let settled = match done {
            Ok(range) => {
                // A failure part of whose records is lost stays, as the evidence of the loss.
                let recovered = range.outcome == Outcome::Recovered && range.lost_head.is_none();
                services
                    .destination
                    .settle(&failure.origin, recovered)
                    .await
                    .map(|()| range)
            }
            Err(error) => Err(error),
        };
        match settled {
            Ok(range) => {
                if matches!(range.outcome, Outcome::FailedAgain { .. } | Outcome::HeldBack)
                    && let Ok(record) = &failure.record
                {
                    shards
                        .failed
                        .insert((record.info.stream_arn.clone(), record.info.shard_id.clone()));
                }
                report.ranges.push(range);
                progress.advance(&failure.origin.to_string());
            }
            Err(error) => {
                // Leave nothing hidden: what was not settled is visible again for the next run.
                for unsettled in std::iter::once(failure).chain(remaining) {
                    let _ = services.destination.settle(&unsettled.origin, false).await;
                }
                return Err(error);
            }
        }
    }
    Ok(report)
}

/// Unreadable failures first (they need a person), then by first arrival, shard and sequence number.
fn replay_order(one: &Failure, other: &Failure) -> std::cmp::Ordering {
    match (&one.record, &other.record) {
        (Err(_), Err(_)) => std::cmp::Ordering::Equal,
        (Err(_), Ok(_)) => std::cmp::Ordering::Less,
        (Ok(_), Err(_)) => std::cmp::Ordering::Greater,
        (Ok(one), Ok(other)) => (&one.info.first_arrival, &one.info.stream_arn, &one.info.shard_id)
            .cmp(&(
                &other.info.first_arrival,
                &other.info.stream_arn,
                &other.info.shard_id,
            ))
            .then_with(|| compare(&one.info.start_sequence_number, &other.info.start_sequence_number)),
    }
}

async fn redrive_one(
    services: &Services,
    action: &Action,
    include_superseded: bool,
    failure: &Failure,
    number: usize,
    shards: &mut Shards,
) -> Result<RangeReport, CloudError> {
    let record = match &failure.record {
        Ok(record) => record,
        Err(problem) => {
            return Ok(RangeReport {
                origin: failure.origin.to_string(),
                shard_id: String::new(),
                first: String::new(),
                last: String::new(),
                records: 0,
                replayed: 0,
                superseded: Vec::new(),
                superseded_replayed: false,
                lost: 0,
                lost_head: None,
                notes: Vec::new(),
                outcome: Outcome::Unreadable(problem.to_string()),
            });
        }
    };
    let info = &record.info;
    let mut range = RangeReport {
        origin: failure.origin.to_string(),
        shard_id: info.shard_id.clone(),
        first: info.start_sequence_number.clone(),
        last: info.end_sequence_number.clone(),
        records: 0,
        replayed: 0,
        superseded: Vec::new(),
        superseded_replayed: include_superseded,
        lost: 0,
        lost_head: None,
        notes: Vec::new(),
        outcome: Outcome::HeldBack,
    };
    if shards
        .failed
        .contains(&(info.stream_arn.clone(), info.shard_id.clone()))
    {
        return Ok(range);
    }
    let records = match records_of(services, record).await {
        Ok(RangeRead {
            records,
            trimmed_head: None,
        }) => records,
        Ok(RangeRead {
            records,
            trimmed_head: Some(reason),
        }) => {
            let first = sequence_number(&records[0]).unwrap_or_default();
            range.lost_head = Some(format!(
                "sequence numbers {} up to {first} (not included) of {}: {reason}",
                info.start_sequence_number, info.shard_id
            ));
            range.lost = info
                .batch_size
                .map_or(0, |size| (size as usize).saturating_sub(records.len()));
            records
        }
        Err(ReadProblem::Gone(reason) | ReadProblem::Trimmed(reason)) => {
            range.lost = info.batch_size.map_or(0, |size| size as usize);
            range.outcome = Outcome::Lost(reason);
            return Ok(range);
        }
        Err(ReadProblem::Failed(error)) => return Err(error),
    };
    range.records = records.len();
    if records.is_empty() {
        range.lost = info.batch_size.map_or(0, |size| size as usize);
        range.outcome = Outcome::Lost("the stream has no records in this range any more".into());
        return Ok(range);
    }
    if let Some(size) = info.batch_size
        && size as usize != records.len()
        && record.records.is_none()
        && range.lost_head.is_none()
    {
        range.notes.push(format!(
            "the range holds {} records in the stream, the failed batch had {size}: the mapping's \
             FilterCriteria left records out of it, and they are replayed too (to leave them out, write \
             the events with --to-dir, remove them, and replay the files with --event)",
            records.len()
        ));
    }
    range.superseded = superseded(services, shards, info, &records, &failure.origin).await?;
    let skipped: BTreeSet<&str> = if include_superseded {
        BTreeSet::new()
    } else {
        range
            .superseded
            .iter()
            .map(|record| record.sequence_number.as_str())
            .collect()
    };
    let to_replay: Vec<Value> = records
        .into_iter()
        .filter(|record| !skipped.contains(sequence_number(record).unwrap_or_default()))
        .collect();
    range.outcome = match action {
        Action::DryRun => Outcome::WouldReplay,
        Action::ToDir(folder) => {
            let written =
                replay::write_events(folder, number, &info.shard_id, &to_replay).map_err(|error| {
                    CloudError::Rejected {
                        action: format!("writing the events into {}", folder.display()),
                        message: error.to_string(),
                    }
                })?;
            range.replayed = to_replay.len();
            Outcome::Written(written)
        }
        Action::Invoke(invoker) => match invoker.replay(&to_replay).await? {
            Ok(replayed) => {
                range.replayed = replayed;
                Outcome::Recovered
            }
            Err(failed) => {
                range.replayed = failed.replayed;
                Outcome::FailedAgain {
                    checkpoint: failed.checkpoint,
                    not_replayed: failed.not_replayed,
                    reason: failed.reason,
                }
            }
        },
    };
    Ok(range)
}

/// The records of a failure: from its S3 object, else read back from the stream.
async fn records_of(services: &Services, record: &InvocationRecord) -> Result<RangeRead, ReadProblem> {
    match &record.records {
        Some(records) => Ok(RangeRead {
            records: records.clone(),
            trimmed_head: None,
        }),
        None => services.stream.read_range(&record.info).await,
    }
}

/// What the redrive knows of each shard, `(stream ARN, shard id)`, as it goes through the ranges.
#[derive(Debug, Default)]
struct Shards {
    /// Shards with a range that failed again: their later ranges are held back.
    failed: BTreeSet<(String, String)>,
    /// What changed after the end of the first range read of each shard, read once: the ranges of
    /// a shard come in stream order, and a change after a later range's end is also after that
    /// first end, which is all [`LaterChanges::changed_after`] asks.
    later: BTreeMap<(String, String), (String, LaterChanges)>,
}

impl Shards {
    /// The changes after `range` in its shard; `None` when the stream no longer has them.
    async fn later_changes(
        &mut self,
        stream: &Stream,
        range: &failure::BatchInfo,
    ) -> Result<Option<&LaterChanges>, CloudError> {
        let shard = (range.stream_arn.clone(), range.shard_id.clone());
        let read_from_here = self
            .later
            .get(&shard)
            .is_none_or(|(from, _)| compare(from, &range.end_sequence_number).is_gt());
        if read_from_here {
            match stream
                .later_changes(&range.stream_arn, &range.shard_id, &range.end_sequence_number)
                .await
            {
                Ok(later) => {
                    self.later
                        .insert(shard.clone(), (range.end_sequence_number.clone(), later));
                }
                Err(ReadProblem::Gone(_) | ReadProblem::Trimmed(_)) => return Ok(None),
                Err(ReadProblem::Failed(error)) => return Err(error),
            }
        }
        Ok(self.later.get(&shard).map(|(_, later)| later))
    }
}

/// The records of the range whose item changed again after it.
async fn superseded(
    services: &Services,
    shards: &mut Shards,
    info: &failure::BatchInfo,
    records: &[Value],
    origin: &Origin,
) -> Result<Vec<Superseded>, CloudError> {
    let later = shards.later_changes(&services.stream, info).await?;
    let mut superseded = Vec::new();
    for record in records {
        let (Some(key), Some(number)) = (item_key(record), sequence_number(record)) else {
            continue;
        };
        let reason = match &later {
            Some(later) => later
                .changed_after(&key, &info.end_sequence_number)
                .then(|| "a later change of the item is in the stream".to_owned()),
            None => by_table(services, info, record, origin).await?,
        };
        if let Some(reason) = reason {
            superseded.push(Superseded {
                event_id: record
                    .get("eventID")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_owned(),
                sequence_number: number.to_owned(),
                reason,
            });
        }
    }
    Ok(superseded)
}

/// Where the stream no longer has what came after the range: the table's current item decides.
async fn by_table(
    services: &Services,
    info: &failure::BatchInfo,
    record: &Value,
    origin: &Origin,
) -> Result<Option<String>, CloudError> {
    let Some(table) = table_name(&info.stream_arn) else {
        return Ok(Some(format!(
            "cannot tell: the stream ARN of {origin} names no table and the stream no longer has what followed"
        )));
    };
    let keys = record.pointer("/dynamodb/Keys").cloned().unwrap_or(Value::Null);
    let current = match services.table.current_item(table, &keys).await {
        Ok(current) => current,
        Err(TableProblem::BadKey(problem)) => return Ok(Some(format!("cannot tell: {problem}"))),
        Err(TableProblem::Failed(error)) => return Err(error),
    };
    Ok(match still_current(record, current.as_ref()) {
        Some(true) => None,
        Some(false) => {
            Some("the table's item has changed since (the stream no longer has the change)".to_owned())
        }
        None => Some(
            "cannot tell: the record has no new image to compare with the table's item, and the stream no \
             longer has what followed"
                .to_owned(),
        ),
    })
}
