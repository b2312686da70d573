//! A session continued on another device (a computer without a camera hands it to a phone): the
//! session's page mints a short-lived hand-off token, shown as a QR code of a URL to the
//! server's own capture page (`/web-sdk/continue/`, the token in the URL's fragment so it stays
//! out of request logs); the phone opens it, spends the token once and gets its own session key,
//! valid from the page origin it runs on. Both keys then name the same session: the phone
//! captures (and retries), the computer polls the result and learns when it is done.
//!
//! A hand-off token is bound to its session: it cannot start a session (it is no session token),
//! it works once, it expires after `web_sdk_handoff_ttl_secs` (never after the session), and the
//! phone's page origin must be one the session's company allows (or this server's own).

use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use serde_json::{json, Value};

use super::session::{action_view, settings_of};
use crate::app::AppState;
use crate::auth::tokens;
use crate::errors::{ApiError, ApiResult, Code};
use crate::store::now_us;
use crate::store::web_sdk::WebSdkSession;

/// The path of the server's capture page a hand-off URL points to.
pub const CONTINUE_PATH: &str = "/web-sdk/continue/";

fn unavailable(message: &str) -> ApiError {
    ApiError::value(message.to_string()).with_details(json!({"reason": "handoff_unavailable"}))
}

/// Mint a hand-off token for the started session `s` (asked by its page, with its key) and
/// answer `{handoff_url, qr_svg, expires_in}`: the URL of the capture page on this server
/// (`base`), in the language `lang` when it is one the company allows, and the URL as a QR code
/// (SVG). A new token replaces one not spent yet (the page refreshes an expired code); once a
/// phone has taken the session over, or the session has been submitted, there is none to mint.
pub async fn mint(
    st: &AppState,
    base: &str,
    s: &WebSdkSession,
    lang: Option<&str>,
) -> ApiResult<Value> {
    let settings = settings_of(st, s.company_id).await?;
    if settings.architecture == "capture" {
        return Err(unavailable(
            "A session of the capture architecture hands its frames to its own page; it cannot continue on another device",
        ));
    }
    if s.submitted_at.is_some() {
        return Err(unavailable("This session's capture has been sent"));
    }
    if s.handoff_started_at.is_some() {
        return Err(unavailable(
            "This session has already continued on another device",
        ));
    }
    let token = format!("fpho_{}", tokens::generate());
    let session_end = s.session_expires_us.unwrap_or(0);
    let expires = (now_us() + st.cfg.web_sdk_handoff_ttl_secs * 1_000_000).min(session_end);
    if !st
        .store
        .web_sdk_handoff_mint(s.session_id, &token, expires)
        .await?
    {
        return Err(unavailable(
            "This session has already continued on another device",
        ));
    }
    let mut url = format!("{}{CONTINUE_PATH}", base.trim_end_matches('/'));
    if let Some(l) = lang.filter(|l| settings.lang_allow.iter().any(|a| a == l)) {
        url.push_str("?lang=");
        url.push_str(l);
    }
    url.push('#');
    url.push_str(&token);
    Ok(json!({
        "handoff_url": url,
        "qr_svg": qr_svg(&url)?,
        "expires_in": ((expires - now_us()) / 1_000_000).max(0),
    }))
}

/// `text` as a QR code in SVG (dark modules on white with the standard quiet zone; medium error
/// correction, which a phone reads off a screen at arm's length).
pub fn qr_svg(text: &str) -> ApiResult<String> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| ApiError::internal(anyhow::anyhow!("QR code: {e}")))?;
    let svg = code
        .render::<svg::Color<'_>>()
        .min_dimensions(232, 232)
        .dark_color(svg::Color("#000000"))
        .light_color(svg::Color("#ffffff"))
        .quiet_zone(true)
        .build();
    // The XML declaration would stop the markup from being placed inside a page as it is.
    Ok(match svg.find("<svg") {
        Some(i) => svg[i..].to_string(),
        None => svg,
    })
}

/// The phone's start: spend the hand-off `token` from a page of `origin` (the server's own,
/// `own_origin`, or one the session's company allows) and answer as a session start does —
/// the session's actions, a session key for this origin, `lang` among the allowed ones — plus
/// `attempt` and `attempts`. Refusals: unknown token → 7, spent → 7, expired (or the session
/// ended) → 8, a session whose capture was sent meanwhile → 4. The outer error is a refusal
/// before the page's origin is known to be allowed (an unknown token, or an origin the company
/// does not allow → 9), answered without a CORS header; the inner result is the page's to read.
pub async fn redeem(
    st: &AppState,
    token: Option<&str>,
    origin: &str,
    own_origin: Option<&str>,
    lang: Option<&str>,
) -> Result<ApiResult<Value>, ApiError> {
    let token = token.filter(|t| t.starts_with("fpho_")).ok_or_else(|| {
        ApiError::new(Code::AuthInvalid, "Unknown hand-off token")
            .with_details(json!({"reason": "handoff_invalid"}))
    })?;
    let s = st
        .store
        .web_sdk_by_handoff_token(token)
        .await?
        .ok_or_else(|| {
            ApiError::new(Code::AuthInvalid, "Unknown hand-off token")
                .with_details(json!({"reason": "handoff_invalid"}))
        })?;
    let settings = settings_of(st, s.company_id).await?;
    if !super::origin_allowed(&settings, origin, own_origin) {
        return Err(ApiError::new(
            Code::Forbidden,
            "This page's origin may not run the web plugin (web_sdk.allowed_origins)",
        )
        .with_details(json!({"reason": "origin_not_allowed"})));
    }
    // From here on the page may read the answer (its origin is allowed).
    Ok(async {
        if s.handoff_started_at.is_some() {
            return Err(
                ApiError::new(Code::AuthInvalid, "This hand-off token has been used")
                    .with_details(json!({"reason": "handoff_used"})),
            );
        }
        let now = now_us();
        if s.handoff_expires_us.unwrap_or(0) < now || s.session_expires_us.unwrap_or(0) < now {
            return Err(
                ApiError::new(Code::AuthExpired, "This hand-off token has expired")
                    .with_details(json!({"reason": "handoff_expired"})),
            );
        }
        if s.submitted_at.is_some() {
            return Err(unavailable("This session's capture has been sent"));
        }
        let key = tokens::generate();
        let origin = super::normalize_origin(origin).unwrap_or_default();
        if !st
            .store
            .web_sdk_handoff_start(s.session_id, &key, &origin)
            .await?
        {
            return Err(
                ApiError::new(Code::AuthInvalid, "This hand-off token has been used")
                    .with_details(json!({"reason": "handoff_used"})),
            );
        }
        let lang = lang
            .filter(|l| settings.lang_allow.iter().any(|a| a == l))
            .unwrap_or(&settings.lang_default);
        let actions = super::parse_actions(&s.actions);
        Ok(json!({
            "session_id": s.session_id,
            "session_key": key,
            "actions": actions.iter().map(action_view).collect::<Vec<_>>(),
            "architecture": settings.architecture,
            "result_mode": settings.result_mode,
            "lang": lang,
            "expires_in": ((s.session_expires_us.unwrap_or(0) - now) / 1_000_000).max(0),
            "attempt": s.attempt,
            "attempts": settings.max_attempts,
            "handoff": true,
        }))
    }
    .await)
}

/// Where a session's hand-off stands, for the page that showed the code: `waiting` (a code is
/// out, no phone yet) or `opened` (a phone took the session over); `None` without a hand-off.
pub fn state(s: &WebSdkSession) -> Option<&'static str> {
    if s.handoff_started_at.is_some() {
        Some("opened")
    } else if s.handoff_expires_us.is_some() {
        Some("waiting")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_qr_code_is_an_svg_to_place_in_a_page() {
        let svg =
            super::qr_svg("http://127.0.0.1:8080/web-sdk/continue/?lang=en#fpho_0123").unwrap();
        assert!(svg.starts_with("<svg"), "{svg}");
        assert!(svg.contains("viewBox") || svg.contains("width"), "{svg}");
        assert!(
            !svg.contains("style="),
            "no style attribute (a strict CSP refuses them)"
        );
        assert!(!svg.contains("<script"), "{svg}");
    }
}
