//! How long a rehearsal takes: a 60-minute normal-traffic scenario at 100 records per second
//! (360,000 records through the real handler, 4 shards), and the alarm evaluation is not included
//! (it is a few hundred datapoints per alarm). Target: under 30 s on the 2-core CI machine.
//!
//! ```sh
//! cargo bench -p rehearsal --bench rehearsal
//! ```

use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use rehearsal::scenario::Scenario;
use rehearsal::simulation::{Deployment, Names, rehearse};

const HOUR_AT_100_PER_SECOND: &str = r#"{
    "description": "An hour of normal traffic at 100 records a second",
    "duration_minutes": 60,
    "shards": 4,
    "item_keys": 10000,
    "traffic": [{"from_minute": 0, "records_per_second": 100}],
    "record_latency_ms": 2
}"#;

fn hour_of_traffic(c: &mut Criterion) {
    let scenario = Scenario::parse(HOUR_AT_100_PER_SECOND, "bench").expect("a valid scenario");
    // template.yaml's defaults.
    let deployment = Deployment {
        batch_size: 100,
        batching_window: Duration::ZERO,
        parallelization_factor: 1,
        bisect: true,
        max_retry_attempts: Some(5),
        max_record_age: Some(Duration::from_secs(21_600)),
        function_timeout: Duration::from_secs(60),
    };
    let names = Names {
        function_name: "bench-function".into(),
        namespace: "DdbStreamProcessor".into(),
        event_source_mapping_uuid: "bench".into(),
        dead_letter_queue_name: "bench-dlq".into(),
        log_group_name: "/aws/lambda/bench-function".into(),
        table_name: "Orders".into(),
    };
    let mut group = c.benchmark_group("rehearsal");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(60));
    group.bench_function("60_minutes_100_records_per_second", |bench| {
        bench.iter(|| {
            let rehearsal = rehearse(&scenario, &deployment, &names, &|_| {});
            assert_eq!(rehearsal.records, 360_000);
            rehearsal.invocations
        });
    });
    group.finish();
}

criterion_group!(benches, hour_of_traffic);
criterion_main!(benches);
