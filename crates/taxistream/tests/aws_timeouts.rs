//! A service that accepts connections and never answers (a half-open connection) makes the
//! AWS commands fail within their timeouts, saying so, instead of hanging.
#![allow(clippy::panic, clippy::unwrap_used, clippy::expect_used)]

use std::io::Read;
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// Accepts every connection and reads what comes, never answering.
fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            std::thread::spawn(move || {
                let mut buffer = [0u8; 4096];
                while matches!(stream.read(&mut buffer), Ok(read) if read > 0) {}
            });
        }
    });
    port
}

#[test]
fn a_service_that_never_answers_fails_produce_within_its_timeouts() {
    let port = silent_server();
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_taxistream"))
        .current_dir(dir.path())
        .args([
            "produce",
            "s3://bucket/incoming/trips.csv",
            "--json",
            "--no-progress",
        ])
        .env_remove("RUST_LOG")
        .env_remove("AWS_PROFILE")
        .env("AWS_ENDPOINT_URL", format!("http://127.0.0.1:{port}"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .env("TAXISTREAM_ATTEMPT_TIMEOUT_SECONDS", "1")
        .env("TAXISTREAM_OPERATION_TIMEOUT_SECONDS", "3")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Far above the 3 s operation timeout: only a hang gets here.
    let limit = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > limit {
            child.kill().unwrap();
            panic!("taxistream produce still waiting for a silent service after 60 s");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "{stderr}");
    assert!(
        stderr.contains("GetObject s3://bucket/incoming/trips.csv") && stderr.contains("timed out"),
        "{stderr}"
    );
}
