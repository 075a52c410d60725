//! The summary a redrive prints: one row per failure, then what each row needs said (why records
//! were lost, skipped, left out or failed again, what an earlier run had done), then the totals.
//! Sequence numbers and event ids only: item keys and values never appear.

use std::fmt::Write;

use super::{Outcome, RangeReport, Report};

/// The summary as text, ending with a newline.
pub fn text(report: &Report) -> String {
    let mut text = table(report);
    for (index, range) in report.ranges.iter().enumerate() {
        details(&mut text, index + 1, range);
    }
    totals(&mut text, report);
    let _ = writeln!(text, "{}", verdict(report));
    text
}

/// The table: a header and a row per failure, columns lined up.
fn table(report: &Report) -> String {
    let header = [
        "#",
        "failure",
        "shard",
        "first",
        "last",
        "records",
        "replayed",
        "superseded",
        "lost",
        "outcome",
    ];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|title| (*title).to_owned()).collect()];
    for (index, range) in report.ranges.iter().enumerate() {
        let superseded = match (range.superseded.len(), range.superseded_replayed) {
            (0, _) => "0".to_owned(),
            (count, true) => format!("{count} replayed"),
            (count, false) => format!("{count} skipped"),
        };
        rows.push(vec![
            (index + 1).to_string(),
            range.origin.clone(),
            range.shard_id.clone(),
            range.first.clone(),
            range.last.clone(),
            range.records.to_string(),
            range.replayed.to_string(),
            superseded,
            range.lost.to_string(),
            match range.lost_head {
                Some(_) => format!("{}, PARTLY LOST", outcome_word(&range.outcome)),
                None => outcome_word(&range.outcome).to_owned(),
            },
        ]);
    }
    let widths: Vec<usize> = (0..header.len())
        .map(|column| {
            rows.iter()
                .map(|row| row[column].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut text = String::new();
    for row in &rows {
        let cells: Vec<String> = row
            .iter()
            .zip(&widths)
            .map(|(cell, width)| format!("{cell:<width$}"))
            .collect();
        let _ = writeln!(text, "{}", cells.join("  ").trim_end());
    }
    text
}

/// The lines numbered after a row: what it needs said.
fn details(text: &mut String, number: usize, range: &RangeReport) {
    if let Some(lost_head) = &range.lost_head {
        let _ = writeln!(
            text,
            "{number}: LOST {lost_head}; the {} records after them were read, and the failure is kept",
            range.records
        );
    }
    if let Some((count, resumed_at)) = &range.earlier_run {
        let _ = writeln!(
            text,
            "{number}: resumed at sequence number {resumed_at}: an earlier run replayed the {count} records before it"
        );
    }
    if let Some((count, by)) = range.earlier_range {
        let _ = writeln!(
            text,
            "{number}: {count} records already replayed by failure {by} of this run were not replayed again"
        );
    }
    match &range.outcome {
        Outcome::Lost(reason) => {
            let _ = writeln!(
                text,
                "{number}: LOST sequence numbers {} to {} of {}: {reason}",
                range.first, range.last, range.shard_id
            );
        }
        Outcome::NotReadToEnd(reason) => {
            let _ = writeln!(
                text,
                "{number}: NOT READ TO ITS END: {reason}; nothing was replayed, the failure is kept"
            );
        }
        Outcome::Mismatch(reason) => {
            let _ = writeln!(
                text,
                "{number}: DOES NOT ADD UP: {reason}; nothing was replayed, the failure is kept (--to-dir writes \
                 every record of the range, for a person to choose)"
            );
        }
        Outcome::FailedAgain {
            checkpoint,
            not_replayed,
            reason,
        } => {
            let _ = writeln!(
                text,
                "{number}: failed again at sequence number {checkpoint}: {not_replayed} records from it on \
                 were not replayed, the failure is kept ({reason})"
            );
        }
        Outcome::CannotTell { record, after } => {
            let _ = writeln!(
                text,
                "{number}: CANNOT TELL whether event {} (sequence number {}) is still current: {}; it and the \
                 {after} records after it were not replayed, the failure is kept (--include-superseded replays \
                 it anyway)",
                record.event_id, record.sequence_number, record.reason
            );
        }
        Outcome::HeldBack => {
            let _ = writeln!(
                text,
                "{number}: held back: an earlier range of {} (or of a shard it descends from) was not completed, \
                 so this one must not overtake it",
                range.shard_id
            );
        }
        Outcome::Unreadable(reason) => {
            let _ = writeln!(
                text,
                "{number}: not a DynamoDB stream failure record, kept: {reason}"
            );
        }
        Outcome::HoldLost(reason) => {
            let _ = writeln!(
                text,
                "{number}: left alone: the message's hold was lost, so another reader may be working on it ({reason})"
            );
        }
        Outcome::NotDone => {
            let _ = writeln!(
                text,
                "{number}: not done: the run stopped before this failure was settled; it is visible again for the \
                 next run"
            );
        }
        Outcome::Recovered | Outcome::WouldReplay | Outcome::Written => {}
    }
    for file in &range.files {
        let _ = writeln!(text, "{number}: wrote {}", file.display());
    }
    for superseded in &range.superseded {
        let verb = if range.superseded_replayed {
            "replayed anyway"
        } else {
            "skipped"
        };
        let _ = writeln!(
            text,
            "{number}: superseded, {verb}: event {} (sequence number {}): {}",
            superseded.event_id, superseded.sequence_number, superseded.reason
        );
    }
    for undecided in &range.replayed_undecided {
        let _ = writeln!(
            text,
            "{number}: replayed although its currency cannot be told: event {} (sequence number {}): {}",
            undecided.event_id, undecided.sequence_number, undecided.reason
        );
    }
    if range.left_out > 0 {
        let _ = writeln!(
            text,
            "{number}: {} records of the range are left out: the mapping's FilterCriteria never deliver them",
            range.left_out
        );
    }
    for note in &range.notes {
        let _ = writeln!(text, "{number}: note: {note}");
    }
    if let Some(error) = &range.settle_error {
        let _ = writeln!(
            text,
            "{number}: NOT SETTLED: {error}; the next run finds this failure again"
        );
    }
}

/// The totals line.
fn totals(text: &mut String, report: &Report) {
    let total = |count: fn(&RangeReport) -> usize| report.ranges.iter().map(count).sum::<usize>();
    let _ = write!(
        text,
        "{} failures: {} records, {} replayed, {} superseded, {} lost",
        report.ranges.len(),
        total(|range| range.records),
        total(|range| range.replayed),
        total(|range| range.superseded.len()),
        total(|range| range.lost),
    );
    let optional = [
        (
            total(|range| range.left_out),
            "left out by the mapping's FilterCriteria",
        ),
        (
            total(|range| range.earlier_run.as_ref().map_or(0, |(count, _)| *count)),
            "replayed by an earlier run",
        ),
        (
            total(|range| range.earlier_range.map_or(0, |(count, _)| count)),
            "already replayed in this run",
        ),
    ];
    for (count, what) in optional {
        if count > 0 {
            let _ = write!(text, ", {count} {what}");
        }
    }
    let not_completed = report
        .ranges
        .iter()
        .filter(|range| range.outcome.holds_back_the_shard())
        .count();
    if not_completed > 0 {
        let _ = write!(text, ", {not_completed} ranges failed again or held back");
    }
    if report.already_replayed > 0 {
        let _ = write!(
            text,
            "; {} objects already replayed by an earlier redrive were not read",
            report.already_replayed
        );
    }
    if report.other_mappings > 0 {
        let _ = write!(
            text,
            "; {} failures of other event source mappings were left untouched",
            report.other_mappings
        );
    }
    if let Some(notifications) = report.notifications {
        let _ = write!(
            text,
            "; the failure queue keeps {} notifications of objects that wait, {} of replayed or expired objects \
             were removed",
            notifications.waiting, notifications.removed
        );
    }
    let _ = writeln!(text);
}

/// The last line: whether everything is recovered, or would be (a dry run), or is written.
fn verdict(report: &Report) -> &'static str {
    let any = |wanted: fn(&Outcome) -> bool| report.ranges.iter().any(|range| wanted(&range.outcome));
    if !report.complete() {
        "NOT everything is recovered: see above"
    } else if any(|outcome| matches!(outcome, Outcome::WouldReplay)) {
        "dry run: everything can be recovered; nothing was changed"
    } else if any(|outcome| matches!(outcome, Outcome::Written)) {
        "everything is written; the failures stay where they are until a redrive with --invoke replays them"
    } else {
        "everything is recovered"
    }
}

fn outcome_word(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Recovered => "recovered",
        Outcome::WouldReplay => "would replay",
        Outcome::Written => "written",
        Outcome::Lost(_) => "LOST",
        Outcome::NotReadToEnd(_) => "NOT READ TO ITS END",
        Outcome::Mismatch(_) => "DOES NOT ADD UP",
        Outcome::FailedAgain { .. } => "FAILED AGAIN",
        Outcome::CannotTell { .. } => "CANNOT TELL",
        Outcome::HeldBack => "held back",
        Outcome::Unreadable(_) => "unreadable",
        Outcome::HoldLost(_) => "left alone",
        Outcome::NotDone => "not done",
    }
}

#[cfg(test)]
mod tests {
    use super::super::RecordNote;
    use super::*;

    fn range(outcome: Outcome) -> RangeReport {
        RangeReport {
            origin: "message m-1".into(),
            shard_id: "shardId-1".into(),
            first: "100".into(),
            last: "104".into(),
            records: 5,
            replayed: 4,
            superseded: vec![RecordNote {
                event_id: "e-3".into(),
                sequence_number: "103".into(),
                reason: "a later change of the item is in the stream".into(),
            }],
            superseded_replayed: false,
            replayed_undecided: Vec::new(),
            left_out: 0,
            earlier_run: None,
            earlier_range: None,
            lost: 0,
            lost_head: None,
            notes: Vec::new(),
            files: Vec::new(),
            settle_error: None,
            outcome,
        }
    }

    fn report(ranges: Vec<RangeReport>) -> Report {
        Report {
            ranges,
            ..Report::default()
        }
    }

    #[test]
    fn the_table_lines_up_and_the_totals_add_up() {
        let mut lost = range(Outcome::Lost("the stream has trimmed these records".into()));
        lost.records = 0;
        lost.replayed = 0;
        lost.superseded.clear();
        lost.lost = 3;
        let text = text(&report(vec![range(Outcome::Recovered), lost]));
        let lines: Vec<&str> = text.lines().collect();
        let column = |line: &str| line.find("records");
        assert_eq!(column(lines[0]), Some(lines[0].find("records").unwrap()));
        assert!(lines[1].starts_with("1  message m-1  shardId-1"), "{text}");
        assert!(
            lines[1].contains("1 skipped") && lines[1].ends_with("recovered"),
            "{text}"
        );
        assert!(lines[2].ends_with("LOST"), "{text}");
        assert!(
            text.contains(
                "2: LOST sequence numbers 100 to 104 of shardId-1: the stream has trimmed these records"
            ),
            "{text}"
        );
        assert!(
            text.contains("1: superseded, skipped: event e-3 (sequence number 103)"),
            "{text}"
        );
        assert!(
            text.contains("2 failures: 5 records, 4 replayed, 1 superseded, 3 lost\n"),
            "{text}"
        );
        assert!(
            text.ends_with("NOT everything is recovered: see above\n"),
            "{text}"
        );
        assert!(!text.contains("failed again or held back"), "{text}");
        assert!(!text.contains("already replayed"), "{text}");
    }

    #[test]
    fn a_range_whose_first_records_are_trimmed_is_partly_lost_and_not_complete() {
        let mut partly = range(Outcome::Recovered);
        partly.lost = 2;
        partly.lost_head = Some("sequence numbers 100 up to 102 (not included) of shardId-1: trimmed".into());
        let report = report(vec![partly]);
        assert!(!report.complete());
        let text = text(&report);
        assert!(
            text.lines().nth(1).unwrap().ends_with("recovered, PARTLY LOST"),
            "{text}"
        );
        assert!(
            text.contains(
                "1: LOST sequence numbers 100 up to 102 (not included) of shardId-1: trimmed; the 5 records \
                 after them were read, and the failure is kept"
            ),
            "{text}"
        );
        assert!(
            text.ends_with("NOT everything is recovered: see above\n"),
            "{text}"
        );
    }

    #[test]
    fn ranges_not_completed_are_counted_and_each_says_why() {
        let failed = range(Outcome::FailedAgain {
            checkpoint: "102".into(),
            not_replayed: 3,
            reason: "the function reported record 102 as failed".into(),
        });
        let cannot_tell = range(Outcome::CannotTell {
            record: RecordNote {
                event_id: "e-1".into(),
                sequence_number: "100".into(),
                reason: "no new image".into(),
            },
            after: 4,
        });
        let report = report(vec![
            failed,
            range(Outcome::HeldBack),
            cannot_tell,
            range(Outcome::NotReadToEnd("the stream gave nothing".into())),
            range(Outcome::NotDone),
            range(Outcome::HoldLost("ReceiptHandleIsInvalid".into())),
            range(Outcome::Mismatch(
                "the range holds 1 records, the failed batch had 2".into(),
            )),
            range(Outcome::Recovered),
        ]);
        assert!(!report.complete());
        let text = text(&report);
        assert!(text.contains(", 7 ranges failed again or held back"), "{text}");
        for line in [
            "1: failed again at sequence number 102: 3 records from it on were not replayed",
            "2: held back: an earlier range of shardId-1",
            "3: CANNOT TELL whether event e-1 (sequence number 100) is still current: no new image; it and the 4 \
             records after it were not replayed, the failure is kept",
            "4: NOT READ TO ITS END: the stream gave nothing; nothing was replayed, the failure is kept",
            "5: not done: the run stopped before this failure was settled",
            "6: left alone: the message's hold was lost",
            "7: DOES NOT ADD UP: the range holds 1 records, the failed batch had 2; nothing was replayed",
        ] {
            assert!(text.contains(line), "{line}: {text}");
        }
    }

    #[test]
    fn what_earlier_runs_and_ranges_did_and_what_the_filter_leaves_out_are_said_and_counted() {
        let mut resumed = range(Outcome::Recovered);
        resumed.earlier_run = Some((2, "102".into()));
        resumed.left_out = 1;
        let mut overlapping = range(Outcome::Recovered);
        overlapping.earlier_range = Some((3, 1));
        overlapping.replayed_undecided.push(RecordNote {
            event_id: "e-9".into(),
            sequence_number: "109".into(),
            reason: "keys only".into(),
        });
        overlapping.notes.push("the range holds more".into());
        overlapping.settle_error = Some("sqs:DeleteMessage failed".into());
        let mut report = report(vec![resumed, overlapping]);
        report.other_mappings = 2;
        report.notifications = Some(super::super::destination::Notifications {
            removed: 1,
            waiting: 4,
        });
        assert!(!report.complete(), "a failure not settled is not complete");
        let text = text(&report);
        for line in [
            "1: resumed at sequence number 102: an earlier run replayed the 2 records before it",
            "1: 1 records of the range are left out: the mapping's FilterCriteria never deliver them",
            "2: 3 records already replayed by failure 1 of this run were not replayed again",
            "2: replayed although its currency cannot be told: event e-9 (sequence number 109): keys only",
            "2: note: the range holds more",
            "2: NOT SETTLED: sqs:DeleteMessage failed; the next run finds this failure again",
            "2 failures: 10 records, 8 replayed, 2 superseded, 0 lost, 1 left out by the mapping's FilterCriteria, \
             2 replayed by an earlier run, 3 already replayed in this run; 2 failures of other event source \
             mappings were left untouched; the failure queue keeps 4 notifications of objects that wait, 1 of \
             replayed or expired objects were removed",
        ] {
            assert!(text.contains(line), "{line}: {text}");
        }
    }

    #[test]
    fn a_dry_run_and_written_events_do_not_claim_a_recovery() {
        let dry = report(vec![range(Outcome::WouldReplay)]);
        assert!(
            text(&dry).ends_with("dry run: everything can be recovered; nothing was changed\n"),
            "{}",
            text(&dry)
        );
        let mut written = range(Outcome::Written);
        written.files.push("0001-shardId-1-100.json".into());
        let text = text(&report(vec![written]));
        assert!(text.contains("1: wrote 0001-shardId-1-100.json"), "{text}");
        assert!(
            text.ends_with("until a redrive with --invoke replays them\n"),
            "{text}"
        );
    }

    #[test]
    fn a_complete_redrive_says_so() {
        let mut report = report(vec![range(Outcome::Recovered)]);
        report.already_replayed = 2;
        let text = text(&report);
        assert!(
            text.contains("; 2 objects already replayed by an earlier redrive were not read"),
            "{text}"
        );
        assert!(text.ends_with("everything is recovered\n"), "{text}");
    }
}
