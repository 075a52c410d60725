//! The batch engine's contract, checked record by record.
//!
//! Every test runs under tokio's paused clock: backoff pauses and slow processors advance virtual
//! time, so deadline behaviour is exact and the suite does not sleep.

use std::time::Duration;

use ddb_stream_processor::engine::BatchFailure;
use ddb_stream_processor::engine::{
    DeadlineMargin, EngineConfig, FirstRecordFailurePolicy, RetryPolicy, StopReason,
};
use ddb_stream_processor::lambda::batch_response;
use ddb_stream_processor::{
    BatchEngine, BatchOutcome, ChangeRecord, Deadline, Disposition, FailureKind, InvocationError,
    RecordError, RecordProcessor,
};
use serde_json::json;

use ddb_stream_processor::testing::records::{batch, batch_json, event_id, parse, sequence_number};
use ddb_stream_processor::testing::{Behaviour, ScriptedProcessor};

/// A deadline far enough away not to matter.
fn relaxed_deadline() -> Deadline {
    Deadline::after(
        Duration::from_secs(300),
        DeadlineMargin::Fixed(Duration::from_secs(1)),
    )
}

fn engine() -> BatchEngine {
    BatchEngine::new(EngineConfig::default()).with_jitter_seed(7)
}

/// An engine that lets panic messages and error sources through (`PROCESSOR_LOG_ERROR_SOURCES=true`).
fn engine_with_messages() -> BatchEngine {
    BatchEngine::new(EngineConfig {
        log_error_sources: true,
        ..EngineConfig::default()
    })
    .with_jitter_seed(7)
}

fn checkpoint_of(outcome: &BatchOutcome) -> &str {
    match &outcome.disposition {
        Disposition::Checkpoint {
            index,
            sequence_number,
        } => {
            assert_eq!(
                Some(*index),
                outcome.stop.as_ref().map(|stop| stop.index),
                "checkpoint at the stop"
            );
            sequence_number
        }
        other => panic!("expected a checkpoint, got {other:?}"),
    }
}

fn ids(range: std::ops::Range<usize>) -> Vec<String> {
    range.map(event_id).collect()
}

#[tokio::test(start_paused = true)]
async fn a_batch_that_succeeds_reports_no_failures() {
    let processor = ScriptedProcessor::new();
    let outcome = engine()
        .process_batch(&processor, batch(5), &relaxed_deadline())
        .await;

    assert_eq!(processor.calls(), ids(0..5), "every record once, in order");
    assert_eq!(outcome.disposition, Disposition::Complete);
    assert_eq!((outcome.succeeded, outcome.failed, outcome.retries), (5, 0, 0));
    assert_eq!(outcome.records_handed_back(), 0);
    let response = batch_response(&outcome).expect("a response, not an error");
    assert_eq!(
        serde_json::to_value(response).unwrap(),
        json!({"batchItemFailures": []})
    );
}

#[tokio::test(start_paused = true)]
async fn a_failure_at_index_k_reports_exactly_record_k_and_leaves_later_records_untouched() {
    for k in [1, 3, 5] {
        let processor =
            ScriptedProcessor::new().on(event_id(k), Behaviour::AlwaysFail(FailureKind::Permanent));
        let outcome = engine()
            .process_batch(&processor, batch(6), &relaxed_deadline())
            .await;

        assert_eq!(
            processor.calls(),
            ids(0..k + 1),
            "records after {k} are never started"
        );
        assert_eq!(checkpoint_of(&outcome), sequence_number(k));
        assert_eq!((outcome.succeeded, outcome.failed), (k, 1));
        assert_eq!(outcome.records_handed_back(), 6 - k);
        let stop = outcome.stop.as_ref().unwrap();
        assert_eq!((stop.index, stop.event_id.as_str()), (k, event_id(k).as_str()));
        assert!(
            matches!(
                &stop.reason,
                StopReason::Failed {
                    kind: FailureKind::Permanent,
                    attempts: 1,
                    ..
                }
            ),
            "a permanent failure is not retried: {:?}",
            stop.reason
        );
        let response = serde_json::to_value(batch_response(&outcome).unwrap()).unwrap();
        assert_eq!(
            response,
            json!({"batchItemFailures": [{"itemIdentifier": sequence_number(k)}]}),
            "one identifier, the failed record's own"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_transient_failure_that_succeeds_on_the_second_attempt_completes_the_batch() {
    let processor = ScriptedProcessor::new().on(
        event_id(1),
        Behaviour::FailTimes {
            kind: FailureKind::Transient,
            times: 1,
        },
    );
    let started = tokio::time::Instant::now();
    let outcome = engine()
        .process_batch(&processor, batch(3), &relaxed_deadline())
        .await;

    assert_eq!(
        processor.calls(),
        [event_id(0), event_id(1), event_id(1), event_id(2)]
    );
    assert_eq!(outcome.disposition, Disposition::Complete);
    assert_eq!((outcome.succeeded, outcome.failed, outcome.retries), (3, 0, 1));
    let paused = started.elapsed();
    assert!(
        paused <= RetryPolicy::default().backoff_cap(1),
        "the pause before the 2nd attempt is at most the first backoff cap, was {paused:?}"
    );
}

#[tokio::test(start_paused = true)]
async fn a_transient_failure_that_exhausts_its_attempts_checkpoints_at_that_record() {
    let config = EngineConfig {
        retry: RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_millis(250),
        },
        ..EngineConfig::default()
    };
    let processor = ScriptedProcessor::new().on(event_id(2), Behaviour::AlwaysFail(FailureKind::Transient));
    let started = tokio::time::Instant::now();
    let outcome = BatchEngine::new(config)
        .with_jitter_seed(1)
        .process_batch(&processor, batch(4), &relaxed_deadline())
        .await;

    assert_eq!(
        processor.calls(),
        [
            event_id(0),
            event_id(1),
            event_id(2),
            event_id(2),
            event_id(2),
            event_id(2)
        ],
        "four attempts of record 2, none of record 3"
    );
    assert_eq!(checkpoint_of(&outcome), sequence_number(2));
    assert_eq!((outcome.succeeded, outcome.failed, outcome.retries), (2, 1, 3));
    assert!(matches!(
        outcome.stop.unwrap().reason,
        StopReason::Failed {
            kind: FailureKind::Transient,
            attempts: 4,
            retries_cut_short_by_deadline: false,
            ..
        }
    ));
    // Pauses are drawn from 0..=100, 0..=200, 0..=250 ms: full jitter never exceeds the caps.
    assert!(
        started.elapsed() <= Duration::from_millis(550),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test(start_paused = true)]
async fn backoff_never_pauses_into_the_deadline_margin() {
    let config = EngineConfig {
        retry: RetryPolicy {
            max_attempts: 10,
            base_delay: Duration::from_secs(4),
            max_delay: Duration::from_secs(4),
        },
        ..EngineConfig::default()
    };
    let processor = ScriptedProcessor::new().on(event_id(1), Behaviour::AlwaysFail(FailureKind::Transient));
    let deadline = Deadline::after(
        Duration::from_secs(6),
        DeadlineMargin::Fixed(Duration::from_secs(1)),
    );
    let started = tokio::time::Instant::now();
    let outcome = BatchEngine::new(config)
        .with_jitter_seed(3)
        .process_batch(&processor, batch(3), &deadline)
        .await;

    assert_eq!(checkpoint_of(&outcome), sequence_number(1));
    assert!(
        matches!(
            outcome.stop.as_ref().unwrap().reason,
            StopReason::Failed {
                retries_cut_short_by_deadline: true,
                ..
            }
        ),
        "{:?}",
        outcome.stop
    );
    assert!(
        started.elapsed() <= Duration::from_secs(5),
        "stopped before the margin: {:?}",
        started.elapsed()
    );
    assert!(processor.calls().len() < 1 + 10, "far fewer than max_attempts");
}

#[tokio::test(start_paused = true)]
async fn a_panicking_processor_fails_only_its_record_and_the_engine_keeps_working() {
    let processor = ScriptedProcessor::new().on(
        event_id(2),
        Behaviour::Panic("index out of bounds in business code"),
    );
    let outcome = engine()
        .process_batch(&processor, batch(4), &relaxed_deadline())
        .await;

    assert_eq!(
        processor.calls(),
        ids(0..3),
        "a panic is not retried and stops the batch"
    );
    assert_eq!(checkpoint_of(&outcome), sequence_number(2));
    assert_eq!((outcome.succeeded, outcome.failed, outcome.panics), (2, 1, 1));
    // No panic hook noted where (the function's hook does): the message alone is withheld.
    assert_eq!(
        outcome.stop.unwrap().reason,
        StopReason::Panicked {
            message: "at an unknown location (message withheld: it may quote item values; \
                      PROCESSOR_LOG_ERROR_SOURCES=true logs it)"
                .into(),
            attempts: 1
        }
    );
    let with_messages = engine_with_messages()
        .process_batch(&processor, batch(4), &relaxed_deadline())
        .await;
    assert_eq!(
        with_messages.stop.unwrap().reason,
        StopReason::Panicked {
            message: "at an unknown location: index out of bounds in business code".into(),
            attempts: 1
        }
    );

    // The same engine and processor handle the next batch normally: nothing was poisoned.
    let next = engine()
        .process_batch(&ScriptedProcessor::new(), batch(2), &relaxed_deadline())
        .await;
    assert_eq!(next.disposition, Disposition::Complete);
}

/// Panics where a plain `catch_unwind` around polling would miss them: while creating the future,
/// and while dropping a future the deadline cancelled.
struct PanicsOutsidePolling {
    on_call: usize,
    on_cancel: usize,
}

struct PanicsWhenDropped;

impl Drop for PanicsWhenDropped {
    fn drop(&mut self) {
        panic!("a destructor panicked during cancellation");
    }
}

impl RecordProcessor for PanicsOutsidePolling {
    fn process(
        &self,
        record: &ChangeRecord,
    ) -> impl std::future::Future<Output = Result<(), RecordError>> + Send {
        let index: usize = record.event_id.trim_start_matches("event-").parse().unwrap();
        assert_ne!(index, self.on_call, "a panic while creating the future");
        let guard = (index == self.on_cancel).then(|| PanicsWhenDropped);
        async move {
            if guard.is_some() {
                tokio::time::sleep(Duration::from_secs(3_600)).await;
            }
            std::mem::forget(guard);
            Ok(())
        }
    }
}

#[tokio::test(start_paused = true)]
async fn panics_outside_polling_are_caught_as_panics_of_their_record() {
    let processor = PanicsOutsidePolling {
        on_call: 2,
        on_cancel: usize::MAX,
    };
    let outcome = engine_with_messages()
        .process_batch(&processor, batch(4), &relaxed_deadline())
        .await;
    assert_eq!(checkpoint_of(&outcome), sequence_number(2));
    assert!(
        matches!(&outcome.stop.as_ref().unwrap().reason, StopReason::Panicked { message, .. }
        if message.contains("a panic while creating the future"))
    );

    let processor = PanicsOutsidePolling {
        on_call: usize::MAX,
        on_cancel: 1,
    };
    let deadline = Deadline::after(
        Duration::from_secs(10),
        DeadlineMargin::Fixed(Duration::from_secs(2)),
    );
    let outcome = engine_with_messages()
        .process_batch(&processor, batch(4), &deadline)
        .await;
    assert_eq!(checkpoint_of(&outcome), sequence_number(1));
    assert!(
        matches!(&outcome.stop.as_ref().unwrap().reason, StopReason::Panicked { message, .. }
        if message.contains("during cancellation"))
    );
    assert_eq!((outcome.succeeded, outcome.panics), (1, 1));
}

#[tokio::test(start_paused = true)]
async fn the_deadline_checkpoints_at_the_first_record_not_completed() {
    // Each record takes 1.5 s; 10 s budget, 2 s margin: records 0..=4 finish by t = 7.5 s; record 5
    // starts with 0.5 s of working time left and is cancelled at t = 8 s.
    let processor = ScriptedProcessor::new().taking(Duration::from_millis(1500));
    let deadline = Deadline::after(
        Duration::from_secs(10),
        DeadlineMargin::Fixed(Duration::from_secs(2)),
    );
    let started = tokio::time::Instant::now();
    let outcome = engine().process_batch(&processor, batch(10), &deadline).await;

    assert_eq!(
        started.elapsed(),
        Duration::from_secs(8),
        "the engine stops where the margin begins"
    );
    assert_eq!(processor.calls(), ids(0..6));
    assert_eq!(checkpoint_of(&outcome), sequence_number(5));
    assert_eq!(outcome.succeeded, 5);
    assert_eq!(outcome.records_handed_back(), 5);
    assert!(matches!(
        outcome.stop.unwrap().reason,
        StopReason::DeadlineReached { attempts: 1, .. }
    ));
}

#[tokio::test(start_paused = true)]
async fn no_record_starts_inside_the_deadline_margin() {
    // Records take exactly the working time: the next record finds none left and is not started.
    let processor = ScriptedProcessor::new().on(event_id(0), Behaviour::Sleep(Duration::from_secs(4)));
    let deadline = Deadline::after(
        Duration::from_secs(5),
        DeadlineMargin::Fixed(Duration::from_secs(1)),
    );
    let outcome = engine().process_batch(&processor, batch(3), &deadline).await;

    assert_eq!(processor.calls(), ids(0..1));
    assert_eq!(checkpoint_of(&outcome), sequence_number(1));
    assert_eq!(
        (outcome.succeeded, outcome.failed),
        (1, 0),
        "a record never started is not a failure"
    );
    assert!(matches!(
        outcome.stop.unwrap().reason,
        StopReason::DeadlineReached { attempts: 0, .. }
    ));
}

#[tokio::test(start_paused = true)]
async fn a_poison_first_record_fails_the_invocation_so_lambda_can_bisect() {
    let processor = ScriptedProcessor::new().on(event_id(0), Behaviour::AlwaysFail(FailureKind::Permanent));
    let outcome = engine()
        .process_batch(&processor, batch(4), &relaxed_deadline())
        .await;

    assert_eq!(processor.calls(), ids(0..1));
    assert_eq!(outcome.records_handed_back(), 4);
    let error = batch_response(&outcome).expect_err("an error, not a partial response");
    assert_eq!(error.error_type(), "FirstRecordFailed");
    assert!(error.to_string().contains(&sequence_number(0)), "{error}");

    // The policy can be switched to reporting the first record like any other failure.
    let reporting = BatchEngine::new(EngineConfig {
        first_record_failure: FirstRecordFailurePolicy::ReportItemFailure,
        ..EngineConfig::default()
    });
    let outcome = reporting
        .process_batch(&processor, batch(4), &relaxed_deadline())
        .await;
    assert_eq!(checkpoint_of(&outcome), sequence_number(0));
}

#[tokio::test(start_paused = true)]
async fn a_first_record_that_panics_or_runs_out_of_time_also_fails_the_invocation() {
    let panicking = ScriptedProcessor::new().on(event_id(0), Behaviour::Panic("boom"));
    let outcome = engine()
        .process_batch(&panicking, batch(2), &relaxed_deadline())
        .await;
    assert_eq!(
        batch_response(&outcome).unwrap_err().error_type(),
        "FirstRecordPanicked"
    );

    let no_time = Deadline::after(
        Duration::from_millis(500),
        DeadlineMargin::Fixed(Duration::from_secs(1)),
    );
    let idle = ScriptedProcessor::new();
    let outcome = engine().process_batch(&idle, batch(2), &no_time).await;
    assert!(idle.calls().is_empty());
    assert_eq!(
        batch_response(&outcome).unwrap_err().error_type(),
        "DeadlineReachedAtFirstRecord"
    );
}

#[tokio::test(start_paused = true)]
async fn a_failed_record_without_a_sequence_number_fails_the_invocation() {
    let mut records = batch_json(4);
    records[2]["dynamodb"]
        .as_object_mut()
        .unwrap()
        .remove("SequenceNumber");
    let processor = ScriptedProcessor::new().on(event_id(2), Behaviour::AlwaysFail(FailureKind::Permanent));
    let outcome = engine()
        .process_batch(&processor, parse(records), &relaxed_deadline())
        .await;

    assert_eq!(processor.calls(), ids(0..3));
    let error =
        batch_response(&outcome).expect_err("never an empty or null identifier, never a later record");
    assert!(
        matches!(
            error,
            InvocationError::Batch(BatchFailure::MissingSequenceNumber { index: 2, .. })
        ),
        "{error:?}"
    );
    assert_eq!(outcome.records_handed_back(), 4, "the whole batch is retried");
}

#[tokio::test(start_paused = true)]
async fn a_record_without_a_sequence_number_that_succeeds_is_fine() {
    let mut records = batch_json(3);
    records[1]["dynamodb"]
        .as_object_mut()
        .unwrap()
        .remove("SequenceNumber");
    let outcome = engine()
        .process_batch(&ScriptedProcessor::new(), parse(records), &relaxed_deadline())
        .await;
    assert_eq!(outcome.disposition, Disposition::Complete);
}

#[tokio::test(start_paused = true)]
async fn an_empty_batch_succeeds_without_calling_the_processor() {
    let processor = ScriptedProcessor::new();
    let outcome = engine()
        .process_batch(&processor, Vec::new(), &relaxed_deadline())
        .await;
    assert!(processor.calls().is_empty());
    assert_eq!(outcome.disposition, Disposition::Complete);
    assert_eq!((outcome.batch_size, outcome.records_handed_back()), (0, 0));
}

#[tokio::test(start_paused = true)]
async fn a_record_with_an_unknown_event_name_is_a_permanent_failure_of_that_record() {
    let mut records = batch_json(3);
    records[1]["eventName"] = json!("UPSERT");
    let processor = ScriptedProcessor::new();
    let outcome = engine()
        .process_batch(&processor, parse(records), &relaxed_deadline())
        .await;

    assert_eq!(processor.calls(), ids(0..1), "the processor never sees it");
    assert_eq!(checkpoint_of(&outcome), sequence_number(1));
    assert_eq!(
        outcome.record_times.len(),
        1,
        "a record the processor never saw adds no RecordProcessingTime sample"
    );
    assert!(
        matches!(&outcome.stop.unwrap().reason, StopReason::Invalid { message } if message.contains("UPSERT"))
    );
}

#[tokio::test(start_paused = true)]
async fn a_batch_out_of_stream_order_is_refused_before_any_record_runs() {
    let mut records = batch_json(3);
    records[2]["dynamodb"]["SequenceNumber"] = json!(sequence_number(0));
    let processor = ScriptedProcessor::new();
    let outcome = engine()
        .process_batch(&processor, parse(records), &relaxed_deadline())
        .await;

    assert!(processor.calls().is_empty());
    assert_eq!(
        batch_response(&outcome).unwrap_err().error_type(),
        "BatchOutOfOrder"
    );
    assert_eq!(outcome.records_handed_back(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_ten_thousand_record_batch_is_processed_in_order_and_checkpointed_exactly() {
    let processor = ScriptedProcessor::new();
    let outcome = engine()
        .process_batch(&processor, batch(10_000), &relaxed_deadline())
        .await;
    assert_eq!(outcome.disposition, Disposition::Complete);
    assert_eq!(outcome.succeeded, 10_000);
    assert_eq!(processor.calls(), ids(0..10_000));

    let failing = ScriptedProcessor::new().on(event_id(9_998), Behaviour::AlwaysFail(FailureKind::Permanent));
    let outcome = engine()
        .process_batch(&failing, batch(10_000), &relaxed_deadline())
        .await;
    assert_eq!(checkpoint_of(&outcome), sequence_number(9_998));
    assert_eq!(failing.calls().len(), 9_999);
    assert_eq!(outcome.records_handed_back(), 2);
}

/// A batch whose records belong to `keys` items in turn (record i to item i % keys).
fn batch_over_keys(count: usize, keys: usize) -> Vec<ddb_stream_processor::record::BatchRecord> {
    let mut records = batch_json(count);
    for (index, record) in records.iter_mut().enumerate() {
        record["dynamodb"]["Keys"] =
            json!({"pk": {"S": format!("ITEM#{}", index % keys)}, "sk": {"S": "ORDER"}});
    }
    parse(records)
}

fn concurrent(max_in_flight: usize) -> BatchEngine {
    BatchEngine::new(EngineConfig {
        max_in_flight,
        ..EngineConfig::default()
    })
    .with_jitter_seed(7)
}

#[tokio::test(start_paused = true)]
async fn per_key_concurrency_runs_different_items_together_and_each_item_in_order() {
    let processor = ScriptedProcessor::new().taking(Duration::from_millis(100));
    let started = tokio::time::Instant::now();
    let outcome = concurrent(10)
        .process_batch(&processor, batch_over_keys(40, 10), &relaxed_deadline())
        .await;

    assert_eq!(outcome.disposition, Disposition::Complete);
    assert_eq!(outcome.succeeded, 40);
    assert_eq!(
        started.elapsed(),
        Duration::from_millis(400),
        "4 records per item, 10 items at once"
    );
    let calls = processor.calls();
    for item in 0..10 {
        let order: Vec<&String> = calls
            .iter()
            .filter(|id| id.ends_with(&format!("{item}")))
            .collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted, "item {item} in stream order");
    }
}

#[tokio::test(start_paused = true)]
async fn per_key_concurrency_is_bounded_by_max_in_flight() {
    let processor = ScriptedProcessor::new().taking(Duration::from_millis(100));
    let started = tokio::time::Instant::now();
    concurrent(4)
        .process_batch(&processor, batch_over_keys(40, 10), &relaxed_deadline())
        .await;
    assert_eq!(
        started.elapsed(),
        Duration::from_secs(1),
        "40 records, 4 at a time"
    );
}

#[tokio::test(start_paused = true)]
async fn per_key_concurrency_checkpoints_at_the_first_failure_and_stops_only_that_item() {
    // Item 1's record 5 fails; item 1's later records (9, 13, …) must not start.
    let processor = ScriptedProcessor::new()
        .taking(Duration::from_millis(10))
        .on(event_id(5), Behaviour::AlwaysFail(FailureKind::Permanent));
    let outcome = concurrent(8)
        .process_batch(&processor, batch_over_keys(20, 4), &relaxed_deadline())
        .await;

    assert_eq!(checkpoint_of(&outcome), sequence_number(5));
    assert_eq!(
        outcome.records_handed_back(),
        15,
        "from the checkpoint on, succeeded or not"
    );
    let calls = processor.calls();
    for later in [9, 13, 17] {
        assert!(
            !calls.contains(&event_id(later)),
            "record {later} of the failed item never started"
        );
    }
    for earlier in 0..5 {
        assert!(
            calls.contains(&event_id(earlier)),
            "record {earlier}, before the failure, ran"
        );
    }
    // Records placed after a failure already seen are not started: they come again anyway.
    for after in 6..20 {
        assert!(
            !calls.contains(&event_id(after)),
            "record {after} started after the failure was known"
        );
    }
    assert_eq!((outcome.failed, outcome.succeeded), (1, 5));
}

/// Records of `keys` items in turn, where `fail` (by index) fail permanently and every record takes
/// 10 ms, so that records of different items run at the same time.
fn timed_over_keys(
    count: usize,
    keys: usize,
    fail: &[usize],
) -> (Vec<ddb_stream_processor::record::BatchRecord>, ScriptedProcessor) {
    let processor = fail.iter().fold(
        ScriptedProcessor::new().taking(Duration::from_millis(10)),
        |processor, index| {
            processor.on(
                event_id(*index),
                Behaviour::SleepThenFail(Duration::from_millis(10), FailureKind::Permanent),
            )
        },
    );
    (batch_over_keys(count, keys), processor)
}

#[tokio::test(start_paused = true)]
async fn when_two_items_fail_in_one_invocation_the_checkpoint_is_the_earlier_failure() {
    // Records 2 (item 0) and 3 (item 1) run at the same time and both fail: reporting 3 would skip 2
    // for good. The stop must be the earliest failure, whatever order the lanes finish in.
    let (records, processor) = timed_over_keys(10, 2, &[2, 3]);
    let outcome = concurrent(2)
        .process_batch(&processor, records, &relaxed_deadline())
        .await;
    assert_eq!(outcome.failed, 2, "both were attempted and failed");
    assert_eq!(checkpoint_of(&outcome), sequence_number(2));
    assert_eq!(outcome.records_handed_back(), 8);
}

#[tokio::test(start_paused = true)]
async fn an_earlier_record_that_fails_after_a_later_one_still_becomes_the_checkpoint() {
    // Records 2 (item 0) and 3 (item 1) start together at 10 ms; 3 fails at once, 2 only at 40 ms.
    // The failure counted second comes first in the stream: it must replace the stop, or record 2
    // would be skipped for good.
    let processor = ScriptedProcessor::new()
        .taking(Duration::from_millis(10))
        .on(
            event_id(2),
            Behaviour::SleepThenFail(Duration::from_millis(30), FailureKind::Permanent),
        )
        .on(event_id(3), Behaviour::AlwaysFail(FailureKind::Permanent));
    let outcome = concurrent(2)
        .process_batch(&processor, batch_over_keys(10, 2), &relaxed_deadline())
        .await;
    assert_eq!(outcome.failed, 2, "both were attempted and failed");
    assert_eq!(checkpoint_of(&outcome), sequence_number(2));
    assert_eq!(outcome.records_handed_back(), 8);
}

#[tokio::test(start_paused = true)]
async fn no_record_starts_after_a_failure_is_known_whatever_its_item() {
    // Record 2 (item 0) fails at 20 ms; item 1's lane is then at record 3 or 5, and must start
    // nothing after it: every later record comes again from the checkpoint anyway.
    let (records, processor) = timed_over_keys(20, 2, &[2]);
    let outcome = concurrent(2)
        .process_batch(&processor, records, &relaxed_deadline())
        .await;
    assert_eq!(checkpoint_of(&outcome), sequence_number(2));
    let started: Vec<String> = processor.calls();
    for index in 7..20 {
        assert!(
            !started.contains(&event_id(index)),
            "record {index} started after record 2 failed: {started:?}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn a_record_waiting_for_its_turn_does_not_start_after_a_failure_seen_meanwhile() {
    // Three items, two records at a time: record 2 (item 2) waits for a slot while records 0 and 1
    // run. Record 1 fails at 10 ms and frees its slot; record 2 gets it, but a failure before it is
    // known by then, so it must not start.
    let processor = ScriptedProcessor::new().taking(Duration::from_millis(20)).on(
        event_id(1),
        Behaviour::SleepThenFail(Duration::from_millis(10), FailureKind::Permanent),
    );
    let outcome = concurrent(2)
        .process_batch(&processor, batch_over_keys(6, 3), &relaxed_deadline())
        .await;
    assert_eq!(checkpoint_of(&outcome), sequence_number(1));
    let started = processor.calls();
    assert!(
        !started.contains(&event_id(2)),
        "record 2 started after record 1 failed: {started:?}"
    );
    assert_eq!(started, [event_id(0), event_id(1)]);
}

/// The time each of the first three records (items 0, 1 and 2, one lane each) spent, with each
/// failing transiently once before it succeeds: its backoff pause, drawn by its lane's jitter.
async fn pauses_of_three_lanes(seed: u64) -> Vec<Duration> {
    let processor = (0..3).fold(ScriptedProcessor::new(), |processor, index| {
        processor.on(
            event_id(index),
            Behaviour::FailTimes {
                kind: FailureKind::Transient,
                times: 1,
            },
        )
    });
    let engine = BatchEngine::new(EngineConfig {
        max_in_flight: 3,
        ..EngineConfig::default()
    })
    .with_jitter_seed(seed);
    let outcome = engine
        .process_batch(&processor, batch_over_keys(3, 3), &relaxed_deadline())
        .await;
    assert_eq!(outcome.disposition, Disposition::Complete);
    assert_eq!(outcome.retries, 3);
    outcome.record_times
}

#[tokio::test(start_paused = true)]
async fn a_jitter_seed_repeats_the_pauses_and_each_lane_draws_its_own() {
    // `with_jitter_seed` exists so that a test sees the same pauses on every run; lanes must not
    // draw the same pauses, or items retrying together would retry in lockstep.
    for seed in [0, 7] {
        let pauses = pauses_of_three_lanes(seed).await;
        assert_eq!(pauses, pauses_of_three_lanes(seed).await, "seed {seed} repeats");
        for (first, second) in [(0, 1), (0, 2), (1, 2)] {
            assert_ne!(
                pauses[first], pauses[second],
                "seed {seed}: lanes {first} and {second}"
            );
        }
    }
    assert_ne!(pauses_of_three_lanes(0).await, pauses_of_three_lanes(7).await);
}

#[tokio::test(start_paused = true)]
async fn one_record_in_flight_keeps_the_whole_batch_in_stream_order_across_items() {
    // Items A A B: per item, B could run before A's second record; with PROCESSOR_MAX_IN_FLIGHT=1
    // the whole batch runs in stream order.
    let mut records = batch_json(3);
    for (record, item) in records.iter_mut().zip(["A", "A", "B"]) {
        record["dynamodb"]["Keys"] = json!({"pk": {"S": item}});
    }
    let processor = ScriptedProcessor::new().taking(Duration::from_millis(10));
    let outcome = concurrent(1)
        .process_batch(&processor, parse(records), &relaxed_deadline())
        .await;
    assert_eq!(outcome.disposition, Disposition::Complete);
    assert_eq!(processor.calls(), [event_id(0), event_id(1), event_id(2)]);
}
