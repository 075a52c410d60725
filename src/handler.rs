//! The Lambda edge: one invocation payload in, a partial batch response or an error out.
//!
//! [`StreamHandler`] is the whole function: it decodes the payload, runs the batch through the
//! [engine](crate::engine), logs one summary line, and turns the outcome into the response. It is
//! used unchanged by the Lambda runtime loop ([`StreamHandler::handle`]) and by local invoke
//! ([`StreamHandler::handle_payload`] with a synthetic [`Invocation`]).

use aws_lambda_events::event::streams::DynamoDbEventResponse;
use lambda_runtime::LambdaEvent;
use serde_json::value::RawValue;
use tracing::{Instrument, error, field, info, info_span};

use crate::engine::{BatchEngine, BatchOutcome, Deadline};
use crate::event::parse_event;
use crate::invocation_error::InvocationError;
use crate::processor::RecordProcessor;

/// What the handler knows about one invocation, taken from the Lambda context (or made up locally).
#[derive(Debug, Clone)]
pub struct Invocation {
    /// The AWS request id.
    pub request_id: String,
    /// The ARN the function was invoked with.
    pub invoked_function_arn: String,
    /// The X-Ray trace header of this invocation, when tracing is on.
    pub xray_trace_id: Option<String>,
    /// When the invocation times out.
    pub deadline: Deadline,
}

impl Invocation {
    /// The invocation described by a Lambda context. The deadline margin is resolved against the
    /// time left now, which is the function timeout minus the runtime's own start-up of the event.
    pub fn from_context(context: &lambda_runtime::Context, engine: &BatchEngine) -> Self {
        Self {
            request_id: context.request_id.clone(),
            invoked_function_arn: context.invoked_function_arn.clone(),
            xray_trace_id: context.xray_trace_id.clone(),
            deadline: Deadline::from_epoch_millis(context.deadline, engine.config().deadline_margin),
        }
    }
}

/// The function: a batch engine and the processor it runs.
#[derive(Debug, Clone)]
pub struct StreamHandler<P> {
    engine: BatchEngine,
    processor: P,
}

impl<P: RecordProcessor> StreamHandler<P> {
    /// A handler running `processor` with `engine`.
    pub fn new(engine: BatchEngine, processor: P) -> Self {
        Self { engine, processor }
    }

    /// The engine, for its configuration.
    pub fn engine(&self) -> &BatchEngine {
        &self.engine
    }

    /// The Lambda runtime's entry point.
    pub async fn handle(
        &self,
        event: LambdaEvent<Box<RawValue>>,
    ) -> Result<DynamoDbEventResponse, InvocationError> {
        let invocation = Invocation::from_context(&event.context, &self.engine);
        self.handle_payload(event.payload.get().as_bytes(), &invocation)
            .await
    }

    /// Handles one raw payload: the same path for Lambda and for local invoke.
    pub async fn handle_payload(
        &self,
        payload: &[u8],
        invocation: &Invocation,
    ) -> Result<DynamoDbEventResponse, InvocationError> {
        let span = info_span!(
            "invocation",
            request_id = %invocation.request_id,
            xray_trace_id = field::Empty,
        );
        if let Some(trace_id) = &invocation.xray_trace_id {
            span.record("xray_trace_id", trace_id.as_str());
        }
        async {
            let event = parse_event(payload).inspect_err(|invalid| {
                error!(
                    error_type = invalid.error_type(),
                    "{invalid}; failing the invocation (Lambda retries the batch)"
                );
            })?;
            let outcome = self
                .engine
                .process_batch(&self.processor, event.records, &invocation.deadline)
                .await;
            log_summary(&outcome);
            outcome.to_response()
        }
        .instrument(span)
        .await
    }
}

/// The one INFO line per invocation: a 10,000-record batch logs one line, not 10,000.
fn log_summary(outcome: &BatchOutcome) {
    info!(
        batch_size = outcome.batch_size,
        succeeded = outcome.succeeded,
        failed = outcome.failed,
        handed_back = outcome.records_handed_back(),
        retries = outcome.retries,
        panics = outcome.panics,
        "batch done: {} of {} record(s) succeeded, {} handed back to the stream",
        outcome.succeeded,
        outcome.batch_size,
        outcome.records_handed_back(),
    );
}
