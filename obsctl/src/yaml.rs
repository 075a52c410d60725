//! Writing JSON values as block-style YAML for template.yaml.
//!
//! Only what the generated regions need: maps, lists, scalars, and multi-line strings (dashboard
//! bodies) as literal blocks. Strings are written plain when that cannot change their meaning and
//! double-quoted otherwise; YAML's double-quoted style uses JSON's escapes, so quoting is
//! `serde_json`'s. No YAML library is needed for writing, and none is trusted to round-trip
//! CloudFormation's short tags, which the generated regions do not use.

use serde_json::Value;

/// Keys written first, in this order, so resources read `Type` then `Properties`; the others follow
/// sorted (`serde_json` keeps maps sorted), which makes the output the same on every machine.
const LEADING_KEYS: [&str; 4] = ["Type", "Condition", "DependsOn", "Properties"];

/// Writes `value` as the body of a mapping at `indent` spaces.
pub fn write_mapping(out: &mut String, value: &serde_json::Map<String, Value>, indent: usize) {
    let leading = LEADING_KEYS.iter().filter_map(|key| value.get_key_value(*key));
    let rest = value
        .iter()
        .filter(|(key, _)| !LEADING_KEYS.contains(&key.as_str()));
    for (key, item) in leading.chain(rest) {
        write_entry(out, key, item, indent);
    }
}

fn write_entry(out: &mut String, key: &str, value: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    let key = scalar_key(key);
    match value {
        Value::Object(map) if !map.is_empty() => {
            out.push_str(&format!("{pad}{key}:\n"));
            write_mapping(out, map, indent + 2);
        }
        Value::Array(items) if !items.is_empty() => {
            out.push_str(&format!("{pad}{key}:\n"));
            write_sequence(out, items, indent + 2);
        }
        Value::String(text) if text.contains('\n') => {
            out.push_str(&format!("{pad}{key}: |-\n"));
            for line in text.lines() {
                if line.is_empty() {
                    out.push('\n');
                } else {
                    out.push_str(&format!("{pad}  {line}\n"));
                }
            }
        }
        scalar => out.push_str(&format!("{pad}{key}: {}\n", scalar_value(scalar))),
    }
}

fn write_sequence(out: &mut String, items: &[Value], indent: usize) {
    let pad = " ".repeat(indent);
    for item in items {
        match item {
            Value::Object(map) if !map.is_empty() => {
                let mut nested = String::new();
                write_mapping(&mut nested, map, indent + 2);
                // The first line of the item's mapping goes on the dash's line.
                let nested = nested.replacen(&" ".repeat(indent + 2), "", 1);
                out.push_str(&format!("{pad}- {nested}"));
            }
            Value::Array(inner) if !inner.is_empty() => {
                out.push_str(&format!("{pad}-\n"));
                write_sequence(out, inner, indent + 2);
            }
            scalar => out.push_str(&format!("{pad}- {}\n", scalar_value(scalar))),
        }
    }
}

fn scalar_key(key: &str) -> String {
    if key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == ':' || c == '_')
        && !key.is_empty()
    {
        key.to_owned()
    } else {
        Value::from(key).to_string()
    }
}

fn scalar_value(value: &Value) -> String {
    match value {
        Value::String(text) if is_plain(text) => text.clone(),
        Value::Object(_) => "{}".to_owned(),
        Value::Array(_) => "[]".to_owned(),
        other => other.to_string(),
    }
}

/// Whether `text` reads back as the same string when written without quotes.
fn is_plain(text: &str) -> bool {
    const SPECIAL: [&str; 12] = [
        "true", "false", "yes", "no", "on", "off", "null", "~", "y", "n", ".inf", ".nan",
    ];
    let Some(first) = text.chars().next() else {
        return false;
    };
    first.is_ascii_alphabetic()
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./".contains(c))
        && !SPECIAL.contains(&text.to_ascii_lowercase().as_str())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn yaml(value: Value) -> String {
        let mut out = String::new();
        write_mapping(&mut out, value.as_object().unwrap(), 2);
        out
    }

    #[test]
    fn writes_block_style_with_safe_scalars() {
        let text = yaml(json!({
            "Type": "AWS::CloudWatch::Alarm",
            "Properties": {
                "AlarmName": {"Fn::Sub": "${AWS::StackName}-x"},
                "Period": 60,
                "Dimensions": [{"Name": "FunctionName", "Value": {"Ref": "Fn"}}],
                "AlarmActions": [{"Ref": "Topic"}],
                "Flag": "yes",
                "Empty": []
            }
        }));
        assert_eq!(
            text,
            "  Type: \"AWS::CloudWatch::Alarm\"\n  Properties:\n    AlarmActions:\n      - Ref: Topic\n    \
             AlarmName:\n      Fn::Sub: \"${AWS::StackName}-x\"\n    Dimensions:\n      - Name: FunctionName\n        \
             Value:\n          Ref: Fn\n    Empty: []\n    Flag: \"yes\"\n    Period: 60\n"
        );
    }

    #[test]
    fn multi_line_strings_are_literal_blocks() {
        let text = yaml(json!({"Body": {"Fn::Sub": "{\n  \"a\": 1\n}"}}));
        assert_eq!(
            text,
            "  Body:\n    Fn::Sub: |-\n      {\n        \"a\": 1\n      }\n"
        );
    }
}
