//! The engine's integration tests: one test binary (one link instead of one per file), one module
//! per subject. Real models on the research data of `shared/data` ([`common`] finds both and
//! loads one engine per backend, shared by the tests of the process).
//!
//! Run one subject with `cargo nextest run -p faceproof-engine --test engine <module>`.

mod common;

mod accuracy;
mod documents;
mod faces;
mod gestures;
mod index_f16;
mod media_fuzz;
mod media_memory;
mod parity;
mod video;
