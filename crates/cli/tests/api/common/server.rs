//! The real `faceproof` processes of a test: [`Server`] (`faceproof serve` on a free port with a
//! temporary data directory, on SQLite or on a fresh PostgreSQL database of its own, dropped with
//! the database when the test ends), a second `serve` or a `worker` on the same data
//! ([`Server::peer`], [`Server::worker`]), and [`faceproof`] for one-shot commands — every one
//! without the configuration a developer's shell may hold.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::blocking::{multipart, Client, RequestBuilder, Response};
use reqwest::Method;
use serde_json::{json, Value};

use super::{eventually, Backend};

pub const ADMIN_EMAIL: &str = "admin@example.com";
pub const ADMIN_PASSWORD: &str = "admin-password-1";

/// Settings a developer's environment may hold that would change what a test's process does.
const INHERITED: [&str; 4] = [
    "FACEPROOF_CONFIG",
    "FACEPROOF_DATABASE_URL",
    "FACEPROOF_PUBLIC_URL",
    "FACEPROOF_SESSION_TTL",
];

/// `faceproof <args>` (the binary under test) without inherited configuration.
pub fn faceproof(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_faceproof"));
    cmd.args(args);
    for var in INHERITED {
        cmd.env_remove(var);
    }
    cmd
}

/// A `faceproof` process killed (and reaped) when dropped.
pub struct Process {
    pub child: Child,
    /// `http://127.0.0.1:<port>` for a `serve`.
    pub base: String,
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Wait (at most `secs`) until `{base}/api/version` answers 200.
pub fn wait_http_ready(client: &Client, base: &str, secs: u64) {
    eventually(secs, &format!("{base}/api/version answering 200"), || {
        client
            .get(format!("{base}/api/version"))
            .send()
            .is_ok_and(|r| r.status() == 200)
            .then_some(())
    });
}

/// Run `f` on SQLite, or on PostgreSQL when configured.
pub fn on(backend: Backend, env: &[(&str, &str)], f: impl FnOnce(&Server)) {
    if let Some(server) = Server::start(backend, env) {
        f(&server);
    }
}

pub struct Server {
    child: Child,
    pub base: String,
    pub data_dir: tempfile::TempDir,
    pub backend: Backend,
    db_url: Option<String>,
    pub client: Client,
    /// Where the server's stderr goes (appended, restarts included); inherited when `None`.
    log: Option<PathBuf>,
}

/// `faceproof serve` on `listen` with a data directory, an optional database URL, the first
/// ADMIN's credentials and `env`; no inherited configuration.
fn serve_command(
    listen: &str,
    data_dir: &std::path::Path,
    db_url: Option<&str>,
    env: &[(&str, &str)],
    log: Option<&std::path::Path>,
) -> Command {
    let mut cmd = faceproof(&["serve", "--listen", listen, "--data-dir"]);
    cmd.arg(data_dir);
    if let Some(url) = db_url {
        cmd.args(["--database-url", url]);
    }
    cmd.env("FACEPROOF_ADMIN_EMAIL", ADMIN_EMAIL)
        .env("FACEPROOF_ADMIN_PASSWORD", ADMIN_PASSWORD);
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.stdout(Stdio::null());
    match log {
        Some(path) => cmd.stderr(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .expect("opening the server log"),
        ),
        None => cmd.stderr(Stdio::inherit()),
    };
    cmd
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A one-thread runtime for a test's own async calls (the store, S3 clients).
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

fn fresh_database_url(base: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    // Tests of one process start servers at once: a counter keeps their names apart.
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let name = format!("faceproof_test_{}_{n}_{}", std::process::id(), nanos);
    let (without_query, query) = match base.split_once('?') {
        Some((a, q)) => (a, format!("?{q}")),
        None => (base, String::new()),
    };
    let prefix = &without_query[..without_query.rfind('/').expect("database URL with a path")];
    format!("{prefix}/{name}{query}")
}

impl Server {
    /// Start a server; `None` (with a SKIPPED line) for PostgreSQL when no test database URL is set.
    pub fn start(backend: Backend, env: &[(&str, &str)]) -> Option<Server> {
        Server::start_logged(backend, env, None)
    }

    /// [`Server::start`] with the server's stderr appended to `log`.
    pub fn start_logged(
        backend: Backend,
        env: &[(&str, &str)],
        log: Option<PathBuf>,
    ) -> Option<Server> {
        let db_url = match backend {
            Backend::Sqlite => None,
            Backend::Postgres => match std::env::var("FACEPROOF_TEST_DATABASE_URL") {
                Ok(base) if !base.is_empty() => {
                    let url = fresh_database_url(&base);
                    runtime()
                        .block_on(faceproof_server::store::create_database(&url))
                        .expect("creating the test database");
                    Some(url)
                }
                _ => {
                    if std::env::var("CI").as_deref() == Ok("true") {
                        panic!("CI=true but FACEPROOF_TEST_DATABASE_URL is not set");
                    }
                    eprintln!("SKIPPED: PostgreSQL tests need FACEPROOF_TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres)");
                    return None;
                }
            },
        };
        let data_dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let child = serve_command(
            &format!("127.0.0.1:{port}"),
            data_dir.path(),
            db_url.as_deref(),
            env,
            log.as_deref(),
        )
        .spawn()
        .expect("starting faceproof serve");
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
            data_dir,
            backend,
            db_url,
            client: Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap(),
            log,
        };
        server.wait_ready();
        Some(server)
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub fn req(&self, method: Method, path: &str, token: Option<&str>) -> RequestBuilder {
        let r = self.client.request(method, self.url(path));
        match token {
            Some(t) => r.header("X-Forensic-Access-Token", t),
            None => r,
        }
    }

    pub fn login_raw(&self, email: &str, password: &str) -> Response {
        self.req(Method::POST, "/api/authorize/auth", None)
            .json(&json!({"credentials": {"email": email, "password": password}}))
            .send()
            .unwrap()
    }

    pub fn login(&self, email: &str, password: &str) -> String {
        let r = self.login_raw(email, password);
        assert_eq!(r.status(), 200, "login of {email}");
        let v: Value = r.json().unwrap();
        v["access_token"].as_str().unwrap().to_string()
    }

    pub fn admin(&self) -> String {
        self.login(ADMIN_EMAIL, ADMIN_PASSWORD)
    }

    /// Send and return (status, JSON body or Null).
    pub fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut r = self.req(method, path, token);
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// Create a company and return its id.
    pub fn company(&self, admin: &str, name: &str) -> String {
        let (s, v) = self.call(
            Method::POST,
            "/api/companies/",
            Some(admin),
            Some(json!({"name": name})),
        );
        assert_eq!(s, 201, "{v}");
        v["company_id"].as_str().unwrap().to_string()
    }

    /// Create a user and log in; returns (user_id, token).
    pub fn user(
        &self,
        creator: &str,
        email: &str,
        role: &str,
        company: Option<&str>,
    ) -> (String, String) {
        let (s, v) = self.call(
            Method::POST,
            "/api/users/",
            Some(creator),
            Some(json!({"email": email, "password": "password-123", "user_type": role, "company_id": company,
                        "first_name": "Test", "last_name": role})),
        );
        assert_eq!(s, 201, "creating {email}: {v}");
        (
            v["user_id"].as_str().unwrap().to_string(),
            self.login(email, "password-123"),
        )
    }

    /// Upload files to `path` (multipart, files under the given keys, payload JSON).
    pub fn upload(
        &self,
        path: &str,
        token: &str,
        files: &[(&str, &std::path::Path)],
        payload: Option<Value>,
    ) -> (u16, Value) {
        let mut form = multipart::Form::new();
        for (key, file) in files {
            let bytes = std::fs::read(file).unwrap();
            let name = file.file_name().unwrap().to_string_lossy().to_string();
            form = form.part(
                key.to_string(),
                multipart::Part::bytes(bytes).file_name(name),
            );
        }
        if let Some(p) = payload {
            form = form.text("payload", p.to_string());
        }
        self.upload_form(path, token, form)
    }

    pub fn upload_bytes(
        &self,
        path: &str,
        token: &str,
        key: &str,
        name: &str,
        bytes: Vec<u8>,
        payload: Option<Value>,
    ) -> (u16, Value) {
        let mut form = multipart::Form::new().part(
            key.to_string(),
            multipart::Part::bytes(bytes).file_name(name.to_string()),
        );
        if let Some(p) = payload {
            form = form.text("payload", p.to_string());
        }
        self.upload_form(path, token, form)
    }

    pub fn upload_form(&self, path: &str, token: &str, form: multipart::Form) -> (u16, Value) {
        let resp = self
            .req(Method::POST, path, Some(token))
            .multipart(form)
            .send()
            .unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().unwrap_or(Value::Null))
    }

    /// Number of regular files under the media directory.
    pub fn media_files(&self) -> usize {
        fn count(p: &std::path::Path) -> usize {
            std::fs::read_dir(p)
                .map(|rd| {
                    rd.filter_map(|e| e.ok())
                        .map(|e| {
                            if e.path().is_dir() {
                                count(&e.path())
                            } else {
                                1
                            }
                        })
                        .sum()
                })
                .unwrap_or(0)
        }
        count(&self.data_dir.path().join("media").join("folders"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(url) = &self.db_url {
            if let Err(e) = runtime().block_on(faceproof_server::store::drop_database(url)) {
                eprintln!("warning: could not drop {url}: {e}");
            }
        }
    }
}

impl Server {
    /// Start a server on SQLite listening on `host` (e.g. `0.0.0.0`) instead of 127.0.0.1; it is
    /// still reached through 127.0.0.1.
    pub fn start_listening_on(host: &str, env: &[(&str, &str)]) -> Server {
        let data_dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let mut cmd = serve_command(&format!("{host}:{port}"), data_dir.path(), None, env, None);
        let server = Server {
            child: cmd.spawn().expect("starting faceproof serve"),
            base: format!("http://127.0.0.1:{port}"),
            data_dir,
            backend: Backend::Sqlite,
            db_url: None,
            client: Client::builder()
                .timeout(Duration::from_secs(120))
                .build()
                .unwrap(),
            log: None,
        };
        server.wait_ready();
        server
    }
}

impl Server {
    /// The database URL this server uses.
    pub fn database_url(&self) -> String {
        self.db_url.clone().unwrap_or_else(|| {
            format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.path().join("faceproof.db").display()
            )
        })
    }

    /// The server's database, opened beside it, with a runtime to drive it.
    pub fn store(&self) -> (tokio::runtime::Runtime, faceproof_server::store::Store) {
        let rt = runtime();
        let store = rt
            .block_on(faceproof_server::store::Store::connect(
                &self.database_url(),
            ))
            .expect("opening the server's database");
        (rt, store)
    }

    /// Rows in a table of the server's database.
    pub fn db_count(&self, table: &str) -> i64 {
        let (rt, store) = self.store();
        rt.block_on(store.table_count(table)).unwrap()
    }

    /// Make an access token expired, as if its TTL had passed (the session stays).
    pub fn expire_token(&self, token: &str) {
        let (rt, store) = self.store();
        let n = rt
            .block_on(
                sqlx::query("UPDATE sessions SET access_expires = 1 WHERE access_hash = $1")
                    .bind(faceproof_server::auth::tokens::digest(token))
                    .execute(&store.pool),
            )
            .unwrap()
            .rows_affected();
        assert_eq!(n, 1, "no session for that token");
    }

    /// Make a web plugin session token expired, as if its TTL had passed.
    pub fn expire_session_token(&self, token: &str) {
        let (rt, store) = self.store();
        let n = rt
            .block_on(
                sqlx::query("UPDATE web_sdk_sessions SET token_expires = 1 WHERE token_hash = $1")
                    .bind(faceproof_server::auth::tokens::digest(token))
                    .execute(&store.pool),
            )
            .unwrap()
            .rows_affected();
        assert_eq!(n, 1, "no plugin session for that token");
    }

    /// Make a web plugin session's hand-off token expired.
    pub fn expire_handoff_token(&self, token: &str) {
        let (rt, store) = self.store();
        let n = rt
            .block_on(
                sqlx::query(
                    "UPDATE web_sdk_sessions SET handoff_expires = 1 WHERE handoff_token_hash = $1",
                )
                .bind(faceproof_server::auth::tokens::digest(token))
                .execute(&store.pool),
            )
            .unwrap()
            .rows_affected();
        assert_eq!(n, 1, "no plugin session for that hand-off token");
    }

    /// (state, attempts) of the job of an analysis or delivery.
    pub fn job_of(&self, target: &str) -> Option<(String, i64)> {
        let (rt, store) = self.store();
        rt.block_on(store.job_of(target.parse().unwrap()))
            .unwrap()
            .map(|(state, attempts)| (state.to_string(), attempts))
    }

    /// Kill the server at once (SIGKILL, no graceful shutdown) and start it again on the same
    /// port, data directory and database, with `env` added.
    pub fn crash_and_restart(&mut self, env: &[(&str, &str)]) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.restart(env);
    }

    /// Start the server again (after it exited) on the same port, data directory and database.
    pub fn restart(&mut self, env: &[(&str, &str)]) {
        let port = self.base.rsplit(':').next().unwrap().to_string();
        self.child = serve_command(
            &format!("127.0.0.1:{port}"),
            self.data_dir.path(),
            self.db_url.as_deref(),
            env,
            self.log.as_deref(),
        )
        .spawn()
        .expect("restarting faceproof serve");
        self.wait_ready();
    }

    /// Send SIGTERM and wait (at most `secs`) for the process to exit; its exit status.
    pub fn terminate(&mut self, secs: u64) -> std::process::ExitStatus {
        let ok = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("running kill");
        assert!(ok.success(), "kill -TERM failed");
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the server did not exit within {secs} s of SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait until `/api/version` answers 200 (at most 120 s: a loaded machine starts slowly).
    fn wait_ready(&self) {
        wait_http_ready(&self.client, &self.base, 120);
    }

    /// Poll `GET /api/analyses/{id}` until it leaves PROCESSING (at most `secs`).
    pub fn wait_analysis(&self, token: &str, id: &str, secs: u64) -> Value {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let (s, v) = self.call(
                Method::GET,
                &format!("/api/analyses/{id}"),
                Some(token),
                None,
            );
            assert_eq!(s, 200, "{v}");
            if v["state"] != "PROCESSING" {
                return v;
            }
            assert!(
                Instant::now() < deadline,
                "analysis {id} still PROCESSING after {secs} s: {v}"
            );
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Server {
    /// The process id of the running server (for `/proc/<pid>/status`).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The PostgreSQL database of this server (`None` on SQLite, whose file is in `data_dir`):
    /// for starting a second process on the same data.
    pub fn postgres_url(&self) -> Option<&str> {
        self.db_url.as_deref()
    }
}

/// A company with a CLIENT (who uploads and orders), a CLIENT OPERATOR and a CLIENT ADMIN.
pub struct Tenant {
    pub company: String,
    pub client: String,
    pub operator: String,
    pub admin: String,
}

pub fn tenant(s: &Server, name: &str) -> Tenant {
    let root = s.admin();
    let company = s.company(&root, name);
    let (_, client) = s.user(
        &root,
        &format!("client@{name}.test"),
        "CLIENT",
        Some(&company),
    );
    let (_, operator) = s.user(
        &root,
        &format!("operator@{name}.test"),
        "CLIENT OPERATOR",
        Some(&company),
    );
    let (_, admin) = s.user(
        &root,
        &format!("admin@{name}.test"),
        "CLIENT ADMIN",
        Some(&company),
    );
    Tenant {
        company,
        client,
        operator,
        admin,
    }
}

impl Server {
    /// `faceproof <args> --data-dir <this server's> [--database-url <its PostgreSQL>]`: a
    /// command on this server's data, beside it.
    pub fn on_my_data(&self, args: &[&str]) -> Command {
        let mut cmd = faceproof(args);
        cmd.arg("--data-dir").arg(self.data_dir.path());
        if let Some(url) = self.postgres_url() {
            cmd.args(["--database-url", url]);
        }
        cmd
    }

    /// A second `faceproof serve` on this server's data directory and database (another process
    /// with its own in-memory state), with `env`; ready when returned.
    pub fn peer(&self, env: &[(&str, &str)]) -> Process {
        let port = free_port();
        let mut cmd = self.on_my_data(&["serve", "--listen", &format!("127.0.0.1:{port}")]);
        cmd.envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        let peer = Process {
            child: cmd.spawn().expect("starting a second faceproof serve"),
            base: format!("http://127.0.0.1:{port}"),
        };
        wait_http_ready(&self.client, &peer.base, 120);
        peer
    }

    /// A `faceproof worker` (one job at a time) on this server's data and database, with `env`.
    pub fn worker(&self, env: &[(&str, &str)]) -> Process {
        let mut cmd = faceproof(&["worker", "--workers", "1", "--data-dir"]);
        cmd.arg(self.data_dir.path())
            .args(["--database-url", &self.database_url()])
            .envs(env.iter().copied())
            .stdout(Stdio::null());
        Process {
            child: cmd.spawn().expect("starting faceproof worker"),
            base: String::new(),
        }
    }
}
