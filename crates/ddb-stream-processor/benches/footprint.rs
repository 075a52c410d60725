//! Cold start and footprint of the release binary (the bench profile inherits the release profile:
//! fat LTO, one codegen unit, stripped).
//!
//! - cold start: from spawning the process to its first `GET …/runtime/invocation/next`, against a
//!   minimal Runtime API on 127.0.0.1 (what Lambda's init phase pays for the runtime), 30 runs;
//! - binary size: the stripped executable;
//! - peak RSS and time of `--event` on a 10,000-record event of about 6.6 MB, from `wait4`'s
//!   `ru_maxrss`, 11 runs (median, min, max).
//!
//! Run: `cargo bench --bench footprint`. BENCHMARKS.md records the numbers.

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The library's `run` with the record-scripted processor: what a function costs before its own
/// business logic (the same allocator and release profile as the shipped binary).
const BINARY: &str = env!("CARGO_BIN_EXE_scripted-function");
const COLD_STARTS: usize = 30;
/// Runs of `--event` on the large event: one run is not a figure on a shared machine (a single run
/// once took twice the median).
const EVENT_RUNS: usize = 11;

fn main() {
    let size = std::fs::metadata(BINARY).expect("the release binary").len();
    let mut starts: Vec<Duration> = (0..COLD_STARTS).map(|_| cold_start()).collect();
    starts.sort();
    let (path, bytes) = write_large_event();
    let mut runs: Vec<EventRun> = (0..EVENT_RUNS).map(|_| peak_rss_of_event(&path)).collect();
    let _ = std::fs::remove_file(&path);
    let ms = |duration: Duration| duration.as_secs_f64() * 1_000.0;
    println!("binary: {BINARY}");
    println!("binary size: {:.2} MB ({size} bytes)", size as f64 / 1_000_000.0);
    println!(
        "cold start to the first /next, {COLD_STARTS} runs: median {:.1} ms, min {:.1} ms, p90 {:.1} ms, max {:.1} ms",
        ms(starts[COLD_STARTS / 2]),
        ms(starts[0]),
        ms(starts[COLD_STARTS * 9 / 10]),
        ms(starts[COLD_STARTS - 1]),
    );
    let mib = |kib: i64| kib as f64 / 1024.0;
    runs.sort_by_key(|run| run.rss_kib);
    let (rss_low, rss_median, rss_high) = (
        runs[0].rss_kib,
        runs[EVENT_RUNS / 2].rss_kib,
        runs[EVENT_RUNS - 1].rss_kib,
    );
    runs.sort_by_key(|run| run.wall);
    println!(
        "--event on a {:.1} MB, 10,000-record event, {EVENT_RUNS} runs: peak RSS median {:.1} MB (min {:.1}, max {:.1}); \
         wall time median {:.0} ms (min {:.0}, max {:.0})",
        bytes as f64 / 1_000_000.0,
        mib(rss_median),
        mib(rss_low),
        mib(rss_high),
        ms(runs[EVENT_RUNS / 2].wall),
        ms(runs[0].wall),
        ms(runs[EVENT_RUNS - 1].wall),
    );
    // The kernel's share of each run, by wall time: a slow run that is slow in system time (page
    // faults, zeroing memory) says the machine was busy, not the allocator.
    let runs: Vec<String> = runs
        .iter()
        .map(|run| format!("{:.0}/{:.0}/{:.0}", ms(run.wall), ms(run.user), ms(run.system)))
        .collect();
    println!("  each run, wall/user/system ms: {}", runs.join(", "));
}

/// One run of `--event`.
struct EventRun {
    /// Peak resident set, KiB.
    rss_kib: i64,
    wall: Duration,
    user: Duration,
    system: Duration,
}

/// Spawns the binary under a minimal Runtime API and times its first `/next`.
fn cold_start() -> Duration {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let address = listener.local_addr().unwrap().to_string();
    let started = Instant::now();
    let mut child = Command::new(BINARY)
        .env_clear()
        .env("AWS_LAMBDA_RUNTIME_API", &address)
        .env("AWS_LAMBDA_FUNCTION_NAME", "orders-stream")
        .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
        .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
        .env("AWS_LAMBDA_LOG_FORMAT", "JSON")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let (stream, _) = listener.accept().expect("the runtime connects");
    let mut reader = BufReader::new(stream);
    let mut line = String::new();
    reader.read_line(&mut line).expect("a request line");
    let elapsed = started.elapsed();
    assert!(
        line.starts_with("GET /2018-06-01/runtime/invocation/next"),
        "{line}"
    );
    let _ = child.kill();
    let _ = child.wait();
    elapsed
}

/// Writes a ~6.6 MB, 10,000-record event to a file; returns its path and size.
///
/// The event is streamed to the file record by record: `ru_maxrss` of a child counts the pages it
/// shared with this process before `exec`, so this process must stay small when it spawns.
fn write_large_event() -> (std::path::PathBuf, usize) {
    use std::io::Write;
    let path = std::env::temp_dir().join(format!(
        "ddb-stream-processor-footprint-{}.json",
        std::process::id()
    ));
    let mut file = std::io::BufWriter::new(std::fs::File::create(&path).unwrap());
    let padding = "x".repeat(40);
    write!(file, "{{\"Records\":[").unwrap();
    for index in 0..10_000u128 {
        let separator = if index == 0 { "" } else { "," };
        write!(
            file,
            "{separator}{{\"eventID\":\"{index:032x}\",\"eventName\":\"INSERT\",\"eventVersion\":\"1.1\",\
             \"eventSource\":\"aws:dynamodb\",\"awsRegion\":\"eu-west-1\",\
             \"eventSourceARN\":\"arn:aws:dynamodb:eu-west-1:123456789012:table/Orders/stream/2026-11-01T00:00:00.000\",\
             \"dynamodb\":{{\"ApproximateCreationDateTime\":{created},\"Keys\":{{\"pk\":{{\"S\":\"ORDER#{index}\"}},\
             \"sk\":{{\"S\":\"ORDER\"}}}},\"NewImage\":{{\"pk\":{{\"S\":\"ORDER#{index}\"}},\"sk\":{{\"S\":\"ORDER\"}},\
             \"status\":{{\"S\":\"PAID\"}},\"amount_cents\":{{\"N\":\"2599\"}},\
             \"updated_at\":{{\"S\":\"2026-11-01T09:00:00Z\"}},\"note\":{{\"S\":\"{padding}\"}}}},\
             \"SequenceNumber\":\"{sequence}\",\"SizeBytes\":180,\"StreamViewType\":\"NEW_AND_OLD_IMAGES\"}}}}",
            created = 1_793_491_200 + index,
            sequence = 4_421_584_500_000_000_017_450_439_091_u128 + index * 100,
        )
        .unwrap();
    }
    write!(file, "]}}").unwrap();
    file.flush().unwrap();
    drop(file);
    let size = std::fs::metadata(&path).unwrap().len() as usize;
    (path, size)
}

/// Runs `--event` on the event at `path`: its peak resident set and its times.
fn peak_rss_of_event(path: &std::path::Path) -> EventRun {
    let started = Instant::now();
    // Reaped by wait4 below, which also reports the child's peak resident set.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(BINARY)
        .env_clear()
        .arg("--event")
        .arg(path)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the binary starts");
    let mut status = 0;
    // SAFETY: `rusage` is plain data that wait4 fills in for the child we spawned and own.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let waited = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut usage) };
    let elapsed = started.elapsed();
    assert!(waited > 0, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "the batch succeeds"
    );
    let time = |value: libc::timeval| {
        Duration::from_secs(value.tv_sec as u64) + Duration::from_micros(value.tv_usec as u64)
    };
    EventRun {
        rss_kib: usage.ru_maxrss,
        wall: elapsed,
        user: time(usage.ru_utime),
        system: time(usage.ru_stime),
    }
}
