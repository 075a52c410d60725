//! The mapping's on-failure destination: an SQS queue of pointers, or an S3 bucket of invocation
//! records with their events.
//!
//! A failure is settled according to what the redrive did with it ([`Settlement`]):
//! - recovered: its SQS message deleted, or its S3 object tagged [`REDRIVE_TAG`]` = `[`REPLAYED`]
//!   (objects so tagged are not read again);
//! - kept with progress (part of its range replayed): the message sent again with the progress in
//!   its body, then the original deleted (sent first, so a failure is never without a message); the
//!   object tagged [`PROGRESS_TAG`] with the last sequence number done;
//! - kept, or not this mapping's: the message shown again at once; the object left as it is.
//!
//! Messages are held while the redrive works on them ([`Holds`]), each only until its own failure is
//! done.
//!
//! With the S3 destination, template.yaml also sends the failure queue a notification of each
//! object Lambda writes (an EventBridge "Object Created" event), so alarms can watch what waits.
//! [`Destination::reconcile_notifications`] removes the notifications of objects that are replayed
//! or gone.

use aws_sdk_s3::types::{Tag, Tagging};
use aws_sdk_sqs::types::QueueAttributeName;
use serde_json::Value;

use super::failure::{self, InvocationRecord, NotAnInvocationRecord};
use super::hold::Holds;
use crate::cloud::{CloudError, explain};

/// The tag put on an S3 failure object whose range has been replayed.
pub const REDRIVE_TAG: &str = "obsctl-redrive";
/// Its value.
pub const REPLAYED: &str = "replayed";
/// The tag of an S3 failure object that a redrive replayed in part: the last sequence number done.
pub const PROGRESS_TAG: &str = "obsctl-redrive-replayed-through";
/// The prefix Lambda writes failure objects under (`aws/lambda/<ESM-UUID>/<shardID>/…`).
pub const LAMBDA_PREFIX: &str = "aws/lambda/";

/// Where one failure came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// An SQS message.
    Message {
        /// Its id.
        id: String,
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
            Self::Message { id } => write!(f, "message {id}"),
            Self::Object { key } => write!(f, "object {key}"),
        }
    }
}

/// One failure read from the destination.
#[derive(Debug, Clone, PartialEq)]
pub struct Failure {
    /// The message or object.
    pub origin: Origin,
    /// Its body as it was read.
    pub body: Vec<u8>,
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

/// What to do with a failure once the redrive is done with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settlement {
    /// Its whole range is done: delete the message, tag the object replayed.
    Recovered,
    /// It stays; `replayed_through` is the last sequence number done so far, when that moved on.
    Kept {
        /// The new progress.
        replayed_through: Option<String>,
    },
}

/// What the failure queue's notifications of S3 objects came to.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Notifications {
    /// Removed: their objects are replayed or gone.
    pub removed: usize,
    /// Kept: their objects still wait.
    pub waiting: usize,
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
        /// The messages held while the redrive works.
        holds: Holds,
    },
    /// An S3 bucket.
    Bucket {
        /// The client.
        client: aws_sdk_s3::Client,
        /// The bucket's name.
        bucket: String,
        /// Only objects under this prefix.
        prefix: String,
        /// The failure queue's notifications of the bucket's objects (template.yaml's S3 choice),
        /// and its client.
        notifications: Option<(aws_sdk_sqs::Client, String)>,
    },
}

impl Destination {
    /// Every failure waiting at the destination; SQS messages are held from now on.
    pub async fn failures(&self) -> Result<Found, CloudError> {
        match self {
            Self::Queue { client, url, holds } => queue_failures(client, url, holds).await,
            Self::Bucket {
                client,
                bucket,
                prefix,
                ..
            } => bucket_failures(client, bucket, prefix).await,
        }
    }

    /// Why the redrive no longer holds `failure`'s message (another reader may have it), if so.
    pub fn hold_lost(&self, failure: &Failure) -> Option<String> {
        match (self, &failure.origin) {
            (Self::Queue { holds, .. }, Origin::Message { id }) => holds.lost(id),
            _ => None,
        }
    }

    /// Settles `failure` as `settlement` says.
    pub async fn settle(&self, failure: &Failure, settlement: &Settlement) -> Result<(), CloudError> {
        match (self, &failure.origin) {
            (Self::Queue { client, url, holds }, Origin::Message { id }) => {
                let receipt_handle = match holds.take(id).await {
                    Ok(Some(receipt_handle)) => receipt_handle,
                    Ok(None) => return Ok(()),
                    Err(lost) => {
                        return Err(CloudError::Rejected {
                            action: format!("settling message {id}"),
                            message: format!(
                                "its hold was lost ({lost}), so another reader may have it: it is left to them"
                            ),
                        });
                    }
                };
                let previous = failure
                    .record
                    .as_ref()
                    .ok()
                    .and_then(|record| record.replayed_through.clone());
                match settlement {
                    Settlement::Recovered => delete(client, url, id, &receipt_handle).await,
                    Settlement::Kept {
                        replayed_through: Some(progress),
                    } if previous.as_deref() != Some(progress) => {
                        let Some(body) = failure::with_progress(&failure.body, progress) else {
                            return show_again(client, url, id, &receipt_handle).await;
                        };
                        client
                            .send_message()
                            .queue_url(url)
                            .message_body(body)
                            .send()
                            .await
                            .map_err(|error| {
                                explain(error, &format!("sqs:SendMessage (the progress of {id})"))
                            })?;
                        delete(client, url, id, &receipt_handle).await
                    }
                    Settlement::Kept { .. } => show_again(client, url, id, &receipt_handle).await,
                }
            }
            (Self::Bucket { client, bucket, .. }, Origin::Object { key }) => match settlement {
                Settlement::Recovered => retag(client, bucket, key, REDRIVE_TAG, Some(REPLAYED)).await,
                Settlement::Kept {
                    replayed_through: Some(progress),
                } => retag(client, bucket, key, PROGRESS_TAG, Some(progress)).await,
                Settlement::Kept { .. } => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// Shows `failure`'s message again at once (it is not this redrive's to settle); objects are
    /// left as they are. Errors are ignored: an unreleased message shows again when its hold ends.
    pub async fn release(&self, failure: &Failure) {
        if let (Self::Queue { client, url, holds }, Origin::Message { id }) = (self, &failure.origin)
            && let Ok(Some(receipt_handle)) = holds.take(id).await
        {
            let _ = show_again(client, url, id, &receipt_handle).await;
        }
    }

    /// Stops holding messages.
    pub fn finish(&self) {
        if let Self::Queue { holds, .. } = self {
            holds.stop();
        }
    }

    /// Removes from the failure queue the notifications of objects that are replayed or gone, and
    /// shows the others again; `None` without a notification queue.
    pub async fn reconcile_notifications(&self) -> Result<Option<Notifications>, CloudError> {
        let Self::Bucket {
            client: s3,
            bucket,
            notifications: Some((sqs, url)),
            ..
        } = self
        else {
            return Ok(None);
        };
        // Held like failure messages (a heartbeat extends the holds) while the objects are looked
        // at, so none shows again, and none is counted twice, however many there are.
        let holds = Holds::new(60);
        holds.start(sqs, url);
        let outcome = reconcile(s3, bucket, sqs, url, &holds).await;
        holds.stop();
        outcome.map(Some)
    }
}

/// Receives every notification of the failure queue: deletes those whose object is replayed or gone,
/// and shows the others again at the end.
async fn reconcile(
    s3: &aws_sdk_s3::Client,
    bucket: &str,
    sqs: &aws_sdk_sqs::Client,
    url: &str,
    holds: &Holds,
) -> Result<Notifications, CloudError> {
    let mut counts = Notifications::default();
    let mut waiting: Vec<String> = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    loop {
        let messages = receive_held(sqs, url, holds).await?;
        if messages.is_empty() {
            break;
        }
        for (id, body) in messages {
            let id = id.as_str();
            if !seen.insert(id.to_owned()) {
                continue;
            }
            let waits = match notified_key(&body) {
                Some(key) if key.starts_with(LAMBDA_PREFIX) => object_waits(s3, bucket, &key).await?,
                // Not a notification of a failure object: not this reconciliation's to remove.
                _ => true,
            };
            if waits {
                counts.waiting += 1;
                waiting.push(id.to_owned());
            } else if let Ok(Some(receipt_handle)) = holds.take(id).await {
                counts.removed += 1;
                delete(sqs, url, id, &receipt_handle).await?;
            }
        }
    }
    for id in waiting {
        if let Ok(Some(receipt_handle)) = holds.take(&id).await {
            show_again(sqs, url, &id, &receipt_handle).await?;
        }
    }
    Ok(counts)
}

/// The object key an S3 notification names: an EventBridge "Object Created" event
/// (`detail.object.key`), or an S3 event notification (`Records[0].s3.object.key`, URL-encoded).
fn notified_key(body: &str) -> Option<String> {
    let event: Value = serde_json::from_str(body).ok()?;
    if let Some(key) = event.pointer("/detail/object/key").and_then(Value::as_str) {
        return Some(key.to_owned());
    }
    let encoded = event.pointer("/Records/0/s3/object/key")?.as_str()?;
    Some(url_decode(encoded))
}

/// `+` and `%XX` of an S3 event notification's key, decoded.
fn url_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut index = 0;
    while index < bytes.len() {
        match bytes[index] {
            b'+' => decoded.push(b' '),
            b'%' if index + 2 < bytes.len() => {
                let escaped = std::str::from_utf8(&bytes[index + 1..index + 3])
                    .ok()
                    .and_then(|hex| u8::from_str_radix(hex, 16).ok());
                match escaped {
                    Some(byte) => {
                        decoded.push(byte);
                        index += 2;
                    }
                    None => decoded.push(b'%'),
                }
            }
            other => decoded.push(other),
        }
        index += 1;
    }
    String::from_utf8_lossy(&decoded).into_owned()
}

/// Whether the failure object `key` still waits: it exists and is not tagged replayed.
async fn object_waits(client: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Result<bool, CloudError> {
    match client.get_object_tagging().bucket(bucket).key(key).send().await {
        Ok(tags) => Ok(!tags
            .tag_set()
            .iter()
            .any(|tag| tag.key() == REDRIVE_TAG && tag.value() == REPLAYED)),
        Err(error)
            if matches!(
                aws_sdk_s3::error::ProvideErrorMetadata::code(&error),
                Some("NoSuchKey" | "NotFound")
            ) =>
        {
            Ok(false)
        }
        Err(error) => Err(explain(error, &format!("s3:GetObjectTagging ({key})"))),
    }
}

async fn delete(
    client: &aws_sdk_sqs::Client,
    url: &str,
    id: &str,
    receipt_handle: &str,
) -> Result<(), CloudError> {
    client
        .delete_message()
        .queue_url(url)
        .receipt_handle(receipt_handle)
        .send()
        .await
        .map_err(|error| explain(error, &format!("sqs:DeleteMessage ({id})")))?;
    Ok(())
}

async fn show_again(
    client: &aws_sdk_sqs::Client,
    url: &str,
    id: &str,
    receipt_handle: &str,
) -> Result<(), CloudError> {
    client
        .change_message_visibility()
        .queue_url(url)
        .receipt_handle(receipt_handle)
        .visibility_timeout(0)
        .send()
        .await
        .map_err(|error| explain(error, &format!("sqs:ChangeMessageVisibility ({id})")))?;
    Ok(())
}

/// Sets the tag `name` of the object `key` to `value` (removing it with `None`), keeping its other
/// tags; a replayed object loses its progress tag.
async fn retag(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    name: &str,
    value: Option<&str>,
) -> Result<(), CloudError> {
    let mut tags: Vec<Tag> = client
        .get_object_tagging()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|error| explain(error, &format!("s3:GetObjectTagging ({key})")))?
        .tag_set()
        .iter()
        .filter(|tag| tag.key() != name && !(name == REDRIVE_TAG && tag.key() == PROGRESS_TAG))
        .cloned()
        .collect();
    if let Some(value) = value {
        tags.push(
            Tag::builder()
                .key(name)
                .value(value)
                .build()
                .expect("key and value are set"),
        );
    }
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

async fn queue_failures(client: &aws_sdk_sqs::Client, url: &str, holds: &Holds) -> Result<Found, CloudError> {
    // Reached first so a wrong URL is one clear error before anything is received.
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
        .send()
        .await
        .map_err(|error| explain(error, &format!("sqs:GetQueueAttributes ({url})")))?;
    holds.start(client, url);
    let mut found = Found::default();
    loop {
        let messages = receive_held(client, url, holds).await?;
        if messages.is_empty() {
            return Ok(found);
        }
        for (id, body) in messages {
            let body = body.into_bytes();
            found.failures.push(Failure {
                origin: Origin::Message { id },
                record: failure::parse(&body),
                body,
            });
        }
    }
}

/// One `ReceiveMessage` of up to ten messages, each held from now on: their ids and bodies (none
/// when the queue shows no more).
async fn receive_held(
    client: &aws_sdk_sqs::Client,
    url: &str,
    holds: &Holds,
) -> Result<Vec<(String, String)>, CloudError> {
    let received = client
        .receive_message()
        .queue_url(url)
        .max_number_of_messages(10)
        .visibility_timeout(holds.seconds())
        .wait_time_seconds(1)
        .send()
        .await
        .map_err(|error| explain(error, &format!("sqs:ReceiveMessage ({url})")))?;
    Ok(received
        .messages()
        .iter()
        .filter_map(|message| {
            let (id, receipt_handle) = (message.message_id()?, message.receipt_handle()?);
            holds.hold(id, receipt_handle);
            Some((id.to_owned(), message.body().unwrap_or_default().to_owned()))
        })
        .collect())
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
            let tag = |name: &str| {
                tags.tag_set()
                    .iter()
                    .find(|tag| tag.key() == name)
                    .map(|tag| tag.value().to_owned())
            };
            if tag(REDRIVE_TAG).as_deref() == Some(REPLAYED) {
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
                .into_bytes()
                .to_vec();
            let mut record = failure::parse(&body);
            if let (Ok(record), Some(progress)) = (&mut record, tag(PROGRESS_TAG))
                && ddb_stream_processor::record::sequence_number::validate(&progress).is_ok()
            {
                record.replayed_through = Some(progress);
            }
            found.failures.push(Failure {
                origin: Origin::Object { key: key.to_owned() },
                body,
                record,
            });
        }
        match listed.next_continuation_token() {
            Some(next) if listed.is_truncated() == Some(true) => token = Some(next.to_owned()),
            _ => return Ok(found),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failure_is_named_by_its_message_or_its_object() {
        assert_eq!(Origin::Message { id: "m-1".into() }.to_string(), "message m-1");
        assert_eq!(
            Origin::Object {
                key: "aws/lambda/u/x".into()
            }
            .to_string(),
            "object aws/lambda/u/x"
        );
    }

    #[test]
    fn a_notification_names_its_object_in_either_form() {
        let eventbridge = r#"{"detail-type": "Object Created", "source": "aws.s3",
            "detail": {"bucket": {"name": "b"}, "object": {"key": "aws/lambda/u/shard/2026/12/02/x y", "size": 10}}}"#;
        assert_eq!(
            notified_key(eventbridge).as_deref(),
            Some("aws/lambda/u/shard/2026/12/02/x y")
        );
        let notification = r#"{"Records": [{"eventName": "ObjectCreated:Put", "s3": {"object": {"key": "aws/lambda/u/a+b%3A1"}}}]}"#;
        assert_eq!(notified_key(notification).as_deref(), Some("aws/lambda/u/a b:1"));
        assert_eq!(notified_key("not json"), None);
        assert_eq!(notified_key(r#"{"Event": "s3:TestEvent"}"#), None);
    }

    #[test]
    fn url_decoding_leaves_what_is_not_an_escape() {
        assert_eq!(url_decode("a%2Fb"), "a/b");
        assert_eq!(url_decode("100%"), "100%");
        assert_eq!(url_decode("%zz"), "%zz");
        assert_eq!(url_decode("%4"), "%4");
    }
}
