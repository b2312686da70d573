//! A single request (Oz API ≥ 6.0.1): the upload's payload carried `analyses`; the order is placed
//! on the folder just created and run while the client waits (its jobs run in their own tasks, so a
//! client hanging up does not cancel them), and the answer is the folder with its finished
//! analyses. A refused order removes the folder, so nothing is left behind.

use std::time::Duration;

use uuid::Uuid;

use super::order::{payload_order, place_order};
use super::queue::run_now;
use super::read::analyses_json;
use crate::app::AppState;
use crate::auth::Actor;
use crate::errors::{ApiError, ApiResult};
use crate::store::folders::{FolderRow, MediaRow};
use crate::uploads;
use crate::views::{self, FolderView};

/// Single request (Oz API ≥ 6.0.1): the payload carried `analyses`; run them now and answer
/// with the folder and its finished analyses. An order that cannot be placed removes the folder
/// just created, so a refused request leaves nothing behind.
pub async fn run(
    st: &AppState,
    actor: &Actor,
    base: &str,
    folder: &FolderRow,
    media: &[MediaRow],
    payload: &uploads::Payload,
) -> ApiResult<FolderView> {
    let placed = async {
        let order = payload_order(payload, media)?
            .ok_or_else(|| ApiError::structure("the payload needs an analyses list"))?;
        place_order(st, actor, folder, media, &order, false).await
    }
    .await;
    let rows = match placed {
        Ok(rows) => rows,
        Err(e) => {
            for m in media {
                crate::decoded::forget(m.media_id);
            }
            st.store.folder_delete(folder.folder_id).await?;
            let _ = st
                .blobs
                .delete_prefix(&format!("folders/{}", folder.folder_id))
                .await;
            return Err(e);
        }
    };
    let ids: Vec<Uuid> = rows.iter().map(|a| a.analysis_id).collect();
    run_now(st, &ids, Duration::from_secs(600)).await;
    for m in media {
        crate::decoded::forget(m.media_id);
    }
    let folder = st
        .store
        .folder_get(folder.folder_id)
        .await?
        .ok_or_else(|| ApiError::not_found("Folder"))?;
    let media = st.store.media_of_folders(&[folder.folder_id]).await?;
    let mut v = views::folder(base, &folder, &media);
    let list = analyses_json(st, base, &[folder.folder_id], &media, &Default::default()).await?;
    v.analyses = Some(list.into_iter().map(|(_, a)| a).collect());
    Ok(v)
}
