//! Server configuration: every setting declared once in [`settings!`] below — its field and type,
//! its default, its `FACEPROOF_*` environment variable and how that is read, its command-line flag
//! (read by the `faceproof` binary), and its row in the table of `docs/configuration.md`, which
//! [`docs_markdown`] prints (`faceproof config docs`) and a test holds to the code. Settings are
//! grouped (server, sessions, login, limits, jobs, decisions, webhooks, operations, s3, web_sdk)
//! in the declaration and in the table.
//!
//! Precedence: defaults < the TOML file (`--config` or `FACEPROOF_CONFIG`; its keys are the
//! field names) < environment variables < flags.
//!
//! A new setting is one more entry in its group: `name: Type = default, env "FACEPROOF_…" =>
//! reader, doc "…";` (readers in [`env`]; `shown "…",` when the default is not a constant, `flag
//! "--…",` when the binary has a flag for it).
//!
//! ## Memory bound
//!
//! Every decode (upload validation, analysis, Instant, Lite, collection enrolment) holds one of
//! `max_parallel_decodes` permits for as long as its pixels live (see
//! [`crate::inference`]); with the defaults one holder needs at most
//!
//! - a still: the decoder's memory (`max_decode_bytes`, 150 MB: its output buffer, and for WebP
//!   the frame image-webp decodes into first, 4 B/px — a 7000×7000 lossless WebP held 327 MB
//!   before that was counted, and is now refused from its header) + the kept image
//!   box-downscaled to `max_image_side` before conversion (4096² × 3 B = 50 MB) = 200 MB;
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
//! bound); the `limits` API test asserts ≤ 1.5 GB for 30 such requests (the 18 above, a 7000×7000
//! WebP refused and a 4500×4500 WebP decoded, six of each), measured at 729 MB (issue 23; the
//! report's six 7000×7000 WebP decodes had peaked at 1.22 GB before WebP's decoder frame was
//! counted).
//!
//! The file is named by `--config` or `FACEPROOF_CONFIG`. The first ADMIN is created on an empty
//! database from `FACEPROOF_ADMIN_EMAIL` and `FACEPROOF_ADMIN_PASSWORD` (there is no default password).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use faceproof_engine::media::Limits;
use serde::Deserialize;

/// One group of settings in the documentation.
#[derive(Debug, Clone)]
pub struct Group {
    pub title: &'static str,
    pub about: &'static str,
    pub settings: Vec<Setting>,
}

/// One setting as the documentation shows it.
#[derive(Debug, Clone)]
pub struct Setting {
    /// The TOML key (the field's name).
    pub key: &'static str,
    pub env: Option<&'static str>,
    pub flag: Option<&'static str>,
    /// The default, as shown.
    pub default: String,
    pub doc: &'static str,
}

/// Declares [`Config`] (fields, `Default`, the environment layer) and [`groups`] (the
/// documentation) from one list of settings; see the module doc.
macro_rules! settings {
    ( $(
        [$group:literal, $about:literal]
        $(
            $(#[$attr:meta])*
            $field:ident : $ty:ty = $default:expr,
            $(env $env:literal $(=> $reader:path)?,)?
            $(flag $flag:literal,)?
            $(shown $shown:literal,)?
            doc $doc:literal;
        )*
    )* ) => {
        /// Not `Debug`-derived on purpose: it holds credentials (S3 keys, the webhook secret, the
        /// Lite API key, the metrics token, a database URL that may carry a password). Its `Debug`
        /// shows where the server listens and keeps data, never those.
        #[derive(Clone, Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct Config {
            $($(
                #[doc = $doc]
                $(#[$attr])*
                pub $field: $ty,
            )*)*
        }

        impl Default for Config {
            fn default() -> Self {
                Config {
                    $($( $field: $default, )*)*
                }
            }
        }

        impl Config {
            /// The environment layer: each variable that is set replaces its setting.
            fn apply_env(&mut self) -> anyhow::Result<()> {
                $($($($(
                    if let Some(raw) = std::env::var_os($env) {
                        if let Some(v) = $reader($env, raw)? {
                            self.$field = v;
                        }
                    }
                )?)?)*)*
                Ok(())
            }
        }

        /// Every setting, grouped, as the documentation shows it.
        pub fn groups() -> Vec<Group> {
            let d = Config::default();
            vec![$(
                Group {
                    title: $group,
                    about: $about,
                    settings: vec![$(
                        Setting {
                            key: stringify!($field),
                            env: None $(.or(Some($env)))?,
                            flag: None $(.or(Some($flag)))?,
                            default: None::<&str> $(.or(Some($shown)))?
                                .map(String::from)
                                .unwrap_or_else(|| Show::show(&d.$field)),
                            doc: $doc,
                        },
                    )*],
                },
            )*]
        }
    };
}

settings! {
    ["Server", "Where the server listens, keeps its state, and which models it runs."]
    listen: String = "127.0.0.1:8080".into(),
        env "FACEPROOF_LISTEN" => env::parsed, flag "--listen",
        doc "Address and port of the HTTP API.";
    data_dir: PathBuf = PathBuf::from("./faceproof-data"),
        env "FACEPROOF_DATA_DIR" => env::path, flag "--data-dir",
        doc "The SQLite file `faceproof.db` and `media/`.";
    database_url: Option<String> = None,
        env "FACEPROOF_DATABASE_URL" => env::text, flag "--database-url",
        shown "`sqlite://<data_dir>/faceproof.db`",
        doc "`postgres://…` for PostgreSQL.";
    public_url: Option<String> = None,
        env "FACEPROOF_PUBLIC_URL" => env::text,
        doc "The server's public URL; unset, media URLs are built from the request's `Host` header.";
    #[serde(deserialize_with = "proxies_from_toml")]
    trusted_proxies: Vec<ipnet::IpNet> = Vec::new(),
        env "FACEPROOF_TRUSTED_PROXIES" => env::proxies,
        doc "Comma-separated addresses or CIDR ranges of reverse proxies; from them the client address is read from `X-Forwarded-For`, else it is the connection's peer.";
    http_header_timeout_secs: f32 = 10.0,
        env "FACEPROOF_HTTP_HEADER_TIMEOUT" => env::parsed,
        doc "A request's line and headers must arrive whole within this from their first byte, and a new connection must start its first request within as long; else the connection is closed (slow-header clients).";
    http_body_timeout_secs: f32 = 120.0,
        env "FACEPROOF_HTTP_BODY_TIMEOUT" => env::parsed,
        doc "A request's body must arrive whole within this from its headers; else 408 (error 3) and the connection is closed. Raise it for large uploads over slow links.";
    http_keepalive_timeout_secs: f32 = 30.0,
        env "FACEPROOF_HTTP_KEEPALIVE_TIMEOUT" => env::parsed,
        doc "A kept-alive connection idle this long after its last answer is closed.";
    http_max_connections: usize = 1000,
        env "FACEPROOF_HTTP_MAX_CONNECTIONS" => env::parsed,
        doc "Connections open at once; more are closed as they arrive. Keep it under the process's open-file limit (`ulimit -n`).";
    http_max_connections_per_address: usize = 128,
        env "FACEPROOF_HTTP_MAX_CONNECTIONS_PER_ADDRESS" => env::parsed,
        doc "Connections open at once from one client address (`trusted_proxies` exempt); more are closed as they arrive; 0 = no limit.";
    pack: Option<String> = None,
        env "FACEPROOF_PACK", flag "--pack",
        shown "`sface`",
        doc "The model pack: `sface`, `faceplugin` or a manifest path; embeddings of another pack are never compared — `faceproof reindex` re-embeds collections after a switch. The variable and the flag are read by the `faceproof` binary and win over the file.";
    lite_api_key: Option<String> = None,
        env "FACEPROOF_LITE_API_KEY" => env::secret,
        doc "The key of the Lite API (`/v1/face/…`); unset, it is open only when listening on loopback, refused otherwise.";

    ["Sessions", "Access and refresh tokens (Oz sessions)."]
    session_ttl_secs: i64 = 15 * 60,
        env "FACEPROOF_SESSION_TTL" => env::parsed,
        doc "15 minutes; Oz `OZ_SESSION_TTL`.";
    service_session_ttl_secs: i64 = 5 * 365 * 24 * 3600,
        env "FACEPROOF_SERVICE_SESSION_TTL" => env::parsed,
        doc "5 years; Oz `OZ_SESSION_LONGLIVE_TTL`.";
    refresh_ttl_secs: i64 = 7 * 24 * 3600,
        env "FACEPROOF_REFRESH_TTL" => env::parsed,
        doc "7 days; never shorter than the session TTL.";
    sliding_expiry: bool = true,
        env "FACEPROOF_SLIDING_EXPIRY" => env::parsed,
        doc "Each use of an access token extends its life (and its refresh token's) by the session TTL.";
    media_link_ttl_secs: i64 = 3600,
        env "FACEPROOF_MEDIA_LINK_TTL" => env::parsed,
        doc "Media URLs in answers to a company's users carry a signed link that opens them without the token header for this long; 0 = plain links, header always needed.";

    ["Login", "Failed sign-ins: an account and client address pair waits after too many."]
    login_max_failures: u32 = 10,
        env "FACEPROOF_LOGIN_MAX_FAILURES" => env::parsed,
        doc "Failed sign-ins of one account from one client address before that pair waits; also wrong `current_password`s.";
    login_backoff_secs: u64 = 30,
        env "FACEPROOF_LOGIN_BACKOFF" => env::parsed,
        doc "The first wait; doubles with every further failure of the pair.";
    login_backoff_max_secs: u64 = 3600,
        env "FACEPROOF_LOGIN_BACKOFF_MAX" => env::parsed,
        doc "The longest wait.";
    login_window_secs: u64 = 300,
        env "FACEPROOF_LOGIN_WINDOW" => env::parsed,
        doc "A pair's count is forgotten this long after its last failure.";
    login_max_address_failures: u32 = 0,
        env "FACEPROOF_LOGIN_MAX_ADDRESS_FAILURES" => env::parsed,
        doc "0 = off. Failures from one address, any account, within the window that refuse the whole address: stops credential stuffing, but locks out everyone behind a shared NAT.";

    ["Limits", "Uploads and media decoding; with the defaults a process stays under the memory bound of the `config` module's doc."]
    max_files_per_folder: usize = 10,
        env "FACEPROOF_MAX_FILES_PER_FOLDER" => env::parsed,
        doc "Media files in one folder.";
    max_file_bytes: u64 = 10 * 1024 * 1024,
        env "FACEPROOF_MAX_FILE_BYTES" => env::parsed,
        doc "10 MiB.";
    max_request_bytes: usize = 105 * 1024 * 1024,
        env "FACEPROOF_MAX_REQUEST_BYTES" => env::parsed,
        doc "105 MiB.";
    upload_memory_bytes: u64 = 4 * 1024 * 1024,
        env "FACEPROOF_UPLOAD_MEMORY_BYTES" => env::parsed,
        doc "4 MiB: an uploaded file is held in memory up to this size; a larger one is written to the temporary area as it arrives, checked there and streamed to the media store in parts, then deleted; 0 = every file to disk.";
    max_video_seconds: f32 = 60.0,
        env "FACEPROOF_MAX_VIDEO_SECONDS" => env::parsed,
        doc "The longest video.";
    max_video_pixels: u64 = 3840 * 2160,
        env "FACEPROOF_MAX_VIDEO_PIXELS" => env::parsed,
        doc "3840×2160; larger video frames are refused at upload from the header, 413.";
    max_decode_bytes: u64 = 150_000_000,
        env "FACEPROOF_MAX_DECODE_BYTES" => env::parsed,
        doc "A still's decoder memory, pixels × bytes per pixel of its colour type (+ 4 for WebP, whose decoder holds a frame of its own), checked from the header: 50 M pixels of 8-bit RGB, 18.75 M of 16-bit RGBA, 21.4 M of WebP; more → 413.";
    max_image_side: u32 = 4096,
        env "FACEPROOF_MAX_IMAGE_SIDE" => env::parsed,
        doc "Stills are box-downscaled to this longer side right after decoding.";
    max_shots: usize = 100,
        env "FACEPROOF_MAX_SHOTS" => env::parsed,
        doc "Frames in a SHOTS_SET ZIP, each within the still limits, 128 MiB unpacked at most; more → 413.";
    max_shots_pixels: u64 = 100 * 1280 * 720,
        env "FACEPROOF_MAX_SHOTS_PIXELS" => env::parsed,
        doc "Pixels of all the frames of a SHOTS_SET together (100 × 1280×720), read from every frame's header before any frame is decoded; more → 413.";
    upload_decode_budget_secs: f32 = 30.0,
        env "FACEPROOF_UPLOAD_DECODE_BUDGET" => env::parsed,
        doc "Wall-clock seconds the checks of one request's files may take together (waits for a decode permit not counted); a shots set still decoding then is refused, 413. A request whose client hangs up stops its checks at the next frame.";
    max_parallel_decodes: usize = 2,
        env "FACEPROOF_MAX_PARALLEL_DECODES" => env::parsed,
        doc "Media decoded at once per process: upload checks and engine runs together.";
    media_tool_timeout_secs: f32 = 60.0,
        env "FACEPROOF_MEDIA_TOOL_TIMEOUT" => env::parsed,
        doc "Wall-clock budget of every ffmpeg/ffprobe run; the child is killed and the media refused: 413 at upload, a per-media error in an analysis.";
    temp_dir: Option<PathBuf> = None,
        env "FACEPROOF_TEMP_DIR" => env::nonempty_path,
        shown "`<data_dir>/tmp`",
        doc "Videos written for ffmpeg and uploads over `upload_memory_bytes`; emptied of dead processes' files at start-up.";

    ["Jobs", "Analysis workers and the durable job queue."]
    workers: usize = cores(),
        env "FACEPROOF_WORKERS" => env::parsed, flag "--workers",
        shown "number of cores",
        doc "Analysis workers inside `serve`; 0 = only `faceproof worker` processes (whose flag sets their own count).";
    inference_threads: usize = cores(),
        env "FACEPROOF_INFERENCE_THREADS" => env::parsed,
        shown "number of cores",
        doc "Engine calls running at once, per process.";
    job_lease_secs: u64 = 60,
        env "FACEPROOF_JOB_LEASE" => env::parsed,
        doc "A claimed job whose worker stops renewing is picked up again after this.";
    job_max_attempts: i64 = 3,
        env "FACEPROOF_JOB_MAX_ATTEMPTS" => env::parsed,
        doc "Then the analysis ends FAILED with the last reason.";
    job_poll_ms: u64 = 500,
        env "FACEPROOF_JOB_POLL_MS" => env::parsed,
        doc "How often idle workers look for jobs queued by other processes.";

    ["Decisions", "Thresholds and the face rule; companies override them in their settings."]
    liveness_threshold: f32 = 0.5,
        env "FACEPROOF_LIVENESS_THRESHOLD" => env::parsed,
        doc "`confidence_spoofing` at or above ⇒ DECLINED.";
    biometry_threshold: f32 = 0.85,
        env "FACEPROOF_BIOMETRY_THRESHOLD" => env::parsed,
        doc "`min_confidence` at or above ⇒ SUCCESS.";
    collection_threshold: f32 = 0.85,
        env "FACEPROOF_COLLECTION_THRESHOLD" => env::parsed,
        doc "A blacklist match at or above ⇒ DECLINED; the floor of the gallery-size threshold.";
    collection_fpir: f64 = 0.01,
        env "FACEPROOF_COLLECTION_FPIR" => env::parsed,
        doc "Target false-positive identification rate of the default 1:N threshold: raised with the gallery so that at most this share of strangers hit; 0 = always `collection_threshold`.";
    face_policy: String = "dominant".into(),
        env "FACEPROOF_FACE_POLICY" => env::lowercase,
        doc "`dominant`: the largest face is the subject; faces under half its width are bystanders, reported but not declining; a comparable second face declines with `multiple_faces`. `strict`: any second face declines. Companies override it with the `face_policy` setting.";

    ["Webhooks", "Signed result callbacks and the hosts they may reach."]
    webhook_secret: Option<String> = None,
        env "FACEPROOF_WEBHOOK_SECRET" => env::secret,
        doc "Signs webhooks of folders outside any company; companies have their own.";
    webhook_max_attempts: i64 = 8,
        env "FACEPROOF_WEBHOOK_MAX_ATTEMPTS" => env::parsed,
        doc "Deliveries of one webhook before it is given up.";
    webhook_backoff_ms: u64 = 2000,
        env "FACEPROOF_WEBHOOK_BACKOFF_MS" => env::parsed,
        doc "Doubles after each failed attempt.";
    webhook_timeout_secs: u64 = 10,
        env "FACEPROOF_WEBHOOK_TIMEOUT" => env::parsed,
        doc "One delivery's time limit.";
    webhook_allowed_hosts: Vec<String> = Vec::new(),
        env "FACEPROOF_WEBHOOK_ALLOWED_HOSTS" => env::hosts,
        doc "Empty = any public host. Comma-separated `host` or `host:port`; when set, other callback URLs are refused with error 4; listed hosts may be internal.";
    webhook_allow_internal: bool = false,
        env "FACEPROOF_WEBHOOK_ALLOW_INTERNAL" => env::parsed,
        doc "True lets webhooks reach loopback, private and link-local addresses.";
    webhook_dns_server: Option<SocketAddr> = None,
        env "FACEPROOF_WEBHOOK_DNS_SERVER" => env::socket_addr,
        doc "Unset: the system resolver. `ip:port` of a DNS server that resolves webhook hosts instead, e.g. `10.0.0.2:53`; no hosts file, no search domains; its answers are filtered like the system's.";

    ["Operations", "Metrics, health, shutdown and logs (details in `docs/operations.md`). `/metrics` is served on the main address only when `metrics_token` is set, and on `metrics_listen` when that is set (with the token required there too when both are): without either it is not exposed at all."]
    metrics_token: Option<String> = None,
        env "FACEPROOF_METRICS_TOKEN" => env::secret,
        doc "`GET /metrics` then needs `Authorization: Bearer <token>`.";
    metrics_listen: Option<String> = None,
        env "FACEPROOF_METRICS_LISTEN" => env::nonblank,
        doc "A second address serving only `/metrics` and `/health/*`, e.g. `127.0.0.1:9464`.";
    shutdown_timeout_secs: u64 = 25,
        env "FACEPROOF_SHUTDOWN_TIMEOUT" => env::parsed,
        doc "After SIGTERM: in-flight requests and running jobs get this long, then the rest's leases are released.";
    queue_stall_secs: u64 = 600,
        env "FACEPROOF_QUEUE_STALL" => env::parsed,
        doc "A process running workers is not ready while a runnable analysis has waited longer; 0 = never.";
    log_format: LogFormat = LogFormat::Text,
        env "FACEPROOF_LOG_FORMAT" => env::parsed,
        doc "`json`: one JSON object per line, with the request id.";

    ["S3", "Where media bytes are kept: local files, or a bucket of any S3-compatible store."]
    media_store: Option<MediaStore> = None,
        env "FACEPROOF_MEDIA_STORE" => env::parsed_or_none,
        shown "`s3` when `s3_bucket` is set, else `local`",
        doc "`local`: media files under `<data_dir>/media`; `s3`: a bucket, the `s3_*` settings below.";
    s3_endpoint: Option<String> = None,
        env "FACEPROOF_S3_ENDPOINT" => env::trimmed_or_none,
        doc "Unset: AWS's endpoint for the region (e.g. `https://minio.internal:9000` for another store).";
    s3_bucket: Option<String> = None,
        env "FACEPROOF_S3_BUCKET" => env::trimmed_or_none,
        doc "Required with `media_store = \"s3\"`; the bucket must exist.";
    s3_region: String = "us-east-1".into(),
        env "FACEPROOF_S3_REGION" => env::trimmed,
        doc "The bucket's region.";
    s3_prefix: String = String::new(),
        env "FACEPROOF_S3_PREFIX" => env::trimmed,
        doc "Keys go under this path in the bucket, e.g. `faceproof/prod`.";
    s3_access_key_id: Option<String> = None,
        env "FACEPROOF_S3_ACCESS_KEY_ID" => env::trimmed_or_none,
        doc "Unset: the standard `AWS_ACCESS_KEY_ID`… variables or the machine's role.";
    s3_secret_access_key: Option<String> = None,
        env "FACEPROOF_S3_SECRET_ACCESS_KEY" => env::trimmed_or_none,
        doc "As above; never logged.";
    s3_path_style: bool = false,
        env "FACEPROOF_S3_PATH_STYLE" => env::parsed,
        doc "`endpoint/bucket/key` requests instead of `bucket.endpoint/key`: MinIO, Ceph and most self-hosted stores need true.";
    s3_allow_http: bool = false,
        env "FACEPROOF_S3_ALLOW_HTTP" => env::parsed,
        doc "Plain HTTP to a non-loopback endpoint; an `http://` endpoint on 127.0.0.1, ::1 or localhost is allowed without it.";
    media_part_bytes: usize = 8 * 1024 * 1024,
        env "FACEPROOF_MEDIA_PART_BYTES" => env::parsed,
        doc "8 MiB: larger files are uploaded in parts of this size; at least 5 MiB, S3's smallest part.";

    ["Web SDK", "The web plugin's server-wide defaults; a company's `web_sdk` settings replace them (see `docs/web-sdk.md`)."]
    web_sdk_token_ttl_secs: i64 = 300,
        env "FACEPROOF_WEB_SDK_TOKEN_TTL" => env::parsed,
        doc "Life of a session token from `GET /api/authorize/session_token`; single use.";
    web_sdk_session_ttl_secs: i64 = 900,
        env "FACEPROOF_WEB_SDK_SESSION_TTL" => env::parsed,
        doc "How long a started plugin session may upload and poll.";
    web_sdk_handoff_ttl_secs: i64 = 300,
        env "FACEPROOF_WEB_SDK_HANDOFF_TTL" => env::parsed,
        doc "Life of a hand-off code (the QR code a computer without a camera shows to continue its plugin session on a phone); single use, never past the session's end.";
    web_sdk_tokenless_per_minute: u32 = 10,
        env "FACEPROOF_WEB_SDK_TOKENLESS_PER_MINUTE" => env::parsed,
        doc "Plugin sessions started without a session token, where a company allows that, per page origin and client address per minute; more → 429.";
    web_sdk_allowed_origins: Vec<String> = Vec::new(),
        env "FACEPROOF_WEB_SDK_ALLOWED_ORIGINS" => env::list,
        doc "Page origins allowed to run the web plugin, comma-separated `scheme://host[:port]`, `*` = any; a company's `web_sdk.allowed_origins` setting replaces it; the server's own origin is always allowed.";
    web_sdk_architecture: String = "normal".into(),
        env "FACEPROOF_WEB_SDK_ARCHITECTURE" => env::parsed,
        doc "`capture`: the plugin only hands the capture to the page.";
    web_sdk_result_mode: String = "safe".into(),
        env "FACEPROOF_WEB_SDK_RESULT_MODE" => env::parsed,
        doc "`status`, `folder`, `full`: what the plugin's result callbacks carry.";
    web_sdk_actions: Vec<String> = vec!["video_selfie_blank".into()],
        env "FACEPROOF_WEB_SDK_ACTIONS" => env::list,
        doc "Actions when the page names none; `auto` = 1–3 random gestures.";
    web_sdk_actions_default_importance: bool = false,
        env "FACEPROOF_WEB_SDK_ACTIONS_DEFAULT_IMPORTANCE" => env::parsed,
        doc "True: the configured actions win over the page's.";
    web_sdk_languages: Vec<String> = ["en", "ru", "es", "pt-BR", "tr"].map(String::from).to_vec(),
        env "FACEPROOF_WEB_SDK_LANGUAGES" => env::list,
        doc "Language packs a page may ask for.";
    web_sdk_lang_default: String = "en".into(),
        env "FACEPROOF_WEB_SDK_LANG_DEFAULT" => env::parsed,
        doc "The plugin's language when the page asks for none it may have.";
    web_sdk_demo: Option<bool> = None,
        env "FACEPROOF_WEB_SDK_DEMO" => env::some_parsed,
        shown "on when listening on loopback, off otherwise",
        doc "The demo page `/web-sdk/demo/`.";
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

/// How an environment variable's text becomes a setting: each reader takes the variable's name
/// (for messages) and raw value, and gives the new value, or `None` to leave the setting as it
/// is (a value that is not Unicode, as `std::env::var` would skip it, and the readers that say so).
pub mod env {
    use std::ffi::OsString;
    use std::path::PathBuf;
    use std::str::FromStr;

    type Read<T> = anyhow::Result<Option<T>>;

    fn text_of(raw: OsString) -> Option<String> {
        raw.into_string().ok()
    }

    /// Trimmed, then `FromStr`.
    pub fn parsed<T: FromStr>(name: &str, raw: OsString) -> Read<T>
    where
        T::Err: std::fmt::Display,
    {
        let Some(v) = text_of(raw) else {
            return Ok(None);
        };
        v.trim()
            .parse()
            .map(Some)
            .map_err(|e| anyhow::anyhow!("{name}={v:?}: {e}"))
    }

    /// As [`parsed`], always set (`Some`).
    pub fn some_parsed<T: FromStr>(name: &str, raw: OsString) -> Read<Option<T>>
    where
        T::Err: std::fmt::Display,
    {
        Ok(parsed(name, raw)?.map(Some))
    }

    /// Empty (after trimming) = unset; otherwise as [`parsed`].
    pub fn parsed_or_none<T: FromStr>(name: &str, raw: OsString) -> Read<Option<T>>
    where
        T::Err: std::fmt::Display,
    {
        let Some(v) = text_of(raw) else {
            return Ok(None);
        };
        match v.trim() {
            "" => Ok(Some(None)),
            v => v
                .parse()
                .map(|x| Some(Some(x)))
                .map_err(|e| anyhow::anyhow!("{name}={v:?}: {e}")),
        }
    }

    /// An `ip:port` address; empty = unset.
    pub fn socket_addr(name: &str, raw: OsString) -> Read<Option<std::net::SocketAddr>> {
        parsed_or_none(name, raw).map_err(|e| anyhow::anyhow!("{e} (ip:port expected)"))
    }

    /// The text as it is.
    pub fn text(_: &str, raw: OsString) -> Read<Option<String>> {
        Ok(text_of(raw).map(Some))
    }

    /// The text as it is; empty = unset (credentials: an empty variable must not be a key).
    pub fn secret(_: &str, raw: OsString) -> Read<Option<String>> {
        Ok(text_of(raw).map(|v| Some(v).filter(|v| !v.is_empty())))
    }

    /// The text as it is; blank = unset.
    pub fn nonblank(_: &str, raw: OsString) -> Read<Option<String>> {
        Ok(text_of(raw).map(|v| Some(v).filter(|v| !v.trim().is_empty())))
    }

    /// Trimmed.
    pub fn trimmed(_: &str, raw: OsString) -> Read<String> {
        Ok(text_of(raw).map(|v| v.trim().to_string()))
    }

    /// Trimmed; empty = unset.
    pub fn trimmed_or_none(_: &str, raw: OsString) -> Read<Option<String>> {
        Ok(text_of(raw).map(|v| Some(v.trim().to_string()).filter(|v| !v.is_empty())))
    }

    /// Trimmed, lower-cased.
    pub fn lowercase(_: &str, raw: OsString) -> Read<String> {
        Ok(text_of(raw).map(|v| v.trim().to_ascii_lowercase()))
    }

    /// A path (any bytes).
    pub fn path(_: &str, raw: OsString) -> Read<PathBuf> {
        Ok(Some(PathBuf::from(raw)))
    }

    /// A path; empty leaves the setting as it is.
    pub fn nonempty_path(_: &str, raw: OsString) -> Read<Option<PathBuf>> {
        Ok((!raw.is_empty()).then(|| Some(PathBuf::from(raw))))
    }

    /// A comma-separated list, items trimmed, empty items dropped.
    pub fn list(_: &str, raw: OsString) -> Read<Vec<String>> {
        Ok(text_of(raw).map(|v| {
            v.split(',')
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        }))
    }

    /// As [`list`], lower-cased (host names).
    pub fn hosts(_: &str, raw: OsString) -> Read<Vec<String>> {
        Ok(text_of(raw).map(|v| {
            v.split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .collect()
        }))
    }

    /// Addresses and CIDR ranges (see [`super::parse_proxies`]).
    pub fn proxies(_: &str, raw: OsString) -> Read<Vec<ipnet::IpNet>> {
        text_of(raw).map(|v| super::parse_proxies(&v)).transpose()
    }
}

/// A default as the documentation shows it.
trait Show {
    fn show(&self) -> String;
}

macro_rules! show_plain {
    ($($t:ty),*) => {$(
        impl Show for $t {
            fn show(&self) -> String {
                self.to_string()
            }
        }
    )*};
}
show_plain!(bool, u32, u64, i64, usize, f32, f64);

impl Show for String {
    fn show(&self) -> String {
        if self.is_empty() {
            "empty".into()
        } else {
            format!("`{self}`")
        }
    }
}

impl Show for PathBuf {
    fn show(&self) -> String {
        format!("`{}`", self.display())
    }
}

impl Show for SocketAddr {
    fn show(&self) -> String {
        format!("`{self}`")
    }
}

impl Show for LogFormat {
    fn show(&self) -> String {
        format!("`{}`", format!("{self:?}").to_ascii_lowercase())
    }
}

impl Show for MediaStore {
    fn show(&self) -> String {
        format!("`{}`", format!("{self:?}").to_ascii_lowercase())
    }
}

impl<T: Show> Show for Option<T> {
    fn show(&self) -> String {
        self.as_ref().map_or_else(|| "none".into(), Show::show)
    }
}

impl<T: std::fmt::Display> Show for Vec<T> {
    fn show(&self) -> String {
        if self.is_empty() {
            "empty".into()
        } else {
            let items: Vec<String> = self.iter().map(ToString::to_string).collect();
            format!("`{}`", items.join(","))
        }
    }
}

/// The settings table of `docs/configuration.md` (`faceproof config docs` prints it).
pub fn docs_markdown() -> String {
    let mut out = String::from(
        "# Configuration\n\n\
         <!-- Generated from crates/server/src/config.rs by `faceproof config docs`; \
         a test fails when this file differs. -->\n\n\
         Every setting has a TOML key (in the file named by `--config` or `FACEPROOF_CONFIG`) and a \
         `FACEPROOF_*` environment variable; a few also have a command-line flag. Each layer wins \
         over the one before it: defaults < the file < the environment < flags. The first ADMIN is \
         created on an empty database from `FACEPROOF_ADMIN_EMAIL` and `FACEPROOF_ADMIN_PASSWORD` \
         (there is no default password).\n",
    );
    for g in groups() {
        out.push_str(&format!("\n## {}\n\n{}\n\n", g.title, g.about));
        out.push_str(
            "| key (TOML) | environment variable | default | meaning |\n|---|---|---|---|\n",
        );
        for s in g.settings {
            let mut env = s.env.map(|e| format!("`{e}`")).unwrap_or_default();
            if let Some(flag) = s.flag {
                env.push_str(&format!(" (also `{flag}`)"));
            }
            out.push_str(&format!(
                "| `{}` | {} | {} | {} |\n",
                s.key, env, s.default, s.doc
            ));
        }
    }
    out
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
    /// Defaults, then the file (when given), then environment variables, then the checks.
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
        c.apply_env()?;
        if !matches!(c.face_policy.as_str(), "dominant" | "strict") {
            anyhow::bail!("face_policy {:?}: use dominant or strict", c.face_policy);
        }
        c.validate_media_store()?;
        Ok(c)
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
            max_shots_pixels: self.max_shots_pixels,
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

#[cfg(test)]
mod docs_tests {
    use super::*;

    /// `docs/configuration.md` is what the declarations generate.
    #[test]
    fn the_documented_table_is_the_code() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/configuration.md");
        let documented = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            documented == docs_markdown(),
            "{} differs from the settings declared in config.rs: run \
             `faceproof config docs > docs/configuration.md`",
            path.display()
        );
    }

    #[test]
    fn every_setting_is_documented_once_with_its_default() {
        let groups = groups();
        let mut keys: Vec<&str> = groups
            .iter()
            .flat_map(|g| g.settings.iter().map(|s| s.key))
            .collect();
        let n = keys.len();
        keys.sort();
        keys.dedup();
        assert_eq!(keys.len(), n);
        let all: Vec<&Setting> = groups.iter().flat_map(|g| &g.settings).collect();
        let row = |k: &str| all.iter().find(|s| s.key == k).unwrap();
        assert_eq!(row("listen").default, "`127.0.0.1:8080`");
        assert_eq!(row("listen").env, Some("FACEPROOF_LISTEN"));
        assert_eq!(row("max_file_bytes").default, "10485760");
        assert_eq!(row("webhook_secret").default, "none");
        assert_eq!(row("web_sdk_languages").default, "`en,ru,es,pt-BR,tr`");
        assert_eq!(row("job_lease_secs").env, Some("FACEPROOF_JOB_LEASE"));
        assert!(all
            .iter()
            .all(|s| s.env.is_some_and(|e| e.starts_with("FACEPROOF_"))));
    }
}
