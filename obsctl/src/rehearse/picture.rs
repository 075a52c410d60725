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
/// most 90 seconds; nothing it does reaches the network. Its output is read while it runs, so a
/// large `--dump-dom` cannot fill a pipe and stall it.
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
        .arg(file_url(page))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("cannot start chromium: {error}"))?;
    let read = |mut stream: Box<dyn std::io::Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = stream.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = child.stdout.take().map(|out| read(Box::new(out)));
    let stderr = child.stderr.take().map(|err| read(Box::new(err)));
    let deadline = Instant::now() + TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if Instant::now() > deadline => {
                let _ = child.kill();
                let _ = child.wait();
                break Err(format!("chromium did not finish within {} s", TIMEOUT.as_secs()));
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(100)),
            Err(error) => break Err(format!("cannot wait for chromium: {error}")),
        }
    };
    let collect = |reader: Option<std::thread::JoinHandle<String>>| {
        reader.and_then(|reader| reader.join().ok()).unwrap_or_default()
    };
    let (stdout, stderr) = (collect(stdout), collect(stderr));
    Ok(Headless {
        succeeded: status?.success(),
        stdout,
        stderr,
    })
}

/// `path` as a `file://` URL, each byte that is not plainly safe in a URL path percent-encoded (a
/// `#`, `?`, `%` or space in a folder name would otherwise cut the URL short).
fn file_url(path: &Path) -> String {
    let mut url = String::from("file://");
    for byte in path.to_string_lossy().bytes() {
        if byte.is_ascii_alphanumeric() || b"/-._~".contains(&byte) {
            url.push(char::from(byte));
        } else {
            url.push_str(&format!("%{byte:02X}"));
        }
    }
    url
}

/// Renders the report `page` (HTML) into the PNG file `picture`, through a scratch folder of its own
/// (created fresh in the system's temporary folder and removed afterwards).
pub fn take(page: &str, picture: &Path) -> Result<(), String> {
    if picture.file_name().is_none() {
        return Err(format!(
            "{} names no file to write the picture to",
            picture.display()
        ));
    }
    let scratch = tempfile::Builder::new()
        .prefix("obsctl-picture-")
        .tempdir()
        .map_err(|error| format!("cannot create a scratch folder: {error}"))?;
    let html = scratch.path().join("report.html");
    std::fs::write(&html, page).map_err(|error| format!("cannot write {}: {error}", html.display()))?;
    let shot = scratch.path().join("report.png");
    let run = headless(
        &html,
        &scratch.path().join("profile"),
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_becomes_a_url_that_keeps_it_whole() {
        assert_eq!(
            file_url(Path::new("/tmp/a b/#1?/100%/report.html")),
            "file:///tmp/a%20b/%231%3F/100%25/report.html"
        );
    }

    #[test]
    fn a_picture_path_without_a_file_name_is_refused_and_nothing_is_touched() {
        for path in [".", "..", "/"] {
            let error = take("<html></html>", Path::new(path)).unwrap_err();
            assert!(
                error.ends_with("names no file to write the picture to"),
                "{error}"
            );
        }
    }
}
