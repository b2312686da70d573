//! The HTTP integration tests of `faceproof`: one test binary (linking a ~250 MB test executable
//! once instead of once per file), one module per feature. Every test runs the real binary
//! (`faceproof serve`, `worker`, `reindex`, …) on free ports with its own data directory and, for
//! PostgreSQL, its own database, so tests run in parallel. Shared set-up lives in [`common`]:
//! the server launcher, webhook receivers, ZIP builders, the shared data.
//!
//! Run one feature with `cargo nextest run -p faceproof --test api <module>` (e.g. `folders`,
//! `web_sdk`), one test with its name.

#[macro_use]
mod common;

mod accounts;
mod analyses;
mod auth;
mod blacklist;
mod browser_console;
mod browser_documents;
mod browser_web_sdk;
mod collections;
mod compat;
mod console;
mod documents;
mod eval_api;
mod eval_capture;
mod faces;
mod folders;
mod hardening;
mod limits;
mod lite;
mod matrix;
mod openapi;
mod ops;
mod rebinding;
mod reindex;
mod report;
mod scale;
mod sessions;
mod shapes;
mod statistics;
mod storage;
mod upload_stream;
mod web_sdk;
mod web_sdk_handoff;
