//! Real models on real photos of `shared/data`: detection, matching, liveness, typed errors.

use crate::common;

use faceproof_engine::{AnalyzeOptions, EngineError, FacePolicy};

fn decode_first(engine: &faceproof_engine::Engine, rel: &str) -> Option<image::RgbImage> {
    let bytes = common::data(rel)?;
    Some(engine.decode(&bytes).expect(rel).frames.remove(0).image)
}

#[test]
fn finds_the_face_of_a_portrait_and_its_landmarks_inside_the_box() {
    let Some(engine) = common::default_engine() else {
        return;
    };
    let Some(frame) = decode_first(&engine, "verification/Tony_Blair/Tony_Blair_0009.jpg") else {
        return;
    };
    let report = engine
        .analyze_image(&frame, &AnalyzeOptions::default())
        .unwrap();
    assert_eq!(report.faces_found, 1);
    let face = report.face().unwrap();
    assert!(face.detection.score > 0.9);
    let b = face.detection.bbox;
    assert!(b.width() > 100.0 && b.width() < 200.0, "{b:?}");
    let inside = face
        .landmarks
        .iter()
        .filter(|p| p[0] >= b.x1 && p[0] <= b.x2 && p[1] >= b.y1 && p[1] <= b.y2)
        .count();
    assert!(inside >= 60, "only {inside} of 68 landmarks inside the box");
    let pose = face.pose.unwrap();
    assert!(pose.yaw.abs() < 25.0, "{pose:?}");
    assert!(face.quality.score > 0.2, "{:?}", face.quality);
    let emb = face.embedding.as_ref().unwrap();
    assert_eq!(emb.len(), 128, "the default pack's SFace embedder");
    assert!((emb.iter().map(|x| x * x).sum::<f32>() - 1.0).abs() < 1e-3);
}

#[test]
fn a_document_back_without_a_face_is_no_face() {
    let Some(engine) = common::default_engine() else {
        return;
    };
    let Some(frame) = decode_first(&engine, "documents/100_id-usa.jpg") else {
        return;
    };
    let err = engine
        .analyze_image(&frame, &AnalyzeOptions::default())
        .unwrap_err();
    assert!(matches!(err, EngineError::NoFace), "{err:?}");
}

#[test]
fn several_faces_follow_the_callers_policy() {
    let Some(engine) = common::default_engine() else {
        return;
    };
    let rel = "verification/celeba_07246/194317.jpg";
    let Some(frame) = decode_first(&engine, rel) else {
        return;
    };
    let strict = AnalyzeOptions {
        policy: FacePolicy::Strict,
        ..AnalyzeOptions::default()
    };
    match engine.analyze_image(&frame, &strict) {
        Err(EngineError::MultipleFaces { count }) => assert!(count >= 2),
        other => panic!("expected MultipleFaces, got {other:?}"),
    }
    let largest = engine
        .analyze_image(
            &frame,
            &AnalyzeOptions {
                policy: FacePolicy::Largest,
                ..AnalyzeOptions::default()
            },
        )
        .unwrap();
    assert_eq!(largest.faces.len(), 1);
    assert_eq!(largest.bystanders.len(), largest.faces_found - 1);
    let all = engine
        .analyze_image(
            &frame,
            &AnalyzeOptions {
                policy: FacePolicy::All,
                ..AnalyzeOptions::default()
            },
        )
        .unwrap();
    assert!(all.faces.len() >= 2);
    assert!(all.faces[0].detection.bbox.area() >= all.faces[1].detection.bbox.area());
}

/// The dominant face rule on real photos: a colleague far behind the subject is a bystander; two
/// people side by side decline.
#[test]
fn a_background_face_is_a_bystander_and_a_comparable_one_declines() {
    let Some(engine) = common::default_engine() else {
        return;
    };
    let Some(frame) = decode_first(&engine, "liveness/live/nuaa/s0001/0001_00_00_01_12.jpg") else {
        return;
    };
    let dominant = AnalyzeOptions {
        policy: FacePolicy::Dominant,
        ..AnalyzeOptions::default()
    };
    let report = engine.analyze_image(&frame, &dominant).unwrap();
    assert_eq!((report.faces_found, report.faces.len()), (2, 1));
    let subject = report.faces[0].detection.bbox.width();
    let bystander = report.bystanders[0].bbox.width();
    assert!(
        subject > 180.0 && bystander < 70.0,
        "{subject} / {bystander}"
    );
    assert!(bystander / subject < faceproof_engine::BYSTANDER_WIDTH_RATIO);
    let strict = AnalyzeOptions {
        policy: FacePolicy::Strict,
        ..AnalyzeOptions::default()
    };
    assert!(matches!(
        engine.analyze_image(&frame, &strict),
        Err(EngineError::MultipleFaces { count: 2 })
    ));

    let (Some(a), Some(b)) = (
        decode_first(&engine, "verification/Colin_Powell/Colin_Powell_0004.jpg"),
        decode_first(&engine, "verification/Tony_Blair/Tony_Blair_0008.jpg"),
    ) else {
        return;
    };
    let mut two = image::RgbImage::from_pixel(
        a.width() + b.width(),
        a.height().max(b.height()),
        image::Rgb([128, 128, 128]),
    );
    image::imageops::replace(&mut two, &a, 0, 0);
    image::imageops::replace(&mut two, &b, a.width() as i64, 0);
    match engine.analyze_image(&two, &dominant) {
        Err(EngineError::MultipleFaces { count }) => assert_eq!(count, 2),
        other => panic!("expected MultipleFaces, got {other:?}"),
    }
}

#[test]
fn same_person_pairs_score_above_different_people() {
    let Some(engine) = common::default_engine() else {
        return;
    };
    let Some(dir) = common::data_dir() else {
        return;
    };
    let mut reader = csv::Reader::from_path(dir.join("verification/pairs.csv")).unwrap();
    let opts = AnalyzeOptions {
        liveness: false,
        attributes: false,
        ..AnalyzeOptions::default()
    };
    let embed = |rel: &str| {
        let bytes = std::fs::read(dir.join("verification").join(rel)).unwrap();
        let frame = engine.decode(&bytes).unwrap().frames.remove(0).image;
        engine
            .analyze_image(&frame, &opts)
            .ok()?
            .face()?
            .embedding
            .clone()
    };
    let (mut genuine, mut impostor) = (Vec::new(), Vec::new());
    for record in reader.records().take(120) {
        let r = record.unwrap();
        let (Some(a), Some(b)) = (embed(&r[0]), embed(&r[1])) else {
            continue;
        };
        let (_, confidence) = engine.compare(&a, &b);
        if &r[2] == "1" {
            genuine.push(confidence)
        } else {
            impostor.push(confidence)
        }
    }
    assert!(
        genuine.len() >= 20 && impostor.len() >= 20,
        "{} / {}",
        genuine.len(),
        impostor.len()
    );
    let mean = |v: &[f32]| v.iter().sum::<f32>() / v.len() as f32;
    assert!(
        mean(&genuine) > 0.8,
        "genuine mean confidence {}",
        mean(&genuine)
    );
    assert!(
        mean(&impostor) < 0.1,
        "impostor mean confidence {}",
        mean(&impostor)
    );
    let correct = genuine.iter().filter(|&&c| c >= 0.5).count()
        + impostor.iter().filter(|&&c| c < 0.5).count();
    let accuracy = correct as f32 / (genuine.len() + impostor.len()) as f32;
    assert!(accuracy > 0.9, "accuracy at confidence 0.5: {accuracy}");
}

#[test]
fn live_faces_and_print_or_replay_attacks_are_separated() {
    let Some(engine) = common::default_engine() else {
        return;
    };
    let opts = AnalyzeOptions {
        embedding: false,
        attributes: false,
        ..AnalyzeOptions::default()
    };
    let spoofing = |rel: &str| {
        let bytes = common::data(rel).unwrap();
        let decoded = engine.decode(&bytes).unwrap();
        engine
            .analyze_media(&decoded, &[], &opts)
            .unwrap()
            .confidence_spoofing()
            .unwrap()
    };
    if common::data_dir().is_none() {
        return;
    }
    for live in [
        "liveness/live/nuaa/s0002/0002_01_00_01_227.jpg",
        "liveness/live/frames/tranvanluyt2203_real/frame00595.jpg",
    ] {
        assert!(spoofing(live) < 0.5, "{live}: {}", spoofing(live));
    }
    for attack in [
        "liveness/spoof/print/nuaa/s0006/0006_00_00_01_170.jpg",
        "liveness/spoof/replay/frames/apfol_fake2/frame00141.jpg",
        "liveness/spoof/replay/frames/zubair_fake/frame00032.jpg",
    ] {
        assert!(spoofing(attack) > 0.5, "{attack}: {}", spoofing(attack));
    }
}

#[test]
fn exif_orientation_is_applied_before_detection() {
    let Some(engine) = common::default_engine() else {
        return;
    };
    let Some(bytes) = common::data("liveness/live/silentface/image_T1.jpg") else {
        return;
    };
    let frame = engine.decode(&bytes).unwrap().frames.remove(0).image;
    // Stored 640×480 with EXIF orientation 6: upright it is portrait.
    assert_eq!(frame.dimensions(), (480, 640));
    let report = engine
        .analyze_image(&frame, &AnalyzeOptions::default())
        .unwrap();
    let pose = report.face().unwrap().pose.unwrap();
    assert!(pose.roll.abs() < 30.0, "face should be upright: {pose:?}");
}

#[test]
fn corrupt_truncated_and_unknown_files_give_typed_errors() {
    let Some(engine) = common::default_engine() else {
        return;
    };
    let Some(jpeg) = common::data("verification/Tony_Blair/Tony_Blair_0009.jpg") else {
        return;
    };
    match engine.decode(&jpeg[..jpeg.len() / 4]) {
        Err(EngineError::Unreadable { .. }) => {}
        Err(other) => panic!("truncated JPEG: expected Unreadable, got {other:?}"),
        Ok(_) => panic!("a truncated JPEG decoded as if whole"),
    }
    let mut corrupt = jpeg.clone();
    for b in corrupt.iter_mut().skip(4).take(600) {
        *b = 0x55;
    }
    assert!(
        engine.decode(&corrupt).is_err(),
        "a JPEG with a destroyed header must not decode"
    );
    let png = faceproof_engine::media::encode_jpeg(&image::RgbImage::new(8, 8), 90).unwrap();
    assert!(
        engine.decode(&png[..png.len() - 2]).is_err(),
        "a JPEG cut before its end marker must not decode"
    );
    let err = engine
        .decode(b"%PDF-1.4 definitely not a face")
        .unwrap_err();
    assert!(matches!(err, EngineError::UnsupportedFormat(_)), "{err:?}");
    let Some(video) = common::data("video/apfol_live_head_turns.webm") else {
        return;
    };
    let err = engine
        .decode(&video[..video.len() / 20])
        .map(|d| d.frames.len());
    // A cut video may still yield its first frames; it must never yield a crash or a silent empty set.
    match err {
        Ok(n) => assert!(n >= 1),
        Err(e) => assert!(matches!(e, EngineError::Unreadable { .. }), "{e:?}"),
    }
}
