//! The report as a picture: the HTML page rendered by headless Chromium (Debian's `chromium`, or the
//! binary `CHROMIUM` names), as the README's `docs/rehearsal-report.png` is made:
//!
//! ```sh
//! cargo run -p obsctl -- rehearse scenarios/redrive-after-an-outage.json --picture docs/rehearsal-report.png
//! ```
//!
//! The tests open the page the same way ([`headless`]), so the picture is what they check.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The window the picture is taken in: wide enough for two widgets a row, tall enough for the
/// dashboards and the alarm timeline.
pub const WINDOW: &str = "--window-size=1600,2600";

/// How long Chromium may take to render a page.
const TIMEOUT: Duration = Duration::from_secs(90);

/// The Chromium binary: `CHROMIUM`, else Debian's `/usr/bin/chromium`.
pub fn chromium() -> Result<PathBuf, String> {
    let path = PathBuf::from(std::env::var_os("CHROMIUM").unwrap_or_else(|| "/usr/bin/chromium".into()));
    if path.exists() {
        Ok(path)
    } else {
        Err(format!(
            "{} not found: install Debian's chromium (apt-get install chromium) or set CHROMIUM",
            path.display()
        ))
    }
}

/// What a headless run of Chromium left: whether it exited successfully, its stdout and stderr.
pub struct Headless {
    pub succeeded: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs Chromium headless on `page` with `arguments` and a profile of its own in `profile`, for at
/// most 90 seconds; nothing it does reaches the network.
pub fn headless(page: &Path, profile: &Path, arguments: &[String]) -> Result<Headless, String> {
    let mut child = Command::new(chromium()?)
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
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot start chromium: {error}"))?;
    let deadline = Instant::now() + TIMEOUT;
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(format!("chromium did not finish within {} s", TIMEOUT.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(error) => return Err(format!("cannot wait for chromium: {error}")),
        }
    }
    let output = child
        .wait_with_output()
        .map_err(|error| format!("cannot read chromium's output: {error}"))?;
    Ok(Headless {
        succeeded: output.status.success(),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
    })
}

/// Renders the report `page` (HTML) into the PNG file `picture`, through a scratch folder next to it
/// that is removed afterwards.
pub fn take(page: &str, picture: &Path) -> Result<(), String> {
    let scratch = picture.with_extension("rendering");
    std::fs::create_dir_all(&scratch)
        .map_err(|error| format!("cannot create {}: {error}", scratch.display()))?;
    let result = (|| {
        let scratch = scratch
            .canonicalize()
            .map_err(|error| format!("cannot resolve {}: {error}", scratch.display()))?;
        let html = scratch.join("report.html");
        std::fs::write(&html, page).map_err(|error| format!("cannot write {}: {error}", html.display()))?;
        let shot = scratch.join("report.png");
        let run = headless(
            &html,
            &scratch.join("profile"),
            &[WINDOW.into(), format!("--screenshot={}", shot.display())],
        )?;
        if !run.succeeded || !shot.exists() {
            return Err(format!(
                "chromium did not render the report: {}",
                run.stderr.trim()
            ));
        }
        std::fs::copy(&shot, picture)
            .map(|_| ())
            .map_err(|error| format!("cannot write {}: {error}", picture.display()))
    })();
    let _ = std::fs::remove_dir_all(&scratch);
    result
}
