//! Where EMF documents go: stdout under Lambda, stderr for local invoke, memory in tests.
//!
//! A flush writes all of an invocation's documents with one `write_all` under the stream's lock, one
//! document per line, so no other line of the process lands inside a document. A failing stream
//! never panics the process: the error is logged once (through `tracing`, which writes to stderr)
//! and the documents of that flush are lost.

use std::fmt;
use std::io::{self, Write};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

/// A destination for EMF documents.
pub trait MetricsSink: Send + Sync + fmt::Debug {
    /// Writes the documents of one flush, one per line.
    fn write_documents(&self, documents: &[String]) -> io::Result<()>;
}

/// Writes to any `Write` (stdout, stderr, a file).
pub struct WriterSink<W> {
    writer: Mutex<W>,
    failure_reported: AtomicBool,
}

impl<W> fmt::Debug for WriterSink<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WriterSink").finish_non_exhaustive()
    }
}

impl<W: Write + Send> WriterSink<W> {
    /// A sink that writes each document as one line to `writer`.
    pub fn new(writer: W) -> Self {
        Self {
            writer: Mutex::new(writer),
            failure_reported: AtomicBool::new(false),
        }
    }
}

/// EMF on stdout: what Lambda ships to CloudWatch Logs.
pub fn stdout() -> WriterSink<io::Stdout> {
    WriterSink::new(io::stdout())
}

/// EMF on stderr, with the logs: what local invoke uses, keeping stdout for the response line.
pub fn stderr() -> WriterSink<io::Stderr> {
    WriterSink::new(io::stderr())
}

impl<W: Write + Send> MetricsSink for WriterSink<W> {
    fn write_documents(&self, documents: &[String]) -> io::Result<()> {
        if documents.is_empty() {
            return Ok(());
        }
        let mut block = String::with_capacity(documents.iter().map(|document| document.len() + 1).sum());
        for document in documents {
            block.push_str(document);
            block.push('\n');
        }
        let mut writer = self
            .writer
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let written = writer.write_all(block.as_bytes()).and_then(|()| writer.flush());
        if let Err(error) = &written {
            if !self.failure_reported.swap(true, Ordering::Relaxed) {
                tracing::warn!(
                    "cannot write EMF metrics: {error}; the metrics of this invocation are lost \
                     (reported once per process)"
                );
            }
        }
        written
    }
}

/// Keeps every flush in memory, for tests.
#[derive(Debug, Default)]
pub struct MemorySink {
    flushes: Mutex<Vec<Vec<String>>>,
}

impl MemorySink {
    /// The documents of each flush, in order.
    pub fn flushes(&self) -> Vec<Vec<String>> {
        self.flushes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }
}

impl MetricsSink for MemorySink {
    fn write_documents(&self, documents: &[String]) -> io::Result<()> {
        self.flushes
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(documents.to_vec());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer whose every write fails, like a closed pipe.
    struct Broken;

    impl Write for Broken {
        fn write(&mut self, _: &[u8]) -> io::Result<usize> {
            Err(io::Error::new(io::ErrorKind::BrokenPipe, "closed"))
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn one_document_per_line_in_one_write() {
        let sink = WriterSink::new(Vec::new());
        sink.write_documents(&["{\"a\":1}".into(), "{\"b\":2}".into()])
            .unwrap();
        let written = sink.writer.into_inner().unwrap();
        assert_eq!(String::from_utf8(written).unwrap(), "{\"a\":1}\n{\"b\":2}\n");
    }

    #[test]
    fn a_broken_stream_is_an_error_not_a_panic() {
        let sink = WriterSink::new(Broken);
        assert!(sink.write_documents(&["{}".into()]).is_err());
        assert!(
            sink.write_documents(&["{}".into()]).is_err(),
            "and again, still no panic"
        );
    }
}
