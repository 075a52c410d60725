//! The event source mapping being redriven (`lambda:GetEventSourceMapping`): which stream and
//! function its failures come from, the `FilterCriteria` that decide which records it delivers, and
//! its `ParallelizationFactor`.
//!
//! A destination can be shared (one queue or bucket for several mappings), so a failure is
//! replayed only when it is of this mapping: its `DDBStreamBatchInfo.streamArn` is the mapping's
//! stream and, when the record names the function (`requestContext.functionArn`), the mapping's
//! function. Every other failure is left untouched.

use aws_sdk_lambda::Client;

use super::failure::BatchInfo;
use super::filter::{Criteria, FilterError};
use crate::cloud::{CloudError, explain};

/// Why the mapping cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum MappingError {
    /// AWS could not be asked.
    #[error(transparent)]
    Cloud(#[from] CloudError),
    /// Its filters cannot be evaluated.
    #[error(
        "the FilterCriteria of event source mapping {uuid} {problem}; a redrive that cannot tell which records the \
         mapping delivers would replay or skip the wrong ones, so it stops before anything is touched"
    )]
    Filter {
        /// The mapping.
        uuid: String,
        /// What is wrong.
        problem: FilterError,
    },
    /// Its filters are encrypted and could not be decrypted for this caller.
    #[error(
        "the FilterCriteria of event source mapping {uuid} are encrypted and could not be read ({problem}): a \
         redrive that cannot tell which records the mapping delivers would replay or skip the wrong ones, so \
         it stops; give the credentials kms:Decrypt on the mapping's KMSKeyArn"
    )]
    EncryptedFilter {
        /// The mapping.
        uuid: String,
        /// What Lambda said.
        problem: String,
    },
    /// It reads something other than a DynamoDB stream.
    #[error("event source mapping {uuid} reads {source_arn}, not a DynamoDB stream")]
    NotAStream {
        /// The mapping.
        uuid: String,
        /// What it reads.
        source_arn: String,
    },
}

/// What a redrive needs to know of the mapping.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapping {
    /// Its UUID.
    pub uuid: String,
    /// The stream it reads.
    pub stream_arn: String,
    /// The function it invokes.
    pub function_arn: Option<String>,
    /// Its filters (none: every record is delivered).
    pub filter: Criteria,
    /// Concurrent batches per shard.
    pub parallelization_factor: u32,
}

impl Mapping {
    /// Reads the mapping `uuid`.
    pub async fn read(client: &Client, uuid: &str) -> Result<Self, MappingError> {
        let mapping = client
            .get_event_source_mapping()
            .uuid(uuid)
            .send()
            .await
            .map_err(|error| explain(error, &format!("lambda:GetEventSourceMapping ({uuid})")))?;
        let source_arn = mapping.event_source_arn().unwrap_or_default().to_owned();
        if !source_arn.contains(":dynamodb:") || !source_arn.contains("/stream/") {
            return Err(MappingError::NotAStream {
                uuid: uuid.to_owned(),
                source_arn,
            });
        }
        if let Some(error) = mapping.filter_criteria_error() {
            return Err(MappingError::EncryptedFilter {
                uuid: uuid.to_owned(),
                problem: format!(
                    "{}: {}",
                    error.error_code().unwrap_or("KMS error"),
                    error.message().unwrap_or_default()
                ),
            });
        }
        let patterns: Vec<&str> = mapping
            .filter_criteria()
            .map(|criteria| criteria.filters())
            .unwrap_or_default()
            .iter()
            .filter_map(|filter| filter.pattern())
            .collect();
        let filter = Criteria::parse(&patterns).map_err(|problem| MappingError::Filter {
            uuid: uuid.to_owned(),
            problem,
        })?;
        Ok(Self {
            uuid: uuid.to_owned(),
            stream_arn: source_arn,
            function_arn: mapping.function_arn().map(str::to_owned),
            filter,
            parallelization_factor: mapping
                .parallelization_factor()
                .and_then(|factor| u32::try_from(factor).ok())
                .unwrap_or(1),
        })
    }

    /// Whether the failure `info` names is of this mapping: its stream, and its function (name,
    /// and qualifier when both name one); for an S3 object under Lambda's prefix
    /// (`aws/lambda/<mapping UUID>/…`), also the mapping's UUID in its key.
    pub fn owns(&self, info: &BatchInfo, object_key: Option<&str>) -> bool {
        let function = match (&info.function_arn, &self.function_arn) {
            (Some(theirs), Some(ours)) => {
                let (theirs, ours) = (function_and_qualifier(theirs), function_and_qualifier(ours));
                theirs.0 == ours.0
                    && match (theirs.1, ours.1) {
                        (Some(theirs), Some(ours)) => theirs == ours,
                        _ => true,
                    }
            }
            _ => true,
        };
        let key = object_key
            .and_then(|key| key.strip_prefix(super::destination::LAMBDA_PREFIX))
            .is_none_or(|rest| rest.split('/').next() == Some(self.uuid.as_str()));
        info.stream_arn == self.stream_arn && function && key
    }
}

/// The function's name and qualifier in a function ARN
/// (`arn:aws:lambda:<region>:<account>:function:<name>[:<qualifier>]`), or the text itself when it
/// is no ARN.
fn function_and_qualifier(arn: &str) -> (&str, Option<&str>) {
    let name = arn.split_once(":function:").map_or(arn, |(_, rest)| rest);
    match name.split_once(':') {
        Some((name, qualifier)) => (name, Some(qualifier)),
        None => (name, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(stream: &str, function: Option<&str>) -> BatchInfo {
        BatchInfo {
            shard_id: "shardId-1".into(),
            start_sequence_number: "1".into(),
            end_sequence_number: "2".into(),
            stream_arn: stream.into(),
            batch_size: Some(2),
            first_arrival: None,
            condition: None,
            function_arn: function.map(str::to_owned),
        }
    }

    #[test]
    fn a_failure_is_the_mappings_when_its_stream_and_function_are() {
        let mapping = Mapping {
            uuid: "u-1".into(),
            stream_arn: "arn:aws:dynamodb:eu-west-1:1:table/items/stream/s".into(),
            function_arn: Some("arn:aws:lambda:eu-west-1:1:function:items-processor".into()),
            filter: Criteria::default(),
            parallelization_factor: 1,
        };
        assert!(mapping.owns(&info(&mapping.stream_arn, None), None));
        assert!(mapping.owns(
            &info(
                &mapping.stream_arn,
                Some("arn:aws:lambda:eu-west-1:1:function:items-processor:live")
            ),
            None
        ));
        assert!(!mapping.owns(
            &info("arn:aws:dynamodb:eu-west-1:1:table/other/stream/s", None),
            None
        ));
        assert!(
            !mapping.owns(
                &info(
                    &mapping.stream_arn,
                    Some("arn:aws:lambda:eu-west-1:1:function:audit-processor")
                ),
                None
            ),
            "another function's mapping on the same stream"
        );
        let blue = Mapping {
            function_arn: Some("arn:aws:lambda:eu-west-1:1:function:items-processor:blue".into()),
            ..mapping.clone()
        };
        assert!(
            !blue.owns(
                &info(
                    &blue.stream_arn,
                    Some("arn:aws:lambda:eu-west-1:1:function:items-processor:green")
                ),
                None
            ),
            "another alias's mapping"
        );
        assert!(mapping.owns(
            &info(&mapping.stream_arn, None),
            Some("aws/lambda/u-1/shard/2026/12/02/x")
        ));
        assert!(
            !mapping.owns(
                &info(&mapping.stream_arn, None),
                Some("aws/lambda/u-2/shard/2026/12/02/x")
            ),
            "another mapping's object"
        );
        assert!(mapping.owns(&info(&mapping.stream_arn, None), Some("copied/by/hand.json")));
    }

    #[test]
    fn a_function_name_and_qualifier_are_taken_from_its_arn() {
        assert_eq!(
            function_and_qualifier("arn:aws:lambda:eu-west-1:1:function:f"),
            ("f", None)
        );
        assert_eq!(
            function_and_qualifier("arn:aws:lambda:eu-west-1:1:function:f:3"),
            ("f", Some("3"))
        );
        assert_eq!(function_and_qualifier("f"), ("f", None));
    }
}
