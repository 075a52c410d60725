//! A function whose processor is scripted by the records it receives (`ImageScriptedProcessor`):
//! the binary the library's whole-process tests run, so they test the template's behaviour and
//! never an example's business rules.

#[global_allocator]
static ALLOCATOR: ddb_stream_processor::MiMalloc = ddb_stream_processor::MiMalloc;

fn main() -> std::process::ExitCode {
    ddb_stream_processor::run(ddb_stream_processor::testing::ImageScriptedProcessor::new())
}
