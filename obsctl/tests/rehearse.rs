//! Every alarm of `alarms/` proven to fire: each scenario of `scenarios/` is rehearsed through the
//! real handler, and the alarms that go to ALARM must be exactly the ones the scenario lists, each
//! first within the minutes it gives. An alarm no scenario fires fails the suite, so nobody can add
//! an untested alarm; the normal-traffic scenario fires none.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use obsctl::definitions::Definitions;
use obsctl::rehearse;
use rehearsal::cloudwatch::alarm_evaluation::AlarmState;
use rehearsal::scenario::ExpectedAlarm;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn scenarios() -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = std::fs::read_dir(repository().join("scenarios"))
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "json"))
        .collect();
    paths.sort();
    paths
}

#[test]
fn every_alarm_has_a_scenario_that_fires_it_and_normal_traffic_fires_none() {
    let alarms: BTreeSet<String> = Definitions::load(&repository())
        .unwrap()
        .alarms
        .into_iter()
        .map(|alarm| alarm.name)
        .collect();
    let mut fired_by: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for path in scenarios() {
        let scenario = rehearsal::scenario::Scenario::load(&path).unwrap();
        for expected in scenario.expected_alarms {
            assert!(
                alarms.contains(&expected.alarm),
                "{}: no alarm {:?} in alarms/",
                path.display(),
                expected.alarm
            );
            fired_by
                .entry(expected.alarm)
                .or_default()
                .push(path.display().to_string());
        }
    }
    let untested: Vec<&String> = alarms
        .iter()
        .filter(|alarm| !fired_by.contains_key(*alarm))
        .collect();
    assert!(untested.is_empty(), "alarms no scenario fires: {untested:?}");
    let normal =
        rehearsal::scenario::Scenario::load(&repository().join("scenarios/normal-traffic.json")).unwrap();
    assert!(
        normal.expected_alarms.is_empty(),
        "normal traffic must fire no alarm"
    );
}

#[test]
fn each_scenario_fires_exactly_its_alarms_within_their_minutes() {
    let paths = scenarios();
    assert!(paths.len() >= 7, "{paths:?}");
    let failures: Vec<String> = std::thread::scope(|scope| {
        let runs: Vec<_> = paths
            .iter()
            .map(|path| scope.spawn(move || check(path)))
            .collect();
        runs.into_iter().flat_map(|run| run.join().unwrap()).collect()
    });
    assert!(failures.is_empty(), "\n{}", failures.join("\n"));
}

/// What is wrong with one scenario's alarms.
fn check(path: &Path) -> Vec<String> {
    let outcome = rehearse::run(&repository(), path, &BTreeMap::new(), &|_| {}).unwrap();
    let start = outcome.rehearsal.start_ms;
    let name = path.file_name().unwrap().to_string_lossy().into_owned();
    let mut problems = Vec::new();
    let expected: BTreeMap<&str, &ExpectedAlarm> = outcome
        .scenario
        .expected_alarms
        .iter()
        .map(|expected| (expected.alarm.as_str(), expected))
        .collect();
    let minute = |at: i64| (at - start) as f64 / 60_000.0;
    for alarm in &outcome.alarms {
        let fired_ms = alarm.first_alarm_ms();
        let fired = fired_ms.map(minute);
        let sent: Vec<String> = alarm
            .later_notifications(start)
            .map(|notification| notification.state.to_string())
            .collect();
        let Some(expected) = expected.get(alarm.name.as_str()) else {
            if let Some(minute) = fired {
                problems.push(format!(
                    "{name}: {} fired at minute {minute} unexpectedly",
                    alarm.name
                ));
            }
            if !sent.is_empty() {
                problems.push(format!(
                    "{name}: {} sent {sent:?} in a scenario where nobody should hear from it",
                    alarm.name
                ));
            }
            continue;
        };
        let [earliest, latest] = expected.fires_between_minutes;
        match fired {
            None => problems.push(format!("{name}: {} never fired", alarm.name)),
            Some(minute) if minute < earliest || minute > latest => problems.push(format!(
                "{name}: {} fired at minute {minute}, not between {earliest} and {latest}",
                alarm.name
            )),
            Some(_) => {}
        }
        let ok_again = fired_ms.and_then(|fired_ms| {
            alarm
                .changes
                .iter()
                .find(|change| change.at_ms > fired_ms && change.to == AlarmState::Ok)
                .map(|change| minute(change.at_ms))
        });
        if let Some([from, to]) = expected.ok_again_between_minutes {
            match ok_again {
                Some(minute) if (from..=to).contains(&minute) => {}
                Some(minute) => problems.push(format!(
                    "{name}: {} went back to OK at minute {minute}, not between {from} and {to}",
                    alarm.name
                )),
                None => problems.push(format!("{name}: {} never went back to OK", alarm.name)),
            }
        }
        let at_the_end = alarm.changes.last().map(|change| change.to);
        let wanted = expected.expected_notifications();
        if sent != wanted {
            problems.push(format!(
                "{name}: {} sent {sent:?} after its first evaluation, not {wanted:?}",
                alarm.name
            ));
        }
        if expected.in_alarm_at_the_end && at_the_end != Some(AlarmState::Alarm) {
            problems.push(format!(
                "{name}: {} is not in ALARM at the end ({at_the_end:?})",
                alarm.name
            ));
        }
    }
    problems
}

#[test]
fn the_command_prints_the_timeline_and_the_notifications() {
    let output = Command::new(env!("CARGO_BIN_EXE_obsctl"))
        .args(["rehearse", "scenarios/poison-record.json"])
        .current_dir(repository())
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.starts_with("scenario: One poison record at minute 5"),
        "{text}"
    );
    assert!(text.contains("1 dead-letter message(s)"), "{text}");
    let dead_letter_line = text
        .lines()
        .find(|line| line.starts_with("records-given-up "))
        .unwrap();
    assert!(dead_letter_line.contains("+06:00 ALARM"), "{dead_letter_line}");
    assert!(
        text.contains(
            "the alarm topic would send 3 notification(s) after the alarms' first evaluation: \
             2 ALARM, 1 OK, 0 INSUFFICIENT_DATA (and 13 at the first evaluation, as after a deploy)"
        ),
        "{text}"
    );
    assert!(text.contains("records-failed-anomaly (approx.)"), "{text}");
}

#[test]
fn panics_a_scenario_scripts_are_counted_in_the_report_and_never_printed() {
    let scratch = tempfile::tempdir().unwrap();
    let scenario = scratch.path().join("panics.json");
    std::fs::write(
        &scenario,
        r#"{"description": "Two panicking records.", "duration_minutes": 10, "shards": 1,
            "traffic": [{"from_minute": 0, "records_per_second": 2}], "record_latency_ms": 2,
            "panics": [{"at_minute": 2}, {"at_minute": 4}],
            "expected_alarms": []}"#,
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_obsctl"))
        .arg("rehearse")
        .arg(&scenario)
        .env("RUST_BACKTRACE", "1")
        .current_dir(repository())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        !stderr.contains("panicked") && !stderr.contains("backtrace"),
        "{stderr}"
    );
    let line = text
        .lines()
        .find(|line| line.starts_with("the processor panicked "))
        .unwrap_or_else(|| panic!("no panic count: {text}"));
    let count: usize = line
        .trim_start_matches("the processor panicked ")
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!(count >= 2, "each panicking record panics at least once: {line}");
}

#[test]
fn a_bad_scenario_is_a_clear_error() {
    let scratch = tempfile::tempdir().unwrap();
    let path = scratch.path().join("bad.json");
    std::fs::write(
        &path,
        r#"{"description": "d", "duration_minutes": 5, "traffic": [], "rate": 3}"#,
    )
    .unwrap();
    let output = Command::new(env!("CARGO_BIN_EXE_obsctl"))
        .args(["rehearse", path.to_str().unwrap()])
        .current_dir(repository())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(
        stderr.starts_with("obsctl rehearse: ")
            && stderr.contains("bad.json is not a valid scenario: unknown field `rate`"),
        "{stderr}"
    );
}

#[test]
fn a_setting_lambda_would_refuse_is_refused_not_clamped() {
    for (var, expected) in [
        ("ParallelizationFactor=20", "a whole number from 1 to 10"),
        ("MaximumBatchingWindowInSeconds=301", "from 0 to 300"),
        ("MaximumRecordAgeInSeconds=30", "from 60 to 604800"),
        ("MaximumRetryAttempts=-2", "from 0 to 10000"),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_obsctl"))
            .args(["rehearse", "scenarios/normal-traffic.json", "--var", var])
            .current_dir(repository())
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{var}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        let name = var.split('=').next().unwrap();
        assert!(
            stderr.contains(name) && stderr.contains(expected) && stderr.contains("--var"),
            "{var}: {stderr}"
        );
    }
}
