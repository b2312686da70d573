//! ZIP archives of still frames ("shots sets", e.g. the web plugin's frame-list capture):
//! entries read in name order, each decoded as an image within the still limits. An entry whose
//! name ends in `_rest` before its extension (`frame_0003_rest.jpg`) is a *rest frame*: the
//! person's frontal rest before a movement, which the web plugin records at the end of its
//! countdown (see [`Frame::rest`]).
//!
//! Bounds: at most [`Limits::max_shots`] image entries (more is refused, not truncated), at most
//! [`Limits::max_unpacked_bytes`] uncompressed bytes in all (a ZIP bomb is refused, not
//! unpacked), every entry's header read and checked — each within the still limits, all
//! together within [`Limits::max_shots_pixels`] — before any entry is decoded (the decoding cost
//! is bounded before it is spent), the caller's budget ([`Limits::check_budget`]) checked
//! between entries, entries decoded one at a time, and the frames kept scaled so that together they
//! hold at most [`Limits::max_frames_pixels`] pixels.

use std::io::{Cursor, Read};

use super::{decode_still, sniff, still_dimensions, Frame, Limits, MediaKind};
use crate::error::{EngineError, MediaWord, Result};

/// The entries of an archive that count as frames, in name order (folders, macOS resource forks
/// and hidden files skipped), refused when more than `max_shots`.
fn frame_names<R: Read + std::io::Seek>(
    archive: &zip::ZipArchive<R>,
    limits: &Limits,
) -> Result<Vec<String>> {
    let mut names: Vec<String> = archive
        .file_names()
        .filter(|n| {
            !n.ends_with('/')
                && !n.starts_with("__MACOSX/")
                && !n.rsplit('/').next().unwrap_or("").starts_with('.')
        })
        .map(str::to_owned)
        .collect();
    names.sort();
    if names.len() > limits.max_shots {
        return Err(EngineError::TooLarge(format!(
            "a shots set of {} frames; the limit is {} frames",
            names.len(),
            limits.max_shots
        )));
    }
    Ok(names)
}

/// Whether an archive entry is a rest frame: its file name's stem ends in `_rest`.
pub fn is_rest_name(name: &str) -> bool {
    let file = name.rsplit('/').next().unwrap_or(name);
    let stem = file.rsplit_once('.').map_or(file, |(stem, _)| stem);
    stem.to_ascii_lowercase().ends_with("_rest")
}

/// Decode every image entry of a ZIP archive, in name order.
pub fn decode_shots_set(bytes: &[u8], limits: &Limits) -> Result<Vec<Frame>> {
    let mut frames = Vec::new();
    visit(bytes, limits, true, |i, name, still| {
        frames.push(Frame {
            image: still.image,
            timestamp: i as f32,
            rest: is_rest_name(name),
        });
    })?;
    Ok(frames)
}

/// Decode every frame of a shots set in order (each checked whole and within the limits),
/// handing each to `each`; `keep_frames` scales them for keeping (see the module doc). Returns
/// the number of frames.
pub(crate) fn visit(
    bytes: &[u8],
    limits: &Limits,
    keep_frames: bool,
    mut each: impl FnMut(usize, &str, super::Still),
) -> Result<usize> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| EngineError::unreadable(MediaWord::Archive, e))?;
    let names = frame_names(&archive, limits)?;
    if names.is_empty() {
        return Err(EngineError::unreadable(
            MediaWord::Archive,
            "the archive holds no images",
        ));
    }
    // Every frame's size is read from its header and checked first, so that a small archive of
    // huge frames is refused before a single one is decoded.
    check_headers(&mut archive, &names, limits)?;
    let per_frame = keep_frames.then(|| limits.max_frames_pixels / names.len() as u64);
    let mut budget = limits.max_unpacked_bytes;
    for (i, name) in names.iter().enumerate() {
        limits.check_budget()?;
        let data = read_entry(&mut archive, name, &mut budget, limits)?;
        let still = decode_still(&data, limits, per_frame).map_err(|e| in_entry(name, e))?;
        each(i, name, still);
    }
    Ok(names.len())
}

/// Read one entry whole, within what is left of the unpacked budget, and check that it is an
/// image.
fn read_entry<R: Read + std::io::Seek>(
    archive: &mut zip::ZipArchive<R>,
    name: &str,
    budget: &mut u64,
    limits: &Limits,
) -> Result<Vec<u8>> {
    let entry = archive
        .by_name(name)
        .map_err(|e| EngineError::unreadable(MediaWord::Archive, e))?;
    let mut data = Vec::new();
    // Read one byte past the budget so an over-budget entry is noticed without reading it all.
    entry
        .take(*budget + 1)
        .read_to_end(&mut data)
        .map_err(|e| EngineError::unreadable(MediaWord::Archive, e))?;
    if data.len() as u64 > *budget {
        return Err(EngineError::TooLarge(format!(
            "the archive unpacks to more than {} bytes",
            limits.max_unpacked_bytes
        )));
    }
    *budget -= data.len() as u64;
    match sniff(&data).map(|f| f.kind()) {
        Some(MediaKind::Image) => Ok(data),
        _ => Err(EngineError::UnsupportedFormat(format!(
            "archive entry {name:?} is not an image"
        ))),
    }
}

/// An error about one entry, named.
fn in_entry(name: &str, e: EngineError) -> EngineError {
    match e {
        EngineError::Unreadable { reason, .. } => {
            EngineError::unreadable(MediaWord::Archive, format!("entry {name:?}: {reason}"))
        }
        EngineError::TooLarge(reason) => {
            EngineError::TooLarge(format!("archive entry {name:?}: {reason}"))
        }
        other => other,
    }
}

/// Every frame's header read (nothing decoded): each within the still limits, all together
/// within [`Limits::max_shots_pixels`].
fn check_headers<R: Read + std::io::Seek>(
    archive: &mut zip::ZipArchive<R>,
    names: &[String],
    limits: &Limits,
) -> Result<()> {
    let mut budget = limits.max_unpacked_bytes;
    let mut total: u64 = 0;
    for name in names {
        limits.check_budget()?;
        let data = read_entry(archive, name, &mut budget, limits)?;
        let (w, h) = still_dimensions(&data, limits).map_err(|e| in_entry(name, e))?;
        total += w as u64 * h as u64;
        if total > limits.max_shots_pixels {
            return Err(EngineError::TooLarge(format!(
                "the frames of this shots set hold more than {} pixels together (the limit; \
                 e.g. {} frames of 1280×720)",
                limits.max_shots_pixels,
                limits.max_shots_pixels / (1280 * 720)
            )));
        }
    }
    Ok(())
}

/// The bytes of frame `index` (name order, as [`decode_shots_set`] numbers them) of a shots set,
/// as stored in the archive; `None` when there is no such frame.
pub fn shots_set_frame(bytes: &[u8], limits: &Limits, index: usize) -> Result<Option<Vec<u8>>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| EngineError::unreadable(MediaWord::Archive, e))?;
    let names = frame_names(&archive, limits)?;
    let Some(name) = names.get(index) else {
        return Ok(None);
    };
    let entry = archive
        .by_name(name)
        .map_err(|e| EngineError::unreadable(MediaWord::Archive, e))?;
    let mut data = Vec::new();
    entry
        .take(limits.max_unpacked_bytes + 1)
        .read_to_end(&mut data)
        .map_err(|e| EngineError::unreadable(MediaWord::Archive, e))?;
    if data.len() as u64 > limits.max_unpacked_bytes {
        return Err(EngineError::TooLarge(format!(
            "the archive unpacks to more than {} bytes",
            limits.max_unpacked_bytes
        )));
    }
    Ok(Some(data))
}

#[cfg(test)]
mod tests {
    use super::is_rest_name;

    #[test]
    fn rest_frames_are_named_with_a_rest_suffix() {
        assert!(is_rest_name("frame_0000_rest.jpg"));
        assert!(is_rest_name("capture/frame_0011_REST.png"));
        assert!(!is_rest_name("frame_0012.jpg"));
        assert!(!is_rest_name("rest/frame_0001.jpg"));
        assert!(!is_rest_name("restless.jpg"));
    }
}
