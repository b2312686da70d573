//! The rules for text a client sends outside metadata (whose own limits are in
//! [`crate::metadata`]): every free-text field has a length limit and a character rule, and no
//! text anywhere holds a control character other than tab and line breaks.
//!
//! | field | at most (characters) | characters |
//! |---|---|---|
//! | user first, middle and last names | [`NAME_CHARS`] | no control characters |
//! | company names, collection aliases | [`TITLE_CHARS`] | no control characters |
//! | e-mail addresses | [`EMAIL_CHARS`] | no control characters, spaces or `<>()[]\,;:"` |
//! | passwords | [`PASSWORD_CHARS`] | no control characters |
//! | uploaded file names | [`FILE_NAME_CHARS`] | no control characters |
//! | decision comments | [`COMMENT_CHARS`] | tab and line breaks allowed |
//! | search text (`search_text`, `name` filters) | [`SEARCH_CHARS`] | no control characters |
//! | any other string of a JSON body or query string | — | tab and line breaks allowed |
//!
//! A text over its limit or with a refused character is error 4 (400) with `details = {reason:
//! "text_limits", field, max_chars}`. The last row is checked for every JSON body
//! ([`check_json`]) and query string ([`check_query`]) before a handler sees them: PostgreSQL
//! cannot store a NUL character (it answered 500, even at sign-in), SQLite can; both now refuse
//! alike.

use serde_json::{json, Value};

use crate::errors::{ApiError, ApiResult};

pub const NAME_CHARS: usize = 150;
pub const TITLE_CHARS: usize = 200;
pub const EMAIL_CHARS: usize = 254;
pub const PASSWORD_CHARS: usize = 1024;
pub const FILE_NAME_CHARS: usize = 255;
pub const COMMENT_CHARS: usize = 2000;
pub const SEARCH_CHARS: usize = 200;

/// Characters an e-mail address may not hold unquoted (RFC 5322 specials), besides spaces and
/// control characters: markup in an address is refused rather than stored.
const EMAIL_SPECIALS: &[char] = &['<', '>', '(', ')', '[', ']', '\\', ',', ';', ':', '"'];

fn refuse(field: &str, max: usize, why: &str) -> ApiError {
    ApiError::value(format!("{field} {why}")).with_details(json!({
        "reason": "text_limits",
        "field": field,
        "max_chars": max,
    }))
}

fn free_control(c: char) -> bool {
    c.is_control() && !matches!(c, '\t' | '\n' | '\r')
}

/// One line of text: at most `max` characters, no control characters.
pub fn line(field: &str, s: &str, max: usize) -> ApiResult<()> {
    if s.chars().count() > max {
        return Err(refuse(
            field,
            max,
            &format!("must have at most {max} characters"),
        ));
    }
    if s.chars().any(char::is_control) {
        return Err(refuse(field, max, "must not contain control characters"));
    }
    Ok(())
}

/// Text of several lines: at most `max` characters, no control characters but tab and line
/// breaks.
pub fn lines(field: &str, s: &str, max: usize) -> ApiResult<()> {
    if s.chars().count() > max {
        return Err(refuse(
            field,
            max,
            &format!("must have at most {max} characters"),
        ));
    }
    if s.chars().any(free_control) {
        return Err(refuse(
            field,
            max,
            "must not contain control characters (other than tab and line breaks)",
        ));
    }
    Ok(())
}

/// An e-mail address as a sign-in name: [`line`] of [`EMAIL_CHARS`], one `@`, no spaces and none
/// of the specials that would need quoting.
pub fn email(field: &str, s: &str) -> ApiResult<()> {
    line(field, s, EMAIL_CHARS)?;
    let e = s.trim();
    if e.len() < 3
        || e.matches('@').count() != 1
        || e.starts_with('@')
        || e.ends_with('@')
        || e.contains(char::is_whitespace)
        || e.contains(EMAIL_SPECIALS)
    {
        return Err(ApiError::value(format!("{field} is not a valid address")));
    }
    Ok(())
}

/// Every key and string of a JSON document free of control characters other than tab and line
/// breaks (the last row of the module's table).
pub fn check_json(v: &Value) -> ApiResult<()> {
    fn walk(v: &Value, at: &mut Vec<String>) -> ApiResult<()> {
        match v {
            Value::String(s) if s.chars().any(free_control) => Err(control(at)),
            Value::Array(items) => items.iter().try_for_each(|i| walk(i, at)),
            Value::Object(map) => {
                for (k, v) in map {
                    at.push(k.clone());
                    if k.chars().any(free_control) {
                        return Err(control(at));
                    }
                    walk(v, at)?;
                    at.pop();
                }
                Ok(())
            }
            _ => Ok(()),
        }
    }
    walk(v, &mut Vec::new())
}

fn control(at: &[String]) -> ApiError {
    let field: String = at
        .iter()
        .map(|k| k.chars().filter(|c| !c.is_control()).collect::<String>())
        .collect::<Vec<_>>()
        .join(".");
    ApiError::value(format!(
        "Text must not contain control characters (other than tab and line breaks){}",
        if field.is_empty() {
            String::new()
        } else {
            format!(": {field}")
        }
    ))
    .with_details(json!({ "reason": "control_characters", "field": field }))
}

/// Every key and value of a query string likewise.
pub fn check_query(pairs: &[(String, String)]) -> ApiResult<()> {
    for (k, v) in pairs {
        if k.chars().chain(v.chars()).any(free_control) {
            return Err(control(std::slice::from_ref(k)));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_and_characters() {
        assert!(line("name", &"a".repeat(NAME_CHARS), NAME_CHARS).is_ok());
        let e = line("name", &"a".repeat(NAME_CHARS + 1), NAME_CHARS).unwrap_err();
        assert_eq!(e.details["reason"], "text_limits");
        assert!(line("name", "a\u{0}b", NAME_CHARS).is_err());
        assert!(line("name", "a\nb", NAME_CHARS).is_err());
        assert!(lines("comment", "a\nb\tc", COMMENT_CHARS).is_ok());
        assert!(lines("comment", "a\u{0}", COMMENT_CHARS).is_err());
        assert!(email("email", "a@b.c").is_ok());
        for bad in ["<svg>@x.y", "a b@c.d", "a@b@c", "@b.c", "a\u{0}@b.c"] {
            assert!(email("email", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn json_and_queries_hold_no_control_characters() {
        assert!(check_json(&json!({"a": ["x\ny", {"b": "\t"}]})).is_ok());
        let e = check_json(&json!({"a": [{"b": "x\u{0}"}]})).unwrap_err();
        assert_eq!(e.details["field"], "a.b");
        assert!(check_json(&json!({"k\u{1}": 1})).is_err());
        assert!(check_query(&[("q".into(), "a\u{0}".into())]).is_err());
        assert!(check_query(&[("q".into(), "a b".into())]).is_ok());
    }
}
