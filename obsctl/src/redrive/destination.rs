//! The mapping's on-failure destination: an SQS queue of pointers, or an S3 bucket of invocation
//! records with their events.
//!
//! A failure that has been fully recovered is settled: its SQS message deleted, or its S3 object
//! tagged [`REDRIVE_TAG`]` = `[`REPLAYED`] (objects so tagged are not read again). Every other message
//! is made visible again at once, so the next redrive (or a person) sees it; an object stays as it is.

use aws_sdk_s3::types::{Tag, Tagging};
use aws_sdk_sqs::types::QueueAttributeName;

use super::failure::{self, InvocationRecord, NotAnInvocationRecord};
use crate::cloud::{CloudError, explain};

/// The tag put on an S3 failure object whose range has been replayed.
pub const REDRIVE_TAG: &str = "obsctl-redrive";
/// Its value.
pub const REPLAYED: &str = "replayed";
/// The prefix Lambda writes failure objects under (`aws/lambda/<ESM-UUID>/<shardID>/…`).
pub const LAMBDA_PREFIX: &str = "aws/lambda/";

/// Where one failure came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An SQS message.
    Message {
        /// Its id.
        id: String,
        /// The handle to delete it or make it visible again.
        receipt_handle: String,
    },
    /// An S3 object.
    Object {
        /// Its key.
        key: String,
    },
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Message { id, .. } => write!(f, "message {id}"),
            Self::Object { key } => write!(f, "object {key}"),
        }
    }
}

/// One failure read from the destination.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The message or object.
    pub origin: Origin,
    /// What it says.
    pub record: Result<InvocationRecord, NotAnInvocationRecord>,
}

/// What was found at the destination.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Found {
    /// The failures to redrive.
    pub failures: Vec<Failure>,
    /// S3 objects already tagged as replayed by an earlier redrive (not read again).
    pub already_replayed: usize,
}

/// An on-failure destination.
#[derive(Debug, Clone)]
pub enum Destination {
    /// An SQS queue.
    Queue {
        /// The client.
        client: aws_sdk_sqs::Client,
        /// The queue's URL.
        url: String,
        /// How long a received message stays hidden from others while the redrive runs.
        visibility_timeout_seconds: i32,
    },
    /// An S3 bucket.
    Bucket {
        /// The client.
        client: aws_sdk_s3::Client,
        /// The bucket's name.
        bucket: String,
        /// Only objects under this prefix.
        prefix: String,
    },
}

impl Destination {
    /// Every failure waiting at the destination.
    pub async fn failures(&self) -> Result<Found, CloudError> {
        match self {
            Self::Queue {
                client,
                url,
                visibility_timeout_seconds,
            } => queue_failures(client, url, *visibility_timeout_seconds).await,
            Self::Bucket {
                client,
                bucket,
                prefix,
            } => bucket_failures(client, bucket, prefix).await,
        }
    }

    /// Settles `origin`: deleted (a message) or tagged as replayed (an object) when `recovered`,
    /// else left for later (a message made visible again at once).
    pub async fn settle(&self, origin: &Origin, recovered: bool) -> Result<(), CloudError> {
        match (self, origin) {
            (Self::Queue { client, url, .. }, Origin::Message { receipt_handle, id }) => {
                if recovered {
                    client
                        .delete_message()
                        .queue_url(url)
                        .receipt_handle(receipt_handle)
                        .send()
                        .await
                        .map_err(|error| explain(error, &format!("sqs:DeleteMessage ({id})")))?;
                } else {
                    client
                        .change_message_visibility()
                        .queue_url(url)
                        .receipt_handle(receipt_handle)
                        .visibility_timeout(0)
                        .send()
                        .await
                        .map_err(|error| explain(error, &format!("sqs:ChangeMessageVisibility ({id})")))?;
                }
                Ok(())
            }
            (Self::Bucket { client, bucket, .. }, Origin::Object { key }) if recovered => {
                let mut tags: Vec<Tag> = client
                    .get_object_tagging()
                    .bucket(bucket)
                    .key(key)
                    .send()
                    .await
                    .map_err(|error| explain(error, &format!("s3:GetObjectTagging ({key})")))?
                    .tag_set()
                    .iter()
                    .filter(|tag| tag.key() != REDRIVE_TAG)
                    .cloned()
                    .collect();
                tags.push(
                    Tag::builder()
                        .key(REDRIVE_TAG)
                        .value(REPLAYED)
                        .build()
                        .expect("key and value are set"),
                );
                let tagging = Tagging::builder()
                    .set_tag_set(Some(tags))
                    .build()
                    .expect("the tag set is set");
                client
                    .put_object_tagging()
                    .bucket(bucket)
                    .key(key)
                    .tagging(tagging)
                    .send()
                    .await
                    .map_err(|error| explain(error, &format!("s3:PutObjectTagging ({key})")))?;
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

async fn queue_failures(
    client: &aws_sdk_sqs::Client,
    url: &str,
    visibility_timeout_seconds: i32,
) -> Result<Found, CloudError> {
    // Reached first so a wrong URL is one clear error before anything is received.
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .map_err(|error| explain(error, &format!("sqs:GetQueueAttributes ({url})")))?;
    let mut found = Found::default();
    loop {
        let received = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .visibility_timeout(visibility_timeout_seconds)
            .wait_time_seconds(1)
            .send()
            .await
            .map_err(|error| explain(error, &format!("sqs:ReceiveMessage ({url})")))?;
        let messages = received.messages();
        if messages.is_empty() {
            return Ok(found);
        }
        for message in messages {
            let (Some(id), Some(receipt_handle)) = (message.message_id(), message.receipt_handle()) else {
                continue;
            };
            found.failures.push(Failure {
                origin: Origin::Message {
                    id: id.to_owned(),
                    receipt_handle: receipt_handle.to_owned(),
                },
                record: failure::parse(message.body().unwrap_or_default().as_bytes()),
            });
        }
    }
}

async fn bucket_failures(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Found, CloudError> {
    let mut found = Found::default();
    let mut token: Option<String> = None;
    loop {
        let listed = client
            .list_objects_v2()
            .bucket(bucket)
            .prefix(prefix)
            .set_continuation_token(token.take())
            .send()
            .await
            .map_err(|error| explain(error, &format!("s3:ListObjectsV2 ({bucket})")))?;
        for object in listed.contents() {
            let Some(key) = object.key() else { continue };
            let tags = client
                .get_object_tagging()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map_err(|error| explain(error, &format!("s3:GetObjectTagging ({key})")))?;
            if tags
                .tag_set()
                .iter()
                .any(|tag| tag.key() == REDRIVE_TAG && tag.value() == REPLAYED)
            {
                found.already_replayed += 1;
                continue;
            }
            let body = client
                .get_object()
                .bucket(bucket)
                .key(key)
                .send()
                .await
                .map_err(|error| explain(error, &format!("s3:GetObject ({key})")))?
                .body
                .collect()
                .await
                .map_err(|error| CloudError::Unreachable {
                    action: format!("s3:GetObject ({key})"),
                    message: error.to_string(),
                })?
                .into_bytes();
            found.failures.push(Failure {
                origin: Origin::Object { key: key.to_owned() },
                record: failure::parse(&body),
            });
        }
        match listed.next_continuation_token() {
            Some(next) if listed.is_truncated() == Some(true) => token = Some(next.to_owned()),
            _ => return Ok(found),
        }
    }
}
