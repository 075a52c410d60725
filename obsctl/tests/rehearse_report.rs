//! The rehearsal's HTML report opened in headless Chromium (Debian's `chromium`, which `.ci/test`
//! installs; `CHROMIUM` names another binary): the page loads nothing from anywhere, every widget of
//! the dashboard is drawn with data, Chromium renders it without a console error, and the screenshot
//! is kept as the test's artifact (the test prints where).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use obsctl::rehearse::{self, report_html};

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn chromium() -> PathBuf {
    let path = PathBuf::from(std::env::var_os("CHROMIUM").unwrap_or_else(|| "/usr/bin/chromium".into()));
    assert!(
        path.exists(),
        "{} not found: install Debian's chromium (.ci/test does) or set CHROMIUM",
        path.display()
    );
    path
}

/// Runs Chromium headless on `page` with `arguments`, bounded in time; its stderr.
fn headless(page: &Path, profile: &Path, arguments: &[String]) -> (bool, String, String) {
    let mut child = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(arguments)
        .arg(format!("file://{}", page.display()))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("chromium did not finish within 90 s");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    (
        output.status.success(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
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
            "--window-size=1600,2600".into(),
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
