//! The server's layering, read from its sources: every `crate::<module>` path in code (comments
//! excluded) is an edge from the file's top-level module to `<module>`. Nothing outside `http/`
//! may use `http`, `domain` uses no other module, and the graph of top-level modules has no
//! cycle — so a change to a handler cannot ripple into the workers and back. The crate's map (`lib.rs`) names every top-level
//! module, and objects named in a path are loaded by one authorised loader (`http/access.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

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

/// The code of a file without `//` comments (doc comments included) and string literals' content
/// is not parsed: a path named in a message is rare enough to be spelled differently.
fn code_lines(text: &str) -> impl Iterator<Item = &str> {
    text.lines().filter_map(|l| {
        let code = l.split("//").next().unwrap_or("");
        (!code.trim().is_empty()).then_some(code)
    })
}

/// `crate::X` (and `use crate::{X, …}`) references of one file.
fn references(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for line in code_lines(text) {
        let mut rest = line;
        while let Some(i) = rest.find("crate::") {
            rest = &rest[i + "crate::".len()..];
            if let Some(group) = rest.strip_prefix('{') {
                for part in group.split([',', '}']) {
                    let name = ident(part.trim());
                    if !name.is_empty() {
                        out.insert(name);
                    }
                }
            } else {
                let name = ident(rest);
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        }
    }
    out
}

/// Top-level module → the top-level modules it references.
fn graph() -> BTreeMap<String, BTreeSet<String>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let rel = file.strip_prefix(&src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_string();
        if module == "lib" {
            continue; // the crate root declares and re-exports every module
        }
        let text = std::fs::read_to_string(&file).unwrap();
        let edges = graph.entry(module.clone()).or_default();
        for target in references(&text) {
            if target != module {
                edges.insert(target);
            }
        }
    }
    graph
}

#[test]
fn nothing_outside_http_imports_http() {
    let offenders: Vec<String> = graph()
        .into_iter()
        .filter(|(m, edges)| m != "http" && edges.contains("http"))
        .map(|(m, _)| m)
        .collect();
    assert!(
        offenders.is_empty(),
        "modules outside http/ that import crate::http: {offenders:?}"
    );
}

/// The domain's words (`domain`) are the floor every other module stands on: it imports none
/// of them, so a store row, a view and a handler can all use its enums.
#[test]
fn the_domain_imports_nothing_of_the_crate() {
    let graph = graph();
    let edges = graph
        .get("domain")
        .expect("src/domain.rs (or src/domain/) exists");
    assert!(edges.is_empty(), "domain imports {edges:?}");
}

#[test]
fn top_level_modules_form_no_cycle() {
    let graph = graph();
    // Depth-first search with colours; a grey node reached again closes a cycle.
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        colour: &mut BTreeMap<String, u8>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        match colour.get(node) {
            Some(1) => {
                let start = path.iter().position(|n| n == node).unwrap();
                let mut cycle = path[start..].to_vec();
                cycle.push(node.to_string());
                return Some(cycle);
            }
            Some(2) => return None,
            _ => {}
        }
        colour.insert(node.to_string(), 1);
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, colour, path) {
                return Some(c);
            }
        }
        path.pop();
        colour.insert(node.to_string(), 2);
        None
    }
    let mut colour = BTreeMap::new();
    for node in graph.keys() {
        if let Some(cycle) = visit(node, &graph, &mut colour, &mut Vec::new()) {
            panic!(
                "import cycle among the server's modules: {}\nwhole graph: {graph:#?}",
                cycle.join(" → ")
            );
        }
    }
}

#[test]
fn the_reader_sees_grouped_and_inline_paths() {
    let text = "use crate::{app::AppState, store};\nfn f() { crate::http::x(); } // crate::views\n";
    let refs = references(text);
    assert_eq!(
        refs,
        ["app", "http", "store"]
            .map(String::from)
            .into_iter()
            .collect()
    );
}

/// The top-level modules `lib.rs` declares.
fn declared_modules(lib: &str) -> Vec<String> {
    lib.lines()
        .filter_map(|l| l.strip_prefix("pub mod "))
        .map(|m| m.trim_end_matches(';').to_string())
        .collect()
}

#[test]
fn the_map_in_lib_rs_names_every_module() {
    let lib =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/lib.rs")).unwrap();
    let map: String = lib
        .lines()
        .filter(|l| l.starts_with("//!"))
        .collect::<Vec<_>>()
        .join("\n");
    let missing: Vec<String> = declared_modules(&lib)
        .into_iter()
        .filter(|m| !map.contains(&format!("[`{m}`]")))
        .collect();
    assert!(
        missing.is_empty(),
        "modules missing from lib.rs's map of the crate: {missing:?}"
    );
}

#[test]
fn handlers_load_path_objects_through_the_one_loader() {
    // Each resource once had its own `load` (fetch, then ask the policy); `http/access.rs`
    // holds the only one, generic over the kind of object.
    let http = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http");
    let mut files = Vec::new();
    rust_files(&http, &mut files);
    let copies: Vec<String> = files
        .iter()
        .filter(|f| !f.ends_with("access.rs"))
        .filter(|f| {
            let text = std::fs::read_to_string(f).unwrap();
            text.lines().any(|l| {
                let l = l.trim_start();
                l.starts_with("async fn load(") || l.starts_with("pub async fn load(")
            })
        })
        .map(|f| f.display().to_string())
        .collect();
    assert!(
        copies.is_empty(),
        "loaders beside http/access.rs: {copies:?}"
    );
}
