//! Gesture checks for video tags (`video_selfie_left`, `_right`, `_down`, `_high`, `_smile`,
//! `_eyes`, `_scan`, `_blank`): did the gesture the client asked for happen in the video?
//!
//! Conventions (documented for API users): "left" and "right" are the user's own left and right
//! as seen by a non-mirrored camera, so turning left moves the face towards the image's right
//! (the pose model's yaw goes negative). "down" and "high" are pitch below / above the user's
//! resting pitch. Movements are measured against the median pose of the clip, so a user who holds
//! the phone a little low or to the side is not penalised.

use serde::Serialize;

use crate::face::{Eyes, Pose};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Gesture {
    /// No gesture asked (`video_selfie`, `video_selfie_blank`): only a face is required.
    Blank,
    Left,
    Right,
    Down,
    High,
    Smile,
    /// A blink: eyes closed in some frames, open in others.
    Eyes,
    /// A face present through the clip while the camera moves around it.
    Scan,
}

impl Gesture {
    /// The gesture a media tag asks for; `None` when the tag is not a selfie-video tag.
    pub fn from_tag(tag: &str) -> Option<Gesture> {
        Some(match tag {
            "video_selfie" | "video_selfie_blank" => Gesture::Blank,
            "video_selfie_left" => Gesture::Left,
            "video_selfie_right" => Gesture::Right,
            "video_selfie_down" => Gesture::Down,
            "video_selfie_high" => Gesture::High,
            "video_selfie_smile" => Gesture::Smile,
            "video_selfie_eyes" => Gesture::Eyes,
            "video_selfie_scan" => Gesture::Scan,
            _ => return None,
        })
    }
}

/// What the gesture check needs from one sampled frame.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    pub face: bool,
    pub pose: Option<Pose>,
    pub eyes: Option<Eyes>,
    /// Probability of the "happy" expression.
    pub smile: Option<f32>,
}

#[derive(Debug, Clone, Serialize)]
pub struct GestureCheck {
    pub gesture: Gesture,
    pub performed: bool,
    /// Frames in which the gesture was seen.
    pub frames_matching: usize,
    /// Frames with a face.
    pub frames_with_face: usize,
    /// The strongest movement seen, in degrees from the resting pose (turns, nods) or the
    /// highest probability (smile, closed eyes).
    pub peak: f32,
}

/// Degrees of yaw away from rest that count as a head turn.
pub const TURN_DEGREES: f32 = 20.0;
/// Degrees of pitch away from rest that count as looking down or up.
pub const NOD_DEGREES: f32 = 15.0;

fn median(mut v: Vec<f32>) -> Option<f32> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    Some(v[v.len() / 2])
}

pub fn check(gesture: Gesture, frames: &[Observation]) -> GestureCheck {
    let with_face: Vec<&Observation> = frames.iter().filter(|o| o.face).collect();
    let frames_with_face = with_face.len();
    // One frame is noise; two sampled frames (≥ 0.2 s at the default sampling) is a movement.
    let needed = if frames_with_face < 6 { 1 } else { 2 };
    let poses: Vec<Pose> = with_face.iter().filter_map(|o| o.pose).collect();
    let rest_yaw = median(poses.iter().map(|p| p.yaw).collect())
        .unwrap_or(0.0)
        .clamp(-15.0, 15.0);
    let rest_pitch = median(poses.iter().map(|p| p.pitch).collect())
        .unwrap_or(-12.0)
        .clamp(-25.0, 5.0);
    let deltas: Vec<f32> = match gesture {
        Gesture::Left => poses.iter().map(|p| rest_yaw - p.yaw).collect(),
        Gesture::Right => poses.iter().map(|p| p.yaw - rest_yaw).collect(),
        Gesture::Down => poses.iter().map(|p| rest_pitch - p.pitch).collect(),
        Gesture::High => poses.iter().map(|p| p.pitch - rest_pitch).collect(),
        Gesture::Smile => with_face.iter().filter_map(|o| o.smile).collect(),
        Gesture::Eyes => with_face
            .iter()
            .filter_map(|o| o.eyes)
            .map(|e| 1.0 - e.left_open.max(e.right_open))
            .collect(),
        Gesture::Blank | Gesture::Scan => Vec::new(),
    };
    let peak = deltas.iter().cloned().fold(0.0f32, f32::max);
    let (frames_matching, performed) = match gesture {
        Gesture::Left | Gesture::Right => {
            let n = deltas.iter().filter(|&&d| d >= TURN_DEGREES).count();
            (n, n >= needed)
        }
        Gesture::Down | Gesture::High => {
            let n = deltas.iter().filter(|&&d| d >= NOD_DEGREES).count();
            (n, n >= needed)
        }
        Gesture::Smile => {
            let n = deltas.iter().filter(|&&p| p >= 0.5).count();
            (n, n >= needed)
        }
        Gesture::Eyes => {
            let closed = deltas.iter().filter(|&&p| p >= 0.5).count();
            let open = deltas.iter().filter(|&&p| p < 0.5).count();
            (closed, closed >= 1 && open >= 1)
        }
        Gesture::Blank => (frames_with_face, frames_with_face >= 1),
        Gesture::Scan => (
            frames_with_face,
            frames_with_face * 2 >= frames.len().max(1),
        ),
    };
    GestureCheck {
        gesture,
        performed,
        frames_matching,
        frames_with_face,
        peak,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(yaw: f32, pitch: f32) -> Observation {
        Observation {
            face: true,
            pose: Some(Pose {
                yaw,
                pitch,
                roll: 0.0,
            }),
            ..Default::default()
        }
    }

    #[test]
    fn a_turn_to_the_users_left_is_seen_and_not_mistaken_for_right() {
        let mut frames: Vec<_> = (0..10).map(|_| at(2.0, -10.0)).collect();
        frames.extend((0..4).map(|_| at(-40.0, -10.0)));
        assert!(check(Gesture::Left, &frames).performed);
        assert!(!check(Gesture::Right, &frames).performed);
        assert!(!check(Gesture::Down, &frames).performed);
    }

    #[test]
    fn looking_up_counts_as_high_only() {
        let mut frames: Vec<_> = (0..10).map(|_| at(0.0, -12.0)).collect();
        frames.extend((0..3).map(|_| at(0.0, 20.0)));
        assert!(check(Gesture::High, &frames).performed);
        assert!(!check(Gesture::Down, &frames).performed);
    }

    #[test]
    fn tags_map_to_gestures() {
        assert_eq!(
            Gesture::from_tag("video_selfie_smile"),
            Some(Gesture::Smile)
        );
        assert_eq!(Gesture::from_tag("video_selfie"), Some(Gesture::Blank));
        assert_eq!(Gesture::from_tag("photo_selfie"), None);
    }
}
