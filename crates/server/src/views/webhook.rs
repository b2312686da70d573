//! The body of a webhook delivery: the event, its ids, and the folder with all its analyses.

use serde_json::{json, Value};
use uuid::Uuid;

use crate::store::analyses::{AnalysisRow, DecisionRow};
use crate::store::folders::{FolderRow, MediaRow};

/// The event name, also sent as `X-Faceproof-Event`.
pub const WEBHOOK_EVENT: &str = "analyses.finished";

/// `{"event", "delivery_id", "group_id", "folder": {…folder with analyses…}}`.
pub fn webhook_body(
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
    json!({
        "event": WEBHOOK_EVENT,
        "delivery_id": delivery,
        "group_id": group,
        "folder": view,
    })
}
