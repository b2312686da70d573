//! Removing a company with everything it holds: users (and their sessions), collections (rows,
//! index entries, enrolled photos), folders (media, analyses, webhook deliveries, files), then the
//! company itself.
//!
//! Every step is idempotent and the company row goes last, so an interrupted removal (a crash, a
//! lost connection) is finished by asking again; nothing is left pointing at a removed company.
//! Users go first, in one transaction, so nobody of the company can add to it meanwhile.

use uuid::Uuid;

use crate::app::AppState;

/// What a company still holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Holdings {
    pub users: i64,
    pub folders: i64,
    pub collections: i64,
}

impl Holdings {
    pub fn is_empty(&self) -> bool {
        self.users == 0 && self.folders == 0 && self.collections == 0
    }
}

pub async fn holdings(st: &AppState, company: Uuid) -> sqlx::Result<Holdings> {
    let (users, folders, collections) = st.store.company_holdings(company).await?;
    Ok(Holdings {
        users,
        folders,
        collections,
    })
}

/// Remove the company and all it holds. Files that cannot be deleted are logged (ids only) and do
/// not stop the removal: their rows are gone, and a later `delete_prefix` of the same key is safe.
pub async fn delete_company(st: &AppState, company: Uuid) -> anyhow::Result<bool> {
    st.store.company_users_delete(company).await?;
    loop {
        let ids = st
            .store
            .company_owned_ids(company, "collections", 100)
            .await?;
        if ids.is_empty() {
            break;
        }
        for id in ids {
            if let Some(change) = st.store.collection_delete(id).await? {
                if let Err(e) = st.collections.applied(&st.store, &[change]).await {
                    tracing::warn!("index catch-up after removing collection {id}: {e:#}");
                }
            }
            if let Err(e) = st.blobs.delete_prefix(&format!("collections/{id}")).await {
                tracing::error!("deleting the files of removed collection {id}: {e}");
            }
        }
    }
    loop {
        let ids = st.store.company_owned_ids(company, "folders", 200).await?;
        if ids.is_empty() {
            break;
        }
        for id in ids {
            st.store.folder_delete(id).await?;
            if let Err(e) = st.blobs.delete_prefix(&format!("folders/{id}")).await {
                tracing::error!("deleting the files of removed folder {id}: {e}");
            }
        }
    }
    Ok(st.store.company_delete(company).await?)
}
