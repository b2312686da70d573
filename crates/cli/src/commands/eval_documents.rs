//! `faceproof eval documents`: the document reader on a folder of ID document photos described
//! by a CSV (`path,doc_type,country,has_face,…`, as `shared/data/documents/documents.csv`).
//!
//! Reported: the MRZ exact-read rate (every line equal to the expected lines, over the photos
//! whose MRZ lines are known: [`faceproof_engine::document::SPECIMEN_MRZ`], each set of lines
//! either the upstream data's own test expectation or established by every check digit and the
//! composite holding), the check-digit pass rate (over every photo), the portrait-found rate
//! (over the photos showing a face) and the CPU time per document (this process's user +
//! system time around each read, documents read one after another).

use std::collections::BTreeMap;
use std::path::Path;

use faceproof_engine::document::{expected_mrz, today_utc};
use faceproof_engine::Engine;
use serde_json::{json, Value};

use super::eval::read_csv;
use super::local_server::cpu_seconds;

pub(super) fn documents(engine: &Engine, labels: &Path, as_json: bool) -> anyhow::Result<()> {
    if !engine.reads_documents() {
        anyhow::bail!("the document models are not installed: run `faceproof models fetch`");
    }
    let (base, rows) = read_csv(labels)?;
    let expected = expected_mrz();
    let today = today_utc();
    let pid = std::process::id();
    let mut items = Vec::new();
    for row in &rows {
        let path = row
            .get("path")
            .ok_or_else(|| anyhow::anyhow!("the CSV has no column \"path\""))?;
        let has_face = row.get("has_face").map(|v| v == "1");
        let bytes = std::fs::read(base.join(path))?;
        let decoded = engine.decode(&bytes)?;
        let before = cpu_seconds(pid);
        let report = engine.read_document(&decoded.frames[0].image, today)?;
        let cpu_ms = match (before, cpu_seconds(pid)) {
            (Some(a), Some(b)) => Some((b - a) * 1000.0),
            _ => None,
        };
        let mrz = report.reading.mrz.as_ref();
        let want = expected.get(path.as_str());
        let exact = want.map(|w| mrz.is_some_and(|m| &m.lines == w));
        items.push(json!({
            "path": path,
            "doc_type": row.get("doc_type"),
            "has_face": has_face,
            "mrz_type": mrz.map(|m| m.format.as_str()),
            "lines": mrz.map(|m| m.lines.clone()),
            "expected": want,
            "exact": exact,
            "check_digits_valid": mrz.is_some_and(|m| m.check_digits_valid),
            "failed_checks": mrz.map(|m| m.checks.iter().filter(|c| !c.valid).map(|c| c.name).collect::<Vec<_>>()),
            "repaired": mrz.map(|m| m.checks.iter().filter(|c| c.repaired).count()),
            "repairs": mrz.map(|m| m.checks.iter().filter_map(|c| c.repair.map(|r| format!("{}:{r}", c.name))).collect::<Vec<_>>()),
            "rotation": report.reading.rotation,
            "portrait_found": report.portrait.found,
            "portrait_width": report.portrait.width,
            "cpu_ms": cpu_ms,
        }));
    }
    let rate = |num: usize, den: usize| {
        if den == 0 {
            Value::Null
        } else {
            json!(num as f64 / den as f64)
        }
    };
    let count = |f: &dyn Fn(&Value) -> bool| items.iter().filter(|i| f(i)).count();
    let with_expected = count(&|i| !i["expected"].is_null());
    let exact = count(&|i| i["exact"] == json!(true));
    let valid = count(&|i| i["check_digits_valid"] == json!(true));
    let with_face = count(&|i| i["has_face"] == json!(true));
    let portraits = count(&|i| i["has_face"] == json!(true) && i["portrait_found"] == json!(true));
    let false_portraits =
        count(&|i| i["has_face"] == json!(false) && i["portrait_found"] == json!(true));
    let mut cpu: Vec<f64> = items.iter().filter_map(|i| i["cpu_ms"].as_f64()).collect();
    cpu.sort_by(f64::total_cmp);
    let mean_cpu = (!cpu.is_empty()).then(|| cpu.iter().sum::<f64>() / cpu.len() as f64);
    let p95_cpu = (!cpu.is_empty())
        .then(|| cpu[((cpu.len() as f64 * 0.95).ceil() as usize).clamp(1, cpu.len()) - 1]);
    // How often check-digit-guided correction fired, by rule, and on how many documents.
    let mut repairs: BTreeMap<String, usize> = BTreeMap::new();
    for i in &items {
        for r in i["repairs"].as_array().into_iter().flatten() {
            let rule = r.as_str().unwrap_or("").split(':').nth(1).unwrap_or("");
            *repairs.entry(rule.to_string()).or_default() += 1;
        }
    }
    let repaired_documents = count(&|i| i["repaired"].as_u64().unwrap_or(0) > 0);
    let mut types: BTreeMap<String, usize> = BTreeMap::new();
    for i in &items {
        if let Some(t) = i["mrz_type"].as_str() {
            *types.entry(t.to_string()).or_default() += 1;
        }
    }
    let summary = json!({
        "documents": items.len(),
        "backend": engine.backend(),
        "mrz_expected": with_expected,
        "mrz_exact": exact,
        "mrz_exact_rate": rate(exact, with_expected),
        "check_digits_valid": valid,
        "check_digit_pass_rate": rate(valid, items.len()),
        "with_face": with_face,
        "portrait_found": portraits,
        "portrait_found_rate": rate(portraits, with_face),
        "portrait_found_without_face": false_portraits,
        "cpu_ms_mean": mean_cpu,
        "cpu_ms_p95": p95_cpu,
        "mrz_types": types,
        "repairs": repairs,
        "documents_repaired": repaired_documents,
    });
    if as_json {
        println!(
            "{}",
            serde_json::to_string_pretty(&json!({ "summary": summary, "items": items }))?
        );
    } else {
        for i in &items {
            println!(
                "{:<22} {:<5} exact={:<5} checks={:<5} portrait={:<5} cpu={:>6.0} ms  {} {}",
                i["path"].as_str().unwrap_or(""),
                i["mrz_type"].as_str().unwrap_or("-"),
                i["exact"]
                    .as_bool()
                    .map(|b| b.to_string())
                    .unwrap_or("n/a".into()),
                i["check_digits_valid"],
                i["portrait_found"],
                i["cpu_ms"].as_f64().unwrap_or(f64::NAN),
                i["lines"]
                    .as_array()
                    .map(|l| l
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(" / "))
                    .unwrap_or_default(),
                i["repairs"]
                    .as_array()
                    .filter(|r| !r.is_empty())
                    .map(|r| format!(
                        "repaired: {}",
                        r.iter()
                            .filter_map(Value::as_str)
                            .collect::<Vec<_>>()
                            .join(", ")
                    ))
                    .unwrap_or_default(),
            );
        }
        println!("{}", serde_json::to_string_pretty(&summary)?);
    }
    Ok(())
}
