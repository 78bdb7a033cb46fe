//! The service as its own process (`checkin serve`), for tests that kill it or read its logs.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::{redis_url, Backend, ADMIN_PASSWORD, JWT_SECRET};

/// A free TCP port on 127.0.0.1.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("a free port: {e}"))
}

/// `checkin serve` on `port` over the test's storage, logging errors only, output discarded;
/// the caller may change the command before starting it.
pub fn serve(backend: Backend, port: u16, dir: &std::path::Path, prefix: &str) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_checkin"));
    cmd.arg("serve")
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--data-dir")
        .arg(dir)
        .env("CHECKIN_OTP_DELIVERY", "echo")
        .env("CHECKIN_RATE_LIMITS", "off")
        .env("CHECKIN_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env("CHECKIN_AUTH__JWT_SECRET", JWT_SECRET)
        .env("CHECKIN_REDIS_KEY_PREFIX", prefix)
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    if backend == Backend::Redis {
        cmd.arg("--redis-url").arg(redis_url());
    }
    cmd
}

/// Waits until `{base}/readyz` answers 2xx; panics after a minute.
pub async fn wait_ready(base: &str) {
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let ok = client
            .get(format!("{base}/readyz"))
            .timeout(Duration::from_secs(2))
            .send()
            .await
            .is_ok_and(|r| r.status().is_success());
        if ok {
            return;
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the service did not start"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A running service; killed when dropped, so a failing test leaves none running.
pub struct Service(pub Child);

impl Service {
    /// Starts `cmd`.
    pub fn start(mut cmd: Command) -> Self {
        Self(cmd.spawn().unwrap_or_else(|e| panic!("checkin serve: {e}")))
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}
