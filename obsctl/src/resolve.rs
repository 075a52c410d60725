//! Resolving placeholders to the values of a deployed stack, for `diff` and `apply`.
//!
//! The values come from the stack (its outputs, its parameters, its id) and from `--var NAME=VALUE`
//! flags, which win; parameters the stack does not have take the default of their definition.
//! A placeholder that stands alone for a numeric parameter becomes a JSON number, as CloudFormation
//! would make it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::definitions::Definitions;
use crate::variables::{STACK_OUTPUTS, VariableKind, Variables, placeholders};

/// What a deployed stack says about itself.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StackFacts {
    pub name: String,
    /// `arn:<partition>:cloudformation:<region>:<account>:stack/<name>/<id>`.
    pub id: String,
    pub outputs: BTreeMap<String, String>,
    pub parameters: BTreeMap<String, String>,
}

/// The value of every placeholder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    values: BTreeMap<String, String>,
    numeric: BTreeSet<String>,
}

/// A placeholder has no value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("no value for {names}: deploy the stack with these outputs, or pass --var NAME=VALUE")]
    Missing { names: String },
    #[error("{location}: {problem}")]
    Invalid { location: String, problem: String },
}

impl Values {
    /// The values for the definitions: from the stack (when there is one), then the defaults of the
    /// alarm parameters, then `overrides`.
    pub fn gather(
        definitions: &Definitions,
        variables: &Variables,
        region: &str,
        stack: Option<&StackFacts>,
        overrides: &BTreeMap<String, String>,
    ) -> Result<Self, ResolveError> {
        let mut values = BTreeMap::new();
        values.insert("AWS::Region".to_owned(), region.to_owned());
        values.insert("AWS::URLSuffix".to_owned(), "amazonaws.com".to_owned());
        for alarm in &definitions.alarms {
            for (name, definition) in &alarm.parameters {
                if let Some(default) = definition.get("Default") {
                    values.insert(name.clone(), text_of(default));
                }
            }
        }
        if let Some(stack) = stack {
            values.insert("AWS::StackName".to_owned(), stack.name.clone());
            let arn: Vec<&str> = stack.id.split(':').collect();
            if let (Some(partition), Some(account)) = (arn.get(1), arn.get(4)) {
                values.insert("AWS::Partition".to_owned(), (*partition).to_owned());
                values.insert("AWS::AccountId".to_owned(), (*account).to_owned());
            }
            for (variable, output) in STACK_OUTPUTS {
                if let Some(value) = stack.outputs.get(*output) {
                    values.insert((*variable).to_owned(), value.clone());
                }
            }
            for (name, value) in &stack.parameters {
                if variables.kind(name).is_some() {
                    values.insert(name.clone(), value.clone());
                }
            }
        }
        values
            .entry("AWS::Partition".to_owned())
            .or_insert_with(|| "aws".to_owned());
        values.extend(
            overrides
                .iter()
                .map(|(name, value)| (name.clone(), value.clone())),
        );

        // Alarm ARNs follow from the alarm names, once those resolve.
        let mut resolved = Self {
            numeric: variables
                .names()
                .filter(|name| variables.kind(name) == Some(VariableKind::Parameter { numeric: true }))
                .map(str::to_owned)
                .collect(),
            values,
        };
        for alarm in &definitions.alarms {
            let arn_name = format!("{}.Arn", alarm.logical_id());
            if resolved.values.contains_key(&arn_name) {
                continue;
            }
            if let Some(Ok(Value::String(name))) = alarm
                .properties
                .get("AlarmName")
                .map(|name| resolved.resolve(name, "AlarmName"))
            {
                let arn = format!(
                    "arn:{}:cloudwatch:{}:{}:alarm:{name}",
                    resolved.values["AWS::Partition"],
                    region,
                    resolved.values.get("AWS::AccountId").map_or("", String::as_str)
                );
                resolved.values.insert(arn_name, arn);
            }
        }
        let missing: Vec<&str> = variables
            .names()
            .filter(|name| !resolved.values.contains_key(*name))
            .collect();
        let used = used_names(definitions);
        let missing_used: Vec<&str> = missing.into_iter().filter(|name| used.contains(*name)).collect();
        if !missing_used.is_empty() {
            return Err(ResolveError::Missing {
                names: missing_used.join(", "),
            });
        }
        Ok(resolved)
    }

    /// `value` with every placeholder replaced.
    pub fn resolve(&self, value: &Value, location: &str) -> Result<Value, ResolveError> {
        Ok(match value {
            Value::String(text) => {
                let names = placeholders(text).map_err(|problem| ResolveError::Invalid {
                    location: location.to_owned(),
                    problem,
                })?;
                if let [name] = names.as_slice() {
                    if text == &format!("${{{name}}}") && self.numeric.contains(*name) {
                        let raw = self.value(name)?;
                        let number: f64 = raw.parse().map_err(|_| ResolveError::Invalid {
                            location: location.to_owned(),
                            problem: format!("{name} is {raw:?}, not a number"),
                        })?;
                        return Ok(
                            serde_json::Number::from_f64(number).map_or(Value::Null, |number| {
                                if number
                                    .as_f64()
                                    .is_some_and(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                                {
                                    Value::from(number.as_f64().unwrap_or_default() as i64)
                                } else {
                                    Value::Number(number)
                                }
                            }),
                        );
                    }
                }
                let mut out = text.clone();
                for name in names {
                    out = out.replace(&format!("${{{name}}}"), self.value(name)?);
                }
                // CloudFormation's escape: ${!Literal} stands for ${Literal}.
                Value::String(out.replace("${!", "${"))
            }
            Value::Array(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(index, item)| self.resolve(item, &format!("{location}[{index}]")))
                    .collect::<Result<_, _>>()?,
            ),
            Value::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(key, item)| Ok((key.clone(), self.resolve(item, &format!("{location}.{key}"))?)))
                    .collect::<Result<Map<_, _>, ResolveError>>()?,
            ),
            other => other.clone(),
        })
    }

    fn value(&self, name: &str) -> Result<&str, ResolveError> {
        self.values
            .get(name)
            .map(String::as_str)
            .ok_or_else(|| ResolveError::Missing {
                names: name.to_owned(),
            })
    }
}

/// Every placeholder the definitions use.
fn used_names(definitions: &Definitions) -> BTreeSet<String> {
    let mut text = String::new();
    for dashboard in &definitions.dashboards {
        text.push_str(&dashboard.body.to_string());
    }
    for alarm in &definitions.alarms {
        text.push_str(&Value::Object(alarm.properties.clone()).to_string());
    }
    placeholders(&text)
        .unwrap_or_default()
        .into_iter()
        .map(str::to_owned)
        .collect()
}

fn text_of(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::definitions::{AlarmDefinition, Dashboard};

    fn definitions() -> Definitions {
        let mut parameters = Map::new();
        parameters.insert(
            "Threshold".into(),
            json!({"Type": "Number", "Default": 5, "Description": "why"}),
        );
        Definitions {
            dashboards: vec![Dashboard {
                name: "main".into(),
                body: json!({"widgets": [{"properties": {"alarms": ["${IteratorAgeAlarm.Arn}"],
                    "value": "${Threshold}", "title": "${StreamProcessorFunction} in ${AWS::Region}"}}]}),
            }],
            alarms: vec![AlarmDefinition {
                name: "iterator-age".into(),
                parameters,
                properties:
                    json!({"AlarmName": "${AWS::StackName}-iterator-age", "Threshold": "${Threshold}"})
                        .as_object()
                        .unwrap()
                        .clone(),
            }],
        }
    }

    fn stack() -> StackFacts {
        StackFacts {
            name: "orders".into(),
            id: "arn:aws:cloudformation:eu-west-1:123456789012:stack/orders/abc".into(),
            outputs: BTreeMap::from([("FunctionName".into(), "orders-stream-processor".into())]),
            parameters: BTreeMap::from([("Threshold".into(), "7".into())]),
        }
    }

    #[test]
    fn values_come_from_the_stack_and_numbers_stay_numbers() {
        let definitions = definitions();
        let variables = crate::render::variables_for(&definitions);
        let values = Values::gather(
            &definitions,
            &variables,
            "eu-west-1",
            Some(&stack()),
            &BTreeMap::new(),
        )
        .unwrap();
        let body = values.resolve(&definitions.dashboards[0].body, "main").unwrap();
        assert_eq!(
            body,
            json!({"widgets": [{"properties": {
                "alarms": ["arn:aws:cloudwatch:eu-west-1:123456789012:alarm:orders-iterator-age"],
                "value": 7, "title": "orders-stream-processor in eu-west-1"}}]})
        );
    }

    #[test]
    fn flags_win_and_missing_values_are_named() {
        let definitions = definitions();
        let variables = crate::render::variables_for(&definitions);
        let overrides = BTreeMap::from([
            ("StreamProcessorFunction".to_owned(), "other".to_owned()),
            ("AWS::StackName".to_owned(), "s".to_owned()),
            ("AWS::AccountId".to_owned(), "1".to_owned()),
        ]);
        let values = Values::gather(&definitions, &variables, "us-east-1", None, &overrides).unwrap();
        let body = values.resolve(&definitions.dashboards[0].body, "main").unwrap();
        assert_eq!(
            body["widgets"][0]["properties"]["value"], 5,
            "the parameter's default"
        );
        assert_eq!(body["widgets"][0]["properties"]["title"], "other in us-east-1");

        let error =
            Values::gather(&definitions, &variables, "us-east-1", None, &BTreeMap::new()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "no value for AWS::StackName, IteratorAgeAlarm.Arn, StreamProcessorFunction: deploy the stack with \
             these outputs, or pass --var NAME=VALUE"
        );
    }
}
