//! Analyses read back as Oz JSON (one, a folder's, embedded in folders and single requests), with
//! their operator decisions.

use serde_json::Value;
use uuid::Uuid;

use crate::app::AppState;
use crate::errors::ApiResult;
use crate::store::analyses::{AnalysisFilter, AnalysisRow};
use crate::store::folders::MediaRow;
use crate::views;

/// The analyses of some folders as Oz JSON (for `with_analyses=true` too).
pub async fn analyses_json(
    st: &AppState,
    base: &str,
    folder_ids: &[Uuid],
    media: &[MediaRow],
    filter: &AnalysisFilter,
) -> ApiResult<Vec<(Uuid, Value)>> {
    let rows = st.store.analyses_of_folders(folder_ids, filter).await?;
    let ids: Vec<Uuid> = rows.iter().map(|a| a.analysis_id).collect();
    let decisions = st.store.decisions_of(&ids).await?;
    Ok(rows
        .iter()
        .map(|a| (a.folder_id, views::analysis(base, a, media, &decisions)))
        .collect())
}

/// One analysis as Oz JSON.
pub async fn one(st: &AppState, base: &str, a: &AnalysisRow) -> ApiResult<Value> {
    let media = st.store.media_of_folders(&[a.folder_id]).await?;
    let decisions = st.store.decisions_of(&[a.analysis_id]).await?;
    Ok(views::analysis(base, a, &media, &decisions))
}
