//! Property tests of the server's parsers of untrusted input: the `payload` JSON and the multipart
//! body of uploads, metadata objects and `meta_data` filters (parsed, then run against SQLite and
//! PostgreSQL), query parameters (time filters in s/ms/µs, paging, lists, flags) and webhook
//! callback URLs. Every input gives a value or an Oz error of the documented kind — never a panic,
//! never an internal error — accepted values round-trip, and documented limits hold for what is
//! accepted. Images, videos, shots sets and templates are fuzzed in the engine
//! (`crates/engine/tests/media_fuzz.rs`), Lite bodies next to their parser
//! (`src/http/lite/body.rs`).
//!
//! Case counts are small enough for the whole file to run in a few seconds in the debug profile.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{FromRequest, FromRequestParts, Multipart};
use axum::http::{header, Request};
use faceproof_server::domain::FolderStatus;
use faceproof_server::errors::{ApiError, Code};
use faceproof_server::http::{unix_time_us, QueryPairs};
use faceproof_server::metadata;
use faceproof_server::store::folders::MetaOp;
use faceproof_server::uploads::{self, parse_payload, Payload, KNOWN_TAGS};
use faceproof_server::webhooks::{check_allowed, is_internal};
use faceproof_server::Config;
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::Config as Cases;
use serde_json::{json, Map, Value};

// ---------------------------------------------------------------------------------------------
// Generators

/// Text as clients send it: plain words, any Unicode, control characters, quotes and escapes,
/// and strings around the documented length limits.
fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => "[a-z_]{0,10}",
        3 => any::<String>(),
        2 => "[\"\\\\'.$\\[\\]{}= !a-c\u{e9}\u{4e2d}\u{1f600}]{0,8}",
        1 => "[\u{0}-\u{1f}\u{7f}\u{85}a-c]{0,6}",
        1 => (4090usize..4100).prop_map(|n| "x".repeat(n)),
    ]
}

/// Object keys: as [`text`], plus lengths around the 128-character limit.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        6 => text(),
        1 => (126usize..131).prop_map(|n| "k".repeat(n)),
    ]
}

fn leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_filter("JSON numbers are finite", |f| f.is_finite())
            .prop_map(Value::from),
        text().prop_map(Value::String),
    ]
}

/// Any JSON value, nested up to 8 levels.
fn value() -> impl Strategy<Value = Value> {
    leaf().prop_recursive(8, 48, 5, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            prop::collection::btree_map(key(), inner, 0..5).prop_map(object),
        ]
    })
}

fn object(m: BTreeMap<String, Value>) -> Value {
    Value::Object(m.into_iter().collect::<Map<_, _>>())
}

/// Metadata as a client may send it: any value, an object of any values, or an object with
/// about the maximum number of keys.
fn metadata_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        1 => value(),
        3 => prop::collection::btree_map(key(), value(), 0..6).prop_map(object),
        1 => (190usize..210).prop_map(|n| {
            Value::Object((0..n).map(|i| (format!("k{i}"), json!(i))).collect())
        }),
    ]
}

// ---------------------------------------------------------------------------------------------
// Oracles: the documented rules, stated independently of the implementation.

/// Deepest container (object or array) of `v`, the value itself at depth 1.
fn container_depth(v: &Value) -> usize {
    match v {
        Value::Object(m) => 1 + m.values().map(container_depth).max().unwrap_or(0),
        Value::Array(l) => 1 + l.iter().map(container_depth).max().unwrap_or(0),
        _ => 0,
    }
}

fn all_keys(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, v) in m {
                out.push(k.clone());
                all_keys(v, out);
            }
        }
        Value::Array(l) => l.iter().for_each(|v| all_keys(v, out)),
        _ => {}
    }
}

fn all_strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => m.values().for_each(|v| all_strings(v, out)),
        Value::Array(l) => l.iter().for_each(|v| all_strings(v, out)),
        Value::String(s) => out.push(s.clone()),
        _ => {}
    }
}

fn key_ok(k: &str) -> bool {
    (1..=128).contains(&k.chars().count()) && !k.chars().any(char::is_control)
}

fn string_ok(s: &str) -> bool {
    s.chars().count() <= 4096
        && s.chars()
            .all(|c| !c.is_control() || matches!(c, '\t' | '\n' | '\r'))
}

/// The error kind a metadata object must get (`None`: accepted), per the table of `metadata.rs`.
fn metadata_verdict(v: &Value) -> Option<Code> {
    if !v.is_object() {
        return Some(Code::InvalidStructure);
    }
    let (mut keys, mut strings) = (Vec::new(), Vec::new());
    all_keys(v, &mut keys);
    all_strings(v, &mut strings);
    let within = v.to_string().len() <= 16 * 1024
        && container_depth(v) <= 5
        && keys.len() <= 200
        && keys.iter().all(|k| key_ok(k))
        && strings.iter().all(|s| string_ok(s));
    (!within).then_some(Code::InvalidValue)
}

/// An error of one of the `allowed` kinds, with a message; never internal.
#[track_caller]
fn assert_kind(e: &ApiError, allowed: &[Code]) {
    assert!(
        allowed.contains(&e.code),
        "error kind {:?} ({}) is not one of {allowed:?}",
        e.code,
        e.message
    );
    assert!(!e.message.is_empty());
}

// ---------------------------------------------------------------------------------------------
// Metadata objects

#[test]
fn metadata_is_accepted_exactly_within_the_documented_limits() {
    proptest!(Cases::with_cases(512), |(v in metadata_value())| {
        // What the server holds is what serde_json parsed from the request text.
        let v: Value = serde_json::from_str(&v.to_string()).unwrap();
        let got = metadata::check(&v, "meta_data");
        match (metadata_verdict(&v), &got) {
            (None, Ok(())) => {}
            (Some(code), Err(e)) => {
                prop_assert_eq!(e.code, code, "{}", e.message);
                if code == Code::InvalidValue {
                    prop_assert_eq!(&e.details["reason"], "metadata_limits");
                }
            }
            (want, got) => prop_assert!(false, "expected {want:?}, got {got:?} for {v}"),
        }
    });
}

#[test]
fn metadata_at_the_limits() {
    let deep = |n: usize| (0..n).fold(json!(1), |v, i| json!({ format!("k{i}"): v }));
    assert!(metadata::check(&deep(5), "m").is_ok());
    assert_eq!(
        metadata::check(&deep(6), "m").unwrap_err().code,
        Code::InvalidValue
    );
    // JSON nested as deep as serde_json parses (128) is refused, not a stack overflow.
    let text = format!("{}1{}", "{\"a\":".repeat(127), "}".repeat(127));
    let v: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        metadata::check(&v, "m").unwrap_err().code,
        Code::InvalidValue
    );
    let exactly: Map<String, Value> = (0..200).map(|i| (format!("k{i}"), json!(i))).collect();
    assert!(metadata::check(&Value::Object(exactly), "m").is_ok());
    // 16 KiB exactly is accepted, one byte more is not.
    let sized = |last: usize| {
        let mut m: Map<String, Value> = (0..4)
            .map(|i| (format!("k{i}"), json!("x".repeat(4000))))
            .collect();
        m.insert("k4".into(), json!("x".repeat(last)));
        Value::Object(m)
    };
    let last = 16 * 1024 - sized(0).to_string().len();
    assert_eq!(sized(last).to_string().len(), 16 * 1024);
    assert!(metadata::check(&sized(last), "m").is_ok());
    assert_eq!(
        metadata::check(&sized(last + 1), "m").unwrap_err().code,
        Code::InvalidValue
    );
}

// ---------------------------------------------------------------------------------------------
// `meta_data` filters

/// Filter keys: anything but `=` and `!` (a key ends at the first `==` or `!=`).
fn filter_key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_]{1,10}",
        "[^=!]{0,12}",
        "[\"\\\\'.$\\[\\] a-c\u{e9}\u{4e2d}]{1,8}",
        (126usize..131).prop_map(|n| "k".repeat(n)),
    ]
}

/// Filter values: anything, operators included.
fn filter_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9-]{0,12}",
        any::<String>(),
        "[=!\"\\\\' a-c\t\n\u{0}\u{1b}]{0,10}",
    ]
}

#[test]
fn filters_parse_to_their_key_operator_and_value() {
    proptest!(Cases::with_cases(512), |(k in filter_key(), ne in any::<bool>(), v in filter_value())| {
        let op = if ne { "!=" } else { "==" };
        let got = metadata::parse_filter(&format!("{k}{op}{v}"));
        let key = k.trim();
        if key_ok(key) && string_ok(&v) {
            let (gk, gop, gv) = got.map_err(|e| TestCaseError::fail(e.message))?;
            prop_assert_eq!(gk, key);
            prop_assert_eq!(matches!(gop, MetaOp::Ne), ne);
            prop_assert_eq!(gv, v);
        } else {
            let e = got.expect_err("outside the limits");
            prop_assert_eq!(e.code, Code::InvalidValue);
        }
    });
    // Any text at all: a filter or error 4.
    proptest!(Cases::with_cases(256), |(s in any::<String>())| {
        if let Err(e) = metadata::parse_filter(&s) {
            assert_kind(&e, &[Code::InvalidValue]);
        }
    });
}

#[test]
fn a_filter_value_may_contain_an_operator() {
    // Found by `filters_parse_to_their_key_operator_and_value`: `!=` was looked for first, so
    // `note==a!=b` filtered on a key `note==a` being different from `b` — every folder matched.
    let (k, op, v) = metadata::parse_filter("note==a!=b").unwrap();
    assert_eq!((k.as_str(), v.as_str()), ("note", "a!=b"));
    assert!(matches!(op, MetaOp::Eq));
    let (k, op, v) = metadata::parse_filter("note!=a==b").unwrap();
    assert_eq!((k.as_str(), v.as_str()), ("note", "a==b"));
    assert!(matches!(op, MetaOp::Ne));
}

// ---------------------------------------------------------------------------------------------
// `payload` JSON of uploads

/// A tag list: known tags (repeated), sometimes an unknown one, sometimes not strings.
fn tag_list() -> impl Strategy<Value = Value> {
    let tag = prop_oneof![
        8 => prop::sample::select(KNOWN_TAGS).prop_map(|t| json!(t)),
        1 => text().prop_map(Value::String),
        1 => leaf(),
    ];
    prop_oneof![
        8 => prop::collection::vec(tag, 0..6).prop_map(Value::Array),
        1 => value(),
    ]
}

fn media_tags() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => prop::collection::btree_map(key(), tag_list(), 0..4).prop_map(object),
        1 => value(),
    ]
}

fn media_meta() -> impl Strategy<Value = Value> {
    prop_oneof![
        8 => prop::collection::btree_map(key(), metadata_value(), 0..3).prop_map(object),
        1 => value(),
    ]
}

/// A payload object: each known block present or not, plus unknown keys.
fn payload_object() -> impl Strategy<Value = Map<String, Value>> {
    (
        prop::option::of(media_tags()),
        prop::option::of(metadata_value()),
        prop::option::of(metadata_value()),
        prop::option::of(media_meta()),
        prop::option::of(value()),
        prop::option::of(value()),
        prop::collection::btree_map("[a-z:_]{1,12}", value(), 0..3),
    )
        .prop_map(
            |(tags, folder, person, media, analyses, endpoint, unknown)| {
                let mut m: Map<String, Value> = unknown.into_iter().collect();
                for (k, v) in [
                    ("media:tags", tags),
                    ("folder:meta_data", folder),
                    ("person:meta_data", person),
                    ("media:meta_data", media),
                    ("analyses", analyses),
                    ("resolution_endpoint", endpoint),
                ] {
                    if let Some(v) = v {
                        m.insert(k.to_string(), v);
                    }
                }
                m
            },
        )
}

/// The error kinds a payload may get (empty: it must be accepted), per `uploads.rs`.
fn payload_verdict(m: &Map<String, Value>) -> Vec<Code> {
    let mut codes = Vec::new();
    if let Some(tags) = m.get("media:tags") {
        match tags {
            Value::Object(tags) => {
                for list in tags.values() {
                    match list.as_array() {
                        Some(l) if l.iter().all(Value::is_string) => {
                            if l.iter().any(|t| !KNOWN_TAGS.contains(&t.as_str().unwrap())) {
                                codes.push(Code::InvalidValue);
                            }
                        }
                        _ => codes.push(Code::InvalidStructure),
                    }
                }
            }
            _ => codes.push(Code::InvalidStructure),
        }
    }
    if let Some(meta) = m.get("folder:meta_data") {
        codes.extend(metadata_verdict(meta));
    }
    match m.get("person:meta_data") {
        None | Some(Value::Null) => {}
        Some(v) => codes.extend(metadata_verdict(v)),
    }
    match m.get("media:meta_data") {
        None => {}
        Some(Value::Object(each)) => each
            .values()
            .for_each(|v| codes.extend(metadata_verdict(v))),
        Some(_) => codes.push(Code::InvalidStructure),
    }
    codes
}

fn dedup(list: &[Value]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in list {
        let t = t.as_str().unwrap().to_string();
        if !out.contains(&t) {
            out.push(t);
        }
    }
    out
}

/// An accepted payload holds exactly what was sent (tags without repeats).
fn assert_round_trip(m: &Map<String, Value>, p: &Payload) -> Result<(), TestCaseError> {
    let tags = m.get("media:tags").and_then(Value::as_object);
    prop_assert_eq!(p.media_tags.len(), tags.map_or(0, Map::len));
    for (k, list) in tags.into_iter().flatten() {
        prop_assert_eq!(&p.media_tags[k], &dedup(list.as_array().unwrap()));
        prop_assert_eq!(p.tags_of(k), dedup(list.as_array().unwrap()));
    }
    prop_assert_eq!(p.folder_meta.as_ref(), m.get("folder:meta_data"));
    prop_assert_eq!(
        p.person_meta.as_ref(),
        m.get("person:meta_data").filter(|v| !v.is_null())
    );
    let media = m.get("media:meta_data").and_then(Value::as_object);
    prop_assert_eq!(p.media_meta.len(), media.map_or(0, Map::len));
    for (k, v) in media.into_iter().flatten() {
        prop_assert_eq!(&p.meta_of(k), v);
    }
    prop_assert_eq!(p.analyses.as_ref(), m.get("analyses"));
    prop_assert_eq!(p.resolution_endpoint.as_ref(), m.get("resolution_endpoint"));
    Ok(())
}

#[test]
fn payloads_are_accepted_or_refused_by_the_documented_rules() {
    proptest!(Cases::with_cases(384), |(m in payload_object())| {
        let text = Value::Object(m).to_string();
        // Compared with what the server reads from the text (floats parse to the nearest value).
        let m: Map<String, Value> = serde_json::from_str(&text).unwrap();
        let expected = payload_verdict(&m);
        match parse_payload(&text) {
            Ok(p) => {
                prop_assert!(expected.is_empty(), "accepted, expected {expected:?}: {text:.300}");
                assert_round_trip(&m, &p)?;
            }
            Err(e) => {
                prop_assert!(
                    expected.contains(&e.code),
                    "{:?} ({}), expected one of {expected:?}: {text:.300}", e.code, e.message
                );
            }
        }
        // Unknown keys change nothing.
        let known: Map<String, Value> = m
            .iter()
            .filter(|(k, _)| ["media:tags", "folder:meta_data", "person:meta_data",
                               "media:meta_data", "analyses", "resolution_endpoint"].contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        prop_assert_eq!(
            parse_payload(&Value::Object(known).to_string()).map(|_| ()).map_err(|e| e.code),
            parse_payload(&text).map(|_| ()).map_err(|e| e.code)
        );
    });
}

/// Text that is not a JSON object: JSON-like token soup, any string, other JSON values.
fn payload_text() -> impl Strategy<Value = String> {
    let token = prop_oneof![
        Just("{".to_string()),
        Just("}".to_string()),
        Just("[".to_string()),
        Just("]".to_string()),
        Just(",".to_string()),
        Just(":".to_string()),
        Just("\"media:tags\"".to_string()),
        Just("\"folder:meta_data\"".to_string()),
        Just("\"photo_selfie\"".to_string()),
        Just("\"\\u0000\"".to_string()),
        Just("\"\\ud800\"".to_string()),
        Just("1e999".to_string()),
        Just("null".to_string()),
        text().prop_map(|t| format!("{t:?}")),
    ];
    prop_oneof![
        prop::collection::vec(token, 0..24).prop_map(|t| t.concat()),
        any::<String>(),
        value().prop_map(|v| v.to_string()),
    ]
}

#[test]
fn payload_text_that_is_no_object_is_error_3() {
    proptest!(Cases::with_cases(512), |(text in payload_text())| {
        match parse_payload(&text) {
            Ok(_) => prop_assert!(serde_json::from_str::<Value>(&text).is_ok_and(|v| v.is_object())),
            Err(e) => assert_kind(&e, &[Code::InvalidStructure, Code::InvalidValue]),
        }
    });
}

#[test]
fn tags_are_checked_and_deduplicated_in_order() {
    let tags = prop::collection::vec(prop::sample::select(KNOWN_TAGS), 0..12);
    proptest!(Cases::with_cases(256), |(known in tags, unknown in "[a-z_]{1,12}", at in any::<Index>())| {
        let known: Vec<String> = known.iter().map(|t| t.to_string()).collect();
        let checked = uploads::check_tags(&known).unwrap();
        let values: Vec<Value> = known.iter().map(|t| json!(t)).collect();
        prop_assert_eq!(&checked, &dedup(&values));
        if !KNOWN_TAGS.contains(&unknown.as_str()) {
            let mut with = known.clone();
            with.insert(at.index(known.len() + 1), unknown.clone());
            let e = uploads::check_tags(&with).unwrap_err();
            prop_assert_eq!(e.code, Code::InvalidValue);
            prop_assert_eq!(&e.details["unknown_tags"], &json!([unknown]));
        }
    });
}

// ---------------------------------------------------------------------------------------------
// Multipart upload bodies

fn small_limits() -> Config {
    Config {
        max_files_per_folder: 3,
        max_file_bytes: 1024,
        // Files over 256 bytes are spooled to the scratch area: both ways are read.
        upload_memory_bytes: 256,
        ..Config::default()
    }
}

/// Files left in a scratch directory.
fn scratch_files(dir: &std::path::Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

/// One part of a generated body.
#[derive(Debug, Clone)]
struct Part {
    name: String,
    file_name: Option<String>,
    content_type: Option<&'static str>,
    bytes: Vec<u8>,
}

fn payload_part() -> impl Strategy<Value = Part> {
    prop_oneof![
        payload_object().prop_map(|m| Value::Object(m).to_string()),
        payload_text(),
    ]
    .prop_map(|text| Part {
        name: "payload".into(),
        file_name: None,
        content_type: None,
        bytes: text.into_bytes(),
    })
}

fn any_part() -> impl Strategy<Value = Part> {
    let content_type = prop::option::of(prop::sample::select(vec![
        "image/jpeg",
        "application/octet-stream",
        "text/plain",
        "text/plain; charset=utf-8",
        "application/json",
    ]));
    let file = (
        "[a-zA-Z0-9_:. -]{0,12}".prop_filter("files are not named payload", |n| n != "payload"),
        prop::option::of("[a-zA-Z0-9_. -]{0,16}"),
        content_type,
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..1100),
            (1020usize..1030).prop_map(|n| vec![0xAB; n]),
        ],
    )
        .prop_map(|(name, file_name, content_type, bytes)| Part {
            name,
            file_name,
            content_type,
            bytes,
        });
    let text_field = ("additional_info|[a-z]{1,8}", text()).prop_map(|(name, t)| Part {
        name,
        file_name: None,
        content_type: None,
        bytes: t.into_bytes(),
    });
    prop_oneof![4 => file, 1 => payload_part(), 1 => text_field]
}

fn encode(parts: &[Part], boundary: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for p in parts {
        out.extend_from_slice(format!("--{boundary}\r\n").as_bytes());
        let mut disposition = format!("Content-Disposition: form-data; name=\"{}\"", p.name);
        if let Some(f) = &p.file_name {
            disposition.push_str(&format!("; filename=\"{f}\""));
        }
        out.extend_from_slice(disposition.as_bytes());
        out.extend_from_slice(b"\r\n");
        if let Some(ct) = p.content_type {
            out.extend_from_slice(format!("Content-Type: {ct}\r\n").as_bytes());
        }
        out.extend_from_slice(b"\r\n");
        out.extend_from_slice(&p.bytes);
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    out
}

const BOUNDARY: &str = "proptest-boundary-7MA4YWxkTrZu0gW";

fn multipart(body: Vec<u8>, rt: &tokio::runtime::Runtime) -> Multipart {
    let req = Request::builder()
        .method("POST")
        .uri("/api/folders/")
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={BOUNDARY}"),
        )
        .body(Body::from(body))
        .unwrap();
    rt.block_on(Multipart::from_request(req, &()))
        .expect("a multipart request")
}

/// What `read_multipart` must give for well-formed parts: (key, name, bytes) of each file and the
/// last payload, or the first error's kind.
#[allow(clippy::type_complexity)]
fn multipart_verdict(
    parts: &[Part],
    cfg: &Config,
) -> Result<(Vec<(String, String, Vec<u8>)>, Option<Payload>), Code> {
    let (mut files, mut payload, mut info) = (Vec::new(), None, None);
    let mut text_keys: Vec<String> = Vec::new();
    for p in parts {
        let is_text = p.content_type.is_none_or(|ct| ct.starts_with("text/"));
        if p.name == "payload" || p.name == "additional_info" || (p.file_name.is_none() && is_text)
        {
            if p.name != "payload" && p.name != "additional_info" {
                text_keys.push(p.name.clone());
            }
            // Text parts are decoded as UTF-8 with a leading byte-order mark dropped.
            let text = String::from_utf8_lossy(&p.bytes);
            let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
            if p.name == "payload" {
                payload = Some(parse_payload(text).map_err(|e| e.code)?);
            } else if p.name == "additional_info" {
                info = Some(uploads::clean_additional_info(text));
            }
            continue;
        }
        if files.len() >= cfg.max_files_per_folder {
            return Err(Code::InvalidValue);
        }
        if p.bytes.len() as u64 > cfg.max_file_bytes {
            return Err(Code::TooLarge);
        }
        let name = p.file_name.clone().unwrap_or_else(|| p.name.clone());
        files.push((p.name.clone(), name, p.bytes.clone()));
    }
    // A tagged media key that came as a text field only is refused.
    if let Some(p) = &payload {
        if text_keys
            .iter()
            .any(|k| p.media_tags.contains_key(k) && !files.iter().any(|(key, _, _)| key == k))
        {
            return Err(Code::InvalidValue);
        }
    }
    // The last `additional_info` goes into every file's media metadata, unless the payload's
    // `media:meta_data` already says it.
    if let Some(info) = info.filter(|i| !i.is_empty()) {
        let payload = payload.get_or_insert_with(Payload::default);
        for (key, _, _) in &files {
            let meta = payload
                .media_meta
                .entry(key.clone())
                .or_insert_with(|| serde_json::json!({}));
            if let Some(meta) = meta.as_object_mut() {
                meta.entry("additional_info")
                    .or_insert_with(|| serde_json::json!(info));
            }
        }
    }
    Ok((files, payload))
}

#[test]
fn multipart_bodies_are_read_as_sent() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let cfg = Config {
        temp_dir: Some(scratch.path().to_path_buf()),
        ..small_limits()
    };
    proptest!(Cases::with_cases(256), |(parts in prop::collection::vec(any_part(), 0..6))| {
        let body = encode(&parts, BOUNDARY);
        let framed = !parts.iter().any(|p| p.bytes.windows(BOUNDARY.len()).any(|w| w == BOUNDARY.as_bytes()));
        prop_assume!(framed);
        let got = rt.block_on(uploads::read_multipart(multipart(body, &rt), &cfg));
        // A refused body leaves no scratch file; an accepted one holds one per spooled file.
        let spooled = got.as_ref().map(|up| up.files.iter().filter(|f| f.len() > cfg.upload_memory_bytes).count()).unwrap_or(0);
        prop_assert_eq!(scratch_files(scratch.path()), spooled);
        match (multipart_verdict(&parts, &cfg), got) {
            (Ok((files, payload)), Ok(up)) => {
                let read: Vec<_> = up.files.iter().map(|f| {
                    prop_assert_eq!(f.head(), &f.contents().unwrap()[..f.head().len()]);
                    let contents = f.contents().unwrap();
                    prop_assert_eq!(f.len(), contents.len() as u64);
                    prop_assert_eq!(f.is_empty(), contents.is_empty());
                    Ok((f.key.clone(), f.name.clone(), f.contents().unwrap().into_owned()))
                }).collect::<Result<_, TestCaseError>>()?;
                prop_assert_eq!(read, files);
                let expected = payload.unwrap_or_default();
                prop_assert_eq!(&up.payload.media_tags, &expected.media_tags);
                prop_assert_eq!(&up.payload.folder_meta, &expected.folder_meta);
                prop_assert_eq!(&up.payload.media_meta, &expected.media_meta);
                prop_assert_eq!(&up.payload.analyses, &expected.analyses);
            }
            (Err(code), Err(e)) => prop_assert_eq!(code, e.code, "{}", e.message),
            (want, got) => prop_assert!(false, "expected {:?}, got {:?}",
                want.map(|(f, _)| f.len()), got.map(|u| u.files.len()).map_err(|e| (e.code, e.message))),
        }
    });
}

/// One edit of a valid body.
#[derive(Debug, Clone)]
enum Edit {
    Set(Index, u8),
    Insert(Index, Vec<u8>),
    Remove(Index, usize),
    Cut(Index),
}

fn edits() -> impl Strategy<Value = Vec<Edit>> {
    let insert = prop_oneof![
        prop::collection::vec(any::<u8>(), 1..16),
        Just(b"\r\n".to_vec()),
        Just(format!("\r\n--{BOUNDARY}\r\n").into_bytes()),
        Just(format!("--{BOUNDARY}--").into_bytes()),
        Just(b"Content-Disposition: form-data; name=\"payload\"\r\n\r\n".to_vec()),
        Just(b"; filename*=UTF-8''%E2%82%AC".to_vec()),
    ];
    let edit = prop_oneof![
        3 => (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        3 => (any::<Index>(), insert).prop_map(|(i, v)| Edit::Insert(i, v)),
        1 => (any::<Index>(), 1usize..64).prop_map(|(i, n)| Edit::Remove(i, n)),
        1 => any::<Index>().prop_map(Edit::Cut),
    ];
    prop::collection::vec(edit, 1..6)
}

fn apply(mut bytes: Vec<u8>, edits: &[Edit]) -> Vec<u8> {
    for e in edits {
        if bytes.is_empty() {
            break;
        }
        match e {
            Edit::Set(i, b) => {
                let i = i.index(bytes.len());
                bytes[i] = *b;
            }
            Edit::Insert(i, v) => {
                let i = i.index(bytes.len());
                bytes.splice(i..i, v.iter().copied());
            }
            Edit::Remove(i, n) => {
                let i = i.index(bytes.len());
                let end = (i + n).min(bytes.len());
                bytes.drain(i..end);
            }
            Edit::Cut(i) => bytes.truncate(i.index(bytes.len())),
        }
    }
    bytes
}

#[test]
fn damaged_multipart_bodies_are_refused_cleanly() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let cfg = Config {
        temp_dir: Some(scratch.path().to_path_buf()),
        ..small_limits()
    };
    let body = prop_oneof![
        3 => (prop::collection::vec(any_part(), 1..5), edits())
            .prop_map(|(parts, e)| apply(encode(&parts, BOUNDARY), &e)),
        1 => prop::collection::vec(any::<u8>(), 0..512),
    ];
    proptest!(Cases::with_cases(384), |(body in body)| {
        let started = Instant::now();
        match rt.block_on(uploads::read_multipart(multipart(body, &rt), &cfg)) {
            Ok(up) => {
                prop_assert!(up.files.len() <= cfg.max_files_per_folder);
                prop_assert!(up.files.iter().all(|f| f.len() <= cfg.max_file_bytes));
                prop_assert!(up.payload.media_tags.values().flatten().all(|t| KNOWN_TAGS.contains(&t.as_str())));
            }
            Err(e) => assert_kind(&e, &[Code::InvalidStructure, Code::InvalidValue, Code::TooLarge]),
        }
        // Whatever happened, the spooled files went with the upload.
        prop_assert_eq!(scratch_files(scratch.path()), 0);
        prop_assert!(started.elapsed() < Duration::from_secs(1));
    });
}

// ---------------------------------------------------------------------------------------------
// Query parameters: time filters, paging, flags, lists

fn query_pairs(query: &str) -> Option<Result<QueryPairs, ApiError>> {
    let req = Request::builder()
        .uri(format!("/api/folders/?{query}"))
        .body(())
        .ok()?;
    let (mut parts, ()) = req.into_parts();
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    Some(rt.block_on(QueryPairs::from_request_parts(&mut parts, &())))
}

const ALLOWED_STATUSES: &[FolderStatus] = &[
    FolderStatus::Initial,
    FolderStatus::Finished,
    FolderStatus::Success,
];

/// Every accessor on `key`: a value or an error of kind 4 or 5.
fn read_everything(q: &QueryPairs, key: &str) {
    let kinds = [Code::InvalidValue, Code::InvalidType];
    let check = |r: Result<(), ApiError>| {
        if let Err(e) = r {
            assert_kind(&e, &kinds);
        }
    };
    check(q.int(key).map(drop));
    check(q.time_us(key).map(drop));
    check(q.flag(key).map(drop));
    check(q.uuid(key).map(drop));
    check(q.upper_list(key, ALLOWED_STATUSES).map(drop));
    check(q.id_list(key).map(drop));
    check(q.paging().map(drop));
}

#[test]
fn query_strings_are_read_or_refused_with_4_or_5() {
    let keys = prop_oneof![
        Just("time_created.min".to_string()),
        Just("offset".to_string()),
        Just("limit".to_string()),
        Just("with_analyses".to_string()),
        Just("resolution_status".to_string()),
        Just("folder_id".to_string()),
        "[a-z_.]{1,8}",
    ];
    let raw = prop_oneof![
        any::<String>(),
        "[a-z_.=&%0-9A-F+;]{0,40}",
        prop::collection::vec((keys.clone(), any::<String>()), 0..4)
            .prop_map(|kv| serde_urlencoded::to_string(kv).unwrap()),
    ];
    proptest!(Cases::with_cases(384), |(query in raw, key in keys)| {
        match query_pairs(&query) {
            None => {} // not a URI: refused by the HTTP layer before any handler
            Some(Err(e)) => assert_kind(&e, &[Code::InvalidValue]),
            Some(Ok(q)) => {
                read_everything(&q, &key);
                for (k, _) in q.0.clone() {
                    read_everything(&q, &k);
                }
            }
        }
    });
}

#[test]
fn query_pairs_round_trip() {
    proptest!(Cases::with_cases(256), |(pairs in prop::collection::vec((any::<String>(), any::<String>()), 0..5))| {
        let query = serde_urlencoded::to_string(&pairs).unwrap();
        let got = query_pairs(&query).expect("an encoded query is a URI");
        // Control characters other than tab and line breaks are refused (error 4), anywhere.
        let control = pairs
            .iter()
            .any(|(k, v)| k.chars().chain(v.chars()).any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r')));
        match got {
            Ok(q) => {
                prop_assert!(!control);
                prop_assert_eq!(q.0, pairs);
            }
            Err(e) => {
                prop_assert!(control, "{}", e.message);
                prop_assert_eq!(e.code, Code::InvalidValue);
            }
        }
    });
}

#[test]
fn time_filters_read_seconds_milliseconds_and_microseconds_alike() {
    // From 1973-03-03 (10^8 s) every unit reads the same instant (exactly until 2255, where
    // microseconds pass 2^53 and leave the integers an f64 holds).
    proptest!(Cases::with_cases(512), |(s in 100_000_000i64..9_000_000_000, ms in 0i64..1000, us in 0i64..1000)| {
        let want = s * 1_000_000 + ms * 1000 + us;
        prop_assert_eq!(unix_time_us(s as f64), s * 1_000_000);
        prop_assert_eq!(unix_time_us((s * 1000 + ms) as f64), s * 1_000_000 + ms * 1000);
        prop_assert_eq!(unix_time_us(want as f64), want);
        for text in [s.to_string(), format!("{}", s * 1000 + ms), want.to_string(), format!(" {s}.{ms:03} ")] {
            let q = QueryPairs(vec![("time_created.min".into(), text.clone())]);
            let got = q.time_us("time_created.min").unwrap().unwrap();
            prop_assert!((got - unix_time_us(text.trim().parse::<f64>().unwrap())).abs() == 0);
        }
        let got = QueryPairs(vec![("t".into(), format!("{s}.{ms:03}"))]).time_us("t").unwrap().unwrap();
        prop_assert!((got - (s * 1_000_000 + ms * 1000)).abs() <= 1, "{got}");
    });
    // Anything else: a time (finite numbers) or error 5; never a panic, never an overflow.
    proptest!(Cases::with_cases(512), |(x in any::<f64>(), text in any::<String>())| {
        if x.is_finite() {
            let t = unix_time_us(x);
            prop_assert!(t == 0 || (t > 0) == (x > 0.0), "{x} → {t}");
        }
        for v in [text, x.to_string(), format!("{x:e}")] {
            let q = QueryPairs(vec![("time_updated.max".into(), v.clone())]);
            match q.time_us("time_updated.max") {
                Ok(t) => prop_assert!(t.is_some() && v.trim().parse::<f64>().is_ok_and(f64::is_finite)),
                Err(e) => prop_assert_eq!(e.code, Code::InvalidType),
            }
        }
    });
    assert_eq!(unix_time_us(1e300), i64::MAX);
    assert_eq!(unix_time_us(-1e300), i64::MIN);
}

// ---------------------------------------------------------------------------------------------
// Webhook callback URLs

/// The internal ranges, as documented in `webhooks/target.rs` (CIDR table, not address methods).
const INTERNAL_V4: &[(u32, u8)] = &[
    (0x0000_0000, 8),  // "this network"
    (0x0A00_0000, 8),  // private
    (0x6440_0000, 10), // shared (CGNAT)
    (0x7F00_0000, 8),  // loopback
    (0xA9FE_0000, 16), // link-local
    (0xAC10_0000, 12), // private
    (0xC000_0000, 24), // IETF protocol assignments
    (0xC0A8_0000, 16), // private
    (0xC612_0000, 15), // benchmarking
    (0xE000_0000, 4),  // multicast
    (0xF000_0000, 4),  // reserved and broadcast
];

fn internal_v4_oracle(ip: u32) -> bool {
    INTERNAL_V4
        .iter()
        .any(|&(net, bits)| ip >> (32 - bits) == net >> (32 - bits))
}

/// IPv4 addresses, half of them inside an internal range.
fn v4() -> impl Strategy<Value = u32> {
    prop_oneof![
        any::<u32>(),
        (prop::sample::select(INTERNAL_V4), any::<u32>())
            .prop_map(|((net, bits), host)| net | (host >> bits)),
    ]
}

/// The spellings of an IPv4 address the WHATWG URL parser reads (and so the HTTP client).
fn spell_v4(ip: u32, style: u8) -> String {
    let o = ip.to_be_bytes();
    match style % 7 {
        0 => Ipv4Addr::from(ip).to_string(),
        1 => ip.to_string(),
        2 => format!("0x{ip:x}"),
        3 => format!("0{:o}.0{:o}.0{:o}.0{:o}", o[0], o[1], o[2], o[3]),
        4 => format!("{}.{}", o[0], ip & 0x00FF_FFFF),
        5 => format!("0x{:X}.{}.{}", o[0], o[1], ip & 0xFFFF),
        _ => format!("{}.", Ipv4Addr::from(ip)),
    }
}

#[test]
fn ipv4_destinations_are_refused_exactly_when_internal_in_every_spelling() {
    let cfg = Config::default();
    proptest!(Cases::with_cases(512), |(ip in v4(), style in any::<u8>(), port in prop::option::of(1u16..=u16::MAX))| {
        let host = spell_v4(ip, style);
        let url = match port {
            Some(p) => format!("http://{host}:{p}/hook"),
            None => format!("https://{host}/hook"),
        };
        prop_assert_eq!(internal_v4_oracle(ip), is_internal(IpAddr::V4(Ipv4Addr::from(ip))));
        let parsed = url::Url::parse(&url).unwrap();
        prop_assert_eq!(parsed.host(), Some(url::Host::Ipv4(Ipv4Addr::from(ip))), "{}", url);
        match check_allowed(&cfg, &url) {
            Ok(()) => prop_assert!(!internal_v4_oracle(ip), "{url} accepted"),
            Err(e) => {
                prop_assert!(internal_v4_oracle(ip), "{url} refused: {}", e.message);
                prop_assert_eq!(e.code, Code::InvalidValue);
            }
        }
    });
}

#[test]
fn ipv6_destinations_carrying_internal_ipv4_are_refused() {
    let cfg = Config::default();
    proptest!(Cases::with_cases(256), |(ip in v4(), form in 0u8..4, random in any::<u128>())| {
        let v6 = match form {
            0 => Ipv4Addr::from(ip).to_ipv6_mapped(),
            1 => Ipv6Addr::from(u128::from(ip)), // IPv4-compatible ::a.b.c.d
            2 => Ipv6Addr::from((0x64_ff9b_u128 << 96) | u128::from(ip)), // NAT64
            _ => Ipv6Addr::from(random),
        };
        let url = format!("http://[{v6}]:8080/");
        let internal = is_internal(IpAddr::V6(v6));
        if form < 3 && ip >> 24 != 0 {
            prop_assert_eq!(internal, internal_v4_oracle(ip), "{}", v6);
        }
        prop_assert_eq!(check_allowed(&cfg, &url).is_err(), internal, "{}", url);
    });
}

/// Authority tricks: userinfo, backslashes, fragments and encodings around a public and an
/// internal host.
#[test]
fn the_host_checked_is_the_host_connected_to() {
    let cfg = Config::default();
    let hosts = prop_oneof![
        Just("hooks.example.com".to_string()),
        Just("hooks.example.com:443".to_string()),
        Just("localhost".to_string()),
        Just("LOCALHOST.".to_string()),
        Just("[::1]".to_string()),
        Just("%6c%6fcalhost".to_string()),
        Just("\u{24db}ocalhost".to_string()), // ⓛocalhost, IDNA-mapped to localhost
        (v4(), any::<u8>()).prop_map(|(ip, s)| spell_v4(ip, s)),
    ];
    let seps = prop::sample::select(vec!["@", "\\@", "#@", "?@", "%40", "\\", "/", ":@", "@@"]);
    proptest!(Cases::with_cases(512), |(a in hosts.clone(), sep in seps, b in hosts, scheme in prop::sample::select(vec!["http", "https", "HTTP", "ftp", "javascript"]))| {
        let url = format!("{scheme}://{a}{sep}{b}/hook");
        match check_allowed(&cfg, &url) {
            Ok(()) => {
                let parsed = reqwest::Url::parse(&url).unwrap();
                prop_assert!(matches!(parsed.scheme(), "http" | "https"));
                let internal = match parsed.host().unwrap() {
                    url::Host::Domain(d) => d.trim_end_matches('.') == "localhost",
                    url::Host::Ipv4(ip) => internal_v4_oracle(ip.into()),
                    url::Host::Ipv6(ip) => is_internal(IpAddr::V6(ip)),
                };
                prop_assert!(!internal, "{url} accepted, connects to {:?}", parsed.host());
            }
            Err(e) => prop_assert_eq!(e.code, Code::InvalidValue),
        }
    });
}

#[test]
fn any_callback_text_is_accepted_or_error_4() {
    let listed = Config {
        webhook_allowed_hosts: vec!["hooks.example.com".into(), "127.0.0.1:8089".into()],
        ..Config::default()
    };
    let text = prop_oneof![
        any::<String>(),
        "(https?|ftp)://[a-z0-9.:@\\[\\]%/\\\\#?-]{0,30}",
    ];
    proptest!(Cases::with_cases(512), |(url in text)| {
        for cfg in [&Config::default(), &listed] {
            match check_allowed(cfg, &url) {
                Ok(()) => {
                    let parsed = reqwest::Url::parse(url.trim()).unwrap();
                    prop_assert!(matches!(parsed.scheme(), "http" | "https"));
                    prop_assert!(parsed.host().is_some());
                    if cfg.webhook_allowed_hosts.is_empty() {
                        if let Some(url::Host::Ipv4(ip)) = parsed.host() {
                            prop_assert!(!internal_v4_oracle(ip.into()));
                        }
                    } else {
                        let host = parsed.host_str().unwrap().trim_end_matches('.').to_ascii_lowercase();
                        let port = parsed.port_or_known_default().unwrap();
                        prop_assert!(host == "hooks.example.com" || (host == "127.0.0.1" && port == 8089),
                            "{url} → {host}:{port}");
                    }
                }
                Err(e) => {
                    prop_assert_eq!(e.code, Code::InvalidValue);
                    prop_assert!(e.message.starts_with("resolution_endpoint"));
                }
            }
        }
    });
}

// ---------------------------------------------------------------------------------------------
// `meta_data` filters against the databases

/// Metadata keys as stored and filtered on: quotes, backslashes, dots, brackets, `$`, Unicode.
fn stored_key() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z_]{1,10}",
        "[\"\\\\'.$\\[\\]* a-c\u{e9}\u{4e2d}\u{1f600}]{1,8}",
        "[^=!\u{0}-\u{1f}\u{7f}-\u{9f}]{1,12}",
    ]
    .prop_map(|k| k.trim().to_string())
    .prop_filter("a key", |k| key_ok(k))
}

fn stored_value() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-z0-9-]{0,12}",
        "[=!\"\\\\'{}\\[\\] a-c\t\n\u{e9}]{0,10}",
        any::<String>().prop_filter("a value", |v| string_ok(v)),
    ]
}

/// Every accepted filter finds exactly the folders whose metadata holds that string.
fn filters_find_what_was_stored(url: &str) {
    use faceproof_server::auth::policy::Scope;
    use faceproof_server::store::folders::{FolderFilter, FolderRow, SortBy};
    use faceproof_server::store::Store;
    use uuid::Uuid;

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = rt.block_on(Store::connect(url)).unwrap();
    let count = |company: Uuid, filter: &str| -> Result<i64, TestCaseError> {
        let meta =
            vec![metadata::parse_filter(filter).map_err(|e| TestCaseError::fail(e.message))?];
        let f = FolderFilter {
            scope: Scope::All,
            time_created_min: None,
            time_created_max: None,
            time_updated_min: None,
            time_updated_max: None,
            meta,
            resolution_status: vec![],
            user_id: None,
            company_id: Some(company),
            folder_ids: vec![],
            analysis_types: vec![],
            analysis_resolutions: vec![],
            sort: SortBy::TimeCreated,
            descending: true,
            offset: 0,
            limit: 10,
        };
        let (_, total) = rt
            .block_on(store.folder_list(&f))
            .map_err(|e| TestCaseError::fail(format!("{filter:?}: {e}")))?;
        Ok(total)
    };
    proptest!(Cases::with_cases(64), |(key in stored_key(), value in stored_value(), other in stored_value())| {
        prop_assume!(key != "other");
        let meta = json!({ key.clone(): value.clone(), "other": other });
        prop_assert!(metadata::check(&meta, "m").is_ok());
        let company = Uuid::new_v4();
        let folder = FolderRow {
            folder_id: Uuid::new_v4(),
            company_id: Some(company),
            user_id: None,
            resolution_status: FolderStatus::Initial,
            system_resolution: FolderStatus::Initial,
            meta_data: meta,
            technical_meta_data: json!({}),
            time_created: 1,
            time_updated: 1,
        };
        rt.block_on(store.folder_insert(Some(&folder), &[])).unwrap();
        prop_assert_eq!(count(company, &format!("{key}=={value}"))?, 1, "{}=={}", key, value);
        prop_assert_eq!(count(company, &format!("{key}!={value}"))?, 0, "{}!={}", key, value);
        prop_assert_eq!(count(company, &format!("{key}=={value}~"))?, 0);
        prop_assert_eq!(count(company, &format!("{key}!={value}~"))?, 1);
        prop_assert_eq!(count(company, &format!("{key}~=={value}"))?, 0);
    });
}

#[test]
fn filters_find_what_was_stored_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    filters_find_what_was_stored(&format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("t.db").display()
    ));
}

#[test]
fn filters_find_what_was_stored_postgres() {
    let Ok(base) = std::env::var("FACEPROOF_TEST_DATABASE_URL") else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "CI=true but FACEPROOF_TEST_DATABASE_URL is not set"
        );
        eprintln!("SKIPPED: PostgreSQL tests need FACEPROOF_TEST_DATABASE_URL");
        return;
    };
    let name = format!("faceproof_filters_{}", std::process::id());
    let (without_query, query) = base.split_once('?').unwrap_or((&base, ""));
    let prefix = without_query
        .rsplit_once('/')
        .map(|(p, _)| p)
        .expect("FACEPROOF_TEST_DATABASE_URL with a database path");
    let url = if query.is_empty() {
        format!("{prefix}/{name}")
    } else {
        format!("{prefix}/{name}?{query}")
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(faceproof_server::store::create_database(&url))
        .unwrap();
    let result = std::panic::catch_unwind(|| filters_find_what_was_stored(&url));
    rt.block_on(faceproof_server::store::drop_database(&url))
        .unwrap();
    if let Err(e) = result {
        std::panic::resume_unwind(e);
    }
}
