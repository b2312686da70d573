//! A real S3-compatible server for the storage tests: moto's server mode (Python package
//! `moto[server]`, pinned and installed by `scripts/deps.sh`), one instance per test on a free
//! loopback port. It runs as long as the test holds the [`S3Server`]; if the test process dies,
//! moto sees its standard input close and exits too. Std only, so the server crate's tests
//! include this file as well.
//!
//! Absent moto (or Python) a test skips with a SKIPPED line, and panics under `CI=true`.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs moto's threaded server on the port given and stops it when standard input closes.
const LAUNCHER: &str = r#"
import sys
from moto.server import ThreadedMotoServer
server = ThreadedMotoServer(ip_address="127.0.0.1", port=int(sys.argv[1]), verbose=False)
server.start()
print("ready", flush=True)
sys.stdin.read()
server.stop()
"#;

pub struct S3Server {
    child: Child,
    pub port: u16,
    /// `http://127.0.0.1:<port>`
    pub endpoint: String,
}

fn python() -> String {
    std::env::var("FACEPROOF_TEST_PYTHON").unwrap_or_else(|_| "python3".into())
}

fn skip(msg: &str) -> Option<S3Server> {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

impl S3Server {
    /// Start moto on a free port and wait until it answers; `None` (with a SKIPPED line) when
    /// moto is not installed.
    pub fn start() -> Option<S3Server> {
        let have = Command::new(python())
            .args(["-c", "import moto.server, flask"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if !have {
            return skip("the S3 tests need moto's server mode: pip install 'moto[server]' (scripts/deps.sh installs the pinned version)");
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        Some(S3Server::start_on(port))
    }

    /// Start moto on `port` (used again after [`S3Server::stop`]).
    pub fn start_on(port: u16) -> S3Server {
        let child = Command::new(python())
            .args(["-c", LAUNCHER, &port.to_string()])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting moto");
        let s = S3Server {
            child,
            port,
            endpoint: format!("http://127.0.0.1:{port}"),
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while request(port, "GET", "/").is_err() {
            assert!(Instant::now() < deadline, "moto did not start on {port}");
            std::thread::sleep(Duration::from_millis(100));
        }
        s
    }

    /// Create a bucket (an unsigned PUT: moto does not check signatures).
    pub fn create_bucket(&self, name: &str) {
        let status = request(self.port, "PUT", &format!("/{name}")).expect("creating a bucket");
        assert_eq!(status, 200, "creating bucket {name}");
    }

    /// The server settings of a bucket of this store, as `FACEPROOF_*` variables.
    pub fn env(&self, bucket: &str) -> Vec<(&'static str, String)> {
        vec![
            ("FACEPROOF_MEDIA_STORE", "s3".into()),
            ("FACEPROOF_S3_ENDPOINT", self.endpoint.clone()),
            ("FACEPROOF_S3_BUCKET", bucket.into()),
            ("FACEPROOF_S3_REGION", "us-east-1".into()),
            ("FACEPROOF_S3_ACCESS_KEY_ID", "faceproof-test".into()),
            (
                "FACEPROOF_S3_SECRET_ACCESS_KEY",
                "faceproof-test-secret".into(),
            ),
            ("FACEPROOF_S3_PATH_STYLE", "true".into()),
        ]
    }

    /// Stop the store (the port is free again afterwards).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        self.stop();
    }
}

/// One HTTP/1.1 request without a body; the response's status code.
fn request(port: u16, method: &str, path: &str) -> std::io::Result<u16> {
    let mut c = TcpStream::connect(("127.0.0.1", port))?;
    c.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        c,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )?;
    let mut head = Vec::new();
    c.read_to_end(&mut head)?;
    let text = String::from_utf8_lossy(&head);
    text.split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("not HTTP: {text:.80}")))
}
