//! Keeps thread-scoped `tracing` subscribers reliable while other tests run concurrently.
//!
//! `tracing` caches, per callsite, whether any subscriber is interested. When one test drops its
//! scoped subscriber while another installs one, the cache can be rebuilt from a stale list and
//! end up "never", silently disabling a span in the test that does have a subscriber. A global
//! subscriber that is always "sometimes" interested (and never enabled) keeps every callsite asking
//! the current subscriber each time. Production has one global subscriber and no such race.

use std::sync::Once;

use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Metadata, Subscriber};

struct AskEveryTime;

impl Subscriber for AskEveryTime {
    fn register_callsite(&self, _metadata: &'static Metadata<'static>) -> Interest {
        Interest::sometimes()
    }

    fn enabled(&self, _metadata: &Metadata<'_>) -> bool {
        false
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        Id::from_u64(1)
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, _event: &Event<'_>) {}

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

/// Installs the always-asking global subscriber once for this test binary.
pub fn ask_every_time() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        let _ = tracing::subscriber::set_global_default(AskEveryTime);
    });
}
