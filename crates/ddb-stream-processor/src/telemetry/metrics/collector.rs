//! The metrics of one invocation: a `metrics` facade recorder whose state lives exactly as long as
//! the invocation.
//!
//! A process-global registry would mix the metrics of invocations that run concurrently
//! (`lambda_runtime::run_concurrent`) and carry leftovers from one invocation into the next. Each
//! invocation gets its own [`InvocationMetrics`] instead: the handler records into it with
//! `::metrics::with_local_recorder`, business code reaches it through the [router](super::router),
//! and the flush drains it.
//!
//! Distributions keep a uniform random sample (reservoir sampling) of at most `max_samples` values,
//! so a 10,000-record batch costs one EMF document per distribution, not a hundred; percentiles of
//! a uniform sample estimate the batch's percentiles without bias.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use ::metrics::{
    Counter, CounterFn, Gauge, GaugeFn, Histogram, HistogramFn, Key, KeyName, Metadata, Recorder,
    SharedString, Unit,
};

/// A counter cell.
#[derive(Debug, Default)]
struct CounterCell(AtomicU64);

impl CounterFn for CounterCell {
    fn increment(&self, value: u64) {
        self.0.fetch_add(value, Ordering::Relaxed);
    }

    fn absolute(&self, value: u64) {
        self.0.fetch_max(value, Ordering::Relaxed);
    }
}

/// A gauge cell: an `f64` stored as its bits.
#[derive(Debug, Default)]
struct GaugeCell(AtomicU64);

impl GaugeCell {
    fn update(&self, change: impl Fn(f64) -> f64) {
        let _ = self.0.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |bits| {
            Some(change(f64::from_bits(bits)).to_bits())
        });
    }
}

impl GaugeFn for GaugeCell {
    fn increment(&self, value: f64) {
        self.update(|current| current + value);
    }

    fn decrement(&self, value: f64) {
        self.update(|current| current - value);
    }

    fn set(&self, value: f64) {
        self.0.store(value.to_bits(), Ordering::Relaxed);
    }
}

/// A uniform sample of at most `capacity` of the values recorded (Vitter's algorithm R).
#[derive(Debug)]
struct Reservoir {
    capacity: usize,
    seen: u64,
    samples: Vec<f64>,
    rng: fastrand::Rng,
}

impl Reservoir {
    fn record(&mut self, value: f64) {
        if self.samples.len() < self.capacity {
            self.samples.push(value);
        } else {
            let slot = self.rng.u64(0..=self.seen);
            if let Ok(slot) = usize::try_from(slot)
                && slot < self.capacity
            {
                self.samples[slot] = value;
            }
        }
        self.seen += 1;
    }
}

/// A histogram cell.
#[derive(Debug)]
struct HistogramCell(Mutex<Reservoir>);

impl HistogramFn for HistogramCell {
    fn record(&self, value: f64) {
        if let Ok(mut reservoir) = self.0.lock() {
            reservoir.record(value);
        }
    }
}

/// What was recorded for one metric.
#[derive(Debug, Clone, PartialEq)]
pub enum Recorded {
    Counter(u64),
    Gauge(f64),
    /// The sample kept, and how many values were recorded in all.
    Distribution {
        samples: Vec<f64>,
        recorded: u64,
    },
}

/// One recorded metric: name, labels, declared unit, value.
#[derive(Debug, Clone, PartialEq)]
pub struct RecordedMetric {
    pub name: String,
    pub labels: Vec<(String, String)>,
    pub unit: Option<Unit>,
    pub value: Recorded,
}

#[derive(Debug, Default)]
struct Cells {
    counters: HashMap<Key, Arc<CounterCell>>,
    gauges: HashMap<Key, Arc<GaugeCell>>,
    histograms: HashMap<Key, Arc<HistogramCell>>,
    units: HashMap<KeyName, Unit>,
}

/// The metrics recorded during one invocation.
#[derive(Debug)]
pub struct InvocationMetrics {
    cells: Mutex<Cells>,
    max_samples: usize,
    seed: u64,
}

impl InvocationMetrics {
    /// An empty collection whose distributions keep at most `max_samples` values each.
    pub fn new(max_samples: usize) -> Self {
        Self::with_seed(max_samples, fastrand::u64(..))
    }

    /// Like [`new`](Self::new), with a fixed seed for the sampling (tests).
    pub fn with_seed(max_samples: usize, seed: u64) -> Self {
        Self {
            cells: Mutex::new(Cells::default()),
            max_samples: max_samples.max(1),
            seed,
        }
    }

    fn cells(&self) -> std::sync::MutexGuard<'_, Cells> {
        // A panic while holding this lock cannot leave the maps inconsistent: keep using them.
        self.cells
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Everything recorded so far, sorted by name then labels.
    pub fn snapshot(&self) -> Vec<RecordedMetric> {
        let cells = self.cells();
        let entry = |key: &Key, value: Recorded| RecordedMetric {
            name: key.name().to_owned(),
            labels: key
                .labels()
                .map(|label| (label.key().to_owned(), label.value().to_owned()))
                .collect(),
            unit: cells.units.get(key.name()).copied(),
            value,
        };
        let mut metrics: Vec<RecordedMetric> = Vec::new();
        for (key, cell) in &cells.counters {
            metrics.push(entry(key, Recorded::Counter(cell.0.load(Ordering::Relaxed))));
        }
        for (key, cell) in &cells.gauges {
            metrics.push(entry(
                key,
                Recorded::Gauge(f64::from_bits(cell.0.load(Ordering::Relaxed))),
            ));
        }
        for (key, cell) in &cells.histograms {
            let reservoir = cell.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            metrics.push(entry(
                key,
                Recorded::Distribution {
                    samples: reservoir.samples.clone(),
                    recorded: reservoir.seen,
                },
            ));
        }
        metrics.sort_by(|a, b| a.name.cmp(&b.name).then_with(|| a.labels.cmp(&b.labels)));
        metrics
    }

    fn describe(&self, key: KeyName, unit: Option<Unit>) {
        if let Some(unit) = unit {
            self.cells().units.insert(key, unit);
        }
    }
}

impl Recorder for InvocationMetrics {
    fn describe_counter(&self, key: KeyName, unit: Option<Unit>, _description: SharedString) {
        self.describe(key, unit);
    }

    fn describe_gauge(&self, key: KeyName, unit: Option<Unit>, _description: SharedString) {
        self.describe(key, unit);
    }

    fn describe_histogram(&self, key: KeyName, unit: Option<Unit>, _description: SharedString) {
        self.describe(key, unit);
    }

    fn register_counter(&self, key: &Key, _metadata: &Metadata<'_>) -> Counter {
        let cell = Arc::clone(self.cells().counters.entry(key.clone()).or_default());
        Counter::from_arc(cell)
    }

    fn register_gauge(&self, key: &Key, _metadata: &Metadata<'_>) -> Gauge {
        let cell = Arc::clone(self.cells().gauges.entry(key.clone()).or_default());
        Gauge::from_arc(cell)
    }

    fn register_histogram(&self, key: &Key, _metadata: &Metadata<'_>) -> Histogram {
        let mut cells = self.cells();
        let seed = self.seed ^ cells.histograms.len() as u64;
        let cell = cells.histograms.entry(key.clone()).or_insert_with(|| {
            Arc::new(HistogramCell(Mutex::new(Reservoir {
                capacity: self.max_samples,
                seen: 0,
                samples: Vec::new(),
                rng: fastrand::Rng::with_seed(seed),
            })))
        });
        Histogram::from_arc(Arc::clone(cell))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_counters_gauges_and_distributions_through_the_facade() {
        let collected = InvocationMetrics::with_seed(100, 1);
        ::metrics::with_local_recorder(&collected, || {
            ::metrics::describe_histogram!("Latency", Unit::Milliseconds, "");
            ::metrics::counter!("Orders").increment(2);
            ::metrics::counter!("Orders").increment(3);
            ::metrics::counter!("Orders", "kind" => "refund").increment(1);
            ::metrics::gauge!("Depth").set(4.0);
            ::metrics::gauge!("Depth").decrement(1.5);
            ::metrics::histogram!("Latency").record(7.0);
            ::metrics::histogram!("Latency").record(9.0);
        });
        let snapshot = collected.snapshot();
        let find = |name: &str, labels: usize| {
            snapshot
                .iter()
                .find(|metric| metric.name == name && metric.labels.len() == labels)
                .unwrap()
        };
        assert_eq!(find("Orders", 0).value, Recorded::Counter(5));
        assert_eq!(
            find("Orders", 1).labels,
            [("kind".to_owned(), "refund".to_owned())]
        );
        assert_eq!(find("Depth", 0).value, Recorded::Gauge(2.5));
        assert_eq!(
            find("Latency", 0).value,
            Recorded::Distribution {
                samples: vec![7.0, 9.0],
                recorded: 2
            }
        );
        assert_eq!(find("Latency", 0).unit, Some(Unit::Milliseconds));
    }

    #[test]
    fn distributions_keep_a_bounded_uniform_sample() {
        let collected = InvocationMetrics::with_seed(100, 42);
        ::metrics::with_local_recorder(&collected, || {
            let histogram = ::metrics::histogram!("Latency");
            for value in 0..10_000 {
                histogram.record(f64::from(value));
            }
        });
        let Recorded::Distribution { samples, recorded } = &collected.snapshot()[0].value else {
            panic!("a distribution");
        };
        assert_eq!(*recorded, 10_000);
        assert_eq!(samples.len(), 100);
        // A uniform sample of 0..10000 has its mean near 5000; the first 100 values would give 49.5.
        let mean = samples.iter().sum::<f64>() / samples.len() as f64;
        assert!((3_500.0..6_500.0).contains(&mean), "mean of the sample {mean}");
    }

    #[test]
    fn two_collections_never_share_values() {
        let first = InvocationMetrics::new(10);
        let second = InvocationMetrics::new(10);
        ::metrics::with_local_recorder(&first, || ::metrics::counter!("Orders").increment(1));
        ::metrics::with_local_recorder(&second, || ::metrics::counter!("Orders").increment(7));
        assert_eq!(first.snapshot()[0].value, Recorded::Counter(1));
        assert_eq!(second.snapshot()[0].value, Recorded::Counter(7));
    }

    #[test]
    fn counters_set_absolutely_never_go_down_and_gauges_move_both_ways() {
        let collected = InvocationMetrics::with_seed(10, 1);
        ::metrics::with_local_recorder(&collected, || {
            let seen = ::metrics::counter!("Seen");
            seen.absolute(10);
            seen.absolute(4);
            seen.increment(1);
            let depth = ::metrics::gauge!("Depth");
            depth.increment(2.0);
            depth.increment(0.5);
            depth.decrement(1.0);
        });
        let snapshot = collected.snapshot();
        assert_eq!(snapshot[0].name, "Depth");
        assert_eq!(snapshot[0].value, Recorded::Gauge(1.5));
        assert_eq!(snapshot[1].name, "Seen");
        assert_eq!(snapshot[1].value, Recorded::Counter(11));
    }

    #[test]
    fn every_kind_of_metric_keeps_the_unit_it_was_described_with() {
        let collected = InvocationMetrics::with_seed(10, 1);
        ::metrics::with_local_recorder(&collected, || {
            ::metrics::describe_counter!("Bytes", Unit::Bytes, "bytes written");
            ::metrics::describe_gauge!("Queue", Unit::Count, "queue depth");
            ::metrics::describe_histogram!("Wait", Unit::Seconds, "wait");
            ::metrics::counter!("Bytes").increment(1);
            ::metrics::gauge!("Queue").set(1.0);
            ::metrics::histogram!("Wait").record(1.0);
            ::metrics::counter!("Plain").increment(1);
        });
        let units: Vec<(String, Option<Unit>)> = collected
            .snapshot()
            .into_iter()
            .map(|metric| (metric.name, metric.unit))
            .collect();
        assert_eq!(
            units,
            [
                ("Bytes".to_owned(), Some(Unit::Bytes)),
                ("Plain".to_owned(), None),
                ("Queue".to_owned(), Some(Unit::Count)),
                ("Wait".to_owned(), Some(Unit::Seconds)),
            ]
        );
    }

    #[test]
    fn each_histogram_key_keeps_its_own_sample() {
        let collected = InvocationMetrics::with_seed(10, 1);
        ::metrics::with_local_recorder(&collected, || {
            ::metrics::histogram!("Latency", "route" => "a").record(1.0);
            ::metrics::histogram!("Latency", "route" => "b").record(2.0);
            ::metrics::histogram!("Latency", "route" => "a").record(3.0);
        });
        let samples: Vec<(Vec<(String, String)>, Recorded)> = collected
            .snapshot()
            .into_iter()
            .map(|metric| (metric.labels, metric.value))
            .collect();
        assert_eq!(
            samples,
            [
                (
                    vec![("route".to_owned(), "a".to_owned())],
                    Recorded::Distribution {
                        samples: vec![1.0, 3.0],
                        recorded: 2
                    }
                ),
                (
                    vec![("route".to_owned(), "b".to_owned())],
                    Recorded::Distribution {
                        samples: vec![2.0],
                        recorded: 1
                    }
                ),
            ]
        );
    }

    #[test]
    fn each_invocation_samples_its_own_values() {
        // The sample of one invocation must not keep the same positions as the next one's: the
        // seed of each histogram comes from the invocation's seed.
        let sample = |seed: u64| {
            let collected = InvocationMetrics::with_seed(10, seed);
            ::metrics::with_local_recorder(&collected, || {
                let histogram = ::metrics::histogram!("Latency");
                for value in 0..1_000 {
                    histogram.record(f64::from(value));
                }
            });
            collected.snapshot().remove(0).value
        };
        assert_eq!(sample(7), sample(7), "the same seed, the same sample");
        assert_ne!(sample(7), sample(8));
        assert_ne!(sample(2), sample(4));
    }
}
