//! Instruction counts of one 10,000-record invocation, for the same pairs as the wall-clock
//! benchmarks (`overhead`): counts repeat on a noisy machine where times do not, so a regression of
//! a few percent shows.
//!
//! Each variant runs in a process of its own under valgrind's callgrind (every thread counted), once
//! with [`WARM_UP`] invocations and once with [`WARM_UP`] + [`MEASURED`]; the difference divided by
//! [`MEASURED`] is the count of one warm invocation, free of the set-up (building the event, the
//! runtime) and of the first invocation's one-off costs (lazy statics, callsite registration, the
//! allocator's first segments). Both runs build the same event, so the set-up cancels out.
//!
//! Variants: `bare` (the AWS documentation's loop), `template` (OTel off), `template_otel` (every
//! record in its span, exported to an in-process exporter and flushed), `template_otel_sampled`
//! (record spans kept by the default sampling policy), and `parse` (the event parsed into
//! `aws_lambda_events`' types and dropped: what every variant pays first).
//!
//! Run: `cargo bench -p ddb-stream-processor --bench instructions` (needs `valgrind`; Debian's
//! package). `cargo bench … -- template` runs the variants whose name contains `template`.
//! BENCHMARKS.md records the numbers.

mod support;

use std::hint::black_box;
use std::path::Path;
use std::process::{Command, ExitCode};

use support::variants::{Variant, run_variant};

/// Invocations before counting starts: the first pays one-off costs.
const WARM_UP: u32 = 1;
/// Invocations counted.
const MEASURED: u32 = 2;
/// Records in the event, as in the `overhead` benchmark's largest size.
const RECORDS: usize = 10_000;

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, name, invocations] = arguments.as_slice()
        && flag == "--child"
    {
        let (Some(variant), Ok(invocations)) = (Variant::named(name), invocations.parse()) else {
            eprintln!("instructions: unknown child arguments {arguments:?}");
            return ExitCode::from(2);
        };
        black_box(run_variant(variant, RECORDS, invocations));
        return ExitCode::SUCCESS;
    }
    // `cargo bench` passes `--bench`; any other argument filters the variants by name.
    let filter: Vec<&String> = arguments.iter().filter(|a| !a.starts_with("--")).collect();
    if Command::new("valgrind").arg("--version").output().is_err() {
        eprintln!(
            "instructions: valgrind is not installed (it counts the instructions): apt-get install valgrind"
        );
        return ExitCode::FAILURE;
    }
    let executable = std::env::current_exe().expect("the benchmark's own executable");
    let scratch = std::env::temp_dir().join(format!("instructions-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).expect("a scratch folder");

    println!("instructions per invocation, {RECORDS} records ({WARM_UP} warm-up, {MEASURED} counted)");
    let mut bare = None;
    for variant in Variant::ALL {
        if !filter.is_empty() && !filter.iter().any(|f| variant.name().contains(f.as_str())) {
            continue;
        }
        let count = |invocations| instructions(&executable, &scratch, variant, invocations);
        let (before, after) = match (count(WARM_UP), count(WARM_UP + MEASURED)) {
            (Ok(before), Ok(after)) => (before, after),
            (Err(error), _) | (_, Err(error)) => {
                eprintln!("instructions: {}: {error}", variant.name());
                return ExitCode::FAILURE;
            }
        };
        let per_invocation = after.saturating_sub(before) / u64::from(MEASURED);
        if variant == Variant::Bare {
            bare = Some(per_invocation);
        }
        let ratio = bare.map_or_else(String::new, |bare| {
            format!("  {:.3}× bare", per_invocation as f64 / bare as f64)
        });
        println!(
            "{:<24} {:>14} instructions  ({:.0} per record){ratio}",
            variant.name(),
            per_invocation,
            per_invocation as f64 / RECORDS as f64
        );
    }
    let _ = std::fs::remove_dir_all(&scratch);
    ExitCode::SUCCESS
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
        .args(["--child", variant.name(), &invocations.to_string()])
        .status()
        .map_err(|error| format!("cannot run valgrind: {error}"))?;
    if !status.success() {
        return Err(format!("the child under callgrind ended with {status}"));
    }
    let profile = std::fs::read_to_string(&out).map_err(|error| format!("{}: {error}", out.display()))?;
    // Each thread's part ends with a `totals:` line (callgrind writes one file per process; with
    // several threads their totals follow one another only with --separate-threads, which is off).
    profile
        .lines()
        .filter_map(|line| {
            line.strip_prefix("totals:")
                .or_else(|| line.strip_prefix("summary:"))
        })
        .map(|value| value.trim().parse::<u64>())
        .next()
        .ok_or_else(|| format!("no totals in {}", out.display()))?
        .map_err(|error| format!("unreadable totals in {}: {error}", out.display()))
}
