//! A processor that is not the example: `.ci/replace-processor` puts it in place of
//! `src/processor/` to prove that replacing the example touches that folder and one line of
//! `src/main.rs`, and that the function's tests still pass.

use ddb_stream_processor::record::image::{ImageSchema, decode};
use ddb_stream_processor::{ChangeRecord, InvocationContext, Operation, RecordError, RecordProcessor, ResultExt};
use serde::Deserialize;

/// A user profile, as the table stores it.
#[derive(Debug, Deserialize)]
pub struct Profile {
    pub email_verified: bool,
}

impl ImageSchema for Profile {
    fn expectation(attribute: &str) -> Option<&'static str> {
        match attribute {
            "email_verified" => Some("a boolean (BOOL)"),
            _ => None,
        }
    }
}

/// Keeps an audit trail of profile changes (here: in the logs, without the item's values).
#[derive(Debug, Default)]
pub struct AuditTrail;

impl RecordProcessor for AuditTrail {
    async fn process(&self, record: &ChangeRecord) -> Result<(), RecordError> {
        let request_id = InvocationContext::current().map(|context| context.request_id().to_owned());
        match record.operation {
            Operation::Insert | Operation::Modify => {
                let image = record
                    .new_image
                    .as_ref()
                    .ok_or_else(|| RecordError::permanent("the stream has no new images"))?;
                let profile: Profile = decode("NewImage", image).permanent("decoding the profile")?;
                tracing::debug!(?request_id, verified = profile.email_verified, "profile changed");
            }
            Operation::Remove => tracing::debug!(?request_id, ttl = record.is_ttl_delete, "profile removed"),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use ddb_stream_processor::testing::records;
    use serde_json::json;

    use super::*;

    #[tokio::test]
    async fn a_profile_without_a_boolean_is_a_permanent_failure() {
        let mut record = records::record_json(0);
        record["dynamodb"]["NewImage"] = json!({"user_id": {"S": "u-1"}, "email_verified": {"S": "yes"}});
        let record = records::change_record(record);
        let error = AuditTrail.process(&record).await.unwrap_err();
        assert!(!error.is_transient());
        assert_eq!(
            error.detailed_message(),
            "decoding the profile: NewImage attribute \"email_verified\": expected a boolean (BOOL)"
        );
    }
}
