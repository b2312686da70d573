//! faceproof's Oz-compatible HTTP API server: accounts, companies and roles, folders and media,
//! liveness / biometry / blacklist analyses as durable jobs, webhooks, collections (1:N), Instant
//! and the stateless Lite API, on SQLite (default) or PostgreSQL. Knows no tensor: every face
//! computation is a call into `faceproof_engine` through [`inference`].
//!
//! # Where things are
//! Imports point one way: `http` → services (`analysis`, `collections`, `web_sdk`, `webhooks`,
//! `uploads`, `tenancy`, `views`) → `app` (shared state) → `store` / `blobs` / `inference` / `auth` / `config` / `errors`
//! → `domain` → engine. Nothing outside `http/` imports `http` (checked by `tests/server/layout.rs`).
//!
//! - [`http`] — the HTTP surface: one router per resource, extractors, `serve` (bind, layers,
//!   graceful shutdown). Handlers parse, authorize, call a service, answer; objects named in a
//!   path are loaded through the one authorised loader (`http::access`).
//! - [`analysis`] — where an order is placed (`order`), where a job runs (`queue` claims and
//!   leases, `execute` runs one, `process_quality` / `process_biometry` / `process_collection`),
//!   analyses read back (`read`), single request and Instant.
//! - [`views`] — where Oz JSON is shaped: folders, media, analyses, collections (persons, images,
//!   searches), the webhook body.
//! - [`webhooks`] — signing, callback URL rules, the delivery worker.
//! - [`collections`] — enrolment (embedding photos) and the 1:N search index kept in sync by a
//!   change log.
//! - [`web_sdk`] — the web plugin's server side: its settings and actions, sessions (`session`:
//!   tokens, start, result), captures (`capture`: guidance frames, stored captures, the order a
//!   submitted session places), starts without a token where a company allows them
//!   (`tokenless`) and sessions continued on a phone (`handoff`: a one-time link as a QR code).
//! - [`tenancy`] — removing a company with everything it holds.
//! - [`report`] — the order report: what an order's view shows, gathered and laid out as a PDF.
//! - [`uploads`] — multipart bodies → validated, stored media (tags, payload, thumbnails).
//! - [`app`] — `AppState` (config, store, blobs, inference, index, wake-ups), opening it, the first
//!   ADMIN, maintenance, shutdown signal.
//! - [`auth`] — tokens, passwords, roles, the one policy function, login rate limits.
//! - [`store`] — sqlx repositories over SQLite and PostgreSQL, migrations, the job queue's tables.
//! - [`blobs`] — media bytes (local files or an S3-compatible bucket, through `object_store`).
//! - [`inference`] — the engine behind a bounded blocking pool, models loaded lazily.
//! - [`decoded`] — decode once: what an upload check decoded, kept (bounded) for the analysis
//!   that runs next in this process.
//! - [`metadata`] — the limits of client metadata objects and filter keys; [`text`] — the length
//!   and character rules of every other free-text field (names, e-mail addresses, file names,
//!   comments, search text), and no control characters in any JSON body or query string.
//! - [`assets`] — third-party browser files (Swagger UI) fetched from npm, pinned and cached.
//! - [`ops`] — health checks, scrape-time gauges (queue, collections, memory), the drain after
//!   SIGTERM; [`telemetry`] — metric names and the recorder; [`lifecycle`] — the stop flag.
//! - [`domain`] — the domain's words as enums (analysis states, resolutions, folder statuses,
//!   analysis types, media kinds, job and delivery states, the face policy), each spelled once;
//!   only `store/`, `views/` and `domain` spell them (checked by `tests/server/domain_words.rs`).
//! - [`config`] — every setting, declared once (field, default, TOML key, `FACEPROOF_*` variable,
//!   its row in `docs/configuration.md`); [`errors`] — the error-code table.

pub mod analysis;
pub mod app;
pub mod assets;
pub mod auth;
pub mod blobs;
pub mod collections;
pub mod config;
pub mod decoded;
pub mod domain;
pub mod errors;
pub mod http;
pub mod inference;
pub mod lifecycle;
pub mod metadata;
pub mod ops;
pub mod report;
pub mod store;
pub mod telemetry;
pub mod tenancy;
pub mod text;
pub mod uploads;
pub mod views;
pub mod web_sdk;
pub mod webhooks;

pub use app::create_user;
pub use config::Config;
pub use http::serve::{serve, work};
