//! A fault-injecting proxy between the SDK and moto (`scripts/fault_proxy.py`), one per test:
//! real connections that are reset, stalled, cut half way or answered with errors.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};
use taxistream_aws::{SdkTimeouts, clients};

/// How long the proxy holds a stalled response: longer than the tests' 2 s attempt timeout.
const STALL_SECONDS: u32 = 6;

/// A running proxy, stopped when dropped.
pub struct FaultProxy {
    child: Child,
    /// Its URL, to use as the endpoint.
    pub endpoint: String,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

/// One of each network fault on the requests matching `target`, one after another: a 500,
/// throttling, a reset before the request reaches moto and one after it was applied, a stall,
/// a 503.
pub fn every_fault(target: &str) -> Vec<serde_json::Value> {
    [
        "status-500",
        "throttle",
        "reset-before",
        "reset-after",
        "stall",
        "status-503",
    ]
    .iter()
    .zip(0..)
    .map(|(fault, skip)| rule(target, fault, skip, 1))
    .collect()
}

/// SDK clients through a proxy (see [`FaultProxy::clients`]).
pub struct ProxiedClients {
    /// S3, path-style.
    pub s3: aws_sdk_s3::Client,
    /// Kinesis.
    pub kinesis: aws_sdk_kinesis::Client,
    /// DynamoDB.
    pub dynamodb: aws_sdk_dynamodb::Client,
}

/// One rule: of the requests whose `METHOD PATH X-Amz-Target` contains `target`, the first
/// `skip` pass and the next `count` get `fault` (see `scripts/fault_proxy.py`).
pub fn rule(target: &str, fault: &str, skip: u32, count: u32) -> serde_json::Value {
    serde_json::json!({"target": target, "fault": fault, "skip": skip, "count": count})
}

impl FaultProxy {
    /// Starts a proxy to the emulator applying `rules`.
    pub fn start(rules: &[serde_json::Value]) -> FaultProxy {
        let upstream = std::env::var("AWS_ENDPOINT_URL").unwrap_or_default();
        let dir = tempfile::tempdir().unwrap();
        let port_file = dir.path().join("port");
        let log = dir.path().join("faults.jsonl");
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/fault_proxy.py");
        let child = Command::new("python3")
            .arg(script)
            .args(["--upstream", &upstream, "--rules"])
            .arg(serde_json::Value::from(rules.to_vec()).to_string())
            .arg("--port-file")
            .arg(&port_file)
            .arg("--log")
            .arg(&log)
            .args(["--stall-seconds", &STALL_SECONDS.to_string()])
            .spawn()
            .unwrap_or_else(|error| panic!("cannot start the fault proxy: {error}"));
        let started = Instant::now();
        let port = loop {
            if let Ok(port) = std::fs::read_to_string(&port_file) {
                break port;
            }
            assert!(
                started.elapsed() < Duration::from_secs(10),
                "fault proxy not up"
            );
            std::thread::sleep(Duration::from_millis(20));
        };
        FaultProxy {
            child,
            endpoint: format!("http://127.0.0.1:{}", port.trim()),
            log,
            _dir: dir,
        }
    }

    /// SDK clients whose every call goes through the proxy, with 2 s connect and attempt
    /// timeouts (shorter than a stall) and 20 s per call.
    pub async fn clients(&self) -> ProxiedClients {
        let timeouts = SdkTimeouts {
            connect: Duration::from_secs(2),
            attempt: Duration::from_secs(2),
            operation: Duration::from_secs(20),
        };
        let config = clients::load_config(&timeouts)
            .await
            .unwrap_or_else(|error| panic!("{error}"));
        // Set on each service's builder: `AWS_ENDPOINT_URL` from the environment (moto itself)
        // would win over the shared configuration's endpoint.
        ProxiedClients {
            s3: aws_sdk_s3::Client::from_conf(
                aws_sdk_s3::config::Builder::from(&config)
                    .endpoint_url(&self.endpoint)
                    .force_path_style(true)
                    .build(),
            ),
            kinesis: aws_sdk_kinesis::Client::from_conf(
                aws_sdk_kinesis::config::Builder::from(&config)
                    .endpoint_url(&self.endpoint)
                    .build(),
            ),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(
                aws_sdk_dynamodb::config::Builder::from(&config)
                    .endpoint_url(&self.endpoint)
                    .build(),
            ),
        }
    }

    /// The faults injected so far, by kind, in order.
    pub fn injected(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .map(|line| {
                let entry: serde_json::Value = serde_json::from_str(line).unwrap();
                entry["fault"].as_str().unwrap_or_default().to_owned()
            })
            .collect()
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
