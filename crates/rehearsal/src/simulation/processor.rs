//! The processor a scenario scripts: the business code of the rehearsal, behaving as the scenario says
//! at each simulated moment.

use std::sync::Arc;
use std::sync::Once;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use ddb_stream_processor::{ChangeRecord, RecordError, RecordProcessor};
use serde_dynamo::AttributeValue;

use super::clock::SimulatedClock;
use crate::scenario::Scenario;

/// The attribute of a record's new image that makes it a poison record.
pub(crate) const POISON_ATTRIBUTE: &str = "poison";
/// The attribute of a record's new image that makes its processing panic.
pub(crate) const PANIC_ATTRIBUTE: &str = "panic";

/// The message of the panic a scenario's panicking record causes.
const SCRIPTED_PANIC: &str = "the scenario's panicking record";

/// Keeps the panics scenarios script off stderr: the process's panic hook (the default one prints
/// each, with a backtrace when RUST_BACKTRACE is set) is called for any other panic, and the
/// rehearsal counts its own instead ([`ScenarioProcessor::panics`]). Installed once per process.
pub(crate) fn silence_scripted_panics() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if info.payload().downcast_ref::<&str>() != Some(&SCRIPTED_PANIC) {
                previous(info);
            }
        }));
    });
}

/// Does the scenario's work for each record: its latency, its dependency's failures and slowness,
/// and its poison and panicking records.
#[derive(Debug)]
pub(crate) struct ScenarioProcessor {
    scenario: Arc<Scenario>,
    clock: SimulatedClock,
    panics: AtomicUsize,
}

impl ScenarioProcessor {
    pub(crate) fn new(scenario: Arc<Scenario>, clock: SimulatedClock) -> Self {
        Self {
            scenario,
            clock,
            panics: AtomicUsize::new(0),
        }
    }

    /// How many times a panicking record made the processor panic.
    pub(crate) fn panics(&self) -> usize {
        self.panics.load(Ordering::Relaxed)
    }

    fn flag(record: &ChangeRecord, attribute: &str) -> bool {
        record
            .new_image
            .as_ref()
            .and_then(|image| image.get(attribute))
            .is_some_and(|value| matches!(value, AttributeValue::Bool(true)))
    }
}

/// A number in [0, 1) from a record's identity and the moment of the attempt: the same scenario
/// gives the same failures.
fn draw(event_id: &str, now_ms: i64) -> f64 {
    let mut state = now_ms as u64 ^ 0x9E37_79B9_7F4A_7C15;
    for byte in event_id.bytes() {
        state = (state ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    state ^= state >> 33;
    state = state.wrapping_mul(0xff51_afd7_ed55_8ccd);
    state ^= state >> 33;
    (state % 1_000_000) as f64 / 1_000_000.0
}

impl RecordProcessor for ScenarioProcessor {
    async fn process(&self, record: &ChangeRecord) -> Result<(), RecordError> {
        let (failure_rate, extra_latency_ms) = self.scenario.dependency_at(self.clock.minutes_since_start());
        tokio::time::sleep(Duration::from_millis(
            self.scenario.record_latency_ms + extra_latency_ms,
        ))
        .await;
        if Self::flag(record, PANIC_ATTRIBUTE) {
            self.panics.fetch_add(1, Ordering::Relaxed);
            std::panic::panic_any(SCRIPTED_PANIC);
        }
        if Self::flag(record, POISON_ATTRIBUTE) {
            return Err(RecordError::permanent("the scenario's poison record"));
        }
        if failure_rate > 0.0 && draw(&record.event_id, self.clock.now_ms()) < failure_rate {
            return Err(RecordError::transient("the scenario's dependency failed"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_are_spread_and_repeatable() {
        let draws: Vec<f64> = (0..10_000).map(|index| draw(&format!("e-{index}"), 42)).collect();
        let below_a_tenth = draws.iter().filter(|draw| **draw < 0.1).count();
        assert!((800..1200).contains(&below_a_tenth), "{below_a_tenth}");
        assert_eq!(draw("e-1", 42), draw("e-1", 42));
        assert_ne!(draw("e-1", 42), draw("e-1", 43));
    }
}
