//! Decode bombs: refused from their header before any pixel memory is allocated, or decoded
//! within a stated per-decode bound (see `media::Limits`). The test runs in a process of its own
//! ([`common::in_own_process`]), so the process's peak RSS (`VmHWM`, reset through
//! `/proc/self/clear_refs`) measures only it.

use std::time::{Duration, Instant};

use crate::common;
use crate::common::png_bomb::png;
use faceproof_engine::media::{decode, decode_still, inspect, Limits, MediaKind};
use faceproof_engine::EngineError;

fn status_kb(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

/// Reset the peak to the current RSS; `false` where the kernel does not allow it.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn peak_mb() -> u64 {
    status_kb("VmHWM:") / 1024
}

#[test]
fn bombs_are_bounded_in_memory_and_time() {
    if !common::in_own_process("media_memory::bombs_are_bounded_in_memory_and_time") {
        return;
    }
    let limits = Limits::default();
    // 1. 7000×7000 16-bit RGBA (381 KB of PNG): 392 MB of decoder buffer, over `max_decode_bytes`,
    //    refused from the header alone, six at once.
    let rgba16 = png(7000, 7000, 16, 6);
    assert!(rgba16.len() < 500_000, "{}", rgba16.len());
    let can_reset = reset_peak();
    let base = status_kb("VmRSS:") / 1024;
    let started = Instant::now();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..6)
            .map(|_| s.spawn(|| decode(&rgba16, &limits)))
            .collect();
        for h in handles {
            let err = h.join().unwrap().unwrap_err();
            assert!(matches!(err, EngineError::TooLarge(_)), "{err:?}");
            assert!(err.to_string().contains("need 392 MB"), "{err}");
        }
    });
    assert!(started.elapsed() < Duration::from_secs(2));
    if can_reset {
        let grew = peak_mb().saturating_sub(base);
        eprintln!("six refused 16-bit bombs: peak +{grew} MB");
        assert!(grew < 32, "refusing from the header allocated {grew} MB");
    }

    // 2. Allowed but large: 7000×7000 8-bit RGB (147 MB decoder buffer) and 7000×7000 grey
    //    (49 MB buffer, 147 MB once RGB at full size): each decode stays under the stated
    //    200 MB (buffer + the image kept, box-downscaled to 4096 before conversion).
    for (name, bytes) in [
        ("rgb8", png(7000, 7000, 8, 2)),
        ("grey8", png(7000, 7000, 8, 0)),
    ] {
        let can_reset = reset_peak();
        let base = status_kb("VmRSS:") / 1024;
        let started = Instant::now();
        let still = decode_still(&bytes, &limits, None).unwrap();
        assert_eq!((still.width, still.height), (7000, 7000));
        assert_eq!(still.image.dimensions(), (4096, 4096), "{name}");
        let secs = started.elapsed().as_secs_f32();
        drop(still);
        if can_reset {
            let grew = peak_mb().saturating_sub(base);
            eprintln!("{name} 7000×7000: peak +{grew} MB in {secs:.1} s");
            assert!(grew <= 200, "{name}: one decode peaked at +{grew} MB");
        }
        // Upload validation decodes the same way.
        let found = inspect(&bytes, &limits).unwrap();
        assert_eq!(found.kind(), MediaKind::Image);
        assert_eq!((found.width, found.height), (7000, 7000));
    }

    // 2b. WebP (issue 23, item 10): image-webp decodes into a frame of its own besides the
    //     output, 4 B/px more. A 7000×7000 lossless WebP (49 M px: 147 MB of output, +196 MB of
    //     its own; 327 MB measured when decoded) is refused from its header; 4500×4500
    //     (20 M px, 142 MB in all) decodes within the stated 200 MB.
    let webp = |w: u32, h: u32| {
        let mut out = Vec::new();
        image::codecs::webp::WebPEncoder::new_lossless(&mut out)
            .encode(
                &vec![128u8; w as usize * h as usize * 3],
                w,
                h,
                image::ExtendedColorType::Rgb8,
            )
            .unwrap();
        out
    };
    let big = webp(7000, 7000);
    let can_reset = reset_peak();
    let base = status_kb("VmRSS:") / 1024;
    let err = decode(&big, &limits).unwrap_err();
    assert!(matches!(err, EngineError::TooLarge(_)), "{err:?}");
    assert!(err.to_string().contains("need 343 MB"), "{err}");
    if can_reset {
        let grew = peak_mb().saturating_sub(base);
        assert!(
            grew < 32,
            "refusing a WebP from its header allocated {grew} MB"
        );
    }
    let allowed = webp(4500, 4500);
    let can_reset = reset_peak();
    let base = status_kb("VmRSS:") / 1024;
    let started = Instant::now();
    let still = decode_still(&allowed, &limits, None).unwrap();
    assert_eq!((still.width, still.height), (4500, 4500));
    let secs = started.elapsed().as_secs_f32();
    drop(still);
    if can_reset {
        let grew = peak_mb().saturating_sub(base);
        eprintln!("webp 4500×4500 lossless: peak +{grew} MB in {secs:.1} s");
        assert!(grew <= 200, "webp: one decode peaked at +{grew} MB");
    }

    // 3. Over the pixel and side limits: refused without decoding.
    for bytes in [png(12_001, 10, 8, 0), png(8000, 8000, 8, 0)] {
        let err = decode(&bytes, &limits).unwrap_err();
        assert!(matches!(err, EngineError::TooLarge(_)), "{err:?}");
    }
}
