//! faceproof's Oz-compatible HTTP API server: accounts, companies, roles and tokens, folders,
//! media and metadata, on SQLite (default) or PostgreSQL. Knows no tensor: media are validated with
//! the engine's decoders only.
//!
//! Modules: [`http`] (one router per resource), [`auth`] (tokens, roles, the policy), [`store`]
//! (sqlx repositories and migrations), [`blobs`] (media bytes), [`uploads`] (multipart → validated
//! media), [`config`], [`errors`] (the error-code table).

pub mod analysis;
pub mod auth;
pub mod blobs;
pub mod collections;
pub mod config;
pub mod errors;
pub mod http;
pub mod inference;
pub mod server;
pub mod store;
pub mod uploads;
pub mod webhooks;

pub use config::Config;
pub use server::{create_user, serve, work};
