//! What `diff` shows and `apply` does: every dashboard and alarm of the repository, resolved for
//! one stack, next to what CloudWatch has.

use serde_json::Value;

use crate::cloud::{Cloud, CloudError, comparable_alarm, normalized_wanted_alarm};
use crate::definitions::Definitions;
use crate::diff::{Change, diff};
use crate::resolve::{ResolveError, Values};

/// How a deployed object compares with the repository.
#[derive(Debug, Clone, PartialEq)]
pub enum State {
    /// Not deployed.
    Missing,
    /// Deployed as the repository says.
    Same,
    /// Deployed differently: these changes would make it as the repository says.
    Drifted(Vec<Change>),
}

/// One dashboard or alarm.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    /// `dashboard` or `alarm`.
    pub kind: &'static str,
    pub name: String,
    /// What the repository renders for this stack.
    pub wanted: Value,
    pub state: State,
}

/// Everything compared.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Plan {
    pub items: Vec<Item>,
    /// Alarms with the stack's prefix that the repository does not define (made in the console?).
    pub unknown_alarms: Vec<String>,
}

impl Plan {
    /// Whether anything differs.
    pub fn has_drift(&self) -> bool {
        !self.unknown_alarms.is_empty() || self.items.iter().any(|item| item.state != State::Same)
    }

    /// A readable report, one object per paragraph.
    pub fn report(&self) -> String {
        let mut text = String::new();
        for item in &self.items {
            match &item.state {
                State::Same => {}
                State::Missing => text.push_str(&format!(
                    "{} {}: in the repository, not deployed\n",
                    item.kind, item.name
                )),
                State::Drifted(changes) => {
                    text.push_str(&format!(
                        "{} {}: {} difference(s) (- deployed, + repository)\n",
                        item.kind,
                        item.name,
                        changes.len()
                    ));
                    for change in changes {
                        text.push_str(&format!("  {change}\n"));
                    }
                }
            }
        }
        for name in &self.unknown_alarms {
            text.push_str(&format!("alarm {name}: deployed, not in the repository\n"));
        }
        if text.is_empty() {
            let count = |kind: &str| self.items.iter().filter(|item| item.kind == kind).count();
            text = format!(
                "no drift: {} dashboard(s) and {} alarm(s) are as the repository says\n",
                count("dashboard"),
                count("alarm")
            );
        }
        text
    }
}

/// A plan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error(transparent)]
    Resolve(#[from] ResolveError),
    #[error(transparent)]
    Cloud(#[from] CloudError),
}

/// The names the repository's objects get for this stack, resolved.
pub fn wanted(
    definitions: &Definitions,
    values: &Values,
) -> Result<Vec<(&'static str, String, Value)>, ResolveError> {
    let mut objects = Vec::new();
    for dashboard in &definitions.dashboards {
        let name = values.resolve(
            &Value::String(format!("${{AWS::StackName}}-{}", dashboard.name)),
            "dashboard name",
        )?;
        let body = values.resolve(&dashboard.body, &format!("dashboards/{}.json", dashboard.name))?;
        objects.push(("dashboard", name.as_str().unwrap_or_default().to_owned(), body));
    }
    for alarm in &definitions.alarms {
        let properties = values.resolve(
            &Value::Object(alarm.properties.clone()),
            &format!("alarms/{}.json", alarm.name),
        )?;
        let name = properties
            .get("AlarmName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        objects.push(("alarm", name, properties));
    }
    Ok(objects)
}

/// Compares the repository with CloudWatch. `alarm_prefix` finds alarms the repository lacks.
pub async fn plan(
    cloud: &Cloud,
    definitions: &Definitions,
    values: &Values,
    alarm_prefix: &str,
) -> Result<Plan, PlanError> {
    let deployed_alarms = cloud.alarms(alarm_prefix).await?;
    let mut plan = Plan::default();
    for (kind, name, wanted) in wanted(definitions, values)? {
        let state = if kind == "dashboard" {
            match cloud.dashboard(&name).await? {
                None => State::Missing,
                Some(deployed) => state_of(diff(&deployed, &wanted)),
            }
        } else {
            match deployed_alarms.get(&name) {
                None => State::Missing,
                Some(deployed) => {
                    let wanted = normalized_wanted_alarm(&wanted);
                    state_of(diff(&comparable_alarm(deployed, &wanted), &wanted))
                }
            }
        };
        plan.items.push(Item {
            kind,
            name,
            wanted,
            state,
        });
    }
    plan.unknown_alarms = deployed_alarms
        .keys()
        .filter(|name| {
            !plan
                .items
                .iter()
                .any(|item| item.kind == "alarm" && &item.name == *name)
        })
        .cloned()
        .collect();
    Ok(plan)
}

fn state_of(changes: Vec<Change>) -> State {
    if changes.is_empty() {
        State::Same
    } else {
        State::Drifted(changes)
    }
}
