//! An OTLP/HTTP trace receiver: decodes `POST /v1/traces` (protobuf) and keeps every span with the
//! time it arrived. In black-hole mode it accepts connections and reads requests but never answers,
//! like a collector that hangs.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as ProtoValue;
use prost::Message;

use test_emulators::http::{Reply, response, serve};

/// One received span, flattened for assertions.
#[derive(Debug, Clone)]
pub struct ReceivedSpan {
    pub name: String,
    pub trace_id: String,
    pub span_id: String,
    pub parent_span_id: String,
    /// The OTLP `SpanKind` number (2 = SERVER).
    pub kind: i32,
    /// Attribute values rendered as text (`"insert"`, `"3"`, `"true"`).
    pub attributes: HashMap<String, String>,
    /// The OTLP status code number (2 = ERROR).
    pub status_code: i32,
    pub status_message: String,
    pub resource: HashMap<String, String>,
    pub received_at: Instant,
}

/// The receiver.
pub struct OtlpReceiver {
    address: String,
    spans: Arc<Mutex<Vec<ReceivedSpan>>>,
    /// Every request body as received: protobuf keeps strings as UTF-8 bytes, so a text that was
    /// exported anywhere (an attribute, an event, a status) can be searched for.
    bodies: Arc<Mutex<Vec<u8>>>,
}

impl OtlpReceiver {
    /// A receiver that stores spans and answers 200.
    pub fn start() -> Self {
        let spans = Arc::new(Mutex::new(Vec::new()));
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let (store, raw_store) = (Arc::clone(&spans), Arc::clone(&bodies));
        let address = serve(move |request| {
            if request.method != "POST" || request.path != "/v1/traces" {
                return Reply::Send(response("404 Not Found", "text/plain", b""));
            }
            let content_type = request.headers.get("content-type").map(String::as_str);
            if content_type != Some("application/x-protobuf") {
                return Reply::Send(response("415 Unsupported Media Type", "text/plain", b""));
            }
            raw_store.lock().unwrap().extend_from_slice(&request.body);
            let decoded = ExportTraceServiceRequest::decode(request.body.as_slice()).expect("OTLP protobuf");
            store.lock().unwrap().extend(flatten(decoded, Instant::now()));
            Reply::Send(response("200 OK", "application/x-protobuf", b""))
        });
        Self {
            address,
            spans,
            bodies,
        }
    }

    /// A receiver that never answers (a hung collector).
    pub fn black_hole() -> Self {
        let address = serve(|_request| {
            std::thread::sleep(Duration::from_secs(60));
            Reply::Close
        });
        Self {
            address,
            spans: Arc::default(),
            bodies: Arc::default(),
        }
    }

    /// The endpoint for `OTEL_EXPORTER_OTLP_ENDPOINT`.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.address)
    }

    /// Whether `text` appears anywhere in what was received so far.
    pub fn received_text(&self, text: &str) -> bool {
        let bodies = self.bodies.lock().unwrap();
        bodies.windows(text.len()).any(|window| window == text.as_bytes())
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        self.spans.lock().unwrap().clone()
    }
}

fn text(value: Option<&ProtoValue>) -> String {
    match value {
        Some(ProtoValue::StringValue(text)) => text.clone(),
        Some(ProtoValue::BoolValue(flag)) => flag.to_string(),
        Some(ProtoValue::IntValue(number)) => number.to_string(),
        Some(ProtoValue::DoubleValue(number)) => number.to_string(),
        other => format!("{other:?}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

fn flatten(request: ExportTraceServiceRequest, received_at: Instant) -> Vec<ReceivedSpan> {
    let mut spans = Vec::new();
    for resource_spans in request.resource_spans {
        let resource: HashMap<String, String> = resource_spans
            .resource
            .map(|resource| resource.attributes)
            .unwrap_or_default()
            .into_iter()
            .map(|pair| {
                (
                    pair.key,
                    text(pair.value.as_ref().and_then(|value| value.value.as_ref())),
                )
            })
            .collect();
        for scope_spans in resource_spans.scope_spans {
            for span in scope_spans.spans {
                let status = span.status.clone().unwrap_or_default();
                spans.push(ReceivedSpan {
                    name: span.name,
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    kind: span.kind,
                    attributes: span
                        .attributes
                        .into_iter()
                        .map(|pair| {
                            (
                                pair.key,
                                text(pair.value.as_ref().and_then(|value| value.value.as_ref())),
                            )
                        })
                        .collect(),
                    status_code: status.code,
                    status_message: status.message,
                    resource: resource.clone(),
                    received_at,
                });
            }
        }
    }
    spans
}
