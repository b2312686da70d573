//! `faceproof assets fetch|verify`: the browser files the server serves from a cache (Swagger UI
//! for `/api/docs`), from npm by pinned name and version, SHA-256 checked.

use std::path::PathBuf;

use anyhow::bail;
use faceproof_server::assets::{default_assets_dir, SWAGGER_UI};

#[derive(clap::Args)]
pub struct Args {
    /// The cache directory (default `~/.cache/faceproof/assets`).
    #[arg(long, env = "FACEPROOF_ASSETS_DIR")]
    dir: Option<PathBuf>,
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Install with `npm pack` (or from `--tarball`), unless already installed.
    Fetch {
        /// Use this package tarball instead of asking npm (offline installs).
        #[arg(long)]
        tarball: Option<PathBuf>,
    },
    /// Check the installed files against the digests recorded at install; exit 1 when absent or changed.
    Verify,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let root = args.dir.unwrap_or_else(default_assets_dir);
    let name = format!("{}@{}", SWAGGER_UI.package, SWAGGER_UI.version);
    match args.action {
        Action::Fetch { tarball: Some(t) } => {
            let dir = SWAGGER_UI.install_from(&std::fs::read(&t)?, &root)?;
            println!("{name} installed in {}", dir.display());
        }
        Action::Fetch { tarball: None } => {
            let dir = SWAGGER_UI.fetch(&root)?;
            println!("{name} in {}", dir.display());
        }
        Action::Verify => {
            if SWAGGER_UI.load(&root).is_none() {
                bail!(
                    "{name} is not installed in {} (run `faceproof assets fetch`)",
                    root.display()
                );
            }
            println!("{name} verified in {}", SWAGGER_UI.dir(&root).display());
        }
    }
    Ok(())
}
