//! The `faceproof` binary: wires the engine (and, with `serve`, the HTTP server) to a command line.

mod commands;

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use faceproof_engine::models::{default_models_dir, BackendChoice, PackManifest};
use faceproof_engine::{Engine, EngineOptions};

#[derive(Parser)]
#[command(
    name = "faceproof",
    version,
    about = "Self-hosted face liveness and biometry"
)]
struct Cli {
    /// Where model packs and the ONNX Runtime library are installed.
    #[arg(long, global = true, env = "FACEPROOF_MODELS_DIR")]
    models_dir: Option<PathBuf>,
    /// Model pack: `sface` (default) or `faceplugin`, or the path of a manifest (JSON).
    #[arg(long, global = true, env = "FACEPROOF_PACK")]
    pack: Option<String>,
    /// Inference backend: auto (ONNX Runtime when installed, else tract), tract or ort.
    #[arg(long, global = true, env = "FACEPROOF_BACKEND", default_value = "auto")]
    backend: BackendChoice,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Install or verify the model pack and the ONNX Runtime library.
    Models(commands::models::Args),
    /// Install or verify the browser files of the API reference (Swagger UI, pinned, from npm).
    Assets(commands::assets::Args),
    /// Analyse photos, videos or ZIP archives of frames; one JSON object per file on stdout.
    Analyze(commands::analyze::Args),
    /// Compare the faces of two photos: similarity and calibrated confidence.
    Compare(commands::compare::Args),
    /// Measure accuracy on labelled data.
    Eval(commands::eval::Args),
    /// The decisions users get, through the HTTP API over the shared data (photos, pairs,
    /// videos, blacklists), next to the engine's figures for the same files.
    EvalApi(commands::eval_api::Args),
    /// What people and replays get from the web plugin: shared clips replayed through its
    /// capture protocol at many start offsets and encodings (docs/web-sdk.md).
    EvalCapture(commands::eval_capture::Args),
    /// Time each stage and whole photos, single-threaded and on all cores.
    Bench(commands::bench::Args),
    /// Load-test the HTTP API: analyses per minute and p50/p95 latency with concurrent clients.
    BenchApi(commands::bench_api::Args),
    /// Run the Oz-compatible HTTP API server.
    Serve(commands::serve::Args),
    /// Process queued analyses and webhooks (beside `serve`, on the same database and data directory).
    Worker(commands::serve::WorkerArgs),
    /// Manage accounts from the command line.
    Admin(commands::serve::AdminArgs),
    /// Re-embed enrolled collection photos with the running model pack (after a pack switch).
    Reindex(commands::serve::ReindexArgs),
    /// The server's settings: `config docs` prints their table (docs/configuration.md).
    Config(commands::config::Args),
    /// Copy a data directory's media files into the configured S3 bucket, verifying each
    /// object's SHA-256 (resumable).
    MigrateBlobs(commands::migrate_blobs::Args),
}

/// Settings shared by every command that loads the engine.
pub struct Globals {
    pub models_dir: PathBuf,
    pub pack: PackManifest,
    /// The pack was named by `--pack`/`FACEPROOF_PACK` (a server's config file names it otherwise).
    pub pack_named: bool,
    /// `--pack`/`FACEPROOF_PACK` as given, for servers this process starts (`bench-api`).
    pub pack_arg: Option<String>,
    pub backend: BackendChoice,
}

impl Globals {
    pub fn engine_options(&self) -> EngineOptions {
        EngineOptions {
            models_dir: self.models_dir.clone(),
            backend: self.backend,
            ..EngineOptions::for_pack(self.pack.clone())
        }
    }

    /// The engine options of a server: the config file's `pack` applies when no flag or
    /// variable named one.
    pub fn server_engine_options(
        &self,
        config_pack: Option<&str>,
    ) -> anyhow::Result<EngineOptions> {
        match config_pack {
            Some(name) if !self.pack_named => Ok(EngineOptions {
                models_dir: self.models_dir.clone(),
                backend: self.backend,
                ..EngineOptions::for_pack(PackManifest::resolve(name)?)
            }),
            _ => Ok(self.engine_options()),
        }
    }

    pub fn load_engine(&self) -> anyhow::Result<Engine> {
        Ok(Engine::load(self.engine_options())?)
    }
}

/// Log lines on stderr, filtered by `FACEPROOF_LOG` (default `warn`): text, or one JSON object
/// per line carrying the fields of the current span (a request's `request_id`, method, route).
pub fn init_logging(format: faceproof_server::config::LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FACEPROOF_LOG")
        .unwrap_or_else(|_| "warn".into());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        faceproof_server::config::LogFormat::Text => builder.init(),
        faceproof_server::config::LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .init(),
    }
}

fn main() {
    let cli = Cli::parse();
    // The servers log in the configured format, known once their settings are read.
    if !matches!(cli.command, Command::Serve(_) | Command::Worker(_)) {
        init_logging(Default::default());
    }
    let pack = match &cli.pack {
        Some(p) => PackManifest::resolve(p),
        None => Ok(PackManifest::default_pack()),
    };
    let result = pack.map_err(anyhow::Error::from).and_then(|pack| {
        let globals = Globals {
            models_dir: cli.models_dir.unwrap_or_else(default_models_dir),
            pack,
            pack_named: cli.pack.is_some(),
            pack_arg: cli.pack.clone(),
            backend: cli.backend,
        };
        match cli.command {
            Command::Models(args) => commands::models::run(&globals, args),
            Command::Assets(args) => commands::assets::run(args),
            Command::Analyze(args) => commands::analyze::run(&globals, args),
            Command::Compare(args) => commands::compare::run(&globals, args),
            Command::Eval(args) => commands::eval::run(&globals, args),
            Command::EvalApi(args) => commands::eval_api::run(&globals, args),
            Command::EvalCapture(args) => commands::eval_capture::run(&globals, args),
            Command::Bench(args) => commands::bench::run(&globals, args),
            Command::BenchApi(args) => commands::bench_api::run(&globals, args),
            Command::Serve(args) => commands::serve::run(&globals, args),
            Command::Worker(args) => commands::serve::run_worker(&globals, args),
            Command::Admin(args) => commands::serve::run_admin(args),
            Command::Reindex(args) => commands::serve::run_reindex(&globals, args),
            Command::MigrateBlobs(args) => commands::migrate_blobs::run(args),
            Command::Config(args) => commands::config::run(args),
        }
    });
    if let Err(e) = result {
        eprintln!("error: {e:#}");
        std::process::exit(1);
    }
}
