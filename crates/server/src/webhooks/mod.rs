//! Webhooks: when every analysis of a group (one order) has finished, the folder with its analyses
//! is POSTed to the order's `resolution_endpoint` (or the company's default), signed, retried with
//! exponential backoff, every attempt recorded (`GET /api/folders/{id}/webhooks/`).
//!
//! The request:
//! ```text
//! POST <resolution_endpoint>
//! Content-Type: application/json
//! X-Faceproof-Event: analyses.finished
//! X-Faceproof-Delivery: <delivery_id>          (the same on every retry: deduplicate on it)
//! X-Faceproof-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<body>")>
//!
//! {"event": "analyses.finished", "delivery_id": "…", "group_id": "…", "folder": { …folder with analyses… }}
//! ```
//! The secret is the company's `webhook_secret` (`GET /api/companies/{id}/settings`, made on first
//! use), or the server's `webhook_secret` for folders outside any company (without it such orders
//! cannot name a webhook, so nothing is ever sent unsigned). A receiver recomputes
//! the HMAC over the raw body and refuses timestamps older than a few minutes.
//! Any 2xx answer is a delivery; anything else (or no answer within `webhook_timeout_secs`) is
//! retried after `webhook_backoff_ms` × 2^(attempt−1), up to `webhook_max_attempts`, then `FAILED`.

use hmac::{Hmac, Mac};
use serde_json::{json, Value};
use sha2::Sha256;
use uuid::Uuid;

use crate::app::AppState;

mod delivery;
mod target;

pub use delivery::webhook_loop;
pub use target::{check_allowed, is_internal};

pub const SIGNATURE_HEADER: &str = "x-faceproof-signature";

/// `t=<ts>,v1=<hex>` for `body` at time `ts`.
pub fn sign(secret: &str, ts: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("HMAC takes any key");
    mac.update(format!("{ts}.{body}").as_bytes());
    format!("t={ts},v1={}", hex::encode(mac.finalize().into_bytes()))
}

/// A new random secret (32 bytes, hex).
pub fn new_secret() -> String {
    use rand_core::RngCore;
    let mut bytes = [0u8; 32];
    rand_core::OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

/// The company's webhook secret, created and stored on first use.
pub async fn company_secret(st: &AppState, company: Uuid) -> anyhow::Result<String> {
    let mut settings = st
        .store
        .company_settings(company)
        .await?
        .unwrap_or_else(|| json!({}));
    if let Some(s) = settings.get("webhook_secret").and_then(Value::as_str) {
        return Ok(s.to_string());
    }
    let secret = new_secret();
    settings["webhook_secret"] = json!(secret);
    st.store.company_set_settings(company, &settings).await?;
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_is_hmac_sha256_over_timestamp_and_body() {
        // Expected value from Python: hmac.new(b"secret", b'1700000000.{"a":1}', sha256).hexdigest()
        assert_eq!(
            sign("secret", 1700000000, r#"{"a":1}"#),
            "t=1700000000,v1=49f24e537407743fa4a0242bb63b94b9a47ee99cbbe071ccd8a22550ae411686"
        );
        assert_ne!(
            sign("other", 1700000000, r#"{"a":1}"#),
            sign("secret", 1700000000, r#"{"a":1}"#)
        );
    }
}
