//! The packaging files (`Dockerfile`, `deploy/compose.yaml`, `deploy/k8s/*.yaml`) name settings
//! and routes of this code base; a renamed setting or probe path must fail here, not in a
//! customer's cluster. Their YAML structure is validated against the Compose and Kubernetes
//! schemas by `scripts/check-deploy.sh` (run by the test command).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(repo().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// Every `FACEPROOF_…` name in a text.
fn setting_names(text: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for (i, _) in text.match_indices("FACEPROOF_") {
        let name: String = text[i..]
            .chars()
            .take_while(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || *c == '_')
            .collect();
        if name.len() > "FACEPROOF_".len() && !name.ends_with('_') {
            out.insert(name);
        }
    }
    out
}

/// The packaging files and their text.
fn packaging() -> Vec<(String, String)> {
    let mut files = vec!["Dockerfile".to_string(), "deploy/compose.yaml".to_string()];
    let mut k8s: Vec<String> = std::fs::read_dir(repo().join("deploy/k8s"))
        .expect("deploy/k8s")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .map(|p| format!("deploy/k8s/{}", p.file_name().unwrap().to_string_lossy()))
        .collect();
    k8s.sort();
    assert!(
        k8s.len() >= 3,
        "the Kubernetes manifests are there: {k8s:?}"
    );
    files.extend(k8s);
    files
        .into_iter()
        .map(|f| (read(&f), f))
        .map(|(t, f)| (f, t))
        .collect()
}

#[test]
fn packaging_names_only_real_settings() {
    // What the server reads (config.rs) and what the binary's options read (clap `env = …`).
    let mut known = setting_names(&read("crates/server/src/config.rs"));
    let cli = repo().join("crates/cli/src");
    let mut dirs = vec![cli];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                dirs.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                known.extend(setting_names(&std::fs::read_to_string(&p).unwrap()));
            }
        }
    }
    assert!(known.contains("FACEPROOF_DATABASE_URL") && known.contains("FACEPROOF_MODELS_DIR"));
    let mut unknown = Vec::new();
    for (file, text) in packaging() {
        for name in setting_names(&text) {
            if !known.contains(&name) {
                unknown.push(format!("{file}: {name}"));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "settings the server does not read: {unknown:?}"
    );
}

#[test]
fn probes_and_health_checks_use_real_routes() {
    let ops = read("crates/server/src/http/ops.rs");
    let mut used = BTreeSet::new();
    for (_, text) in packaging() {
        for (i, _) in text.match_indices("/health/") {
            let path: String = text[i..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '/' || *c == '_')
                .collect();
            used.insert(path);
        }
    }
    assert!(
        used.contains("/health/live") && used.contains("/health/ready"),
        "{used:?}"
    );
    for path in used {
        assert!(
            ops.contains(&format!(".route(\"{path}\"")),
            "{path} is not a route of src/http/ops.rs"
        );
    }
}

#[test]
fn the_image_runs_as_a_non_root_user_with_verified_models() {
    let docker = read("Dockerfile");
    let user = docker
        .lines()
        .rev()
        .find_map(|l| l.strip_prefix("USER "))
        .expect("a USER line");
    assert!(
        !user.starts_with("root") && !user.starts_with('0'),
        "{user}"
    );
    assert!(docker.contains("HEALTHCHECK"));
    assert!(docker.contains("faceproof models verify"));
}
