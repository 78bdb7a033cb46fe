//! Running a page test in headless Chromium: `node tests/browser/NAME.mjs` with playwright-core
//! and axe-core, against an app listening on a known port.

use std::time::Duration;

use crate::helpers::{spawn_app_with, Backend, TestApp};

/// Whether the browser test must run: `CHECKIN_BROWSER=required` (set by `scripts/test`, which
/// installs Chromium and the test's npm packages). Without it, and without Chromium or the
/// packages, the test says so and passes.
pub fn browser_ready() -> bool {
    let required = std::env::var("CHECKIN_BROWSER").is_ok_and(|v| v == "required");
    let have = std::path::Path::new(&chromium()).exists()
        && std::path::Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/browser/node_modules/playwright-core"
        ))
        .exists();
    assert!(
        have || !required,
        "CHECKIN_BROWSER=required but Chromium ({}) or tests/browser/node_modules is missing",
        chromium()
    );
    if !have {
        eprintln!(
            "browser test skipped: run scripts/test, which installs Chromium and playwright-core"
        );
    }
    have
}

/// The Chromium binary: `CHECKIN_CHROMIUM`, else Debian's.
pub fn chromium() -> String {
    std::env::var("CHECKIN_CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into())
}

/// An embedded-store app listening on a known free port, whose posters' codes point at it.
pub async fn app_on_known_port() -> TestApp {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("free port: {e}"));
    spawn_app_with(Backend::Embedded, |s| {
        s.listen = format!("127.0.0.1:{port}");
        s.public_base_url = format!("http://127.0.0.1:{port}");
    })
    .await
}

/// Runs `tests/browser/{script}` with `env` (plus `CHROMIUM`, and `SCREENSHOTS` from
/// `CHECKIN_SCREENSHOTS`), within two minutes, and returns its standard output; panics with
/// both outputs when it fails.
pub async fn run_script(script: &str, env: Vec<(&'static str, String)>) -> String {
    let path = format!("{}/tests/browser/{script}", env!("CARGO_MANIFEST_DIR"));
    let run = tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new("node");
        cmd.arg(path).envs(env).env("CHROMIUM", chromium());
        if let Ok(dir) = std::env::var("CHECKIN_SCREENSHOTS") {
            cmd.env("SCREENSHOTS", dir);
        }
        cmd.output()
    });
    let out = tokio::time::timeout(Duration::from_secs(120), run)
        .await
        .unwrap_or_else(|_| panic!("the browser run took over 2 minutes"))
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("running node: {e}"));
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "browser run failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    eprintln!("{stdout}");
    stdout
}
