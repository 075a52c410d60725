//! What a redrive came to: one [`RangeReport`] per failure, its [`Outcome`], and the whole
//! [`Report`] the summary prints and the exit code reads. Records are named by event id and sequence
//! number only ([`RecordNote`]), never by key or value.

use std::path::PathBuf;

use serde_json::Value;

use super::destination::{Failure, Notifications};
use super::failure::BatchInfo;
use super::stream::sequence_number;
use crate::cloud::CloudError;

/// A record named in the summary: by event id and sequence number, never by key or value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordNote {
    /// Its `eventID`.
    pub event_id: String,
    /// Its sequence number.
    pub sequence_number: String,
    /// What is said of it.
    pub reason: String,
}

impl RecordNote {
    pub(super) fn of(record: &Value, reason: String) -> Self {
        Self {
            event_id: record
                .get("eventID")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_owned(),
            sequence_number: sequence_number(record).unwrap_or_default().to_owned(),
            reason,
        }
    }
}

/// How one failure ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Every record replayed (or skipped as superseded): the failure is settled.
    Recovered,
    /// Dry run: this is what would be replayed.
    WouldReplay,
    /// The events were written for `--event`; the failure is left in place.
    Written,
    /// The records cannot be recovered.
    Lost(String),
    /// The range was not read to its last record: nothing was replayed.
    NotReadToEnd(String),
    /// The range read back is not what the failed batch was (its count differs): nothing was
    /// replayed.
    Mismatch(String),
    /// The function failed again; the records from the checkpoint on were not replayed.
    FailedAgain {
        /// The first record not replayed.
        checkpoint: String,
        /// How many records were not replayed.
        not_replayed: usize,
        /// What the last attempt said.
        reason: String,
    },
    /// Whether a record is still current cannot be told: it and the records after it were not
    /// replayed.
    CannotTell {
        /// The record.
        record: RecordNote,
        /// How many records after it were not replayed.
        after: usize,
    },
    /// Not attempted: an earlier range of the same shard (or of a shard it descends from) was not
    /// completed.
    HeldBack,
    /// Not an invocation record of a DynamoDB stream mapping.
    Unreadable(String),
    /// The message's hold was lost before the redrive got to it: another reader may have it.
    HoldLost(String),
    /// The run stopped before this failure was done.
    NotDone,
}

impl Outcome {
    /// Whether the failure is done with (or would be, or is written): nothing is left to recover.
    pub(super) fn is_complete(&self) -> bool {
        matches!(self, Self::Recovered | Self::WouldReplay | Self::Written)
    }

    /// Whether later ranges of the same shard must wait for this one.
    pub(super) fn holds_back_the_shard(&self) -> bool {
        matches!(
            self,
            Self::FailedAgain { .. }
                | Self::CannotTell { .. }
                | Self::NotReadToEnd(_)
                | Self::Mismatch(_)
                | Self::HeldBack
                | Self::HoldLost(_)
                | Self::NotDone
        )
    }
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
    /// Records of the range the mapping delivers (read from the stream, or held by the S3 object).
    pub records: usize,
    /// Records replayed successfully (invoked, or written).
    pub replayed: usize,
    /// Records superseded by a later change (skipped unless `--include-superseded`).
    pub superseded: Vec<RecordNote>,
    /// Whether superseded records were replayed anyway.
    pub superseded_replayed: bool,
    /// Records replayed although their currency cannot be told, and why that is safe.
    pub replayed_undecided: Vec<RecordNote>,
    /// Records of the range the mapping's `FilterCriteria` never deliver (not replayed).
    pub left_out: usize,
    /// Records an earlier run replayed (the failure's progress), and the first record after them.
    pub earlier_run: Option<(usize, String)>,
    /// Records an earlier failure of this run replayed, and that failure's number.
    pub earlier_range: Option<(usize, usize)>,
    /// Records lost (the batch size when the stream no longer has the range).
    pub lost: usize,
    /// The first records of the range the stream has trimmed while it still has the rest:
    /// which sequence numbers, and why.
    pub lost_head: Option<String>,
    /// Remarks (a range holding more records than the batch had).
    pub notes: Vec<String>,
    /// The event files written (`--to-dir`).
    pub files: Vec<PathBuf>,
    /// Why the failure could not be settled (deleted, tagged, its progress kept), if it could not.
    pub settle_error: Option<String>,
    /// How it ended.
    pub outcome: Outcome,
}

impl RangeReport {
    pub(super) fn new(failure: &Failure, info: Option<&BatchInfo>, outcome: Outcome) -> Self {
        Self {
            origin: failure.origin.to_string(),
            shard_id: info.map(|info| info.shard_id.clone()).unwrap_or_default(),
            first: info
                .map(|info| info.start_sequence_number.clone())
                .unwrap_or_default(),
            last: info
                .map(|info| info.end_sequence_number.clone())
                .unwrap_or_default(),
            records: 0,
            replayed: 0,
            superseded: Vec::new(),
            superseded_replayed: false,
            replayed_undecided: Vec::new(),
            left_out: 0,
            earlier_run: None,
            earlier_range: None,
            lost: 0,
            lost_head: None,
            notes: Vec::new(),
            files: Vec::new(),
            settle_error: None,
            outcome,
        }
    }

    /// Whether nothing is left to recover of this failure.
    pub fn is_complete(&self) -> bool {
        self.outcome.is_complete() && self.lost_head.is_none() && self.settle_error.is_none()
    }
}

/// The whole redrive.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    /// One line per failure of the mapping, in replay order.
    pub ranges: Vec<RangeReport>,
    /// S3 objects skipped because an earlier redrive replayed them.
    pub already_replayed: usize,
    /// Failures of other event source mappings, left untouched.
    pub other_mappings: usize,
    /// The failure queue's notifications of S3 objects, reconciled after the run.
    pub notifications: Option<Notifications>,
}

impl Report {
    /// Whether everything the destination held for the mapping is recovered (or, in a dry run or
    /// with `--to-dir`, recoverable): the exit code says so.
    pub fn complete(&self) -> bool {
        self.ranges.iter().all(RangeReport::is_complete)
    }
}

/// A run that stopped part-way: what it had done, and why it stopped.
#[derive(Debug)]
pub struct Stopped {
    /// The report of what was done; `None` when the stop came before any failure was read.
    pub report: Option<Report>,
    /// Why.
    pub error: CloudError,
}
