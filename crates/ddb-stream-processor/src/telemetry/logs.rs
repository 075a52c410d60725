//! Log output: the `tracing` subscriber the binary installs, Lambda's JSON log format, and the panic
//! hook.
//!
//! The library only emits `tracing` events and spans; this module decides where they go. Logs are
//! written to **stderr**, so that stdout stays reserved for machine-readable output (the EMF metric
//! documents under Lambda, the response line locally). Lambda ships both streams to CloudWatch Logs.
//!
//! With `AWS_LAMBDA_LOG_FORMAT=JSON` every line is one object in the shape Lambda's JSON log format
//! expects of a custom runtime:
//!
//! ```json
//! {"timestamp":"2026-11-01T09:00:00.000000Z","level":"WARN","message":"record failed …",
//!  "requestId":"…","xrayTraceId":"Root=1-…","eventId":"…","sequenceNumber":"…","operation":"INSERT",
//!  "table":"Orders","attempt":1,"target":"ddb_stream_processor::engine"}
//! ```
//!
//! The fields of the enclosing spans (the invocation's `requestId` and `xrayTraceId`, the record's
//! `eventId`, `sequenceNumber`, `operation`, `table`, `attempt`) are lifted to the top level, so
//! Logs Insights can filter on them directly. Span fields with a dot in their name (`otel.name`,
//! `otel.kind`) configure the trace export and are left out of logs; in text format, so are the
//! `otel.*` fields.

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::sync::{Arc, Mutex, PoisonError};

use chrono::SecondsFormat;
use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::Record;
use tracing::{Event, Subscriber};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::filter::{FilterExt, filter_fn};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields, MakeWriter};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::{EnvFilter, Layer, Registry};

use crate::clock::{SystemClock, WallClock};
use crate::engine::{describe_panic, note_panic_location};
use crate::telemetry::repeated_failures::is_not_a_repeated_failure;
use crate::telemetry::traces::Traces;

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum LogFormat {
    /// One JSON object per line (Lambda's JSON log format).
    Json,
    /// Human-readable lines.
    #[default]
    Text,
}

/// Logging settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// JSON or text.
    pub format: LogFormat,
    /// A `tracing_subscriber::EnvFilter` directive, already validated.
    pub filter: String,
    /// Lambda's application log level, when set: Lambda itself drops JSON lines below it.
    pub lambda_level: Option<LevelFilter>,
    /// The panic hook's line carries the panic's message (`PROCESSOR_LOG_ERROR_SOURCES=true`);
    /// otherwise only where it happened.
    pub panic_messages: bool,
    /// lambda_runtime's line with the whole raw event may reach the logs (`PROCESSOR_LOG_RAW_EVENTS=true`).
    pub raw_events: bool,
}

impl Default for LogSettings {
    /// Text at INFO, no message of a panic, no raw event.
    fn default() -> Self {
        Self {
            format: LogFormat::Text,
            filter: LevelFilter::INFO.to_string(),
            lambda_level: None,
            panic_messages: false,
            raw_events: false,
        }
    }
}

/// Dependencies whose lines stay at WARN and ERROR, whatever the level, unless the filter names them
/// by target: their DEBUG and TRACE lines are connection chatter, and some carry payloads (the AWS
/// SDK's request and response bodies, lambda_runtime's raw event). A name ending in `*` covers every
/// crate it starts (`aws_*`: `aws_config`, `aws_smithy_runtime`, `aws_sdk_dynamodb`, …).
pub const QUIET_DEPENDENCIES: &[&str] = &[
    "aws_*",
    "h2",
    "hyper",
    "hyper_util",
    "lambda_runtime",
    "lambda_runtime_api_client",
    "mio",
    "opentelemetry*",
    "reqwest",
    "rustls",
    "tokio",
    "tokio_util",
    "tonic",
    "tower",
    "tower_http",
    "want",
];

/// Whether the log target `target` (`hyper::proto::h1`) belongs to one of [`QUIET_DEPENDENCIES`],
/// matched by crate: `h2` is not `h2o_kitchen`.
pub fn is_quiet_dependency(target: &str) -> bool {
    let krate = target.split("::").next().unwrap_or(target);
    QUIET_DEPENDENCIES
        .iter()
        .any(|dependency| match dependency.strip_suffix('*') {
            Some(prefix) => krate.starts_with(prefix),
            None => krate == *dependency,
        })
}

/// Keeps [`QUIET_DEPENDENCIES`] at WARN: a line of theirs below WARN passes only when one of the
/// filter's directives names its target (`hyper=debug` names `hyper::proto::h1`; a directive with a
/// span condition, `hyper[conn]=debug`, names nothing everywhere). A filter of its own, not
/// directives added to the configured ones, so that no rule of the configured filter (a span
/// condition such as `[record]=trace` enables every target inside the span) can lift it. With
/// `raw_events`, lambda_runtime is not kept quiet.
struct QuietDependencies {
    /// The targets the configured filter names, without span conditions.
    named: Vec<String>,
    raw_events: bool,
}

impl QuietDependencies {
    fn new(directives: &str, raw_events: bool) -> Self {
        let named = directives
            .split(',')
            .filter(|directive| !directive.contains('['))
            .filter_map(|directive| directive.split_once('='))
            .map(|(target, _)| target.trim().to_owned())
            .filter(|target| !target.is_empty())
            .collect();
        Self { named, raw_events }
    }

    fn allows(&self, metadata: &tracing::Metadata<'_>) -> bool {
        if *metadata.level() <= tracing::Level::WARN {
            return true;
        }
        let target = metadata.target();
        if self.raw_events && target.split("::").next() == Some("lambda_runtime") {
            return true;
        }
        !is_quiet_dependency(target)
            || self.named.iter().any(|named| {
                target == named
                    || target
                        .strip_prefix(named.as_str())
                        .is_some_and(|rest| rest.starts_with("::"))
            })
    }
}

/// The template's own spans (the invocation's, each record's) are open for the logs at any level,
/// so that every line written inside them, at any level, carries their fields. Told apart by name
/// and module: the example's binary crate is also called `ddb_stream_processor`, and its spans follow
/// the filter like any other code's.
fn is_a_template_span(metadata: &tracing::Metadata<'_>) -> bool {
    const TEMPLATE_MODULES: [&str; 3] = [
        "ddb_stream_processor::engine",
        "ddb_stream_processor::function",
        "ddb_stream_processor::telemetry",
    ];
    metadata.is_span()
        && matches!(metadata.name(), "record" | "invocation")
        && TEMPLATE_MODULES
            .iter()
            .any(|module| metadata.target().starts_with(module))
}

/// `false` for lambda_runtime's TRACE line that carries the whole raw event (its `body` field), so
/// that no filter, however verbose, lets item images into the logs without `raw_events`.
fn is_not_a_raw_event(metadata: &tracing::Metadata<'_>) -> bool {
    !(metadata.target().starts_with("lambda_runtime") && metadata.fields().field("body").is_some())
}

/// Formats events as Lambda JSON log objects, one per line.
#[derive(Debug, Clone)]
pub(crate) struct LambdaJsonFormat {
    clock: Arc<dyn WallClock>,
}

impl LambdaJsonFormat {
    /// A formatter that stamps lines with `clock`.
    pub fn new(clock: Arc<dyn WallClock>) -> Self {
        Self { clock }
    }
}

impl<S> FormatEvent<S, SpanJsonMembers> for LambdaJsonFormat
where
    S: Subscriber + for<'lookup> LookupSpan<'lookup>,
{
    fn format_event(
        &self,
        context: &FmtContext<'_, S, SpanJsonMembers>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let metadata = event.metadata();
        let mut line = Map::new();
        line.insert(
            "timestamp".into(),
            Value::String(self.clock.now().to_rfc3339_opts(SecondsFormat::Micros, true)),
        );
        line.insert(
            "level".into(),
            Value::String(metadata.level().as_str().to_owned()),
        );
        if let Some(scope) = context.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                let Some(fields) = extensions.get::<FormattedFields<SpanJsonMembers>>() else {
                    continue;
                };
                // A field recorded again later follows its first value: the last one wins.
                if let Ok(fields) =
                    serde_json::from_str::<Map<String, Value>>(&format!("{{{}}}", fields.fields))
                {
                    line.extend(fields);
                }
            }
        }
        event.record(&mut JsonVisitor(&mut line));
        line.entry("message")
            .or_insert_with(|| Value::String(String::new()));
        line.insert("target".into(), Value::String(metadata.target().to_owned()));
        writeln!(writer, "{}", Value::Object(line))
    }
}

/// The fields of a span as JSON object members without the braces (`"eventId":"e-1","attempt":1`),
/// leaving out the names with a dot (`otel.kind`, the trace conventions), which only the trace
/// export reads. A field recorded later is appended (`,"attempt":2`); the line's formatter reads
/// the members back in order, so the last value wins.
///
/// Written directly, where tracing-subscriber's `JsonFields` builds a map and serializes it, then
/// parses and serializes it again on every `record`: formatting each record span's fields that way
/// was the largest single cost of exporting a span per record (BENCHMARKS.md). The members are only
/// parsed when a line is written inside the span, which is rare.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct SpanJsonMembers;

impl<'writer> FormatFields<'writer> for SpanJsonMembers {
    fn format_fields<R: RecordFields>(&self, mut writer: Writer<'writer>, fields: R) -> std::fmt::Result {
        // Written into a buffer of the usual size first, then in one piece: the span's own string
        // starts empty and would otherwise grow (and move) several times per span.
        let mut members = String::with_capacity(256);
        let mut visitor = JsonMemberVisitor {
            writer: &mut members,
            written: false,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result?;
        writer.write_str(&members)
    }

    fn add_fields(
        &self,
        current: &'writer mut FormattedFields<Self>,
        fields: &Record<'_>,
    ) -> std::fmt::Result {
        let mut visitor = JsonMemberVisitor {
            written: !current.fields.is_empty(),
            writer: &mut current.fields,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

/// Writes fields as JSON object members.
struct JsonMemberVisitor<'members> {
    writer: &'members mut String,
    written: bool,
    result: std::fmt::Result,
}

impl JsonMemberVisitor<'_> {
    /// Writes `"name":` (after a comma when needed); false when the field is left out.
    fn name(&mut self, field: &Field) -> bool {
        if self.result.is_err() || field.name().contains('.') {
            return false;
        }
        if self.written {
            self.result = self.writer.write_char(',');
        }
        self.written = true;
        self.string(field.name());
        self.result = self.result.and_then(|()| self.writer.write_char(':'));
        self.result.is_ok()
    }

    /// Writes `text` as a JSON string.
    fn string(&mut self, text: &str) {
        if self.result.is_ok() {
            self.result = write_json_string(self.writer, text);
        }
    }

    fn raw(&mut self, value: impl std::fmt::Display) {
        if self.result.is_ok() {
            self.result = write!(self.writer, "{value}");
        }
    }
}

impl Visit for JsonMemberVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.name(field) {
            self.string(value);
        }
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        if self.name(field) {
            self.raw(value);
        }
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        if self.name(field) {
            self.raw(value);
        }
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        if self.name(field) {
            self.raw(value);
        }
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        if self.name(field) {
            // JSON has no NaN or infinity: those become strings, as serde_json's Value would refuse them.
            if value.is_finite() {
                self.raw(value);
            } else {
                self.string(&value.to_string());
            }
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if self.name(field) {
            self.string(&format!("{value:?}"));
        }
    }
}

/// Writes `text` as a JSON string literal, escaped as RFC 8259 requires. Every byte that needs an
/// escape is ASCII, so the text is scanned byte by byte; the usual text (an event id, a sequence
/// number) needs none and is written in one piece.
fn write_json_string(writer: &mut impl std::fmt::Write, text: &str) -> std::fmt::Result {
    let needs_escape = |byte: &u8| *byte < 0x20 || *byte == b'"' || *byte == b'\\';
    writer.write_char('"')?;
    if !text.as_bytes().iter().any(needs_escape) {
        writer.write_str(text)?;
        return writer.write_char('"');
    }
    let mut plain_from = 0;
    for (index, byte) in text.bytes().enumerate() {
        let escaped = match byte {
            b'"' => "\\\"",
            b'\\' => "\\\\",
            b'\n' => "\\n",
            b'\r' => "\\r",
            b'\t' => "\\t",
            control if control < 0x20 => "",
            _ => continue,
        };
        writer.write_str(&text[plain_from..index])?;
        if escaped.is_empty() {
            write!(writer, "\\u{byte:04x}")?;
        } else {
            writer.write_str(escaped)?;
        }
        plain_from = index + 1;
    }
    writer.write_str(&text[plain_from..])?;
    writer.write_char('"')
}

/// Puts an event's fields into the line; the `message` field under `message`.
struct JsonVisitor<'a>(&'a mut Map<String, Value>);

impl Visit for JsonVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().to_owned(), Value::String(value.to_owned()));
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), Value::Bool(value));
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), Value::from(value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), Value::String(format!("{value:?}")));
    }
}

/// A log writer that keeps everything in memory, for tests (of the template or of your processor).
#[derive(Debug, Clone, Default)]
pub struct MemoryWriter(Arc<Mutex<Vec<u8>>>);

impl MemoryWriter {
    /// Everything written so far, as text.
    pub fn contents(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(PoisonError::into_inner)).into_owned()
    }
}

impl std::io::Write for MemoryWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'writer> MakeWriter<'writer> for MemoryWriter {
    type Writer = MemoryWriter;

    fn make_writer(&'writer self) -> Self::Writer {
        self.clone()
    }
}

/// Where log lines go and how they are stamped.
pub struct LogOutput<W> {
    /// The writer (stderr in production, a buffer in tests).
    pub writer: W,
    /// The clock of the JSON `timestamp`.
    pub clock: Arc<dyn WallClock>,
    /// Colours in text mode.
    pub ansi: bool,
}

/// A subscriber that writes logs in the configured format and level, and exports spans through
/// `traces` when tracing is on. Logs and traces are filtered separately: a WARN log level does not
/// switch off the INFO spans a trace is made of.
pub fn subscriber<W>(
    settings: &LogSettings,
    output: LogOutput<W>,
    traces: Option<&Traces>,
) -> Box<dyn Subscriber + Send + Sync>
where
    W: for<'writer> MakeWriter<'writer> + Send + Sync + 'static,
{
    // The filter was validated when the settings were read.
    let raw_events = settings.raw_events;
    let quiet = QuietDependencies::new(&settings.filter, raw_events);
    let filter = EnvFilter::builder()
        .parse_lossy(&settings.filter)
        .or(filter_fn(is_a_template_span))
        .and(filter_fn(move |metadata| quiet.allows(metadata)))
        .and(filter_fn(is_not_a_repeated_failure))
        .and(filter_fn(move |metadata| {
            raw_events || is_not_a_raw_event(metadata)
        }));
    let logs: Box<dyn Layer<Registry> + Send + Sync> = match settings.format {
        LogFormat::Json => tracing_subscriber::fmt::layer()
            .fmt_fields(SpanJsonMembers)
            .event_format(LambdaJsonFormat::new(output.clock))
            .with_writer(output.writer)
            .with_filter(filter)
            .boxed(),
        LogFormat::Text => tracing_subscriber::fmt::layer()
            .fmt_fields(TextFields)
            .with_ansi(output.ansi)
            .with_writer(output.writer)
            .with_filter(filter)
            .boxed(),
    };
    let mut layers = vec![logs];
    layers.extend(traces.map(Traces::layer));
    Box::new(Registry::default().with(layers))
}

/// The fields of text lines: the message as is, then `name=value` pairs separated by spaces, without
/// the `otel.*` fields that only tell the trace export what to call a span.
struct TextFields;

impl<'writer> FormatFields<'writer> for TextFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> std::fmt::Result {
        let mut visitor = TextFieldVisitor {
            writer,
            written: false,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct TextFieldVisitor<'writer> {
    writer: Writer<'writer>,
    written: bool,
    result: std::fmt::Result,
}

impl Visit for TextFieldVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"));
        } else {
            self.record_debug(field, &value);
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        if self.result.is_err() || field.name().starts_with("otel.") {
            return;
        }
        let separator = if self.written { " " } else { "" };
        self.written = true;
        self.result = if field.name() == "message" {
            write!(self.writer, "{separator}{value:?}")
        } else {
            write!(self.writer, "{separator}{}={value:?}", field.name())
        };
    }
}

/// Installs the subscriber for the process (stderr) and routes panic reports through it.
pub(crate) fn init(settings: &LogSettings, traces: Option<&Traces>) {
    let output = LogOutput {
        writer: std::io::stderr,
        clock: Arc::new(SystemClock),
        ansi: std::io::stderr().is_terminal() && settings.format == LogFormat::Text,
    };
    if tracing::subscriber::set_global_default(subscriber(settings, output, traces)).is_err() {
        // Another subscriber was installed first (`lambda_runtime::tracing::init_default_subscriber`
        // in `main`, say): its filter lets through what this one would keep out.
        eprintln!(
            "ddb-stream-processor: another tracing subscriber was installed before run(); the \
             template's log format, level caps and raw-event guard do not apply to it"
        );
    }
    // Installed whatever subscriber is in place: the default hook would print the panic's message.
    install_panic_hook(settings.panic_messages);
}

/// Reports panics as ERROR events, so they carry the current record's span and the log format,
/// instead of the default hook's text on stderr (which Lambda would ship with the message in it).
/// The line names where the panic happened; its message only with `panic_messages`, as it may quote
/// item values. The engine catches processor panics and describes them the same way, with the
/// location this hook notes.
fn install_panic_hook(panic_messages: bool) {
    std::panic::set_hook(Box::new(move |info| {
        let location = info.location().map(|location| location.to_string());
        tracing::error!(
            panic.location = location.as_deref().unwrap_or("unknown"),
            "panic {}",
            describe_panic(location.as_deref(), info.payload(), panic_messages)
        );
        if let Some(location) = location {
            note_panic_location(location);
        }
    }));
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};
    use tracing::{info_span, warn};

    use super::*;
    use crate::clock::FixedClock;

    fn lines(settings: &LogSettings, emit: impl FnOnce()) -> Vec<String> {
        let captured = MemoryWriter::default();
        let output = LogOutput {
            writer: captured.clone(),
            clock: Arc::new(FixedClock(Utc.with_ymd_and_hms(2026, 11, 1, 9, 0, 0).unwrap())),
            ansi: false,
        };
        tracing::subscriber::with_default(subscriber(settings, output, None), emit);
        captured.contents().lines().map(str::to_owned).collect()
    }

    fn json(filter: &str) -> LogSettings {
        LogSettings {
            format: LogFormat::Json,
            filter: filter.into(),
            lambda_level: None,
            ..LogSettings::default()
        }
    }

    #[test]
    fn json_lines_fit_lambdas_format_with_span_fields_at_the_top_level() {
        let lines = lines(&json("info"), || {
            let invocation = info_span!(
                "invocation",
                otel.kind = "server",
                requestId = "req-1",
                xrayTraceId = "Root=1-abc"
            );
            let _invocation = invocation.enter();
            let record = info_span!(
                "record",
                eventId = "e-1",
                sequenceNumber = "111",
                operation = "INSERT"
            );
            let _record = record.enter();
            warn!(handed_back = 2, "record failed");
        });
        assert_eq!(lines.len(), 1);
        let line: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(
            line,
            serde_json::json!({
                "timestamp": "2026-11-01T09:00:00.000000Z",
                "level": "WARN",
                "message": "record failed",
                "requestId": "req-1",
                "xrayTraceId": "Root=1-abc",
                "eventId": "e-1",
                "sequenceNumber": "111",
                "operation": "INSERT",
                "handed_back": 2,
                "target": "ddb_stream_processor::telemetry::logs::tests",
            }),
            "no otel.* field, no nesting"
        );
    }

    #[test]
    fn span_fields_reach_json_lines_escaped_and_with_their_last_recorded_value() {
        let awkward = "quote \" backslash \\ newline \n tab \t bell \u{7} é 🦀";
        let lines = lines(&json("info"), || {
            let record = info_span!(
                "record",
                eventId = awkward,
                attempt = 1,
                ratio = 0.5,
                infinite = f64::INFINITY,
                flag = true,
                debugged = ?vec!["a\"b"],
                otel.kind = "internal",
                faas.document.operation = "insert",
                keys = tracing::field::Empty,
            );
            record.record("attempt", 2);
            record.record("keys", "{\"pk\":{\"S\":\"ORDER#1\"}}");
            record.record("attempt", 3);
            let _record = record.enter();
            warn!("retrying");
        });
        assert_eq!(lines.len(), 1);
        let line: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(line["eventId"], awkward);
        assert_eq!(line["attempt"], 3, "the last recorded value wins");
        assert_eq!(line["ratio"], 0.5);
        assert_eq!(line["infinite"], "inf");
        assert_eq!(line["flag"], true);
        assert_eq!(line["debugged"], "[\"a\\\"b\"]");
        assert_eq!(line["keys"], "{\"pk\":{\"S\":\"ORDER#1\"}}");
        let object = line.as_object().unwrap();
        assert!(
            !object.keys().any(|name| name.contains('.')),
            "no dotted field: {object:?}"
        );
    }

    #[test]
    fn the_level_filter_applies_to_logs() {
        let lines = lines(&json("warn"), || {
            tracing::info!("quiet");
            tracing::warn!("loud");
        });
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("\"loud\""));
    }

    #[test]
    fn text_lines_are_plain_text() {
        let settings = LogSettings {
            format: LogFormat::Text,
            filter: "info".into(),
            lambda_level: None,
            ..LogSettings::default()
        };
        let lines = lines(&settings, || tracing::info!(answer = 42, "hello"));
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("INFO") && lines[0].contains("hello") && lines[0].contains("answer=42"));
        assert!(serde_json::from_str::<Value>(&lines[0]).is_err());
    }

    #[test]
    fn text_lines_leave_out_the_otel_fields_and_keep_the_others() {
        let settings = LogSettings {
            format: LogFormat::Text,
            filter: "info".into(),
            lambda_level: None,
            ..LogSettings::default()
        };
        let lines = lines(&settings, || {
            let invocation = info_span!(
                "invocation",
                otel.name = "orders-stream",
                requestId = "req-1",
                otel.kind = "server"
            );
            let _invocation = invocation.enter();
            tracing::warn!(handed_back = 2, reason = "poison", "record failed");
        });
        assert_eq!(lines.len(), 1);
        assert!(
            lines[0].ends_with(
                "WARN invocation{requestId=\"req-1\"}: ddb_stream_processor::telemetry::logs::tests: \
                 record failed handed_back=2 reason=\"poison\""
            ),
            "{}",
            lines[0]
        );
    }

    #[test]
    fn verbose_levels_keep_dependencies_at_warn_unless_the_filter_names_them() {
        let chatter = || {
            tracing::debug!(target: "hyper::proto::h1", "parsed 3 headers");
            tracing::trace!(target: "aws_smithy_runtime::client::orchestrator", "request body");
            tracing::trace!(target: "h2o_kitchen", "not a dependency");
            tracing::warn!(target: "hyper::proto::h1", "connection reset");
            let record = info_span!("record", eventId = "e-1");
            let _record = record.enter();
            tracing::trace!(target: "aws_smithy_runtime::http", "inside a record");
            tracing::trace!("the template's own detail");
        };
        let messages = |filter: &str| -> Vec<String> {
            lines(&json(filter), chatter)
                .iter()
                .map(|line| {
                    serde_json::from_str::<Value>(line).unwrap()["message"]
                        .as_str()
                        .unwrap()
                        .to_owned()
                })
                .collect()
        };
        let quiet = [
            "not a dependency",
            "connection reset",
            "the template's own detail",
        ];
        for filter in [
            "trace",
            "trace,",
            "TRACE",
            "info,[record]=trace,trace",
            "trace,[record]=trace",
            "trace,hyper[conn]=debug",
            "trace,aws_=trace",
        ] {
            assert_eq!(messages(filter), quiet, "{filter}");
        }
        assert_eq!(
            messages("trace,hyper=debug"),
            [
                "parsed 3 headers",
                "not a dependency",
                "connection reset",
                "the template's own detail"
            ],
            "named by target"
        );
        assert_eq!(
            messages("trace,aws_smithy_runtime=trace"),
            [
                "request body",
                "not a dependency",
                "connection reset",
                "inside a record",
                "the template's own detail"
            ]
        );
    }

    #[test]
    fn the_raw_event_line_needs_its_own_opt_in_whatever_the_filter() {
        let raw_event = || {
            tracing::trace!(
                target: "lambda_runtime::layers::api_response",
                body = "{\"Records\":[{\"dynamodb\":{\"NewImage\":{\"card\":{\"S\":\"4111\"}}}}]}",
                "raw JSON event received from Lambda"
            );
        };
        assert!(lines(&json("trace,lambda_runtime=trace"), raw_event).is_empty());
        let allowed = LogSettings {
            raw_events: true,
            ..json("trace")
        };
        let lines = lines(&allowed, raw_event);
        assert_eq!(lines.len(), 1);
        assert!(lines[0].contains("4111"));
    }

    #[test]
    fn a_line_at_any_level_carries_the_fields_of_the_record_it_is_written_in() {
        let lines = lines(&json("error"), || {
            let record = info_span!("record", eventId = "e-9", sequenceNumber = "900");
            let _record = record.enter();
            let other = info_span!("other", noisy = true);
            let _other = other.enter();
            tracing::error!("the processor gave up");
        });
        assert_eq!(lines.len(), 1);
        let line: Value = serde_json::from_str(&lines[0]).unwrap();
        assert_eq!(line["eventId"], "e-9");
        assert_eq!(line["sequenceNumber"], "900");
        assert!(
            line.get("noisy").is_none(),
            "other INFO spans follow the level: {line}"
        );
    }
}
