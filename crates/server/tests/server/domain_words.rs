//! The domain's words (analysis states, resolutions, folder statuses, analysis types, media kinds,
//! webhook delivery states) are spelled in one place: `src/domain.rs` gives each enum its Oz
//! spelling, `src/store/` turns rows into those enums and back, `src/views/` shapes JSON. Any
//! other string literal that is exactly such a word (`"PROCESSING"`, `"OPERATOR_REQUIRED"`,
//! `"QUALITY"`, …) is a status compared or written as text, which the types exist to prevent —
//! in this crate's sources and in the CLI's (which reads the server's answers through the same
//! enums). Comments and longer texts (`"… must be SUCCESS or DECLINED"`) are not code words.

use std::path::{Path, PathBuf};

const WORDS: &[&str] = &[
    "PROCESSING",
    "FINISHED",
    "FAILED",
    "DECLINED",
    "SUCCESS",
    "OPERATOR_REQUIRED",
    "INITIAL",
    "QUALITY",
    "BIOMETRY",
    "COLLECTION",
    "DOCUMENTS",
    "IMAGE",
    "VIDEO",
    "SHOTS_SET",
    "IMAGE_FOLDER",
    "VIDEO_FOLDER",
    "SHOTS_SET_FOLDER",
    "PENDING",
    "DELIVERED",
];

/// Where the words may be spelled, relative to the server's `src/`.
const ALLOWED: &[&str] = &["domain.rs", "domain", "store", "views"];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The string literals of Rust source (plain, byte and raw), with their line numbers; comments,
/// char literals and lifetimes are stepped over.
fn string_literals(text: &str) -> Vec<(usize, String)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let (mut i, mut line) = (0, 1);
    while i < b.len() {
        match b[i] {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b'/' if b.get(i + 1) == Some(&b'/') => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i += 2;
                while i + 1 < b.len() && !(b[i] == b'*' && b[i + 1] == b'/') {
                    line += usize::from(b[i] == b'\n');
                    i += 1;
                }
                i += 2;
            }
            b'\'' => {
                // 'x', '\n', '\u{…}' are chars; anything else is a lifetime.
                if b.get(i + 1) == Some(&b'\\') {
                    i += 2;
                    while i < b.len() && b[i] != b'\'' {
                        i += 1;
                    }
                    i += 1;
                } else if b.get(i + 2) == Some(&b'\'') {
                    i += 3;
                } else {
                    i += 1;
                }
            }
            b'r' if (b.get(i + 1) == Some(&b'"') || b.get(i + 1) == Some(&b'#'))
                && (i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_')) =>
            {
                let mut j = i + 1;
                let mut hashes = 0;
                while b.get(j) == Some(&b'#') {
                    hashes += 1;
                    j += 1;
                }
                if b.get(j) != Some(&b'"') {
                    i += 1;
                    continue;
                }
                let start = j + 1;
                let close: Vec<u8> = std::iter::once(b'"')
                    .chain(std::iter::repeat_n(b'#', hashes))
                    .collect();
                let mut k = start;
                while k < b.len() && !b[k..].starts_with(&close) {
                    k += 1;
                }
                out.push((line, String::from_utf8_lossy(&b[start..k]).into_owned()));
                line += b[start..k].iter().filter(|c| **c == b'\n').count();
                i = k + close.len();
            }
            b'"' => {
                let start = i + 1;
                let mut k = start;
                while k < b.len() && b[k] != b'"' {
                    k += if b[k] == b'\\' { 2 } else { 1 };
                }
                let k = k.min(b.len());
                out.push((line, String::from_utf8_lossy(&b[start..k]).into_owned()));
                line += b[start..k].iter().filter(|c| **c == b'\n').count();
                i = k + 1;
            }
            _ => i += 1,
        }
    }
    out
}

/// `file:line "WORD"` for every domain word spelled as a literal in `files` under `root`.
fn offenders(root: &Path, files: &[PathBuf]) -> Vec<String> {
    let mut out = Vec::new();
    for file in files {
        let text = std::fs::read_to_string(file).unwrap();
        for (line, lit) in string_literals(&text) {
            if WORDS.contains(&lit.as_str()) {
                let rel = file.strip_prefix(root).unwrap_or(file);
                out.push(format!("{}:{line} \"{lit}\"", rel.display()));
            }
        }
    }
    out
}

#[test]
fn domain_words_are_spelled_only_in_domain_store_and_views() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    files.retain(|f| {
        let first = f.strip_prefix(&src).unwrap().components().next().unwrap();
        !ALLOWED.contains(&first.as_os_str().to_string_lossy().as_ref())
    });
    let cli = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/src");
    if cli.is_dir() {
        rust_files(&cli, &mut files);
    }
    let found = offenders(
        Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap(),
        &files,
    );
    assert!(
        found.is_empty(),
        "status / type words spelled as text outside domain.rs, store/ and views/ — use \
         faceproof_server::domain's enums:\n{}",
        found.join("\n")
    );
}

#[test]
fn the_reader_finds_literals_and_skips_comments_chars_and_lifetimes() {
    let text = "fn f<'a>(x: &'a str) -> bool { // \"FAILED\" in a comment\n\
                let q = '\"'; let e = '\\''; /* \"SUCCESS\" */\n\
                x == \"PROCESSING\" || x == r#\"DECLINED\"# || x == \"must be \\\"SUCCESS\\\"\" }\n";
    let lits: Vec<(usize, String)> = string_literals(text);
    assert_eq!(
        lits,
        vec![
            (3, "PROCESSING".to_string()),
            (3, "DECLINED".to_string()),
            (3, "must be \\\"SUCCESS\\\"".to_string()),
        ]
    );
}
