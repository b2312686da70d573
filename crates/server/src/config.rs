//! Server configuration: defaults, then a TOML file, then environment variables, then command-line flags.
//!
//! | key (TOML) | environment variable | default |
//! |---|---|---|
//! | `listen` | `FACEPROOF_LISTEN` | `127.0.0.1:8080` |
//! | `data_dir` | `FACEPROOF_DATA_DIR` | `./faceproof-data` (SQLite file `faceproof.db` and `media/`) |
//! | `database_url` | `FACEPROOF_DATABASE_URL` | `sqlite://<data_dir>/faceproof.db` (`postgres://…` for PostgreSQL) |
//! | `public_url` | `FACEPROOF_PUBLIC_URL` | none: media URLs are built from the request's `Host` header |
//! | `session_ttl_secs` | `FACEPROOF_SESSION_TTL` | 900 (15 minutes; Oz `OZ_SESSION_TTL`) |
//! | `service_session_ttl_secs` | `FACEPROOF_SERVICE_SESSION_TTL` | 157680000 (5 years; Oz `OZ_SESSION_LONGLIVE_TTL`) |
//! | `refresh_ttl_secs` | `FACEPROOF_REFRESH_TTL` | 604800 (7 days; never shorter than the session TTL) |
//! | `sliding_expiry` | `FACEPROOF_SLIDING_EXPIRY` | true |
//! | `login_max_failures` | `FACEPROOF_LOGIN_MAX_FAILURES` | 10 (failed sign-ins of one account from one client address before that pair waits; also wrong `current_password`s) |
//! | `login_backoff_secs` | `FACEPROOF_LOGIN_BACKOFF` | 30 (the first wait; doubles with every further failure of the pair) |
//! | `login_backoff_max_secs` | `FACEPROOF_LOGIN_BACKOFF_MAX` | 3600 (the longest wait) |
//! | `login_window_secs` | `FACEPROOF_LOGIN_WINDOW` | 300 (a pair's count is forgotten this long after its last failure) |
//! | `login_max_address_failures` | `FACEPROOF_LOGIN_MAX_ADDRESS_FAILURES` | 0 = off (failures from one address, any account, within the window that refuse the whole address: stops credential stuffing, but locks out everyone behind a shared NAT) |
//! | `trusted_proxies` | `FACEPROOF_TRUSTED_PROXIES` | empty (comma-separated addresses or CIDR ranges of reverse proxies; from them the client address is read from `X-Forwarded-For`, else it is the connection's peer) |
//! | `max_files_per_folder` | `FACEPROOF_MAX_FILES_PER_FOLDER` | 10 |
//! | `max_file_bytes` | `FACEPROOF_MAX_FILE_BYTES` | 10485760 (10 MiB) |
//! | `max_request_bytes` | `FACEPROOF_MAX_REQUEST_BYTES` | 110100480 (105 MiB) |
//! | `upload_memory_bytes` | `FACEPROOF_UPLOAD_MEMORY_BYTES` | 4194304 (4 MiB: an uploaded file is held in memory up to this size; a larger one is written to the temporary area as it arrives, checked there and streamed to the media store in parts, then deleted; 0 = every file to disk) |
//! | `max_video_seconds` | `FACEPROOF_MAX_VIDEO_SECONDS` | 60 |
//! | `max_video_pixels` | `FACEPROOF_MAX_VIDEO_PIXELS` | 8294400 (3840×2160; larger video frames are refused at upload from the header, 413) |
//! | `max_decode_bytes` | `FACEPROOF_MAX_DECODE_BYTES` | 150000000 (a still's decoder buffer, pixels × bytes per pixel of its colour type, checked from the header: 50 M pixels of 8-bit RGB, 18.75 M of 16-bit RGBA; more → 413) |
//! | `max_image_side` | `FACEPROOF_MAX_IMAGE_SIDE` | 4096 (stills are box-downscaled to this longer side right after decoding) |
//! | `max_shots` | `FACEPROOF_MAX_SHOTS` | 100 (frames in a SHOTS_SET ZIP, each within the still limits, 128 MiB unpacked at most; more → 413) |
//! | `max_parallel_decodes` | `FACEPROOF_MAX_PARALLEL_DECODES` | 2 (media decoded at once per process: upload checks and engine runs together; see below) |
//! | `media_tool_timeout_secs` | `FACEPROOF_MEDIA_TOOL_TIMEOUT` | 60 (wall-clock budget of every ffmpeg/ffprobe run; the child is killed and the media refused: 413 at upload, a per-media error in an analysis) |
//! | `temp_dir` | `FACEPROOF_TEMP_DIR` | `<data_dir>/tmp` (videos written for ffmpeg and uploads over `upload_memory_bytes`; emptied of dead processes' files at start-up) |
//! | `workers` | `FACEPROOF_WORKERS` | number of cores (analysis workers inside `serve`; 0 = only `faceproof worker` processes) |
//! | `inference_threads` | `FACEPROOF_INFERENCE_THREADS` | number of cores (engine calls running at once, per process) |
//! | `job_lease_secs` | `FACEPROOF_JOB_LEASE` | 60 (a claimed job whose worker stops renewing is picked up again after this) |
//! | `job_max_attempts` | `FACEPROOF_JOB_MAX_ATTEMPTS` | 3 (then the analysis ends FAILED with the last reason) |
//! | `job_poll_ms` | `FACEPROOF_JOB_POLL_MS` | 500 (how often idle workers look for jobs queued by other processes) |
//! | `liveness_threshold` | `FACEPROOF_LIVENESS_THRESHOLD` | 0.5 (`confidence_spoofing` at or above ⇒ DECLINED) |
//! | `biometry_threshold` | `FACEPROOF_BIOMETRY_THRESHOLD` | 0.85 (`min_confidence` at or above ⇒ SUCCESS) |
//! | `collection_threshold` | `FACEPROOF_COLLECTION_THRESHOLD` | 0.85 (a blacklist match at or above ⇒ DECLINED; the floor of the gallery-size threshold) |
//! | `collection_fpir` | `FACEPROOF_COLLECTION_FPIR` | 0.01 (default 1:N threshold: raised with the gallery so that at most this share of strangers hit; 0 = always `collection_threshold`) |
//! | `webhook_secret` | `FACEPROOF_WEBHOOK_SECRET` | none (signs webhooks of folders outside any company; companies have their own) |
//! | `webhook_max_attempts` | `FACEPROOF_WEBHOOK_MAX_ATTEMPTS` | 8 |
//! | `webhook_backoff_ms` | `FACEPROOF_WEBHOOK_BACKOFF_MS` | 2000 (doubles after each failed attempt) |
//! | `webhook_timeout_secs` | `FACEPROOF_WEBHOOK_TIMEOUT` | 10 |
//! | `webhook_allowed_hosts` | `FACEPROOF_WEBHOOK_ALLOWED_HOSTS` | empty = any public host (comma-separated `host` or `host:port`; when set, other callback URLs are refused with error 4; listed hosts may be internal) |
//! | `webhook_allow_internal` | `FACEPROOF_WEBHOOK_ALLOW_INTERNAL` | false (true lets webhooks reach loopback, private and link-local addresses) |
//! | `face_policy` | `FACEPROOF_FACE_POLICY` | `dominant` (the largest face is the subject; faces under half its width are bystanders, reported but not declining; a comparable second face declines with `multiple_faces`). `strict`: any second face declines. Companies override it with the `face_policy` setting |
//! | `webhook_dns_server` | `FACEPROOF_WEBHOOK_DNS_SERVER` | none: the system resolver (`ip:port` of a DNS server that resolves webhook hosts instead, e.g. `10.0.0.2:53`; no hosts file, no search domains; its answers are filtered like the system's) |
//! | `lite_api_key` | `FACEPROOF_LITE_API_KEY` | none: the Lite API (`/v1/face/…`) is open only when listening on loopback, refused otherwise |
//! | `pack` | `FACEPROOF_PACK` (also `--pack`) | `sface` (the model pack: `sface`, `faceplugin` or a manifest path; embeddings of another pack are never compared — `faceproof reindex` re-embeds collections after a switch) |
//! | `metrics_token` | `FACEPROOF_METRICS_TOKEN` | none (`GET /metrics` then needs `Authorization: Bearer <token>`; see below) |
//! | `metrics_listen` | `FACEPROOF_METRICS_LISTEN` | none (a second address serving only `/metrics` and `/health/*`, e.g. `127.0.0.1:9464`) |
//! | `shutdown_timeout_secs` | `FACEPROOF_SHUTDOWN_TIMEOUT` | 25 (after SIGTERM: in-flight requests and running jobs get this long, then the rest's leases are released) |
//! | `queue_stall_secs` | `FACEPROOF_QUEUE_STALL` | 600 (a process running workers is not ready while a runnable analysis has waited longer; 0 = never) |
//! | `log_format` | `FACEPROOF_LOG_FORMAT` | `text` (`json`: one JSON object per line, with the request id) |
//! | `media_store` | `FACEPROOF_MEDIA_STORE` | `s3` when `s3_bucket` is set, else `local` (`local`: media files under `<data_dir>/media`; `s3`: a bucket of any S3-compatible store, the `s3_*` settings below) |
//! | `s3_endpoint` | `FACEPROOF_S3_ENDPOINT` | none: AWS's endpoint for the region (e.g. `https://minio.internal:9000` for another store) |
//! | `s3_bucket` | `FACEPROOF_S3_BUCKET` | none (required with `media_store = "s3"`; the bucket must exist) |
//! | `s3_region` | `FACEPROOF_S3_REGION` | `us-east-1` |
//! | `s3_prefix` | `FACEPROOF_S3_PREFIX` | empty (keys go under this path in the bucket, e.g. `faceproof/prod`) |
//! | `s3_access_key_id` | `FACEPROOF_S3_ACCESS_KEY_ID` | none: the standard `AWS_ACCESS_KEY_ID`… variables or the machine's role |
//! | `s3_secret_access_key` | `FACEPROOF_S3_SECRET_ACCESS_KEY` | none (as above; never logged) |
//! | `s3_path_style` | `FACEPROOF_S3_PATH_STYLE` | false (`endpoint/bucket/key` requests instead of `bucket.endpoint/key`: MinIO, Ceph and most self-hosted stores need true) |
//! | `s3_allow_http` | `FACEPROOF_S3_ALLOW_HTTP` | false (plain HTTP to a non-loopback endpoint; an `http://` endpoint on 127.0.0.1, ::1 or localhost is allowed without it) |
//! | `media_part_bytes` | `FACEPROOF_MEDIA_PART_BYTES` | 8388608 (8 MiB: larger files are uploaded in parts of this size; at least 5 MiB, S3's smallest part) |
//! | `web_sdk_token_ttl_secs` | `FACEPROOF_WEB_SDK_TOKEN_TTL` | 300 (life of a session token from `GET /api/authorize/session_token`; single use) |
//! | `web_sdk_session_ttl_secs` | `FACEPROOF_WEB_SDK_SESSION_TTL` | 900 (how long a started plugin session may upload and poll) |
//! | `web_sdk_allowed_origins` | `FACEPROOF_WEB_SDK_ALLOWED_ORIGINS` | empty (page origins allowed to run the web plugin, comma-separated `scheme://host[:port]`, `*` = any; a company's `web_sdk.allowed_origins` setting replaces it; the server's own origin is always allowed) |
//! | `web_sdk_architecture` | `FACEPROOF_WEB_SDK_ARCHITECTURE` | `normal` (`capture`: the plugin only hands the capture to the page) |
//! | `web_sdk_result_mode` | `FACEPROOF_WEB_SDK_RESULT_MODE` | `safe` (`status`, `folder`, `full`: what the plugin's result callbacks carry) |
//! | `web_sdk_actions` | `FACEPROOF_WEB_SDK_ACTIONS` | `video_selfie_blank` (actions when the page names none; `auto` = 1–3 random gestures) |
//! | `web_sdk_actions_default_importance` | `FACEPROOF_WEB_SDK_ACTIONS_DEFAULT_IMPORTANCE` | false (true: the configured actions win over the page's) |
//! | `web_sdk_languages` | `FACEPROOF_WEB_SDK_LANGUAGES` | `en,ru,es,pt-BR,tr` (language packs a page may ask for) |
//! | `web_sdk_lang_default` | `FACEPROOF_WEB_SDK_LANG_DEFAULT` | `en` |
//! | `web_sdk_demo` | `FACEPROOF_WEB_SDK_DEMO` | on when listening on loopback, off otherwise (`/web-sdk/demo/`) |
//!
//! `/metrics` is served on the main address only when `metrics_token` is set, and on
//! `metrics_listen` when that is set (with the token required there too when both are): without
//! either it is not exposed at all. Details in `docs/operations.md`.
//!
//! ## Memory bound
//!
//! Every decode (upload validation, analysis, Instant, Lite, collection enrolment) holds one of
//! `max_parallel_decodes` permits for as long as its pixels live (see
//! [`crate::inference`]); with the defaults one holder needs at most
//!
//! - a still: the decoder buffer (`max_decode_bytes`, 150 MB) + the kept image box-downscaled to
//!   `max_image_side` before conversion (4096² × 3 B = 50 MB) = 200 MB;
//! - a shots set: one still being decoded (200 MB) + the frames kept, scaled to 44.2 M pixels in
//!   all (133 MB) = 333 MB;
//! - a video: 48 frames of at most 1280×720 parsed from ffmpeg as they stream (133 MB; ffmpeg
//!   itself is a separate process with 2 decoding threads, killed after `media_tool_timeout_secs`);
//!
//! plus the analysis' own working memory (tens of MB). The process peak is therefore about
//! models (≈ 260 MB, both backends) + `max_parallel_decodes` × 333 MB + the encoded bytes in
//! flight (uploaded files up to `upload_memory_bytes` each — larger ones wait on disk, and go to
//! the store `media_part_bytes` × 5 at a time at most —, the stored files a running analysis
//! read, and Lite request bodies) = 260 + 2 × 333 ≈ 0.93 GB with the defaults on 2 cores, under
//! 1.5 GB with room for a few concurrent uploads. Measured: 36 requests at once (uploads and Lite calls of
//! 7000×7000 PNGs in 8-bit RGB, 8-bit grey and 16-bit RGBA) peak at 646 MB (6.1 GB before the
//! bound); the `limits` API test asserts ≤ 1.5 GB for 18 such requests.
//!
//! The file is named by `--config` or `FACEPROOF_CONFIG`. The first ADMIN is created on an empty
//! database from `FACEPROOF_ADMIN_EMAIL` and `FACEPROOF_ADMIN_PASSWORD` (there is no default password).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use faceproof_engine::media::Limits;
use serde::Deserialize;

/// Not `Debug`-derived on purpose: it holds credentials (S3 keys, the webhook secret, the Lite
/// API key, the metrics token, a database URL that may carry a password). Its `Debug` shows where
/// the server listens and keeps data, never those.
#[derive(Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    pub listen: String,
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    pub public_url: Option<String>,
    pub session_ttl_secs: i64,
    pub service_session_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
    pub sliding_expiry: bool,
    pub login_max_failures: u32,
    pub login_max_address_failures: u32,
    pub login_window_secs: u64,
    pub login_backoff_secs: u64,
    pub login_backoff_max_secs: u64,
    #[serde(deserialize_with = "proxies_from_toml")]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    pub max_files_per_folder: usize,
    pub max_file_bytes: u64,
    pub max_request_bytes: usize,
    pub upload_memory_bytes: u64,
    pub max_video_seconds: f32,
    pub max_video_pixels: u64,
    pub max_decode_bytes: u64,
    pub max_image_side: u32,
    pub max_shots: usize,
    pub max_parallel_decodes: usize,
    pub media_tool_timeout_secs: f32,
    pub temp_dir: Option<PathBuf>,
    pub workers: usize,
    pub inference_threads: usize,
    pub job_lease_secs: u64,
    pub job_max_attempts: i64,
    pub job_poll_ms: u64,
    pub liveness_threshold: f32,
    pub biometry_threshold: f32,
    pub collection_threshold: f32,
    /// Target false-positive identification rate of the default 1:N threshold (0 = off).
    pub collection_fpir: f64,
    pub webhook_secret: Option<String>,
    pub webhook_max_attempts: i64,
    pub webhook_backoff_ms: u64,
    pub webhook_timeout_secs: u64,
    pub webhook_allowed_hosts: Vec<String>,
    pub webhook_allow_internal: bool,
    pub webhook_dns_server: Option<SocketAddr>,
    pub lite_api_key: Option<String>,
    /// `dominant` or `strict` (see [`Config::strict_faces`]).
    pub face_policy: String,
    /// The model pack named in the file (`--pack`/`FACEPROOF_PACK` win over it).
    pub pack: Option<String>,
    pub metrics_token: Option<String>,
    pub metrics_listen: Option<String>,
    pub shutdown_timeout_secs: u64,
    pub queue_stall_secs: u64,
    pub log_format: LogFormat,
    /// `None`: S3 when a bucket is named, else local files (see [`Config::media_store`]).
    pub media_store: Option<MediaStore>,
    pub s3_endpoint: Option<String>,
    pub s3_bucket: Option<String>,
    pub s3_region: String,
    pub s3_prefix: String,
    pub s3_access_key_id: Option<String>,
    pub s3_secret_access_key: Option<String>,
    pub s3_path_style: bool,
    pub s3_allow_http: bool,
    pub media_part_bytes: usize,
    pub web_sdk_token_ttl_secs: i64,
    pub web_sdk_session_ttl_secs: i64,
    pub web_sdk_allowed_origins: Vec<String>,
    pub web_sdk_architecture: String,
    pub web_sdk_result_mode: String,
    pub web_sdk_actions: Vec<String>,
    pub web_sdk_actions_default_importance: bool,
    pub web_sdk_languages: Vec<String>,
    pub web_sdk_lang_default: String,
    pub web_sdk_demo: Option<bool>,
}

/// The smallest part S3 accepts (all but the last part of a multipart upload): the floor of
/// `media_part_bytes`.
pub const MIN_PART_BYTES: usize = 5 * 1024 * 1024;

/// Where media bytes are kept (see [`crate::blobs`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MediaStore {
    #[default]
    Local,
    S3,
}

impl std::str::FromStr for MediaStore {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "local" => Ok(MediaStore::Local),
            "s3" => Ok(MediaStore::S3),
            other => Err(format!("unknown media store {other:?} (local or s3)")),
        }
    }
}

/// How log lines are written (stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

impl std::str::FromStr for LogFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("unknown log format {other:?} (text or json)")),
        }
    }
}

fn cores() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2)
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: "127.0.0.1:8080".into(),
            data_dir: PathBuf::from("./faceproof-data"),
            database_url: None,
            public_url: None,
            session_ttl_secs: 15 * 60,
            service_session_ttl_secs: 5 * 365 * 24 * 3600,
            refresh_ttl_secs: 7 * 24 * 3600,
            sliding_expiry: true,
            login_max_failures: 10,
            login_max_address_failures: 0,
            login_window_secs: 300,
            login_backoff_secs: 30,
            login_backoff_max_secs: 3600,
            trusted_proxies: Vec::new(),
            max_files_per_folder: 10,
            max_file_bytes: 10 * 1024 * 1024,
            max_request_bytes: 105 * 1024 * 1024,
            upload_memory_bytes: 4 * 1024 * 1024,
            max_video_seconds: 60.0,
            max_video_pixels: 3840 * 2160,
            max_decode_bytes: 150_000_000,
            max_image_side: 4096,
            max_shots: 100,
            max_parallel_decodes: 2,
            media_tool_timeout_secs: 60.0,
            temp_dir: None,
            workers: cores(),
            inference_threads: cores(),
            job_lease_secs: 60,
            job_max_attempts: 3,
            job_poll_ms: 500,
            liveness_threshold: 0.5,
            biometry_threshold: 0.85,
            collection_threshold: 0.85,
            collection_fpir: 0.01,
            webhook_secret: None,
            webhook_max_attempts: 8,
            webhook_backoff_ms: 2000,
            webhook_timeout_secs: 10,
            webhook_allowed_hosts: Vec::new(),
            webhook_allow_internal: false,
            webhook_dns_server: None,
            lite_api_key: None,
            face_policy: "dominant".into(),
            pack: None,
            metrics_token: None,
            metrics_listen: None,
            shutdown_timeout_secs: 25,
            queue_stall_secs: 600,
            log_format: LogFormat::Text,
            media_store: None,
            s3_endpoint: None,
            s3_bucket: None,
            s3_region: "us-east-1".into(),
            s3_prefix: String::new(),
            s3_access_key_id: None,
            s3_secret_access_key: None,
            s3_path_style: false,
            s3_allow_http: false,
            media_part_bytes: 8 * 1024 * 1024,
            web_sdk_token_ttl_secs: 300,
            web_sdk_session_ttl_secs: 900,
            web_sdk_allowed_origins: Vec::new(),
            web_sdk_architecture: "normal".into(),
            web_sdk_result_mode: "safe".into(),
            web_sdk_actions: vec!["video_selfie_blank".into()],
            web_sdk_actions_default_importance: false,
            web_sdk_languages: ["en", "ru", "es", "pt-BR", "tr"].map(String::from).to_vec(),
            web_sdk_lang_default: "en".into(),
            web_sdk_demo: None,
        }
    }
}

fn env_parse<T: std::str::FromStr>(name: &str, slot: &mut T) -> anyhow::Result<()>
where
    T::Err: std::fmt::Display,
{
    if let Ok(v) = std::env::var(name) {
        *slot = v
            .trim()
            .parse()
            .map_err(|e| anyhow::anyhow!("{name}={v:?}: {e}"))?;
    }
    Ok(())
}

/// `10.0.0.1, 10.1.0.0/16, ::1` → networks (a bare address is a one-address network).
pub fn parse_proxies(list: &str) -> anyhow::Result<Vec<ipnet::IpNet>> {
    list.split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    anyhow::anyhow!("trusted_proxies: '{p}' is neither an address nor a CIDR range")
                })
        })
        .collect()
}

fn proxies_from_toml<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Vec<ipnet::IpNet>, D::Error> {
    let list = Vec::<String>::deserialize(d)?;
    parse_proxies(&list.join(",")).map_err(serde::de::Error::custom)
}

impl Config {
    /// Defaults, then the file (when given), then environment variables.
    pub fn load(file: Option<&Path>) -> anyhow::Result<Config> {
        let file = file
            .map(Path::to_path_buf)
            .or_else(|| std::env::var_os("FACEPROOF_CONFIG").map(PathBuf::from));
        let mut c = match file {
            Some(path) => {
                let text = std::fs::read_to_string(&path)
                    .with_context(|| format!("reading {}", path.display()))?;
                toml::from_str(&text).with_context(|| format!("parsing {}", path.display()))?
            }
            None => Config::default(),
        };
        env_parse("FACEPROOF_LISTEN", &mut c.listen)?;
        if let Some(v) = std::env::var_os("FACEPROOF_DATA_DIR") {
            c.data_dir = PathBuf::from(v);
        }
        if let Ok(v) = std::env::var("FACEPROOF_DATABASE_URL") {
            c.database_url = Some(v);
        }
        if let Ok(v) = std::env::var("FACEPROOF_PUBLIC_URL") {
            c.public_url = Some(v);
        }
        env_parse("FACEPROOF_SESSION_TTL", &mut c.session_ttl_secs)?;
        env_parse(
            "FACEPROOF_SERVICE_SESSION_TTL",
            &mut c.service_session_ttl_secs,
        )?;
        env_parse("FACEPROOF_REFRESH_TTL", &mut c.refresh_ttl_secs)?;
        env_parse("FACEPROOF_SLIDING_EXPIRY", &mut c.sliding_expiry)?;
        env_parse("FACEPROOF_LOGIN_MAX_FAILURES", &mut c.login_max_failures)?;
        env_parse(
            "FACEPROOF_LOGIN_MAX_ADDRESS_FAILURES",
            &mut c.login_max_address_failures,
        )?;
        env_parse("FACEPROOF_LOGIN_WINDOW", &mut c.login_window_secs)?;
        env_parse("FACEPROOF_LOGIN_BACKOFF", &mut c.login_backoff_secs)?;
        env_parse("FACEPROOF_LOGIN_BACKOFF_MAX", &mut c.login_backoff_max_secs)?;
        if let Ok(v) = std::env::var("FACEPROOF_TRUSTED_PROXIES") {
            c.trusted_proxies = parse_proxies(&v)?;
        }
        env_parse(
            "FACEPROOF_MAX_FILES_PER_FOLDER",
            &mut c.max_files_per_folder,
        )?;
        env_parse("FACEPROOF_MAX_FILE_BYTES", &mut c.max_file_bytes)?;
        env_parse("FACEPROOF_MAX_REQUEST_BYTES", &mut c.max_request_bytes)?;
        env_parse("FACEPROOF_UPLOAD_MEMORY_BYTES", &mut c.upload_memory_bytes)?;
        env_parse("FACEPROOF_MAX_VIDEO_SECONDS", &mut c.max_video_seconds)?;
        env_parse("FACEPROOF_MAX_VIDEO_PIXELS", &mut c.max_video_pixels)?;
        env_parse("FACEPROOF_MAX_DECODE_BYTES", &mut c.max_decode_bytes)?;
        env_parse("FACEPROOF_MAX_IMAGE_SIDE", &mut c.max_image_side)?;
        env_parse("FACEPROOF_MAX_SHOTS", &mut c.max_shots)?;
        env_parse(
            "FACEPROOF_MAX_PARALLEL_DECODES",
            &mut c.max_parallel_decodes,
        )?;
        env_parse(
            "FACEPROOF_MEDIA_TOOL_TIMEOUT",
            &mut c.media_tool_timeout_secs,
        )?;
        if let Some(v) = std::env::var_os("FACEPROOF_TEMP_DIR").filter(|v| !v.is_empty()) {
            c.temp_dir = Some(PathBuf::from(v));
        }
        env_parse("FACEPROOF_WORKERS", &mut c.workers)?;
        env_parse("FACEPROOF_INFERENCE_THREADS", &mut c.inference_threads)?;
        env_parse("FACEPROOF_JOB_LEASE", &mut c.job_lease_secs)?;
        env_parse("FACEPROOF_JOB_MAX_ATTEMPTS", &mut c.job_max_attempts)?;
        env_parse("FACEPROOF_JOB_POLL_MS", &mut c.job_poll_ms)?;
        env_parse("FACEPROOF_LIVENESS_THRESHOLD", &mut c.liveness_threshold)?;
        env_parse("FACEPROOF_BIOMETRY_THRESHOLD", &mut c.biometry_threshold)?;
        env_parse(
            "FACEPROOF_COLLECTION_THRESHOLD",
            &mut c.collection_threshold,
        )?;
        env_parse("FACEPROOF_COLLECTION_FPIR", &mut c.collection_fpir)?;
        if let Ok(v) = std::env::var("FACEPROOF_WEBHOOK_SECRET") {
            c.webhook_secret = Some(v).filter(|v| !v.is_empty());
        }
        env_parse(
            "FACEPROOF_WEBHOOK_MAX_ATTEMPTS",
            &mut c.webhook_max_attempts,
        )?;
        env_parse("FACEPROOF_WEBHOOK_BACKOFF_MS", &mut c.webhook_backoff_ms)?;
        env_parse("FACEPROOF_WEBHOOK_TIMEOUT", &mut c.webhook_timeout_secs)?;
        if let Ok(v) = std::env::var("FACEPROOF_WEBHOOK_ALLOWED_HOSTS") {
            c.webhook_allowed_hosts = v
                .split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect();
        }
        env_parse(
            "FACEPROOF_WEBHOOK_ALLOW_INTERNAL",
            &mut c.webhook_allow_internal,
        )?;
        if let Ok(v) = std::env::var("FACEPROOF_FACE_POLICY") {
            c.face_policy = v.trim().to_ascii_lowercase();
        }
        if !matches!(c.face_policy.as_str(), "dominant" | "strict") {
            anyhow::bail!("face_policy {:?}: use dominant or strict", c.face_policy);
        }
        if let Ok(v) = std::env::var("FACEPROOF_WEBHOOK_DNS_SERVER") {
            c.webhook_dns_server = match v.trim() {
                "" => None,
                v => Some(v.parse().map_err(|e| {
                    anyhow::anyhow!("FACEPROOF_WEBHOOK_DNS_SERVER={v:?}: {e} (ip:port expected)")
                })?),
            };
        }
        if let Ok(v) = std::env::var("FACEPROOF_LITE_API_KEY") {
            c.lite_api_key = Some(v).filter(|v| !v.is_empty());
        }
        if let Ok(v) = std::env::var("FACEPROOF_METRICS_TOKEN") {
            c.metrics_token = Some(v).filter(|v| !v.is_empty());
        }
        if let Ok(v) = std::env::var("FACEPROOF_METRICS_LISTEN") {
            c.metrics_listen = Some(v).filter(|v| !v.trim().is_empty());
        }
        env_parse("FACEPROOF_SHUTDOWN_TIMEOUT", &mut c.shutdown_timeout_secs)?;
        env_parse("FACEPROOF_QUEUE_STALL", &mut c.queue_stall_secs)?;
        env_parse("FACEPROOF_LOG_FORMAT", &mut c.log_format)?;
        c.load_media_store_env()?;
        env_parse("FACEPROOF_WEB_SDK_TOKEN_TTL", &mut c.web_sdk_token_ttl_secs)?;
        env_parse(
            "FACEPROOF_WEB_SDK_SESSION_TTL",
            &mut c.web_sdk_session_ttl_secs,
        )?;
        let list = |v: String| -> Vec<String> {
            v.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        };
        if let Ok(v) = std::env::var("FACEPROOF_WEB_SDK_ALLOWED_ORIGINS") {
            c.web_sdk_allowed_origins = list(v);
        }
        env_parse(
            "FACEPROOF_WEB_SDK_ARCHITECTURE",
            &mut c.web_sdk_architecture,
        )?;
        env_parse("FACEPROOF_WEB_SDK_RESULT_MODE", &mut c.web_sdk_result_mode)?;
        if let Ok(v) = std::env::var("FACEPROOF_WEB_SDK_ACTIONS") {
            c.web_sdk_actions = list(v);
        }
        env_parse(
            "FACEPROOF_WEB_SDK_ACTIONS_DEFAULT_IMPORTANCE",
            &mut c.web_sdk_actions_default_importance,
        )?;
        if let Ok(v) = std::env::var("FACEPROOF_WEB_SDK_LANGUAGES") {
            c.web_sdk_languages = list(v);
        }
        env_parse(
            "FACEPROOF_WEB_SDK_LANG_DEFAULT",
            &mut c.web_sdk_lang_default,
        )?;
        if let Ok(v) = std::env::var("FACEPROOF_WEB_SDK_DEMO") {
            c.web_sdk_demo = Some(
                v.trim()
                    .parse()
                    .map_err(|e| anyhow::anyhow!("FACEPROOF_WEB_SDK_DEMO={v:?}: {e}"))?,
            );
        }
        Ok(c)
    }

    /// The `FACEPROOF_MEDIA_STORE`, `FACEPROOF_S3_*` and `FACEPROOF_MEDIA_PART_BYTES` variables
    /// over the file's settings, then their validation.
    fn load_media_store_env(&mut self) -> anyhow::Result<()> {
        if let Ok(v) = std::env::var("FACEPROOF_MEDIA_STORE") {
            self.media_store = match v.trim() {
                "" => None,
                v => Some(
                    v.parse()
                        .map_err(|e| anyhow::anyhow!("FACEPROOF_MEDIA_STORE={v:?}: {e}"))?,
                ),
            };
        }
        let text = |name: &str, slot: &mut Option<String>| {
            if let Ok(v) = std::env::var(name) {
                *slot = Some(v.trim().to_string()).filter(|v| !v.is_empty());
            }
        };
        text("FACEPROOF_S3_ENDPOINT", &mut self.s3_endpoint);
        text("FACEPROOF_S3_BUCKET", &mut self.s3_bucket);
        text("FACEPROOF_S3_ACCESS_KEY_ID", &mut self.s3_access_key_id);
        text(
            "FACEPROOF_S3_SECRET_ACCESS_KEY",
            &mut self.s3_secret_access_key,
        );
        if let Ok(v) = std::env::var("FACEPROOF_S3_REGION") {
            self.s3_region = v.trim().to_string();
        }
        if let Ok(v) = std::env::var("FACEPROOF_S3_PREFIX") {
            self.s3_prefix = v.trim().to_string();
        }
        env_parse("FACEPROOF_S3_PATH_STYLE", &mut self.s3_path_style)?;
        env_parse("FACEPROOF_S3_ALLOW_HTTP", &mut self.s3_allow_http)?;
        env_parse("FACEPROOF_MEDIA_PART_BYTES", &mut self.media_part_bytes)?;
        self.validate_media_store()
    }

    fn validate_media_store(&mut self) -> anyhow::Result<()> {
        if self.media_part_bytes < MIN_PART_BYTES {
            anyhow::bail!(
                "media_part_bytes {}: at least {MIN_PART_BYTES} (5 MiB, the smallest part S3 accepts)",
                self.media_part_bytes,
            );
        }
        if self.media_store() != MediaStore::S3 {
            return Ok(());
        }
        if self.s3_bucket.as_deref().unwrap_or("").is_empty() {
            anyhow::bail!("media_store = s3 needs s3_bucket (FACEPROOF_S3_BUCKET)");
        }
        if self.s3_region.is_empty() {
            anyhow::bail!("s3_region must not be empty");
        }
        // (s3_prefix is checked by the media store, which owns the key rules.)
        if self.s3_access_key_id.is_some() != self.s3_secret_access_key.is_some() {
            anyhow::bail!("s3_access_key_id and s3_secret_access_key go together");
        }
        if let Some(endpoint) = &self.s3_endpoint {
            let url = url::Url::parse(endpoint)
                .map_err(|e| anyhow::anyhow!("s3_endpoint {endpoint:?}: {e}"))?;
            match url.scheme() {
                "https" => {}
                "http" => {
                    let loopback = match url.host() {
                        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
                        Some(url::Host::Ipv4(a)) => a.is_loopback(),
                        Some(url::Host::Ipv6(a)) => a.is_loopback(),
                        None => false,
                    };
                    if loopback {
                        self.s3_allow_http = true;
                    } else if !self.s3_allow_http {
                        anyhow::bail!(
                            "s3_endpoint {endpoint:?} is plain HTTP: use https, or set s3_allow_http = true (FACEPROOF_S3_ALLOW_HTTP) for a trusted network"
                        );
                    }
                }
                other => anyhow::bail!("s3_endpoint {endpoint:?}: scheme {other} (http or https)"),
            }
        }
        Ok(())
    }

    /// Where media bytes go: `media_store` when set, otherwise S3 when a bucket is named (a
    /// deployment that gives the `s3_*` settings means the bucket), otherwise local files.
    pub fn media_store(&self) -> MediaStore {
        match self.media_store {
            Some(m) => m,
            None if self.s3_bucket.as_deref().is_some_and(|b| !b.is_empty()) => MediaStore::S3,
            None => MediaStore::Local,
        }
    }

    /// Whether the server-wide face policy is strict (any second face declines).
    pub fn strict_faces(&self) -> bool {
        self.face_policy == "strict"
    }

    /// The database URL: the configured one, or the SQLite file in the data directory.
    pub fn database_url(&self) -> String {
        match &self.database_url {
            Some(url) => url.clone(),
            None => format!(
                "sqlite://{}?mode=rwc",
                self.data_dir.join("faceproof.db").display()
            ),
        }
    }

    /// The temporary area: videos written for ffmpeg and uploads over `upload_memory_bytes`
    /// (`<data_dir>/tmp` unless configured).
    pub fn temp_dir(&self) -> PathBuf {
        self.temp_dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("tmp"))
    }

    /// The engine's media limits under this configuration (the temporary directory is set by
    /// [`crate::inference::Inference`], which owns the process's part of the temporary area).
    pub fn media_limits(&self) -> Limits {
        Limits {
            max_bytes: self.max_file_bytes,
            max_decode_bytes: self.max_decode_bytes,
            max_image_side: self.max_image_side,
            max_shots: self.max_shots,
            max_video_seconds: self.max_video_seconds,
            max_video_pixels: self.max_video_pixels,
            // Floored only so that 0 is not "no time at all"; tests use 1 ms to see a child killed.
            tool_timeout: Duration::from_secs_f32(self.media_tool_timeout_secs.max(0.001)),
            ..Limits::default()
        }
    }

    /// Where media files live.
    pub fn media_dir(&self) -> PathBuf {
        self.data_dir.join("media")
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("data_dir", &self.data_dir)
            .field("database", &self.database_url.as_ref().map(|_| "postgres"))
            .field("media_store", &self.media_store)
            .field("s3_bucket", &self.s3_bucket)
            .field("workers", &self.workers)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod debug_tests {
    use super::Config;

    #[test]
    fn debug_output_holds_no_credentials() {
        let cfg = Config {
            database_url: Some("postgres://app:db-password@db/faceproof".into()),
            webhook_secret: Some("webhook-secret-value".into()),
            lite_api_key: Some("lite-key-value".into()),
            metrics_token: Some("metrics-token-value".into()),
            s3_access_key_id: Some("AKIAEXAMPLEKEY".into()),
            s3_secret_access_key: Some("s3-secret-value".into()),
            ..Config::default()
        };
        let shown = format!("{cfg:?} {cfg:#?}");
        for secret in [
            "db-password",
            "webhook-secret-value",
            "lite-key-value",
            "metrics-token-value",
            "AKIAEXAMPLEKEY",
            "s3-secret-value",
        ] {
            assert!(!shown.contains(secret), "{secret} in {shown}");
        }
        assert!(shown.contains("listen"), "{shown}");
    }
}
