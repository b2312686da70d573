//! ID documents: find the machine-readable zone on a photo of a document, read it, check it, and
//! find the portrait.
//!
//! The way of one photo ([`DocumentReader::read_mrz`]):
//! 1. [`text`]: the PP-OCR text detector marks text lines on the page (letterboxed into its square
//!    input); each line becomes an oriented box (any rotation: the box follows the text).
//! 2. The MRZ is a stack of 2 or 3 long, parallel, equally long, closely spaced lines: such
//!    groups are taken longest first.
//! 3. Each line is cut out along its box at the recogniser's height and read; the recogniser's
//!    per-step probabilities are restricted to the MRZ alphabet (A–Z, 0–9, `<`), a first free
//!    reading ([`ctc::greedy`]) gives the line count and length, which fix the format (TD1 3×30,
//!    TD2 2×36, TD3 2×44), and every line is then read again at exactly that width
//!    ([`ctc::constrained`]), so runs of fillers come out at their true length.
//! 4. [`mrz::parse`] places the fields, fixes confusions the field type settles (O/0 in a date,
//!    0/O in a name), repairs an unsure character when that makes its check digit hold, and
//!    checks every check digit and the composite.
//! 5. When that fails the group is read the other way round (a page upside down; a page turned
//!    by 90° gives vertical lines, read in both directions), and the better reading is kept.
//!
//! The portrait ([`crate::Engine::read_document`]) is the largest face the face detector finds
//! on the page turned upright (by the MRZ's direction).
//!
//! Not read: the visual zone's printed text, barcodes, the chip; no hologram, UV or
//! tamper checks (docs/documents.md).

pub mod ctc;
pub mod mrz;
pub mod text;

use std::path::Path;

use image::RgbImage;
use prost::Message;
use serde::Serialize;
use tract_onnx::pb::ModelProto;

use crate::error::{EngineError, Result};
use crate::face::Net;
use crate::imageops::{self, Rect};
use crate::models::{Backend, PackManifest, Role};
use ctc::Steps;
use mrz::{Mrz, MrzFormat, ReadChar, ALPHABET};
use text::TextLine;

/// The loaded document models. Each runs at a few fixed input sizes (tract plans a fixed shape):
/// the detector as a square, a landscape and a portrait letterbox, so a 4:3 photo costs three
/// quarters of a square; the recogniser at widths ½, ¾ and 1 × the manifest's, so a short line
/// is not padded to the longest line's cost and a long one is not squeezed.
pub struct DocumentReader {
    /// Square, landscape (¾ high), portrait (¾ wide).
    detectors: Vec<Net>,
    /// Widths ascending.
    recognizers: Vec<Net>,
    /// For each MRZ symbol (0 = blank, then [`ALPHABET`]), its class in the recogniser's output.
    columns: Vec<usize>,
    /// Classes per step of the recogniser's output.
    classes: usize,
}

impl std::fmt::Debug for DocumentReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocumentReader").finish_non_exhaustive()
    }
}

/// The recogniser's character list, stored in its ONNX metadata (`character`, one per line):
/// class 0 is the CTC blank, class i + 1 the i-th character, the last class a space.
fn character_list(onnx: &[u8]) -> Result<Vec<String>> {
    let model = ModelProto::decode(onnx)
        .map_err(|e| EngineError::ModelPack(format!("text recogniser: not ONNX: {e}")))?;
    let list = model
        .metadata_props
        .iter()
        .find(|p| p.key == "character")
        .ok_or_else(|| {
            EngineError::ModelPack("text recogniser: no `character` list in its metadata".into())
        })?;
    Ok(list.value.split('\n').map(str::to_string).collect())
}

/// A photo's machine-readable zone as read.
#[derive(Debug, Clone, Serialize)]
pub struct MrzReading {
    /// Text lines the detector found on the page.
    pub text_lines: usize,
    /// Groups of lines shaped like an MRZ (2–3 long parallel lines).
    pub candidates: usize,
    /// The parsed zone, when a group read as one.
    pub mrz: Option<Mrz>,
    /// How far the page is turned (degrees clockwise, 0/90/180/270), from the MRZ's reading
    /// direction; `None` without an MRZ.
    pub rotation: Option<u32>,
    /// More than one MRZ read on the photo (two documents in frame).
    pub other_documents: usize,
}

/// Lines at least this many times longer than high (core height) may be MRZ lines. Measured on
/// the specimens: MRZ lines 51–65 (TD1 included), the visual zone's lines that stacked like one
/// 13–42; each group read costs a recognition per line, so the bound stays well under the MRZ's.
const MIN_ASPECT: f32 = 30.0;
/// Lines of one MRZ are within this ratio of each other's length.
const LENGTH_RATIO: f32 = 0.8;
/// Consecutive MRZ lines are at most this many core heights apart.
const MAX_GAP: f32 = 7.0;
/// Groups tried per photo, longest first (each try costs a recognition per line).
const MAX_GROUPS: usize = 3;
/// A group whose characters went this much to the MRZ alphabet as detected is not read upside
/// down too.
const RIGHT_WAY_UP: f32 = 0.9;

impl DocumentReader {
    /// Load the document pack's models with `backend`; an error naming `models fetch` when they
    /// are not installed.
    pub fn load(backend: &dyn Backend, pack: &PackManifest, models_dir: &Path) -> Result<Self> {
        let load = |role: Role, sizes: &dyn Fn(u32, u32) -> Vec<(u32, u32)>| {
            let base = pack.model(role)?.clone();
            let path = pack.path_of(models_dir, role)?;
            if !path.exists() {
                return Err(EngineError::ModelPack(format!(
                    "{} is missing: run `faceproof models fetch` (models dir {})",
                    path.display(),
                    models_dir.display()
                )));
            }
            let nets = sizes(base.input.width, base.input.height)
                .into_iter()
                .map(|(width, height)| {
                    let mut spec = base.clone();
                    spec.input.width = width;
                    spec.input.height = height;
                    Ok(Net {
                        model: backend.load(&path, &spec)?,
                        spec,
                    })
                })
                .collect::<Result<Vec<Net>>>()?;
            Ok::<_, EngineError>((nets, path))
        };
        // Sizes stay multiples of 32 (the detector's stride) and 8 (the recogniser's).
        let (detectors, _) = load(Role::TextDetector, &|w, h| {
            vec![(w, h), (w, h * 3 / 4 / 32 * 32), (w * 3 / 4 / 32 * 32, h)]
        })?;
        let (recognizers, path) = load(Role::TextRecognizer, &|w, h| {
            vec![(w / 2 / 8 * 8, h), (w * 3 / 4 / 8 * 8, h), (w, h)]
        })?;
        let list = character_list(&std::fs::read(&path)?)?;
        let mut columns = vec![0usize];
        for &c in ALPHABET.iter() {
            let at = list
                .iter()
                .position(|s| s.as_bytes() == [c])
                .ok_or_else(|| {
                    EngineError::ModelPack(format!("text recogniser cannot read {:?}", c as char))
                })?;
            columns.push(at + 1);
        }
        Ok(DocumentReader {
            detectors,
            recognizers,
            columns,
            classes: list.len() + 2,
        })
    }

    pub fn net(&self, role: Role) -> &Net {
        match role {
            Role::TextDetector => &self.detectors[0],
            _ => &self.recognizers[self.recognizers.len() - 1],
        }
    }

    /// Text lines on the page.
    pub fn detect_lines(&self, frame: &RgbImage) -> Result<Vec<TextLine>> {
        let aspect = frame.width() as f32 / frame.height().max(1) as f32;
        let net = if aspect >= 1.2 {
            &self.detectors[1]
        } else if aspect <= 1.0 / 1.2 {
            &self.detectors[2]
        } else {
            &self.detectors[0]
        };
        text::detect_lines(net, frame)
    }

    /// The recogniser's steps for one line, restricted to the MRZ alphabet and renormalised, and
    /// how much of the recogniser's belief in characters went to the MRZ alphabet (0..1, over the
    /// steps where it saw a character): near 1 for an MRZ read the right way round, low for print
    /// upside down (which reads as other characters).
    fn steps(&self, frame: &RgbImage, line: &TextLine) -> Result<(Steps, f32)> {
        // The narrowest recogniser that squeezes the line by at most a quarter.
        let out_h = self.recognizers[0].spec.input.height;
        let natural = text::natural_width(line, out_h);
        let net = self
            .recognizers
            .iter()
            .find(|n| n.spec.input.width as f32 * 1.25 >= natural)
            .unwrap_or(&self.recognizers[self.recognizers.len() - 1]);
        let input = &net.spec.input;
        let (cut, used) = text::cut_line(frame, line, input.height, input.width);
        let out = net.run_patch(&cut)?;
        let probs = &out[0];
        let total = probs.len() / self.classes;
        // Steps over the padding are blank: read only the text's part (+1 step of margin).
        let steps = (total * used as usize)
            .div_ceil(input.width as usize)
            .saturating_add(1)
            .min(total);
        let k = self.columns.len();
        let mut restricted = Vec::with_capacity(steps * k);
        let (mut fit, mut seen) = (0f32, 0usize);
        for t in 0..steps {
            let row = &probs[t * self.classes..(t + 1) * self.classes];
            let picked: Vec<f32> = self.columns.iter().map(|&c| row[c]).collect();
            let sum: f32 = picked.iter().sum::<f32>().max(1e-12);
            let blank = row[0];
            if blank < 0.5 {
                fit += (sum - blank) / (1.0 - blank).max(1e-6);
                seen += 1;
            }
            restricted.extend(picked.iter().map(|p| p / sum));
        }
        Ok((
            Steps {
                classes: k,
                probs: restricted,
            },
            if seen == 0 { 0.0 } else { fit / seen as f32 },
        ))
    }

    /// Find, read and check the MRZ of a page. `today` (year, month, day) places two-digit years.
    pub fn read_mrz(&self, frame: &RgbImage, today: (i32, u32, u32)) -> Result<MrzReading> {
        let started = std::time::Instant::now();
        let lines = self.detect_lines(frame)?;
        let groups = groups(&lines);
        let detected = started.elapsed();
        let mut reading = MrzReading {
            text_lines: lines.len(),
            candidates: groups.len(),
            mrz: None,
            rotation: None,
            other_documents: 0,
        };
        // Cuts are made from a copy at about the recogniser's scale: shrinking a line several
        // times in one bilinear step would alias the glyphs. Made once per group.
        let out_h = self.recognizers[0].spec.input.height;
        let mut prepared: Vec<Option<(std::borrow::Cow<'_, RgbImage>, Vec<TextLine>)>> =
            (0..groups.len().min(MAX_GROUPS)).map(|_| None).collect();
        let mut found: Vec<(Score, Mrz, u32, usize)> = Vec::new();
        let mut fits = vec![0f32; groups.len().min(MAX_GROUPS)];
        let mut reads = 0;
        // Every group as detected first; the other way round (upside down) only when no group
        // read with all its check digits.
        for reverse in [false, true] {
            if reverse && found.iter().any(|f| f.1.check_digits_valid) {
                break;
            }
            for (g, group) in groups.iter().take(MAX_GROUPS).enumerate() {
                // Once a zone holds, another group is read only if it could be another
                // document's zone: as many lines, of a like length.
                if let Some(v) = found.iter().find(|f| f.1.check_digits_valid) {
                    let seed = &groups[v.3];
                    let ratio = group[0].length / seed[0].length;
                    if group.len() < 2 || !(0.7..=1.4).contains(&ratio) || g == v.3 {
                        continue;
                    }
                }
                let (work, scaled) = prepared[g].get_or_insert_with(|| {
                    let mean_h: f32 =
                        group.iter().map(|l| l.height).sum::<f32>() / group.len() as f32;
                    let (work, scale) = working_copy(frame, mean_h, out_h);
                    let scaled = group.iter().map(|l| scale_line(l, scale)).collect();
                    (work, scaled)
                });
                // A group that read plausibly as detected is the right way up.
                if reverse && found.iter().any(|f| f.3 == g) {
                    continue;
                }
                let oriented: Vec<TextLine> = if reverse {
                    scaled.iter().rev().map(TextLine::reversed).collect()
                } else {
                    scaled.clone()
                };
                // Print that read as MRZ characters the way it was detected is the right way
                // up: reading it upside down as well would only cost time.
                if reverse && fits[g] >= RIGHT_WAY_UP {
                    continue;
                }
                reads += oriented.len();
                let (read, fit) = self.read_group(work, &oriented, today)?;
                if !reverse {
                    fits[g] = fit;
                }
                if let Some((score, mrz)) = read {
                    let d = oriented[0];
                    found.push((score, mrz, rotation_of(d.dx, d.dy), g));
                }
            }
        }
        tracing::debug!(
            text_lines = lines.len(),
            groups = groups.len(),
            lines_read = reads,
            detect_ms = detected.as_millis() as u64,
            total_ms = started.elapsed().as_millis() as u64,
            "document read"
        );
        // The best reading is the document's; other complete zones are other documents.
        found.sort_by(|a, b| b.0.partial_cmp(&a.0).unwrap_or(std::cmp::Ordering::Equal));
        let mut found = found.into_iter();
        if let Some((_, mrz, rotation, _)) = found.next() {
            reading.other_documents = found
                .filter(|f| f.1.check_digits_valid && f.1.lines != mrz.lines)
                .count();
            reading.mrz = Some(mrz);
            reading.rotation = Some(rotation);
        }
        Ok(reading)
    }

    /// Read one oriented group (lines in reading order): the format from the free readings, then
    /// every line at the format's width.
    fn read_group(
        &self,
        frame: &RgbImage,
        group: &[TextLine],
        today: (i32, u32, u32),
    ) -> Result<(Option<(Score, Mrz)>, f32)> {
        let mut steps = Vec::with_capacity(group.len());
        let mut lengths = Vec::with_capacity(group.len());
        let mut fit = 0f32;
        for line in group {
            let (s, f) = self.steps(frame, line)?;
            fit += f / group.len() as f32;
            let free = ctc::greedy(&s);
            if tracing::enabled!(tracing::Level::TRACE) {
                let text: String = free
                    .iter()
                    .map(|c| ALPHABET[c.symbol - 1] as char)
                    .collect();
                tracing::trace!(?line, %text, "free reading");
            }
            lengths.push(free.len());
            steps.push(s);
        }
        // A group of more lines than an MRZ has: the MRZ is its last 2 or 3 (it ends the page).
        // The free readings' count and length suggest the format; a two-line group is also read
        // as the other two-line format (a box that missed some fillers reads short), and the
        // check digits choose.
        let mut tries: Vec<(usize, MrzFormat)> = Vec::new();
        for count in [3usize, 2] {
            if steps.len() < count {
                continue;
            }
            let tail = &lengths[lengths.len() - count..];
            let mean = tail.iter().sum::<usize>() as f32 / count as f32;
            if let Some(format) = mrz::format_for(count, mean) {
                tries.push((count, format));
                match format {
                    MrzFormat::Td2 => tries.push((count, MrzFormat::Td3)),
                    MrzFormat::Td3 => tries.push((count, MrzFormat::Td2)),
                    MrzFormat::Td1 => {}
                }
            }
        }
        let mut best: Option<(Score, Mrz)> = None;
        for (count, format) in tries {
            let tail = &steps[steps.len() - count..];
            let mut read = Vec::with_capacity(count);
            for s in tail {
                match ctc::constrained(s, format.width()) {
                    Some(chars) => read.push(
                        chars
                            .iter()
                            .map(|c| ReadChar {
                                symbol: ALPHABET[c.symbol - 1],
                                confidence: c.confidence,
                                alternative: c.alternative.map(|(s, p)| (ALPHABET[s - 1], p)),
                            })
                            .collect::<Vec<_>>(),
                    ),
                    None => break,
                }
            }
            if read.len() != count {
                continue;
            }
            if let Some(m) = mrz::parse(format, &read, today) {
                let score = Score::of(&m);
                if best.as_ref().is_none_or(|b| score > b.0) {
                    best = Some((score, m));
                }
            }
        }
        tracing::trace!(fit, "group read");
        Ok((best.filter(|(s, _)| s.plausible()), fit))
    }
}

/// How good a reading is: valid check digits first, then how sure the recogniser was.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
struct Score {
    all_valid: bool,
    valid: usize,
    fillers_fit: bool,
    confidence: f32,
}

impl Score {
    fn of(m: &Mrz) -> Score {
        Score {
            all_valid: m.check_digits_valid,
            valid: m.checks.iter().filter(|c| c.valid && !c.repaired).count(),
            fillers_fit: m.plausible,
            confidence: m.confidence,
        }
    }

    /// Worth reporting: the fields look like a document's ([`Mrz::plausible`]) and at least one
    /// check digit holds as read.
    fn plausible(&self) -> bool {
        self.valid >= 1 && self.fillers_fit
    }
}

/// Degrees the page is turned clockwise, from a line's reading direction.
fn rotation_of(dx: f32, dy: f32) -> u32 {
    let deg = dy.atan2(dx).to_degrees();
    let q = ((deg / 90.0).round() as i32).rem_euclid(4);
    (q * 90) as u32
}

/// The frame scaled so that MRZ-sized lines come out near the recogniser's height, and the
/// scale used (1 when the frame is used as it is).
fn working_copy(
    frame: &RgbImage,
    core_height: f32,
    out_h: u32,
) -> (std::borrow::Cow<'_, RgbImage>, f32) {
    let shrink = core_height * text_cut_height() / out_h as f32;
    if shrink <= 1.6 {
        return (std::borrow::Cow::Borrowed(frame), 1.0);
    }
    let scale = 1.2 / shrink;
    let (w, h) = (
        ((frame.width() as f32 * scale).round() as u32).max(1),
        ((frame.height() as f32 * scale).round() as u32).max(1),
    );
    let full = Rect {
        x: 0,
        y: 0,
        width: frame.width(),
        height: frame.height(),
    };
    (
        std::borrow::Cow::Owned(imageops::resize_region_antialiased(frame, full, w, h)),
        scale,
    )
}

fn text_cut_height() -> f32 {
    2.0
}

fn scale_line(l: &TextLine, s: f32) -> TextLine {
    TextLine {
        cx: l.cx * s,
        cy: l.cy * s,
        length: l.length * s,
        height: l.height * s,
        ..*l
    }
}

/// Groups of lines shaped like an MRZ, longest first: long thin lines, parallel, of similar
/// length, stacked closely; each in order across the lines (top to bottom when the line
/// direction points right).
pub fn groups(lines: &[TextLine]) -> Vec<Vec<TextLine>> {
    let mut long: Vec<TextLine> = merge_collinear(lines)
        .into_iter()
        .filter(|l| l.length >= MIN_ASPECT * l.height)
        .collect();
    long.sort_by(|a, b| b.length.total_cmp(&a.length));
    let mut used = vec![false; long.len()];
    let mut out = Vec::new();
    for i in 0..long.len() {
        if used[i] {
            continue;
        }
        let seed = long[i];
        let (nx, ny) = (-seed.dy, seed.dx);
        let mut members: Vec<usize> = (0..long.len())
            .filter(|&j| {
                let l = long[j];
                !used[j]
                    && (l.dx * seed.dx + l.dy * seed.dy).abs() > 0.98
                    && l.length >= LENGTH_RATIO * seed.length
                    && l.length <= seed.length / LENGTH_RATIO
                    // side by side along the line direction, not beside it
                    && ((l.cx - seed.cx) * seed.dx + (l.cy - seed.cy) * seed.dy).abs()
                        < 0.25 * seed.length
            })
            .collect();
        members.sort_by(|&a, &b| long[a].across(nx, ny).total_cmp(&long[b].across(nx, ny)));
        // The run of consecutive, closely spaced lines that holds the seed.
        let at = members.iter().position(|&j| j == i).unwrap_or(0);
        let gap_ok = |a: usize, b: usize| {
            let (la, lb) = (long[a], long[b]);
            let gap = (lb.across(nx, ny) - la.across(nx, ny)).abs();
            gap <= MAX_GAP * la.height.max(lb.height)
        };
        let (mut lo, mut hi) = (at, at);
        while lo > 0 && gap_ok(members[lo - 1], members[lo]) {
            lo -= 1;
        }
        while hi + 1 < members.len() && gap_ok(members[hi], members[hi + 1]) {
            hi += 1;
        }
        let run: Vec<usize> = members[lo..=hi].to_vec();
        if run.len() < 2 {
            continue;
        }
        // At most 3 lines beyond the seed's MRZ: keep the 4 nearest the seed.
        let run: Vec<usize> = if run.len() > 4 {
            let k = run.iter().position(|&j| j == i).unwrap_or(0);
            let start = k.saturating_sub(2).min(run.len() - 4);
            run[start..start + 4].to_vec()
        } else {
            run
        };
        for &j in &run {
            used[j] = true;
        }
        out.push(same_extent(run.iter().map(|&j| long[j]).collect()));
    }
    out
}

/// Pieces of one printed line the detector split (a page at an angle, a gap in the print, a
/// glare spot): parallel, on one axis (offset across under half a height) and at most a few
/// heights apart along it, joined into one line.
fn merge_collinear(lines: &[TextLine]) -> Vec<TextLine> {
    let mut out: Vec<TextLine> = lines.to_vec();
    loop {
        let mut merged = false;
        'outer: for i in 0..out.len() {
            for j in i + 1..out.len() {
                let (a, b) = (out[i], out[j]);
                if (a.dx * b.dx + a.dy * b.dy).abs() < 0.99 {
                    continue;
                }
                let h = a.height.max(b.height);
                let (nx, ny) = (-a.dy, a.dx);
                let across = ((b.cx - a.cx) * nx + (b.cy - a.cy) * ny).abs();
                if across > 0.5 * h || (a.height - b.height).abs() > 0.5 * h {
                    continue;
                }
                let ub = (b.cx - a.cx) * a.dx + (b.cy - a.cy) * a.dy;
                let (s0, e0) = (-a.length / 2.0, a.length / 2.0);
                let (s1, e1) = (ub - b.length / 2.0, ub + b.length / 2.0);
                let gap = (s1 - e0).max(s0 - e1);
                if gap > 3.0 * h {
                    continue;
                }
                let (s, e) = (s0.min(s1), e0.max(e1));
                let mid = (s + e) / 2.0;
                let w = a.length + b.length;
                out[i] = TextLine {
                    cx: a.cx + a.dx * mid,
                    cy: a.cy + a.dy * mid,
                    length: e - s,
                    height: (a.height * a.length + b.height * b.length) / w,
                    score: (a.score * a.length + b.score * b.length) / w,
                    ..a
                };
                out.remove(j);
                merged = true;
                break 'outer;
            }
        }
        if !merged {
            return out;
        }
    }
}

/// The lines of an MRZ are printed equally long from one margin: each line of a group spans
/// the group's common extent along the lines (a line whose trailing fillers the detector missed
/// gets them back), never growing by more than a quarter.
fn same_extent(mut group: Vec<TextLine>) -> Vec<TextLine> {
    let Some(&seed) = group.iter().max_by(|a, b| a.length.total_cmp(&b.length)) else {
        return group;
    };
    let along = |l: &TextLine| l.cx * seed.dx + l.cy * seed.dy;
    let start = group
        .iter()
        .map(|l| along(l) - l.length / 2.0)
        .fold(f32::MAX, f32::min);
    let end = group
        .iter()
        .map(|l| along(l) + l.length / 2.0)
        .fold(f32::MIN, f32::max);
    for l in &mut group {
        let (s, e) = (along(l) - l.length / 2.0, along(l) + l.length / 2.0);
        let (s2, e2) = (start.max(s - 0.25 * l.length), end.min(e + 0.25 * l.length));
        let shift = (s2 + e2) / 2.0 - along(l);
        l.cx += seed.dx * shift;
        l.cy += seed.dy * shift;
        l.length = e2 - s2;
    }
    group
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(cy: f32, length: f32) -> TextLine {
        TextLine {
            cx: 300.0,
            cy,
            dx: 1.0,
            dy: 0.0,
            length,
            height: 8.0,
            score: 0.9,
        }
    }

    #[test]
    fn mrz_groups_are_long_parallel_stacked_lines() {
        let lines = [
            line(100.0, 200.0), // a short field
            line(400.0, 500.0),
            line(430.0, 505.0),
            line(460.0, 498.0),
            line(700.0, 300.0), // far away
        ];
        let g = groups(&lines);
        assert_eq!(g.len(), 1, "{g:?}");
        assert_eq!(g[0].len(), 3);
        assert!(g[0][0].cy < g[0][1].cy && g[0][1].cy < g[0][2].cy);
        assert!(groups(&lines[..2]).is_empty());
    }

    #[test]
    fn rotation_follows_the_reading_direction() {
        assert_eq!(rotation_of(1.0, 0.02), 0);
        assert_eq!(rotation_of(0.0, 1.0), 90);
        assert_eq!(rotation_of(-1.0, 0.0), 180);
        assert_eq!(rotation_of(0.01, -1.0), 270);
    }
}

/// Today's date in UTC as (year, month, day), for placing two-digit years and checking expiry.
pub fn today_utc() -> (i32, u32, u32) {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    civil_from_days((secs / 86_400) as i64)
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar (Howard
/// Hinnant's `civil_from_days`).
pub fn civil_from_days(z: i64) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m, d)
}

#[cfg(test)]
mod date_tests {
    #[test]
    fn days_become_dates() {
        assert_eq!(super::civil_from_days(0), (1970, 1, 1));
        assert_eq!(super::civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(super::civil_from_days(19_782), (2024, 2, 29));
    }
}

/// The MRZ lines of the shared document specimens (`shared/data/documents`), for evaluation:
/// `path,mrz,source` with the lines joined by `/`. `source` says how each was established:
/// `upstream-test` (the upstream data's own test expectations) or `check-digits` (every check
/// digit and the composite of those lines hold, and they match the photo). Photos not listed
/// have no established lines.
pub const SPECIMEN_MRZ: &str = include_str!("specimens_mrz.csv");

/// [`SPECIMEN_MRZ`] as path → lines.
pub fn expected_mrz() -> std::collections::BTreeMap<&'static str, Vec<String>> {
    SPECIMEN_MRZ
        .lines()
        .skip(1)
        .filter_map(|l| {
            let mut it = l.split(',');
            let path = it.next()?;
            let mrz = it.next()?;
            Some((path, mrz.split('/').map(str::to_string).collect()))
        })
        .collect()
}
