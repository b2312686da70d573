//! The domain's words as types: analysis states and resolutions, folder statuses, analysis types,
//! media kinds, job and webhook-delivery states, the face policy. Each is an enum whose one
//! spelling (the Oz wire word, e.g. `PROCESSING`, `OPERATOR_REQUIRED`, `QUALITY`) is given once,
//! here: `as_str`, `Display`, `FromStr` and serde all read it, in the manner of meilisearch's
//! `Status` / `Kind` (`meilisearch-types/src/tasks.rs`).
//!
//! Strings become these types where rows are read (`store/`) and where requests are parsed;
//! they become strings again where rows are written and where JSON is shaped (`views/`). No other
//! module spells a status (checked by `tests/domain_words.rs`).

use std::fmt;
use std::str::FromStr;

/// A word that names no value of the enum it was parsed as.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {what} '{word}'")]
pub struct UnknownWord {
    pub what: &'static str,
    pub word: String,
}

/// An enum with one wire spelling per variant: `ALL` (in the order lists show them), `as_str`,
/// `Display`, `FromStr` (exact spelling) and serde as that spelling.
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal) {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            /// Every value, in the order lists and error messages show them.
            pub const ALL: &'static [$name] = &[$($name::$variant,)+];

            /// The wire spelling.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownWord;
            fn from_str(s: &str) -> Result<Self, UnknownWord> {
                match s {
                    $($text => Ok($name::$variant),)+
                    _ => Err(UnknownWord { what: $what, word: s.to_string() }),
                }
            }
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                s.parse().map_err(serde::de::Error::custom)
            }
        }

        impl PartialEq<$name> for serde_json::Value {
            fn eq(&self, other: &$name) -> bool {
                self.as_str() == Some(other.as_str())
            }
        }
    };
}

/// Words whose values can be listed and parsed (query filters take any of these).
pub trait Word: Copy + FromStr + fmt::Display + 'static {
    fn as_str(self) -> &'static str;
}

macro_rules! word {
    ($($name:ident),+) => {
        $(impl Word for $name {
            fn as_str(self) -> &'static str {
                $name::as_str(self)
            }
        })+
    };
}

wire_enum! {
    /// Where an analysis is in its life (Oz `state`).
    pub enum AnalysisState ("state") {
        Processing = "PROCESSING",
        Finished = "FINISHED",
        /// A system error outlasted its retries (or could not be retried).
        Failed = "FAILED",
    }
}

wire_enum! {
    /// An analysis' result (Oz `resolution_status`), in the order the filters list them.
    pub enum Resolution ("resolution_status") {
        Processing = "PROCESSING",
        Failed = "FAILED",
        Success = "SUCCESS",
        Declined = "DECLINED",
        /// Between the two biometry thresholds: an operator decides (SUCCESS or DECLINED).
        OperatorRequired = "OPERATOR_REQUIRED",
    }
}

impl Resolution {
    /// The results an analysis can end with (not PROCESSING, not FAILED).
    pub const FINISHED: [Resolution; 3] = [
        Resolution::Success,
        Resolution::Declined,
        Resolution::OperatorRequired,
    ];
    /// What an operator may decide on an OPERATOR_REQUIRED analysis.
    pub const DECISIONS: [Resolution; 2] = [Resolution::Success, Resolution::Declined];
}

wire_enum! {
    /// A folder's status (`resolution_status` and `system_resolution`): INITIAL before any
    /// analysis, then the worst result of its latest group (see `store::analyses`). FINISHED is
    /// accepted by the folder filter (older Oz folders report it), never written.
    pub enum FolderStatus ("resolution_status") {
        Initial = "INITIAL",
        Processing = "PROCESSING",
        Failed = "FAILED",
        Finished = "FINISHED",
        Declined = "DECLINED",
        Success = "SUCCESS",
        OperatorRequired = "OPERATOR_REQUIRED",
    }
}

impl From<Resolution> for FolderStatus {
    fn from(r: Resolution) -> FolderStatus {
        match r {
            Resolution::Processing => FolderStatus::Processing,
            Resolution::Failed => FolderStatus::Failed,
            Resolution::Success => FolderStatus::Success,
            Resolution::Declined => FolderStatus::Declined,
            Resolution::OperatorRequired => FolderStatus::OperatorRequired,
        }
    }
}

wire_enum! {
    /// The analysis types this server accepts. DOCUMENTS is accepted so that an order carrying it
    /// (Oz's iOS SDK adds one whenever an ID photo was captured) still runs its other analyses;
    /// until a document reader exists it finishes at once as OPERATOR_REQUIRED with
    /// `results_data.status = "NOT_SUPPORTED"` (see `analysis::documents_not_supported`).
    pub enum AnalysisType ("type") {
        Quality = "QUALITY",
        Biometry = "BIOMETRY",
        Collection = "COLLECTION",
        Documents = "DOCUMENTS",
    }
}

impl AnalysisType {
    /// The types this server computes a verdict for (statistics list these, with zeros).
    pub const JUDGED: &'static [AnalysisType] = &[
        AnalysisType::Quality,
        AnalysisType::Biometry,
        AnalysisType::Collection,
    ];

    /// An order's `type`, any case, with the Oz aliases (`liveness`, `blacklist`, `document`).
    pub fn parse(s: &str) -> Option<AnalysisType> {
        match s.trim().to_ascii_lowercase().as_str() {
            "quality" | "liveness" => Some(AnalysisType::Quality),
            "biometry" => Some(AnalysisType::Biometry),
            "collection" | "blacklist" => Some(AnalysisType::Collection),
            "documents" | "document" => Some(AnalysisType::Documents),
            _ => None,
        }
    }
}

wire_enum! {
    /// The type words list filters accept: every type an order may carry.
    pub enum AnalysisTypeFilter ("type") {
        Quality = "QUALITY",
        Biometry = "BIOMETRY",
        Collection = "COLLECTION",
        Documents = "DOCUMENTS",
    }
}

wire_enum! {
    /// What a media file is, decided from its content (Oz `media_kind`).
    pub enum MediaKind ("media_kind") {
        Image = "IMAGE",
        Video = "VIDEO",
        /// A ZIP of frames.
        ShotsSet = "SHOTS_SET",
    }
}

impl From<faceproof_engine::media::MediaKind> for MediaKind {
    /// What the engine found the bytes to be.
    fn from(k: faceproof_engine::media::MediaKind) -> MediaKind {
        use faceproof_engine::media::MediaKind as Engine;
        match k {
            Engine::Image => MediaKind::Image,
            Engine::Video => MediaKind::Video,
            Engine::ShotsSet => MediaKind::ShotsSet,
        }
    }
}

wire_enum! {
    /// Oz `media_type`: the folder kind a media belongs to, one per [`MediaKind`].
    pub enum MediaType ("media_type") {
        ImageFolder = "IMAGE_FOLDER",
        VideoFolder = "VIDEO_FOLDER",
        ShotsSetFolder = "SHOTS_SET_FOLDER",
    }
}

impl MediaKind {
    pub const fn media_type(self) -> MediaType {
        match self {
            MediaKind::Image => MediaType::ImageFolder,
            MediaKind::Video => MediaType::VideoFolder,
            MediaKind::ShotsSet => MediaType::ShotsSetFolder,
        }
    }
}

wire_enum! {
    /// A row of the durable job queue (`store::jobs`).
    pub enum JobState ("job state") {
        /// Waiting for a worker (or for its retry time).
        Queued = "queued",
        /// Claimed, under a lease.
        Running = "running",
        Done = "done",
        /// Given up: out of attempts, or a failure no retry mends.
        Failed = "failed",
    }
}

wire_enum! {
    /// A webhook delivery.
    pub enum DeliveryState ("delivery state") {
        Pending = "PENDING",
        Delivered = "DELIVERED",
        /// Gave up after the last retry.
        Failed = "FAILED",
    }
}

wire_enum! {
    /// Which faces count in a selfie (server setting and company setting `face_policy`).
    pub enum FacePolicy ("face_policy") {
        /// Smaller background faces are bystanders.
        Dominant = "dominant",
        /// Any second face declines.
        Strict = "strict",
    }
}

word!(
    AnalysisState,
    Resolution,
    FolderStatus,
    AnalysisType,
    AnalysisTypeFilter,
    MediaKind,
    MediaType,
    JobState,
    DeliveryState,
    FacePolicy
);

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Word + PartialEq + fmt::Debug + serde::Serialize>(all: &[T])
    where
        <T as FromStr>::Err: fmt::Debug,
    {
        for v in all {
            assert_eq!(v.as_str().parse::<T>().unwrap(), *v);
            assert_eq!(v.to_string(), v.as_str());
            assert_eq!(
                serde_json::to_value(v).unwrap(),
                serde_json::json!(v.as_str())
            );
        }
    }

    #[test]
    fn every_word_reads_back_as_itself() {
        round_trip(AnalysisState::ALL);
        round_trip(Resolution::ALL);
        round_trip(FolderStatus::ALL);
        round_trip(AnalysisType::ALL);
        round_trip(AnalysisTypeFilter::ALL);
        round_trip(MediaKind::ALL);
        round_trip(MediaType::ALL);
        round_trip(JobState::ALL);
        round_trip(DeliveryState::ALL);
        round_trip(FacePolicy::ALL);
    }

    #[test]
    fn the_oz_spellings() {
        assert_eq!(Resolution::OperatorRequired.as_str(), "OPERATOR_REQUIRED");
        assert_eq!(AnalysisType::Quality.to_string(), "QUALITY");
        assert_eq!(
            MediaKind::ShotsSet.media_type().as_str(),
            "SHOTS_SET_FOLDER"
        );
        assert_eq!(
            serde_json::from_str::<AnalysisState>("\"FAILED\"").unwrap(),
            AnalysisState::Failed
        );
        assert!("processing".parse::<AnalysisState>().is_err());
        assert_eq!(
            AnalysisType::parse("blacklist"),
            Some(AnalysisType::Collection)
        );
        assert_eq!(AnalysisType::parse("Quality"), Some(AnalysisType::Quality));
        assert_eq!(
            AnalysisType::parse("documents"),
            Some(AnalysisType::Documents)
        );
        assert!(serde_json::json!("DECLINED") == Resolution::Declined);
    }
}
