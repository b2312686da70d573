//! `faceproof serve` (the Oz-compatible HTTP API) and `faceproof admin create` (accounts from the
//! command line). Settings: defaults < `--config` file < `FACEPROOF_*` variables < flags; see
//! `faceproof_server::config`.

use std::path::PathBuf;

use faceproof_server::auth::Role;
use faceproof_server::Config;

/// Where the server's state lives: shared by `serve`, `worker` and `admin create`.
#[derive(clap::Args)]
pub struct StoreArgs {
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

impl StoreArgs {
    /// The configuration with these flags applied on top.
    pub(crate) fn load(self) -> anyhow::Result<Config> {
        let mut cfg = Config::load(self.config.as_deref())?;
        if let Some(d) = self.data_dir {
            cfg.data_dir = d;
        }
        if let Some(u) = self.database_url {
            cfg.database_url = Some(u);
        }
        Ok(cfg)
    }
}

#[derive(clap::Args)]
pub struct Args {
    /// Address and port to listen on, e.g. 0.0.0.0:8080.
    #[arg(long)]
    listen: Option<String>,
    #[command(flatten)]
    store: StoreArgs,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

/// Run a server future to its end; engine calls still running on blocking threads after the
/// drain are not waited for (their jobs were released), so the process exits promptly.
fn run_server(f: impl std::future::Future<Output = anyhow::Result<()>>) -> anyhow::Result<()> {
    let rt = runtime()?;
    let result = rt.block_on(f);
    rt.shutdown_timeout(std::time::Duration::from_millis(500));
    result
}

pub fn run(globals: &crate::Globals, args: Args) -> anyhow::Result<()> {
    let mut cfg = args.store.load()?;
    crate::init_logging(cfg.log_format);
    if let Some(l) = args.listen {
        cfg.listen = l;
    }
    let options = globals.server_engine_options(cfg.pack.as_deref())?;
    run_server(faceproof_server::serve(cfg, options))
}

#[derive(clap::Args)]
pub struct WorkerArgs {
    /// Analysis workers in this process (default: the `workers` setting, at least 1).
    #[arg(long)]
    workers: Option<usize>,
    /// The server's data directory and database.
    #[command(flatten)]
    store: StoreArgs,
}

/// `faceproof worker`: process queued analyses and webhooks of a server's database.
pub fn run_worker(globals: &crate::Globals, args: WorkerArgs) -> anyhow::Result<()> {
    let mut cfg = args.store.load()?;
    crate::init_logging(cfg.log_format);
    if let Some(n) = args.workers {
        cfg.workers = n;
    }
    let options = globals.server_engine_options(cfg.pack.as_deref())?;
    run_server(faceproof_server::work(cfg, options))
}

#[derive(clap::Args)]
pub struct ReindexArgs {
    /// The server's data directory and database.
    #[command(flatten)]
    store: StoreArgs,
}

/// `faceproof reindex`: re-embed every enrolled collection photo made by another model pack with
/// the running one (resumable; safe beside running servers, which pick each image up from the
/// change log). Prints the report as JSON; exit 1 when a photo could not be re-embedded.
pub fn run_reindex(globals: &crate::Globals, args: ReindexArgs) -> anyhow::Result<()> {
    let cfg = args.store.load()?;
    let options = globals.server_engine_options(cfg.pack.as_deref())?;
    let report = runtime()?.block_on(async {
        let st = faceproof_server::app::build_state(&cfg, options).await?;
        let bar = super::progress(0, "re-embedding");
        use faceproof_server::collections::reindex::{reindex, Services};
        let services = Services {
            store: &st.store,
            inference: &st.inference,
            blobs: st.blobs.as_ref(),
            cfg: &st.cfg,
        };
        let report = reindex(services, |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
        .await;
        bar.finish_and_clear();
        report
    })?;
    eprintln!(
        "{} of {} photos re-embedded with {}; {} left as they were",
        report.reembedded,
        report.total,
        report.model,
        report.failed.len()
    );
    println!("{}", serde_json::to_string(&report)?);
    if !report.failed.is_empty() {
        anyhow::bail!(
            "{} photos yield no face with the running pack and stay unsearchable by it",
            report.failed.len()
        );
    }
    Ok(())
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
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub fn run_admin(args: AdminArgs) -> anyhow::Result<()> {
    match args.action {
        AdminAction::Create {
            email,
            password,
            role,
            company,
            store,
        } => {
            let role =
                Role::parse(&role).ok_or_else(|| anyhow::anyhow!("unknown role {role:?}"))?;
            let cfg = store.load()?;
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
