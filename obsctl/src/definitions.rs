//! Reading `dashboards/` and `alarms/`: the single source of truth of what operators see.
//!
//! - `dashboards/<name>.json`: a CloudWatch dashboard body, as the console shows it, with
//!   `${Placeholder}`s.
//! - `alarms/<name>.json`: `{"parameters": {…}, "alarm": {…}}`: the template parameters the alarm's
//!   thresholds use (CloudFormation parameter definitions, with defaults and the reason for them),
//!   and the alarm itself with the property names of `AWS::CloudWatch::Alarm` / `PutMetricAlarm`.
//!
//! File names are kebab-case; they give the logical ids (`records-failed-spike.json` →
//! `RecordsFailedSpikeAlarm`), the deployed names (`<stack>-records-failed-spike`) and the order of
//! the generated template, so the output is the same on every machine.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

/// One dashboard definition.
#[derive(Debug, Clone, PartialEq)]
pub struct Dashboard {
    /// The file stem, e.g. `stream-processor`.
    pub name: String,
    /// The body, with placeholders.
    pub body: Value,
}

impl Dashboard {
    /// The logical id of its `AWS::CloudWatch::Dashboard` resource.
    pub fn logical_id(&self) -> String {
        format!("{}Dashboard", pascal_case(&self.name))
    }
}

/// One alarm definition.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmDefinition {
    /// The file stem, e.g. `records-failed-spike`.
    pub name: String,
    /// Template parameters the alarm uses, by name.
    pub parameters: Map<String, Value>,
    /// The alarm's properties, with placeholders.
    pub properties: Map<String, Value>,
}

impl AlarmDefinition {
    /// The logical id of its `AWS::CloudWatch::Alarm` resource.
    pub fn logical_id(&self) -> String {
        format!("{}Alarm", pascal_case(&self.name))
    }

    /// A property as text, when it is one.
    pub fn text(&self, property: &str) -> Option<&str> {
        self.properties.get(property).and_then(Value::as_str)
    }
}

/// Everything in the two folders.
#[derive(Debug, Clone, PartialEq)]
pub struct Definitions {
    pub dashboards: Vec<Dashboard>,
    pub alarms: Vec<AlarmDefinition>,
}

/// A definition file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum DefinitionError {
    #[error("cannot read {path}: {source}")]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error("{path} is not valid JSON: {source}")]
    NotJson {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("{path}: {problem}")]
    Invalid { path: PathBuf, problem: String },
}

impl Definitions {
    /// Reads `<repository>/dashboards/*.json` and `<repository>/alarms/*.json`.
    pub fn load(repository: &Path) -> Result<Self, DefinitionError> {
        let dashboards = json_files(&repository.join("dashboards"))?
            .into_iter()
            .map(|(name, path, body)| {
                if !body.is_object() {
                    return Err(invalid(&path, "a dashboard body is a JSON object"));
                }
                Ok(Dashboard { name, body })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let alarms = json_files(&repository.join("alarms"))?
            .into_iter()
            .map(|(name, path, document)| alarm(name, &path, document))
            .collect::<Result<Vec<_>, _>>()?;
        if dashboards.is_empty() {
            return Err(invalid(
                &repository.join("dashboards"),
                "there is no dashboard (*.json)",
            ));
        }
        Ok(Self { dashboards, alarms })
    }
}

fn alarm(name: String, path: &Path, document: Value) -> Result<AlarmDefinition, DefinitionError> {
    let Value::Object(mut document) = document else {
        return Err(invalid(
            path,
            "an alarm file is a JSON object with \"parameters\" and \"alarm\"",
        ));
    };
    let parameters = match document.remove("parameters") {
        None => Map::new(),
        Some(Value::Object(parameters)) => parameters,
        Some(_) => {
            return Err(invalid(
                path,
                "\"parameters\" is an object of CloudFormation parameters",
            ));
        }
    };
    let Some(Value::Object(properties)) = document.remove("alarm") else {
        return Err(invalid(
            path,
            "\"alarm\" (the alarm's properties) is missing or not an object",
        ));
    };
    if let Some(extra) = document.keys().next() {
        return Err(invalid(
            path,
            &format!("unknown key {extra:?}: only \"parameters\" and \"alarm\""),
        ));
    }
    for (parameter, definition) in &parameters {
        let kind = definition.get("Type").and_then(Value::as_str);
        if !matches!(kind, Some("Number" | "String")) || definition.get("Default").is_none() {
            return Err(invalid(
                path,
                &format!(
                    "parameter {parameter:?} needs \"Type\": \"Number\" or \"String\" and a \"Default\""
                ),
            ));
        }
        if definition
            .get("Description")
            .and_then(Value::as_str)
            .is_none_or(str::is_empty)
        {
            return Err(invalid(
                path,
                &format!("parameter {parameter:?} needs a \"Description\" that defends its default"),
            ));
        }
    }
    Ok(AlarmDefinition {
        name,
        parameters,
        properties,
    })
}

/// The `*.json` files of `folder`, sorted by name, parsed.
fn json_files(folder: &Path) -> Result<Vec<(String, PathBuf, Value)>, DefinitionError> {
    let entries = std::fs::read_dir(folder).map_err(|source| DefinitionError::Unreadable {
        path: folder.to_owned(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .filter(|path| path.extension().is_some_and(|extension| extension == "json"))
        .collect();
    paths.sort();
    paths
        .into_iter()
        .map(|path| {
            let name = path
                .file_stem()
                .and_then(|stem| stem.to_str())
                .unwrap_or_default()
                .to_owned();
            if name.is_empty()
                || !name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                return Err(invalid(&path, "file names are kebab-case (a-z, 0-9, -)"));
            }
            let text = std::fs::read_to_string(&path).map_err(|source| DefinitionError::Unreadable {
                path: path.clone(),
                source,
            })?;
            let value = serde_json::from_str(&text).map_err(|source| DefinitionError::NotJson {
                path: path.clone(),
                source,
            })?;
            Ok((name, path, value))
        })
        .collect()
}

fn invalid(path: &Path, problem: &str) -> DefinitionError {
    DefinitionError::Invalid {
        path: path.to_owned(),
        problem: problem.to_owned(),
    }
}

/// `records-failed-spike` → `RecordsFailedSpike`.
pub fn pascal_case(kebab: &str) -> String {
    kebab
        .split('-')
        .map(|word| {
            let mut characters = word.chars();
            characters
                .next()
                .map(|first| first.to_ascii_uppercase().to_string() + characters.as_str())
                .unwrap_or_default()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logical_ids_come_from_file_names() {
        assert_eq!(pascal_case("records-failed-spike"), "RecordsFailedSpike");
        assert_eq!(pascal_case("emf-validation-errors"), "EmfValidationErrors");
        let alarm = AlarmDefinition {
            name: "iterator-age".into(),
            parameters: Map::new(),
            properties: Map::new(),
        };
        assert_eq!(alarm.logical_id(), "IteratorAgeAlarm");
    }
}
