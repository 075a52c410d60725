//! The process-wide `metrics` recorder that routes every call to the invocation it belongs to.
//!
//! Business code calls the facade as usual (`::metrics::counter!("OrdersShipped").increment(1)`) from
//! inside its processor. The handler runs each invocation inside [`scope`], which puts that
//! invocation's [`InvocationMetrics`] in a tokio task-local; this recorder looks it up on every
//! registration. Concurrent invocations therefore never see each other's metrics, and a value
//! recorded outside any invocation (at start-up, or in a task spawned without the scope) is dropped
//! rather than attributed to whichever invocation happens to flush next.
//!
//! Handles are resolved when they are registered: a handle kept across invocations (in a `static`)
//! would keep writing into the invocation that created it. Call the macros where you record.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, OnceLock, RwLock};

use ::metrics::{Counter, Gauge, Histogram, Key, KeyName, Metadata, Recorder, SharedString, Unit};

use super::collector::InvocationMetrics;

tokio::task_local! {
    static CURRENT: Arc<InvocationMetrics>;
}

/// Runs `future` with `metrics` as the destination of every facade call made inside it.
pub async fn scope<F: Future>(metrics: Arc<InvocationMetrics>, future: F) -> F::Output {
    CURRENT.scope(metrics, future).await
}

/// The recorder installed globally by [`install`].
#[derive(Debug, Default)]
pub struct InvocationRouter {
    units: RwLock<HashMap<KeyName, Unit>>,
}

static ROUTER: OnceLock<bool> = OnceLock::new();
static DESCRIBED_UNITS: OnceLock<&'static InvocationRouter> = OnceLock::new();

/// Installs the router as the process's global `metrics` recorder (once; later calls are free).
/// Returns `false` when another recorder was installed first: facade calls of business code then go
/// there, while the template's own metrics, recorded without the global recorder, are unaffected.
pub fn install() -> bool {
    *ROUTER.get_or_init(|| {
        let router: &'static InvocationRouter = Box::leak(Box::default());
        let installed = ::metrics::set_global_recorder(router).is_ok();
        if installed {
            let _ = DESCRIBED_UNITS.set(router);
        }
        installed
    })
}

/// The unit business code declared for `name` with a `describe_*!` macro, if any.
pub fn described_unit(name: &str) -> Option<Unit> {
    let router = DESCRIBED_UNITS.get()?;
    let units = router.units.read().ok()?;
    units.get(name).copied()
}

impl InvocationRouter {
    fn describe(&self, key: KeyName, unit: Option<Unit>) {
        if let (Some(unit), Ok(mut units)) = (unit, self.units.write()) {
            units.insert(key, unit);
        }
    }
}

impl Recorder for InvocationRouter {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, _description: SharedString) {
        self.describe(key, unit);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, _description: SharedString) {
        self.describe(key, unit);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, _description: SharedString) {
        self.describe(key, unit);
    }

    fn register_counter(&self, key: &Key, metadata: &Metadata<'_>) -> Counter {
        CURRENT
            .try_with(|current| current.register_counter(key, metadata))
            .unwrap_or_else(|_| Counter::noop())
    }

    fn register_gauge(&self, key: &Key, metadata: &Metadata<'_>) -> Gauge {
        CURRENT
            .try_with(|current| current.register_gauge(key, metadata))
            .unwrap_or_else(|_| Gauge::noop())
    }

    fn register_histogram(&self, key: &Key, metadata: &Metadata<'_>) -> Histogram {
        CURRENT
            .try_with(|current| current.register_histogram(key, metadata))
            .unwrap_or_else(|_| Histogram::noop())
    }
}
