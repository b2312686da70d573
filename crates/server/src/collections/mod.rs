//! Blacklist collections (1:N search): enrolment of persons' photos (one face each, embedded once)
//! and the in-memory search index kept consistent with the database across processes.
//!
//! # The index
//!
//! [`CollectionIndex`] holds, per process, one exact SIMD index
//! ([`faceproof_engine::search::FlatIndex`]) per collection, keyed by (person, person image).
//! - It is **loaded lazily** from `person_images` on first use (in pages), after noting the change
//!   log's current sequence number.
//! - Every write (enrolment, deletion of an image, a person, a collection) appends to the change
//!   log in its own transaction ([`crate::store::collections`]); the writing process applies its
//!   own entries at once ([`CollectionIndex::applied`]).
//! - **Before every search** the index catches up with the log (`SELECT … WHERE seq > $last`, one
//!   indexed range read that is empty almost always), so a `faceproof worker` process and the
//!   server see an enrolment or a deletion as soon as it commits. Replaying is idempotent (an add
//!   overwrites, a removal of something absent is a no-op), which makes the lazy load race-free:
//!   anything committed between noting the sequence number and reading the rows is replayed.
//! - A hole in the sequence makes the index reload from scratch, so the log may be pruned of old
//!   entries as long as the newest one stays (the server prunes entries older than a day).
//!
//! Rows are stored in half precision ([`faceproof_engine::search::Precision::F16`]). Memory:
//! 256 B per enrolled photo with the default pack (128-d; 1 KiB with the 512-d faceplugin pack)
//! plus ids; search time is linear in the number of
//! faces in the searched collections (see the engine's `search` module for figures and for where
//! an approximate index would take over).
//!
//! # Decision threshold
//!
//! A search's default threshold scales with the number of faces searched so that the share of
//! strangers who hit someone stays ≤ 1 % ([`threshold`]).
//!
//! # Enrolment
//!
//! [`embed_photos`] runs every uploaded photo through the engine once (decode, detect under the
//! company's [`face_policy`]: the dominant face, smaller background faces ignored, unless strict;
//! embed). A photo without a face, with two comparable faces, or corrupt
//! refuses the whole request (error 4/400 with `details.reason` `no_face` / `multiple_faces` /
//! `unreadable`), before anything is written. [`store_images`] writes the files to the blob store
//! under `collections/<collection>/<person>/<image>/`, then the rows and change-log entries in one
//! transaction; on failure the files written are deleted.

mod enrol;
mod index;
pub mod reindex;
pub mod threshold;

pub use enrol::{embed_photos, face_policy, person_prefix, store_images, Embedded};
pub use index::{CollectionIndex, Hit};
