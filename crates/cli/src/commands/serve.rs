//! `faceproof serve` (the Oz-compatible HTTP API) and `faceproof admin create` (accounts from the
//! command line). Settings: defaults < `--config` file < `FACEPROOF_*` variables < flags; see
//! `faceproof_server::config`.

use std::path::PathBuf;

use faceproof_server::auth::Role;
use faceproof_server::Config;

#[derive(clap::Args)]
pub struct Args {
    /// Address and port to listen on, e.g. 0.0.0.0:8080.
    #[arg(long)]
    listen: Option<String>,
    /// Where the SQLite database and the media files live.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// postgres://… to use PostgreSQL instead of the SQLite file in the data directory.
    #[arg(long)]
    database_url: Option<String>,
    /// TOML configuration file (also FACEPROOF_CONFIG).
    #[arg(long)]
    config: Option<PathBuf>,
}

fn load(
    config: Option<PathBuf>,
    data_dir: Option<PathBuf>,
    database_url: Option<String>,
) -> anyhow::Result<Config> {
    let mut cfg = Config::load(config.as_deref())?;
    if let Some(d) = data_dir {
        cfg.data_dir = d;
    }
    if let Some(u) = database_url {
        cfg.database_url = Some(u);
    }
    Ok(cfg)
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

pub fn run(globals: &crate::Globals, args: Args) -> anyhow::Result<()> {
    let mut cfg = load(args.config, args.data_dir, args.database_url)?;
    if let Some(l) = args.listen {
        cfg.listen = l;
    }
    runtime()?.block_on(faceproof_server::serve(cfg, globals.engine_options()))
}

#[derive(clap::Args)]
pub struct WorkerArgs {
    /// Analysis workers in this process (default: the `workers` setting, at least 1).
    #[arg(long)]
    workers: Option<usize>,
    /// Where the SQLite database and the media files live (shared with the server).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// postgres://… — the server's database.
    #[arg(long)]
    database_url: Option<String>,
    /// TOML configuration file (also FACEPROOF_CONFIG).
    #[arg(long)]
    config: Option<PathBuf>,
}

/// `faceproof worker`: process queued analyses and webhooks of a server's database.
pub fn run_worker(globals: &crate::Globals, args: WorkerArgs) -> anyhow::Result<()> {
    let mut cfg = load(args.config, args.data_dir, args.database_url)?;
    if let Some(n) = args.workers {
        cfg.workers = n;
    }
    runtime()?.block_on(faceproof_server::work(cfg, globals.engine_options()))
}

#[derive(clap::Args)]
pub struct AdminArgs {
    #[command(subcommand)]
    action: AdminAction,
}

#[derive(clap::Subcommand)]
enum AdminAction {
    /// Create a user (an ADMIN by default) directly in the database.
    Create {
        #[arg(long)]
        email: String,
        /// At least 8 characters (or FACEPROOF_ADMIN_PASSWORD).
        #[arg(long, env = "FACEPROOF_ADMIN_PASSWORD", hide_env_values = true)]
        password: String,
        /// ADMIN, OPERATOR, CLIENT, CLIENT ADMIN, CLIENT OPERATOR or CLIENT SERVICE.
        #[arg(long, default_value = "ADMIN")]
        role: String,
        /// For client roles: a company id, or the name of a company to create.
        #[arg(long)]
        company: Option<String>,
        #[arg(long)]
        data_dir: Option<PathBuf>,
        #[arg(long)]
        database_url: Option<String>,
        #[arg(long)]
        config: Option<PathBuf>,
    },
}

pub fn run_admin(args: AdminArgs) -> anyhow::Result<()> {
    match args.action {
        AdminAction::Create {
            email,
            password,
            role,
            company,
            data_dir,
            database_url,
            config,
        } => {
            let role =
                Role::parse(&role).ok_or_else(|| anyhow::anyhow!("unknown role {role:?}"))?;
            let cfg = load(config, data_dir, database_url)?;
            let id = runtime()?.block_on(faceproof_server::create_user(
                &cfg,
                &email,
                &password,
                role,
                company.as_deref(),
            ))?;
            println!("{id}");
            Ok(())
        }
    }
}
