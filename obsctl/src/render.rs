//! `obsctl render`: writes template.yaml's generated regions and the README's alarm table from
//! `dashboards/` and `alarms/`, and the README's configuration and metric tables from the library
//! (its settings and its metric catalog); `render --check` says which region is stale instead.
//!
//! Generated regions sit between marker lines, so the rest of template.yaml stays hand-written:
//!
//! ```text
//!   # BEGIN GENERATED observability-parameters (obsctl render; edit alarms/ instead)
//!   …
//!   # END GENERATED observability-parameters
//! ```
//!
//! Everything is rendered inline (no `AWS::Include`), so cfn-lint and checkov see every alarm.

use std::path::{Path, PathBuf};

use ddb_stream_processor::function::config::SETTINGS;
use ddb_stream_processor::telemetry::metrics::DEFAULT_NAMESPACE;
use ddb_stream_processor::telemetry::metrics::catalog::CATALOG;
use ddb_stream_processor::telemetry::metrics::validate_namespace;
use serde_json::{Map, Value, json};

use crate::cloudformation::{PlaceholderError, dashboard_sub_text, intrinsic};
use crate::definitions::{AlarmDefinition, DefinitionError, Definitions};
use crate::variables::{METRICS_NAMESPACE, STACK_OUTPUTS, VariableKind, Variables, output_description};
use crate::yaml::write_mapping;

/// The region of template.yaml's `Parameters` the renderer owns.
pub const PARAMETERS_REGION: &str = "observability-parameters";
/// The region of template.yaml's `Resources` the renderer owns.
pub const RESOURCES_REGION: &str = "observability-resources";
/// The region of template.yaml's `Outputs` the renderer owns: what `diff` and `apply` read.
pub const OUTPUTS_REGION: &str = "observability-outputs";
/// The region of README.md with the alarm table.
pub const README_REGION: &str = "alarms";
/// The region of README.md with the table of environment variables the function reads.
pub const CONFIGURATION_REGION: &str = "configuration";
/// The region of README.md with the table of metrics the function writes.
pub const METRICS_REGION: &str = "metrics";

/// Rendering failed.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    #[error(transparent)]
    Definition(#[from] DefinitionError),
    #[error(transparent)]
    Placeholder(#[from] PlaceholderError),
    #[error("cannot read {path}: {source}")]
    Unreadable { path: PathBuf, source: std::io::Error },
    #[error("cannot write {path}: {source}")]
    Unwritable { path: PathBuf, source: std::io::Error },
    #[error(
        "{path} has no region {region:?}: add the lines `BEGIN GENERATED {region}` and `END GENERATED {region}` where it belongs"
    )]
    MissingRegion { path: PathBuf, region: &'static str },
    #[error("parameter {name:?} is defined differently by two alarms ({first} and {second})")]
    ConflictingParameter {
        name: String,
        first: String,
        second: String,
    },
    #[error("the code's default namespace {namespace:?} is not valid: {problem}")]
    BadNamespace { namespace: String, problem: String },
}

/// One file as it should be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RenderedFile {
    pub path: PathBuf,
    pub current: String,
    pub rendered: String,
}

impl RenderedFile {
    /// Whether the file on disk differs from what the definitions say.
    pub fn is_stale(&self) -> bool {
        self.current != self.rendered
    }
}

/// Renders template.yaml and README.md of the repository at `root`.
pub fn render(root: &Path) -> Result<Vec<RenderedFile>, RenderError> {
    let definitions = Definitions::load(root)?;
    let variables = variables_for(&definitions);
    let parameters = parameters_region(&definitions)?;
    let resources = resources_region(&definitions, &variables)?;
    let alarm_table = readme_region(&definitions);

    let template_path = root.join("template.yaml");
    let template = read(&template_path)?;
    let mut rendered_template = replace_region(&template, &template_path, PARAMETERS_REGION, &parameters)?;
    rendered_template = replace_region(&rendered_template, &template_path, RESOURCES_REGION, &resources)?;
    let outputs = outputs_region(&variables);
    rendered_template = replace_region(&rendered_template, &template_path, OUTPUTS_REGION, &outputs)?;

    let readme_path = root.join("README.md");
    let readme = read(&readme_path)?;
    let mut rendered_readme = replace_region(&readme, &readme_path, README_REGION, &alarm_table)?;
    rendered_readme = replace_region(
        &rendered_readme,
        &readme_path,
        CONFIGURATION_REGION,
        &configuration_table(),
    )?;
    rendered_readme = replace_region(&rendered_readme, &readme_path, METRICS_REGION, &metric_table())?;

    Ok(vec![
        RenderedFile {
            path: template_path,
            current: template,
            rendered: rendered_template,
        },
        RenderedFile {
            path: readme_path,
            current: readme,
            rendered: rendered_readme,
        },
    ])
}

/// Writes the stale files; returns the paths written.
pub fn write(files: &[RenderedFile]) -> Result<Vec<PathBuf>, RenderError> {
    let mut written = Vec::new();
    for file in files.iter().filter(|file| file.is_stale()) {
        std::fs::write(&file.path, &file.rendered).map_err(|source| RenderError::Unwritable {
            path: file.path.clone(),
            source,
        })?;
        written.push(file.path.clone());
    }
    Ok(written)
}

/// The names the definitions may use: the template's, and what the alarms add.
pub fn variables_for(definitions: &Definitions) -> Variables {
    let mut variables = Variables::template();
    for alarm in &definitions.alarms {
        variables.insert(format!("{}.Arn", alarm.logical_id()), VariableKind::Attribute);
        for (name, definition) in &alarm.parameters {
            let numeric = definition.get("Type").and_then(Value::as_str) == Some("Number");
            variables.insert(name.clone(), VariableKind::Parameter { numeric });
        }
    }
    variables
}

fn read(path: &Path) -> Result<String, RenderError> {
    std::fs::read_to_string(path).map_err(|source| RenderError::Unreadable {
        path: path.to_owned(),
        source,
    })
}

/// The template parameters: the metrics namespace (its default is the code's) and every alarm's.
fn parameters_region(definitions: &Definitions) -> Result<String, RenderError> {
    validate_namespace(DEFAULT_NAMESPACE).map_err(|problem| RenderError::BadNamespace {
        namespace: DEFAULT_NAMESPACE.to_owned(),
        problem,
    })?;
    let mut parameters = Map::new();
    parameters.insert(
        METRICS_NAMESPACE.to_owned(),
        json!({
            "Type": "String",
            "Default": DEFAULT_NAMESPACE,
            "AllowedPattern": "^[a-zA-Z0-9._#:/-]{1,256}$",
            "Description": "CloudWatch namespace of the function's metrics (POWERTOOLS_METRICS_NAMESPACE); the dashboards and alarms read the same one. Must not start with AWS/."
        }),
    );
    let mut defined_by: Map<String, Value> = Map::new();
    for alarm in &definitions.alarms {
        for (name, definition) in &alarm.parameters {
            if let Some(existing) = parameters.get(name) {
                if existing != definition {
                    return Err(RenderError::ConflictingParameter {
                        name: name.clone(),
                        first: defined_by
                            .get(name)
                            .and_then(Value::as_str)
                            .unwrap_or("the template")
                            .to_owned(),
                        second: alarm.name.clone(),
                    });
                }
                continue;
            }
            parameters.insert(name.clone(), definition.clone());
            defined_by.insert(name.clone(), Value::from(alarm.name.clone()));
        }
    }
    let mut text = String::new();
    write_mapping(&mut text, &parameters, 2);
    Ok(text)
}

/// The dashboards and alarms as resources.
fn resources_region(definitions: &Definitions, variables: &Variables) -> Result<String, RenderError> {
    let mut resources = Map::new();
    for dashboard in &definitions.dashboards {
        let location = format!("dashboards/{}.json", dashboard.name);
        let body = dashboard_sub_text(&dashboard.body, variables, &location)?;
        resources.insert(
            dashboard.logical_id(),
            json!({
                "Type": "AWS::CloudWatch::Dashboard",
                "Properties": {
                    "DashboardName": {"Fn::Sub": format!("${{AWS::StackName}}-{}", dashboard.name)},
                    "DashboardBody": {"Fn::Sub": body}
                }
            }),
        );
    }
    for alarm in &definitions.alarms {
        let location = format!("alarms/{}.json", alarm.name);
        let properties = intrinsic(&Value::Object(alarm.properties.clone()), variables, &location)?;
        resources.insert(
            alarm.logical_id(),
            json!({"Type": "AWS::CloudWatch::Alarm", "Properties": properties}),
        );
    }
    let mut text = String::new();
    write_mapping(&mut text, &resources, 2);
    Ok(text)
}

/// The outputs `obsctl diff` and `apply` resolve placeholders from.
fn outputs_region(variables: &Variables) -> String {
    let mut outputs = Map::new();
    for (variable, output) in STACK_OUTPUTS {
        let value = intrinsic(&Value::String(format!("${{{variable}}}")), variables, "outputs")
            .expect("the stack outputs name template variables");
        outputs.insert(
            (*output).to_owned(),
            json!({"Description": output_description(output), "Value": value}),
        );
    }
    let mut text = String::new();
    write_mapping(&mut text, &outputs, 2);
    text
}

/// The README's configuration table: every variable the function reads, from the library's
/// settings, so the README cannot promise a variable or a default the code does not have.
fn configuration_table() -> String {
    let mut table = String::from("| variable | default | meaning |\n|---|---|---|\n");
    for setting in SETTINGS {
        table.push_str(&format!(
            "| `{}` | {} | {} |\n",
            setting.name,
            table_cell(setting.default),
            table_cell(setting.meaning)
        ));
    }
    table
}

/// The README's metric table: every metric of the library's catalog with its unit.
fn metric_table() -> String {
    let mut table = String::from("| metric | unit | meaning | why |\n|---|---|---|---|\n");
    for metric in CATALOG {
        table.push_str(&format!(
            "| `{}` | {} | {} | {} |\n",
            metric.name,
            metric.unit.as_str(),
            table_cell(metric.meaning),
            table_cell(metric.reason)
        ));
    }
    table
}

/// Text as one Markdown table cell: a `|` would end the cell.
fn table_cell(text: &str) -> String {
    text.replace('|', "\\|")
}

/// The README's alarm table: what each alarm watches, when it fires, and what it means.
fn readme_region(definitions: &Definitions) -> String {
    let mut table = String::from(
        "| alarm | watches | fires when | missing data | what it means, and where to look first |\n|---|---|---|---|---|\n",
    );
    for alarm in &definitions.alarms {
        table.push_str(&format!(
            "| `{}` | {} | {} | {} | {} |\n",
            alarm.name,
            watches(alarm),
            fires_when(alarm),
            alarm.text("TreatMissingData").unwrap_or("missing"),
            alarm.text("AlarmDescription").map(table_cell).unwrap_or_default(),
        ));
    }
    table
}

fn watches(alarm: &AlarmDefinition) -> String {
    if let Some(metric) = alarm.text("MetricName") {
        let namespace = alarm.text("Namespace").unwrap_or_default();
        let statistic = alarm
            .text("Statistic")
            .or_else(|| alarm.text("ExtendedStatistic"))
            .unwrap_or_default();
        return format!("{} `{metric}` ({statistic})", namespace_label(namespace));
    }
    let queries = alarm.properties.get("Metrics").and_then(Value::as_array);
    let returned = queries
        .into_iter()
        .flatten()
        .filter(|query| query.get("ReturnData").and_then(Value::as_bool).unwrap_or(true));
    let labels: Vec<String> = returned
        .filter_map(|query| {
            query
                .get("Label")
                .and_then(Value::as_str)
                .map(str::to_owned)
                .or_else(|| {
                    query
                        .pointer("/MetricStat/Metric/MetricName")
                        .and_then(Value::as_str)
                        .map(|name| format!("`{name}`"))
                })
        })
        .collect();
    labels.join(" against ")
}

fn namespace_label(namespace: &str) -> String {
    if namespace == format!("${{{METRICS_NAMESPACE}}}") {
        "the function's".to_owned()
    } else {
        namespace.to_owned()
    }
}

fn fires_when(alarm: &AlarmDefinition) -> String {
    let comparison = match alarm.text("ComparisonOperator").unwrap_or_default() {
        "GreaterThanOrEqualToThreshold" => "≥",
        "GreaterThanThreshold" => ">",
        "LessThanThreshold" => "<",
        "LessThanOrEqualToThreshold" => "≤",
        "GreaterThanUpperThreshold" => "above the band",
        "LessThanLowerThreshold" => "below the band",
        "LessThanLowerOrGreaterThanUpperThreshold" => "outside the band",
        other => other,
    };
    let threshold = match alarm.properties.get("Threshold") {
        Some(Value::String(text)) => {
            let parameter = text.trim_start_matches("${").trim_end_matches('}');
            let default = alarm
                .parameters
                .get(parameter)
                .and_then(|definition| definition.get("Default"))
                .map(Value::to_string)
                .unwrap_or_default();
            format!(" `{parameter}` (default {default})")
        }
        Some(number) => format!(" {number}"),
        None => String::new(),
    };
    let period = alarm
        .properties
        .get("Period")
        .or_else(|| {
            alarm
                .properties
                .get("Metrics")
                .and_then(Value::as_array)
                .and_then(|queries| {
                    queries
                        .iter()
                        .find_map(|query| query.pointer("/MetricStat/Period"))
                })
        })
        .map(Value::to_string)
        .unwrap_or_default();
    let datapoints = alarm.properties.get("DatapointsToAlarm").map(Value::to_string);
    let evaluation = alarm
        .properties
        .get("EvaluationPeriods")
        .map(Value::to_string)
        .unwrap_or_default();
    format!(
        "{comparison}{threshold} in {} of {evaluation} periods of {period} s",
        datapoints.unwrap_or_else(|| evaluation.clone())
    )
}

/// `text` with the lines between the region's markers replaced by `content`.
fn replace_region(
    text: &str,
    path: &Path,
    region: &'static str,
    content: &str,
) -> Result<String, RenderError> {
    let begin = format!("BEGIN GENERATED {region}");
    let end = format!("END GENERATED {region}");
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let missing = || RenderError::MissingRegion {
        path: path.to_owned(),
        region,
    };
    let start = lines
        .iter()
        .position(|line| line.contains(&begin))
        .ok_or_else(missing)?;
    let stop = start
        + lines[start..]
            .iter()
            .position(|line| line.contains(&end))
            .ok_or_else(missing)?;
    let mut out = String::with_capacity(text.len());
    out.extend(lines[..=start].iter().copied());
    out.push_str(content);
    out.extend(lines[stop..].iter().copied());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regions_are_replaced_between_their_markers_only() {
        let text = "a\n  # BEGIN GENERATED x (do not edit)\nold\nold\n  # END GENERATED x\nb\n";
        let replaced = replace_region(text, Path::new("t"), "x", "new\n").unwrap();
        assert_eq!(
            replaced,
            "a\n  # BEGIN GENERATED x (do not edit)\nnew\n  # END GENERATED x\nb\n"
        );
        assert!(matches!(
            replace_region("no markers", Path::new("t"), "x", ""),
            Err(RenderError::MissingRegion { region: "x", .. })
        ));
    }

    /// Splits a generated Markdown table into its rows' cells (header and rule line left out).
    fn rows(table: &str) -> Vec<Vec<String>> {
        table
            .lines()
            .skip(2)
            .map(|line| {
                let inner = line.strip_prefix("| ").and_then(|line| line.strip_suffix(" |"));
                let cells = inner.unwrap_or_else(|| panic!("not a table row: {line}"));
                cells.split(" | ").map(str::to_owned).collect()
            })
            .collect()
    }

    #[test]
    fn the_configuration_table_has_one_row_per_setting_with_its_default_and_meaning() {
        let rows = rows(&configuration_table());
        assert_eq!(rows.len(), SETTINGS.len());
        for (row, setting) in rows.iter().zip(SETTINGS) {
            assert_eq!(
                row,
                &[
                    format!("`{}`", setting.name),
                    setting.default.to_owned(),
                    setting.meaning.to_owned()
                ]
            );
        }
    }

    #[test]
    fn the_metric_table_has_one_row_per_catalog_metric_with_its_unit() {
        let rows = rows(&metric_table());
        assert_eq!(rows.len(), CATALOG.len());
        for (row, metric) in rows.iter().zip(CATALOG) {
            assert_eq!(
                row,
                &[
                    format!("`{}`", metric.name),
                    metric.unit.as_str().to_owned(),
                    metric.meaning.to_owned(),
                    metric.reason.to_owned()
                ]
            );
        }
    }

    #[test]
    fn a_pipe_in_a_cell_is_escaped_so_the_row_keeps_its_columns() {
        assert_eq!(table_cell("a | b"), "a \\| b");
        assert_eq!(table_cell("plain"), "plain");
    }
}
