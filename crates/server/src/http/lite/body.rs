//! Lite request bodies: raw images, multipart parts, base64 transfer encoding, and the checks
//! an image passes before it reaches the engine.

use axum::body::Bytes;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::BytesRejection;
use axum::extract::Multipart;
use axum::http::{header, HeaderMap, StatusCode};
use faceproof_engine::media::{self, MediaKind};
use faceproof_engine::template;
use serde_json::json;

use crate::config::Config;
use crate::errors::{ApiError, ApiResult, Code};
use crate::uploads;

pub(super) fn base64_mode(headers: &HeaderMap) -> bool {
    headers
        .get("content-transfer-encoding")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("base64"))
}

/// The media type of the request, lower-case, without parameters ("" when absent).
pub(super) fn content_type(headers: &HeaderMap) -> String {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase()
}

/// The base64 `"RlBUTQ"` that every base64 template starts with.
pub(super) const TEMPLATE_B64_PREFIX: &[u8] = b"RlBUTQ";

/// Bytes as sent, or decoded from base64 when they are base64 text (an image or a template sent
/// raw is used as is, whatever the header says).
pub(super) fn unwrap_base64(bytes: &[u8], base64: bool, what: &str) -> ApiResult<Vec<u8>> {
    let raw = bytes.starts_with(&template::MAGIC) || media::sniff(bytes).is_some();
    if raw || !(base64 || bytes.starts_with(TEMPLATE_B64_PREFIX)) {
        return Ok(bytes.to_vec());
    }
    let mut text = bytes;
    // A data URL ("data:image/jpeg;base64,…") is accepted too.
    if text.starts_with(b"data:") {
        if let Some(comma) = text.iter().position(|&c| c == b',') {
            text = &text[comma + 1..];
        }
    }
    template::from_base64(text).ok_or_else(|| {
        ApiError::value(format!(
            "The {what} is not valid base64 (Content-Transfer-Encoding: base64 was sent)"
        ))
        .with_details(json!({ "reason": "base64", "part": what }))
    })
}

/// Check an image's size and format before it reaches the engine: over `max_file_bytes` → 413;
/// not an image format the engine reads, or a video/archive → 415.
pub(super) fn check_image(bytes: &[u8], cfg: &Config, what: &str) -> ApiResult<()> {
    if bytes.is_empty() {
        return Err(
            ApiError::structure(format!("The {what} is empty: an image is required"))
                .with_details(json!({ "reason": "missing", "part": what })),
        );
    }
    if bytes.len() as u64 > cfg.max_file_bytes {
        return Err(ApiError::new(
            Code::TooLarge,
            format!(
                "The {what} is over the limit of {} bytes",
                cfg.max_file_bytes
            ),
        )
        .with_details(
            json!({ "reason": "too_large", "part": what, "max_file_bytes": cfg.max_file_bytes }),
        ));
    }
    match media::sniff(bytes) {
        Some(f) if f.kind() == MediaKind::Image => Ok(()),
        Some(f) => Err(ApiError::new(
            Code::UnsupportedMedia,
            format!(
                "The {what} is a {} file; the Lite API takes photos (JPEG, PNG, WebP, BMP, TIFF)",
                f.extension()
            ),
        )
        .with_details(json!({ "reason": "unsupported_format", "part": what }))),
        None => Err(ApiError::new(
            Code::UnsupportedMedia,
            format!(
                "The {what} is not an image of a supported format (JPEG, PNG, WebP, BMP, TIFF)"
            ),
        )
        .with_details(json!({ "reason": "unsupported_format", "part": what }))),
    }
}

pub(super) fn body_error(e: BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            Code::TooLarge,
            "The request is over the configured size limit",
        )
    } else {
        ApiError::structure(format!(
            "Could not read the request body: {}",
            e.body_text()
        ))
    }
}

/// A raw image body (`Content-Type: image/jpeg|png|…` or `application/octet-stream`; base64 text
/// with `Content-Transfer-Encoding: base64`).
pub(super) fn raw_image(
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    cfg: &Config,
) -> ApiResult<Vec<u8>> {
    let base64 = base64_mode(headers);
    let ct = content_type(headers);
    let accepted = ct.is_empty()
        || ct.starts_with("image/")
        || ct == "application/octet-stream"
        || (base64 && ct == "text/plain");
    if !accepted {
        return Err(ApiError::new(
            Code::UnsupportedMedia,
            format!(
                "Expected the image as the request body with Content-Type image/jpeg or image/png, not {ct}"
            ),
        )
        .with_details(json!({ "reason": "content_type", "content_type": ct })));
    }
    let bytes = unwrap_base64(&body.map_err(body_error)?, base64, "image")?;
    check_image(&bytes, cfg, "image")?;
    Ok(bytes)
}

/// One multipart field.
pub(super) struct Part {
    pub(super) name: String,
    pub(super) bytes: Vec<u8>,
}

pub(super) const MAX_PARTS: usize = 8;

/// Every field of a multipart body (files and text alike), each base64-decoded when the request
/// or the part says `Content-Transfer-Encoding: base64`. The first problem ends the reading (the
/// rest of the body is drained by [`crate::http::drain`], so the client still gets the error).
pub(super) async fn read_parts(
    headers: &HeaderMap,
    mp: Result<Multipart, MultipartRejection>,
    cfg: &Config,
    expected: &str,
) -> ApiResult<Vec<Part>> {
    let mut mp = mp.map_err(|e| {
        let ct = content_type(headers);
        if ct != "multipart/form-data" {
            ApiError::new(
                Code::UnsupportedMedia,
                format!("Expected multipart/form-data with {expected}, not {ct:?}"),
            )
            .with_details(json!({ "reason": "content_type", "content_type": ct }))
        } else {
            ApiError::structure(format!("Malformed multipart body: {}", e.body_text()))
        }
    })?;
    let base64 = base64_mode(headers);
    // Base64 text is 4/3 of the bytes it carries.
    let limit = cfg.max_file_bytes.saturating_mul(4) / 3 + 1024;
    let mut parts = Vec::new();
    while let Some(mut field) = mp.next_field().await.map_err(uploads::multipart_error)? {
        let name = field.name().unwrap_or("").to_string();
        let part_base64 = base64 || base64_mode(field.headers());
        if parts.len() == MAX_PARTS {
            return Err(ApiError::structure(format!(
                "Too many parts: expected {expected}"
            )));
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = field.chunk().await.map_err(uploads::multipart_error)? {
            bytes.extend_from_slice(&chunk);
            if bytes.len() as u64 > limit {
                return Err(ApiError::new(
                    Code::TooLarge,
                    format!(
                        "Part '{name}' is over the limit of {} bytes",
                        cfg.max_file_bytes
                    ),
                )
                .with_details(json!({ "reason": "too_large", "part": name, "max_file_bytes": cfg.max_file_bytes })));
            }
        }
        let bytes = unwrap_base64(&bytes, part_base64, &format!("part '{name}'"))?;
        parts.push(Part { name, bytes });
    }
    Ok(parts)
}

/// Pick the two parts of a request: by name (any of each slot's aliases), else the two parts in
/// the order sent. Missing or ambiguous parts → 3.
pub(super) fn pick_two(
    mut parts: Vec<Part>,
    first: &[&str],
    second: &[&str],
    expected: &str,
) -> ApiResult<(Part, Part)> {
    let missing = |got: &[Part]| {
        let names: Vec<&str> = got.iter().map(|p| p.name.as_str()).collect();
        ApiError::structure(format!("Expected {expected}"))
            .with_details(json!({ "reason": "missing_part", "parts": names }))
    };
    let find = |parts: &[Part], names: &[&str]| {
        parts
            .iter()
            .position(|p| names.iter().any(|n| p.name.eq_ignore_ascii_case(n)))
    };
    match (find(&parts, first), find(&parts, second)) {
        (Some(a), Some(b)) => {
            let (a, b) = if a < b {
                let b = parts.remove(b);
                (parts.remove(a), b)
            } else {
                let a = parts.remove(a);
                let b = parts.remove(b);
                (a, b)
            };
            Ok((a, b))
        }
        (Some(a), None) if parts.len() == 2 => {
            let a = parts.remove(a);
            Ok((a, parts.remove(0)))
        }
        (None, Some(b)) if parts.len() == 2 => {
            let b = parts.remove(b);
            Ok((parts.remove(0), b))
        }
        (None, None) if parts.len() == 2 => {
            let b = parts.remove(1);
            Ok((parts.remove(0), b))
        }
        _ => Err(missing(&parts)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn part(name: &str) -> Part {
        Part {
            name: name.into(),
            bytes: name.as_bytes().to_vec(),
        }
    }

    #[test]
    fn parts_are_picked_by_name_then_by_order() {
        let pick = |names: &[&str]| {
            pick_two(
                names.iter().map(|n| part(n)).collect(),
                &["template1"],
                &["template2"],
                "x",
            )
            .map(|(a, b)| (a.name, b.name))
        };
        let ok = |a: &str, b: &str| Some((a.to_string(), b.to_string()));
        assert_eq!(
            pick(&["template2", "template1"]).ok(),
            ok("template1", "template2")
        );
        assert_eq!(
            pick(&["x", "template2", "y", "template1"]).ok(),
            ok("template1", "template2")
        );
        assert_eq!(pick(&["a", "b"]).ok(), ok("a", "b"));
        assert_eq!(pick(&["template2", "b"]).ok(), ok("b", "template2"));
        assert_eq!(
            pick(&["a"]).err().map(|e| e.code),
            Some(Code::InvalidStructure)
        );
        assert_eq!(
            pick(&["a", "b", "c"]).err().map(|e| e.code),
            Some(Code::InvalidStructure)
        );
        assert_eq!(
            pick(&[]).err().map(|e| e.code),
            Some(Code::InvalidStructure)
        );
    }

    #[test]
    fn base64_is_decoded_only_when_asked_or_unambiguous() {
        let jpeg = [0xFF, 0xD8, 0xFF, 0xE0, 1, 2];
        assert_eq!(unwrap_base64(&jpeg, true, "x").unwrap(), jpeg);
        let text = template::to_base64(&jpeg);
        assert_eq!(unwrap_base64(text.as_bytes(), true, "x").unwrap(), jpeg);
        assert_eq!(
            unwrap_base64(text.as_bytes(), false, "x").unwrap(),
            text.as_bytes()
        );
        let url = format!("data:image/jpeg;base64,{text}");
        assert_eq!(unwrap_base64(url.as_bytes(), true, "x").unwrap(), jpeg);
        let tpl = template::to_base64(b"FPTM\x01\x00rest");
        assert!(tpl.as_bytes().starts_with(TEMPLATE_B64_PREFIX));
        assert_eq!(
            unwrap_base64(tpl.as_bytes(), false, "x").unwrap(),
            b"FPTM\x01\x00rest"
        );
        let err = unwrap_base64(b"not base64!", true, "x").unwrap_err();
        assert_eq!(err.code, Code::InvalidValue);
    }
}
