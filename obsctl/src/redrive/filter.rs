//! The event source mapping's `FilterCriteria`, evaluated as Lambda evaluates them, so a redrive
//! replays only what the mapping would have delivered and counts only delivered changes as later
//! ones.
//!
//! Lambda's event filtering takes EventBridge's pattern language (the Lambda developer guide,
//! "Control which events Lambda sends to your function"; the EventBridge user guide, "Comparison
//! operators for use in event patterns"). A record passes when any filter's pattern matches it.
//! A pattern mirrors the record's JSON: an object descends into the field of the same name, an
//! array lists the rules a value may satisfy (any of them), every field of an object must match
//! (and), and `$or` lists alternative patterns. A DynamoDB record is matched as Lambda delivers it,
//! its `dynamodb` body in DynamoDB JSON (`{"Keys": {"pk": {"S": ["A"]}}}`).
//!
//! Values are collected by path, arrays flattened, as EventBridge does. The rules: a string,
//! number, boolean or `null` (equals), `""` (empty), `equals-ignore-case`, `prefix` and `suffix`
//! (each also `{"equals-ignore-case": …}`), `wildcard` (`*`, with `\*` for a star),
//! `anything-but` (a value, a list, or `prefix` / `suffix` / `equals-ignore-case` / `wildcard`),
//! `numeric` (`<`, `<=`, `=`, `>`, `>=` pairs, all must hold, on JSON numbers only: DynamoDB's `N`
//! values are strings), and `exists`. Anything else (`cidr`, a misspelt operator) is an error that
//! names it: a redrive never guesses what the mapping delivers.

use serde_json::{Map, Value};

/// Why a filter pattern cannot be evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FilterError {
    /// The pattern is not a JSON object.
    #[error("filter {filter}'s pattern is not a JSON object ({reason})")]
    NotAnObject {
        /// The filter's position, from 1.
        filter: usize,
        /// What is wrong.
        reason: String,
    },
    /// An operator this evaluator does not know.
    #[error("use {operator:?} at {path} (filter {filter}), which obsctl does not evaluate")]
    UnknownOperator {
        /// The filter's position, from 1.
        filter: usize,
        /// Where in the pattern.
        path: String,
        /// The operator.
        operator: String,
    },
    /// A rule of the wrong shape.
    #[error("have a rule at {path} (filter {filter}) that is not valid: {problem}")]
    BadRule {
        /// The filter's position, from 1.
        filter: usize,
        /// Where in the pattern.
        path: String,
        /// What is wrong.
        problem: String,
    },
}

/// A mapping's filters: a record is delivered when any of them matches (or when there is none).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Criteria {
    patterns: Vec<Pattern>,
}

impl Criteria {
    /// Reads the `Pattern` strings of a mapping's `FilterCriteria.Filters`, in order.
    pub fn parse<S: AsRef<str>>(patterns: &[S]) -> Result<Self, FilterError> {
        let patterns = patterns
            .iter()
            .enumerate()
            .map(|(index, text)| {
                let filter = index + 1;
                let value: Value =
                    serde_json::from_str(text.as_ref()).map_err(|error| FilterError::NotAnObject {
                        filter,
                        reason: error.to_string(),
                    })?;
                let Value::Object(object) = value else {
                    return Err(FilterError::NotAnObject {
                        filter,
                        reason: "it is not an object".into(),
                    });
                };
                Pattern::parse(&object, &Place { filter, path: "" })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self { patterns })
    }

    /// Whether the mapping has no filter (every record is delivered).
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// Whether the mapping delivers `record` (a stream record as Lambda delivers it).
    pub fn delivers(&self, record: &Value) -> bool {
        self.patterns.is_empty() || self.patterns.iter().any(|pattern| pattern.matches(&[record]))
    }
}

/// Where a part of a pattern is, for errors.
struct Place<'a> {
    filter: usize,
    path: &'a str,
}

impl Place<'_> {
    fn child(&self, name: &str) -> String {
        if self.path.is_empty() {
            name.to_owned()
        } else {
            format!("{}.{name}", self.path)
        }
    }

    fn bad(&self, problem: impl Into<String>) -> FilterError {
        FilterError::BadRule {
            filter: self.filter,
            path: self.display(),
            problem: problem.into(),
        }
    }

    fn unknown(&self, operator: &str) -> FilterError {
        FilterError::UnknownOperator {
            filter: self.filter,
            path: self.display(),
            operator: operator.to_owned(),
        }
    }

    fn display(&self) -> String {
        if self.path.is_empty() {
            "the top level".into()
        } else {
            self.path.to_owned()
        }
    }
}

/// An object of a pattern: fields that must all match, and `$or` groups of which one
/// alternative each must match.
#[derive(Debug, Clone, PartialEq)]
struct Pattern {
    fields: Vec<(String, Field)>,
    alternatives: Vec<Vec<Pattern>>,
}

/// What a field of a pattern holds.
#[derive(Debug, Clone, PartialEq)]
enum Field {
    /// A nested object.
    Nested(Pattern),
    /// The rules a value may satisfy.
    Rules(Vec<Rule>),
}

/// One rule of a field's list.
#[derive(Debug, Clone, PartialEq)]
enum Rule {
    /// The value is this string, number, boolean or `null`.
    Equals(Value),
    /// The value is this string, ignoring case.
    EqualsIgnoreCase(String),
    /// The value is a string that starts with this (ignoring case when the flag says so).
    Prefix(String, bool),
    /// The value is a string that ends with this (ignoring case when the flag says so).
    Suffix(String, bool),
    /// The value is a string this wildcard pattern matches.
    Wildcard(String),
    /// The value is a number for which every comparison holds.
    Numeric(Vec<(Comparison, f64)>),
    /// The field exists (true) or does not (false).
    Exists(bool),
    /// The value exists and does not match this.
    AnythingBut(Box<Rule>),
    /// Any of these (inside `anything-but`).
    AnyOf(Vec<Rule>),
}

/// A `numeric` operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Less,
    LessOrEqual,
    Equal,
    Greater,
    GreaterOrEqual,
}

impl Pattern {
    fn parse(object: &Map<String, Value>, place: &Place<'_>) -> Result<Self, FilterError> {
        let mut pattern = Self {
            fields: Vec::new(),
            alternatives: Vec::new(),
        };
        for (name, value) in object {
            let path = place.child(name);
            let here = Place {
                filter: place.filter,
                path: &path,
            };
            if name == "$or" {
                let Some(alternatives) = value.as_array().filter(|alternatives| alternatives.len() >= 2)
                else {
                    return Err(here.bad("$or takes a list of at least two patterns"));
                };
                let alternatives = alternatives
                    .iter()
                    .map(|alternative| match alternative {
                        Value::Object(alternative) => Self::parse(alternative, place),
                        _ => Err(here.bad("each alternative of $or is an object")),
                    })
                    .collect::<Result<_, _>>()?;
                pattern.alternatives.push(alternatives);
                continue;
            }
            let field = match value {
                Value::Object(nested) => Field::Nested(Self::parse(nested, &here)?),
                Value::Array(rules) if !rules.is_empty() => Field::Rules(
                    rules
                        .iter()
                        .map(|rule| Rule::parse(rule, &here))
                        .collect::<Result<_, _>>()?,
                ),
                _ => return Err(here.bad("a field takes an object or a non-empty list of rules")),
            };
            pattern.fields.push((name.clone(), field));
        }
        Ok(pattern)
    }

    /// Whether the objects at this level (`level`, every value found at the pattern's path)
    /// match: each field by the values under its name, and one alternative of each `$or`.
    fn matches(&self, level: &[&Value]) -> bool {
        self.fields.iter().all(|(name, field)| {
            let values = children(level, name);
            match field {
                Field::Nested(pattern) => pattern.matches(&values),
                Field::Rules(rules) => {
                    let leaves: Vec<&Value> = values.into_iter().filter(|value| !value.is_object()).collect();
                    rules.iter().any(|rule| rule.matches_field(&leaves))
                }
            }
        }) && self
            .alternatives
            .iter()
            .all(|alternatives| alternatives.iter().any(|pattern| pattern.matches(level)))
    }
}

/// The values under `name` of every object in `level`, arrays flattened.
fn children<'a>(level: &[&'a Value], name: &str) -> Vec<&'a Value> {
    let mut values = Vec::new();
    for value in level {
        if let Some(child) = value.get(name) {
            flatten(child, &mut values);
        }
    }
    values
}

fn flatten<'a>(value: &'a Value, into: &mut Vec<&'a Value>) {
    match value {
        Value::Array(items) => items.iter().for_each(|item| flatten(item, into)),
        other => into.push(other),
    }
}

impl Rule {
    fn parse(rule: &Value, place: &Place<'_>) -> Result<Self, FilterError> {
        let Value::Object(operator) = rule else {
            return Ok(Self::Equals(rule.clone()));
        };
        let mut entries = operator.iter();
        let (Some((name, argument)), None) = (entries.next(), entries.next()) else {
            return Err(place.bad("a rule object has exactly one operator"));
        };
        let text = |argument: &Value| {
            argument
                .as_str()
                .map(str::to_owned)
                .ok_or_else(|| place.bad(format!("{name} takes a string")))
        };
        // `prefix` / `suffix`: a string, or {"equals-ignore-case": string}.
        let affix = |argument: &Value| match argument {
            Value::String(affix) => Ok((affix.clone(), false)),
            Value::Object(inner) if inner.len() == 1 => match inner.get("equals-ignore-case") {
                Some(Value::String(affix)) => Ok((affix.clone(), true)),
                _ => Err(place.unknown(inner.keys().next().map_or("", String::as_str))),
            },
            _ => Err(place.bad(format!(
                "{name} takes a string or {{\"equals-ignore-case\": string}}"
            ))),
        };
        Ok(match name.as_str() {
            "equals-ignore-case" => Self::EqualsIgnoreCase(text(argument)?),
            "prefix" => {
                let (prefix, ignore_case) = affix(argument)?;
                Self::Prefix(prefix, ignore_case)
            }
            "suffix" => {
                let (suffix, ignore_case) = affix(argument)?;
                Self::Suffix(suffix, ignore_case)
            }
            "wildcard" => Self::Wildcard(text(argument)?),
            "exists" => Self::Exists(
                argument
                    .as_bool()
                    .ok_or_else(|| place.bad("exists takes true or false"))?,
            ),
            "numeric" => Self::Numeric(numeric(argument, place)?),
            "anything-but" => Self::AnythingBut(Box::new(anything_but(argument, place)?)),
            other => return Err(place.unknown(other)),
        })
    }

    /// Whether a field whose values are `values` (none when it is missing) satisfies the rule.
    fn matches_field(&self, values: &[&Value]) -> bool {
        match self {
            Self::Exists(exists) => values.is_empty() != *exists,
            other => values.iter().any(|value| other.matches(value)),
        }
    }

    fn matches(&self, value: &Value) -> bool {
        match self {
            Self::Equals(expected) => value == expected,
            Self::EqualsIgnoreCase(expected) => value
                .as_str()
                .is_some_and(|text| text.to_lowercase() == expected.to_lowercase()),
            Self::Prefix(prefix, ignore_case) => value.as_str().is_some_and(|text| {
                if *ignore_case {
                    text.to_lowercase().starts_with(&prefix.to_lowercase())
                } else {
                    text.starts_with(prefix.as_str())
                }
            }),
            Self::Suffix(suffix, ignore_case) => value.as_str().is_some_and(|text| {
                if *ignore_case {
                    text.to_lowercase().ends_with(&suffix.to_lowercase())
                } else {
                    text.ends_with(suffix.as_str())
                }
            }),
            Self::Wildcard(pattern) => value.as_str().is_some_and(|text| wildcard_matches(pattern, text)),
            Self::Numeric(comparisons) => value.as_f64().is_some_and(|number| {
                comparisons.iter().all(|(comparison, bound)| match comparison {
                    Comparison::Less => number < *bound,
                    Comparison::LessOrEqual => number <= *bound,
                    Comparison::Equal => number == *bound,
                    Comparison::Greater => number > *bound,
                    Comparison::GreaterOrEqual => number >= *bound,
                })
            }),
            Self::Exists(exists) => *exists,
            Self::AnythingBut(rule) => !rule.matches(value),
            Self::AnyOf(rules) => rules.iter().any(|rule| rule.matches(value)),
        }
    }
}

/// `numeric`'s list: operator, number, and optionally a second operator and number.
fn numeric(argument: &Value, place: &Place<'_>) -> Result<Vec<(Comparison, f64)>, FilterError> {
    let bad = || place.bad("numeric takes [operator, number] or [operator, number, operator, number]");
    let items = argument.as_array().ok_or_else(bad)?;
    if items.is_empty() || items.len() % 2 != 0 || items.len() > 4 {
        return Err(bad());
    }
    items
        .chunks(2)
        .map(|pair| {
            let comparison = match pair[0].as_str().ok_or_else(bad)? {
                "<" => Comparison::Less,
                "<=" => Comparison::LessOrEqual,
                "=" => Comparison::Equal,
                ">" => Comparison::Greater,
                ">=" => Comparison::GreaterOrEqual,
                other => return Err(place.unknown(other)),
            };
            Ok((comparison, pair[1].as_f64().ok_or_else(bad)?))
        })
        .collect()
}

/// What `anything-but` excludes: a value, a list of values, or one of the string operators.
fn anything_but(argument: &Value, place: &Place<'_>) -> Result<Rule, FilterError> {
    let strings = |argument: &Value, name: &str| -> Result<Vec<String>, FilterError> {
        match argument {
            Value::String(text) => Ok(vec![text.clone()]),
            Value::Array(items) if !items.is_empty() => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map(str::to_owned)
                        .ok_or_else(|| place.bad(format!("anything-but's {name} takes strings")))
                })
                .collect(),
            _ => Err(place.bad(format!(
                "anything-but's {name} takes a string or a list of strings"
            ))),
        }
    };
    match argument {
        Value::Array(values) if !values.is_empty() => {
            if values.iter().any(|value| value.is_object() || value.is_array()) {
                return Err(place.bad("anything-but's list holds strings or numbers"));
            }
            Ok(Rule::AnyOf(values.iter().cloned().map(Rule::Equals).collect()))
        }
        Value::String(_) | Value::Number(_) => Ok(Rule::Equals(argument.clone())),
        Value::Object(operator) if operator.len() == 1 => {
            let (name, inner) = operator.iter().next().expect("one entry");
            match name.as_str() {
                "prefix" => Ok(Rule::Prefix(
                    inner
                        .as_str()
                        .ok_or_else(|| place.bad("anything-but's prefix takes a string"))?
                        .to_owned(),
                    false,
                )),
                "suffix" => Ok(Rule::Suffix(
                    inner
                        .as_str()
                        .ok_or_else(|| place.bad("anything-but's suffix takes a string"))?
                        .to_owned(),
                    false,
                )),
                "equals-ignore-case" => Ok(Rule::AnyOf(
                    strings(inner, name)?
                        .into_iter()
                        .map(Rule::EqualsIgnoreCase)
                        .collect(),
                )),
                "wildcard" => Ok(Rule::AnyOf(
                    strings(inner, name)?.into_iter().map(Rule::Wildcard).collect(),
                )),
                other => Err(place.unknown(other)),
            }
        }
        _ => Err(place.bad("anything-but takes a value, a list of values, or one operator")),
    }
}

/// Whether `text` matches the wildcard `pattern`: `*` stands for any run of characters, `\*` for a
/// star and `\\` for a backslash.
fn wildcard_matches(pattern: &str, text: &str) -> bool {
    // The pattern as literal pieces between the stars.
    let mut pieces: Vec<String> = vec![String::new()];
    let mut characters = pattern.chars();
    while let Some(character) = characters.next() {
        match character {
            '\\' => match characters.next() {
                Some(escaped) => pieces.last_mut().expect("never empty").push(escaped),
                None => pieces.last_mut().expect("never empty").push('\\'),
            },
            '*' => pieces.push(String::new()),
            other => pieces.last_mut().expect("never empty").push(other),
        }
    }
    let (first, rest) = pieces.split_first().expect("never empty");
    let Some(mut remaining) = text.strip_prefix(first.as_str()) else {
        return false;
    };
    let Some((last, middle)) = rest.split_last() else {
        return remaining.is_empty();
    };
    for piece in middle {
        match remaining.find(piece.as_str()) {
            Some(at) => remaining = &remaining[at + piece.len()..],
            None => return false,
        }
    }
    remaining.ends_with(last.as_str())
}

#[cfg(test)]
mod tests {
    //! One test per row of the comparison-operator tables of the Lambda developer guide ("Control
    //! which events Lambda sends to your function", "Filter rule syntax") and the EventBridge user
    //! guide ("Comparison operators for use in event patterns") that Lambda accepts, each with the
    //! row's own example; then the DynamoDB examples of "Using event filtering with a DynamoDB event
    //! source".

    use serde_json::json;

    use super::*;

    fn criteria(pattern: Value) -> Criteria {
        Criteria::parse(&[pattern.to_string()]).expect("the documentation's pattern parses")
    }

    /// The pattern matches every event of `yes` and none of `no`.
    fn check(pattern: Value, yes: &[Value], no: &[Value]) {
        let criteria = criteria(pattern.clone());
        for event in yes {
            assert!(criteria.delivers(event), "{pattern} should match {event}");
        }
        for event in no {
            assert!(!criteria.delivers(event), "{pattern} should not match {event}");
        }
    }

    #[test]
    fn null_userid_is_null() {
        check(
            json!({"UserID": [null]}),
            &[json!({"UserID": null})],
            &[json!({"UserID": "u-1"}), json!({}), json!({"UserID": ""})],
        );
    }

    #[test]
    fn empty_lastname_is_empty() {
        check(
            json!({"LastName": [""]}),
            &[json!({"LastName": ""})],
            &[json!({"LastName": "Doe"}), json!({}), json!({"LastName": null})],
        );
    }

    #[test]
    fn equals_name_is_alice() {
        check(
            json!({"Name": ["Alice"]}),
            &[json!({"Name": "Alice"})],
            &[json!({"Name": "alice"}), json!({"Name": "Alice "}), json!({})],
        );
    }

    #[test]
    fn equals_ignore_case_name_is_alice() {
        check(
            json!({"Name": [{"equals-ignore-case": "alice"}]}),
            &[json!({"Name": "Alice"}), json!({"Name": "ALICE"})],
            &[json!({"Name": "Alicia"}), json!({})],
        );
    }

    #[test]
    fn and_location_is_new_york_and_day_is_monday() {
        check(
            json!({"Location": ["New York"], "Day": ["Monday"]}),
            &[json!({"Location": "New York", "Day": "Monday"})],
            &[
                json!({"Location": "New York", "Day": "Tuesday"}),
                json!({"Location": "New York"}),
            ],
        );
    }

    #[test]
    fn or_payment_type_is_credit_or_debit() {
        check(
            json!({"PaymentType": ["Credit", "Debit"]}),
            &[json!({"PaymentType": "Credit"}), json!({"PaymentType": "Debit"})],
            &[json!({"PaymentType": "Cash"}), json!({})],
        );
    }

    #[test]
    fn or_multiple_fields_location_is_new_york_or_day_is_monday() {
        check(
            json!({"$or": [{"Location": ["New York"]}, {"Day": ["Monday"]}]}),
            &[
                json!({"Location": "New York", "Day": "Friday"}),
                json!({"Location": "Paris", "Day": "Monday"}),
            ],
            &[json!({"Location": "Paris", "Day": "Friday"})],
        );
    }

    #[test]
    fn not_weather_is_anything_but_raining() {
        check(
            json!({"Weather": [{"anything-but": ["Raining"]}]}),
            &[json!({"Weather": "Sunny"})],
            &[json!({"Weather": "Raining"}), json!({})],
        );
    }

    #[test]
    fn anything_but_state_is_any_value_besides_initializing() {
        check(
            json!({"state": [{"anything-but": "initializing"}]}),
            &[json!({"state": "running"})],
            &[json!({"state": "initializing"})],
        );
    }

    #[test]
    fn anything_but_begins_with_region_is_not_in_the_us() {
        check(
            json!({"Region": [{"anything-but": {"prefix": "us-"}}]}),
            &[json!({"Region": "eu-west-1"})],
            &[json!({"Region": "us-east-1"})],
        );
    }

    #[test]
    fn anything_but_ends_with_filename_does_not_end_with_png() {
        check(
            json!({"FileName": [{"anything-but": {"suffix": ".png"}}]}),
            &[json!({"FileName": "photo.jpg"})],
            &[json!({"FileName": "photo.png"})],
        );
    }

    #[test]
    fn anything_but_ignore_case_state_is_not_initializing_in_any_casing() {
        check(
            json!({"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]}),
            &[json!({"state": "running"})],
            &[json!({"state": "INITIALIZING"}), json!({"state": "initializing"})],
        );
    }

    #[test]
    fn anything_but_using_a_wildcard_filepath_does_not_include_lib() {
        check(
            json!({"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}),
            &[json!({"FilePath": "/usr/bin/tool"})],
            &[json!({"FilePath": "/usr/lib/libc.so"})],
        );
    }

    #[test]
    fn numeric_equals_price_is_100() {
        check(
            json!({"Price": [{"numeric": ["=", 100]}]}),
            &[json!({"Price": 100}), json!({"Price": 100.0})],
            &[json!({"Price": 101}), json!({"Price": "100"})],
        );
    }

    #[test]
    fn numeric_range_price_is_more_than_10_and_at_most_20() {
        check(
            json!({"Price": [{"numeric": [">", 10, "<=", 20]}]}),
            &[json!({"Price": 10.5}), json!({"Price": 20})],
            &[json!({"Price": 10}), json!({"Price": 20.01}), json!({})],
        );
    }

    #[test]
    fn exists_productname_exists() {
        check(
            json!({"ProductName": [{"exists": true}]}),
            &[json!({"ProductName": "Widget"}), json!({"ProductName": null})],
            &[json!({}), json!({"ProductName": {"nested": 1}})],
        );
    }

    #[test]
    fn does_not_exist_productname_does_not_exist() {
        check(
            json!({"ProductName": [{"exists": false}]}),
            &[json!({}), json!({"Other": 1})],
            &[json!({"ProductName": "Widget"})],
        );
    }

    #[test]
    fn begins_with_region_is_in_the_us() {
        check(
            json!({"Region": [{"prefix": "us-"}]}),
            &[json!({"Region": "us-east-1"})],
            &[json!({"Region": "eu-west-1"}), json!({"Region": "US-east-1"})],
        );
    }

    #[test]
    fn begins_with_ignore_case_service_starts_with_eventb() {
        check(
            json!({"service": [{"prefix": {"equals-ignore-case": "eventb"}}]}),
            &[
                json!({"service": "EventBridge"}),
                json!({"service": "eventbridge"}),
            ],
            &[json!({"service": "Lambda"})],
        );
    }

    #[test]
    fn ends_with_filename_ends_with_png() {
        check(
            json!({"FileName": [{"suffix": ".png"}]}),
            &[json!({"FileName": "photo.png"})],
            &[json!({"FileName": "photo.PNG"}), json!({"FileName": "photo.jpg"})],
        );
    }

    #[test]
    fn ends_with_ignore_case_service_ends_with_tbridge() {
        check(
            json!({"service": [{"suffix": {"equals-ignore-case": "tBridge"}}]}),
            &[
                json!({"service": "EventBridge"}),
                json!({"service": "EVENTBRIDGE"}),
            ],
            &[json!({"service": "EventBus"})],
        );
    }

    #[test]
    fn wildcard_filename_is_a_png_in_dir() {
        check(
            json!({"FileName": [{"wildcard": "dir/*.png"}]}),
            &[
                json!({"FileName": "dir/photo.png"}),
                json!({"FileName": "dir/a/b.png"}),
            ],
            &[
                json!({"FileName": "other/photo.png"}),
                json!({"FileName": "dir/photo.jpg"}),
            ],
        );
    }

    /// A stream record as the DynamoDB filtering page shows it: key `CustomerName`, attributes
    /// `AccountManager` and `PaymentTerms`.
    fn customer(name: &str, manager: &str) -> Value {
        json!({
            "eventID": "1", "eventName": "INSERT", "eventVersion": "1.0",
            "dynamodb": {
                "ApproximateCreationDateTime": "1678831218.0",
                "Keys": {"CustomerName": {"S": name}},
                "NewImage": {
                    "AccountManager": {"S": manager},
                    "PaymentTerms": {"S": "60 days"},
                    "CustomerName": {"S": name}
                },
                "SequenceNumber": "111", "SizeBytes": 26, "StreamViewType": "NEW_IMAGE"
            }
        })
    }

    #[test]
    fn dynamodb_filtering_with_table_keys() {
        check(
            json!({"dynamodb": {"Keys": {"CustomerName": {"S": ["AnyCompany Industries"]}}}}),
            &[customer("AnyCompany Industries", "Pat Candella")],
            &[customer("Example Corp", "Pat Candella")],
        );
    }

    #[test]
    fn dynamodb_filtering_with_table_attributes() {
        check(
            json!({"dynamodb": {"NewImage": {"AccountManager": {"S": ["Pat Candella", "Shirley Rodriguez"]}}}}),
            &[
                customer("AnyCompany Industries", "Pat Candella"),
                customer("AnyCompany Industries", "Shirley Rodriguez"),
            ],
            &[customer("AnyCompany Industries", "Terry Whitlock")],
        );
    }

    #[test]
    fn a_metadata_field_and_a_body_field_both_count() {
        let mut modify = customer("AnyCompany Industries", "Pat Candella");
        modify["eventName"] = json!("MODIFY");
        check(
            json!({"eventName": ["INSERT"], "dynamodb": {"NewImage": {"PaymentTerms": {"S": [{"prefix": "60"}]}}}}),
            &[customer("AnyCompany Industries", "Pat Candella")],
            &[modify],
        );
    }

    #[test]
    fn dynamodb_numbers_are_strings_so_numeric_never_matches_them() {
        let record = json!({"dynamodb": {"NewImage": {"amount": {"N": "150"}}}});
        check(
            json!({"dynamodb": {"NewImage": {"amount": {"N": [{"numeric": [">", 100]}]}}}}),
            &[],
            std::slice::from_ref(&record),
        );
        check(
            json!({"dynamodb": {"NewImage": {"amount": {"N": ["150"]}}}}),
            &[record],
            &[],
        );
    }

    #[test]
    fn values_in_lists_match_any_element() {
        check(
            json!({"dynamodb": {"NewImage": {"tags": {"SS": ["blue"]}}}}),
            &[json!({"dynamodb": {"NewImage": {"tags": {"SS": ["red", "blue"]}}}})],
            &[json!({"dynamodb": {"NewImage": {"tags": {"SS": ["red"]}}}})],
        );
    }

    #[test]
    fn several_filters_deliver_what_any_of_them_matches_and_none_delivers_everything() {
        let criteria = Criteria::parse(&[
            json!({"eventName": ["INSERT"]}).to_string(),
            json!({"eventName": ["REMOVE"]}).to_string(),
        ])
        .unwrap();
        assert!(criteria.delivers(&json!({"eventName": "INSERT"})));
        assert!(criteria.delivers(&json!({"eventName": "REMOVE"})));
        assert!(!criteria.delivers(&json!({"eventName": "MODIFY"})));
        assert!(!criteria.is_empty());
        let none = Criteria::parse::<String>(&[]).unwrap();
        assert!(none.is_empty() && none.delivers(&json!({"eventName": "MODIFY"})));
    }

    #[test]
    fn an_operator_it_does_not_know_is_named_with_where_it_is() {
        let error = Criteria::parse(&[
            json!({"eventName": ["INSERT"]}).to_string(),
            json!({"dynamodb": {"NewImage": {"ip": {"S": [{"cidr": "10.0.0.0/24"}]}}}}).to_string(),
        ])
        .unwrap_err();
        assert_eq!(
            error,
            FilterError::UnknownOperator {
                filter: 2,
                path: "dynamodb.NewImage.ip.S".into(),
                operator: "cidr".into(),
            }
        );
        assert_eq!(
            error.to_string(),
            "use \"cidr\" at dynamodb.NewImage.ip.S (filter 2), which obsctl does not evaluate"
        );
        for unknown in [
            json!({"a": [{"prefix": {"ignore-case": "x"}}]}),
            json!({"a": [{"anything-but": {"cidr": "10.0.0.0/8"}}]}),
            json!({"a": [{"numeric": ["!=", 1]}]}),
        ] {
            assert!(
                matches!(
                    Criteria::parse(&[unknown.to_string()]),
                    Err(FilterError::UnknownOperator { .. })
                ),
                "{unknown}"
            );
        }
    }

    #[test]
    fn patterns_of_the_wrong_shape_say_what_is_wrong() {
        let cases = [
            ("[1]", "is not a JSON object"),
            ("{", "is not a JSON object"),
            (
                r#"{"eventName": "INSERT"}"#,
                "a field takes an object or a non-empty list of rules",
            ),
            (
                r#"{"eventName": []}"#,
                "a field takes an object or a non-empty list of rules",
            ),
            (
                r#"{"a": [{"prefix": "x", "suffix": "y"}]}"#,
                "exactly one operator",
            ),
            (r#"{"a": [{"exists": "yes"}]}"#, "exists takes true or false"),
            (r#"{"a": [{"numeric": [">", "ten"]}]}"#, "numeric takes"),
            (r#"{"a": [{"numeric": [">"]}]}"#, "numeric takes"),
            (
                r#"{"$or": [{"a": [1]}]}"#,
                "$or takes a list of at least two patterns",
            ),
            (
                r#"{"a": [{"anything-but": [{"x": 1}]}]}"#,
                "holds strings or numbers",
            ),
        ];
        for (pattern, says) in cases {
            let error = Criteria::parse(&[pattern]).unwrap_err().to_string();
            assert!(error.contains(says), "{pattern}: {error}");
        }
    }

    #[test]
    fn wildcards_match_runs_of_characters_and_escaped_stars() {
        assert!(wildcard_matches("*", ""));
        assert!(wildcard_matches("a*b*c", "aXbYc"));
        assert!(wildcard_matches("a*b*c", "abc"));
        assert!(!wildcard_matches("a*b*c", "acb"));
        assert!(!wildcard_matches("a*c", "ab"));
        assert!(wildcard_matches(r"a\*c", "a*c"));
        assert!(!wildcard_matches(r"a\*c", "abc"));
        assert!(wildcard_matches("exact", "exact"));
        assert!(!wildcard_matches("exact", "exactly"));
        assert!(wildcard_matches("*.png", "a.png.png"));
    }
}
