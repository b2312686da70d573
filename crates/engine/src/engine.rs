//! The [`Engine`]: a loaded model pack plus the rules that turn frames into reports.
//!
//! `Engine` is `Send + Sync`; load it once per process and share it (an `Arc`) among workers.

use std::path::PathBuf;
use std::sync::Arc;

use image::RgbImage;
use serde::Serialize;

use crate::calibration::Calibration;
use crate::depth::DepthFromMotion;
use crate::document::{DocumentReader, MrzReading};
use crate::error::{EngineError, Result};
use crate::face::{self, Detection, Expression, Eyes, Liveness, Net, Pose};
use crate::gesture::{self, Gesture, GestureCheck, Observation};
use crate::imageops::Rect;
use crate::media::{self, Decoded, Limits, MediaKind};
use crate::models::{self, Backend, BackendChoice, OrtBackend, PackManifest, Role, TractBackend};
use crate::quality::{self, Quality};

/// How to load the engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    pub models_dir: PathBuf,
    pub pack: PackManifest,
    pub backend: BackendChoice,
    /// Minimum detector score for a face.
    pub detection_threshold: f32,
    /// IoU above which two detections are the same face.
    pub nms_iou: f32,
    /// Embed the mirrored face too and sum (better matching, twice the embedding cost).
    pub flip_augmentation: bool,
    pub calibration: Calibration,
    pub limits: Limits,
    /// The document pack (text detector and recogniser) to load beside the face pack; `None`
    /// (or its files missing) leaves [`Engine::read_document`] unavailable, nothing else.
    pub documents: Option<PackManifest>,
}

impl EngineOptions {
    /// The default options for `pack`, with its embedding settings (flip, calibration).
    pub fn for_pack(pack: PackManifest) -> Self {
        EngineOptions {
            models_dir: models::default_models_dir(),
            backend: BackendChoice::Auto,
            detection_threshold: 0.7,
            nms_iou: 0.4,
            flip_augmentation: pack.embedding.flip,
            calibration: pack.embedding.calibration,
            limits: Limits::default(),
            documents: Some(PackManifest::document_pack()),
            pack,
        }
    }
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions::for_pack(PackManifest::default_pack())
    }
}

/// Which face of a photo is the subject, and when other faces make the photo unusable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FacePolicy {
    /// The subject is the dominant face (the largest). Faces narrower than
    /// [`BYSTANDER_WIDTH_RATIO`] × the subject's width are bystanders: reported in
    /// [`ImageReport::bystanders`], never refusing the photo. A second face at least that wide
    /// (two people in frame, a photo held up beside the face) refuses it with
    /// [`EngineError::MultipleFaces`].
    #[default]
    Dominant,
    /// Any second face refuses the photo with [`EngineError::MultipleFaces`].
    Strict,
    /// The largest face, whatever else is in frame (ID documents carry a smaller ghost portrait).
    Largest,
    /// Report every face.
    All,
}

/// A face narrower than this fraction of the subject's width is a bystander under
/// [`FacePolicy::Dominant`]. Measured on the 255 full-frame live photos of
/// `shared/data/liveness`: 61 show a second face, at most 0.42 of the subject's width (median
/// 0.25; e.g. `live/nuaa/s0001/0001_00_00_01_12.jpg`, subject 219 px, bystander 44 px). Two
/// people side by side, or a face beside a life-size photo of one, come out near 1.
pub const BYSTANDER_WIDTH_RATIO: f32 = 0.5;

impl FacePolicy {
    /// Split the detections (largest first) into the faces to measure and the bystanders, or
    /// refuse the photo.
    fn select(self, mut detections: Vec<Detection>) -> Result<(Vec<Detection>, Vec<Detection>)> {
        let found = detections.len();
        if found == 0 {
            return Err(EngineError::NoFace);
        }
        match self {
            FacePolicy::All => Ok((detections, Vec::new())),
            FacePolicy::Strict if found > 1 => Err(EngineError::MultipleFaces { count: found }),
            FacePolicy::Dominant => {
                let rest = detections.split_off(1);
                let limit = BYSTANDER_WIDTH_RATIO * detections[0].bbox.width();
                let comparable = rest.iter().filter(|d| d.bbox.width() >= limit).count();
                if comparable > 0 {
                    return Err(EngineError::MultipleFaces {
                        count: comparable + 1,
                    });
                }
                Ok((detections, rest))
            }
            FacePolicy::Strict | FacePolicy::Largest => {
                let rest = detections.split_off(1);
                Ok((detections, rest))
            }
        }
    }
}

/// Which measurements to make on each face.
#[derive(Debug, Clone, Copy)]
pub struct AnalyzeOptions {
    pub policy: FacePolicy,
    pub embedding: bool,
    pub liveness: bool,
    /// Pose and eyes (needed for quality and gestures).
    pub attributes: bool,
    /// Facial expression (the largest model of the pack; needed only for the smile gesture).
    pub expression: bool,
}

/// Measurement defaults: the largest face, every measurement but expression. Tools that
/// measure models (eval, bench, the accuracy tests) use these; decisions about a user's photo
/// (the server, `faceproof analyze`/`compare`) use [`FacePolicy::Dominant`] or stricter.
impl Default for AnalyzeOptions {
    fn default() -> Self {
        AnalyzeOptions {
            policy: FacePolicy::Largest,
            embedding: true,
            liveness: true,
            attributes: true,
            expression: false,
        }
    }
}

/// Everything measured on one face.
#[derive(Debug, Clone, Serialize)]
pub struct FaceReport {
    #[serde(flatten)]
    pub detection: Detection,
    pub landmarks: Vec<[f32; 2]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pose: Option<Pose>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub eyes: Option<Eyes>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<Expression>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub liveness: Option<Liveness>,
    pub quality: Quality,
    /// L2-normalised embedding. Personal data: callers decide whether to expose it.
    #[serde(skip)]
    pub embedding: Option<Vec<f32>>,
}

/// One photo or frame.
#[derive(Debug, Clone, Serialize)]
pub struct ImageReport {
    pub width: u32,
    pub height: u32,
    /// Faces found before the policy picked among them.
    pub faces_found: usize,
    pub faces: Vec<FaceReport>,
    /// Faces found but not measured: smaller faces in the background (under
    /// [`FacePolicy::Dominant`]) or beside the largest one (under [`FacePolicy::Largest`]).
    pub bystanders: Vec<Detection>,
}

impl ImageReport {
    pub fn face(&self) -> Option<&FaceReport> {
        self.faces.first()
    }
}

/// One sampled frame of a video.
#[derive(Debug, Clone, Serialize)]
pub struct FrameReport {
    pub timestamp: f32,
    /// A rest frame of the capture (see `media::Frame::rest`).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub rest: bool,
    pub faces_found: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub face: Option<FaceReport>,
}

/// A video or shots set.
#[derive(Debug, Clone, Serialize)]
pub struct VideoReport {
    pub frames: Vec<FrameReport>,
    /// Robust aggregate of the per-frame `confidence_spoofing` (median over frontal, sharp frames).
    pub confidence_spoofing: Option<f32>,
    /// Frames the aggregate was taken over.
    pub liveness_frames: usize,
    /// Which frames (indices into `frames`) the aggregate was taken over.
    pub liveness_frame_indices: Vec<usize>,
    /// Usable frames the verdict needs: [`LIVENESS_MIN_FRAMES`], or every frame of a shorter clip.
    pub liveness_required_frames: usize,
    /// Enough usable (frontal, sharp) frames were seen for `confidence_spoofing` to decide; when
    /// false the capture should be taken again rather than judged.
    pub liveness_sufficient: bool,
    /// How much those frames disagree: the interquartile range (75th − 25th percentile) of
    /// their `confidence_spoofing`. Near 0 when every judged frame says the same; large when the
    /// verdict rests on a split clip (worth an operator's look).
    pub liveness_spread: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gesture: Option<GestureCheck>,
    /// Whether the head's movements moved the landmarks as one flat object would
    /// ([`crate::depth`]).
    pub depth_from_motion: DepthFromMotion,
    /// Index into `frames` of the best-quality face.
    pub best_frame: Option<usize>,
    /// Under a decision policy: were the clip's faces one person's?
    #[serde(skip_serializing_if = "Option::is_none")]
    pub identity: Option<IdentityCheck>,
}

/// The one-person check of a clip: the near-frontal faces ([`IDENTITY_MAX_YAW`],
/// [`IDENTITY_MAX_PITCH_OFFSET`]; embeddings of turned or nodding faces drift even for one
/// person) against the best frame's.
#[derive(Debug, Clone, Serialize)]
pub struct IdentityCheck {
    pub frames_compared: usize,
    /// Frames whose face is below the threshold: another person.
    pub frames_other: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_similarity: Option<f32>,
    /// Cosine similarity under which a face is another person's.
    pub threshold: f32,
}

/// Frames in which the face policy refuses the faces (two comparable faces, or any second face
/// under [`FacePolicy::Strict`]) that make a clip [`EngineError::MultipleFaces`]: one such frame
/// is more likely a detector slip than a second person.
pub const CROWDED_FRAMES: usize = 2;
/// Near-frontal frames showing another person that make a clip [`EngineError::FaceChanged`].
pub const CHANGED_FRAMES: usize = 2;
/// Faces turned further than this (degrees of yaw) are not compared for the one-person check.
pub const IDENTITY_MAX_YAW: f32 = 25.0;
/// Faces whose pitch is further than this from −10° (the usual pitch of a face looking at a
/// phone) are not compared: a deep nod (−37° to −48° in the shared head-turn clip) scored a
/// cosine of 0.31 against the person's own best frame.
pub const IDENTITY_MAX_PITCH_OFFSET: f32 = 20.0;
/// The calibrated confidence under which a clip's face is another person's. Looser than the 1:1
/// decision threshold (0.85): the frames of one capture share camera, light and moment, so the
/// same person scores far above it, while a different person scores far below.
pub const SAME_PERSON_CONFIDENCE: f32 = 0.5;

impl VideoReport {
    pub fn best_face(&self) -> Option<&FaceReport> {
        self.best_frame.and_then(|i| self.frames[i].face.as_ref())
    }
}

/// The report for any media file.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MediaReport {
    Image(ImageReport),
    Video(VideoReport),
    ShotsSet(VideoReport),
}

impl MediaReport {
    /// The face to use for matching or liveness: the photo's face, or the video's best face.
    pub fn primary_face(&self) -> Option<&FaceReport> {
        match self {
            MediaReport::Image(r) => r.face(),
            MediaReport::Video(v) | MediaReport::ShotsSet(v) => v.best_face(),
        }
    }

    /// `confidence_spoofing` of the photo's face or the video aggregate.
    pub fn confidence_spoofing(&self) -> Option<f32> {
        match self {
            MediaReport::Image(r) => r
                .face()
                .and_then(|f| f.liveness.as_ref())
                .map(|l| l.confidence_spoofing),
            MediaReport::Video(v) | MediaReport::ShotsSet(v) => v.confidence_spoofing,
        }
    }
}

/// What [`Engine::read_document`] found on a photo of a document.
#[derive(Debug, Clone, Serialize)]
pub struct DocumentReport {
    pub width: u32,
    pub height: u32,
    #[serde(flatten)]
    pub reading: MrzReading,
    pub portrait: Portrait,
}

/// The portrait of a document page.
#[derive(Debug, Clone, Serialize)]
pub struct Portrait {
    pub found: bool,
    /// Faces the detector found on the page (a ghost image is a second, smaller one).
    pub faces_found: usize,
    /// The largest face, in the upright page's pixels.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detection: Option<Detection>,
    /// Size of the face box in pixels.
    pub width: u32,
    pub height: u32,
    /// The face with a margin, cut from the upright page (for matching).
    #[serde(skip)]
    pub crop: Option<RgbImage>,
}

/// The loaded models and the rules that use them.
pub struct Engine {
    backend: &'static str,
    options: EngineOptions,
    detector: Net,
    landmarks: Net,
    embedder: Net,
    liveness: Net,
    pose: Net,
    eyes: Net,
    expression: Net,
    documents: Option<DocumentReader>,
    /// Why the document models did not load, when they did not.
    documents_missing: Option<String>,
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("backend", &self.backend)
            .field("pack", &self.options.pack.id)
            .finish()
    }
}

fn pick_backend(options: &EngineOptions) -> Result<Box<dyn Backend>> {
    let library = models::onnxruntime_library(&options.models_dir);
    match (options.backend, library) {
        (BackendChoice::Tract, _) => Ok(Box::new(TractBackend)),
        (BackendChoice::Ort, Some(lib)) => Ok(Box::new(OrtBackend::new(&lib)?)),
        (BackendChoice::Ort, None) => Err(EngineError::ModelPack(
            "ONNX Runtime is not installed: run `faceproof models fetch` or set FACEPROOF_ONNXRUNTIME".into(),
        )),
        (BackendChoice::Auto, Some(lib)) => match OrtBackend::new(&lib) {
            Ok(b) => Ok(Box::new(b)),
            Err(e) => {
                tracing::warn!("falling back to tract: {e}");
                Ok(Box::new(TractBackend))
            }
        },
        (BackendChoice::Auto, None) => Ok(Box::new(TractBackend)),
    }
}

impl Engine {
    /// Load every model of the pack (checking the files exist; `faceproof models verify` checks
    /// digests) with the chosen backend.
    pub fn load(options: EngineOptions) -> Result<Engine> {
        let backend = pick_backend(&options)?;
        let load = |role: Role| -> Result<Net> {
            let spec = options.pack.model(role)?.clone();
            let path = options.pack.path_of(&options.models_dir, role)?;
            if !path.exists() {
                return Err(EngineError::ModelPack(format!(
                    "{} is missing: run `faceproof models fetch` (models dir {})",
                    path.display(),
                    options.models_dir.display()
                )));
            }
            Ok(Net {
                model: backend.load(&path, &spec)?,
                spec,
            })
        };
        let (documents, documents_missing) = match &options.documents {
            Some(pack) => match DocumentReader::load(backend.as_ref(), pack, &options.models_dir) {
                Ok(reader) => (Some(reader), None),
                Err(e) => {
                    tracing::warn!("document reading unavailable: {e}");
                    (None, Some(e.to_string()))
                }
            },
            None => (None, Some("no document pack configured".to_string())),
        };
        Ok(Engine {
            documents,
            documents_missing,
            backend: backend.name(),
            detector: load(Role::Detector)?,
            landmarks: load(Role::Landmarks)?,
            embedder: load(Role::Embedder)?,
            liveness: load(Role::Liveness)?,
            pose: load(Role::Pose)?,
            eyes: load(Role::Eyes)?,
            expression: load(Role::Expression)?,
            options,
        })
    }

    /// Name of the backend running the models (`tract` or `ort`).
    pub fn backend(&self) -> &'static str {
        self.backend
    }

    pub fn options(&self) -> &EngineOptions {
        &self.options
    }

    pub fn pack_id(&self) -> &str {
        &self.options.pack.id
    }

    /// A loaded model by role (for benchmarks and tools that time single stages).
    pub fn net(&self, role: Role) -> &Net {
        match role {
            Role::Detector => &self.detector,
            Role::Landmarks => &self.landmarks,
            Role::Embedder => &self.embedder,
            Role::Liveness => &self.liveness,
            Role::Pose => &self.pose,
            Role::Eyes => &self.eyes,
            Role::Expression => &self.expression,
            Role::TextDetector | Role::TextRecognizer => match &self.documents {
                Some(d) => d.net(role),
                None => panic!("the document pack is not loaded"),
            },
        }
    }

    pub fn calibration(&self) -> Calibration {
        self.options.calibration
    }

    /// Whether the document models are loaded ([`Engine::read_document`] works).
    pub fn reads_documents(&self) -> bool {
        self.documents.is_some()
    }

    /// Read a photo of an ID document: its MRZ ([`DocumentReader::read_mrz`]) and its portrait
    /// (the largest face on the page turned upright by the MRZ's direction). `today` (year,
    /// month, day) places two-digit years. [`EngineError::ModelPack`] when the document models
    /// are not installed.
    pub fn read_document(
        &self,
        frame: &RgbImage,
        today: (i32, u32, u32),
    ) -> Result<DocumentReport> {
        let reader = self.documents.as_ref().ok_or_else(|| {
            EngineError::ModelPack(format!(
                "document reading is unavailable ({}): run `faceproof models fetch`",
                self.documents_missing.as_deref().unwrap_or("not loaded")
            ))
        })?;
        let reading = reader.read_mrz(frame, today)?;
        let upright = match reading.rotation {
            Some(90) => std::borrow::Cow::Owned(image::imageops::rotate270(frame)),
            Some(180) => std::borrow::Cow::Owned(image::imageops::rotate180(frame)),
            Some(270) => std::borrow::Cow::Owned(image::imageops::rotate90(frame)),
            _ => std::borrow::Cow::Borrowed(frame),
        };
        let portrait = self.portrait(&upright)?;
        Ok(DocumentReport {
            width: frame.width(),
            height: frame.height(),
            reading,
            portrait,
        })
    }

    /// A photo of a document turned so that its portrait stands upright: as it is when the face
    /// detector finds a face, else the first quarter turn (90°, 180°, 270° clockwise) on which it
    /// does. Returns the turn applied (degrees clockwise the page was turned) and the page;
    /// `(0, the photo)` when no turn shows a face.
    pub fn upright_page<'a>(
        &self,
        frame: &'a RgbImage,
    ) -> Result<(u32, std::borrow::Cow<'a, RgbImage>)> {
        if !self.detect(frame)?.is_empty() {
            return Ok((0, std::borrow::Cow::Borrowed(frame)));
        }
        for rotation in [90u32, 180, 270] {
            let page = match rotation {
                90 => image::imageops::rotate270(frame),
                180 => image::imageops::rotate180(frame),
                _ => image::imageops::rotate90(frame),
            };
            if !self.detect(&page)?.is_empty() {
                return Ok((rotation, std::borrow::Cow::Owned(page)));
            }
        }
        Ok((0, std::borrow::Cow::Borrowed(frame)))
    }

    /// The largest face of an (upright) page and its crop, enlarged by half its size on each
    /// side so the crop can be analysed like a photo of a face.
    pub fn portrait(&self, page: &RgbImage) -> Result<Portrait> {
        let detections = self.detect(page)?;
        let Some(det) = detections.first() else {
            return Ok(Portrait {
                found: false,
                faces_found: 0,
                detection: None,
                width: 0,
                height: 0,
                crop: None,
            });
        };
        let b = det.bbox;
        let (mx, my) = (b.width() * 0.5, b.height() * 0.5);
        let crop = Rect::from_corners_clamped(
            b.x1 - mx,
            b.y1 - my,
            b.x2 + mx,
            b.y2 + my,
            page.width(),
            page.height(),
        )
        .map(|r| image::imageops::crop_imm(page, r.x, r.y, r.width, r.height).to_image());
        Ok(Portrait {
            found: true,
            faces_found: detections.len(),
            width: b.width().round() as u32,
            height: b.height().round() as u32,
            detection: Some(det.clone()),
            crop,
        })
    }

    /// Decode any supported media with the engine's limits.
    pub fn decode(&self, bytes: &[u8]) -> Result<Decoded> {
        media::decode(bytes, &self.options.limits)
    }

    /// Faces in a frame, largest first.
    pub fn detect(&self, frame: &RgbImage) -> Result<Vec<Detection>> {
        face::detect::detect(
            &self.detector,
            frame,
            self.options.detection_threshold,
            self.options.nms_iou,
        )
    }

    /// The five alignment points (eye centres, nose tip, mouth corners) of a detected face, in
    /// frame pixels; `None` when the face is too small or too close to the edge to place them.
    pub fn five_landmarks(
        &self,
        frame: &RgbImage,
        det: &Detection,
    ) -> Result<Option<[(f32, f32); 5]>> {
        Ok(face::landmarks(&self.landmarks, frame, &det.bbox)?.map(|lm| face::five_points(&lm)))
    }

    /// The head pose of a detected face (the model the gesture check uses), for live guidance
    /// toward a movement; `None` when the face is too close to the edge to crop.
    pub fn head_pose(&self, frame: &RgbImage, det: &Detection) -> Result<Option<Pose>> {
        face::pose(&self.pose, frame, &det.bbox)
    }

    /// The "happy" probability of a detected face (what the smile gesture is checked on).
    pub fn smile(&self, frame: &RgbImage, det: &Detection) -> Result<Option<f32>> {
        Ok(face::expression(&self.expression, frame, &det.bbox)?.map(|e| e.probability("happy")))
    }

    /// Landmarks, alignment, embedding, liveness, attributes and quality of one detected face.
    /// `None` when the face is too small or too close to the edge to measure.
    pub fn measure_face(
        &self,
        frame: &RgbImage,
        det: Detection,
        opts: &AnalyzeOptions,
    ) -> Result<Option<FaceReport>> {
        let Some(landmarks) = face::landmarks(&self.landmarks, frame, &det.bbox)? else {
            return Ok(None);
        };
        let Some(aligned) = face::aligned_face(frame, &landmarks, 112) else {
            return Ok(None);
        };
        let embedding = if opts.embedding {
            Some(face::embedding(
                &self.embedder,
                &aligned,
                self.options.flip_augmentation,
            )?)
        } else {
            None
        };
        let liveness = if opts.liveness {
            face::liveness(&self.liveness, frame, &det.bbox)?
        } else {
            None
        };
        let (pose, eyes, expression) = if opts.attributes {
            (
                face::pose(&self.pose, frame, &det.bbox)?,
                face::eyes(&self.eyes, frame, &landmarks)?,
                if opts.expression {
                    face::expression(&self.expression, frame, &det.bbox)?
                } else {
                    None
                },
            )
        } else {
            (None, None, None)
        };
        let quality = quality::assess(&aligned, &det.bbox, pose.as_ref(), eyes.as_ref());
        Ok(Some(FaceReport {
            detection: det,
            landmarks,
            pose,
            eyes,
            expression,
            liveness,
            quality,
            embedding,
        }))
    }

    /// Analyse one photo or frame under a face policy. Errors: [`EngineError::NoFace`], and
    /// [`EngineError::MultipleFaces`] when the policy refuses the other faces in frame.
    pub fn analyze_image(&self, frame: &RgbImage, opts: &AnalyzeOptions) -> Result<ImageReport> {
        let detections = self.detect(frame)?;
        let faces_found = detections.len();
        let (subjects, bystanders) = opts.policy.select(detections)?;
        let mut faces = Vec::new();
        for det in subjects {
            if let Some(face) = self.measure_face(frame, det, opts)? {
                faces.push(face);
            }
        }
        if faces.is_empty() {
            return Err(EngineError::NoFace);
        }
        Ok(ImageReport {
            width: frame.width(),
            height: frame.height(),
            faces_found,
            faces,
            bystanders,
        })
    }

    /// Analyse the frames of a video or shots set: the largest face of each frame, the robust
    /// liveness aggregate, the gesture check (when `gestures` names any: one gesture, or a
    /// challenge of several in order) and the best frame.
    ///
    /// Under a decision policy ([`FacePolicy::Dominant`], [`FacePolicy::Strict`]) the clip must
    /// show one person throughout: [`EngineError::MultipleFaces`] when the policy refuses the
    /// faces of [`CROWDED_FRAMES`] frames or more, and [`EngineError::FaceChanged`] when the
    /// near-frontal faces of [`CHANGED_FRAMES`] frames or more are not the best frame's person
    /// (see [`VideoReport::identity`]). Embeddings are computed for that check whatever
    /// `opts.embedding` says. [`FacePolicy::Largest`] and [`FacePolicy::All`] (measurement
    /// tools) take the largest face of each frame and check neither.
    pub fn analyze_frames(
        &self,
        frames: &[media::Frame],
        gestures: &[Gesture],
        opts: &AnalyzeOptions,
    ) -> Result<VideoReport> {
        let one_person = matches!(opts.policy, FacePolicy::Dominant | FacePolicy::Strict);
        // The one-person check's embeddings are made afterwards, only for the faces it compares
        // (see `identity_embeddings`): most frames of a head-turn clip are not compared.
        let measure = AnalyzeOptions {
            policy: FacePolicy::Largest,
            expression: opts.expression || gestures.contains(&Gesture::Smile),
            ..*opts
        };
        let mut reports = Vec::with_capacity(frames.len());
        let (mut crowded, mut most_faces) = (0, 0);
        for frame in frames {
            let detections = self.detect(&frame.image)?;
            let faces_found = detections.len();
            if one_person && faces_found > 1 {
                if let Err(EngineError::MultipleFaces { count }) =
                    opts.policy.select(detections.clone())
                {
                    crowded += 1;
                    most_faces = most_faces.max(count);
                }
            }
            let face = match detections.into_iter().next() {
                Some(det) => self.measure_face(&frame.image, det, &measure)?,
                None => None,
            };
            reports.push(FrameReport {
                timestamp: frame.timestamp,
                rest: frame.rest,
                faces_found,
                face,
            });
        }
        if reports.iter().all(|r| r.face.is_none()) {
            return Err(EngineError::NoFace);
        }
        if crowded >= CROWDED_FRAMES {
            return Err(EngineError::MultipleFaces { count: most_faces });
        }
        let fused = aggregate_liveness(&reports);
        let gesture = (!gestures.is_empty()).then(|| {
            let observations: Vec<Observation> = reports
                .iter()
                .map(|r| match &r.face {
                    Some(f) => Observation {
                        face: true,
                        pose: f.pose,
                        eyes: f.eyes,
                        smile: f.expression.as_ref().map(|e| e.probability("happy")),
                        rest: r.rest,
                        turn: gesture::landmark_turn(&f.landmarks),
                    },
                    None => Observation {
                        rest: r.rest,
                        ..Observation::default()
                    },
                })
                .collect();
            gesture::check_sequence(gestures, &observations)
        });
        let best_frame = crate::best_shot::pick(
            reports
                .iter()
                .map(|r| r.face.as_ref().map(|f| f.quality.score)),
        );
        let identity = if one_person {
            if !opts.embedding {
                self.identity_embeddings(frames, &mut reports, best_frame)?;
            }
            let check = self.same_person(&reports, best_frame);
            if check.frames_other >= CHANGED_FRAMES {
                return Err(EngineError::FaceChanged {
                    frames: check.frames_other,
                    compared: check.frames_compared,
                });
            }
            Some(check)
        } else {
            None
        };
        let depth_from_motion = crate::depth::depth_from_motion(&reports);
        Ok(VideoReport {
            depth_from_motion,
            frames: reports,
            confidence_spoofing: fused.median,
            liveness_frames: fused.frames.len(),
            liveness_frame_indices: fused.frames,
            liveness_required_frames: fused.required,
            liveness_sufficient: fused.sufficient,
            liveness_spread: fused.spread,
            gesture,
            best_frame,
            identity,
        })
    }

    /// Embed the faces the one-person check compares (the best frame's and the near-frontal
    /// ones, [`identity_compared`]) and no other: the same embeddings as measuring every face
    /// with `embedding: true`, at a fraction of the cost on clips with head movements.
    fn identity_embeddings(
        &self,
        frames: &[media::Frame],
        reports: &mut [FrameReport],
        best: Option<usize>,
    ) -> Result<()> {
        if best.is_none() {
            return Ok(());
        }
        for (i, (frame, report)) in frames.iter().zip(reports.iter_mut()).enumerate() {
            let Some(face) = report.face.as_mut() else {
                continue;
            };
            if face.embedding.is_some() || (Some(i) != best && !identity_compared(face)) {
                continue;
            }
            if let Some(aligned) = face::aligned_face(&frame.image, &face.landmarks, 112) {
                face.embedding = Some(face::embedding(
                    &self.embedder,
                    &aligned,
                    self.options.flip_augmentation,
                )?);
            }
        }
        Ok(())
    }

    /// Compare the near-frontal faces of a clip with its best frame's face.
    fn same_person(&self, frames: &[FrameReport], best: Option<usize>) -> IdentityCheck {
        let threshold = self.calibration().similarity_for(SAME_PERSON_CONFIDENCE);
        let reference = best
            .and_then(|i| frames[i].face.as_ref())
            .and_then(|f| f.embedding.as_deref());
        let mut check = IdentityCheck {
            frames_compared: 0,
            frames_other: 0,
            min_similarity: None,
            threshold,
        };
        let Some(reference) = reference else {
            return check;
        };
        for f in frames.iter().filter_map(|r| r.face.as_ref()) {
            let Some(e) = f.embedding.as_deref().filter(|_| identity_compared(f)) else {
                continue;
            };
            let s = face::cosine(reference, e);
            check.frames_compared += 1;
            check.frames_other += (s < threshold) as usize;
            check.min_similarity = Some(check.min_similarity.map_or(s, |m: f32| m.min(s)));
        }
        check
    }

    /// Analyse decoded media of any kind.
    pub fn analyze_media(
        &self,
        decoded: &Decoded,
        gestures: &[Gesture],
        opts: &AnalyzeOptions,
    ) -> Result<MediaReport> {
        match decoded.kind() {
            MediaKind::Image => Ok(MediaReport::Image(
                self.analyze_image(&decoded.frames[0].image, opts)?,
            )),
            MediaKind::Video => Ok(MediaReport::Video(self.analyze_frames(
                &decoded.frames,
                gestures,
                opts,
            )?)),
            MediaKind::ShotsSet => Ok(MediaReport::ShotsSet(self.analyze_frames(
                &decoded.frames,
                gestures,
                opts,
            )?)),
        }
    }

    /// Cosine similarity of two embeddings and its calibrated confidence.
    pub fn compare(&self, a: &[f32], b: &[f32]) -> (f32, f32) {
        let s = face::cosine(a, b);
        (s, self.options.calibration.confidence(s))
    }
}

/// Whether the one-person check compares this face: near-frontal ([`IDENTITY_MAX_YAW`],
/// [`IDENTITY_MAX_PITCH_OFFSET`]).
fn identity_compared(f: &FaceReport) -> bool {
    f.pose.is_none_or(|p| {
        p.yaw.abs() <= IDENTITY_MAX_YAW && (p.pitch + 10.0).abs() <= IDENTITY_MAX_PITCH_OFFSET
    })
}

/// Frames whose face is this far from frontal, or this blurred, are not usable for the liveness
/// aggregate: the anti-spoofing model dips on motion blur and extreme pose even for live faces
/// (see `shared/reference/README.md`).
const AGGREGATE_MAX_YAW: f32 = 30.0;
const AGGREGATE_MAX_PITCH_OFFSET: f32 = 30.0;
const AGGREGATE_MIN_SHARPNESS: f32 = 0.25;
/// The fewest usable frames a clip's liveness verdict may rest on (fewer when the clip has fewer
/// frames in all: a client that sends three frames is judged on three). Below it the clip's
/// score is still reported but [`VideoReport::liveness_sufficient`] is false: too little
/// evidence is a retry, not a verdict. Measured: a live head-turn capture judged on 3 turned
/// frames scored 0.65 on a busy machine, the same capture's frontal frames 0.01–0.2.
pub const LIVENESS_MIN_FRAMES: usize = 8;

/// Degrees of yaw and pitch from the person's rest pose (the median of a capture's rest frames)
/// within which an action frame counts for liveness in a capture that has rest frames. Measured
/// (`faceproof eval-capture`, docs/web-sdk.md): head-turn captures whose frames up to 30° of yaw
/// counted scored 0.62–0.90 at CRF 28–32 on a live person, the same captures' rest frames far
/// lower; the anti-spoofing model is trained on faces looking at the camera.
pub const REST_POSE_TOLERANCE: f32 = 15.0;

/// The per-frame `confidence_spoofing` at which a clip's liveness is undecided (0.5 on the
/// clip's scale). The anti-spoofing model is a photo model: on the frames of a video — smaller
/// faces, a codec's blocks and smoothing — it reads a live person far higher than on a photo,
/// while a re-filmed screen stays at its ceiling. Measured (`faceproof eval-capture`, every
/// window of the shared clips as recorded, at CRF 28 and 32 and at 480p; docs/web-sdk.md): the
/// median over a live window's usable frames reached 0.87 (a backlit webcam, and a phone clip at
/// CRF 32), every replay window's 0.99–1.00 unless the real person is in frame beside the
/// screen (a multiple-faces verdict). 0.95 sits between them; the photo threshold (0.5) was
/// inside the live spread, declining 28 % of live windows.
pub const VIDEO_SPOOFING_MIDPOINT: f32 = 0.95;

/// A frame-median `confidence_spoofing` on the clip's scale: the logit moved so that
/// [`VIDEO_SPOOFING_MIDPOINT`] lands on 0.5 (monotonic; 0 and 1 stay put), so a company's
/// `liveness_threshold` means the same for a photo and for a capture.
pub fn video_spoofing(frames_median: f32) -> f32 {
    let eps = 1e-6;
    let p = frames_median.clamp(eps, 1.0 - eps);
    let shift = (VIDEO_SPOOFING_MIDPOINT / (1.0 - VIDEO_SPOOFING_MIDPOINT)).ln();
    let logit = (p / (1.0 - p)).ln() - shift;
    1.0 / (1.0 + (-logit).exp())
}

/// The liveness of a clip from its frames' reports (what [`Engine::analyze_frames`] reports as
/// `confidence_spoofing`, on the video scale of [`video_spoofing`]): the median over the usable frames — near-frontal, sharp, and in a
/// capture with rest frames (`…_rest`) near the person's rest pose ([`REST_POSE_TOLERANCE`]) —
/// with [`LIVENESS_MIN_FRAMES`] needed for a verdict. When fewer frames are sharp enough, the
/// sharpest of the other near-frontal ones fill in (a screen re-filmed is seldom sharp: six
/// sharp frames of a replay at 0.999 were a retry before, not a verdict). Public so a window of
/// a clip can be judged without measuring its frames again.
pub fn aggregate_liveness(frames: &[FrameReport]) -> LivenessAggregate {
    let scored: Vec<(usize, &FaceReport, f32)> = frames
        .iter()
        .enumerate()
        .filter_map(|(i, r)| r.face.as_ref().map(|f| (i, f)))
        .filter_map(|(i, f)| f.liveness.as_ref().map(|l| (i, f, l.confidence_spoofing)))
        .collect();
    let rest_pose = {
        let poses: Vec<Pose> = frames
            .iter()
            .filter(|r| r.rest)
            .filter_map(|r| r.face.as_ref().and_then(|f| f.pose))
            .collect();
        let median = |mut v: Vec<f32>| {
            v.sort_by(f32::total_cmp);
            v[v.len() / 2]
        };
        (poses.len() >= 3).then(|| {
            (
                median(poses.iter().map(|p| p.yaw).collect()),
                median(poses.iter().map(|p| p.pitch).collect()),
            )
        })
    };
    let frontal = |f: &FaceReport, rest: bool| {
        f.pose.is_none_or(|p| {
            let near_rest = rest
                || rest_pose.is_none_or(|(yaw, pitch)| {
                    (p.yaw - yaw).abs() <= REST_POSE_TOLERANCE
                        && (p.pitch - pitch).abs() <= REST_POSE_TOLERANCE
                });
            near_rest
                && p.yaw.abs() <= AGGREGATE_MAX_YAW
                && (p.pitch + 10.0).abs() <= AGGREGATE_MAX_PITCH_OFFSET
        })
    };
    let candidates: Vec<(usize, f32, f32)> = scored
        .iter()
        .filter(|(i, f, _)| frontal(f, frames[*i].rest))
        .map(|(i, f, s)| (*i, f.quality.sharpness_score, *s))
        .collect();
    let required = LIVENESS_MIN_FRAMES.min(frames.len()).max(1);
    let mut usable: Vec<(usize, f32)> = candidates
        .iter()
        .filter(|(_, sharp, _)| *sharp >= AGGREGATE_MIN_SHARPNESS)
        .map(|(i, _, s)| (*i, *s))
        .collect();
    if usable.len() < required {
        let mut blurred: Vec<&(usize, f32, f32)> = candidates
            .iter()
            .filter(|(_, sharp, _)| *sharp < AGGREGATE_MIN_SHARPNESS)
            .collect();
        blurred.sort_by(|a, b| b.1.total_cmp(&a.1));
        let missing = required - usable.len();
        usable.extend(blurred.iter().take(missing).map(|(i, _, s)| (*i, *s)));
        usable.sort_by_key(|(i, _)| *i);
    }
    let sufficient = usable.len() >= required;
    // With too few usable frames the score is still shown (over the usable ones, else over every
    // scored frame), but it decides nothing.
    let chosen: Vec<(usize, f32)> = if !usable.is_empty() {
        usable
    } else {
        scored.iter().map(|(i, _, s)| (*i, *s)).collect()
    };
    let mut values: Vec<f32> = chosen.iter().map(|(_, s)| *s).collect();
    values.sort_by(f32::total_cmp);
    let frames_median = quantile(&values, 0.5);
    LivenessAggregate {
        median: frames_median.map(video_spoofing),
        frames_median,
        frames: chosen.iter().map(|(i, _)| *i).collect(),
        required,
        sufficient,
        spread: quantile(&values, 0.75)
            .zip(quantile(&values, 0.25))
            .map(|(hi, lo)| hi - lo),
    }
}

/// A clip's liveness from its frames (see [`aggregate_liveness`]).
#[derive(Debug, Clone)]
pub struct LivenessAggregate {
    /// The clip's `confidence_spoofing`: the frames' median on the video scale
    /// ([`video_spoofing`]); `None` when no frame has a scored face.
    pub median: Option<f32>,
    /// The median of the frames' own (photo-scale) `confidence_spoofing`.
    pub frames_median: Option<f32>,
    /// Indices of the frames the median is taken over.
    pub frames: Vec<usize>,
    /// Usable frames a verdict needs.
    pub required: usize,
    /// Enough usable frames for the median to decide.
    pub sufficient: bool,
    /// Interquartile range of the frames' scores.
    pub spread: Option<f32>,
}

/// The `q` quantile of sorted values, interpolated between neighbours; `None` when empty.
fn quantile(sorted: &[f32], q: f32) -> Option<f32> {
    let last = sorted.len().checked_sub(1)?;
    let pos = q * last as f32;
    let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
    Some(sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo as f32))
}

/// A shared engine handle.
pub type SharedEngine = Arc<Engine>;
