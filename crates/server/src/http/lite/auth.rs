//! Who may call the Lite API: the API key (constant-time comparison) or, without one, a
//! loopback listener only.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{header, HeaderMap};
use sha2::{Digest, Sha256};

use crate::app::AppState;
use crate::errors::{ApiError, ApiResult, Code};

/// Admission to the Lite API (see the module documentation).
pub struct LiteAuth;

impl FromRequestParts<AppState> for LiteAuth {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, st: &AppState) -> Result<Self, ApiError> {
        admit(
            st.cfg.lite_api_key.as_deref(),
            &st.cfg.listen,
            &parts.headers,
        )?;
        Ok(LiteAuth)
    }
}

pub(super) fn admit(key: Option<&str>, listen: &str, headers: &HeaderMap) -> ApiResult<()> {
    match key {
        Some(key) => {
            let given = presented_key(headers).ok_or_else(|| {
                ApiError::new(
                    Code::AuthNotProvided,
                    "An API key is required: send it in X-Api-Key or Authorization: Bearer",
                )
            })?;
            if same_secret(given.as_bytes(), key.as_bytes()) {
                Ok(())
            } else {
                Err(ApiError::new(Code::AuthInvalid, "Invalid API key"))
            }
        }
        None if is_loopback(listen) => Ok(()),
        None => Err(ApiError::new(
            Code::Forbidden,
            format!(
                "The Lite API is closed: the server listens on {listen}, which is not a loopback \
                 address, and no API key is configured. Set FACEPROOF_LITE_API_KEY (or \
                 lite_api_key in the configuration file) and send it in X-Api-Key."
            ),
        )),
    }
}

/// The key from `X-Api-Key`, else from `Authorization: Bearer …`.
pub(super) fn presented_key(headers: &HeaderMap) -> Option<String> {
    let non_empty = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
    if let Some(k) = headers.get("x-api-key").and_then(|v| v.to_str().ok()) {
        if let Some(k) = non_empty(k) {
            return Some(k);
        }
    }
    let auth = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = auth.split_once(' ')?;
    if scheme.eq_ignore_ascii_case("bearer") {
        non_empty(rest)
    } else {
        None
    }
}

/// Equality in time independent of where the secrets differ (and of their lengths): both are
/// hashed, then the digests compared without an early exit.
pub(super) fn same_secret(a: &[u8], b: &[u8]) -> bool {
    let (da, db) = (Sha256::digest(a), Sha256::digest(b));
    let diff = da
        .iter()
        .zip(db.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// Whether a `listen` setting (`host:port`) binds only a loopback interface.
pub(super) fn is_loopback(listen: &str) -> bool {
    if let Ok(addr) = listen.trim().parse::<std::net::SocketAddr>() {
        return addr.ip().to_canonical().is_loopback();
    }
    let host = listen
        .trim()
        .rsplit_once(':')
        .map_or(listen.trim(), |(h, _)| h);
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.to_canonical().is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        h
    }

    #[test]
    fn loopback_addresses_are_recognised() {
        for l in [
            "127.0.0.1:8080",
            "127.1.2.3:1",
            "[::1]:8080",
            "localhost:8080",
            "LOCALHOST:1",
            "[::ffff:127.0.0.1]:80",
        ] {
            assert!(is_loopback(l), "{l}");
        }
        for l in [
            "0.0.0.0:8080",
            "[::]:8080",
            "10.0.0.5:80",
            "example.com:80",
            "",
        ] {
            assert!(!is_loopback(l), "{l}");
        }
    }

    #[test]
    fn keys_come_from_x_api_key_or_bearer() {
        assert_eq!(
            presented_key(&headers(&[("x-api-key", " k1 ")])).as_deref(),
            Some("k1")
        );
        assert_eq!(
            presented_key(&headers(&[("authorization", "Bearer k2")])).as_deref(),
            Some("k2")
        );
        assert_eq!(
            presented_key(&headers(&[("authorization", "bearer k3")])).as_deref(),
            Some("k3")
        );
        assert_eq!(
            presented_key(&headers(&[("authorization", "Basic abc")])),
            None
        );
        assert_eq!(presented_key(&headers(&[("x-api-key", "")])), None);
    }

    #[test]
    fn admission_follows_key_and_listen_address() {
        let code = |r: ApiResult<()>| r.err().map(|e| e.code.oz().0);
        let none = headers(&[]);
        let right = headers(&[("x-api-key", "secret")]);
        let wrong = headers(&[("x-api-key", "secreT")]);
        assert_eq!(code(admit(Some("secret"), "0.0.0.0:80", &none)), Some(6));
        assert_eq!(code(admit(Some("secret"), "0.0.0.0:80", &wrong)), Some(7));
        assert_eq!(code(admit(Some("secret"), "0.0.0.0:80", &right)), None);
        assert_eq!(code(admit(None, "127.0.0.1:80", &none)), None);
        let refused = admit(None, "0.0.0.0:80", &none).unwrap_err();
        assert_eq!(refused.code, Code::Forbidden);
        assert!(refused.message.contains("FACEPROOF_LITE_API_KEY"));
    }

    #[test]
    fn secrets_compare_by_content() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
        assert!(!same_secret(b"", b"a"));
    }
}
