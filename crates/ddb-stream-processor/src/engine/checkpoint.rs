//! The checkpoint rule: what to tell Lambda once the engine has stopped.
//!
//! Lambda applies a partial batch response by checkpointing at the **lowest** reported sequence
//! number and redelivering that record and every record after it. So the engine reports exactly one
//! identifier, the sequence number of the first record it did not complete:
//!
//! ```text
//!   batch:     r0   r1   r2   r3   r4
//!   outcome:   ok   ok   FAIL  -    -        (r3, r4 are never started)
//!   response:  {"batchItemFailures":[{"itemIdentifier":"<r2.SequenceNumber>"}]}
//!   Lambda:    r0, r1 done; r2, r3, r4 delivered again, in order
//! ```
//!
//! Reporting a later record would skip the ones in between (data loss); reporting an earlier one
//! repeats work; reporting every failure after continuing would run later records of the same item
//! before the failed one is retried. Two cases cannot be expressed as a partial response and fail
//! the invocation instead (Lambda then retries the whole batch):
//!
//! - the stop is at the first record and [`FirstRecordFailurePolicy::ReturnError`] is set: an error
//!   lets `BisectBatchOnFunctionError` split the batch and isolate a poison record, which a partial
//!   response at the first record never does;
//! - the record to report has no valid `SequenceNumber`: an empty identifier would silently mean
//!   "retry everything" and any other record would be wrong.

use super::config::FirstRecordFailurePolicy;
use super::failure::BatchFailure;
use super::outcome::{Disposition, Stop};
use crate::record::sequence_number::{self, compare};
use crate::record::{BatchRecord, identity};

/// Decides the response for a batch that stopped at `stop` (or ran to the end when `None`).
pub(crate) fn decide(stop: Option<&Stop>, policy: FirstRecordFailurePolicy) -> Disposition {
    let Some(stop) = stop else {
        return Disposition::Complete;
    };
    if stop.index == 0 && policy == FirstRecordFailurePolicy::ReturnError {
        return Disposition::FailInvocation(BatchFailure::FirstRecordNotCompleted {
            event_id: stop.event_id.clone(),
            sequence_number: stop.sequence_number.clone(),
            reason: stop.reason.clone(),
        });
    }
    let Some(sequence_number) = &stop.sequence_number else {
        return Disposition::FailInvocation(BatchFailure::MissingSequenceNumber {
            index: stop.index,
            event_id: stop.event_id.clone(),
            reason: stop.reason.clone(),
        });
    };
    if let Err(problem) = sequence_number::validate(sequence_number) {
        return Disposition::FailInvocation(BatchFailure::InvalidSequenceNumber {
            index: stop.index,
            event_id: stop.event_id.clone(),
            problem,
        });
    }
    Disposition::Checkpoint {
        index: stop.index,
        sequence_number: sequence_number.clone(),
    }
}

/// Checks that the valid sequence numbers of the batch strictly increase.
///
/// Lambda sends one shard's records in stream order, and the checkpoint rule depends on it: a record
/// placed after the checkpoint but numbered below it would never be redelivered. A batch that breaks
/// the order is refused before any record is processed. Records without a valid sequence number are
/// skipped here; they only matter if one of them has to be reported.
pub(crate) fn check_order(records: &[BatchRecord]) -> Result<(), BatchFailure> {
    let mut previous: Option<(usize, &str)> = None;
    for (index, record) in records.iter().enumerate() {
        let Some(current) = identity(record).sequence_number else {
            continue;
        };
        if sequence_number::validate(current).is_err() {
            continue;
        }
        if let Some((previous_index, previous_value)) = previous {
            if compare(current, previous_value).is_le() {
                return Err(BatchFailure::BatchOutOfOrder {
                    index,
                    sequence_number: current.to_owned(),
                    previous_index,
                    previous_sequence_number: previous_value.to_owned(),
                });
            }
        }
        previous = Some((index, current));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::engine::StopReason;
    use crate::processor::FailureKind;

    fn stop_at(index: usize, sequence_number: Option<&str>) -> Stop {
        Stop {
            index,
            event_id: format!("event-{index}"),
            sequence_number: sequence_number.map(str::to_owned),
            operation: "INSERT".into(),
            reason: StopReason::Failed {
                kind: FailureKind::Permanent,
                message: "bad".into(),
                attempts: 1,
                retries_cut_short_by_deadline: false,
            },
        }
    }

    #[test]
    fn a_complete_batch_reports_nothing() {
        assert_eq!(
            decide(None, FirstRecordFailurePolicy::ReturnError),
            Disposition::Complete
        );
    }

    #[test]
    fn a_stop_after_the_first_record_reports_exactly_that_record() {
        let disposition = decide(
            Some(&stop_at(3, Some("400"))),
            FirstRecordFailurePolicy::ReturnError,
        );
        assert_eq!(
            disposition,
            Disposition::Checkpoint {
                index: 3,
                sequence_number: "400".into()
            }
        );
    }

    #[test]
    fn a_stop_at_the_first_record_follows_the_policy() {
        let stop = stop_at(0, Some("100"));
        assert!(matches!(
            decide(Some(&stop), FirstRecordFailurePolicy::ReturnError),
            Disposition::FailInvocation(BatchFailure::FirstRecordNotCompleted { .. })
        ));
        assert_eq!(
            decide(Some(&stop), FirstRecordFailurePolicy::ReportItemFailure),
            Disposition::Checkpoint {
                index: 0,
                sequence_number: "100".into()
            }
        );
    }

    #[test]
    fn a_record_without_a_valid_sequence_number_fails_the_invocation() {
        for policy in [
            FirstRecordFailurePolicy::ReturnError,
            FirstRecordFailurePolicy::ReportItemFailure,
        ] {
            assert!(matches!(
                decide(Some(&stop_at(2, None)), policy),
                Disposition::FailInvocation(BatchFailure::MissingSequenceNumber { index: 2, .. })
            ));
            assert!(matches!(
                decide(Some(&stop_at(2, Some(""))), policy),
                Disposition::FailInvocation(BatchFailure::InvalidSequenceNumber { index: 2, .. })
            ));
        }
        let deadline_stop = Stop {
            reason: StopReason::DeadlineReached {
                attempts: 0,
                margin: Duration::from_millis(200),
            },
            ..stop_at(1, None)
        };
        assert!(matches!(
            decide(Some(&deadline_stop), FirstRecordFailurePolicy::ReturnError),
            Disposition::FailInvocation(BatchFailure::MissingSequenceNumber { index: 1, .. })
        ));
    }

    fn records(sequence_numbers: &[Option<&str>]) -> Vec<BatchRecord> {
        sequence_numbers
            .iter()
            .map(|sequence_number| {
                BatchRecord::Unreadable(crate::record::UnknownOperation {
                    event_name: "TEST".into(),
                    event_id: "e".into(),
                    sequence_number: sequence_number.map(str::to_owned),
                    table_name: None,
                    keys: Default::default(),
                })
            })
            .collect()
    }

    #[test]
    fn accepts_increasing_sequence_numbers_of_any_length() {
        assert_eq!(
            check_order(&records(&[Some("9"), Some("10"), None, Some("100")])),
            Ok(())
        );
        assert_eq!(check_order(&[]), Ok(()));
    }

    #[test]
    fn refuses_a_batch_out_of_stream_order() {
        let error = check_order(&records(&[Some("10"), Some("20"), Some("15")])).unwrap_err();
        assert_eq!(
            error,
            BatchFailure::BatchOutOfOrder {
                index: 2,
                sequence_number: "15".into(),
                previous_index: 1,
                previous_sequence_number: "20".into(),
            }
        );
        assert!(
            check_order(&records(&[Some("10"), Some("10")])).is_err(),
            "duplicates too"
        );
    }
}
