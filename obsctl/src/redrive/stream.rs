//! Reading a failed range back from the DynamoDB stream, and what changed after it.
//!
//! A range is read with `GetShardIterator` `AT_SEQUENCE_NUMBER` its first record and `GetRecords`
//! up to its last, and every record is rebuilt as Lambda delivers it: the wire record as the stream
//! sent it (the response body, kept by `raw_body`) plus `eventSourceARN`, in stream order.
//! DynamoDB Streams may answer empty pages before a shard's records, so a range read goes on
//! through empty pages until it reaches the range's last sequence number; one that does not within
//! the time budget, or meets the end of a closed shard first, is [`ReadProblem::NotReadToEnd`] and
//! is neither replayed nor settled. What the stream no longer has (`TrimmedDataAccessException`
//! after 24 hours, a shard or stream that is gone) is a [`ReadProblem::Trimmed`] or
//! [`ReadProblem::Gone`]: the records are lost, and the caller says so. When only the first records
//! of a range are trimmed, the rest are still read.
//!
//! [`Stream::later_changes`] reads the shard on from the end of a range, and every shard that
//! descends from it, to learn each item's later changes: the last one the mapping's filter
//! delivers, and the last one of all with the state it left. That read is complete only when it
//! reached the end of closed shards; an open shard has no end, so the read stops at its tip (a few
//! empty pages in a row), or at the time budget, and says it is incomplete: the table then decides.

use std::collections::BTreeMap;
use std::time::Duration;

use aws_sdk_dynamodbstreams::Client;
use aws_sdk_dynamodbstreams::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use ddb_stream_processor::record::sequence_number::compare;
use serde_json::Value;
use tokio::time::Instant;

use super::failure::BatchInfo;
use super::filter::Criteria;
use super::raw_body::RawBody;
use crate::cloud::{CloudError, explain};

/// The most records one `GetRecords` call returns.
const PAGE_LIMIT: i32 = 1000;
/// Empty pages in a row taken as the tip of an open shard by a read that has no last record to
/// reach (a read of later changes; it then says it is incomplete).
const EMPTY_PAGES_AT_THE_TIP: usize = 3;
/// The pause after an empty page: GetRecords allows five calls a second per shard.
const EMPTY_PAGE_PAUSE: Duration = Duration::from_millis(250);
/// How many times one read renews an expired iterator before it gives up.
const MAX_RENEWALS: usize = 5;

/// Why records could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadProblem {
    /// The stream no longer has them: they are lost (unless an S3 object holds them).
    #[error("{0}")]
    Gone(String),
    /// The stream has trimmed the position asked for (records older than 24 hours); later records
    /// of the shard may still be there.
    #[error("{0}")]
    Trimmed(String),
    /// The read did not reach the range's last record: nothing is known of the rest.
    #[error("{0}")]
    NotReadToEnd(String),
    /// AWS could not be asked (credentials, network, permissions): nothing is known about them.
    #[error(transparent)]
    Failed(#[from] CloudError),
}

/// A range read back from the stream.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeRead {
    /// Its records the stream still has, as Lambda delivers them, in stream order.
    pub records: Vec<Value>,
    /// Why the records before the first of `records` are missing, when the stream has trimmed them.
    pub trimmed_head: Option<String>,
}

/// Where a read starts in a shard.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Start {
    /// At this sequence number.
    At(String),
    /// Just after it.
    After(String),
    /// At the oldest record the shard still has.
    TrimHorizon,
}

/// Why one `GetRecords` page could not be had.
enum PageProblem {
    /// The iterator is older than 15 minutes: take a new one and go on.
    Expired(String),
    /// Anything else.
    Read(ReadProblem),
}

/// The state a change left its item in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemState {
    /// Written with this new image (DynamoDB JSON).
    Written(Value),
    /// Deleted.
    Removed,
    /// Not in the record (a `KEYS_ONLY` or `OLD_IMAGE` stream).
    Unknown,
}

impl ItemState {
    /// The state `record` (a stream record) left its item in.
    pub fn of(record: &Value) -> Self {
        if record.get("eventName").and_then(Value::as_str) == Some("REMOVE") {
            return Self::Removed;
        }
        record
            .pointer("/dynamodb/NewImage")
            .map_or(Self::Unknown, |image| Self::Written(image.clone()))
    }
}

/// Where a change is, after a point of a shard: in the shard itself (generation 0, by sequence
/// number), or in a shard that descends from it (its generation: 1 for a child), which comes after
/// every record of its ancestors whatever the sequence numbers say (AWS documents no order of
/// sequence numbers across shards).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// 0 for the shard of the range, 1 for its children, and so on.
    pub generation: u32,
    /// The change's sequence number.
    pub number: String,
}

impl Position {
    /// Whether the change comes after the record with sequence number `number` of the range's shard.
    pub fn is_after(&self, number: &str) -> bool {
        self.generation > 0 || compare(&self.number, number).is_gt()
    }

    fn is_after_position(&self, other: &Self) -> bool {
        self.generation > other.generation
            || (self.generation == other.generation && compare(&self.number, &other.number).is_gt())
    }
}

/// What is known of one item's changes after a point of the stream.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct History {
    /// The last change the mapping's filter delivers, if any.
    pub last_delivered: Option<Position>,
    /// The last change of all (delivered or not), and the state it left.
    pub last: (Position, ItemState),
}

/// The items that changed after a point of the stream, and whether that is all of them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaterChanges {
    /// Item key (canonical, [`item_key`]) → what is known of its later changes.
    pub by_key: BTreeMap<String, History>,
    /// Why these may not be all the later changes (the read stopped at an open shard's tip or at
    /// the time budget, or the stream no longer has them), phrased to follow "and"; `None` when
    /// closed shards were read to their end.
    pub incomplete: Option<String>,
}

impl LaterChanges {
    /// Whether a change of the item with `key` after sequence number `after` (of the range's shard)
    /// was delivered.
    pub fn delivered_after(&self, key: &str, after: &str) -> bool {
        self.by_key
            .get(key)
            .and_then(|history| history.last_delivered.as_ref())
            .is_some_and(|last| last.is_after(after))
    }

    /// The last change of the item with `key`, when it comes after sequence number `after` (of the
    /// range's shard).
    pub fn last_after(&self, key: &str, after: &str) -> Option<&(Position, ItemState)> {
        self.by_key
            .get(key)
            .map(|history| &history.last)
            .filter(|(position, _)| position.is_after(after))
    }

    fn record(&mut self, record: &Value, delivered: bool, generation: u32) {
        let (Some(key), Some(number)) = (item_key(record), sequence_number(record)) else {
            return;
        };
        let position = Position {
            generation,
            number: number.to_owned(),
        };
        let change = (position.clone(), ItemState::of(record));
        let history = self.by_key.entry(key).or_insert_with(|| History {
            last_delivered: None,
            last: change.clone(),
        });
        if !history.last.0.is_after_position(&position) {
            history.last = change;
        }
        if delivered
            && history
                .last_delivered
                .as_ref()
                .is_none_or(|last| position.is_after_position(last))
        {
            history.last_delivered = Some(position);
        }
    }
}

/// The item key of a stream record: its `dynamodb.Keys`, in one canonical text (attributes sorted by
/// name), so two records of the same item compare equal.
pub fn item_key(record: &Value) -> Option<String> {
    let keys = record.pointer("/dynamodb/Keys")?.as_object()?;
    let sorted: BTreeMap<&String, &Value> = keys.iter().collect();
    serde_json::to_string(&sorted).ok()
}

/// Makes a stream record the record of a Lambda event: `eventSourceARN` added, and
/// `ApproximateCreationDateTime` in epoch seconds as Lambda writes them (a whole number when it is
/// one: the stream may send `1796169840.000`, Lambda's events say `1796169840`).
pub fn as_lambda_delivers(record: &mut Value, stream_arn: &str) {
    if let Some(time) = record.pointer_mut("/dynamodb/ApproximateCreationDateTime")
        && let Some(seconds) = time.as_f64()
        && seconds.fract() == 0.0
        && seconds.abs() < 1e15
    {
        *time = Value::from(seconds as i64);
    }
    if let Some(fields) = record.as_object_mut() {
        fields.insert("eventSourceARN".into(), Value::String(stream_arn.to_owned()));
    }
}

/// A record's sequence number.
pub fn sequence_number(record: &Value) -> Option<&str> {
    record.pointer("/dynamodb/SequenceNumber")?.as_str()
}

/// Which shard descends from which, in one stream.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Lineage {
    parents: BTreeMap<String, String>,
}

impl Lineage {
    /// Records that `parent` is `child`'s parent.
    pub fn insert_parent(&mut self, child: &str, parent: &str) {
        self.parents.insert(child.to_owned(), parent.to_owned());
    }

    /// The shards whose parent is `shard_id`.
    pub fn children(&self, shard_id: &str) -> Vec<String> {
        self.parents
            .iter()
            .filter(|(_, parent)| parent.as_str() == shard_id)
            .map(|(child, _)| child.clone())
            .collect()
    }

    /// Whether `ancestor` is `shard_id`'s parent, or its parent's, and so on.
    pub fn descends_from(&self, shard_id: &str, ancestor: &str) -> bool {
        let mut current = shard_id;
        // A lineage is a tree; the bound only guards against a malformed answer.
        for _ in 0..=self.parents.len() {
            match self.parents.get(current) {
                Some(parent) if parent == ancestor => return true,
                Some(parent) => current = parent,
                None => return false,
            }
        }
        false
    }
}

/// One read of a shard.
struct ShardRead {
    records: Vec<Value>,
    /// Why the read stopped before the shard's end; `None` when a closed shard was read to its end
    /// (or a range read reached its last record).
    stopped: Option<String>,
}

/// The DynamoDB Streams API of one account and region.
#[derive(Debug, Clone)]
pub struct Stream {
    client: Client,
    budget: Duration,
}

impl Stream {
    /// The client for `config`; one range read, or one read of later changes, takes at most
    /// `budget`.
    pub fn new(config: &aws_config::SdkConfig, budget: Duration) -> Self {
        Self {
            client: Client::new(config),
            budget,
        }
    }

    /// The records of `range`, as Lambda delivers them, in stream order, read to the range's last
    /// record. When the stream has trimmed the range's first records but not all of them, the rest
    /// are read from the shard's oldest record on, and the trimmed head is said.
    pub async fn read_range(&self, range: &BatchInfo) -> Result<RangeRead, ReadProblem> {
        let deadline = Instant::now() + self.budget;
        let read = |start| {
            self.read(
                &range.stream_arn,
                &range.shard_id,
                start,
                Some(&range.end_sequence_number),
                deadline,
            )
        };
        let (read, trimmed_head) = match read(Start::At(range.start_sequence_number.clone())).await {
            Ok(read) => (read, None),
            Err(ReadProblem::Trimmed(reason)) => {
                // The whole range is gone when its last record is trimmed too; else the rest is read
                // from the shard's oldest record on.
                let last = Start::At(range.end_sequence_number.clone());
                self.iterator(&range.stream_arn, &range.shard_id, &last).await?;
                (read(Start::TrimHorizon).await?, Some(reason))
            }
            Err(problem) => return Err(problem),
        };
        if let Some(stopped) = read.stopped {
            return Err(ReadProblem::NotReadToEnd(stopped));
        }
        let mut records: Vec<Value> = read
            .records
            .into_iter()
            .filter(|record| {
                sequence_number(record)
                    .is_some_and(|number| compare(number, &range.start_sequence_number).is_ge())
            })
            .collect();
        if records.is_empty()
            && let Some(reason) = trimmed_head
        {
            return Err(ReadProblem::Trimmed(reason));
        }
        for record in &mut records {
            as_lambda_delivers(record, &range.stream_arn);
        }
        Ok(RangeRead {
            records,
            trimmed_head,
        })
    }

    /// What changed after sequence number `after` of `shard_id`: the rest of the shard and every
    /// shard that descends from it, each change marked delivered when `filter` delivers it. The
    /// shards' lineage is read when the read starts, and again when a closed shard shows no child:
    /// a shard that closed while the redrive ran has children the first reading did not know.
    pub async fn later_changes(
        &self,
        stream_arn: &str,
        shard_id: &str,
        after: &str,
        filter: &Criteria,
    ) -> Result<LaterChanges, CloudError> {
        let deadline = Instant::now() + self.budget;
        let mut lineage = self.lineage_or_none(stream_arn).await?;
        let mut changes = LaterChanges::default();
        let mut shards = vec![(shard_id.to_owned(), Start::After(after.to_owned()), 0)];
        while let Some((shard, start, generation)) = shards.pop() {
            let read = match self.read(stream_arn, &shard, start, None, deadline).await {
                Ok(read) => Some(read),
                Err(ReadProblem::Failed(error)) => return Err(error),
                Err(ReadProblem::Trimmed(_)) => {
                    changes.incomplete = Some("the stream no longer shows what followed".into());
                    None
                }
                Err(ReadProblem::Gone(reason) | ReadProblem::NotReadToEnd(reason)) => {
                    changes.incomplete = Some(format!("the stream does not show what followed ({reason})"));
                    None
                }
            };
            let mut ended = false;
            if let Some(read) = read {
                for mut record in read.records {
                    as_lambda_delivers(&mut record, stream_arn);
                    let delivered = filter.delivers(&record);
                    changes.record(&record, delivered, generation);
                }
                match read.stopped {
                    Some(stopped) => {
                        changes.incomplete.get_or_insert(stopped);
                    }
                    None => ended = true,
                }
            }
            let mut children = lineage.children(&shard);
            if children.is_empty() && ended {
                lineage = self.lineage_or_none(stream_arn).await?;
                children = lineage.children(&shard);
            }
            shards.extend(
                children
                    .into_iter()
                    .map(|child| (child, Start::TrimHorizon, generation + 1)),
            );
        }
        Ok(changes)
    }

    /// The stream's lineage; none when the stream is gone (its reads then say so).
    async fn lineage_or_none(&self, stream_arn: &str) -> Result<Lineage, CloudError> {
        match self.lineage(stream_arn).await {
            Ok(lineage) => Ok(lineage),
            Err(ReadProblem::Failed(error)) => Err(error),
            Err(_) => Ok(Lineage::default()),
        }
    }

    /// The records of a shard from `start` through sequence number `through` (`None`: to the end of
    /// a closed shard, or the tip of an open one), in stream order, until `deadline`. An iterator
    /// that expires on the way (they live 15 minutes) is renewed where it stood.
    async fn read(
        &self,
        stream_arn: &str,
        shard_id: &str,
        start: Start,
        through: Option<&str>,
        deadline: Instant,
    ) -> Result<ShardRead, ReadProblem> {
        let mut records: Vec<Value> = Vec::new();
        let mut iterator = self.iterator(stream_arn, shard_id, &start).await?;
        let mut empty_pages = 0;
        let mut renewals = 0;
        let stopped = |records: &[Value], why: String| {
            let from = match records.last().and_then(sequence_number) {
                Some(last) => format!("after sequence number {last}"),
                None => match &start {
                    Start::At(number) => format!("from sequence number {number}"),
                    Start::After(number) => format!("after sequence number {number}"),
                    Start::TrimHorizon => "from the shard's oldest record".to_owned(),
                },
            };
            match through {
                Some(last) => {
                    format!("the stream gave no record {from} {why}, before the range's last, {last}")
                }
                None => format!("the stream shows what followed only up to now ({from}: {why})"),
            }
        };
        loop {
            let Some(current) = iterator.take() else {
                // A closed shard ends here.
                return Ok(ShardRead {
                    stopped: through
                        .map(|last| format!("shard {shard_id} ended before the range's last record, {last}")),
                    records,
                });
            };
            if Instant::now() >= deadline {
                let why = format!("within {} s", self.budget.as_secs());
                let stopped = stopped(&records, why);
                return Ok(ShardRead {
                    records,
                    stopped: Some(stopped),
                });
            }
            let (page, next) = match self.page(&current).await {
                Ok(page) => page,
                Err(PageProblem::Expired(message)) if renewals < MAX_RENEWALS => {
                    renewals += 1;
                    let resume = match records.last().and_then(sequence_number) {
                        Some(last) => Start::After(last.to_owned()),
                        None => start.clone(),
                    };
                    iterator = Some(
                        self.iterator(stream_arn, shard_id, &resume)
                            .await
                            .map_err(|problem| match problem {
                                ReadProblem::Failed(error) => ReadProblem::Failed(error),
                                other => ReadProblem::Gone(format!(
                                    "{other} (after an expired iterator: {message})"
                                )),
                            })?
                            .ok_or_else(|| {
                                ReadProblem::Gone(format!(
                                    "shard {shard_id} has ended (after an expired iterator)"
                                ))
                            })?,
                    );
                    continue;
                }
                Err(PageProblem::Expired(message)) => {
                    return Err(ReadProblem::NotReadToEnd(format!(
                        "the shard iterator kept expiring before the records were read: {message}"
                    )));
                }
                Err(PageProblem::Read(problem)) => return Err(problem),
            };
            iterator = next;
            if page.is_empty() {
                empty_pages += 1;
                if through.is_none() && empty_pages >= EMPTY_PAGES_AT_THE_TIP && iterator.is_some() {
                    let stopped = stopped(
                        &records,
                        format!("{empty_pages} empty pages in a row at an open shard's tip"),
                    );
                    return Ok(ShardRead {
                        records,
                        stopped: Some(stopped),
                    });
                }
                if iterator.is_some() {
                    tokio::time::sleep(
                        EMPTY_PAGE_PAUSE.min(deadline.saturating_duration_since(Instant::now())),
                    )
                    .await;
                }
                continue;
            }
            empty_pages = 0;
            for record in page {
                let Some(through) = through else {
                    records.push(record);
                    continue;
                };
                let Some(number) = sequence_number(&record) else {
                    continue;
                };
                match compare(number, through) {
                    std::cmp::Ordering::Greater => {
                        return Ok(ShardRead {
                            records,
                            stopped: None,
                        });
                    }
                    std::cmp::Ordering::Equal => {
                        records.push(record);
                        return Ok(ShardRead {
                            records,
                            stopped: None,
                        });
                    }
                    std::cmp::Ordering::Less => records.push(record),
                }
            }
        }
    }

    /// Which shard of the stream descends from which (`DescribeStream`, every page).
    pub async fn lineage(&self, stream_arn: &str) -> Result<Lineage, ReadProblem> {
        let mut lineage = Lineage::default();
        let mut start: Option<String> = None;
        loop {
            let description = self
                .client
                .describe_stream()
                .stream_arn(stream_arn)
                .set_exclusive_start_shard_id(start.take())
                .send()
                .await
                .map_err(|error| problem(error, "dynamodb:DescribeStream"))?;
            let Some(description) = description.stream_description() else {
                return Ok(lineage);
            };
            for shard in description.shards() {
                if let (Some(id), Some(parent)) = (shard.shard_id(), shard.parent_shard_id()) {
                    lineage.insert_parent(id, parent);
                }
            }
            match description.last_evaluated_shard_id() {
                Some(last) => start = Some(last.to_owned()),
                None => return Ok(lineage),
            }
        }
    }

    /// An iterator at `start`; `None` when the shard has ended with no records there.
    async fn iterator(
        &self,
        stream_arn: &str,
        shard_id: &str,
        start: &Start,
    ) -> Result<Option<String>, ReadProblem> {
        let (kind, sequence_number) = match start {
            Start::At(number) => (ShardIteratorType::AtSequenceNumber, Some(number.clone())),
            Start::After(number) => (ShardIteratorType::AfterSequenceNumber, Some(number.clone())),
            Start::TrimHorizon => (ShardIteratorType::TrimHorizon, None),
        };
        let output = self
            .client
            .get_shard_iterator()
            .stream_arn(stream_arn)
            .shard_id(shard_id)
            .shard_iterator_type(kind)
            .set_sequence_number(sequence_number)
            .send()
            .await
            .map_err(|error| problem(error, "dynamodb:GetShardIterator"))?;
        Ok(output.shard_iterator().map(str::to_owned))
    }

    /// One `GetRecords` page: the wire records, and the next iterator (none at a closed shard's end).
    async fn page(&self, iterator: &str) -> Result<(Vec<Value>, Option<String>), PageProblem> {
        let raw = RawBody::default();
        let output = self
            .client
            .get_records()
            .shard_iterator(iterator)
            .limit(PAGE_LIMIT)
            .customize()
            .interceptor(raw.clone())
            .send()
            .await
            .map_err(|error| match error.code() {
                Some("ExpiredIteratorException") => {
                    PageProblem::Expired(error.message().unwrap_or_default().to_owned())
                }
                _ => PageProblem::Read(problem(error, "dynamodb:GetRecords")),
            })?;
        let records = match raw.json() {
            Value::Object(mut body) => match body.remove("Records") {
                Some(Value::Array(records)) => records,
                _ => Vec::new(),
            },
            _ => Vec::new(),
        };
        Ok((records, output.next_shard_iterator().map(str::to_owned)))
    }
}

/// A stream error: lost records when the stream says they are gone, a [`CloudError`] otherwise.
fn problem<E, R>(error: SdkError<E, R>, action: &str) -> ReadProblem
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let message = error.message().unwrap_or_default().to_owned();
    match error.code() {
        Some("TrimmedDataAccessException") => ReadProblem::Trimmed(format!(
            "the stream has trimmed these records (it keeps 24 hours): {message}"
        )),
        Some("ResourceNotFoundException") => {
            ReadProblem::Gone(format!("the stream or its shard no longer exists: {message}"))
        }
        Some("ValidationException") => ReadProblem::Gone(format!(
            "the stream has no such position (trimmed, or not of this shard): {message}"
        )),
        _ => ReadProblem::Failed(explain(error, action)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn an_item_key_does_not_depend_on_the_order_of_its_attributes() {
        let one = json!({"dynamodb": {"Keys": {"pk": {"S": "A"}, "sk": {"S": "B"}}}});
        let other = json!({"dynamodb": {"Keys": {"sk": {"S": "B"}, "pk": {"S": "A"}}}});
        let another = json!({"dynamodb": {"Keys": {"sk": {"S": "C"}, "pk": {"S": "A"}}}});
        assert_eq!(item_key(&one), item_key(&other));
        assert_ne!(item_key(&one), item_key(&another));
        assert_eq!(item_key(&json!({"dynamodb": {}})), None);
    }

    #[test]
    fn a_stream_record_becomes_the_record_lambda_delivers() {
        let mut record: Value = serde_json::from_str(
            r#"{"eventID": "e", "eventName": "INSERT", "eventVersion": "1.1", "eventSource": "aws:dynamodb",
                "awsRegion": "eu-west-1", "dynamodb": {"ApproximateCreationDateTime": 1796169840.000,
                "SequenceNumber": "000000000000000000001", "SizeBytes": 12, "StreamViewType": "NEW_AND_OLD_IMAGES"}}"#,
        )
        .unwrap();
        as_lambda_delivers(&mut record, "arn:aws:dynamodb:eu-west-1:1:table/t/stream/s");
        assert_eq!(
            record["eventSourceARN"],
            "arn:aws:dynamodb:eu-west-1:1:table/t/stream/s"
        );
        assert_eq!(
            serde_json::to_string(&record["dynamodb"]["ApproximateCreationDateTime"]).unwrap(),
            "1796169840"
        );
        let mut fraction = json!({"dynamodb": {"ApproximateCreationDateTime": 1796169840.5}});
        as_lambda_delivers(&mut fraction, "arn");
        assert_eq!(fraction["dynamodb"]["ApproximateCreationDateTime"], 1796169840.5);
    }

    fn change(key: &str, number: &str, name: &str, image: Option<Value>) -> Value {
        let mut record =
            json!({"eventName": name, "dynamodb": {"Keys": {"pk": {"S": key}}, "SequenceNumber": number}});
        if let Some(image) = image {
            record["dynamodb"]["NewImage"] = image;
        }
        record
    }

    fn at(number: &str) -> Position {
        Position {
            generation: 0,
            number: number.into(),
        }
    }

    #[test]
    fn later_changes_keep_the_last_delivered_change_and_the_last_state_of_each_item() {
        let key = |pk: &str| item_key(&change(pk, "0", "INSERT", None)).unwrap();
        let mut changes = LaterChanges::default();
        changes.record(
            &change("A", "110", "INSERT", Some(json!({"v": {"N": "1"}}))),
            true,
            0,
        );
        changes.record(
            &change("A", "120", "MODIFY", Some(json!({"v": {"N": "2"}}))),
            false,
            0,
        );
        changes.record(&change("B", "115", "REMOVE", None), false, 0);
        changes.record(&change("C", "130", "MODIFY", None), true, 0);
        assert!(changes.delivered_after(&key("A"), "109"));
        assert!(
            !changes.delivered_after(&key("A"), "110"),
            "the MODIFY was not delivered"
        );
        assert!(!changes.delivered_after(&key("B"), "1"));
        assert!(changes.delivered_after(&key("C"), "129"));
        assert!(!changes.delivered_after(&key("D"), "1"));
        assert_eq!(
            changes.last_after(&key("A"), "110"),
            Some(&(at("120"), ItemState::Written(json!({"v": {"N": "2"}}))))
        );
        assert_eq!(changes.last_after(&key("A"), "120"), None);
        assert_eq!(
            changes.last_after(&key("B"), "100"),
            Some(&(at("115"), ItemState::Removed))
        );
        assert_eq!(
            changes.last_after(&key("C"), "100"),
            Some(&(at("130"), ItemState::Unknown)),
            "a record without its new image leaves an unknown state"
        );
        // A change read out of order keeps the latest.
        changes.record(
            &change("A", "112", "MODIFY", Some(json!({"v": {"N": "9"}}))),
            true,
            0,
        );
        assert_eq!(changes.by_key[&key("A")].last.0, at("120"));
        assert_eq!(changes.by_key[&key("A")].last_delivered, Some(at("112")));
    }

    #[test]
    fn a_change_in_a_descendant_shard_comes_after_the_range_whatever_its_sequence_number() {
        let key = |pk: &str| item_key(&change(pk, "0", "INSERT", None)).unwrap();
        let mut changes = LaterChanges::default();
        changes.record(
            &change("A", "500", "MODIFY", Some(json!({"v": {"N": "1"}}))),
            false,
            0,
        );
        changes.record(
            &change("A", "7", "MODIFY", Some(json!({"v": {"N": "2"}}))),
            true,
            1,
        );
        assert!(
            changes.delivered_after(&key("A"), "900"),
            "a child's change is later"
        );
        assert_eq!(
            changes.last_after(&key("A"), "900").map(|(_, state)| state),
            Some(&ItemState::Written(json!({"v": {"N": "2"}}))),
            "the child's change is the item's last, though its number is lower"
        );
        changes.record(
            &change("A", "600", "MODIFY", Some(json!({"v": {"N": "3"}}))),
            false,
            0,
        );
        assert_eq!(
            changes.by_key[&key("A")].last.0.generation,
            1,
            "a parent's change comes before"
        );
        changes.record(&change("A", "3", "REMOVE", None), false, 2);
        assert_eq!(
            changes.by_key[&key("A")].last.1,
            ItemState::Removed,
            "a grandchild's after a child's"
        );
    }

    #[test]
    fn a_shard_descends_from_its_parent_and_the_parents_before_it() {
        let mut lineage = Lineage::default();
        lineage.insert_parent("b", "a");
        lineage.insert_parent("c", "b");
        lineage.insert_parent("d", "a");
        assert!(lineage.descends_from("b", "a"));
        assert!(lineage.descends_from("c", "a"));
        assert!(!lineage.descends_from("a", "c"));
        assert!(!lineage.descends_from("d", "b"));
        let mut children = lineage.children("a");
        children.sort();
        assert_eq!(children, ["b", "d"]);
        assert!(lineage.children("c").is_empty());
    }
}
