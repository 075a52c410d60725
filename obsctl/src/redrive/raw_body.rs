//! The JSON of an AWS response exactly as it came over the wire, beside the SDK's parsed output.
//!
//! The SDK parses `ApproximateCreationDateTime` into a date and attribute values into its own enum;
//! Lambda gives a function the wire form (epoch seconds as the stream wrote them, numbers as
//! DynamoDB normalised them). A redriven event must be the event Lambda would have built, so the
//! records are taken from the response body, which this interceptor keeps for one operation.

use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::AfterDeserializationInterceptorContextRef;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;
use serde_json::Value;

/// Keeps the body of the response of the operation it is attached to (with `customize()`).
#[derive(Debug, Clone, Default)]
pub struct RawBody {
    body: Arc<Mutex<Option<Vec<u8>>>>,
}

impl RawBody {
    /// The body of the last response, parsed as JSON (`Null` when there was none or it was not JSON).
    pub fn json(&self) -> Value {
        let body = self.body.lock().expect("the body lock is never poisoned").take();
        body.and_then(|body| serde_json::from_slice(&body).ok())
            .unwrap_or(Value::Null)
    }
}

impl Intercept for RawBody {
    fn name(&self) -> &'static str {
        "RawBody"
    }

    fn read_after_deserialization(
        &self,
        context: &AfterDeserializationInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        // The body of a non-streaming operation is in memory once it has been deserialized.
        let body = context.response().body().bytes().map(<[u8]>::to_vec);
        *self.body.lock().expect("the body lock is never poisoned") = body;
        Ok(())
    }
}
