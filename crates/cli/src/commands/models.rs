//! `faceproof models fetch|verify`.

use std::path::PathBuf;

use anyhow::bail;
use faceproof_engine::models::{fetch_onnxruntime, install_pack, onnxruntime_library, verify_pack};

use crate::Globals;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Install the pack with `npm pack` (pinned name and version, SHA-256 checked) and the ONNX
    /// Runtime library from the pinned PyPI wheel with `pip download`.
    Fetch {
        /// Use this package tarball instead of asking npm (offline installs).
        #[arg(long)]
        tarball: Option<PathBuf>,
        /// Skip ONNX Runtime (the engine then runs on tract).
        #[arg(long)]
        no_onnxruntime: bool,
        /// Reinstall even when the installed files verify.
        #[arg(long)]
        force: bool,
    },
    /// Check the installed files against their pinned digests; exit 1 when any differs.
    Verify,
}

pub fn run(globals: &Globals, args: Args) -> anyhow::Result<()> {
    match args.action {
        Action::Fetch {
            tarball,
            no_onnxruntime,
            force,
        } => {
            let current = verify_pack(&globals.pack, &globals.models_dir)?;
            if force || current.models.iter().any(|m| !m.ok) {
                let report = install_pack(&globals.pack, &globals.models_dir, tarball.as_deref())?;
                for m in &report.models {
                    let note = if m.flushed > 0 {
                        format!(" ({} denormal weights flushed)", m.flushed)
                    } else {
                        String::new()
                    };
                    eprintln!("installed {} {}{note}", m.file, m.sha256);
                }
            } else {
                eprintln!(
                    "pack {} already installed in {}",
                    current.pack,
                    current.dir.display()
                );
            }
            if !no_onnxruntime {
                match onnxruntime_library(&globals.models_dir) {
                    Some(lib) if !force => {
                        eprintln!("ONNX Runtime already installed: {}", lib.display())
                    }
                    _ => {
                        let lib = fetch_onnxruntime(&globals.models_dir)?;
                        eprintln!("installed ONNX Runtime {}", lib.display());
                    }
                }
            }
            Ok(())
        }
        Action::Verify => {
            let report = verify_pack(&globals.pack, &globals.models_dir)?;
            println!("{}", serde_json::to_string_pretty(&report)?);
            if report.models.iter().any(|m| !m.ok) {
                bail!("some model files are missing or differ from their pinned digests");
            }
            Ok(())
        }
    }
}
