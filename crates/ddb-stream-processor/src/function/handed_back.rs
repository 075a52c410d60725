//! The records this execution environment handed back to the stream after they failed, so that a
//! record failing again when it comes back (a stuck record) is told apart from one that fails once
//! and succeeds on redelivery (`RecordsFailedAgain`).
//!
//! Lambda says nothing in a stream event about a record being a redelivery. What the function knows
//! is what it handed back itself: the record its batch stopped at. Lambda sends that record again,
//! usually to the same warm execution environment (a shard's batches run one at a time); one that
//! lands in another environment is not recognised there, so the count can miss a repeat, never
//! invent one.

use std::collections::VecDeque;
use std::sync::{Mutex, PoisonError};

/// How many handed-back records an environment remembers: far more than the shards one environment
/// serves, for a few bytes each.
const REMEMBERED: usize = 1024;

/// The event ids of the records handed back most recently, oldest first.
#[derive(Debug, Default)]
pub(crate) struct HandedBack {
    recent: Mutex<VecDeque<String>>,
}

impl HandedBack {
    /// Notes that the record `event_id` failed and is handed back; `true` when this environment had
    /// handed it back before: it failed again.
    pub(crate) fn failed(&self, event_id: &str) -> bool {
        let mut recent = self.recent.lock().unwrap_or_else(PoisonError::into_inner);
        if recent.iter().any(|known| known == event_id) {
            return true;
        }
        if recent.len() == REMEMBERED {
            recent.pop_front();
        }
        recent.push_back(event_id.to_owned());
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_record_failing_when_it_comes_back_failed_again_and_a_new_one_did_not() {
        let handed_back = HandedBack::default();
        assert!(!handed_back.failed("e-1"), "the first failure");
        assert!(!handed_back.failed("e-2"));
        assert!(handed_back.failed("e-1"), "e-1 came back and failed again");
        assert!(handed_back.failed("e-1"), "and again");
    }

    #[test]
    fn the_oldest_are_forgotten_past_the_limit() {
        let handed_back = HandedBack::default();
        for index in 0..=REMEMBERED {
            assert!(!handed_back.failed(&format!("e-{index}")));
        }
        assert!(!handed_back.failed("e-0"), "the oldest was forgotten");
        assert!(handed_back.failed(&format!("e-{REMEMBERED}")));
    }
}
