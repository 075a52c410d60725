//! The Lambda function: the order example on the ddb-stream-processor library.
//!
//! To write your own, replace `src/processor/` with your processor and name it in `run` below;
//! nothing else in the repository depends on it.

mod processor;

/// mimalloc: a batch allocates and frees many small strings and maps (BENCHMARKS.md).
#[global_allocator]
static ALLOCATOR: ddb_stream_processor::MiMalloc = ddb_stream_processor::MiMalloc;

fn main() -> std::process::ExitCode {
    ddb_stream_processor::run(processor::OrderProcessor)
}
