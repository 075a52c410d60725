//! `obsctl redrive`: the records behind the on-failure destination, recovered in order.
//!
//! 1. [`mapping`] says which failures are this mapping's (its stream and function), which records it
//!    delivers (its `FilterCriteria`, evaluated by [`filter`]) and how many batches run at once per
//!    shard; failures of other mappings are left untouched;
//! 2. [`destination`] reads the failures: SQS pointers or S3 invocation records ([`failure`]),
//!    messages held only while they are worked on ([`hold`]);
//! 3. the records come from the S3 object, or from the stream ([`stream`]), read to the range's
//!    last record and rebuilt as Lambda delivers them; what the stream no longer has is reported
//!    lost, never skipped quietly;
//! 4. order: a record whose item changed again after its range, by a change the mapping delivers,
//!    is superseded ([`currency`]; the stream's later changes, and the table's current item where
//!    the stream does not show them whole, [`table`]); replaying it would put old data over new, so
//!    it is skipped unless asked for. A record whose currency cannot be told stops the range there;
//!    it is replayed only where the processor reads the item anyway (`KEYS_ONLY`);
//! 5. [`replay`]: the deployed function is invoked as the mapping would, or the events are written
//!    for `ddb-stream-processor --event`, or nothing is done (dry run); each record once per run,
//!    however many failed ranges hold it (concurrent batches of a shard overlap);
//! 6. a failure is settled (message deleted, object tagged) only when its whole range is done;
//!    otherwise its progress is kept with it, so a later run resumes after what is done, and the
//!    later ranges of its shard (and of the shards that descend from it) are held back, so nothing
//!    overtakes it.
//!
//! [`report`] holds what each failure came to, and [`summary`] prints it at the end, also when the
//! run stops part-way.

pub mod currency;
pub mod destination;
pub mod failure;
pub mod filter;
pub mod hold;
pub mod mapping;
mod raw_body;
pub mod replay;
pub mod report;
pub mod stream;
pub mod summary;
pub mod table;

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use ddb_stream_processor::record::sequence_number::compare;
use serde_json::Value;

use crate::cloud::CloudError;
use currency::{Currency, view_type};
use destination::{Destination, Failure, Settlement};
use failure::{BatchInfo, InvocationRecord};
use mapping::Mapping;
use replay::Invoker;
pub use report::{Outcome, RangeReport, RecordNote, Report, Stopped};
use stream::{LaterChanges, Lineage, RangeRead, ReadProblem, Stream, sequence_number};
use table::Table;

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

/// The AWS services a redrive reads, and the mapping it redrives.
#[derive(Debug, Clone)]
pub struct Services {
    /// Where the failures are.
    pub destination: Destination,
    /// The stream the ranges name.
    pub stream: Stream,
    /// The table, for records whose later history the stream does not show whole.
    pub table: Table,
    /// The event source mapping whose failures are redriven.
    pub mapping: Mapping,
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

/// Runs a redrive. Every failure it could read is in the report; a failure it did not settle is
/// visible again (its progress kept) for the next run. When AWS cannot be asked part-way, the
/// report of what was done comes with the error.
pub async fn run(
    services: &Services,
    action: &Action,
    include_superseded: bool,
    progress: &dyn Progress,
) -> Result<Report, Stopped> {
    let result = run_held(services, action, include_superseded, progress).await;
    services.destination.finish();
    result
}

async fn run_held(
    services: &Services,
    action: &Action,
    include_superseded: bool,
    progress: &dyn Progress,
) -> Result<Report, Stopped> {
    let found = services
        .destination
        .failures()
        .await
        .map_err(|error| Stopped { report: None, error })?;
    let mut report = Report {
        already_replayed: found.already_replayed,
        ..Report::default()
    };
    let (mut ours, others): (Vec<Failure>, Vec<Failure>) = found.failures.into_iter().partition(|failure| {
        let key = match &failure.origin {
            destination::Origin::Object { key } => Some(key.as_str()),
            destination::Origin::Message { .. } => None,
        };
        failure
            .record
            .as_ref()
            .map_or(true, |record| services.mapping.owns(&record.info, key))
    });
    report.other_mappings = others.len();
    for other in &others {
        services.destination.release(other).await;
    }
    order(&mut ours);
    progress.start(ours.len());
    let mut state = RunState::default();
    let mut remaining = ours.iter().enumerate();
    while let Some((index, failure)) = remaining.next() {
        let number = index + 1;
        let done = redrive_one(services, action, include_superseded, failure, number, &mut state).await;
        let Done {
            mut range,
            settlement,
            stopped_by,
        } = match done {
            Ok(done) => done,
            Err(error) => {
                let not_done = std::iter::once(failure).chain(remaining.map(|(_, failure)| failure));
                return Err(stop(services, report, not_done, error).await);
            }
        };
        match settlement {
            Some(settlement) => {
                if let Err(error) = services.destination.settle(failure, &settlement).await {
                    range.settle_error = Some(error.to_string());
                }
            }
            None => services.destination.release(failure).await,
        }
        if range.outcome.holds_back_the_shard() || matches!(range.outcome, Outcome::Unreadable(_)) {
            let shard = match &failure.record {
                Ok(record) => Some((record.info.stream_arn.clone(), record.info.shard_id.clone())),
                // A failure that cannot be read still names its shard: what follows it waits.
                Err(_) => failure::shard_of(&failure.body),
            };
            state.stopped.extend(shard);
        }
        report.ranges.push(range);
        progress.advance(&failure.origin.to_string());
        if let Some(error) = stopped_by {
            return Err(stop(services, report, remaining.map(|(_, failure)| failure), error).await);
        }
    }
    if matches!(action, Action::Invoke(_)) {
        report.notifications = services
            .destination
            .reconcile_notifications()
            .await
            .map_err(|error| Stopped {
                report: Some(report.clone()),
                error,
            })?;
    }
    Ok(report)
}

/// Stops the run at `error`: the failures `not_done` are visible again for the next run and reported
/// not done, after what was.
async fn stop<'a>(
    services: &Services,
    mut report: Report,
    not_done: impl Iterator<Item = &'a Failure>,
    error: CloudError,
) -> Stopped {
    for failure in not_done {
        services.destination.release(failure).await;
        let info = failure.record.as_ref().ok().map(|record| &record.info);
        report
            .ranges
            .push(RangeReport::new(failure, info, Outcome::NotDone));
    }
    Stopped {
        report: Some(report),
        error,
    }
}

/// Unreadable failures first (they need a person); then shard by shard, the shards in the order
/// their first failure reached the stream (arrival times read as times; a parent shard's records
/// come first), each shard's ranges by sequence number.
fn order(failures: &mut [Failure]) {
    let mut shard_arrival: BTreeMap<(String, String), i64> = BTreeMap::new();
    for record in failures.iter().filter_map(|failure| failure.record.as_ref().ok()) {
        let arrival = record.info.first_arrival_ms().unwrap_or(i64::MAX);
        let shard = (record.info.stream_arn.clone(), record.info.shard_id.clone());
        let earliest = shard_arrival.entry(shard).or_insert(arrival);
        *earliest = (*earliest).min(arrival);
    }
    failures.sort_by(|one, other| match (&one.record, &other.record) {
        (Err(_), Err(_)) => std::cmp::Ordering::Equal,
        (Err(_), Ok(_)) => std::cmp::Ordering::Less,
        (Ok(_), Err(_)) => std::cmp::Ordering::Greater,
        (Ok(one), Ok(other)) => {
            let shard = |record: &InvocationRecord| {
                let key = (record.info.stream_arn.clone(), record.info.shard_id.clone());
                (shard_arrival[&key], key)
            };
            shard(one)
                .cmp(&shard(other))
                .then_with(|| compare(&one.info.start_sequence_number, &other.info.start_sequence_number))
                .then_with(|| compare(&one.info.end_sequence_number, &other.info.end_sequence_number))
        }
    });
}

/// What the run knows as it goes through the failures.
#[derive(Debug, Default)]
struct RunState {
    /// Shards `(stream ARN, shard id)` with a range that was not completed: their later ranges, and
    /// those of the shards that descend from them, are held back.
    stopped: BTreeSet<(String, String)>,
    /// Each stream's shard lineage, read once.
    lineages: BTreeMap<String, Lineage>,
    /// What changed after the end of the first range read of each shard, read once: the ranges of
    /// a shard come in stream order, and a change after a later range's end is also after that
    /// first end, which is all [`LaterChanges::delivered_after`] asks.
    later: BTreeMap<(String, String), (String, LaterChanges)>,
    /// The records this run has replayed or skipped, by sequence number, with the number of the
    /// failure that did (ranges of concurrent batches overlap).
    done: BTreeMap<(String, String), BTreeMap<String, usize>>,
}

impl RunState {
    async fn lineage(&mut self, stream: &Stream, stream_arn: &str) -> Result<&Lineage, CloudError> {
        if !self.lineages.contains_key(stream_arn) {
            let lineage = match stream.lineage(stream_arn).await {
                Ok(lineage) => lineage,
                Err(ReadProblem::Failed(error)) => return Err(error),
                // A stream that is gone has no descendants to read; its ranges say they are lost.
                Err(_) => Lineage::default(),
            };
            self.lineages.insert(stream_arn.to_owned(), lineage);
        }
        Ok(&self.lineages[stream_arn])
    }

    /// Whether a range of `shard` must wait: its shard, or one it descends from, was not completed.
    fn held_back(&self, stream_arn: &str, shard: &str) -> bool {
        self.stopped.iter().any(|(stopped_stream, stopped_shard)| {
            stopped_stream == stream_arn
                && (stopped_shard == shard
                    || self
                        .lineages
                        .get(stream_arn)
                        .is_some_and(|lineage| lineage.descends_from(shard, stopped_shard)))
        })
    }

    /// The changes after `range` in its shard and its descendants.
    async fn later_changes(
        &mut self,
        services: &Services,
        range: &BatchInfo,
    ) -> Result<&LaterChanges, CloudError> {
        let shard = (range.stream_arn.clone(), range.shard_id.clone());
        let read_from_here = self
            .later
            .get(&shard)
            .is_none_or(|(from, _)| compare(from, &range.end_sequence_number).is_gt());
        if read_from_here {
            let later = services
                .stream
                .later_changes(
                    &range.stream_arn,
                    &range.shard_id,
                    &range.end_sequence_number,
                    &services.mapping.filter,
                )
                .await?;
            self.later
                .insert(shard.clone(), (range.end_sequence_number.clone(), later));
        }
        Ok(&self.later[&shard].1)
    }
}

/// How one failure went.
struct Done {
    /// Its line of the summary.
    range: RangeReport,
    /// How to settle it (`None`: leave it as it is, visible again).
    settlement: Option<Settlement>,
    /// Why the run must stop after settling it, when the Lambda API stopped its replay part-way.
    stopped_by: Option<CloudError>,
}

impl Done {
    fn settled(range: RangeReport, settlement: Option<Settlement>) -> Self {
        Self {
            range,
            settlement,
            stopped_by: None,
        }
    }
}

/// How one failure went; `Err` when AWS could not be asked before anything was replayed.
async fn redrive_one(
    services: &Services,
    action: &Action,
    include_superseded: bool,
    failure: &Failure,
    number: usize,
    state: &mut RunState,
) -> Result<Done, CloudError> {
    let record = match &failure.record {
        Ok(record) => record,
        Err(problem) => {
            return Ok(Done::settled(
                RangeReport::new(failure, None, Outcome::Unreadable(problem.to_string())),
                None,
            ));
        }
    };
    let info = &record.info;
    let mut range = RangeReport::new(failure, Some(info), Outcome::HeldBack);
    range.superseded_replayed = include_superseded;
    if let Some(reason) = services.destination.hold_lost(failure) {
        range.outcome = Outcome::HoldLost(reason);
        return Ok(Done::settled(range, None));
    }
    state.lineage(&services.stream, &info.stream_arn).await?;
    if state.held_back(&info.stream_arn, &info.shard_id) {
        return Ok(Done::settled(range, None));
    }

    // The records, as the mapping delivers them.
    let from_stream = record.records.is_none();
    let read = match records_of(services, record).await {
        Ok(read) => read,
        Err(ReadProblem::Gone(reason) | ReadProblem::Trimmed(reason)) => {
            range.lost = info.batch_size.map_or(0, |size| size as usize);
            range.outcome = Outcome::Lost(reason);
            return Ok(Done::settled(
                range,
                Some(Settlement::Kept {
                    replayed_through: None,
                }),
            ));
        }
        Err(ReadProblem::NotReadToEnd(reason)) => {
            range.outcome = Outcome::NotReadToEnd(reason);
            return Ok(Done::settled(range, None));
        }
        Err(ReadProblem::Failed(error)) => return Err(error),
    };
    let all = read.records;
    if let Some(reason) = &read.trimmed_head {
        let first = all
            .first()
            .and_then(|record| sequence_number(record))
            .unwrap_or_default();
        range.lost_head = Some(format!(
            "sequence numbers {} up to {first} (not included) of {}: {reason}",
            info.start_sequence_number, info.shard_id
        ));
    }
    let delivered: Vec<&Value> = if from_stream {
        all.iter()
            .filter(|record| services.mapping.filter.delivers(record))
            .collect()
    } else {
        // The object holds the batch the mapping delivered.
        all.iter().collect()
    };
    range.left_out = all.len() - delivered.len();
    range.records = delivered.len();
    if let Some(size) = info.batch_size
        && read.trimmed_head.is_some()
    {
        range.lost = (size as usize).saturating_sub(delivered.len());
    }
    if delivered.is_empty() && range.left_out == 0 {
        range.lost = info.batch_size.map_or(0, |size| size as usize);
        range.outcome = Outcome::Lost("the stream has no records in this range any more".into());
        return Ok(Done::settled(
            range,
            Some(Settlement::Kept {
                replayed_through: None,
            }),
        ));
    }
    if let Some(size) = info.batch_size
        && from_stream
        && read.trimmed_head.is_none()
        && delivered.len() != size as usize
    {
        let factor = services.mapping.parallelization_factor;
        match batch_count(delivered.len(), size, factor) {
            Ok(note) => range.notes.push(note),
            Err(mismatch) => {
                // The range is not what the failed batch was: replaying it would run records the
                // batch never had or skip some it had. A person decides; --to-dir gives them all.
                if let Action::ToDir(folder) = action {
                    range.files = write(folder, number, &info.shard_id, &all)?;
                }
                range.outcome = Outcome::Mismatch(mismatch);
                return Ok(Done::settled(range, None));
            }
        }
    }

    // What an earlier run, or an earlier failure of this run, has done.
    let shard = (info.stream_arn.clone(), info.shard_id.clone());
    let done_in_run = state.done.entry(shard.clone()).or_default().clone();
    let progress = failure_progress(failure);
    let mut to_decide: Vec<&Value> = Vec::new();
    let mut earlier_run = 0;
    let mut earlier_range: Option<(usize, usize)> = None;
    for record in delivered {
        let number = sequence_number(record).unwrap_or_default();
        if let Some(through) = &progress
            && compare(number, through).is_le()
        {
            earlier_run += 1;
        } else if let Some(by) = done_in_run.get(number) {
            let (count, _) = earlier_range.get_or_insert((0, *by));
            *count += 1;
        } else {
            to_decide.push(record);
        }
    }
    if earlier_run > 0 {
        let resumed_at = to_decide
            .first()
            .and_then(|record| sequence_number(record))
            .unwrap_or(&info.end_sequence_number)
            .to_owned();
        range.earlier_run = Some((earlier_run, resumed_at));
    }
    range.earlier_range = earlier_range;

    // Whether each record is still current.
    let records: Vec<Value> = to_decide.iter().map(|record| (*record).clone()).collect();
    let currency = if records.is_empty() {
        Vec::new()
    } else {
        let later = state.later_changes(services, info).await?;
        currency::decide(
            &services.table,
            &info.stream_arn,
            !services.mapping.filter.is_empty(),
            &records,
            &all,
            later,
            &info.end_sequence_number,
        )
        .await?
    };
    let mut to_replay: Vec<Value> = Vec::new();
    let mut stop: Option<usize> = None;
    for (index, (record, currency)) in records.iter().zip(currency).enumerate() {
        match currency {
            Currency::Current => to_replay.push(record.clone()),
            Currency::Superseded(reason) => {
                range.superseded.push(RecordNote::of(record, reason));
                if include_superseded {
                    to_replay.push(record.clone());
                }
            }
            Currency::CannotTell(reason) if view_type(record) == "KEYS_ONLY" || include_superseded => {
                let why = if view_type(record) == "KEYS_ONLY" {
                    "the stream has keys only (KEYS_ONLY), so the processor reads the item itself".to_owned()
                } else {
                    format!("{reason} (--include-superseded)")
                };
                range.replayed_undecided.push(RecordNote::of(record, why));
                to_replay.push(record.clone());
            }
            Currency::CannotTell(reason) => {
                range.outcome = Outcome::CannotTell {
                    record: RecordNote::of(record, reason),
                    after: records.len() - index - 1,
                };
                stop = Some(index);
                break;
            }
        }
    }
    let stop_at = stop.map(|index| sequence_number(&records[index]).unwrap_or_default().to_owned());

    // The replay.
    let mut first_not_done: Option<String> = stop_at.clone();
    let mut stopped_by: Option<CloudError> = None;
    let replayed = match action {
        Action::DryRun => {
            if stop.is_none() {
                range.outcome = Outcome::WouldReplay;
            }
            0
        }
        Action::ToDir(folder) => {
            range.files = write(folder, number, &info.shard_id, &to_replay)?;
            if stop.is_none() {
                range.outcome = Outcome::Written;
            }
            to_replay.len()
        }
        Action::Invoke(invoker) => match invoker.replay(&to_replay).await {
            Err(interrupted) => {
                // What was replayed before the Lambda API stopped the run is kept as progress.
                first_not_done = to_replay
                    .get(interrupted.replayed)
                    .and_then(|record| sequence_number(record))
                    .map(str::to_owned)
                    .or(first_not_done);
                range.outcome = Outcome::NotDone;
                stopped_by = Some(interrupted.error);
                interrupted.replayed
            }
            Ok(Ok(replayed)) => {
                if stop.is_none() {
                    range.outcome = Outcome::Recovered;
                }
                replayed
            }
            Ok(Err(failed)) => {
                first_not_done = Some(failed.checkpoint.clone());
                range.outcome = Outcome::FailedAgain {
                    checkpoint: failed.checkpoint,
                    not_replayed: failed.not_replayed,
                    reason: failed.reason,
                };
                failed.replayed
            }
        },
    };
    range.replayed = replayed;

    // What this run has done of the shard, for the ranges after this one.
    let marks = state.done.entry(shard).or_default();
    for record in &records {
        let record_number = sequence_number(record).unwrap_or_default();
        if first_not_done
            .as_deref()
            .is_some_and(|first| compare(record_number, first).is_ge())
        {
            break;
        }
        marks.entry(record_number.to_owned()).or_insert(number);
    }

    // How to settle it.
    let settlement = match (&range.outcome, action) {
        (_, Action::DryRun | Action::ToDir(_)) => None,
        (Outcome::Recovered, _) if range.lost_head.is_none() => Some(Settlement::Recovered),
        _ => Some(Settlement::Kept {
            replayed_through: replayed_through(&all, first_not_done.as_deref()).or(progress),
        }),
    };
    Ok(Done {
        range,
        settlement,
        stopped_by,
    })
}

/// The progress an earlier run left with the failure.
fn failure_progress(failure: &Failure) -> Option<String> {
    failure
        .record
        .as_ref()
        .ok()
        .and_then(|record| record.replayed_through.clone())
}

/// The last sequence number of `records` (the whole range, as read) before `first_not_done`
/// (`None`: all of them are done).
fn replayed_through(records: &[Value], first_not_done: Option<&str>) -> Option<String> {
    records
        .iter()
        .filter_map(|record| sequence_number(record))
        .filter(|number| first_not_done.is_none_or(|first| compare(number, first).is_lt()))
        .max_by(|one, other| compare(one, other))
        .map(str::to_owned)
}

/// Whether a range read from the stream that holds `held` records the mapping delivers can be the
/// failed batch of `batch_size`: with `ParallelizationFactor` above 1 it may hold more (the shard's
/// other concurrent batches), which is said (`Ok`); anything else does not add up (`Err`, why).
fn batch_count(held: usize, batch_size: u64, parallelization_factor: u32) -> Result<String, String> {
    if held as u64 > batch_size && parallelization_factor > 1 {
        Ok(format!(
            "the range holds {held} records in the stream, the failed batch had {batch_size}: with \
             ParallelizationFactor {parallelization_factor} it also holds the records of the shard's other \
             concurrent batches (other items), which are replayed too"
        ))
    } else {
        Err(format!(
            "the range holds {held} records the mapping's FilterCriteria deliver as they are now, the failed \
             batch had {batch_size}: the filters changed since, or obsctl reads them otherwise than Lambda did"
        ))
    }
}

/// Writes `records` as events into `folder` (`--to-dir`).
fn write(
    folder: &std::path::Path,
    number: usize,
    shard_id: &str,
    records: &[Value],
) -> Result<Vec<PathBuf>, CloudError> {
    replay::write_events(folder, number, shard_id, records).map_err(|error| CloudError::Rejected {
        action: format!("writing the events into {}", folder.display()),
        message: error.to_string(),
    })
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn record(number: &str) -> Value {
        json!({"dynamodb": {"SequenceNumber": number}})
    }

    #[test]
    fn progress_is_the_last_record_before_the_first_one_not_done() {
        let records = [record("100"), record("101"), record("102")];
        assert_eq!(replayed_through(&records, Some("102")).as_deref(), Some("101"));
        assert_eq!(replayed_through(&records, None).as_deref(), Some("102"));
        assert_eq!(replayed_through(&records, Some("100")), None, "nothing done yet");
    }

    #[test]
    fn a_range_holds_more_records_than_its_batch_only_with_concurrent_batches() {
        assert!(batch_count(4, 2, 2).unwrap().contains("ParallelizationFactor 2"));
        assert!(
            batch_count(4, 2, 1)
                .unwrap_err()
                .contains("the filters changed since")
        );
        assert!(
            batch_count(1, 2, 3)
                .unwrap_err()
                .contains("the failed batch had 2")
        );
    }

    /// A failure read from `body`, from the message `id`.
    fn failure(id: &str, body: Value) -> Failure {
        let body = body.to_string().into_bytes();
        Failure {
            origin: destination::Origin::Message { id: id.into() },
            record: failure::parse(&body),
            body,
        }
    }

    fn pointer(shard: &str, first: &str, last: &str, arrival: &str) -> Value {
        json!({"DDBStreamBatchInfo": {
            "shardId": shard, "startSequenceNumber": first, "endSequenceNumber": last,
            "approximateArrivalOfFirstRecord": arrival, "batchSize": 1,
            "streamArn": "arn:aws:dynamodb:eu-west-1:1:table/t/stream/s"
        }})
    }

    #[test]
    fn failures_go_unreadable_first_then_shard_by_shard_by_arrival_then_by_sequence_number() {
        let mut failures = vec![
            failure("b-late", pointer("b", "900", "905", "2026-12-02T00:00:05Z")),
            failure("a-late", pointer("a", "2000", "2001", "2026-12-02T00:00:00.500Z")),
            failure("unreadable", json!({"no": "pointer"})),
            failure("a-early", pointer("a", "999", "1000", "2026-12-02T00:00:09Z")),
            failure("b-early", pointer("b", "100", "120", "2026-12-02T00:00:04Z")),
        ];
        order(&mut failures);
        let ids: Vec<String> = failures
            .iter()
            .map(|failure| failure.origin.to_string())
            .collect();
        assert_eq!(
            ids,
            [
                "message unreadable",
                "message a-early",
                "message a-late",
                "message b-early",
                "message b-late"
            ],
            "shard a first (its earliest failure arrived first), 999 before 2000 as numbers"
        );
    }

    #[test]
    fn a_shard_is_held_back_after_its_own_or_an_ancestors_range_was_not_completed() {
        let mut state = RunState::default();
        let mut lineage = Lineage::default();
        lineage.insert_parent("child", "parent");
        state.lineages.insert("stream-1".into(), lineage);
        assert!(!state.held_back("stream-1", "parent"));
        state.stopped.insert(("stream-1".into(), "parent".into()));
        assert!(state.held_back("stream-1", "parent"));
        assert!(
            state.held_back("stream-1", "child"),
            "a child's records come after its parent's"
        );
        assert!(!state.held_back("stream-1", "other"));
        assert!(
            !state.held_back("stream-2", "parent"),
            "another stream's shard of that name"
        );
    }
}
