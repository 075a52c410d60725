//! The template against the bare loop, measured two ways for the same pairs, at 10,000 records:
//!
//! - **wall-clock ratios from alternating pairs**: each run is a process of its own that times one
//!   invocation of the bare loop, then one of the other variant, then the other way round, for
//!   [`ROUNDS`] rounds; the ratio of each pair is taken, and the run reports the median ratio and
//!   its spread. Drift on a noisy machine (another process, a slower minute) hits both sides of a
//!   pair alike, where a benchmark that measures one side after the other would count it against
//!   whichever ran second. [`RUNS`] runs per pair.
//! - **instruction counts** under valgrind's callgrind (every thread counted): each variant runs
//!   in a process of its own, once with [`WARM_UP`] invocations and once with [`WARM_UP`] +
//!   [`MEASURED`]; the difference divided by [`MEASURED`] is one warm invocation, free of the
//!   set-up and of the first invocation's one-off costs. Counts repeat from run to run where times
//!   do not, so a regression of a few percent shows.
//!
//! Variants: `bare` (the AWS documentation's loop), `parse` (the event parsed into
//! `aws_lambda_events`' types and dropped: what every variant pays first), `template` (OTel off),
//! `template_otel` (every record in its span, exported to an in-process exporter and flushed),
//! `template_otel_sampled` (the default sampling policy: none of these records fails, retries or
//! is slow, so 1 in 100 has a span), `template_otel_problems` (spans only for failed, retried and
//! slow records: here the invocation span alone).
//!
//! Run: `cargo bench -p ddb-stream-processor --bench ratios` (the instruction counts need
//! `valgrind`, Debian's package). `cargo bench … -- template_otel` measures only the variants whose
//! name contains `template_otel`. BENCHMARKS.md records the numbers.

mod support;

use std::hint::black_box;
use std::path::Path;
use std::process::{Command, ExitCode};
use std::time::Instant;

use support::variants::{Prepared, Variant};

/// Records in the event, as in the `overhead` benchmark's largest size.
const RECORDS: usize = 10_000;
/// Processes per pair for the wall-clock ratios.
const RUNS: usize = 3;
/// Alternating pairs per run.
const ROUNDS: usize = 21;
/// Invocations of each side before a run starts timing, and before counting starts.
const WARM_UP: u32 = 2;
/// Invocations counted under callgrind.
const MEASURED: u32 = 2;

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match arguments
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["--child-wall", other] => return child_wall(other),
        ["--child-instructions", name, invocations] => return child_instructions(name, invocations),
        _ => {}
    }
    // `cargo bench` passes `--bench`; any other argument filters the variants by name.
    let filter: Vec<&String> = arguments.iter().filter(|a| !a.starts_with("--")).collect();
    let chosen: Vec<Variant> = Variant::ALL
        .into_iter()
        .filter(|variant| filter.is_empty() || filter.iter().any(|f| variant.name().contains(f.as_str())))
        .collect();
    let executable = std::env::current_exe().expect("the benchmark's own executable");

    println!(
        "wall clock, {RECORDS} records: {RUNS} runs of {ROUNDS} alternating pairs with bare ({WARM_UP} warm-up invocations each)"
    );
    println!(
        "| variant | run | bare, median | variant, median | variant / bare, median of the pairs | min – max of the pairs |"
    );
    println!("|---|---|---|---|---|---|");
    for variant in chosen.iter().filter(|variant| **variant != Variant::Bare) {
        for run in 1..=RUNS {
            match wall_run(&executable, *variant) {
                Ok(pairs) => print_run(*variant, run, &pairs),
                Err(error) => {
                    eprintln!("ratios: {}: {error}", variant.name());
                    return ExitCode::FAILURE;
                }
            }
        }
    }

    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!("ratios: valgrind is not installed, so no instruction counts (apt-get install valgrind)");
        return ExitCode::FAILURE;
    }
    let scratch = std::env::temp_dir().join(format!("ratios-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("a scratch folder");
    println!();
    println!(
        "instructions per invocation, {RECORDS} records (callgrind, {WARM_UP} warm-up invocations, {MEASURED} counted)"
    );
    println!("| variant | instructions | per record | variant / bare |");
    println!("|---|---|---|---|");
    let mut bare = None;
    for variant in [Variant::Bare]
        .into_iter()
        .chain(chosen.iter().copied().filter(|v| *v != Variant::Bare))
    {
        let count = |invocations| instructions(&executable, &scratch, variant, invocations);
        let per_invocation = match (count(WARM_UP), count(WARM_UP + MEASURED)) {
            (Ok(before), Ok(after)) => after.saturating_sub(before) / u64::from(MEASURED),
            (Err(error), _) | (_, Err(error)) => {
                eprintln!("ratios: {}: {error}", variant.name());
                return ExitCode::FAILURE;
            }
        };
        let bare = *bare.get_or_insert(per_invocation);
        println!(
            "| {} | {per_invocation} | {:.0} | {:.3} |",
            variant.name(),
            per_invocation as f64 / RECORDS as f64,
            per_invocation as f64 / bare as f64
        );
    }
    let _ = std::fs::remove_dir_all(&scratch);
    ExitCode::SUCCESS
}

/// Times [`ROUNDS`] alternating pairs of the bare loop and `other`; prints one `bare_ns other_ns`
/// line per pair.
fn child_wall(other: &str) -> ExitCode {
    let Some(other) = Variant::named(other) else {
        eprintln!("ratios: no variant named {other:?}");
        return ExitCode::from(2);
    };
    let sides = [
        Prepared::new(Variant::Bare, RECORDS),
        Prepared::new(other, RECORDS),
    ];
    for side in &sides {
        for _ in 0..WARM_UP {
            black_box(side.invoke());
        }
    }
    for round in 0..ROUNDS {
        let mut nanos = [0_u128; 2];
        // Bare first in even rounds, the other first in odd ones.
        for side in [round % 2, 1 - round % 2] {
            let started = Instant::now();
            black_box(sides[side].invoke());
            nanos[side] = started.elapsed().as_nanos();
        }
        println!("{} {}", nanos[0], nanos[1]);
    }
    ExitCode::SUCCESS
}

/// Runs `invocations` invocations of the variant called `name` (under callgrind).
fn child_instructions(name: &str, invocations: &str) -> ExitCode {
    let (Some(variant), Ok(invocations)) = (Variant::named(name), invocations.parse::<u32>()) else {
        eprintln!("ratios: unknown child arguments {name:?} {invocations:?}");
        return ExitCode::from(2);
    };
    let prepared = Prepared::new(variant, RECORDS);
    for _ in 0..invocations {
        black_box(prepared.invoke());
    }
    ExitCode::SUCCESS
}

/// One run of alternating pairs in a process of its own: (bare, variant) in nanoseconds.
fn wall_run(executable: &Path, variant: Variant) -> Result<Vec<(f64, f64)>, String> {
    let output = Command::new(executable)
        .args(["--child-wall", variant.name()])
        .output()
        .map_err(|error| format!("cannot start a run: {error}"))?;
    if !output.status.success() {
        return Err(format!(
            "the run ended with {}: {}",
            output.status,
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(|line| {
            let mut numbers = line.split(' ').map(str::parse::<f64>);
            match (numbers.next(), numbers.next()) {
                (Some(Ok(bare)), Some(Ok(other))) => Ok((bare, other)),
                _ => Err(format!("unreadable line from a run: {line:?}")),
            }
        })
        .collect()
}

/// One table row: the medians of each side, and of the ratios of the pairs, with their range.
fn print_run(variant: Variant, run: usize, pairs: &[(f64, f64)]) {
    let median = |mut values: Vec<f64>| {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    };
    let ratios: Vec<f64> = pairs.iter().map(|(bare, other)| other / bare).collect();
    let (low, high) = ratios.iter().fold((f64::MAX, f64::MIN), |(low, high), ratio| {
        (low.min(*ratio), high.max(*ratio))
    });
    let ms = |nanos: f64| nanos / 1e6;
    println!(
        "| {} | {run} | {:.1} ms | {:.1} ms | {:.3} | {low:.3} – {high:.3} |",
        variant.name(),
        ms(median(pairs.iter().map(|(bare, _)| *bare).collect())),
        ms(median(pairs.iter().map(|(_, other)| *other).collect())),
        median(ratios),
    );
}

/// The instructions a child process runs, all threads together, from callgrind's totals.
fn instructions(
    executable: &Path,
    scratch: &Path,
    variant: Variant,
    invocations: u32,
) -> Result<u64, String> {
    let out = scratch.join(format!("{}-{invocations}.out", variant.name()));
    let status = Command::new("valgrind")
        .arg("--tool=callgrind")
        .arg(format!("--callgrind-out-file={}", out.display()))
        .arg("--quiet")
        .arg(executable)
        .args(["--child-instructions", variant.name(), &invocations.to_string()])
        .status()
        .map_err(|error| format!("cannot run valgrind: {error}"))?;
    if !status.success() {
        return Err(format!("the child under callgrind ended with {status}"));
    }
    let profile = std::fs::read_to_string(&out).map_err(|error| format!("{}: {error}", out.display()))?;
    // Without --separate-threads, callgrind writes one `totals:` (older versions: `summary:`) line
    // for the whole process.
    profile
        .lines()
        .find_map(|line| {
            line.strip_prefix("totals:")
                .or_else(|| line.strip_prefix("summary:"))
        })
        .ok_or_else(|| format!("no totals in {}", out.display()))?
        .trim()
        .parse::<u64>()
        .map_err(|error| format!("unreadable totals in {}: {error}", out.display()))
}
