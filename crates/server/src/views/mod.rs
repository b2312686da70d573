//! The Oz JSON representation of the domain: folders, media, analyses, collections (with their
//! persons, images and searches) and the webhook body, built
//! from store rows. Shared by the HTTP handlers and the webhook sender (neither imports the other);
//! users and companies serialize as they are stored. Pinned by the snapshot tests in
//! `crates/cli/tests/api/shapes.rs`.

mod analysis;
pub mod collection;
mod folder;
pub mod schema;
mod webhook;

pub use analysis::analysis;
pub use folder::{folder, media, FolderView, MediaView};
pub use webhook::{webhook_body, WebhookFormat, WEBHOOK_EVENT};
