//! Turning definitions with placeholders into CloudFormation values.
//!
//! - A string that is exactly one placeholder becomes `Ref` (or `Fn::GetAtt` for `Resource.Attribute`),
//!   so a numeric parameter stays a number (`Threshold: {Ref: IteratorAgeThresholdMs}`).
//! - A string with placeholders among other text becomes `Fn::Sub`.
//! - A dashboard body becomes one `Fn::Sub` of its JSON text; placeholders of numeric parameters
//!   written as a whole JSON string (`"value": "${IteratorAgeThresholdMs}"`) lose their quotes, so
//!   the deployed body has a number where CloudWatch wants one.
//!
//! Every placeholder must be a known [`Variables`] name; the error says which one and where.

use serde_json::{Map, Value};

use crate::variables::{VariableKind, Variables, placeholders};

/// A placeholder is not a known name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: {problem}")]
pub struct PlaceholderError {
    pub location: String,
    pub problem: String,
}

/// Checks every placeholder in `text`.
pub fn check_placeholders(text: &str, variables: &Variables, location: &str) -> Result<(), PlaceholderError> {
    let names = placeholders(text).map_err(|problem| PlaceholderError {
        location: location.to_owned(),
        problem,
    })?;
    for name in names {
        if variables.kind(name).is_none() {
            return Err(PlaceholderError {
                location: location.to_owned(),
                problem: format!(
                    "unknown placeholder ${{{name}}}; known: {}",
                    variables.names().collect::<Vec<_>>().join(", ")
                ),
            });
        }
    }
    Ok(())
}

/// `value` with every string holding placeholders turned into `Ref`, `Fn::GetAtt` or `Fn::Sub`.
pub fn intrinsic(value: &Value, variables: &Variables, location: &str) -> Result<Value, PlaceholderError> {
    Ok(match value {
        Value::String(text) => {
            check_placeholders(text, variables, location)?;
            let names = placeholders(text).unwrap_or_default();
            match names.as_slice() {
                [] => value.clone(),
                [name] if text == &format!("${{{name}}}") => reference(name, variables),
                _ => single("Fn::Sub", Value::String(text.clone())),
            }
        }
        Value::Array(items) => Value::Array(
            items
                .iter()
                .enumerate()
                .map(|(index, item)| intrinsic(item, variables, &format!("{location}[{index}]")))
                .collect::<Result<_, _>>()?,
        ),
        Value::Object(fields) => Value::Object(
            fields
                .iter()
                .map(|(key, item)| {
                    Ok((
                        key.clone(),
                        intrinsic(item, variables, &format!("{location}.{key}"))?,
                    ))
                })
                .collect::<Result<Map<_, _>, PlaceholderError>>()?,
        ),
        other => other.clone(),
    })
}

fn reference(name: &str, variables: &Variables) -> Value {
    match (variables.kind(name), name.split_once('.')) {
        (Some(VariableKind::Attribute), Some((resource, attribute))) => single(
            "Fn::GetAtt",
            Value::Array(vec![Value::from(resource), Value::from(attribute)]),
        ),
        _ => single("Ref", Value::from(name)),
    }
}

fn single(key: &str, value: Value) -> Value {
    let mut map = Map::new();
    map.insert(key.to_owned(), value);
    Value::Object(map)
}

/// The text of a dashboard body for `Fn::Sub`: pretty JSON, numeric parameters unquoted.
pub fn dashboard_sub_text(
    body: &Value,
    variables: &Variables,
    location: &str,
) -> Result<String, PlaceholderError> {
    let text = serde_json::to_string_pretty(body).expect("a JSON value serializes");
    check_placeholders(&text, variables, location)?;
    let mut unquoted = text;
    for name in variables.names() {
        if variables.kind(name) == Some(VariableKind::Parameter { numeric: true }) {
            unquoted = unquoted.replace(&format!("\"${{{name}}}\""), &format!("${{{name}}}"));
        }
    }
    Ok(unquoted)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn variables() -> Variables {
        let mut variables = Variables::template();
        variables.insert("Threshold", VariableKind::Parameter { numeric: true });
        variables.insert("Queue.QueueName", VariableKind::Attribute);
        variables
    }

    #[test]
    fn whole_placeholders_become_references_and_mixed_text_becomes_sub() {
        let alarm = json!({
            "AlarmName": "${AWS::StackName}-iterator-age",
            "Threshold": "${Threshold}",
            "Dimensions": [{"Name": "QueueName", "Value": "${Queue.QueueName}"}],
            "Period": 60,
            "Region": "${AWS::Region}"
        });
        assert_eq!(
            intrinsic(&alarm, &variables(), "alarm").unwrap(),
            json!({
                "AlarmName": {"Fn::Sub": "${AWS::StackName}-iterator-age"},
                "Threshold": {"Ref": "Threshold"},
                "Dimensions": [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["Queue", "QueueName"]}}],
                "Period": 60,
                "Region": {"Ref": "AWS::Region"}
            })
        );
    }

    #[test]
    fn unknown_placeholders_are_errors_naming_the_place() {
        let error = intrinsic(&json!({"Value": "${Nope}"}), &variables(), "alarms/x.json").unwrap_err();
        assert_eq!(error.location, "alarms/x.json.Value");
        assert!(
            error.problem.starts_with("unknown placeholder ${Nope}"),
            "{}",
            error.problem
        );
    }

    #[test]
    fn numeric_parameters_lose_their_quotes_in_dashboard_text() {
        let body =
            json!({"annotations": {"horizontal": [{"value": "${Threshold}", "label": "${AWS::Region}"}]}});
        let text = dashboard_sub_text(&body, &variables(), "dashboard").unwrap();
        assert!(text.contains("\"value\": ${Threshold}"), "{text}");
        assert!(text.contains("\"label\": \"${AWS::Region}\""), "{text}");
    }
}
