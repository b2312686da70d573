//! Decode bombs for tests: PNGs whose pixels are all zero, so the file is tiny while the decoded
//! image is huge. Shared by the engine's memory tests and the API's limit tests.

use std::io::Write;

/// A PNG of `w`×`h` zero pixels, written row by row (the test never holds the pixels): 7000×7000
/// 16-bit RGBA is 381 KB of file for 392 MB of pixels.
pub fn png(w: u32, h: u32, bit_depth: u8, colour: u8) -> Vec<u8> {
    let channels: u64 = match colour {
        0 => 1,
        2 => 3,
        6 => 4,
        _ => unreachable!(),
    };
    let row = vec![0u8; 1 + (w as u64 * channels * bit_depth as u64 / 8) as usize];
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    for _ in 0..h {
        z.write_all(&row).unwrap();
    }
    let idat = z.finish().unwrap();
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(&w.to_be_bytes());
    ihdr.extend_from_slice(&h.to_be_bytes());
    ihdr.extend_from_slice(&[bit_depth, colour, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    for (kind, data) in [(&b"IHDR"[..], &ihdr[..]), (b"IDAT", &idat), (b"IEND", &[])] {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        let mut crc = flate2::Crc::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        out.extend_from_slice(&crc.sum().to_be_bytes());
    }
    out
}
