//! ZIP archives of still frames ("shots sets"): entries read in name order, each decoded as an
//! image; the total uncompressed size is bounded so a ZIP bomb is refused, not unpacked.

use std::io::{Cursor, Read};

use super::{decode_image, sniff, Frame, Limits, MediaKind};
use crate::error::{EngineError, MediaWord, Result};

/// Decode every image entry of a ZIP archive, in name order.
pub fn decode_shots_set(bytes: &[u8], limits: &Limits) -> Result<Vec<Frame>> {
    let mut archive = zip::ZipArchive::new(Cursor::new(bytes))
        .map_err(|e| EngineError::unreadable(MediaWord::Archive, e))?;
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
    if names.len() > limits.max_frames * 4 {
        return Err(EngineError::TooLarge(format!(
            "archive of {} files",
            names.len()
        )));
    }
    let mut frames = Vec::new();
    let mut budget = limits.max_bytes;
    for (i, name) in names.iter().enumerate() {
        let entry = archive
            .by_name(name)
            .map_err(|e| EngineError::unreadable(MediaWord::Archive, e))?;
        let mut data = Vec::new();
        // Read one byte past the budget so an over-budget entry is noticed without reading it all.
        entry
            .take(budget + 1)
            .read_to_end(&mut data)
            .map_err(|e| EngineError::unreadable(MediaWord::Archive, e))?;
        if data.len() as u64 > budget {
            return Err(EngineError::TooLarge(
                "archive unpacks to more than the size limit".into(),
            ));
        }
        budget -= data.len() as u64;
        match sniff(&data).map(|f| f.kind()) {
            Some(MediaKind::Image) => {}
            _ => {
                return Err(EngineError::UnsupportedFormat(format!(
                    "archive entry {name:?} is not an image"
                )));
            }
        }
        if frames.len() >= limits.max_frames {
            break;
        }
        frames.push(Frame {
            image: decode_image(&data, limits)?,
            timestamp: i as f32,
        });
    }
    if frames.is_empty() {
        return Err(EngineError::unreadable(
            MediaWord::Archive,
            "the archive holds no images",
        ));
    }
    Ok(frames)
}
