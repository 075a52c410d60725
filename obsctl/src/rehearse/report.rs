//! What `obsctl rehearse` prints: the scenario, what the simulation did, and each alarm's timeline.

use std::fmt::Write;
use std::time::Duration;

use rehearsal::cloudwatch::alarm_evaluation::AlarmState;

use super::Outcome;

/// Simulated time as `+MM:SS` from the start.
pub fn offset(start_ms: i64, at_ms: i64) -> String {
    let seconds = (at_ms - start_ms) / 1000;
    format!("+{:02}:{:02}", seconds / 60, seconds % 60)
}

/// The text report of a rehearsal.
pub fn text(outcome: &Outcome, elapsed: Duration) -> String {
    let rehearsal = &outcome.rehearsal;
    let start = rehearsal.start_ms;
    let mut out = String::new();
    let _ = writeln!(out, "scenario: {}", outcome.scenario.description);
    let _ = writeln!(
        out,
        "rehearsed {} simulated minutes (and {} more for the alarms to settle) in {:.1} s: {} records, {} invocations, {}",
        outcome.scenario.duration_minutes,
        (rehearsal.end_ms - start) / 60_000 - i64::from(outcome.scenario.duration_minutes),
        elapsed.as_secs_f64(),
        rehearsal.records,
        rehearsal.invocations,
        rehearsal.dead_letters_summary(),
    );
    if rehearsal.scripted_panics > 0 {
        let _ = writeln!(
            out,
            "the processor panicked {} time(s), as the scenario scripts: each caught by the function and counted in PanicsCaught",
            rehearsal.scripted_panics
        );
    }
    let _ = writeln!(out);
    let width = outcome
        .alarms
        .iter()
        .map(|alarm| alarm.name.len())
        .max()
        .unwrap_or(5)
        + 10;
    let _ = writeln!(out, "{:width$}  {:<11}  state changes", "alarm", "first ALARM");
    for alarm in &outcome.alarms {
        let name = if alarm.approximate {
            format!("{} (approx.)", alarm.name)
        } else {
            alarm.name.clone()
        };
        let first = alarm
            .first_alarm_ms()
            .map_or_else(|| "-".to_owned(), |at| offset(start, at));
        let changes: Vec<String> = alarm
            .changes
            .iter()
            .map(|change| format!("{} {}", offset(start, change.at_ms), change.to))
            .collect();
        let _ = writeln!(out, "{name:width$}  {first:<11}  {}", changes.join(", "));
    }
    // The first evaluation of each alarm takes it out of INSUFFICIENT_DATA, as after a deploy: those
    // notifications are counted apart from the ones the scenario causes.
    let all = outcome
        .alarms
        .iter()
        .map(|alarm| alarm.notifications.len())
        .sum::<usize>();
    let later: Vec<_> = outcome
        .alarms
        .iter()
        .flat_map(|alarm| alarm.later_notifications(start))
        .collect();
    let count = |state: AlarmState| later.iter().filter(|n| n.state == state).count();
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "the alarm topic would send {} notification(s) after the alarms' first evaluation: {} ALARM, {} OK, {} INSUFFICIENT_DATA (and {} at the first evaluation, as after a deploy)",
        later.len(),
        count(AlarmState::Alarm),
        count(AlarmState::Ok),
        count(AlarmState::InsufficientData),
        all - later.len()
    );
    if outcome.alarms.iter().any(|alarm| alarm.approximate) {
        let _ = writeln!(
            out,
            "(approx.): an anomaly detection alarm, evaluated against a documented stand-in for CloudWatch's band"
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offsets_read_as_minutes_and_seconds_of_simulated_time() {
        assert_eq!(offset(1_000, 1_000), "+00:00");
        assert_eq!(offset(0, 754_000), "+12:34");
        assert_eq!(offset(0, 6_000_000), "+100:00");
    }
}
