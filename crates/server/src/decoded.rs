//! Decode once: what an upload check has just decoded is handed on to the analysis that runs
//! on it in the same process, instead of being read back from the store and decoded again.
//!
//! When an upload orders analyses (a single request; Instant hands its media on directly), the
//! check ([`crate::uploads::prepare_for_analysis`]) decodes exactly what an analysis would (same
//! limits and code: [`faceproof_engine::media::inspect_and_decode`]): a photo's pixels, a
//! video's sampled frames (one ffprobe and one ffmpeg run instead of two of each).
//! [`crate::uploads::commit`] leaves them here under the new media id; the analysis job
//! (`analysis::execute`) looks here before reading the blob. A miss (another process, an evicted
//! or expired entry, a shots set) reads and decodes as before, so the cache changes the cost,
//! never the result.
//!
//! Bounded: at most [`MAX_BYTES`] of pixels (one longest video's frames fit: 48 × 1280 × 720 × 3
//! bytes = 133 MB) and [`MAX_ENTRIES`] media, each kept at most [`TTL`]; the oldest go first;
//! a single request forgets its media once its analyses have run. This memory comes on top of
//! the decode permits' bound ([`crate::inference`]). Entries are shared (`Arc`), so a media
//! taken by two analyses of one order (quality and biometry) is decoded once for both.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use faceproof_engine::media::Decoded;
use uuid::Uuid;

/// Most pixel bytes held (one longest video's frames, or about 180 selfies of 640×480).
pub const MAX_BYTES: usize = 160 * 1024 * 1024;
/// Most photos held.
pub const MAX_ENTRIES: usize = 256;
/// How long a photo waits for its analysis: a single request runs it within milliseconds.
pub const TTL: Duration = Duration::from_secs(30);

struct Entry {
    media_id: Uuid,
    decoded: Arc<Decoded>,
    bytes: usize,
    at: Instant,
}

#[derive(Default)]
struct Cache {
    entries: VecDeque<Entry>,
    bytes: usize,
}

impl Cache {
    fn expire(&mut self, now: Instant) {
        while let Some(front) = self.entries.front() {
            let over = self.bytes > MAX_BYTES || self.entries.len() > MAX_ENTRIES;
            if !over && now.duration_since(front.at) < TTL {
                break;
            }
            self.bytes -= front.bytes;
            self.entries.pop_front();
        }
    }
}

static CACHE: Mutex<Cache> = Mutex::new(Cache {
    entries: VecDeque::new(),
    bytes: 0,
});

fn pixel_bytes(d: &Decoded) -> usize {
    d.frames.iter().map(|f| f.image.as_raw().len()).sum()
}

/// Keep `decoded` for the analysis of `media_id` (media larger than the whole budget are not
/// kept).
pub fn keep(media_id: Uuid, decoded: Arc<Decoded>) {
    let bytes = pixel_bytes(&decoded);
    if bytes > MAX_BYTES {
        return;
    }
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    cache.bytes += bytes;
    cache.entries.push_back(Entry {
        media_id,
        decoded,
        bytes,
        at: Instant::now(),
    });
    cache.expire(Instant::now());
}

/// The decoded media of `media_id`, when this process still holds it.
pub fn get(media_id: Uuid) -> Option<Arc<Decoded>> {
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    cache.expire(Instant::now());
    cache
        .entries
        .iter()
        .rev()
        .find(|e| e.media_id == media_id)
        .map(|e| e.decoded.clone())
}

/// Forget `media_id` (its analyses have run): its memory is free for the next uploads.
pub fn forget(media_id: Uuid) {
    let mut cache = CACHE.lock().unwrap_or_else(|p| p.into_inner());
    if let Some(i) = cache.entries.iter().position(|e| e.media_id == media_id) {
        if let Some(e) = cache.entries.remove(i) {
            cache.bytes -= e.bytes;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use faceproof_engine::media::{Format, Frame};

    fn photo(side: u32) -> Arc<Decoded> {
        Arc::new(Decoded {
            format: Format::Jpeg,
            frames: vec![Frame {
                image: image::RgbImage::new(side, side),
                timestamp: 0.0,
                rest: false,
            }],
            duration: None,
        })
    }

    #[test]
    fn a_kept_photo_is_found_until_forgotten_and_the_budget_holds() {
        let id = Uuid::new_v4();
        keep(id, photo(8));
        assert!(get(id).is_some());
        assert!(get(Uuid::new_v4()).is_none());
        forget(id);
        assert!(get(id).is_none());
        // Past the byte budget the oldest go first.
        let side = 4096; // 48 MiB each
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::new_v4()).collect();
        for id in &ids {
            keep(*id, photo(side));
        }
        assert!(get(ids[0]).is_none());
        assert!(get(ids[4]).is_some());
        let cache = CACHE.lock().unwrap();
        assert!(cache.bytes <= MAX_BYTES);
    }
}
