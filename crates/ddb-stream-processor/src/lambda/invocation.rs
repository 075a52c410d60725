//! What the handler knows about one invocation, read from the Lambda context or made up locally.
//!
//! # The deadline, and emulators that send a duration
//! Lambda sends `Lambda-Runtime-Deadline-Ms` as milliseconds since the Unix epoch. Some emulators —
//! cargo-lambda's `watch` among them — send the *timeout* instead (`600000`), which read as an epoch
//! time is in 1970: no time left, and every invocation would fail at its first record. A deadline
//! that cannot be real — before the year 2000 and already past when the invocation arrives — is
//! read as the emulator meant it, a duration from now ([`DeadlineSource::EmulatorDuration`]); the
//! handler says so once in the logs. A real deadline that is merely past (a slow start) still
//! leaves no time.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::engine::{Deadline, EngineConfig};

/// The function name local invocations pretend to have.
pub(crate) const LOCAL_FUNCTION_NAME: &str = "ddb-stream-processor";
/// The function ARN local invocations pretend to come from.
pub(crate) const LOCAL_FUNCTION_ARN: &str = "arn:aws:lambda:local:000000000000:function:ddb-stream-processor";

/// Epoch milliseconds of 2000-01-01: no real invocation deadline is earlier.
const EARLIEST_REAL_DEADLINE_MS: u64 = 946_684_800_000;

/// One invocation, as the handler sees it.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Invocation {
    /// The AWS request id.
    pub request_id: String,
    /// The ARN the function was invoked with.
    pub invoked_function_arn: String,
    /// The X-Ray trace header of this invocation, when tracing is on.
    pub xray_trace_id: Option<String>,
    /// The function version (`$LATEST` or a number), when known.
    pub function_version: Option<String>,
    /// The function name: the name of the invocation's trace span.
    pub function_name: String,
    /// When the invocation times out, with the engine's margin.
    pub deadline: Deadline,
    /// Where the deadline came from.
    pub deadline_source: DeadlineSource,
}

/// How the invocation's deadline was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DeadlineSource {
    /// Lambda's epoch-milliseconds deadline.
    Epoch,
    /// An emulator sent this many milliseconds, a duration rather than an epoch time; it was read
    /// as a duration from the invocation's arrival.
    EmulatorDuration {
        /// The value of `Lambda-Runtime-Deadline-Ms`.
        sent_ms: u64,
    },
    /// A local invocation's time budget (`--event`, tests).
    Local,
}

impl Invocation {
    /// The invocation described by a Lambda context. The deadline margin is resolved against the
    /// time left now, which is the function timeout minus the runtime's own start-up of the event.
    pub fn from_context(context: &lambda_runtime::Context, engine: &EngineConfig) -> Self {
        let (budget, deadline_source) = read_deadline(context.deadline, epoch_millis_now());
        Self {
            request_id: context.request_id.clone(),
            invoked_function_arn: context.invoked_function_arn.clone(),
            xray_trace_id: context.xray_trace_id.clone(),
            function_version: Some(context.env_config.version.clone()).filter(|version| !version.is_empty()),
            function_name: context.env_config.function_name.clone(),
            deadline: deadline(budget, engine),
            deadline_source,
        }
    }

    /// A local invocation with `budget` before its deadline, a fresh `local-…` request id and the
    /// local function name and ARN.
    pub fn local(budget: Duration, engine: &EngineConfig) -> Self {
        Self {
            request_id: format!("local-{:016x}", fastrand::u64(..)),
            invoked_function_arn: LOCAL_FUNCTION_ARN.to_owned(),
            xray_trace_id: None,
            function_version: None,
            function_name: LOCAL_FUNCTION_NAME.to_owned(),
            deadline: deadline(budget, engine),
            deadline_source: DeadlineSource::Local,
        }
    }

    /// The same invocation with another request id.
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = request_id.into();
        self
    }

    /// The same invocation with an X-Ray trace header.
    pub fn with_xray_trace_id(mut self, trace_header: impl Into<String>) -> Self {
        self.xray_trace_id = Some(trace_header.into());
        self
    }

    /// The same invocation of another function version.
    pub fn with_function_version(mut self, version: impl Into<String>) -> Self {
        self.function_version = Some(version.into());
        self
    }

    /// The same invocation under another function name and invoked ARN.
    pub fn with_function(mut self, name: impl Into<String>, invoked_arn: impl Into<String>) -> Self {
        self.function_name = name.into();
        self.invoked_function_arn = invoked_arn.into();
        self
    }
}

fn deadline(budget: Duration, engine: &EngineConfig) -> Deadline {
    Deadline::after(budget, engine.deadline_margin).with_reserve(engine.telemetry_reserve)
}

fn epoch_millis_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since_epoch| {
            u64::try_from(since_epoch.as_millis()).unwrap_or(u64::MAX)
        })
}

/// The time budget a `Lambda-Runtime-Deadline-Ms` value leaves at `now_ms`, and how it was read.
pub(crate) fn read_deadline(deadline_ms: u64, now_ms: u64) -> (Duration, DeadlineSource) {
    if deadline_ms < EARLIEST_REAL_DEADLINE_MS && deadline_ms <= now_ms {
        return (
            Duration::from_millis(deadline_ms),
            DeadlineSource::EmulatorDuration { sent_ms: deadline_ms },
        );
    }
    (
        Duration::from_millis(deadline_ms.saturating_sub(now_ms)),
        DeadlineSource::Epoch,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW_MS: u64 = 1_793_491_200_000; // 2026-11-01

    #[test]
    fn an_epoch_deadline_leaves_the_time_until_it() {
        assert_eq!(
            read_deadline(NOW_MS + 30_000, NOW_MS),
            (Duration::from_secs(30), DeadlineSource::Epoch)
        );
    }

    #[test]
    fn a_real_deadline_already_past_leaves_no_time() {
        assert_eq!(
            read_deadline(NOW_MS - 5, NOW_MS),
            (Duration::ZERO, DeadlineSource::Epoch)
        );
        assert_eq!(
            read_deadline(EARLIEST_REAL_DEADLINE_MS, NOW_MS),
            (Duration::ZERO, DeadlineSource::Epoch),
            "2000-01-01 itself is an epoch time"
        );
    }

    #[test]
    fn a_deadline_that_cannot_be_real_is_read_as_the_emulator_meant_it() {
        assert_eq!(
            read_deadline(600_000, NOW_MS),
            (
                Duration::from_secs(600),
                DeadlineSource::EmulatorDuration { sent_ms: 600_000 }
            ),
            "cargo-lambda's watch sends its timeout"
        );
        assert_eq!(
            read_deadline(EARLIEST_REAL_DEADLINE_MS - 1, NOW_MS).1,
            DeadlineSource::EmulatorDuration {
                sent_ms: EARLIEST_REAL_DEADLINE_MS - 1
            }
        );
    }

    #[test]
    fn a_local_invocation_has_the_budget_it_is_given() {
        let engine = EngineConfig::default();
        let invocation = Invocation::local(Duration::from_secs(30), &engine).with_request_id("req-1");
        assert_eq!(invocation.request_id, "req-1");
        assert_eq!(invocation.deadline_source, DeadlineSource::Local);
        assert!(invocation.deadline.remaining() <= Duration::from_secs(30));
        assert_eq!(invocation.deadline.margin(), Duration::from_secs(3));
    }
}
