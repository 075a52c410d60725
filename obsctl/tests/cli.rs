//! `obsctl render` and `obsctl lint` on copies of the repository's definitions, broken on purpose:
//! each mistake gets a clear message and the documented exit code.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap().to_owned()
}

/// A temporary copy of template.yaml, README.md, dashboards/ and alarms/.
fn copy_of_the_repository() -> tempfile::TempDir {
    let copy = tempfile::tempdir().unwrap();
    for file in ["template.yaml", "README.md"] {
        std::fs::copy(repository().join(file), copy.path().join(file)).unwrap();
    }
    for folder in ["dashboards", "alarms"] {
        std::fs::create_dir(copy.path().join(folder)).unwrap();
        for entry in std::fs::read_dir(repository().join(folder)).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, copy.path().join(folder).join(path.file_name().unwrap())).unwrap();
        }
    }
    copy
}

fn obsctl(repo: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_obsctl"))
        .args(args)
        .arg("--repo")
        .arg(repo)
        .output()
        .unwrap()
}

fn edit_json(path: &Path, edit: impl FnOnce(&mut Value)) {
    let mut value: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    edit(&mut value);
    std::fs::write(path, serde_json::to_string_pretty(&value).unwrap()).unwrap();
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn render_check_finds_a_stale_template_and_render_repairs_it() {
    let copy = copy_of_the_repository();
    edit_json(&copy.path().join("alarms/iterator-age.json"), |alarm| {
        alarm["alarm"]["EvaluationPeriods"] = json!(10);
    });
    let check = obsctl(copy.path(), &["render", "--check"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(
        stderr(&check).contains("template.yaml is stale"),
        "{}",
        stderr(&check)
    );

    let render = obsctl(copy.path(), &["render"]);
    assert!(render.status.success(), "{}", stderr(&render));
    let template = std::fs::read_to_string(copy.path().join("template.yaml")).unwrap();
    assert!(template.contains("EvaluationPeriods: 10"));
    assert_eq!(obsctl(copy.path(), &["render", "--check"]).status.code(), Some(0));
}

#[test]
fn an_unknown_placeholder_is_an_error_that_names_it_and_its_file() {
    let copy = copy_of_the_repository();
    edit_json(&copy.path().join("alarms/function-throttles.json"), |alarm| {
        alarm["alarm"]["Dimensions"][0]["Value"] = json!("${TheFunction}");
    });
    let output = obsctl(copy.path(), &["render", "--check"]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(message.contains("alarms/function-throttles.json"), "{message}");
    assert!(
        message.contains("unknown placeholder ${TheFunction}"),
        "{message}"
    );
}

#[test]
fn a_definition_that_is_not_json_is_an_error_with_its_line() {
    let copy = copy_of_the_repository();
    std::fs::write(copy.path().join("alarms/broken.json"), "{\n  \"alarm\": {,\n}").unwrap();
    let output = obsctl(copy.path(), &["lint"]);
    assert_eq!(output.status.code(), Some(2));
    let message = stderr(&output);
    assert!(
        message.contains("broken.json is not valid JSON") && message.contains("line 2"),
        "{message}"
    );
}

#[test]
fn a_missing_region_marker_says_how_to_add_it() {
    let copy = copy_of_the_repository();
    let template = std::fs::read_to_string(copy.path().join("template.yaml")).unwrap();
    std::fs::write(
        copy.path().join("template.yaml"),
        template.replace("END GENERATED observability-resources", "END"),
    )
    .unwrap();
    let output = obsctl(copy.path(), &["render"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(
        stderr(&output).contains("has no region \"observability-resources\""),
        "{}",
        stderr(&output)
    );
}

#[test]
fn lint_reports_a_broken_dashboard_and_a_metric_the_function_does_not_write() {
    let copy = copy_of_the_repository();
    edit_json(&copy.path().join("dashboards/stream-processor.json"), |body| {
        body["widgets"][1]["width"] = json!(30);
        body["widgets"][1]["properties"]["metrics"][1][1] = json!("RecordsFaild");
    });
    let output = obsctl(copy.path(), &["lint"]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains("leave the 24-column grid"), "{message}");
    assert!(
        message.contains("RecordsFaild is not a metric the function writes"),
        "{message}"
    );
}

#[test]
fn lint_reports_a_catalog_metric_missing_from_every_dashboard() {
    let copy = copy_of_the_repository();
    edit_json(&copy.path().join("dashboards/stream-processor.json"), |body| {
        let widgets = body["widgets"].as_array_mut().unwrap();
        for widget in widgets.iter_mut() {
            if let Some(rows) = widget
                .pointer_mut("/properties/metrics")
                .and_then(Value::as_array_mut)
            {
                rows.retain(|row| !row.to_string().contains("ColdStart"));
            }
        }
    });
    let output = obsctl(copy.path(), &["lint"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("the catalog metric ColdStart is on no dashboard"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn lint_reports_an_alarm_cloudwatch_would_reject() {
    let copy = copy_of_the_repository();
    edit_json(&copy.path().join("alarms/iterator-age.json"), |alarm| {
        alarm["alarm"]["Period"] = json!(45);
        alarm["alarm"]["DatapointsToAlarm"] = json!(9);
    });
    let output = obsctl(copy.path(), &["lint"]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(
        message.contains("alarms/iterator-age.json: Period 45 is not 10, 30"),
        "{message}"
    );
    assert!(
        message.contains("DatapointsToAlarm 9 must be from 1 to EvaluationPeriods"),
        "{message}"
    );
    // diff and apply refuse to compare broken definitions.
    let diff = obsctl(copy.path(), &["diff", "--stack-name", "orders"]);
    assert_eq!(diff.status.code(), Some(2));
    assert!(
        stderr(&diff).contains("the definitions have problems"),
        "{}",
        stderr(&diff)
    );
}

#[test]
fn outside_the_repository_every_command_says_to_pass_repo() {
    let elsewhere = tempfile::tempdir().unwrap();
    for command in [&["render"][..], &["lint"], &["diff", "--stack-name", "orders"]] {
        let output = obsctl(elsewhere.path(), command);
        assert_eq!(output.status.code(), Some(2), "{command:?}");
        let message = stderr(&output);
        assert!(
            message.contains("has no template.yaml, dashboards/ or alarms/")
                && message.contains("--repo DIR"),
            "{command:?}: {message}"
        );
    }
}
