//! The part of CloudWatch Logs Insights the dashboard's log widgets use, run over the rehearsal's log
//! lines: `fields`, `filter` (`=`, `!=` and `in [...]` on a field), `sort` on a field (`asc` or `desc`)
//! and `limit`. `SOURCE '…'` names the log group and is skipped. Another command is an error that
//! names it, never a silently different table.

use serde_json::{Map, Value};

/// The table a query returns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryResult {
    /// The columns, in the order of `fields`.
    pub columns: Vec<String>,
    /// The rows: one text per column (empty where a line has no such field).
    pub rows: Vec<Vec<String>>,
}

/// Runs `query` over JSON log lines (Lambda's JSON log format; `@timestamp` is their `timestamp`,
/// `@message` the whole line). Lines that are not JSON objects are left out, as Logs Insights
/// leaves out the fields it cannot discover.
pub fn run(query: &str, lines: &[String]) -> Result<QueryResult, String> {
    let mut records: Vec<Map<String, Value>> = lines
        .iter()
        .filter_map(|line| match serde_json::from_str::<Value>(line) {
            Ok(Value::Object(mut record)) => {
                if let Some(timestamp) = record.get("timestamp").cloned() {
                    record.insert("@timestamp".into(), timestamp);
                }
                record.insert("@message".into(), Value::String(line.clone()));
                Some(record)
            }
            _ => None,
        })
        .collect();
    let mut columns = vec!["@timestamp".to_owned(), "@message".to_owned()];
    for command in query
        .split('|')
        .map(str::trim)
        .filter(|command| !command.is_empty())
    {
        let (verb, rest) = command.split_once(' ').unwrap_or((command, ""));
        let rest = rest.trim();
        match verb {
            "SOURCE" => {}
            "fields" => columns = rest.split(',').map(|field| field.trim().to_owned()).collect(),
            "filter" => {
                let keep = condition(rest)?;
                records.retain(|record| keep(record));
            }
            "sort" => {
                let (field, order) = rest.split_once(' ').unwrap_or((rest, "asc"));
                let field = field.trim().to_owned();
                records.sort_by_key(|record| text(record, &field));
                if order.trim() == "desc" {
                    records.reverse();
                }
            }
            "limit" => {
                let limit: usize = rest
                    .parse()
                    .map_err(|_| format!("limit {rest:?} is not a number"))?;
                records.truncate(limit);
            }
            other => {
                return Err(format!(
                    "the Logs Insights command {other:?} is not supported here"
                ));
            }
        }
    }
    let rows = records
        .iter()
        .map(|record| columns.iter().map(|column| text(record, column)).collect())
        .collect();
    Ok(QueryResult { columns, rows })
}

type Condition = Box<dyn Fn(&Map<String, Value>) -> bool>;

fn condition(text_of_condition: &str) -> Result<Condition, String> {
    let unsupported =
        || format!("the filter {text_of_condition:?} is not supported here (field = \"x\", != or in [...])");
    if let Some((field, list)) = text_of_condition.split_once(" in ") {
        let field = field.trim().to_owned();
        let values: Vec<Value> = serde_json::from_str(list.trim()).map_err(|_| unsupported())?;
        let values: Vec<String> = values
            .iter()
            .map(|value| {
                value
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| value.to_string())
            })
            .collect();
        return Ok(Box::new(move |record| values.contains(&text(record, &field))));
    }
    for (operator, equal) in [("!=", false), ("=", true)] {
        if let Some((field, value)) = text_of_condition.split_once(operator) {
            let field = field.trim().to_owned();
            let value: Value = serde_json::from_str(value.trim()).map_err(|_| unsupported())?;
            let value = value
                .as_str()
                .map(str::to_owned)
                .unwrap_or_else(|| value.to_string());
            return Ok(Box::new(move |record| (text(record, &field) == value) == equal));
        }
    }
    Err(unsupported())
}

fn text(record: &Map<String, Value>, field: &str) -> String {
    match record.get(field) {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(text)) => text.clone(),
        Some(other) => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines() -> Vec<String> {
        [
            r#"{"timestamp":"2026-01-01T00:00:01Z","level":"INFO","message":"batch done","requestId":"r1"}"#,
            r#"{"timestamp":"2026-01-01T00:00:02Z","level":"WARN","message":"record failed","requestId":"r2","sequenceNumber":"12"}"#,
            "not json",
            r#"{"timestamp":"2026-01-01T00:00:03Z","level":"ERROR","message":"first record failed","requestId":"r3"}"#,
        ]
        .map(str::to_owned)
        .to_vec()
    }

    #[test]
    fn the_dashboards_failed_records_query() {
        let result = run(
            "SOURCE '/aws/lambda/f' | fields @timestamp, level, requestId, sequenceNumber, message \
             | filter level in [\"WARN\", \"ERROR\"] | sort @timestamp desc | limit 50",
            &lines(),
        )
        .unwrap();
        assert_eq!(
            result.columns,
            ["@timestamp", "level", "requestId", "sequenceNumber", "message"]
        );
        assert_eq!(
            result.rows,
            [
                ["2026-01-01T00:00:03Z", "ERROR", "r3", "", "first record failed"],
                ["2026-01-01T00:00:02Z", "WARN", "r2", "12", "record failed"],
            ]
        );
    }

    #[test]
    fn equality_filters_and_limits() {
        let result = run("fields requestId | filter level = \"INFO\"", &lines()).unwrap();
        assert_eq!(result.rows, [["r1"]]);
        let result = run("fields requestId | filter level != \"INFO\" | limit 1", &lines()).unwrap();
        assert_eq!(result.rows, [["r2"]]);
    }

    #[test]
    fn an_unsupported_command_is_an_error() {
        assert_eq!(
            run("stats count(*) by level", &lines()).unwrap_err(),
            "the Logs Insights command \"stats\" is not supported here"
        );
        assert!(
            run("filter level like /W/", &lines())
                .unwrap_err()
                .contains("is not supported here")
        );
    }
}
