//! Biometric templates: a face embedding in a versioned binary envelope that names the model
//! which made it, so a template is never compared with a vector of another model.
//!
//! Layout of format version 1 (all integers little-endian):
//!
//! | offset | size | field |
//! |---|---|---|
//! | 0 | 4 | magic `FPTM` (`46 50 54 4D`) |
//! | 4 | 2 | format version (u16) = 1 |
//! | 6 | 1 | `P`: length of the pack id |
//! | 7 | `P` | pack id, UTF-8 (e.g. `faceplugin-0.0.1`) |
//! | 7+P | 1 | `N`: length of the embedder's file name |
//! | 8+P | `N` | embedder file name, UTF-8 (e.g. `fr_feature.onnx`) |
//! | 8+P+N | 32 | SHA-256 of the embedder model as published (the manifest's `sha256`) |
//! | 40+P+N | 2 | `D`: vector length (u16) |
//! | 42+P+N | 4·`D` | the L2-normalised embedding, f32 |
//! | 42+P+N+4D | 4 | checksum: the first 4 bytes of SHA-256 of every byte before it |
//!
//! With the default pack (SFace, 128-d) a template is 613 bytes; with the faceplugin pack (512-d)
//! 2,125 bytes. [`Template::parse`] refuses other magic,
//! other versions, bad lengths, a wrong checksum, a vector that is not finite and of unit length,
//! and — with a message naming both — a template made by another model.
//!
//! The module also has the small base64 codec the Lite API uses for its text mode.

use sha2::{Digest, Sha256};

use crate::error::{EngineError, Result};
use crate::models::{PackManifest, Role};

/// The first four bytes of every template.
pub const MAGIC: [u8; 4] = *b"FPTM";
/// The format version this code writes and reads.
pub const FORMAT_VERSION: u16 = 1;
const CHECKSUM_LEN: usize = 4;
/// How far from 1 the Euclidean norm of a template vector may be.
const NORM_TOLERANCE: f32 = 1e-3;

/// Which model made an embedding: the pack and its embedder (name and digest).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelId {
    pub pack: String,
    pub embedder: String,
    pub sha256: [u8; 32],
}

impl ModelId {
    /// The model identifier of a pack's embedder.
    pub fn of_pack(pack: &PackManifest) -> Result<ModelId> {
        let spec = pack.model(Role::Embedder)?;
        let digest = hex::decode(&spec.sha256)
            .ok()
            .and_then(|d| <[u8; 32]>::try_from(d).ok())
            .ok_or_else(|| {
                EngineError::ModelPack(format!(
                    "pack {}: the embedder's sha256 is not 64 hex digits",
                    pack.id
                ))
            })?;
        Ok(ModelId {
            pack: pack.id.clone(),
            embedder: spec.file.clone(),
            sha256: digest,
        })
    }
}

impl std::fmt::Display for ModelId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}/{} (sha256 {})",
            self.pack,
            self.embedder,
            hex::encode(&self.sha256[..8])
        )
    }
}

/// Why bytes are not a usable template.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TemplateError {
    #[error("not a faceproof template (it does not start with the magic bytes FPTM)")]
    NotATemplate,
    #[error(
        "template format version {found} is not supported (this server reads version {supported})"
    )]
    UnsupportedVersion { found: u16, supported: u16 },
    #[error("malformed template: {0}")]
    Malformed(String),
    #[error("corrupt template: the checksum does not match its content")]
    Checksum,
    #[error("template was made by model {found}, this server runs {expected}")]
    OtherModel {
        found: Box<ModelId>,
        expected: Box<ModelId>,
    },
    #[error("invalid template vector: {0}")]
    BadVector(String),
}

impl TemplateError {
    /// A stable machine-readable name for the error kind.
    pub fn code(&self) -> &'static str {
        match self {
            TemplateError::NotATemplate => "not_a_template",
            TemplateError::UnsupportedVersion { .. } => "unsupported_template_version",
            TemplateError::Malformed(_) => "malformed_template",
            TemplateError::Checksum => "corrupt_template",
            TemplateError::OtherModel { .. } => "other_model",
            TemplateError::BadVector(_) => "invalid_template_vector",
        }
    }
}

/// An embedding and the model that made it.
#[derive(Debug, Clone, PartialEq)]
pub struct Template {
    pub model: ModelId,
    pub vector: Vec<f32>,
}

fn malformed(what: impl Into<String>) -> TemplateError {
    TemplateError::Malformed(what.into())
}

fn checksum(bytes: &[u8]) -> [u8; CHECKSUM_LEN] {
    let d = Sha256::digest(bytes);
    [d[0], d[1], d[2], d[3]]
}

/// A cursor over the template bytes that reports truncation as [`TemplateError::Malformed`].
struct Reader<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize, what: &str) -> std::result::Result<&'a [u8], TemplateError> {
        let end = self.at.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            return Err(malformed(format!("truncated in the {what}")));
        };
        let s = &self.bytes[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u8(&mut self, what: &str) -> std::result::Result<u8, TemplateError> {
        Ok(self.take(1, what)?[0])
    }
    fn u16(&mut self, what: &str) -> std::result::Result<u16, TemplateError> {
        let b = self.take(2, what)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn text(&mut self, what: &str) -> std::result::Result<String, TemplateError> {
        let n = self.u8(what)? as usize;
        let b = self.take(n, what)?;
        String::from_utf8(b.to_vec()).map_err(|_| malformed(format!("the {what} is not UTF-8")))
    }
}

impl Template {
    pub fn new(model: ModelId, vector: Vec<f32>) -> Template {
        Template { model, vector }
    }

    /// The binary form (see the module documentation for the layout).
    pub fn to_bytes(&self) -> std::result::Result<Vec<u8>, TemplateError> {
        let pack = self.model.pack.as_bytes();
        let embedder = self.model.embedder.as_bytes();
        let pack_len = u8::try_from(pack.len())
            .map_err(|_| malformed("the pack id is longer than 255 bytes"))?;
        let embedder_len = u8::try_from(embedder.len())
            .map_err(|_| malformed("the embedder name is longer than 255 bytes"))?;
        let dim = u16::try_from(self.vector.len())
            .map_err(|_| malformed("the vector is longer than 65535 values"))?;
        let mut out = Vec::with_capacity(
            42 + pack.len() + embedder.len() + 4 * self.vector.len() + CHECKSUM_LEN,
        );
        out.extend_from_slice(&MAGIC);
        out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
        out.push(pack_len);
        out.extend_from_slice(pack);
        out.push(embedder_len);
        out.extend_from_slice(embedder);
        out.extend_from_slice(&self.model.sha256);
        out.extend_from_slice(&dim.to_le_bytes());
        for v in &self.vector {
            out.extend_from_slice(&v.to_le_bytes());
        }
        let sum = checksum(&out);
        out.extend_from_slice(&sum);
        Ok(out)
    }

    /// Parse a template of any model: magic, version, lengths, checksum and vector are checked.
    pub fn parse_any_model(bytes: &[u8]) -> std::result::Result<Template, TemplateError> {
        if bytes.len() < MAGIC.len() || bytes[..MAGIC.len()] != MAGIC {
            return Err(TemplateError::NotATemplate);
        }
        let mut r = Reader { bytes, at: 4 };
        let version = r.u16("format version")?;
        if version != FORMAT_VERSION {
            return Err(TemplateError::UnsupportedVersion {
                found: version,
                supported: FORMAT_VERSION,
            });
        }
        let pack = r.text("pack id")?;
        let embedder = r.text("embedder name")?;
        let sha256: [u8; 32] = r
            .take(32, "model digest")?
            .try_into()
            .expect("32 bytes taken");
        let dim = r.u16("vector length")? as usize;
        if dim == 0 {
            return Err(malformed("the vector length is 0"));
        }
        let expected_len = r.at + 4 * dim + CHECKSUM_LEN;
        if bytes.len() != expected_len {
            return Err(malformed(format!(
                "{} bytes for a {dim}-value vector, expected {expected_len}",
                bytes.len()
            )));
        }
        let body_end = bytes.len() - CHECKSUM_LEN;
        if checksum(&bytes[..body_end]) != bytes[body_end..] {
            return Err(TemplateError::Checksum);
        }
        let vector: Vec<f32> = r
            .take(4 * dim, "vector")?
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        check_vector(&vector)?;
        Ok(Template {
            model: ModelId {
                pack,
                embedder,
                sha256,
            },
            vector,
        })
    }

    /// Parse a template and require it to be of the `expected` model.
    pub fn parse(bytes: &[u8], expected: &ModelId) -> std::result::Result<Template, TemplateError> {
        let t = Template::parse_any_model(bytes)?;
        if &t.model != expected {
            return Err(TemplateError::OtherModel {
                found: Box::new(t.model),
                expected: Box::new(expected.clone()),
            });
        }
        Ok(t)
    }
}

fn check_vector(v: &[f32]) -> std::result::Result<(), TemplateError> {
    if let Some(i) = v.iter().position(|x| !x.is_finite()) {
        return Err(TemplateError::BadVector(format!(
            "value {i} is {} (NaN or infinite)",
            v[i]
        )));
    }
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if (norm - 1.0).abs() > NORM_TOLERANCE {
        return Err(TemplateError::BadVector(format!(
            "its length is {norm}, not 1 (templates hold L2-normalised embeddings)"
        )));
    }
    Ok(())
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Standard base64 with padding.
pub fn to_base64(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let b = [
            chunk[0],
            chunk.get(1).copied().unwrap_or(0),
            chunk.get(2).copied().unwrap_or(0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(B64[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Decode base64: the standard or the URL-safe alphabet, padding optional, ASCII whitespace
/// (line breaks) ignored. `None` when the text is not base64.
pub fn from_base64(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len() / 4 * 3);
    let (mut acc, mut bits, mut padding) = (0u32, 0u32, 0usize);
    for &c in text {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => {
                padding += 1;
                continue;
            }
            c if c.is_ascii_whitespace() => continue,
            _ => return None,
        };
        if padding > 0 {
            return None; // data after padding
        }
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    // A lone 6-bit group cannot encode a byte; leftover bits must be zero padding bits.
    if bits >= 6 || acc != 0 || padding > 2 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layout checks below spell out the faceplugin pack's identifiers.
    fn model() -> ModelId {
        ModelId::of_pack(&PackManifest::builtin("faceplugin").unwrap()).unwrap()
    }

    fn unit_vector(dim: usize, seed: u32) -> Vec<f32> {
        let v: Vec<f32> = (0..dim)
            .map(|i| ((i as u32).wrapping_mul(2654435761).wrapping_add(seed) % 1000) as f32 - 500.0)
            .collect();
        let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        v.into_iter().map(|x| x / n).collect()
    }

    fn sample() -> (Template, Vec<u8>) {
        let t = Template::new(model(), unit_vector(512, 7));
        let bytes = t.to_bytes().unwrap();
        (t, bytes)
    }

    #[test]
    fn a_pack_identifies_its_embedder() {
        let sface = ModelId::of_pack(&PackManifest::default_pack()).unwrap();
        assert_eq!(sface.pack, "sface-2021dec");
        assert_eq!(sface.embedder, "face_recognition_sface_2021dec_int8bq.onnx");
        assert_eq!(hex::encode(&sface.sha256[..4]), "fb143eea");
        let bytes = Template::new(sface.clone(), unit_vector(128, 1))
            .to_bytes()
            .unwrap();
        assert_eq!(bytes.len(), 613, "documented size with the default pack");
        assert!(matches!(
            Template::parse(&bytes, &model()),
            Err(TemplateError::OtherModel { .. })
        ));
        let m = model();
        assert_eq!(m.pack, "faceplugin-0.0.1");
        assert_eq!(m.embedder, "fr_feature.onnx");
        assert_eq!(hex::encode(&m.sha256[..4]), "87aacdfe");
        assert_eq!(
            m.to_string(),
            "faceplugin-0.0.1/fr_feature.onnx (sha256 87aacdfe57510db2)"
        );
    }

    #[test]
    fn round_trips_with_the_documented_layout() {
        let (t, bytes) = sample();
        assert_eq!(bytes.len(), 2125);
        assert_eq!(&bytes[..4], b"FPTM");
        assert_eq!(&bytes[4..6], &[1, 0]);
        assert_eq!(bytes[6] as usize, "faceplugin-0.0.1".len());
        assert_eq!(&bytes[7..23], b"faceplugin-0.0.1");
        assert_eq!(bytes[23] as usize, "fr_feature.onnx".len());
        assert_eq!(&bytes[24..39], b"fr_feature.onnx");
        assert_eq!(&bytes[39..71], &t.model.sha256);
        assert_eq!(u16::from_le_bytes([bytes[71], bytes[72]]), 512);
        assert_eq!(
            f32::from_le_bytes(bytes[73..77].try_into().unwrap()),
            t.vector[0]
        );
        assert_eq!(Template::parse(&bytes, &model()).unwrap(), t);
    }

    #[test]
    fn refuses_other_magic_and_other_versions() {
        let (_, bytes) = sample();
        let mut other = bytes.clone();
        other[0] = b'X';
        assert_eq!(
            Template::parse(&other, &model()),
            Err(TemplateError::NotATemplate)
        );
        assert_eq!(
            Template::parse(b"\xFF\xD8\xFF\xE0 a JPEG", &model()),
            Err(TemplateError::NotATemplate)
        );
        assert_eq!(
            Template::parse(b"", &model()),
            Err(TemplateError::NotATemplate)
        );
        let mut v2 = bytes.clone();
        v2[4] = 2;
        let err = Template::parse(&v2, &model()).unwrap_err();
        assert_eq!(
            err,
            TemplateError::UnsupportedVersion {
                found: 2,
                supported: 1
            }
        );
        assert!(err.to_string().contains("version 2"), "{err}");
    }

    #[test]
    fn refuses_a_template_of_another_model_naming_both() {
        let mut t = sample().0;
        t.model.pack = "otherpack-2.0".into();
        let bytes = t.to_bytes().unwrap();
        let err = Template::parse(&bytes, &model()).unwrap_err();
        assert_eq!(err.code(), "other_model");
        let msg = err.to_string();
        assert!(
            msg.starts_with("template was made by model otherpack-2.0/fr_feature.onnx"),
            "{msg}"
        );
        assert!(
            msg.contains("this server runs faceplugin-0.0.1/fr_feature.onnx"),
            "{msg}"
        );
        // Same names, other weights.
        let mut t = sample().0;
        t.model.sha256[31] ^= 1;
        let err = Template::parse(&t.to_bytes().unwrap(), &model()).unwrap_err();
        assert_eq!(err.code(), "other_model");
        // Readable without the model check.
        assert_eq!(
            Template::parse_any_model(&bytes).unwrap().model.pack,
            "otherpack-2.0"
        );
    }

    #[test]
    fn refuses_wrong_lengths_and_corruption() {
        let (_, bytes) = sample();
        for cut in [5, 6, 20, 40, 72, 100, bytes.len() - 1] {
            let err = Template::parse(&bytes[..cut], &model()).unwrap_err();
            assert_eq!(err.code(), "malformed_template", "cut at {cut}: {err}");
        }
        let mut longer = bytes.clone();
        longer.extend_from_slice(&[0; 4]);
        assert_eq!(
            Template::parse(&longer, &model()).unwrap_err().code(),
            "malformed_template"
        );
        let mut zero_dim = bytes.clone();
        zero_dim[71] = 0;
        zero_dim[72] = 0;
        assert_eq!(
            Template::parse(&zero_dim, &model()).unwrap_err().code(),
            "malformed_template"
        );
        let mut flipped = bytes.clone();
        flipped[500] ^= 0x10;
        assert_eq!(
            Template::parse(&flipped, &model()),
            Err(TemplateError::Checksum)
        );
        // An edited model id without a recomputed checksum is corrupt, not another model.
        let mut edited = bytes.clone();
        edited[7] = b'F';
        assert_eq!(
            Template::parse(&edited, &model()),
            Err(TemplateError::Checksum)
        );
    }

    #[test]
    fn refuses_nan_infinite_and_non_unit_vectors() {
        let mut v = unit_vector(512, 3);
        v[10] = f32::NAN;
        let err =
            Template::parse(&Template::new(model(), v).to_bytes().unwrap(), &model()).unwrap_err();
        assert_eq!(err.code(), "invalid_template_vector");
        assert!(err.to_string().contains("NaN"), "{err}");
        let mut v = unit_vector(512, 3);
        v[0] = f32::INFINITY;
        assert!(Template::parse(&Template::new(model(), v).to_bytes().unwrap(), &model()).is_err());
        let v: Vec<f32> = unit_vector(512, 3).iter().map(|x| x * 2.0).collect();
        assert_eq!(
            Template::parse(&Template::new(model(), v).to_bytes().unwrap(), &model())
                .unwrap_err()
                .code(),
            "invalid_template_vector"
        );
        let v = vec![0.0; 512];
        assert!(Template::parse(&Template::new(model(), v).to_bytes().unwrap(), &model()).is_err());
    }

    #[test]
    fn base64_round_trips_and_refuses_garbage() {
        assert_eq!(to_base64(b""), "");
        assert_eq!(to_base64(b"f"), "Zg==");
        assert_eq!(to_base64(b"fo"), "Zm8=");
        assert_eq!(to_base64(b"foo"), "Zm9v");
        assert_eq!(to_base64(b"foobar"), "Zm9vYmFy");
        assert_eq!(to_base64(&[0xfb, 0xff]), "+/8=");
        for data in [&b""[..], b"f", b"fo", b"foo", b"foob", &[0, 255, 128, 7, 9]] {
            assert_eq!(
                from_base64(to_base64(data).as_bytes()).as_deref(),
                Some(data)
            );
        }
        let (_, bytes) = sample();
        assert_eq!(from_base64(to_base64(&bytes).as_bytes()).unwrap(), bytes);
        assert_eq!(from_base64(b"Zm9v\r\nYmFy\n").unwrap(), b"foobar");
        assert_eq!(from_base64(b"Zg").unwrap(), b"f");
        assert_eq!(from_base64(b"-_8").unwrap(), [0xfb, 0xff]);
        assert_eq!(from_base64(b"Zm9v!"), None);
        assert_eq!(from_base64(b"Zg==Zg=="), None);
        assert_eq!(from_base64(b"Z"), None);
        assert_eq!(from_base64(b"Zh=="), None);
    }

    /// Any model name and unit vector survive the envelope and base64 in every spelling clients
    /// send (wrapped lines, URL-safe alphabet, no padding); names over 255 bytes are refused.
    #[test]
    fn any_template_round_trips() {
        use proptest::prelude::*;
        let name = || prop_oneof!["[a-zA-Z0-9._-]{0,40}", "\\PC{0,20}", "[^\\x00]{250,260}"];
        let config = proptest::test_runner::Config::with_cases(256);
        proptest!(config, |(
            pack in name(),
            embedder in name(),
            sha256 in any::<[u8; 32]>(),
            raw in prop::collection::vec(-1.0f32..1.0, 1..600),
            wrap in 1usize..100,
        )| {
            let norm = raw.iter().map(|x| x * x).sum::<f32>().sqrt();
            prop_assume!(norm > 1e-3);
            let vector: Vec<f32> = raw.iter().map(|x| x / norm).collect();
            let too_long = pack.len() > 255 || embedder.len() > 255;
            let t = Template::new(ModelId { pack, embedder, sha256 }, vector);
            let bytes = match t.to_bytes() {
                Ok(b) => b,
                Err(e) => {
                    prop_assert!(too_long && matches!(e, TemplateError::Malformed(_)), "{e}");
                    return Ok(());
                }
            };
            prop_assert!(!too_long);
            prop_assert_eq!(
                bytes.len(),
                42 + t.model.pack.len() + t.model.embedder.len() + 4 * t.vector.len() + 4
            );
            prop_assert_eq!(Template::parse(&bytes, &t.model).unwrap(), t.clone());
            let text = to_base64(&bytes);
            let wrapped: Vec<u8> = text
                .as_bytes()
                .chunks(wrap)
                .flat_map(|c| c.iter().copied().chain(*b"\r\n"))
                .collect();
            let url_safe = text.replace('+', "-").replace('/', "_");
            for spelling in [text.as_bytes(), wrapped.as_slice(), url_safe.trim_end_matches('=').as_bytes()] {
                let decoded = from_base64(spelling);
                prop_assert_eq!(decoded.as_ref(), Some(&bytes));
            }
        });
    }
}
