//! The placeholder language of `dashboards/` and `alarms/`: `${Name}` stands for a value that only
//! exists once the stack does (the function's name, the queue's name, a threshold parameter).
//!
//! The names are CloudFormation's: a parameter, a resource (its `Ref`), a resource attribute
//! (`Resource.Attribute`, its `Fn::GetAtt`) or a pseudo parameter (`AWS::Region`). So the renderer can
//! hand a string to `Fn::Sub` unchanged, and `obsctl diff` / `apply` can resolve the same names from a
//! deployed stack. `${!Literal}` is CloudFormation's escape for a literal `${Literal}`.
//!
//! [`Variables`] lists every name the definitions may use; anything else is an error that names the
//! placeholder and the file. cfn-lint checks, in turn, that each of these names exists in
//! template.yaml.

use std::collections::BTreeMap;

/// What a placeholder refers to, which decides how it is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VariableKind {
    /// `AWS::Region`, `AWS::StackName`, ...: `Ref`.
    Pseudo,
    /// A template parameter: `Ref`. `numeric` parameters are written unquoted in dashboard JSON.
    Parameter { numeric: bool },
    /// A resource: `Ref` (a name, an ARN or an id, depending on the resource type).
    Resource,
    /// `Resource.Attribute`: `Fn::GetAtt`.
    Attribute,
}

/// The logical id of the function (its `Ref` is the function name, also the metrics' `Service`).
pub const FUNCTION: &str = "StreamProcessorFunction";
/// The template parameter holding the metrics namespace.
pub const METRICS_NAMESPACE: &str = "MetricsNamespace";
/// The function timeout parameter, in seconds.
pub const FUNCTION_TIMEOUT: &str = "FunctionTimeoutSeconds";
/// The function's log group.
pub const LOG_GROUP: &str = "FunctionLogGroup";
/// The SNS topic alarms notify.
pub const ALARM_TOPIC: &str = "AlarmTopic";
/// The event source mapping SAM generates for the function's `Stream` event (its `Ref` is the UUID).
pub const EVENT_SOURCE_MAPPING: &str = "StreamProcessorFunctionStream";
/// The failure queue's name: the on-failure destination with `FailureDestination` SQS, the queue of
/// notifications of failure objects with S3.
pub const FAILURE_QUEUE_NAME: &str = "DeadLetterQueue.QueueName";

/// The stack outputs that give `diff` and `apply` the value of a placeholder: (placeholder, output).
/// `obsctl render` writes these outputs into template.yaml (see [`output_description`]), so they
/// always exist.
pub const STACK_OUTPUTS: &[(&str, &str)] = &[
    (FUNCTION, "FunctionName"),
    (METRICS_NAMESPACE, "MetricsNamespace"),
    (LOG_GROUP, "FunctionLogGroupName"),
    (ALARM_TOPIC, "AlarmTopicArn"),
    (EVENT_SOURCE_MAPPING, "EventSourceMappingId"),
    (FAILURE_QUEUE_NAME, "FailureQueueName"),
];

/// What a stack output of [`STACK_OUTPUTS`] is, for the template.
pub fn output_description(output: &str) -> &'static str {
    match output {
        "FunctionName" => "The stream processor function (also the Service dimension of its metrics).",
        "MetricsNamespace" => "The CloudWatch namespace of the function's metrics.",
        "FunctionLogGroupName" => "The function's log group.",
        "AlarmTopicArn" => "The SNS topic the alarms notify; subscribe more endpoints to it.",
        "EventSourceMappingId" => "The UUID of the stream's event source mapping.",
        "FailureQueueName" => {
            "The failure queue: what waits to be replayed (the destination's pointers, or notifications of its objects)."
        }
        _ => "A value obsctl diff and apply read.",
    }
}

/// Every placeholder the definitions may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Variables {
    kinds: BTreeMap<String, VariableKind>,
}

impl Variables {
    /// The names template.yaml defines by hand, and the generated `MetricsNamespace` parameter.
    pub fn template() -> Self {
        let mut kinds = BTreeMap::new();
        for pseudo in [
            "AWS::AccountId",
            "AWS::Partition",
            "AWS::Region",
            "AWS::StackName",
            "AWS::URLSuffix",
        ] {
            kinds.insert(pseudo.to_owned(), VariableKind::Pseudo);
        }
        kinds.insert(
            METRICS_NAMESPACE.to_owned(),
            VariableKind::Parameter { numeric: false },
        );
        kinds.insert(
            FUNCTION_TIMEOUT.to_owned(),
            VariableKind::Parameter { numeric: true },
        );
        for resource in [FUNCTION, LOG_GROUP, ALARM_TOPIC, EVENT_SOURCE_MAPPING] {
            kinds.insert(resource.to_owned(), VariableKind::Resource);
        }
        kinds.insert(FAILURE_QUEUE_NAME.to_owned(), VariableKind::Attribute);
        Self { kinds }
    }

    /// Adds a name.
    pub fn insert(&mut self, name: impl Into<String>, kind: VariableKind) {
        self.kinds.insert(name.into(), kind);
    }

    /// What `name` refers to, if it is known.
    pub fn kind(&self, name: &str) -> Option<VariableKind> {
        self.kinds.get(name).copied()
    }

    /// Every known name, sorted.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.kinds.keys().map(String::as_str)
    }
}

/// The placeholders of `text`, in order, without `${!…}` escapes. An unterminated `${` is returned
/// as `Err` with the text after it, so the caller can report it.
pub fn placeholders(text: &str) -> Result<Vec<&str>, String> {
    let mut found = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(format!("an unterminated placeholder: ${{{after}"));
        };
        let name = &after[..end];
        if !name.starts_with('!') {
            found.push(name);
        }
        rest = &after[end + 1..];
    }
    Ok(found)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_placeholders_but_not_escapes() {
        assert_eq!(
            placeholders("${AWS::StackName}-x ${!Literal} ${Queue.QueueName}"),
            Ok(vec!["AWS::StackName", "Queue.QueueName"])
        );
        assert_eq!(placeholders("no placeholder"), Ok(vec![]));
        assert!(placeholders("broken ${Name").is_err());
    }

    #[test]
    fn the_template_names_have_their_kinds() {
        let variables = Variables::template();
        assert_eq!(variables.kind("AWS::Region"), Some(VariableKind::Pseudo));
        assert_eq!(
            variables.kind(FUNCTION_TIMEOUT),
            Some(VariableKind::Parameter { numeric: true })
        );
        assert_eq!(variables.kind(FUNCTION), Some(VariableKind::Resource));
        assert_eq!(variables.kind("Unknown"), None);
    }
}
