//! ZIP archives of frames (a `SHOTS_SET`, the web plugin's capture upload), built with the `zip`
//! crate: entries in the order given, so the server reads the frames in that order.

use std::io::Write;
use std::path::Path;

/// The frames as stored (uncompressed) entries `frame_0000.jpg`, `frame_0001.jpg`, …
pub fn frames(frames: &[Vec<u8>]) -> Vec<u8> {
    let entries: Vec<(String, Vec<u8>)> = frames
        .iter()
        .enumerate()
        .map(|(i, f)| (format!("frame_{i:04}.jpg"), f.clone()))
        .collect();
    entries_of(&entries, zip::CompressionMethod::Stored)
}

/// The files' bytes as stored entries named like [`frames`].
pub fn files(files: &[impl AsRef<Path>]) -> Vec<u8> {
    let bytes: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    frames(&bytes)
}

/// The files under their own names, deflated (as a browser's ZIP library writes them).
pub fn files_deflated(files: &[impl AsRef<Path>]) -> Vec<u8> {
    let entries: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|f| {
            let f = f.as_ref();
            let name = f.file_name().unwrap().to_string_lossy().to_string();
            (name, std::fs::read(f).unwrap())
        })
        .collect();
    entries_of(&entries, zip::CompressionMethod::Deflated)
}

/// Named entries, in order, with one compression method.
pub fn entries_of(entries: &[(String, Vec<u8>)], method: zip::CompressionMethod) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, bytes) in entries {
        w.start_file(name.as_str(), opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}
