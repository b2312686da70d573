//! The body of a webhook delivery, in the company's `webhook_format`: `oz` — the folder with all
//! its analyses exactly as `GET /api/folders/{id}/?with_analyses=true` answers it (what Oz
//! clients parse); `faceproof` — the envelope `{event, delivery_id, group_id, folder}`.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::store::analyses::{AnalysisRow, DecisionRow};
use crate::store::folders::{FolderRow, MediaRow};

/// The event name, also sent as `X-Faceproof-Event`.
pub const WEBHOOK_EVENT: &str = "analyses.finished";

/// How a company's webhook bodies are shaped (company setting `webhook_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WebhookFormat {
    /// The folder as `GET /api/folders/{id}/?with_analyses=true` returns it (new companies).
    Oz,
    /// `{"event", "delivery_id", "group_id", "folder"}` (companies created before the setting,
    /// and folders outside any company).
    Faceproof,
}

impl WebhookFormat {
    pub const NAMES: [&'static str; 2] = ["oz", "faceproof"];

    pub fn as_str(self) -> &'static str {
        match self {
            WebhookFormat::Oz => "oz",
            WebhookFormat::Faceproof => "faceproof",
        }
    }

    pub fn parse(s: &str) -> Option<WebhookFormat> {
        match s {
            "oz" => Some(WebhookFormat::Oz),
            "faceproof" => Some(WebhookFormat::Faceproof),
            _ => None,
        }
    }

    /// The format in force for a company's settings: absent means a company made before the
    /// setting existed, which keeps the envelope its receivers were written for.
    pub fn of_settings(settings: &Value) -> WebhookFormat {
        settings
            .get("webhook_format")
            .and_then(Value::as_str)
            .and_then(WebhookFormat::parse)
            .unwrap_or(WebhookFormat::Faceproof)
    }
}

/// The body in `format`: the folder with its analyses, bare (`oz`) or in the envelope
/// `{"event", "delivery_id", "group_id", "folder"}` (`faceproof`).
#[allow(clippy::too_many_arguments)]
pub fn webhook_body(
    format: WebhookFormat,
    base: &str,
    folder: &FolderRow,
    media: &[MediaRow],
    analyses: &[AnalysisRow],
    decisions: &[DecisionRow],
    group: Uuid,
    delivery: Uuid,
) -> Value {
    let mut view = super::folder(base, folder, media);
    view.analyses = Some(
        analyses
            .iter()
            .map(|a| super::analysis(base, a, media, decisions))
            .collect(),
    );
    if format == WebhookFormat::Oz {
        return json!(view);
    }
    json!({
        "event": WEBHOOK_EVENT,
        "delivery_id": delivery,
        "group_id": group,
        "folder": view,
    })
}
