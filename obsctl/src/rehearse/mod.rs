//! `obsctl rehearse SCENARIO`: an incident rehearsed before the first deploy. The scenario runs
//! through the simulated deployment around the function's real handler (the `rehearsal` crate), with
//! the event source mapping and the function configured by template.yaml's parameters (their
//! defaults, or `--var NAME=VALUE`), and every alarm of `alarms/` is evaluated over what CloudWatch
//! would hold, by CloudWatch's documented rules.
//!
//! - [`template_parameters`]: template.yaml's parameter defaults and literal settings;
//! - [`alarms`]: the alarms' verdicts: datapoints, state changes, notifications;
//! - [`report`]: the text `obsctl rehearse` prints;
//! - [`report_html`]: the self-contained HTML report that draws the dashboards over the rehearsal,
//!   with [`metric_widget`] (a metric widget's lines) and [`logs_query`] (a log widget's table);
//! - [`picture`]: that report rendered by headless Chromium into a PNG (the README's picture).

pub mod alarms;
pub mod logs_query;
pub mod metric_widget;
pub mod picture;
pub mod report;
pub mod report_html;
pub mod template_parameters;

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use rehearsal::scenario::Scenario;
use rehearsal::simulation::{Deployment, Names, Rehearsal, rehearse};
use serde_json::{Map, Value};

use crate::definitions::{DefinitionError, Definitions};
use crate::render::variables_for;
use crate::resolve::Values;
use crate::variables::{
    ALARM_TOPIC, EVENT_SOURCE_MAPPING, FAILURE_QUEUE_NAME, FUNCTION, LOG_GROUP, METRICS_NAMESPACE,
};
use alarms::{AlarmError, AlarmVerdict};

/// The stack name of every rehearsal: resource names derive from it as SAM would derive them.
pub const STACK_NAME: &str = "rehearsal";

/// A rehearsal and every alarm's verdict.
#[derive(Debug)]
pub struct Outcome {
    /// The scenario.
    pub scenario: Scenario,
    /// The deployment it ran against.
    pub deployment: Deployment,
    /// What the simulation produced.
    pub rehearsal: Rehearsal,
    /// Each alarm of `alarms/`, in file-name order.
    pub alarms: Vec<AlarmVerdict>,
    /// The dashboards of `dashboards/` (name, body), their placeholders resolved.
    pub dashboards: Vec<(String, Value)>,
}

/// Why a rehearsal could not run.
#[derive(Debug, thiserror::Error)]
pub enum RehearseError {
    /// The scenario file.
    #[error(transparent)]
    Scenario(#[from] rehearsal::scenario::ScenarioError),
    /// `dashboards/` or `alarms/`.
    #[error(transparent)]
    Definitions(#[from] DefinitionError),
    /// template.yaml.
    #[error("cannot read {path}: {source}")]
    Template { path: String, source: std::io::Error },
    /// A setting the deployment needs has no usable value.
    #[error("{name} is {value:?}; the rehearsal needs {expected} (set it with --var {name}=VALUE)")]
    Setting {
        name: String,
        value: String,
        expected: &'static str,
    },
    /// A placeholder has no value.
    #[error(transparent)]
    Resolve(#[from] crate::resolve::ResolveError),
    /// An alarm that cannot be evaluated.
    #[error(transparent)]
    Alarm(#[from] AlarmError),
}

/// The names the rehearsal's deployment gives its resources.
pub fn names(namespace: &str) -> Names {
    Names {
        function_name: format!("{STACK_NAME}-StreamProcessorFunction"),
        namespace: namespace.to_owned(),
        event_source_mapping_uuid: "00000000-0000-4000-8000-000000000000".into(),
        dead_letter_queue_name: format!("{STACK_NAME}-DeadLetterQueue"),
        log_group_name: format!("/aws/lambda/{STACK_NAME}-StreamProcessorFunction"),
        table_name: "Orders".into(),
    }
}

/// Rehearses the scenario at `scenario_path` against the repository at `repo`; `vars` override
/// template parameters (and any placeholder). `progress` is told the share done.
pub fn run(
    repo: &Path,
    scenario_path: &Path,
    vars: &BTreeMap<String, String>,
    progress: &dyn Fn(f64),
) -> Result<Outcome, RehearseError> {
    let scenario = Scenario::load(scenario_path)?;
    let Setup {
        definitions,
        deployment,
        names,
        resolved,
    } = setup(repo, vars)?;
    let rehearsal = rehearse(&scenario, &deployment, &names, progress);
    let alarms = resolve_alarms(&definitions, &resolved)?
        .iter()
        .map(|(name, properties)| {
            alarms::evaluate(
                name,
                properties,
                &rehearsal.metrics,
                rehearsal.start_ms,
                rehearsal.end_ms,
            )
        })
        .collect::<Result<Vec<_>, AlarmError>>()?;
    let dashboards = definitions
        .dashboards
        .iter()
        .map(|dashboard| {
            Ok((
                dashboard.name.clone(),
                resolved.resolve(&dashboard.body, &dashboard.name)?,
            ))
        })
        .collect::<Result<Vec<_>, RehearseError>>()?;
    Ok(Outcome {
        scenario,
        deployment,
        rehearsal,
        alarms,
        dashboards,
    })
}

/// An alarm of `alarms/`: its file name and its properties.
pub type ResolvedAlarm = (String, Map<String, Value>);

/// What a rehearsal is set up with: the definitions, the deployment, the resource names, and the
/// placeholders' values.
struct Setup {
    definitions: Definitions,
    deployment: Deployment,
    names: Names,
    resolved: Values,
}

fn setup(repo: &Path, vars: &BTreeMap<String, String>) -> Result<Setup, RehearseError> {
    let definitions = Definitions::load(repo)?;
    let template_path = repo.join("template.yaml");
    let template = std::fs::read_to_string(&template_path).map_err(|source| RehearseError::Template {
        path: template_path.display().to_string(),
        source,
    })?;
    let mut values = template_parameters::defaults(&template);
    values.extend(vars.iter().map(|(name, value)| (name.clone(), value.clone())));
    let deployment = deployment(&values, &template)?;
    let names = names(&values.get(METRICS_NAMESPACE).cloned().unwrap_or_default());
    for (placeholder, value) in [
        ("AWS::StackName", STACK_NAME.to_owned()),
        (FUNCTION, names.function_name.clone()),
        (METRICS_NAMESPACE, names.namespace.clone()),
        (LOG_GROUP, names.log_group_name.clone()),
        (EVENT_SOURCE_MAPPING, names.event_source_mapping_uuid.clone()),
        (FAILURE_QUEUE_NAME, names.dead_letter_queue_name.clone()),
        (
            ALARM_TOPIC,
            format!("arn:aws:sns:eu-west-1:123456789012:{STACK_NAME}-AlarmTopic"),
        ),
    ] {
        values.entry(placeholder.to_owned()).or_insert(value);
    }
    let variables = variables_for(&definitions);
    let resolved = Values::gather(&definitions, &variables, "eu-west-1", None, &values)?;
    Ok(Setup {
        definitions,
        deployment,
        names,
        resolved,
    })
}

/// The alarms of `alarms/` (file name, properties) with their placeholders resolved as a rehearsal
/// resolves them, for evaluating them elsewhere too (the LocalStack cross-check).
pub fn resolved_alarms(
    repo: &Path,
    vars: &BTreeMap<String, String>,
) -> Result<Vec<ResolvedAlarm>, RehearseError> {
    let setup = setup(repo, vars)?;
    resolve_alarms(&setup.definitions, &setup.resolved)
}

fn resolve_alarms(definitions: &Definitions, resolved: &Values) -> Result<Vec<ResolvedAlarm>, RehearseError> {
    definitions
        .alarms
        .iter()
        .map(|alarm| {
            let properties = resolved.resolve(&Value::Object(alarm.properties.clone()), &alarm.name)?;
            Ok((
                alarm.name.clone(),
                properties.as_object().cloned().unwrap_or_default(),
            ))
        })
        .collect()
}

/// The event source mapping's and the function's settings, from the parameters' values. A value
/// outside what Lambda accepts is refused, never clamped: the rehearsal must run what would deploy.
fn deployment(values: &BTreeMap<String, String>, template: &str) -> Result<Deployment, RehearseError> {
    let setting = |name: &str, expected: &'static str, allowed: fn(i64) -> bool| {
        let value = values.get(name).cloned().unwrap_or_default();
        match value.trim().parse::<i64>() {
            Ok(number) if allowed(number) => Ok(number),
            _ => Err(RehearseError::Setting {
                name: name.to_owned(),
                value,
                expected,
            }),
        }
    };
    let batch_size = setting("BatchSize", "a whole number of records from 1 to 10000", |n| {
        (1..=10_000).contains(&n)
    })?;
    let retries = setting(
        "MaximumRetryAttempts",
        "-1 (no limit) or a whole number of retries from 0 to 10000",
        |n| (-1..=10_000).contains(&n),
    )?;
    let age = setting(
        "MaximumRecordAgeInSeconds",
        "-1 (no limit) or a whole number of seconds from 60 to 604800",
        |n| n == -1 || (60..=604_800).contains(&n),
    )?;
    let timeout = setting(
        "FunctionTimeoutSeconds",
        "a whole number of seconds from 1 to 900",
        |n| (1..=900).contains(&n),
    )?;
    let batching_window = setting(
        "MaximumBatchingWindowInSeconds",
        "a whole number of seconds from 0 to 300",
        |n| (0..=300).contains(&n),
    )?;
    let parallelization_factor = setting("ParallelizationFactor", "a whole number from 1 to 10", |n| {
        (1..=10).contains(&n)
    })?;
    Ok(Deployment {
        batch_size: batch_size as usize,
        batching_window: Duration::from_secs(batching_window as u64),
        parallelization_factor: parallelization_factor as u32,
        bisect: template_parameters::literal(template, "BisectBatchOnFunctionError") == Some("true"),
        max_retry_attempts: (retries >= 0).then_some(retries as u32),
        max_record_age: (age >= 0).then(|| Duration::from_secs(age as u64)),
        function_timeout: Duration::from_secs(timeout as u64),
    })
}
