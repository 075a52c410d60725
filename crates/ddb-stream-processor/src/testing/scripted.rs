//! A processor whose behaviour per record is scripted by the test, and which records every call.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::processor::{FailureKind, RecordError, RecordProcessor, ResultExt};
use crate::record::ChangeRecord;

/// What the processor does with one record.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// Fails with `kind` on the first `times` attempts, then succeeds.
    FailTimes {
        /// How the failing attempts fail.
        kind: FailureKind,
        /// How many attempts fail before one succeeds.
        times: u32,
    },
    /// Fails with `kind` on every attempt.
    AlwaysFail(FailureKind),
    /// Panics with this message.
    Panic(&'static str),
    /// Takes this long (on tokio's clock), then succeeds.
    Sleep(Duration),
    /// Takes this long (on tokio's clock), then fails with this kind: a failure that other records
    /// can run alongside.
    SleepThenFail(Duration, FailureKind),
}

/// Succeeds on every record not in its script; records each call as (event id, attempt of that record).
#[derive(Debug, Default)]
pub struct ScriptedProcessor {
    script: HashMap<String, Behaviour>,
    default_delay: Option<Duration>,
    calls: Mutex<Vec<String>>,
}

impl ScriptedProcessor {
    /// A processor that succeeds on every record until the test scripts one.
    pub fn new() -> Self {
        Self::default()
    }

    /// Scripts the behaviour for the record with this event id.
    pub fn on(mut self, event_id: impl Into<String>, behaviour: Behaviour) -> Self {
        self.script.insert(event_id.into(), behaviour);
        self
    }

    /// Every record not in the script takes this long.
    pub fn taking(mut self, delay: Duration) -> Self {
        self.default_delay = Some(delay);
        self
    }

    /// The event ids of every call, in call order (a retried record appears once per attempt).
    pub fn calls(&self) -> Vec<String> {
        self.calls.lock().unwrap().clone()
    }

    fn attempts_so_far(&self, event_id: &str) -> u32 {
        self.calls
            .lock()
            .unwrap()
            .iter()
            .filter(|call| *call == event_id)
            .count() as u32
    }
}

impl RecordProcessor for ScriptedProcessor {
    async fn process(&self, record: &ChangeRecord) -> Result<(), RecordError> {
        self.calls.lock().unwrap().push(record.event_id.clone());
        let attempt = self.attempts_so_far(&record.event_id);
        match self.script.get(&record.event_id) {
            None => {
                if let Some(delay) = self.default_delay {
                    tokio::time::sleep(delay).await;
                }
                Ok(())
            }
            Some(Behaviour::FailTimes { kind, times }) if attempt <= *times => Err(RecordError::new(
                *kind,
                format!("scripted failure on attempt {attempt}"),
            )),
            Some(Behaviour::FailTimes { .. }) => Ok(()),
            Some(Behaviour::AlwaysFail(kind)) => Err(RecordError::new(*kind, "scripted failure")),
            Some(Behaviour::Panic(message)) => panic!("{message}"),
            Some(Behaviour::Sleep(delay)) => {
                tokio::time::sleep(*delay).await;
                Ok(())
            }
            Some(Behaviour::SleepThenFail(delay, kind)) => {
                tokio::time::sleep(*delay).await;
                Err(RecordError::new(*kind, "scripted failure after a delay"))
            }
        }
    }
}

/// What the `decode-*` scripts decode an image into, the way a processor following serde_dynamo's
/// documentation would: `amount_cents` must be a number that fits a `u32`, `status` one of
/// `PENDING` and `PAID`. serde_dynamo's errors quote the value that does not fit.
#[derive(Debug, serde::Deserialize)]
#[expect(dead_code, reason = "only whether the image decodes matters")]
struct ScriptedItem {
    amount_cents: u32,
    status: ScriptedStatus,
}

/// The statuses [`ScriptedItem`] accepts.
#[derive(Debug, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum ScriptedStatus {
    /// Not paid yet.
    Pending,
    /// Paid.
    Paid,
}

fn decode_image(record: &ChangeRecord) -> Result<(), serde_dynamo::Error> {
    let image = record.new_image.clone().unwrap_or_default();
    serde_dynamo::from_item::<_, ScriptedItem>(image).map(|_| ())
}

/// The attribute of an image that scripts [`ImageScriptedProcessor`].
pub const SCRIPT_ATTRIBUTE: &str = "script";

/// A processor scripted by the records themselves, for whole-process tests where the test cannot
/// reach the processor: the string attribute `script` of the new image (the old image for a REMOVE)
/// says what to do with the record.
///
/// | `script` | behaviour |
/// |---|---|
/// | (absent) | succeeds |
/// | `fail-permanent` | fails permanently, every attempt |
/// | `fail-transient` | fails transiently, every attempt |
/// | `fail-transient-once` | fails transiently on its first attempt in this process, then succeeds |
/// | `fail-until-fixed` | fails permanently, every attempt, unless the process was started with [`FIXED_VARIABLE`] set (the cause has been fixed and deployed) |
/// | `panic` | panics |
/// | `sleep-ms:N` | takes N milliseconds, then succeeds |
/// | `decode-permanent` | decodes the new image with serde_dynamo (`amount_cents` a `u32`, `status` `PENDING` or `PAID`); a decode error fails permanently, with serde_dynamo's error (which quotes the value) as the source |
/// | `decode-transient` | the same, failing transiently |
/// | `decode-unwrap` | the same decode, `.unwrap()`ped: a panic whose message quotes the value, as a careless first processor does |
/// | `panic-with-status` | panics with the image's `status` value in the message |
/// | `log-every-level` | writes a line at each level, TRACE to ERROR, naming attributes but no value, then succeeds |
///
/// Anything else fails permanently with a message naming the unknown script.
///
/// Each record it completes is logged at DEBUG (`scripted record done`, with the record's
/// `eventId` and `sequenceNumber`, never its values), so a whole-process test can tell which
/// records a function processed, and in which order.
#[derive(Debug, Default)]
pub struct ImageScriptedProcessor {
    attempted: Mutex<std::collections::HashSet<String>>,
    fixed: bool,
}

/// The environment variable that makes `fail-until-fixed` records succeed, read when the processor
/// is made: a test restarts the function with it set, as a team redeploys a fix.
pub const FIXED_VARIABLE: &str = "SCRIPTED_PROCESSOR_FIXED";

/// The message of the DEBUG line [`ImageScriptedProcessor`] writes for each record it completes.
pub const DONE_MESSAGE: &str = "scripted record done";

impl ImageScriptedProcessor {
    /// A processor with no record attempted yet; `fail-until-fixed` records succeed when
    /// [`FIXED_VARIABLE`] is set.
    pub fn new() -> Self {
        Self {
            fixed: std::env::var_os(FIXED_VARIABLE).is_some(),
            ..Self::default()
        }
    }

    async fn run_script(&self, record: &ChangeRecord) -> Result<(), RecordError> {
        let Some(script) = script_of(record) else {
            return Ok(());
        };
        match script.as_str() {
            "fail-permanent" => Err(RecordError::permanent("scripted permanent failure")),
            "fail-until-fixed" if !self.fixed => Err(RecordError::permanent(
                "scripted permanent failure, until the cause is fixed",
            )),
            "fail-until-fixed" => Ok(()),
            "fail-transient" => Err(RecordError::transient("scripted transient failure")),
            "fail-transient-once" => {
                let first = self.attempted.lock().unwrap().insert(record.event_id.clone());
                if first {
                    Err(RecordError::transient(
                        "scripted transient failure, first attempt",
                    ))
                } else {
                    Ok(())
                }
            }
            "panic" => panic!("scripted panic"),
            "decode-permanent" => decode_image(record).permanent("decoding the image"),
            "decode-transient" => decode_image(record).transient("decoding the image"),
            "decode-unwrap" => {
                // The careless processor this script stands for.
                decode_image(record).unwrap();
                Ok(())
            }
            "panic-with-status" => {
                let status = record
                    .new_image
                    .as_ref()
                    .and_then(|image| image.get("status"))
                    .map(|status| format!("{status:?}"))
                    .unwrap_or_default();
                panic!("unexpected status {status}")
            }
            "log-every-level" => {
                tracing::trace!(attribute = "amount_cents", "checking an attribute");
                tracing::debug!(attribute = "amount_cents", "attribute checked");
                tracing::info!(attribute = "status", "status read");
                tracing::warn!(attribute = "status", "status looks unusual");
                tracing::error!(attribute = "status", "status rejected, then accepted");
                Ok(())
            }
            other => match other.strip_prefix("sleep-ms:").map(str::parse::<u64>) {
                Some(Ok(millis)) => {
                    tokio::time::sleep(Duration::from_millis(millis)).await;
                    Ok(())
                }
                _ => Err(RecordError::permanent(format!("unknown script {other:?}"))),
            },
        }
    }
}

fn script_of(record: &ChangeRecord) -> Option<String> {
    let image = record.new_image.as_ref().or(record.old_image.as_ref())?;
    match image.get(SCRIPT_ATTRIBUTE)? {
        serde_dynamo::AttributeValue::S(script) => Some(script.clone()),
        _ => Some("<not a string>".to_owned()),
    }
}

impl RecordProcessor for ImageScriptedProcessor {
    async fn process(&self, record: &ChangeRecord) -> Result<(), RecordError> {
        self.run_script(record).await?;
        tracing::debug!(
            eventId = %record.event_id,
            sequenceNumber = record.sequence_number.as_deref().unwrap_or_default(),
            "{DONE_MESSAGE}"
        );
        Ok(())
    }
}
