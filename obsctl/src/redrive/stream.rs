//! Reading a failed range back from the DynamoDB stream, and what changed after it.
//!
//! A range is read with `GetShardIterator` `AT_SEQUENCE_NUMBER` its first record and `GetRecords`
//! up to its last, and every record is rebuilt as Lambda delivers it: the wire record as the stream
//! sent it (the response body, kept by `raw_body`) plus `eventSourceARN`, in stream order. What the
//! stream no longer has (`TrimmedDataAccessException` after 24 hours, a shard or stream that is
//! gone) is a [`ReadProblem::Trimmed`] or [`ReadProblem::Gone`]: the records are lost, and the
//! caller says so. When only the first records of a range are trimmed, the rest are still read.
//!
//! [`Stream::later_changes`] reads the shard on from the end of a range, and every shard that
//! descends from it, to learn which item keys changed again afterwards.

use std::collections::{BTreeMap, BTreeSet};

use aws_sdk_dynamodbstreams::Client;
use aws_sdk_dynamodbstreams::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodbstreams::types::ShardIteratorType;
use ddb_stream_processor::record::sequence_number::compare;
use serde_json::Value;

use super::failure::BatchInfo;
use super::raw_body::RawBody;
use crate::cloud::{CloudError, explain};

/// The most records one `GetRecords` call returns.
const PAGE_LIMIT: i32 = 1000;
/// An open shard answers with empty pages at its tip: this many in a row end a read.
const EMPTY_PAGES_AT_THE_TIP: usize = 3;

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

/// How many times one read renews an expired iterator before it gives up.
const MAX_RENEWALS: usize = 5;

/// The keys that changed after a point of the stream: in the same shard (with the last sequence
/// number of each), or in a shard that descends from it (all later by construction).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LaterChanges {
    /// Key → the highest sequence number of a change of that key in the shard, after the point.
    pub in_shard: BTreeMap<String, String>,
    /// Keys changed in a child shard (or its children).
    pub in_descendants: BTreeSet<String>,
}

impl LaterChanges {
    /// Whether the item with `key` changed after sequence number `after` (of the same shard).
    pub fn changed_after(&self, key: &str, after: &str) -> bool {
        self.in_descendants.contains(key)
            || self
                .in_shard
                .get(key)
                .is_some_and(|last| compare(last, after).is_gt())
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

/// The DynamoDB Streams API of one account and region.
#[derive(Debug, Clone)]
pub struct Stream {
    client: Client,
}

impl Stream {
    /// The client for `config`.
    pub fn new(config: &aws_config::SdkConfig) -> Self {
        Self {
            client: Client::new(config),
        }
    }

    /// The records of `range`, as Lambda delivers them, in stream order. When the stream has trimmed
    /// the range's first records but not all of them, the rest are read from the shard's oldest
    /// record on, and the trimmed head is said.
    pub async fn read_range(&self, range: &BatchInfo) -> Result<RangeRead, ReadProblem> {
        let read = |start| {
            self.read(
                &range.stream_arn,
                &range.shard_id,
                start,
                Some(&range.end_sequence_number),
            )
        };
        let (mut records, trimmed_head) = match read(Start::At(range.start_sequence_number.clone())).await {
            Ok(records) => (records, None),
            Err(ReadProblem::Trimmed(reason)) => {
                let rest: Vec<Value> = read(Start::TrimHorizon)
                    .await?
                    .into_iter()
                    .filter(|record| {
                        sequence_number(record)
                            .is_some_and(|number| compare(number, &range.start_sequence_number).is_ge())
                    })
                    .collect();
                if rest.is_empty() {
                    return Err(ReadProblem::Trimmed(reason));
                }
                (rest, Some(reason))
            }
            Err(problem) => return Err(problem),
        };
        for record in &mut records {
            as_lambda_delivers(record, &range.stream_arn);
        }
        Ok(RangeRead {
            records,
            trimmed_head,
        })
    }

    /// Which keys changed after sequence number `after` of `shard_id`: the rest of the shard and
    /// every shard that descends from it.
    pub async fn later_changes(
        &self,
        stream_arn: &str,
        shard_id: &str,
        after: &str,
    ) -> Result<LaterChanges, ReadProblem> {
        let mut changes = LaterChanges::default();
        let after_the_range = self
            .read(stream_arn, shard_id, Start::After(after.to_owned()), None)
            .await?;
        for record in after_the_range {
            if let (Some(key), Some(number)) = (item_key(&record), sequence_number(&record)) {
                let last = changes.in_shard.entry(key).or_default();
                if last.is_empty() || compare(number, last).is_gt() {
                    *last = number.to_owned();
                }
            }
        }
        let mut descendants = self.children(stream_arn, shard_id).await?;
        while let Some(child) = descendants.pop() {
            for record in self.read(stream_arn, &child, Start::TrimHorizon, None).await? {
                if let Some(key) = item_key(&record) {
                    changes.in_descendants.insert(key);
                }
            }
            descendants.extend(self.children(stream_arn, &child).await?);
        }
        Ok(changes)
    }

    /// The records of a shard from `start` through sequence number `through` (`None`: to the end of
    /// a closed shard, or the tip of an open one), in stream order. An iterator that expires on the
    /// way (they live 15 minutes) is renewed where it stood.
    async fn read(
        &self,
        stream_arn: &str,
        shard_id: &str,
        start: Start,
        through: Option<&str>,
    ) -> Result<Vec<Value>, ReadProblem> {
        let mut records: Vec<Value> = Vec::new();
        let mut iterator = Some(self.iterator(stream_arn, shard_id, &start).await?);
        let mut empty_pages = 0;
        let mut renewals = 0;
        while let Some(current) = iterator.take() {
            let (page, next) = match self.page(&current).await {
                Ok(page) => page,
                Err(PageProblem::Expired(message)) if renewals < MAX_RENEWALS => {
                    renewals += 1;
                    let resume = match records.last().and_then(sequence_number) {
                        Some(last) => Start::After(last.to_owned()),
                        None => start.clone(),
                    };
                    iterator = Some(self.iterator(stream_arn, shard_id, &resume).await.map_err(
                        |problem| {
                            ReadProblem::Gone(format!("{problem} (after an expired iterator: {message})"))
                        },
                    )?);
                    continue;
                }
                Err(PageProblem::Expired(message)) => {
                    return Err(ReadProblem::Gone(format!(
                        "the shard iterator kept expiring before the records were read: {message}"
                    )));
                }
                Err(PageProblem::Read(problem)) => return Err(problem),
            };
            empty_pages = if page.is_empty() { empty_pages + 1 } else { 0 };
            for record in page {
                let Some(through) = through else {
                    records.push(record);
                    continue;
                };
                let Some(number) = sequence_number(&record) else {
                    continue;
                };
                match compare(number, through) {
                    std::cmp::Ordering::Greater => return Ok(records),
                    std::cmp::Ordering::Equal => {
                        records.push(record);
                        return Ok(records);
                    }
                    std::cmp::Ordering::Less => records.push(record),
                }
            }
            if empty_pages < EMPTY_PAGES_AT_THE_TIP {
                iterator = next;
            }
        }
        Ok(records)
    }

    /// The shards whose parent is `shard_id`.
    async fn children(&self, stream_arn: &str, shard_id: &str) -> Result<Vec<String>, ReadProblem> {
        let mut children = Vec::new();
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
                return Ok(children);
            };
            children.extend(
                description
                    .shards()
                    .iter()
                    .filter(|shard| shard.parent_shard_id() == Some(shard_id))
                    .filter_map(|shard| shard.shard_id().map(str::to_owned)),
            );
            match description.last_evaluated_shard_id() {
                Some(last) => start = Some(last.to_owned()),
                None => return Ok(children),
            }
        }
    }

    async fn iterator(&self, stream_arn: &str, shard_id: &str, start: &Start) -> Result<String, ReadProblem> {
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
        output
            .shard_iterator()
            .map(str::to_owned)
            .ok_or_else(|| ReadProblem::Gone(format!("shard {shard_id} has ended and has no records there")))
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

    #[test]
    fn a_change_counts_as_later_only_past_the_given_sequence_number_or_in_a_child_shard() {
        let mut changes = LaterChanges::default();
        changes.in_shard.insert("a".into(), "120".into());
        changes.in_descendants.insert("b".into());
        assert!(changes.changed_after("a", "99"));
        assert!(changes.changed_after("a", "119"));
        assert!(!changes.changed_after("a", "120"));
        assert!(!changes.changed_after("a", "1000"));
        assert!(changes.changed_after("b", "1000"));
        assert!(!changes.changed_after("c", "1"));
    }
}
