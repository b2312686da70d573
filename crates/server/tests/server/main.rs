//! The server crate's integration tests: one test binary (one link instead of one per file).
//! The HTTP API end to end is tested in `crates/cli/tests/api` against the real binary; here are
//! the media store, the packaging files, the crate's layering, where the domain's words are spelled
//! and the parsers of untrusted input.
//!
//! Run one subject with `cargo nextest run -p faceproof-server --test server <module>`.

/// The moto launcher shared with the API tests (std only, so it compiles in both crates).
#[path = "../../../cli/tests/api/common/s3.rs"]
mod s3;

mod blob_store;
mod deploy_files;
mod domain_words;
mod layout;
mod untrusted_input;
