//! Minimal, readable differences between what the repository renders and what is deployed.
//!
//! Values are compared as JSON: objects key by key, arrays position by position, numbers by value
//! (`60` equals `60.0`, as CloudWatch returns them). Each difference is one line with its path:
//!
//! ```text
//! ~ /widgets/3/properties/annotations/horizontal/0/value: 300000 → 600000
//! + /widgets/14: {"type":"text",…}
//! - /Dimensions/1: {"Name":"Resource","Value":"x"}
//! ```

use std::fmt;

use serde_json::Value;

/// One difference at one path.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// Deployed, not in the repository.
    Removed { path: String, deployed: Value },
    /// In the repository, not deployed.
    Added { path: String, wanted: Value },
    /// Both, with different values.
    Changed {
        path: String,
        deployed: Value,
        wanted: Value,
    },
}

impl fmt::Display for Change {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Change::Removed { path, deployed } => write!(f, "- {path}: {}", short(deployed)),
            Change::Added { path, wanted } => write!(f, "+ {path}: {}", short(wanted)),
            Change::Changed {
                path,
                deployed,
                wanted,
            } => {
                write!(f, "~ {path}: {} → {}", short(deployed), short(wanted))
            }
        }
    }
}

/// A value on one line, long ones cut.
fn short(value: &Value) -> String {
    let text = value.to_string();
    if text.chars().count() > 120 {
        format!("{}…", text.chars().take(119).collect::<String>())
    } else {
        text
    }
}

/// The differences between `deployed` and `wanted`.
pub fn diff(deployed: &Value, wanted: &Value) -> Vec<Change> {
    let mut changes = Vec::new();
    walk(deployed, wanted, String::new(), &mut changes);
    changes
}

fn walk(deployed: &Value, wanted: &Value, path: String, changes: &mut Vec<Change>) {
    match (deployed, wanted) {
        (Value::Object(old), Value::Object(new)) => {
            for (key, old_value) in old {
                let child = format!("{path}/{}", escape(key));
                match new.get(key) {
                    Some(new_value) => walk(old_value, new_value, child, changes),
                    None => changes.push(Change::Removed {
                        path: child,
                        deployed: old_value.clone(),
                    }),
                }
            }
            for (key, new_value) in new {
                if !old.contains_key(key) {
                    changes.push(Change::Added {
                        path: format!("{path}/{}", escape(key)),
                        wanted: new_value.clone(),
                    });
                }
            }
        }
        (Value::Array(old), Value::Array(new)) => {
            for index in 0..old.len().max(new.len()) {
                let child = format!("{path}/{index}");
                match (old.get(index), new.get(index)) {
                    (Some(old_value), Some(new_value)) => walk(old_value, new_value, child, changes),
                    (Some(old_value), None) => changes.push(Change::Removed {
                        path: child,
                        deployed: old_value.clone(),
                    }),
                    (None, Some(new_value)) => changes.push(Change::Added {
                        path: child,
                        wanted: new_value.clone(),
                    }),
                    (None, None) => {}
                }
            }
        }
        (Value::Number(old), Value::Number(new)) if old.as_f64() == new.as_f64() => {}
        (old, new) if old == new => {}
        (old, new) => changes.push(Change::Changed {
            path: if path.is_empty() { "/".to_owned() } else { path },
            deployed: old.clone(),
            wanted: new.clone(),
        }),
    }
}

/// JSON pointer escaping of a key.
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reports_each_difference_once_with_its_path() {
        let deployed = json!({"a": 1, "b": [1, 2, 3], "c": {"d": "x"}, "gone": true, "n": 60.0});
        let wanted = json!({"a": 2, "b": [1, 2], "c": {"d": "x", "e": "y"}, "n": 60});
        let lines: Vec<String> = diff(&deployed, &wanted).iter().map(ToString::to_string).collect();
        assert_eq!(
            lines,
            ["~ /a: 1 → 2", "- /b/2: 3", "+ /c/e: \"y\"", "- /gone: true"]
        );
        assert!(diff(&json!({"x": [1, {"y": 2}]}), &json!({"x": [1, {"y": 2}]})).is_empty());
    }
}
