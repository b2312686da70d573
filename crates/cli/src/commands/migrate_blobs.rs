//! `faceproof migrate-blobs`: copy a data directory's media files into the configured S3 bucket
//! (before switching the servers to `media_store = "s3"`), verifying every object's SHA-256 after
//! its upload. Resumable: run it again after an interruption, or once more right before the
//! switch to pick up files uploaded meanwhile; objects already copied are only read and compared.

use std::path::PathBuf;

use anyhow::Context;
use faceproof_server::blobs::{self, BlobStore, ObjectBlobs};
use faceproof_server::config::MediaStore;

#[derive(clap::Args)]
pub struct Args {
    /// The media directory to copy (default: `media/` in the configured data directory).
    #[arg(long)]
    from: Option<PathBuf>,
    /// The configuration naming the target bucket (`media_store = "s3"` and the `s3_*`
    /// settings, or FACEPROOF_MEDIA_STORE=s3 and FACEPROOF_S3_*).
    #[command(flatten)]
    store: super::serve::StoreArgs,
}

/// Prints the report as JSON on stdout and a summary on stderr; fails (exit 1) when any object
/// could not be copied or read back with another digest.
pub fn run(args: Args) -> anyhow::Result<()> {
    let cfg = args.store.load()?;
    if cfg.media_store != MediaStore::S3 {
        anyhow::bail!(
            "migrate-blobs copies into an S3 store: set media_store = \"s3\" and the s3_* settings (or FACEPROOF_MEDIA_STORE=s3 and FACEPROOF_S3_*)"
        );
    }
    let from = args.from.unwrap_or_else(|| cfg.media_dir());
    if !from.is_dir() {
        anyhow::bail!("{} is not a directory", from.display());
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let (report, target_name) = rt.block_on(async {
        let source = ObjectBlobs::local(&from, cfg.media_part_bytes)
            .with_context(|| format!("opening {}", from.display()))?;
        let target = blobs::open(&cfg)?;
        target
            .check()
            .await
            .with_context(|| format!("the S3 store {} does not answer", target.describe()))?;
        let bar = super::progress(0, "copying");
        let report = blobs::migrate::migrate(&source, &target, |done, total| {
            bar.set_length(total);
            bar.set_position(done);
        })
        .await;
        bar.finish_and_clear();
        anyhow::Ok((report?, target.describe()))
    })?;
    eprintln!(
        "{} objects in {}: {} copied ({} bytes), {} already in {target_name}, {} read back with another SHA-256, {} failed",
        report.total,
        from.display(),
        report.copied,
        report.bytes_copied,
        report.skipped,
        report.mismatched.len(),
        report.failed.len()
    );
    println!("{}", serde_json::to_string(&report)?);
    if !report.ok() {
        anyhow::bail!(
            "{} objects were not copied intact; run migrate-blobs again (it copies only what is missing or different)",
            report.mismatched.len() + report.failed.len()
        );
    }
    Ok(())
}
