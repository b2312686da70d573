//! One module per subcommand.

pub mod analyze;
pub mod assets;
pub mod bench;
pub mod bench_api;
pub mod compare;
pub mod config;
pub mod eval;
pub mod eval_api;
pub mod eval_capture;
pub mod eval_documents;
pub mod local_server;
pub mod migrate_blobs;
pub mod models;
pub mod serve;

use indicatif::{ProgressBar, ProgressStyle};

/// A progress bar on stderr (hidden when stderr is not a terminal).
pub fn progress(len: u64, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len);
    bar.set_style(
        ProgressStyle::with_template("{msg:>12} [{bar:30}] {pos}/{len} ({eta} left)")
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_message(what.to_string());
    bar
}
