//! The AWS side of `diff` and `apply`: CloudWatch dashboards and alarms, and the CloudFormation
//! stack that names them, through the SDK with `aws-config`'s standard credential and region chain.
//!
//! Alarms travel as JSON objects in `PutMetricAlarm`'s shape (the shape of `alarms/*.json`), so
//! what the repository renders and what `DescribeAlarms` returns compare field by field. Every SDK
//! error becomes a [`CloudError`] with one line a person can act on; throttling is retried by the
//! SDK's standard retry policy before it is reported.

use std::collections::BTreeMap;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::provider::error::CredentialsError;
use aws_sdk_cloudwatch::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_cloudwatch::types::{
    ComparisonOperator, Dimension, Metric, MetricAlarm, MetricDataQuery, MetricStat, StandardUnit, Statistic,
};
use serde_json::{Map, Value, json};

use crate::resolve::StackFacts;

/// Something went wrong talking to AWS; the message says what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CloudError {
    #[error("no AWS region: set AWS_REGION (or AWS_DEFAULT_REGION, or a profile's region), or pass --region")]
    NoRegion,
    #[error(
        "no AWS credentials: set AWS_PROFILE or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run `aws sso login` ({0})"
    )]
    NoCredentials(String),
    #[error("access denied to {action}: the credentials need that permission ({message})")]
    AccessDenied { action: String, message: String },
    #[error("{action} was throttled even after the SDK's retries: try again in a minute ({message})")]
    Throttled { action: String, message: String },
    #[error("no stack named {0:?} in this account and region (check --stack-name and --region)")]
    NoSuchStack(String),
    #[error("cannot reach AWS for {action}: {message} (check the network, or --endpoint-url)")]
    Unreachable { action: String, message: String },
    #[error("{action} failed: {message}")]
    Rejected { action: String, message: String },
}

/// The clients, configured once.
#[derive(Debug, Clone)]
pub struct Cloud {
    cloudwatch: aws_sdk_cloudwatch::Client,
    cloudformation: aws_sdk_cloudformation::Client,
    region: String,
}

impl Cloud {
    /// Loads the standard configuration, with an optional region and endpoint override.
    pub async fn connect(region: Option<String>, endpoint_url: Option<String>) -> Result<Self, CloudError> {
        Self::from_config(&sdk_config(region, endpoint_url).await?)
    }

    /// The clients of a configuration already loaded (by [`sdk_config`]).
    pub fn from_config(config: &aws_config::SdkConfig) -> Result<Self, CloudError> {
        let region = config.region().ok_or(CloudError::NoRegion)?.to_string();
        Ok(Self {
            cloudwatch: aws_sdk_cloudwatch::Client::new(config),
            cloudformation: aws_sdk_cloudformation::Client::new(config),
            region,
        })
    }

    /// The region in use.
    pub fn region(&self) -> &str {
        &self.region
    }

    /// The outputs, parameters and id of a stack.
    pub async fn stack(&self, name: &str) -> Result<StackFacts, CloudError> {
        let described = self
            .cloudformation
            .describe_stacks()
            .stack_name(name)
            .send()
            .await;
        let described = match described {
            Ok(described) => described,
            Err(error)
                if error
                    .message()
                    .is_some_and(|message| message.contains("does not exist")) =>
            {
                return Err(CloudError::NoSuchStack(name.to_owned()));
            }
            Err(error) => return Err(explain(error, "cloudformation:DescribeStacks")),
        };
        let stack = described
            .stacks()
            .first()
            .ok_or_else(|| CloudError::NoSuchStack(name.to_owned()))?;
        Ok(StackFacts {
            name: name.to_owned(),
            id: stack.stack_id().unwrap_or_default().to_owned(),
            outputs: stack
                .outputs()
                .iter()
                .filter_map(|output| {
                    Some((output.output_key()?.to_owned(), output.output_value()?.to_owned()))
                })
                .collect(),
            parameters: stack
                .parameters()
                .iter()
                .filter_map(|parameter| {
                    Some((
                        parameter.parameter_key()?.to_owned(),
                        parameter.parameter_value()?.to_owned(),
                    ))
                })
                .collect(),
        })
    }

    /// A dashboard's body, or `None` when there is no dashboard of that name.
    pub async fn dashboard(&self, name: &str) -> Result<Option<Value>, CloudError> {
        match self.cloudwatch.get_dashboard().dashboard_name(name).send().await {
            Ok(dashboard) => {
                let body = dashboard.dashboard_body().unwrap_or("{}");
                serde_json::from_str(body)
                    .map(Some)
                    .map_err(|error| CloudError::Rejected {
                        action: format!("reading dashboard {name}"),
                        message: format!("its body is not JSON: {error}"),
                    })
            }
            Err(error) if error.code() == Some("ResourceNotFound") => Ok(None),
            Err(error) => Err(explain(error, "cloudwatch:GetDashboard")),
        }
    }

    /// Writes a dashboard; returns CloudWatch's validation messages.
    pub async fn put_dashboard(&self, name: &str, body: &Value) -> Result<Vec<String>, CloudError> {
        let written = self
            .cloudwatch
            .put_dashboard()
            .dashboard_name(name)
            .dashboard_body(body.to_string())
            .send()
            .await
            .map_err(|error| explain(error, "cloudwatch:PutDashboard"))?;
        Ok(written
            .dashboard_validation_messages()
            .iter()
            .map(|message| {
                format!(
                    "{}: {}",
                    message.data_path().unwrap_or("body"),
                    message.message().unwrap_or_default()
                )
            })
            .collect())
    }

    /// Every metric alarm whose name starts with `prefix`, by name, in `PutMetricAlarm`'s shape.
    pub async fn alarms(&self, prefix: &str) -> Result<BTreeMap<String, Value>, CloudError> {
        let mut alarms = BTreeMap::new();
        let mut next_token: Option<String> = None;
        loop {
            let page = self
                .cloudwatch
                .describe_alarms()
                .alarm_name_prefix(prefix)
                .set_next_token(next_token.take())
                .send()
                .await
                .map_err(|error| explain(error, "cloudwatch:DescribeAlarms"))?;
            for alarm in page.metric_alarms() {
                if let Some(name) = alarm.alarm_name() {
                    alarms.insert(name.to_owned(), alarm_to_json(alarm));
                }
            }
            match page.next_token() {
                Some(token) if !token.is_empty() => next_token = Some(token.to_owned()),
                _ => return Ok(alarms),
            }
        }
    }

    /// Creates or replaces an alarm from its JSON (`PutMetricAlarm`'s shape).
    pub async fn put_alarm(&self, alarm: &Value) -> Result<(), CloudError> {
        let text = |key: &str| alarm.get(key).and_then(Value::as_str).map(str::to_owned);
        let number = |key: &str| alarm.get(key).and_then(Value::as_i64).map(|n| n as i32);
        let strings = |key: &str| {
            alarm.get(key).and_then(Value::as_array).map(|items| {
                items
                    .iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
        };
        let name = text("AlarmName").unwrap_or_default();
        self.cloudwatch
            .put_metric_alarm()
            .alarm_name(&name)
            .set_alarm_description(text("AlarmDescription"))
            .set_actions_enabled(alarm.get("ActionsEnabled").and_then(Value::as_bool))
            .set_ok_actions(strings("OKActions"))
            .set_alarm_actions(strings("AlarmActions"))
            .set_insufficient_data_actions(strings("InsufficientDataActions"))
            .set_metric_name(text("MetricName"))
            .set_namespace(text("Namespace"))
            .set_statistic(text("Statistic").map(|statistic| Statistic::from(statistic.as_str())))
            .set_extended_statistic(text("ExtendedStatistic"))
            .set_dimensions(alarm.get("Dimensions").map(dimensions_from_json))
            .set_period(number("Period"))
            .set_unit(text("Unit").map(|unit| StandardUnit::from(unit.as_str())))
            .set_evaluation_periods(number("EvaluationPeriods"))
            .set_datapoints_to_alarm(number("DatapointsToAlarm"))
            .set_threshold(alarm.get("Threshold").and_then(Value::as_f64))
            .set_comparison_operator(
                text("ComparisonOperator").map(|operator| ComparisonOperator::from(operator.as_str())),
            )
            .set_treat_missing_data(text("TreatMissingData"))
            .set_metrics(
                alarm
                    .get("Metrics")
                    .and_then(Value::as_array)
                    .map(|queries| queries.iter().map(query_from_json).collect()),
            )
            .set_threshold_metric_id(text("ThresholdMetricId"))
            .send()
            .await
            .map(|_| ())
            .map_err(|error| explain(error, &format!("cloudwatch:PutMetricAlarm ({name})")))
    }
}

/// The standard configuration (credential and region chain, `AWS_ENDPOINT_URL_<SERVICE>`), with an
/// optional region and endpoint override; an error when no region or no credential provider is set.
pub async fn sdk_config(
    region: Option<String>,
    endpoint_url: Option<String>,
) -> Result<aws_config::SdkConfig, CloudError> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(region) = region {
        loader = loader.region(Region::new(region));
    }
    if let Some(endpoint_url) = endpoint_url {
        loader = loader.endpoint_url(endpoint_url);
    }
    let config = loader.load().await;
    if config.region().is_none() {
        return Err(CloudError::NoRegion);
    }
    if config.credentials_provider().is_none() {
        return Err(CloudError::NoCredentials(
            "no credential provider is configured".into(),
        ));
    }
    Ok(config)
}

/// One line that says what went wrong and what to do.
pub(crate) fn explain<E, R>(error: SdkError<E, R>, action: &str) -> CloudError
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let details = chain(&error);
    let message = error.message().map_or_else(|| details.clone(), str::to_owned);
    if let Some(problem) = credentials_problem(&error) {
        return CloudError::NoCredentials(problem);
    }
    match error.code() {
        Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation") => {
            CloudError::AccessDenied {
                action: action.to_owned(),
                message,
            }
        }
        Some("Throttling" | "ThrottlingException" | "TooManyRequestsException" | "RequestLimitExceeded") => {
            CloudError::Throttled {
                action: action.to_owned(),
                message,
            }
        }
        Some(_) => CloudError::Rejected {
            action: action.to_owned(),
            message,
        },
        None => match error {
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_) => CloudError::Unreachable {
                action: action.to_owned(),
                message: details,
            },
            _ => CloudError::Rejected {
                action: action.to_owned(),
                message: details,
            },
        },
    }
}

/// What the credential chain said, when loading credentials is what failed: every provider found
/// nothing, or one failed (an instance-metadata endpoint that refuses with 403, a broken profile).
/// The SDK reports both as a dispatch failure, which is not a network problem.
fn credentials_problem(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let mut next = Some(error);
    while let Some(current) = next {
        if let Some(credentials) = current.downcast_ref::<CredentialsError>() {
            return Some(match credentials {
                CredentialsError::CredentialsNotLoaded(_) => {
                    "no provider of the standard chain gave credentials".to_owned()
                }
                other => chain(other),
            });
        }
        next = current.source();
    }
    None
}

/// The error and its sources, each once, joined by ": " (no debug dump).
fn chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = next {
        let text = current.to_string();
        if !parts.iter().any(|part| part.contains(&text)) {
            parts.push(text);
        }
        next = current.source();
    }
    parts.join(": ")
}

fn dimensions_from_json(value: &Value) -> Vec<Dimension> {
    value
        .as_array()
        .into_iter()
        .flatten()
        .map(|dimension| {
            Dimension::builder()
                .set_name(dimension.get("Name").and_then(Value::as_str).map(str::to_owned))
                .set_value(dimension.get("Value").and_then(Value::as_str).map(str::to_owned))
                .build()
        })
        .collect()
}

fn dimensions_to_json(dimensions: &[Dimension]) -> Value {
    Value::Array(
        dimensions
            .iter()
            .map(|dimension| json!({"Name": dimension.name().unwrap_or_default(), "Value": dimension.value().unwrap_or_default()}))
            .collect(),
    )
}

fn query_from_json(query: &Value) -> MetricDataQuery {
    let text = |key: &str| query.get(key).and_then(Value::as_str).map(str::to_owned);
    let stat = query.get("MetricStat").map(|stat| {
        let metric = stat.get("Metric").cloned().unwrap_or(Value::Null);
        MetricStat::builder()
            .metric(
                Metric::builder()
                    .set_namespace(metric.get("Namespace").and_then(Value::as_str).map(str::to_owned))
                    .set_metric_name(
                        metric
                            .get("MetricName")
                            .and_then(Value::as_str)
                            .map(str::to_owned),
                    )
                    .set_dimensions(metric.get("Dimensions").map(dimensions_from_json))
                    .build(),
            )
            .set_period(
                stat.get("Period")
                    .and_then(Value::as_i64)
                    .map(|period| period as i32),
            )
            .set_stat(stat.get("Stat").and_then(Value::as_str).map(str::to_owned))
            .set_unit(stat.get("Unit").and_then(Value::as_str).map(StandardUnit::from))
            .build()
    });
    MetricDataQuery::builder()
        .set_id(text("Id"))
        .set_expression(text("Expression"))
        .set_label(text("Label"))
        .set_return_data(query.get("ReturnData").and_then(Value::as_bool))
        .set_period(
            query
                .get("Period")
                .and_then(Value::as_i64)
                .map(|period| period as i32),
        )
        .set_metric_stat(stat)
        .build()
}

fn query_to_json(query: &MetricDataQuery) -> Value {
    let mut json = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            json.insert(key.to_owned(), value);
        }
    };
    put("Id", query.id().map(Value::from));
    put("Expression", query.expression().map(Value::from));
    put("Label", query.label().map(Value::from));
    put("ReturnData", query.return_data().map(Value::from));
    put("Period", query.period().map(Value::from));
    put(
        "MetricStat",
        query.metric_stat().map(|stat| {
            let metric = stat.metric();
            let mut stat_json = json!({
                "Metric": {
                    "Namespace": metric.and_then(Metric::namespace).unwrap_or_default(),
                    "MetricName": metric.and_then(Metric::metric_name).unwrap_or_default(),
                    "Dimensions": dimensions_to_json(metric.map(Metric::dimensions).unwrap_or_default()),
                },
                "Period": stat.period(),
                "Stat": stat.stat(),
            });
            if let Some(unit) = stat.unit() {
                stat_json["Unit"] = Value::from(unit.as_str());
            }
            stat_json
        }),
    );
    Value::Object(json)
}

/// A deployed alarm in `PutMetricAlarm`'s shape.
pub fn alarm_to_json(alarm: &MetricAlarm) -> Value {
    let mut json = Map::new();
    let mut put = |key: &str, value: Option<Value>| {
        if let Some(value) = value {
            json.insert(key.to_owned(), value);
        }
    };
    let strings = |items: &[String]| Some(Value::from(items.to_vec()));
    put("AlarmName", alarm.alarm_name().map(Value::from));
    put("AlarmDescription", alarm.alarm_description().map(Value::from));
    put("ActionsEnabled", alarm.actions_enabled().map(Value::from));
    put("OKActions", strings(alarm.ok_actions()));
    put("AlarmActions", strings(alarm.alarm_actions()));
    put(
        "InsufficientDataActions",
        strings(alarm.insufficient_data_actions()),
    );
    put("MetricName", alarm.metric_name().map(Value::from));
    put("Namespace", alarm.namespace().map(Value::from));
    put(
        "Statistic",
        alarm.statistic().map(|statistic| Value::from(statistic.as_str())),
    );
    put("ExtendedStatistic", alarm.extended_statistic().map(Value::from));
    put("Dimensions", Some(dimensions_to_json(alarm.dimensions())));
    put("Period", alarm.period().map(Value::from));
    put("Unit", alarm.unit().map(|unit| Value::from(unit.as_str())));
    put("EvaluationPeriods", alarm.evaluation_periods().map(Value::from));
    put("DatapointsToAlarm", alarm.datapoints_to_alarm().map(Value::from));
    put("Threshold", alarm.threshold().map(Value::from));
    put(
        "ComparisonOperator",
        alarm
            .comparison_operator()
            .map(|operator| Value::from(operator.as_str())),
    );
    put("TreatMissingData", alarm.treat_missing_data().map(Value::from));
    put(
        "Metrics",
        Some(Value::Array(alarm.metrics().iter().map(query_to_json).collect())),
    );
    put("ThresholdMetricId", alarm.threshold_metric_id().map(Value::from));
    Value::Object(json)
}

/// The deployed alarm reduced to the properties the repository sets (CloudWatch adds defaults and
/// state the definitions never mention), with `ReturnData` defaulted to `true` as CloudWatch does.
pub fn comparable_alarm(deployed: &Value, wanted: &Value) -> Value {
    let mut reduced = Map::new();
    if let (Some(deployed), Some(wanted)) = (deployed.as_object(), wanted.as_object()) {
        for key in wanted.keys() {
            if let Some(value) = deployed.get(key) {
                reduced.insert(key.clone(), value.clone());
            }
        }
        for (key, value) in deployed {
            let empty = value.as_array().is_some_and(Vec::is_empty) || value.is_null();
            if !wanted.contains_key(key) && !empty && !matches!(key.as_str(), "ActionsEnabled") {
                reduced.insert(key.clone(), value.clone());
            }
        }
    }
    if let Some(Value::Array(queries)) = reduced.get_mut("Metrics") {
        for query in queries.iter_mut() {
            if let Some(query) = query.as_object_mut() {
                query.entry("ReturnData").or_insert(Value::Bool(true));
            }
        }
    }
    Value::Object(reduced)
}

/// The wanted alarm with the same defaults made explicit (`ReturnData: true`, no dimensions = []).
pub fn normalized_wanted_alarm(wanted: &Value) -> Value {
    let mut wanted = wanted.clone();
    if let Some(Value::Array(queries)) = wanted.get_mut("Metrics") {
        for query in queries.iter_mut() {
            if let Some(query) = query.as_object_mut() {
                query.entry("ReturnData").or_insert(Value::Bool(true));
                if let Some(metric) = query
                    .get_mut("MetricStat")
                    .and_then(|stat| stat.get_mut("Metric"))
                {
                    if let Some(metric) = metric.as_object_mut() {
                        metric.entry("Dimensions").or_insert(Value::Array(Vec::new()));
                    }
                }
            }
        }
    }
    wanted
}
