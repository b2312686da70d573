//! QUALITY (liveness): `confidence_spoofing` per media against the liveness threshold, the
//! gesture a video's tag asks for, and best shots.

use faceproof_engine::best_shot;
use faceproof_engine::gesture::Gesture;
use faceproof_engine::media::Decoded;
use faceproof_engine::{AnalyzeOptions, Engine, MediaReport};
use serde_json::{json, Value};
use uuid::Uuid;

use super::faces::{add_faces, analyze, faces_json, policy_for, problem_json, round4, source_keys};
use super::{BestShot, JobError, MediaInput, Outcome, Thresholds};
use crate::domain::{MediaKind, Resolution};

/// The id of the best shot of `source` made by `analysis`: the same on every retry, so a job run
/// twice stores one media, not two.
pub fn best_shot_id(analysis: Uuid, source: Uuid) -> Uuid {
    let mut name = analysis.as_bytes().to_vec();
    name.extend_from_slice(source.as_bytes());
    Uuid::new_v5(&Uuid::NAMESPACE_OID, &name)
}

/// The gestures a media's tags ask for, in the tags' order: the specific ones
/// (`video_selfie_left`…; several make a challenge checked in that order) over the plain
/// `video_selfie` / `video_selfie_blank`, which ask only for a face.
fn gestures_of(tags: &[String]) -> Vec<(&str, Gesture)> {
    let specific: Vec<(&str, Gesture)> = tags
        .iter()
        .filter_map(|t| Gesture::from_tag(t).map(|g| (t.as_str(), g)))
        .filter(|(_, g)| *g != Gesture::Blank)
        .collect();
    if !specific.is_empty() {
        return specific;
    }
    tags.iter()
        .find_map(|t| Gesture::from_tag(t).map(|g| (t.as_str(), g)))
        .into_iter()
        .collect()
}

/// Whether a head movement (turn or nod) is asked: what depth from motion can judge.
fn asks_head_move(gestures: &[Gesture]) -> bool {
    gestures.iter().any(|g| {
        matches!(
            g,
            Gesture::Left | Gesture::Right | Gesture::Down | Gesture::High
        )
    })
}

/// QUALITY (liveness): each media gets `confidence_spoofing` and its own resolution; gesture
/// videos must show their gesture; `extract_best_shot` keeps the best frame of each video.
pub(super) fn run_quality(
    engine: &Engine,
    analysis_id: Uuid,
    media: &[MediaInput],
    thresholds: &Thresholds,
    extract_best_shot: bool,
) -> Result<Outcome, JobError> {
    let mut out = Outcome::default();
    let (mut declined, mut undecided) = (false, false);
    for m in media {
        let (gesture_tags, gestures): (Vec<&str>, Vec<Gesture>) =
            gestures_of(&m.tags).into_iter().unzip();
        let is_video = m.kind != MediaKind::Image;
        let opts = AnalyzeOptions {
            policy: policy_for(m, thresholds),
            embedding: false,
            liveness: true,
            attributes: is_video,
            expression: false,
        };
        let mut entry = source_keys(m);
        let mut output_images = Vec::new();
        let resolution = match analyze(engine, m, &gestures, opts)? {
            Err(e) => {
                entry.insert(
                    "results_data".into(),
                    json!({ "confidence_spoofing": null }),
                );
                entry.insert("error".into(), problem_json(&e));
                Resolution::Declined
            }
            Ok((decoded, report)) => {
                let spoofing = report.confidence_spoofing();
                let mut data = json!({
                    "confidence_spoofing": spoofing.map(round4),
                    "threshold": round4(thresholds.liveness),
                });
                let mut resolution = match spoofing {
                    Some(s) if s < thresholds.liveness => Resolution::Success,
                    _ => Resolution::Declined,
                };
                match &report {
                    MediaReport::Image(_) => {
                        add_faces(&mut data, faces_json(&report).as_ref());
                        if extract_best_shot {
                            output_images.push(json!({ "media_id": m.media_id }));
                        }
                    }
                    MediaReport::Video(v) | MediaReport::ShotsSet(v) => {
                        data["frames_analysed"] = json!(v.frames.len());
                        data["liveness_frames"] = json!(v.liveness_frames);
                        data["liveness_frame_indices"] = json!(v.liveness_frame_indices);
                        data["liveness_required_frames"] = json!(v.liveness_required_frames);
                        data["liveness_spread"] = json!(v.liveness_spread.map(round4));
                        let rest = v.frames.iter().filter(|f| f.rest).count();
                        if rest > 0 {
                            data["rest_frames"] = json!(rest);
                        }
                        // Too little evidence is a retry, not a verdict: never declined as a
                        // spoof (nor passed) on fewer usable frames than the verdict needs.
                        if !v.liveness_sufficient && spoofing.is_some() {
                            resolution = Resolution::OperatorRequired;
                            entry.insert(
                                "error".into(),
                                json!({ "code": "too_few_frames",
                                        "message": format!(
                                            "{} of the {} usable frames liveness needs (frontal, sharp, with a face); take the capture again",
                                            v.liveness_frames, v.liveness_required_frames) }),
                            );
                        }
                        // A head movement asked: did the face move as a face or as a flat
                        // object (a photo turned by hand)? A flat one is an attack.
                        if asks_head_move(&gestures) {
                            let d = &v.depth_from_motion;
                            data["depth_from_motion"] = json!({
                                "residual": d.residual.map(round4),
                                "rest_residual": d.rest_residual.map(round4),
                                "affine_residual": d.affine_residual.map(round4),
                                "frames": d.frames,
                                "used_in_verdict": d.used_in_verdict,
                            });
                            if d.flat {
                                data["depth_from_motion"]["flat"] = json!(true);
                                resolution = Resolution::Declined;
                            }
                        }
                        // A head movement seen by the pose model but too small or brief for
                        // depth from motion to judge is no evidence of a face: measured, a photo
                        // tilted by hand read as a 19° nod on two frames and passed. Taken
                        // again, never passed (every live movement of the shared clips that was
                        // performed gave depth its frames).
                        let undecided_depth = asks_head_move(&gestures)
                            && v.gesture.as_ref().is_some_and(|g| g.performed)
                            && v.depth_from_motion.frames < faceproof_engine::depth::MIN_FRAMES;
                        if undecided_depth && resolution != Resolution::Declined {
                            resolution = Resolution::OperatorRequired;
                            entry.insert(
                                "error".into(),
                                json!({ "code": "gesture_not_performed",
                                        "message": "the movement was too small or too brief to be measured; take the capture again with a clear movement" }),
                            );
                        }
                        if let Some(g) = &v.gesture {
                            data["gesture"] = json!({
                                "name": gesture_tags.first(),
                                "performed": g.performed,
                                "frames_matching": g.frames_matching,
                                "frames_with_face": g.frames_with_face,
                                "peak": round4(g.peak),
                            });
                            if gesture_tags.len() > 1 {
                                data["gesture"]["sequence"] = json!(g
                                    .steps
                                    .iter()
                                    .zip(&gesture_tags)
                                    .map(|(s, t)| json!({"name": t, "performed": s.performed, "peak": round4(s.peak)}))
                                    .collect::<Vec<_>>());
                            }
                            if !g.unexpected.is_empty() {
                                data["gesture"]["unexpected"] = json!(g.unexpected);
                            }
                            if !g.performed {
                                resolution = Resolution::Declined;
                                entry.insert(
                                    "error".into(),
                                    json!({ "code": "gesture_not_performed",
                                            "message": if g.unexpected.is_empty() {
                                                "the requested gesture(s) were not seen in the video, in the order asked"
                                            } else {
                                                "the video shows a head movement that was not asked for"
                                            } }),
                                );
                            }
                        }
                        if extract_best_shot {
                            if let Some(shot) = best_frame(&decoded, analysis_id, m, v.best_frame)?
                            {
                                output_images.push(json!({ "media_id": shot.media_id }));
                                out.best_shots.push(shot);
                            }
                        }
                    }
                }
                if spoofing.is_none() && !entry.contains_key("error") {
                    entry.insert(
                        "error".into(),
                        json!({ "code": "no_face", "message": "no face could be scored" }),
                    );
                }
                entry.insert("results_data".into(), data);
                resolution
            }
        };
        declined |= resolution == Resolution::Declined;
        undecided |= resolution == Resolution::OperatorRequired;
        entry.insert("resolution_status".into(), json!(resolution));
        entry.insert("output_images".into(), Value::Array(output_images));
        out.results_media.push(Value::Object(entry));
    }
    out.resolution_status = if declined {
        Resolution::Declined
    } else if undecided {
        Resolution::OperatorRequired
    } else {
        Resolution::Success
    };
    out.results_data = json!({});
    Ok(out)
}

/// The chosen frame of a video as a JPEG (and its thumbnail), ready to store as a media.
fn best_frame(
    decoded: &Decoded,
    analysis_id: Uuid,
    m: &MediaInput,
    index: Option<usize>,
) -> Result<Option<BestShot>, JobError> {
    let Some(frame) = index.and_then(|i| decoded.frames.get(i)) else {
        return Ok(None);
    };
    // Encoding a decoded frame fails the same way every time.
    let jpeg = best_shot::frame_jpeg(&frame.image).map_err(JobError::permanent)?;
    let thumb = best_shot::thumbnail_jpeg(&frame.image, 320).ok();
    Ok(Some(BestShot {
        media_id: best_shot_id(analysis_id, m.media_id),
        source_media_id: m.media_id,
        jpeg,
        thumb,
        width: frame.image.width(),
        height: frame.image.height(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn the_specific_gestures_win_over_the_plain_selfie_tag_in_tag_order() {
        let t = tags(&["video_selfie", "video_selfie_left", "orientation_portrait"]);
        assert_eq!(gestures_of(&t), vec![("video_selfie_left", Gesture::Left)]);
        let t = tags(&["video_selfie", "video_selfie_right", "video_selfie_left"]);
        assert_eq!(
            gestures_of(&t),
            vec![
                ("video_selfie_right", Gesture::Right),
                ("video_selfie_left", Gesture::Left)
            ]
        );
        let t = tags(&["video_selfie", "video_selfie_blank"]);
        assert_eq!(gestures_of(&t), vec![("video_selfie", Gesture::Blank)]);
        assert!(gestures_of(&tags(&["photo_selfie"])).is_empty());
    }

    #[test]
    fn best_shot_ids_are_stable() {
        let a = Uuid::new_v4();
        let m = Uuid::new_v4();
        assert_eq!(best_shot_id(a, m), best_shot_id(a, m));
        assert_ne!(best_shot_id(a, m), best_shot_id(m, a));
    }
}
