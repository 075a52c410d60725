//! The summary a redrive prints: one row per failure, then what each row needs said (why records
//! were lost, skipped or failed again), then the totals. Sequence numbers and event ids only: item
//! keys and values never appear.

use std::fmt::Write;

use super::{Outcome, Report};

/// The summary as text, ending with a newline.
pub fn text(report: &Report) -> String {
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
    for (index, range) in report.ranges.iter().enumerate() {
        let number = index + 1;
        if let Some(lost_head) = &range.lost_head {
            let _ = writeln!(
                text,
                "{number}: LOST {lost_head}; the {} records after them were read, and the failure is kept",
                range.records
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
            Outcome::HeldBack => {
                let _ = writeln!(
                    text,
                    "{number}: held back: an earlier range of {} failed again, so this one must not overtake it",
                    range.shard_id
                );
            }
            Outcome::Unreadable(reason) => {
                let _ = writeln!(
                    text,
                    "{number}: not a DynamoDB stream failure record, kept: {reason}"
                );
            }
            Outcome::Written(files) => {
                for file in files {
                    let _ = writeln!(text, "{number}: wrote {}", file.display());
                }
            }
            Outcome::Recovered | Outcome::WouldReplay => {}
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
        for note in &range.notes {
            let _ = writeln!(text, "{number}: note: {note}");
        }
    }
    let total = |count: fn(&super::RangeReport) -> usize| report.ranges.iter().map(count).sum::<usize>();
    let _ = write!(
        text,
        "{} failures: {} records, {} replayed, {} superseded, {} lost",
        report.ranges.len(),
        total(|range| range.records),
        total(|range| range.replayed),
        total(|range| range.superseded.len()),
        total(|range| range.lost),
    );
    let failed_again = report
        .ranges
        .iter()
        .filter(|range| matches!(range.outcome, Outcome::FailedAgain { .. } | Outcome::HeldBack))
        .count();
    if failed_again > 0 {
        let _ = write!(text, ", {failed_again} ranges failed again or held back");
    }
    if report.already_replayed > 0 {
        let _ = write!(
            text,
            "; {} objects already replayed by an earlier redrive were not read",
            report.already_replayed
        );
    }
    let _ = writeln!(text, "\n{}", verdict(report));
    text
}

/// The last line: whether everything is recovered, or would be (a dry run), or is written.
fn verdict(report: &Report) -> &'static str {
    let any = |wanted: fn(&Outcome) -> bool| report.ranges.iter().any(|range| wanted(&range.outcome));
    if !report.complete() {
        "NOT everything is recovered: see above"
    } else if any(|outcome| matches!(outcome, Outcome::WouldReplay)) {
        "dry run: everything can be recovered; nothing was changed"
    } else if any(|outcome| matches!(outcome, Outcome::Written(_))) {
        "everything is written; the failures stay where they are until a redrive with --invoke replays them"
    } else {
        "everything is recovered"
    }
}

fn outcome_word(outcome: &Outcome) -> &'static str {
    match outcome {
        Outcome::Recovered => "recovered",
        Outcome::WouldReplay => "would replay",
        Outcome::Written(_) => "written",
        Outcome::Lost(_) => "LOST",
        Outcome::FailedAgain { .. } => "FAILED AGAIN",
        Outcome::HeldBack => "held back",
        Outcome::Unreadable(_) => "unreadable",
    }
}

#[cfg(test)]
mod tests {
    use super::super::{RangeReport, Superseded};
    use super::*;

    fn range(outcome: Outcome) -> RangeReport {
        RangeReport {
            origin: "message m-1".into(),
            shard_id: "shardId-1".into(),
            first: "100".into(),
            last: "104".into(),
            records: 5,
            replayed: 4,
            superseded: vec![Superseded {
                event_id: "e-3".into(),
                sequence_number: "103".into(),
                reason: "a later change of the item is in the stream".into(),
            }],
            superseded_replayed: false,
            lost: 0,
            lost_head: None,
            notes: Vec::new(),
            outcome,
        }
    }

    #[test]
    fn the_table_lines_up_and_the_totals_add_up() {
        let mut lost = range(Outcome::Lost("the stream has trimmed these records".into()));
        lost.records = 0;
        lost.replayed = 0;
        lost.superseded.clear();
        lost.lost = 3;
        let report = Report {
            ranges: vec![range(Outcome::Recovered), lost],
            already_replayed: 0,
        };
        let text = text(&report);
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
            text.contains("2 failures: 5 records, 4 replayed, 1 superseded, 3 lost"),
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
        let report = Report {
            ranges: vec![partly],
            already_replayed: 0,
        };
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
    fn ranges_that_failed_again_or_were_held_back_are_counted() {
        let failed = range(Outcome::FailedAgain {
            checkpoint: "102".into(),
            not_replayed: 3,
            reason: "the function reported record 102 as failed".into(),
        });
        let report = Report {
            ranges: vec![failed, range(Outcome::HeldBack), range(Outcome::Recovered)],
            already_replayed: 0,
        };
        let text = text(&report);
        assert!(text.contains(", 2 ranges failed again or held back"), "{text}");
        assert!(
            text.contains("1: failed again at sequence number 102: 3 records from it on were not replayed"),
            "{text}"
        );
        assert!(
            text.contains("2: held back: an earlier range of shardId-1 failed again"),
            "{text}"
        );
    }

    #[test]
    fn a_dry_run_and_written_events_do_not_claim_a_recovery() {
        let dry = Report {
            ranges: vec![range(Outcome::WouldReplay)],
            already_replayed: 0,
        };
        assert!(
            text(&dry).ends_with("dry run: everything can be recovered; nothing was changed\n"),
            "{}",
            text(&dry)
        );
        let written = Report {
            ranges: vec![range(Outcome::Written(vec!["0001-shardId-1-100.json".into()]))],
            already_replayed: 0,
        };
        let text = text(&written);
        assert!(text.contains("1: wrote 0001-shardId-1-100.json"), "{text}");
        assert!(
            text.ends_with("until a redrive with --invoke replays them\n"),
            "{text}"
        );
    }

    #[test]
    fn a_complete_redrive_says_so() {
        let report = Report {
            ranges: vec![range(Outcome::Recovered)],
            already_replayed: 2,
        };
        let text = text(&report);
        assert!(
            text.contains("; 2 objects already replayed by an earlier redrive were not read"),
            "{text}"
        );
        assert!(text.ends_with("everything is recovered\n"), "{text}");
    }
}
