//! Gesture checks for video tags (`video_selfie_left`, `_right`, `_down`, `_high`, `_smile`,
//! `_eyes`, `_scan`, `_blank`): did the gesture the client asked for happen in the video — and,
//! for a server-chosen challenge of several gestures, did they happen in the order asked?
//!
//! Conventions (documented for API users): "left" and "right" are the user's own left and right
//! as seen by a non-mirrored camera, so turning left moves the face towards the image's right
//! (the pose model's yaw goes negative). "down" and "high" are pitch below / above the user's
//! resting pitch.
//!
//! The resting pose is the median pose of the capture's rest frames (`…_rest`, the end of the
//! plugin's countdown) or, without them, of the first frames with a face ([`REST_FRAMES`] of the
//! first [`REST_WINDOW`] sampled frames: the person looks at the camera during the countdown
//! and the movement comes after), clamped so a user who holds the phone a little low or to the
//! side is not penalised. Movements are signed against it: a nod down and back is not "high",
//! and a turn to one side and back is not a turn to the other. A clip whose first frames have
//! too few faces falls back to the clip's median pose, whose sign is weaker (a nod then passes
//! both ways), and says so in [`GestureCheck::rest_from_start`].
//!
//! Head movements (turns and nods) must be exactly the ones asked ([`GestureCheck::unexpected`]),
//! so one recording that runs through every movement cannot pass any challenge: when a turn,
//! nod or smile is asked, the opposite direction of an asked axis fails the check at that
//! axis' threshold (a left turn asked, a right turn past 20° seen), and a movement on an axis
//! that was not asked at all fails it at [`UNASKED_FACTOR`] × its threshold — a head turned 40°
//! also tilts by up to 15° (measured: +15.4° of pitch at the peak of a left turn), which is not
//! a nod. Either must hold over consecutive frames: the pose model slips on a lone blurred frame
//! (measured in `faceproof eval-capture` windows: one 47° reading amid frontal frames).

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
    /// A rest frame of the capture (the person looking straight just before the movement).
    pub rest: bool,
    /// Which way the landmarks say the head is turned: the nose tip's offset from the middle of
    /// the outer eye corners, over their distance (positive: the nose towards the image's right,
    /// as a turn to the user's left shows it). See [`landmark_turn`].
    pub turn: Option<f32>,
}

/// [`Observation::turn`] from 68 landmarks (iBUG order: 30 nose tip, 36 and 45 outer eye
/// corners); `None` for another count or a degenerate face.
pub fn landmark_turn(landmarks: &[[f32; 2]]) -> Option<f32> {
    if landmarks.len() != 68 {
        return None;
    }
    let (l, r, nose) = (landmarks[36][0], landmarks[45][0], landmarks[30][0]);
    let span = (r - l).abs();
    (span >= 1.0).then(|| (nose - (l + r) / 2.0) / span)
}

/// How far the landmarks' turn must move from rest before their direction overrules the pose
/// model's (a 20° turn moves it by about 0.3). Measured on the shared clips: the pose model's yaw
/// flipped sign on a bearded man with glasses turning past 30° (−79° then +46° within 0.6 s of one
/// turn, and −35° for a turn the other way), while the landmarks kept the turn's side in every
/// frame (+0.9 to +1.2, and −0.4 to −0.7); on the head-turn clip they agree with the pose model
/// throughout.
pub const LANDMARK_TURN_AGREEMENT: f32 = 0.1;

/// The frames with each yaw's side taken from the landmarks where they clearly disagree with the
/// pose model (the magnitude stays the pose model's, mirrored about the rest yaw).
fn with_landmark_sides(frames: &[Observation], rest_yaw: f32) -> Vec<Observation> {
    let marked: Vec<f32> = frames
        .iter()
        .filter(|o| o.rest && o.face)
        .filter_map(|o| o.turn)
        .collect();
    let rest_turn = if marked.len() >= REST_MIN_FRAMES {
        median(marked)
    } else {
        median(
            frames
                .iter()
                .take(REST_WINDOW)
                .filter(|o| o.face)
                .filter_map(|o| o.turn)
                .take(REST_FRAMES)
                .collect(),
        )
    };
    frames
        .iter()
        .map(|o| {
            let mut o = o.clone();
            if let (Some(p), Some(t), Some(rt)) = (o.pose.as_mut(), o.turn, rest_turn) {
                let (dy, dt) = (p.yaw - rest_yaw, t - rt);
                // Nose towards the image's right (dt > 0) is a negative yaw.
                if dt.abs() >= LANDMARK_TURN_AGREEMENT && (dt > 0.0) == (dy > 0.0) {
                    p.yaw = rest_yaw - dy;
                }
            }
            o
        })
        .collect()
}

/// The result of checking one gesture, or an ordered challenge of several, in one clip.
#[derive(Debug, Clone, Serialize)]
pub struct GestureCheck {
    /// The (first) gesture asked.
    pub gesture: Gesture,
    /// Every gesture was seen, in the order asked, and no head movement that was not asked.
    pub performed: bool,
    /// Frames in which the (first) gesture was seen.
    pub frames_matching: usize,
    /// Frames with a face.
    pub frames_with_face: usize,
    /// The strongest movement seen for the (first) gesture, in degrees from the resting pose
    /// (turns, nods) or the highest probability (smile, closed eyes).
    pub peak: f32,
    /// One entry per gesture asked, in order.
    pub steps: Vec<Step>,
    /// Head movements past their threshold that were not asked for.
    pub unexpected: Vec<Gesture>,
    /// The resting pose came from the clip's first frames (false: from the clip's median).
    pub rest_from_start: bool,
}

/// One gesture of a challenge.
#[derive(Debug, Clone, Serialize)]
pub struct Step {
    pub gesture: Gesture,
    /// Seen after the previous step.
    pub performed: bool,
    /// Index (among all sampled frames) of the frame where the gesture was confirmed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub frame: Option<usize>,
    /// The strongest movement seen for this gesture anywhere in the clip.
    pub peak: f32,
}

/// Degrees of yaw away from rest that count as a head turn.
pub const TURN_DEGREES: f32 = 20.0;
/// Degrees of pitch away from rest that count as looking down or up.
pub const NOD_DEGREES: f32 = 15.0;
/// Frames with a face whose median pose is the resting pose (0.5 s at the plugin's 8 frames per
/// second, 0.8 s at the server's default video sampling of 5).
pub const REST_FRAMES: usize = 4;
/// The resting frames must be among this many first sampled frames; a face that shows up later
/// may already be moving.
pub const REST_WINDOW: usize = 8;
/// Fewer resting frames than this and the clip's median pose is used instead.
const REST_MIN_FRAMES: usize = 3;

/// A head movement on an axis (yaw or pitch) that no asked gesture uses counts as unexpected from
/// this many times its threshold (30° of yaw, 22.5° of pitch).
pub const UNASKED_FACTOR: f32 = 1.5;

const HEAD_MOVES: [Gesture; 4] = [Gesture::Left, Gesture::Right, Gesture::Down, Gesture::High];

fn is_turn(g: Gesture) -> bool {
    matches!(g, Gesture::Left | Gesture::Right)
}

fn is_nod(g: Gesture) -> bool {
    matches!(g, Gesture::Down | Gesture::High)
}

fn median(mut v: Vec<f32>) -> Option<f32> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    Some(v[v.len() / 2])
}

/// The resting yaw and pitch, and whether they came from the first frames: the capture's rest
/// frames when it has them (the countdown's last moments, right before the movement — not the
/// first of them alone: a person still settling from a previous movement is settled by the
/// end), else the first frames with a face.
fn rest_pose(frames: &[Observation]) -> (f32, f32, bool) {
    // A rest frame still turned (the person not yet settled) is no rest: it would make the way
    // back to frontal read as a movement.
    let marked: Vec<Pose> = frames
        .iter()
        .filter(|o| o.rest && o.face)
        .filter_map(|o| o.pose)
        .filter(|p| p.yaw.abs() <= crate::engine::REST_POSE_TOLERANCE)
        .collect();
    let first: Vec<Pose> = if marked.len() >= REST_MIN_FRAMES {
        marked
    } else {
        frames
            .iter()
            .take(REST_WINDOW)
            .filter(|o| o.face)
            .filter_map(|o| o.pose)
            .take(REST_FRAMES)
            .collect()
    };
    let (poses, from_start) = if first.len() >= REST_MIN_FRAMES {
        (first, true)
    } else {
        (
            frames
                .iter()
                .filter(|o| o.face)
                .filter_map(|o| o.pose)
                .collect(),
            false,
        )
    };
    let yaw = median(poses.iter().map(|p| p.yaw).collect())
        .unwrap_or(0.0)
        .clamp(-15.0, 15.0);
    let pitch = median(poses.iter().map(|p| p.pitch).collect())
        .unwrap_or(-12.0)
        .clamp(-25.0, 5.0);
    (yaw, pitch, from_start)
}

/// How far one frame goes in the gesture's direction (degrees from rest, or a probability).
fn amount(g: Gesture, rest: (f32, f32), o: &Observation) -> Option<f32> {
    if !o.face {
        return None;
    }
    let (yaw, pitch) = rest;
    match g {
        Gesture::Left => o.pose.map(|p| yaw - p.yaw),
        Gesture::Right => o.pose.map(|p| p.yaw - yaw),
        Gesture::Down => o.pose.map(|p| pitch - p.pitch),
        Gesture::High => o.pose.map(|p| p.pitch - pitch),
        Gesture::Smile => o.smile,
        Gesture::Eyes => o.eyes.map(|e| 1.0 - e.left_open.max(e.right_open)),
        Gesture::Blank | Gesture::Scan => None,
    }
}

fn threshold(g: Gesture) -> f32 {
    match g {
        Gesture::Left | Gesture::Right => TURN_DEGREES,
        Gesture::Down | Gesture::High => NOD_DEGREES,
        _ => 0.5,
    }
}

fn matches(g: Gesture, rest: (f32, f32), o: &Observation) -> bool {
    amount(g, rest, o).is_some_and(|a| a >= threshold(g))
}

/// The longest run of consecutive frames meeting `f`: a movement holds for a moment, while the
/// pose model's slips on a blurred frame come alone.
fn longest_run(frames: &[Observation], f: impl Fn(&Observation) -> bool) -> usize {
    let (mut best, mut run) = (0, 0);
    for o in frames {
        run = if f(o) { run + 1 } else { 0 };
        best = best.max(run);
    }
    best
}

/// Check one gesture: [`check_sequence`] with one step.
pub fn check(gesture: Gesture, frames: &[Observation]) -> GestureCheck {
    check_sequence(&[gesture], frames)
}

/// Check that the clip performs `gestures` in this order: each one is looked for after the
/// frames where the one before it was seen, and head movements that were not asked fail the
/// check. An empty list checks for a face only ([`Gesture::Blank`]).
pub fn check_sequence(gestures: &[Gesture], frames: &[Observation]) -> GestureCheck {
    let gestures = if gestures.is_empty() {
        &[Gesture::Blank][..]
    } else {
        gestures
    };
    let frames_with_face = frames.iter().filter(|o| o.face).count();
    // One frame is noise; two sampled frames (≥ 0.2 s at the default sampling) is a movement.
    let needed = if frames_with_face < 6 { 1 } else { 2 };
    let (rest_yaw, rest_pitch, rest_from_start) = rest_pose(frames);
    let rest = (rest_yaw, rest_pitch);
    let frames = &with_landmark_sides(frames, rest_yaw)[..];
    let peak_of = |g: Gesture| {
        frames
            .iter()
            .filter_map(|o| amount(g, rest, o))
            .fold(0.0f32, f32::max)
    };
    let mut steps = Vec::new();
    let mut cursor = 0;
    let mut in_order = true;
    for &g in gestures {
        let found = if in_order {
            find_step(g, rest, &frames[cursor..], needed)
        } else {
            None
        };
        match found {
            Some((at, end)) => {
                steps.push(Step {
                    gesture: g,
                    performed: true,
                    frame: Some(cursor + at),
                    peak: peak_of(g),
                });
                cursor += end;
            }
            None => {
                in_order = false;
                steps.push(Step {
                    gesture: g,
                    performed: false,
                    frame: None,
                    peak: peak_of(g),
                });
            }
        }
    }
    let challenged = gestures
        .iter()
        .any(|g| HEAD_MOVES.contains(g) || *g == Gesture::Smile);
    let unexpected: Vec<Gesture> = if challenged {
        HEAD_MOVES
            .into_iter()
            .filter(|g| !gestures.contains(g))
            .filter(|&g| {
                // The opposite way on an asked axis counts from that axis' threshold (a
                // recording that turns both ways must not pass a one-way challenge, however
                // weak its second turn), an axis not asked at all from UNASKED_FACTOR × it;
                // either held over consecutive frames (a pose slip on one blurred frame is no
                // movement: measured, a lone 47° reading amid frontal frames).
                let axis_asked = gestures
                    .iter()
                    .any(|&a| (is_turn(a) && is_turn(g)) || (is_nod(a) && is_nod(g)));
                let limit = threshold(g) * if axis_asked { 1.0 } else { UNASKED_FACTOR };
                longest_run(frames, |o| amount(g, rest, o).is_some_and(|a| a >= limit)) >= needed
            })
            .collect()
    } else {
        Vec::new()
    };
    let first = gestures[0];
    let frames_matching = match first {
        Gesture::Blank | Gesture::Scan => frames_with_face,
        g => frames.iter().filter(|o| matches(g, rest, o)).count(),
    };
    GestureCheck {
        gesture: first,
        performed: in_order && unexpected.is_empty(),
        frames_matching,
        frames_with_face,
        peak: steps[0].peak,
        steps,
        unexpected,
        rest_from_start,
    }
}

/// Where `g` is seen in `frames`: the index of the frame that confirms it and the index just
/// past the movement (where the next gesture may start), or `None`.
fn find_step(
    g: Gesture,
    rest: (f32, f32),
    frames: &[Observation],
    needed: usize,
) -> Option<(usize, usize)> {
    match g {
        Gesture::Blank => frames.iter().position(|o| o.face).map(|i| (i, i + 1)),
        Gesture::Scan => {
            let with_face = frames.iter().filter(|o| o.face).count();
            (with_face * 2 >= frames.len().max(1)).then_some((0, frames.len()))
        }
        Gesture::Eyes => {
            // A blink: closed eyes in some frame and open eyes in another.
            let closed = frames.iter().position(|o| matches(g, rest, o))?;
            let open = frames
                .iter()
                .any(|o| amount(g, rest, o).is_some_and(|a| a < 0.5));
            open.then_some((closed, closed + 1))
        }
        _ => {
            let mut seen = 0;
            let at = frames.iter().position(|o| {
                seen += matches(g, rest, o) as usize;
                seen >= needed
            })?;
            let end = frames[at..]
                .iter()
                .position(|o| !matches(g, rest, o))
                .map_or(frames.len(), |k| at + k);
            Some((at, end))
        }
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
    fn a_nod_down_and_back_is_down_only_when_rest_is_taken_from_the_start() {
        let mut frames: Vec<_> = (0..5).map(|_| at(0.0, -10.0)).collect();
        frames.extend((0..4).map(|_| at(0.0, -40.0)));
        frames.extend((0..6).map(|_| at(0.0, -12.0)));
        let down = check(Gesture::Down, &frames);
        assert!(down.performed && down.rest_from_start, "{down:?}");
        let high = check(Gesture::High, &frames);
        assert!(!high.performed, "{high:?}");
        assert_eq!(high.peak, 0.0);
    }

    #[test]
    fn without_faces_at_the_start_the_clip_median_is_the_rest() {
        let mut frames: Vec<_> = (0..8).map(|_| Observation::default()).collect();
        frames.extend((0..10).map(|_| at(0.0, -10.0)));
        frames.extend((0..3).map(|_| at(-40.0, -10.0)));
        let left = check(Gesture::Left, &frames);
        assert!(left.performed && !left.rest_from_start, "{left:?}");
    }

    #[test]
    fn a_challenge_must_be_done_in_order_and_nothing_else() {
        let rest = || (0..5).map(|_| at(0.0, -10.0));
        let mut frames: Vec<_> = rest().collect();
        frames.extend((0..4).map(|_| at(35.0, -10.0)));
        frames.extend(rest());
        frames.extend((0..4).map(|_| at(-35.0, -10.0)));
        frames.extend(rest());
        let ok = check_sequence(&[Gesture::Right, Gesture::Left], &frames);
        assert!(ok.performed, "{ok:?}");
        assert_eq!(ok.steps[0].frame, Some(6));
        assert_eq!(ok.steps[1].frame, Some(15));
        let reversed = check_sequence(&[Gesture::Left, Gesture::Right], &frames);
        assert!(!reversed.performed, "{reversed:?}");
        assert!(reversed.steps[0].performed && !reversed.steps[1].performed);
        // Asked for one turn, the clip also shows the other: not exactly what was asked.
        let one = check(Gesture::Right, &frames);
        assert!(
            !one.performed && one.unexpected == vec![Gesture::Left],
            "{one:?}"
        );
        // A turn that tilts the head by 15° is no nod; a 25° nod beside a turn is one.
        let mut frames: Vec<_> = rest().collect();
        frames.extend((0..4).map(|_| at(-40.0, 6.0)));
        assert!(check(Gesture::Left, &frames).performed);
        frames.extend((0..3).map(|_| at(0.0, 16.0)));
        let nodded = check(Gesture::Left, &frames);
        assert!(!nodded.performed && nodded.unexpected == vec![Gesture::High]);
        // A smile challenge allows no big head movement either.
        let mut frames: Vec<_> = rest().collect();
        frames.extend((0..3).map(|_| Observation {
            smile: Some(0.9),
            ..at(0.0, -10.0)
        }));
        assert!(check(Gesture::Smile, &frames).performed);
        frames.extend((0..3).map(|_| at(35.0, -10.0)));
        assert!(!check(Gesture::Smile, &frames).performed);
    }

    #[test]
    fn a_lone_pose_slip_is_not_another_movement() {
        let rest = || (0..8).map(|_| at(0.0, -8.0));
        // One frame the pose model misread on each axis, apart from the turn.
        let mut frames: Vec<_> = rest().collect();
        frames.extend((0..6).map(|_| at(-38.0, -8.0)));
        frames.extend(rest());
        frames.push(at(47.0, -8.0));
        frames.extend(rest());
        frames.push(at(0.0, 30.0));
        frames.extend(rest());
        let left = check(Gesture::Left, &frames);
        assert!(left.performed && left.unexpected.is_empty(), "{left:?}");
        // A turn the other way, held, still fails the challenge.
        frames.extend((0..2).map(|_| at(24.0, -8.0)));
        let both = check(Gesture::Left, &frames);
        assert!(!both.performed && both.unexpected == vec![Gesture::Right]);
    }

    #[test]
    fn marked_rest_frames_give_the_rest_pose() {
        // The countdown's rest frames: the person still coming back from a turn in the first
        // two, settled in the others; the recording then turns 22° to the right of that rest.
        let rest = |yaw: f32| Observation {
            rest: true,
            ..at(yaw, -10.0)
        };
        let mut frames: Vec<_> = [14.0, 9.0, -3.0, -4.0, -3.0, -4.0, -3.0, -4.0]
            .into_iter()
            .map(rest)
            .collect();
        frames.extend((0..4).map(|_| at(-3.0, -10.0)));
        frames.extend((0..4).map(|_| at(19.0, -10.0)));
        let right = check(Gesture::Right, &frames);
        assert!(right.performed && right.rest_from_start, "{right:?}");
        assert!(right.peak >= 22.0, "{right:?}");
    }

    #[test]
    fn the_landmarks_decide_the_side_of_a_turn_the_pose_model_flips() {
        let rest = || {
            (0..8).map(|_| Observation {
                rest: true,
                turn: Some(0.05),
                ..at(-3.0, -5.0)
            })
        };
        // A turn to the user's left (nose towards the image's right) that the pose model reads
        // as −50° on some frames and +40° on others.
        let mut frames: Vec<_> = rest().collect();
        for yaw in [-30.0, -50.0, 40.0, 42.0, -45.0] {
            frames.push(Observation {
                turn: Some(0.95),
                ..at(yaw, -5.0)
            });
        }
        let left = check(Gesture::Left, &frames);
        assert!(left.performed && left.unexpected.is_empty(), "{left:?}");
        assert!(!check(Gesture::Right, &frames).performed);
        // Without landmarks the pose model's sides stand: both ways, not performed.
        for o in frames.iter_mut() {
            o.turn = None;
        }
        let left = check(Gesture::Left, &frames);
        assert!(
            !left.performed && left.unexpected == vec![Gesture::Right],
            "{left:?}"
        );
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
