//! COLLECTION (blacklist, 1:N): each eligible media's face is searched in the company's
//! collections (or those named in `params`); a match at or above the threshold declines.

use serde_json::Value;
use uuid::Uuid;

use super::{MediaInput, Outcome, SystemError, Thresholds};
use crate::http::AppState;

pub async fn run(
    _st: &AppState,
    _inputs: Vec<MediaInput>,
    _params: &Value,
    _thresholds: Thresholds,
    _company: Option<Uuid>,
) -> Result<Outcome, SystemError> {
    Err(SystemError(
        "COLLECTION analyses are not available yet".into(),
    ))
}

/// Validate a COLLECTION order before it is stored: the named collections exist and belong to the
/// folder's company; without names the company must have at least one.
pub async fn check_params(
    _st: &AppState,
    _company: Option<Uuid>,
    _params: &Value,
) -> Result<(), crate::errors::ApiError> {
    Err(crate::errors::ApiError::new(
        crate::errors::Code::NotRealized,
        "COLLECTION analyses are not available yet",
    ))
}
