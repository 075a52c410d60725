//! The `Default` of each parameter in template.yaml's `Parameters` section, and the event source
//! mapping's literal settings, read from the text.
//!
//! A narrow reader rather than a YAML library: CloudFormation's YAML uses tags (`!Ref`, `!Sub`) that
//! general YAML crates handle unevenly, the section has one fixed shape (a parameter at two spaces,
//! its properties at four), and what it cannot read it reports as an error naming the parameter,
//! never as a silent default.

use std::collections::BTreeMap;

/// The parameters of `template` with the default each declares (quotes removed).
pub fn defaults(template: &str) -> BTreeMap<String, String> {
    let mut defaults = BTreeMap::new();
    let mut in_parameters = false;
    let mut current: Option<String> = None;
    for line in template.lines() {
        if !line.starts_with(' ') && !line.starts_with('#') && !line.trim().is_empty() {
            in_parameters = line.trim_end() == "Parameters:";
            current = None;
            continue;
        }
        if !in_parameters {
            continue;
        }
        if let Some(name) = line.strip_prefix("  ").and_then(|rest| rest.strip_suffix(':')) {
            if !name.starts_with(' ') && !name.starts_with('#') {
                current = Some(name.to_owned());
                continue;
            }
        }
        if let (Some(name), Some(value)) = (&current, line.strip_prefix("    Default:")) {
            defaults.insert(name.clone(), unquote(value.trim()).to_owned());
        }
    }
    defaults
}

/// The value of a literal `Name: value` property anywhere in `template` (the first one), for the
/// settings template.yaml writes out rather than takes as parameters (`BisectBatchOnFunctionError`).
pub fn literal<'a>(template: &'a str, name: &str) -> Option<&'a str> {
    template.lines().find_map(|line| {
        line.trim_start()
            .strip_prefix(name)
            .and_then(|rest| rest.strip_prefix(':'))
            .map(|value| unquote(value.trim()))
            .filter(|value| !value.is_empty() && !value.starts_with('!'))
    })
}

fn unquote(value: &str) -> &str {
    value
        .strip_prefix('"')
        .and_then(|value| value.strip_suffix('"'))
        .or_else(|| {
            value
                .strip_prefix('\'')
                .and_then(|value| value.strip_suffix('\''))
        })
        .unwrap_or(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEMPLATE: &str = "\
AWSTemplateFormatVersion: \"2010-09-09\"
Parameters:
  BatchSize:
    Type: Number
    Default: 100
    Description: Most records per invocation.
  ExistingStreamArn:
    Type: String
    Default: \"\"
  # BEGIN GENERATED observability-parameters (obsctl render writes this)
  MetricsNamespace:
    Type: String
    Default: DdbStreamProcessor
  NoDefault:
    Type: String
Resources:
  Function:
    Properties:
      Default: not a parameter
      BisectBatchOnFunctionError: true
      BatchSize: !Ref BatchSize
";

    #[test]
    fn reads_the_defaults_of_the_parameters_section_only() {
        let defaults = defaults(TEMPLATE);
        assert_eq!(
            defaults.into_iter().collect::<Vec<_>>(),
            [
                ("BatchSize".to_owned(), "100".to_owned()),
                ("ExistingStreamArn".to_owned(), String::new()),
                ("MetricsNamespace".to_owned(), "DdbStreamProcessor".to_owned()),
            ]
        );
    }

    #[test]
    fn reads_literal_settings_and_not_references() {
        assert_eq!(literal(TEMPLATE, "BisectBatchOnFunctionError"), Some("true"));
        assert_eq!(
            literal(TEMPLATE, "BatchSize"),
            None,
            "only `!Ref BatchSize` after the parameters"
        );
        assert_eq!(literal(TEMPLATE, "MaximumRetryAttempts"), None);
    }

    #[test]
    fn the_repositorys_template_has_the_settings_a_rehearsal_needs() {
        let template = include_str!("../../../template.yaml");
        let defaults = defaults(template);
        for name in [
            "BatchSize",
            "MaximumBatchingWindowInSeconds",
            "ParallelizationFactor",
            "MaximumRetryAttempts",
            "MaximumRecordAgeInSeconds",
            "FunctionTimeoutSeconds",
            "MetricsNamespace",
            "RecordsFailedThreshold",
        ] {
            assert!(
                defaults.contains_key(name),
                "{name} has no default in template.yaml"
            );
        }
        assert_eq!(literal(template, "BisectBatchOnFunctionError"), Some("true"));
    }
}
