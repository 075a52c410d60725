//! The rehearsal's HTML report opened in headless Chromium (Debian's `chromium`, which `.ci/test`
//! installs; `CHROMIUM` names another binary): the page loads nothing from anywhere, every widget of
//! the dashboard is drawn with data, Chromium renders it without a console error, and the screenshot
//! is kept as the test's artifact (the test prints where).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use obsctl::rehearse::{self, picture, report_html};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs Chromium headless on `page` as `obsctl rehearse --picture` does; its exit, stdout, stderr.
fn headless(page: &Path, profile: &Path, arguments: &[String]) -> (bool, String, String) {
    let run = picture::headless(page, profile, arguments).unwrap_or_else(|error| panic!("{error}"));
    (run.succeeded, run.stdout, run.stderr)
}

#[test]
fn the_report_draws_every_widget_with_data_and_renders_in_chromium_without_an_error() {
    let outcome = rehearse::run(
        &repository(),
        &repository().join("scenarios/failure-spike.json"),
        &BTreeMap::new(),
        &|_| {},
    )
    .unwrap();
    let page = report_html::page(&outcome, &outcome.dashboards).unwrap();

    for loads_something in ["src=", "href=", "url(", "<script", "@import", "<link", "<img"] {
        assert!(
            !page.contains(loads_something),
            "the page must load nothing: it has {loads_something}"
        );
    }
    let widgets: Vec<&str> = page.split("<div class=\"widget widget-").skip(1).collect();
    let defined: usize = outcome
        .dashboards
        .iter()
        .map(|(_, body)| body["widgets"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(widgets.len(), defined, "every widget of dashboards/ is drawn");
    for widget in &widgets {
        let kind = widget.split('"').next().unwrap();
        let title = widget
            .split("<h3>")
            .nth(1)
            .and_then(|rest| rest.split("</h3>").next())
            .unwrap_or("");
        let drawn = match kind {
            "metric" => widget.contains("class=\"series\""),
            "alarm" => widget.matches("<rect").count() >= outcome.alarms.len(),
            "log" => widget.contains("<td>") && !widget.contains("no log line matches"),
            "text" => widget.contains("<p>"),
            other => panic!("unexpected widget type {other}"),
        };
        assert!(drawn, "the {kind} widget {title:?} has no data drawn");
    }

    let artifacts = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rehearsal-report");
    let _ = std::fs::remove_dir_all(&artifacts);
    std::fs::create_dir_all(&artifacts).unwrap();
    let html = artifacts.join("failure-spike.html");
    std::fs::write(&html, &page).unwrap();
    let screenshot = artifacts.join("failure-spike.png");
    let (succeeded, _, stderr) = headless(
        &html,
        &artifacts.join("profile-screenshot"),
        &[
            picture::WINDOW.into(),
            format!("--screenshot={}", screenshot.display()),
        ],
    );
    assert!(succeeded, "chromium failed: {stderr}");
    let console_errors: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("CONSOLE") || line.contains("Uncaught"))
        .collect();
    assert!(console_errors.is_empty(), "console messages: {console_errors:#?}");
    let size = std::fs::metadata(&screenshot).unwrap().len();
    assert!(size > 50_000, "the screenshot is {size} bytes: nothing drawn?");
    println!("screenshot of the report: {}", screenshot.display());

    let (succeeded, dom, stderr) = headless(&html, &artifacts.join("profile-dom"), &["--dump-dom".into()]);
    assert!(succeeded, "chromium failed: {stderr}");
    assert_eq!(
        dom.matches("class=\"widget widget-").count(),
        defined,
        "Chromium's DOM holds every widget"
    );
    assert!(
        dom.matches("<polyline").count() >= 10,
        "the graphs' lines are in the DOM"
    );
}
