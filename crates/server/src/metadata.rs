//! The limits every client-supplied metadata object obeys (folders, media, users, analyses,
//! collections, persons), whichever endpoint it arrives through, and the keys of metadata filters.
//! Metadata is served back in every list, so one tenant's huge or malformed object must not cost
//! others: it is refused with error 4 before anything is stored.
//!
//! | limit | value |
//! |---|---|
//! | serialized size | 16 KiB |
//! | nesting depth | 5 (the object itself is depth 1) |
//! | keys in all | 200 |
//! | key length | 1–128 characters, no control characters |
//! | string value length | 4,096 characters, no control characters but tab, line feed, carriage return |
//!
//! A NUL in a key once made every `meta_data==` lookup of a company answer 500 on PostgreSQL
//! (`jsonb` cannot hold U+0000): control characters never reach the store.
//!
//! A folder-list filter `meta_data=key==value` (or `key!=value`) is read by [`parse_filter`]: the
//! key is the text before the first `==` or `!=` (trimmed), so a value may contain either. One
//! query holds at most [`MAX_FILTERS`] of them ([`parse_filters`]; error 4, `details.reason =
//! metadata_limits`): each is a clause of the SQL query, and SQLite refused a thousand (500).

use serde_json::Value;

use crate::errors::{ApiError, ApiResult};
use crate::store::folders::MetaOp;

pub const MAX_BYTES: usize = 16 * 1024;
pub const MAX_DEPTH: usize = 5;
pub const MAX_KEYS: usize = 200;
pub const MAX_KEY_CHARS: usize = 128;
pub const MAX_STRING_CHARS: usize = 4096;
pub const MAX_FILTERS: usize = 20;

fn refuse(what: &str, why: String) -> ApiError {
    ApiError::value(format!("{what}: {why}"))
        .with_details(serde_json::json!({ "reason": "metadata_limits" }))
}

/// A key of a metadata object or filter.
pub fn check_key(key: &str, what: &str) -> ApiResult<()> {
    if key.is_empty() || key.chars().count() > MAX_KEY_CHARS {
        return Err(refuse(
            what,
            format!("keys must have 1 to {MAX_KEY_CHARS} characters"),
        ));
    }
    if key.chars().any(char::is_control) {
        return Err(refuse(
            what,
            "keys must not contain control characters".into(),
        ));
    }
    Ok(())
}

/// A string value of a metadata object or filter.
pub fn check_string(s: &str, what: &str) -> ApiResult<()> {
    if s.chars().count() > MAX_STRING_CHARS {
        return Err(refuse(
            what,
            format!("string values must have at most {MAX_STRING_CHARS} characters"),
        ));
    }
    if s.chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err(refuse(
            what,
            "values must not contain control characters (other than tab and line breaks)".into(),
        ));
    }
    Ok(())
}

/// A `meta_data` filter: `key==value` or `key!=value`, the key and the value within the limits of
/// metadata keys and string values (error 4 otherwise).
pub fn parse_filter(s: &str) -> ApiResult<(String, MetaOp, String)> {
    // The first operator splits, whichever it is: `note==a!=b` is `note` equal to `a!=b`.
    let first = [("==", MetaOp::Eq), ("!=", MetaOp::Ne)]
        .into_iter()
        .filter_map(|(token, op)| s.find(token).map(|at| (at, token.len(), op)))
        .min_by_key(|(at, _, _)| *at);
    let Some((at, len, op)) = first else {
        return Err(ApiError::value(format!(
            "meta_data filter '{s}' must be key==value or key!=value"
        )));
    };
    let (key, value) = (s[..at].trim(), &s[at + len..]);
    if key.is_empty() {
        return Err(ApiError::value("meta_data filter needs a key"));
    }
    check_key(key, "meta_data filter")?;
    check_string(value, "meta_data filter")?;
    Ok((key.to_string(), op, value.to_string()))
}

/// The `meta_data` filters of one query: at most [`MAX_FILTERS`], each read by [`parse_filter`].
pub fn parse_filters(all: &[&str]) -> ApiResult<Vec<(String, MetaOp, String)>> {
    if all.len() > MAX_FILTERS {
        return Err(refuse(
            "meta_data filters",
            format!("{} in one query; the limit is {MAX_FILTERS}", all.len()),
        ));
    }
    all.iter().map(|f| parse_filter(f)).collect()
}

/// Check a whole metadata object (`what` names it in the error, e.g. `folder:meta_data`).
pub fn check(v: &Value, what: &str) -> ApiResult<()> {
    if !v.is_object() {
        return Err(ApiError::structure(format!("{what} must be a JSON object")));
    }
    let size = serde_json::to_vec(v).map(|b| b.len()).unwrap_or(usize::MAX);
    if size > MAX_BYTES {
        return Err(refuse(
            what,
            format!("{size} bytes is over the limit of {MAX_BYTES}"),
        ));
    }
    let mut keys = 0;
    walk(v, 1, what, &mut keys)
}

fn walk(v: &Value, depth: usize, what: &str, keys: &mut usize) -> ApiResult<()> {
    match v {
        Value::Object(map) => {
            if depth > MAX_DEPTH {
                return Err(refuse(
                    what,
                    format!("nesting deeper than {MAX_DEPTH} levels"),
                ));
            }
            *keys += map.len();
            if *keys > MAX_KEYS {
                return Err(refuse(what, format!("more than {MAX_KEYS} keys")));
            }
            for (k, v) in map {
                check_key(k, what)?;
                walk(v, depth + 1, what, keys)?;
            }
        }
        Value::Array(list) => {
            if depth > MAX_DEPTH {
                return Err(refuse(
                    what,
                    format!("nesting deeper than {MAX_DEPTH} levels"),
                ));
            }
            for v in list {
                walk(v, depth + 1, what, keys)?;
            }
        }
        Value::String(s) => check_string(s, what)?,
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn ordinary_metadata_passes() {
        let v = json!({"transaction_id": "tx-1", "client": {"os": "iOS 17", "notes": "a\nb"},
                       "scores": [1, 2.5, null, true]});
        assert!(check(&v, "m").is_ok());
    }

    #[test]
    fn limits_are_enforced() {
        assert!(check(&json!({"\u{0}k": "v"}), "m").is_err());
        assert!(check(&json!({"k": "v\u{0}"}), "m").is_err());
        assert!(check(&json!({"k\u{1b}": "v"}), "m").is_err());
        assert!(check(&json!({"": 1}), "m").is_err());
        assert!(check(&json!({"k".repeat(129): 1}), "m").is_err());
        assert!(check(&json!({"k": "x".repeat(4097)}), "m").is_err());
        assert!(check(&json!({"a": {"b": {"c": {"d": {"e": 1}}}}}), "m").is_ok());
        assert!(check(&json!({"a": {"b": {"c": {"d": {"e": {"f": 1}}}}}}), "m").is_err());
        assert!(check(&json!({"a": [[[[[1]]]]]}), "m").is_err());
        let many: serde_json::Map<String, Value> =
            (0..201).map(|i| (format!("k{i}"), json!(i))).collect();
        assert!(check(&Value::Object(many), "m").is_err());
        let big: serde_json::Map<String, Value> = (0..10)
            .map(|i| (format!("k{i}"), json!("x".repeat(2000))))
            .collect();
        let e = check(&Value::Object(big), "folder:meta_data").unwrap_err();
        assert!(e.message.contains("folder:meta_data"), "{}", e.message);
        assert!(check(&json!([1]), "m").is_err());
    }
}
