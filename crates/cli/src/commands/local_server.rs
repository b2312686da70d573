//! A throw-away `faceproof serve` of this binary for the commands that measure through the HTTP
//! API (`bench-api`, `eval-api`, `eval-capture`): a free loopback port, a temporary data directory on SQLite, the
//! pack the command was given, and an ADMIN to log in with; plus the process figures (CPU time,
//! peak memory) those commands report.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use reqwest::blocking::Client;
use serde_json::{json, Value};

use crate::Globals;

pub const ADMIN_EMAIL: &str = "bench@example.com";
pub const ADMIN_PASSWORD: &str = "bench-password";

pub struct Server {
    pub child: Child,
    pub base: String,
    _dir: tempfile::TempDir,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn start_server(globals: &Globals) -> anyhow::Result<Server> {
    start_server_of(globals, &std::env::current_exe()?)
}

/// [`start_server`] with another build of `faceproof` as the server (`bench-api --baseline`
/// measures an earlier build beside this one, in the same run).
pub fn start_server_of(globals: &Globals, exe: &std::path::Path) -> anyhow::Result<Server> {
    let dir = tempfile::tempdir()?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let mut command = Command::new(exe);
    // The server runs the pack this command was given (the engine baseline uses it too).
    match &globals.pack_arg {
        Some(pack) => command.env("FACEPROOF_PACK", pack),
        None => command.env_remove("FACEPROOF_PACK"),
    };
    let child = command
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--data-dir",
        ])
        .arg(dir.path())
        .env("FACEPROOF_MODELS_DIR", &globals.models_dir)
        .env("FACEPROOF_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("FACEPROOF_ADMIN_PASSWORD", ADMIN_PASSWORD)
        .env_remove("FACEPROOF_DATABASE_URL")
        .env_remove("FACEPROOF_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting the server")?;
    let server = Server {
        child,
        base: format!("http://127.0.0.1:{port}"),
        _dir: dir,
    };
    let client = Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while !client
        .get(format!("{}/api/version", server.base))
        .send()
        .is_ok_and(|r| r.status().is_success())
    {
        if Instant::now() > deadline {
            bail!("the server did not start");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Ok(server)
}

/// CPU time (user + system) the process and its finished children (ffmpeg) have used so far,
/// from `/proc/<pid>/stat`; `None` off Linux. Per-analysis CPU is what sizing needs: unlike latency it does not grow when other
/// programs share the cores.
pub fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces) start after the last ')'.
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime, stime, cutime, cstime are fields 14–17 of the file, 12–15 here; in USER_HZ ticks,
    // which Linux fixes at 100 per second in its ABI.
    let mut ticks = 0.0;
    for i in 11..15 {
        ticks += fields.get(i)?.parse::<f64>().ok()?;
    }
    Some(ticks / 100.0)
}

/// The process's peak resident memory (VmHWM) in MiB, from `/proc/<pid>/status`.
pub fn peak_rss_mib(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .ok()?;
    Some(kib / 1024.0)
}

/// Log in with email and password; the access token.
pub fn login(client: &Client, base: &str, email: &str, password: &str) -> anyhow::Result<String> {
    let resp: Value = client
        .post(format!("{base}/api/authorize/auth"))
        .json(&json!({"credentials": {"email": email, "password": password}}))
        .send()?
        .json()?;
    Ok(resp["access_token"]
        .as_str()
        .with_context(|| format!("logging in to {base}"))?
        .to_string())
}
