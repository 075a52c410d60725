//! Holding SQS messages while a redrive works on them.
//!
//! A received message is hidden from other readers for the visibility timeout, then shown again;
//! another reader (a second redrive, a person in the console) could then take it and replay the
//! same records, and settling it would fail. So each message is received with a short timeout, and
//! a heartbeat extends the hold of every message still held, every third of that timeout, for as
//! long as the redrive works; a message is released (shown again, or deleted) as soon as its own
//! failure is done. A hold the heartbeat cannot extend is marked lost, and that failure is left to
//! whoever holds it now.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_sqs::types::ChangeMessageVisibilityBatchRequestEntry;

/// The most entries one `ChangeMessageVisibilityBatch` call takes.
const BATCH_LIMIT: usize = 10;

/// One held message.
#[derive(Debug, Clone)]
struct Held {
    receipt_handle: String,
    /// Since when the message is hidden for the whole timeout (received, or last extended).
    since: tokio::time::Instant,
    /// Why the hold could not be extended.
    lost: Option<String>,
}

/// The messages a redrive holds, and the heartbeat that keeps them hidden.
#[derive(Debug, Clone)]
pub struct Holds {
    held: Arc<Mutex<BTreeMap<String, Held>>>,
    seconds: i32,
    heartbeat: Arc<Mutex<Option<tokio::task::AbortHandle>>>,
    /// Held by a heartbeat while it extends, and by [`Holds::take`]: no extension is in flight once
    /// a message is taken, so none can hide it again after it is shown or deleted.
    extending: Arc<tokio::sync::Mutex<()>>,
}

impl Holds {
    /// Holds of `seconds` each, not started yet.
    pub fn new(seconds: i32) -> Self {
        Self {
            held: Arc::default(),
            seconds,
            heartbeat: Arc::default(),
            extending: Arc::default(),
        }
    }

    /// The visibility timeout a message is received with.
    pub fn seconds(&self) -> i32 {
        self.seconds
    }

    /// Starts the heartbeat for the messages of the queue `url` (once; later calls do nothing).
    pub fn start(&self, client: &aws_sdk_sqs::Client, url: &str) {
        let mut heartbeat = self
            .heartbeat
            .lock()
            .expect("the heartbeat lock is never poisoned");
        if heartbeat.is_some() {
            return;
        }
        let holds = self.clone();
        let client = client.clone();
        let url = url.to_owned();
        let every = Duration::from_millis((u64::try_from(self.seconds).unwrap_or(1) * 1000 / 3).max(500));
        let task = tokio::spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                holds.extend(&client, &url).await;
            }
        });
        *heartbeat = Some(task.abort_handle());
    }

    /// Stops the heartbeat.
    pub fn stop(&self) {
        if let Some(task) = self
            .heartbeat
            .lock()
            .expect("the heartbeat lock is never poisoned")
            .take()
        {
            task.abort();
        }
    }

    /// Holds the message `id`, received with `receipt_handle`.
    pub fn hold(&self, id: &str, receipt_handle: &str) {
        self.held
            .lock()
            .expect("the holds lock is never poisoned")
            .insert(
                id.to_owned(),
                Held {
                    receipt_handle: receipt_handle.to_owned(),
                    since: tokio::time::Instant::now(),
                    lost: None,
                },
            );
    }

    /// Lets the message `id` go once no extension of it is in flight: its receipt handle, to delete
    /// it or show it again; `Err` with the reason when its hold was lost (another reader may have it
    /// now: it is not this redrive's to touch); `Ok(None)` when it is not held.
    pub async fn take(&self, id: &str) -> Result<Option<String>, String> {
        let _no_extension_in_flight = self.extending.lock().await;
        let held = self
            .held
            .lock()
            .expect("the holds lock is never poisoned")
            .remove(id);
        match held {
            Some(Held {
                lost: Some(reason), ..
            }) => Err(reason),
            Some(held) => Ok(Some(held.receipt_handle)),
            None => Ok(None),
        }
    }

    /// Why the hold of message `id` was lost, if it was.
    pub fn lost(&self, id: &str) -> Option<String> {
        self.held
            .lock()
            .expect("the holds lock is never poisoned")
            .get(id)
            .and_then(|held| held.lost.clone())
    }

    /// Extends every hold not lost, ten messages a call; marks lost those SQS refuses, and those a
    /// failing call could not extend before their timeout ran out.
    async fn extend(&self, client: &aws_sdk_sqs::Client, url: &str) {
        let _extending = self.extending.lock().await;
        let entries: Vec<(String, String)> = self
            .held
            .lock()
            .expect("the holds lock is never poisoned")
            .iter()
            .filter(|(_, held)| held.lost.is_none())
            .map(|(id, held)| (id.clone(), held.receipt_handle.clone()))
            .collect();
        for chunk in entries.chunks(BATCH_LIMIT) {
            let requests: Vec<ChangeMessageVisibilityBatchRequestEntry> = chunk
                .iter()
                .enumerate()
                .map(|(index, (_, receipt_handle))| {
                    ChangeMessageVisibilityBatchRequestEntry::builder()
                        .id(index.to_string())
                        .receipt_handle(receipt_handle)
                        .visibility_timeout(self.seconds)
                        .build()
                        .expect("id and receipt handle are set")
                })
                .collect();
            let answer = client
                .change_message_visibility_batch()
                .queue_url(url)
                .set_entries(Some(requests))
                .send()
                .await;
            let asked_at = tokio::time::Instant::now();
            let timeout = Duration::from_secs(u64::try_from(self.seconds).unwrap_or(0));
            let (failed, call_failed): (Vec<(usize, String)>, bool) = match answer {
                Ok(answer) => (
                    answer
                        .failed()
                        .iter()
                        .filter_map(|failure| {
                            let index = failure.id().parse::<usize>().ok()?;
                            Some((
                                index,
                                format!(
                                    "{}: {}",
                                    failure.code(),
                                    failure.message().unwrap_or("the hold could not be extended")
                                ),
                            ))
                        })
                        .collect(),
                    false,
                ),
                // A call that fails may succeed at the next beat, within the hold: a hold is lost
                // only once its timeout may have run out.
                Err(error) => (
                    (0..chunk.len())
                        .map(|index| (index, format!("sqs:ChangeMessageVisibilityBatch failed: {error}")))
                        .collect(),
                    true,
                ),
            };
            let mut held = self.held.lock().expect("the holds lock is never poisoned");
            for (index, (id, _)) in chunk.iter().enumerate() {
                let Some(entry) = held.get_mut(id) else { continue };
                match failed.iter().find(|(failed, _)| *failed == index) {
                    None => entry.since = asked_at,
                    Some((_, reason)) if !call_failed || asked_at.duration_since(entry.since) >= timeout => {
                        entry.lost = Some(reason.clone());
                    }
                    Some(_) => {}
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_taken_message_is_no_longer_held_and_a_lost_hold_is_never_taken() {
        let holds = Holds::new(60);
        holds.hold("m-1", "r-1");
        holds.hold("m-2", "r-2");
        assert_eq!(holds.lost("m-1"), None);
        assert_eq!(holds.take("m-1").await, Ok(Some("r-1".to_owned())));
        assert_eq!(holds.take("m-1").await, Ok(None));
        holds.held.lock().unwrap().get_mut("m-2").unwrap().lost = Some("ReceiptHandleIsInvalid".into());
        assert_eq!(holds.lost("m-2").as_deref(), Some("ReceiptHandleIsInvalid"));
        assert_eq!(holds.take("m-2").await, Err("ReceiptHandleIsInvalid".to_owned()));
        assert_eq!(holds.seconds(), 60);
    }
}
