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

    // -----------------------------------------------------------------------------------------
    // Property tests: Lite bodies and templates as clients may send them.

    use crate::http::lite::parse_template;
    use axum::body::Body;
    use axum::extract::FromRequest;
    use axum::http::Request;
    use faceproof_engine::models::PackManifest;
    use faceproof_engine::template::{ModelId, Template};
    use proptest::prelude::*;
    use proptest::sample::Index;
    use proptest::test_runner::Config as Cases;

    fn server_model() -> ModelId {
        ModelId::of_pack(&PackManifest::default_pack()).unwrap()
    }

    fn unit_vector() -> impl Strategy<Value = Vec<f32>> {
        prop::collection::vec(-1.0f32..1.0, 512).prop_filter_map("not all zero", |v| {
            let n = v.iter().map(|x| x * x).sum::<f32>().sqrt();
            (n > 1e-3).then(|| v.iter().map(|x| x / n).collect())
        })
    }

    /// The ways a client may send a template: raw, base64 (announced or recognised by its
    /// prefix), wrapped base64, a data URL.
    fn spell(bytes: &[u8], how: u8) -> (Vec<u8>, bool) {
        let text = template::to_base64(bytes);
        match how % 5 {
            0 => (bytes.to_vec(), false),
            1 => (text.into_bytes(), true),
            2 => (text.into_bytes(), false),
            3 => {
                let wrapped: Vec<u8> = text
                    .as_bytes()
                    .chunks(76)
                    .flat_map(|c| c.iter().copied().chain(*b"\n"))
                    .collect();
                (wrapped, true)
            }
            _ => (
                format!("data:application/octet-stream;base64,{text}").into_bytes(),
                true,
            ),
        }
    }

    #[test]
    fn templates_survive_every_transfer_spelling() {
        let model = server_model();
        proptest!(Cases::with_cases(128), |(vector in unit_vector(), how in any::<u8>())| {
            let t = Template::new(model.clone(), vector);
            let bytes = t.to_bytes().unwrap();
            let (sent, base64) = spell(&bytes, how);
            let got = unwrap_base64(&sent, base64, "template").unwrap();
            prop_assert_eq!(&got, &bytes);
            prop_assert_eq!(parse_template(&got, &model, "template").unwrap(), t);
        });
    }

    /// One edit of a valid template or its base64 text.
    fn mutate(mut bytes: Vec<u8>, edits: &[(Index, u8, u8)]) -> Vec<u8> {
        for (at, kind, b) in edits {
            if bytes.is_empty() {
                break;
            }
            let i = at.index(bytes.len());
            match kind % 4 {
                0 => bytes[i] = *b,
                1 => bytes.insert(i, *b),
                2 => {
                    bytes.remove(i);
                }
                _ => bytes.truncate(i),
            }
        }
        bytes
    }

    #[test]
    fn damaged_templates_are_error_4_with_a_reason() {
        let model = server_model();
        let reasons = [
            "base64",
            "not_a_template",
            "unsupported_template_version",
            "malformed_template",
            "corrupt_template",
            "other_model",
            "invalid_template_vector",
        ];
        let edits = prop::collection::vec((any::<Index>(), any::<u8>(), any::<u8>()), 1..6);
        proptest!(Cases::with_cases(512), |(vector in unit_vector(), how in any::<u8>(), edits in edits, random in prop::collection::vec(any::<u8>(), 0..64))| {
            let bytes = Template::new(model.clone(), vector).to_bytes().unwrap();
            let (sent, base64) = spell(&bytes, how);
            for (body, base64) in [(mutate(sent, &edits), base64), (random.clone(), true), (random.clone(), false)] {
                let parsed = unwrap_base64(&body, base64, "template")
                    .and_then(|b| parse_template(&b, &model, "template"));
                if let Err(e) = parsed {
                    prop_assert_eq!(e.code, Code::InvalidValue, "{}", e.message);
                    let reason = e.details["reason"].as_str().unwrap_or_default();
                    prop_assert!(reasons.contains(&reason), "{reason}: {}", e.message);
                }
            }
        });
    }

    /// A multipart body of `(name, per-part base64, bytes)` parts.
    fn body_of(parts: &[(String, bool, Vec<u8>)], boundary: &str) -> Vec<u8> {
        let mut out = Vec::new();
        for (name, base64, bytes) in parts {
            out.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"f\"\r\n")
                    .as_bytes(),
            );
            if *base64 {
                out.extend_from_slice(b"Content-Transfer-Encoding: base64\r\n");
            }
            out.extend_from_slice(b"Content-Type: application/octet-stream\r\n\r\n");
            out.extend_from_slice(bytes);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
        out
    }

    const BOUNDARY: &str = "lite-proptest-boundary-Qk9VTkRBUlk";

    fn read(body: Vec<u8>, cfg: &Config, rt: &tokio::runtime::Runtime) -> ApiResult<Vec<Part>> {
        let req = Request::builder()
            .method("POST")
            .uri("/v1/face/pattern/compare")
            .header(
                header::CONTENT_TYPE,
                format!("multipart/form-data; boundary={BOUNDARY}"),
            )
            .body(Body::from(body))
            .unwrap();
        let headers = req.headers().clone();
        rt.block_on(async {
            let mp = Multipart::from_request(req, &()).await;
            read_parts(&headers, mp, cfg, "two templates").await
        })
    }

    fn lite_limits() -> Config {
        Config {
            max_file_bytes: 300,
            ..Config::default()
        }
    }

    #[test]
    fn multipart_parts_are_read_as_sent_within_the_limits() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let cfg = lite_limits();
        let part = (
            "[a-z0-9_]{1,10}",
            any::<bool>(),
            prop::collection::vec(any::<u8>(), 0..1400),
        );
        proptest!(Cases::with_cases(256), |(parts in prop::collection::vec(part, 0..10))| {
            let framed = !parts.iter().any(|(_, _, b)| b.windows(BOUNDARY.len()).any(|w| w == BOUNDARY.as_bytes()));
            prop_assume!(framed);
            let sent: Vec<(String, bool, Vec<u8>)> = parts
                .iter()
                .map(|(n, b64, bytes)| (n.clone(), *b64, if *b64 { template::to_base64(bytes).into_bytes() } else { bytes.clone() }))
                .collect();
            let limit = cfg.max_file_bytes * 4 / 3 + 1024;
            // Parts in order, each decoded from base64 when announced — unless its text looks
            // like raw media or a raw template, which is used as sent.
            let expected: Result<Vec<(String, Vec<u8>)>, Code> = (|| {
                let mut out = Vec::new();
                for ((name, _, bytes), (_, b64, on_wire)) in parts.iter().zip(&sent) {
                    if out.len() == MAX_PARTS {
                        return Err(Code::InvalidStructure);
                    }
                    if on_wire.len() as u64 > limit {
                        return Err(Code::TooLarge);
                    }
                    let raw = on_wire.starts_with(&template::MAGIC) || media::sniff(on_wire).is_some();
                    let decoded = if raw || !(*b64 || on_wire.starts_with(TEMPLATE_B64_PREFIX)) {
                        on_wire.clone()
                    } else if *b64 {
                        bytes.clone()
                    } else {
                        unwrap_base64(on_wire, false, "part").map_err(|e| e.code)?
                    };
                    out.push((name.clone(), decoded));
                }
                Ok(out)
            })();
            let got = read(body_of(&sent, BOUNDARY), &cfg, &rt);
            match (expected, got) {
                (Ok(want), Ok(got)) => {
                    let got: Vec<(String, Vec<u8>)> = got.into_iter().map(|p| (p.name, p.bytes)).collect();
                    prop_assert_eq!(got, want);
                }
                (Err(code), Err(e)) => prop_assert_eq!(code, e.code, "{}", e.message),
                (want, got) => prop_assert!(false, "expected {:?}, got {:?}",
                    want.map(|w| w.len()), got.map(|g| g.len()).map_err(|e| e.message)),
            }
        });
    }

    #[test]
    fn damaged_multipart_bodies_are_refused_cleanly() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let cfg = lite_limits();
        let part = (
            "[a-z0-9_]{1,10}",
            any::<bool>(),
            prop::collection::vec(any::<u8>(), 0..300),
        );
        let edits = prop::collection::vec((any::<Index>(), any::<u8>(), any::<u8>()), 1..8);
        proptest!(Cases::with_cases(256), |(parts in prop::collection::vec(part, 1..4), edits in edits)| {
            let body = mutate(body_of(&parts, BOUNDARY), &edits);
            match read(body, &cfg, &rt) {
                Ok(parts) => prop_assert!(parts.len() <= MAX_PARTS),
                Err(e) => prop_assert!(
                    matches!(e.code, Code::InvalidStructure | Code::InvalidValue | Code::TooLarge),
                    "{:?}: {}", e.code, e.message
                ),
            }
        });
    }

    #[test]
    fn header_values_never_panic() {
        proptest!(Cases::with_cases(256), |(value in prop::collection::vec(any::<u8>(), 0..40))| {
            let Ok(v) = axum::http::HeaderValue::from_bytes(&value) else { return Ok(()) };
            let mut headers = HeaderMap::new();
            for name in [header::CONTENT_TYPE, header::AUTHORIZATION] {
                headers.insert(name, v.clone());
            }
            headers.insert("content-transfer-encoding", v.clone());
            headers.insert("x-api-key", v);
            let ct = content_type(&headers);
            prop_assert_eq!(ct.clone(), ct.trim().to_ascii_lowercase());
            let _ = base64_mode(&headers);
            let key = super::super::auth::presented_key(&headers);
            prop_assert!(key.is_none_or(|k| !k.is_empty() && k == k.trim()));
        });
    }
}
