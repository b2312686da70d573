//! The order report (`GET /api/folders/{id}/report.pdf`): everything the order view shows, on
//! paper — the company and the times, each media with its thumbnail and per-media verdicts, the
//! best shots, every analysis with its scores against its thresholds, blacklist matches with the
//! person's name and collection, the operator decisions (the audit trail) and the metadata.
//! [`build`] gathers it for a folder the caller may read (checked by the handler); [`pdf`] lays
//! it out.

pub mod pdf;

use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap};

use serde_json::Value;
use uuid::Uuid;

use crate::app::AppState;
use crate::domain::{AnalysisType, MediaKind};
use crate::errors::ApiResult;
use crate::store::folders::{FolderRow, MediaRow};
use pdf::{Block, Thumb};

/// Thumbnails placed in a report at most (the rest are listed by name).
const MAX_THUMBS: usize = 40;

/// UNIX microseconds as `YYYY-MM-DD HH:MM:SS UTC`.
fn utc_us(us: i64) -> String {
    utc_secs(us as f64 / 1e6)
}

/// UNIX seconds as `YYYY-MM-DD HH:MM:SS UTC` (the proleptic Gregorian calendar, from the
/// days since 1970 by Howard Hinnant's `civil_from_days`).
fn utc_secs(secs: f64) -> String {
    let t = secs.floor() as i64;
    let (days, rem) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

fn type_label(t: AnalysisType) -> &'static str {
    match t {
        AnalysisType::Quality => "Liveness",
        AnalysisType::Biometry => "Biometry",
        AnalysisType::Collection => "Blacklist",
        AnalysisType::Documents => "Documents",
    }
}

fn short(id: &Uuid) -> String {
    id.to_string()[..8].to_string()
}

fn num(v: Option<&Value>, digits: usize) -> String {
    v.and_then(Value::as_f64)
        .map(|x| format!("{x:.digits$}"))
        .unwrap_or_else(|| "-".into())
}

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => "-".into(),
        Some(v) => v.to_string(),
    }
}

/// A person's name from its `person_info` metadata.
fn person_name(meta: &Value) -> String {
    let p = &meta["person_info"];
    let name: Vec<&str> = ["first_name", "middle_name", "last_name"]
        .iter()
        .filter_map(|k| p[*k].as_str())
        .filter(|s| !s.is_empty())
        .collect();
    if name.is_empty() {
        "Unnamed person".into()
    } else {
        name.join(" ")
    }
}

/// A selfie video's gesture check in words.
fn gesture_text(g: &Value) -> Option<String> {
    if !g.is_object() {
        return None;
    }
    let done = |b: &Value| {
        if b.as_bool() == Some(true) {
            "performed"
        } else {
            "not performed"
        }
    };
    let name = g["name"]
        .as_str()
        .unwrap_or("gesture")
        .trim_start_matches("video_selfie_");
    let mut s = format!(
        "gesture {name}: {} (peak {})",
        done(&g["performed"]),
        num(g.get("peak"), 2)
    );
    if let Some(steps) = g["sequence"].as_array() {
        let steps: Vec<String> = steps
            .iter()
            .map(|st| {
                format!(
                    "{} {}",
                    st["name"]
                        .as_str()
                        .unwrap_or("?")
                        .trim_start_matches("video_selfie_"),
                    done(&st["performed"])
                )
            })
            .collect();
        s.push_str(&format!("; steps: {}", steps.join(", ")));
    }
    Some(s)
}

/// Thumbnails of `list` with their captions (name, kind, tags, liveness verdict); past `left`
/// thumbnails only the captions.
async fn thumbs(
    st: &AppState,
    list: &[&MediaRow],
    best: bool,
    liveness: &HashMap<Uuid, String>,
    left: &mut usize,
) -> Vec<Thumb> {
    let mut out = Vec::new();
    for m in list {
        let jpeg = match (&m.thumb_key, *left > 0) {
            // a thumbnail that cannot be read leaves its place empty, the captions stay
            (Some(k), true) => st.blobs.get(k).await.unwrap_or_default(),
            _ => Vec::new(),
        };
        *left = left.saturating_sub(1);
        let kind = match m.media_kind {
            MediaKind::Image => "photo",
            MediaKind::Video => "video",
            MediaKind::ShotsSet => "frame set",
        };
        let mut caption = vec![m.original_name.clone(), kind.to_string()];
        if !best {
            caption.push(m.tags.join(", "));
        }
        if let Some(l) = liveness.get(&m.media_id) {
            caption.push(l.clone());
        }
        out.push(Thumb { jpeg, caption });
    }
    out
}

/// The report of `folder` as PDF bytes. The caller has checked that the actor may read the
/// folder; everything here belongs to it (its company's collections for blacklist names).
pub async fn build(st: &AppState, folder: &FolderRow) -> ApiResult<Vec<u8>> {
    let media = st.store.media_of_folders(&[folder.folder_id]).await?;
    let analyses = st
        .store
        .analyses_of_folders(&[folder.folder_id], &Default::default())
        .await?;
    let ids: Vec<Uuid> = analyses.iter().map(|a| a.analysis_id).collect();
    let decisions = st.store.decisions_of(&ids).await?;
    let company = match folder.company_id {
        Some(c) => st.store.company_get(c).await?.map(|c| c.name),
        None => None,
    };
    let mut emails: HashMap<Uuid, String> = HashMap::new();
    let user_ids: BTreeSet<Uuid> = folder
        .user_id
        .into_iter()
        .chain(analyses.iter().filter_map(|a| a.user_id))
        .chain(decisions.iter().map(|d| d.user_id))
        .collect();
    for id in user_ids {
        if let Some(u) = st.store.user_get(id).await? {
            emails.insert(id, u.email);
        }
    }
    let who = |id: Option<Uuid>| {
        id.map(|id| emails.get(&id).cloned().unwrap_or_else(|| short(&id)))
            .unwrap_or_else(|| "-".into())
    };
    let by_id: HashMap<Uuid, &MediaRow> = media.iter().map(|m| (m.media_id, m)).collect();
    let name_of = |v: &Value| -> String {
        v.as_str()
            .and_then(|s| s.parse::<Uuid>().ok())
            .and_then(|id| by_id.get(&id))
            .map(|m| m.original_name.clone())
            .unwrap_or_else(|| "-".into())
    };

    // best shots are media of their own, cut from another media
    let mut best_shots: BTreeSet<Uuid> = BTreeSet::new();
    for a in &analyses {
        for rm in a.results_media.as_array().into_iter().flatten() {
            for o in rm["output_images"].as_array().into_iter().flatten() {
                let id = o["media_id"].as_str().and_then(|s| s.parse::<Uuid>().ok());
                if let Some(id) = id.filter(|id| {
                    Some(*id) != rm["source_media_id"].as_str().and_then(|s| s.parse().ok())
                }) {
                    best_shots.insert(id);
                }
            }
        }
    }
    // the latest liveness verdict per media, for the thumbnails' captions
    let mut liveness: HashMap<Uuid, String> = HashMap::new();
    for a in analyses.iter().filter(|a| a.kind == AnalysisType::Quality) {
        for rm in a.results_media.as_array().into_iter().flatten() {
            if let Some(id) = rm["source_media_id"].as_str().and_then(|s| s.parse().ok()) {
                liveness.insert(
                    id,
                    format!(
                        "liveness {} ({})",
                        text(rm.get("resolution_status")),
                        num(rm["results_data"].get("confidence_spoofing"), 3)
                    ),
                );
            }
        }
    }

    let mut blocks = vec![
        Block::Title(format!("Order report {}", short(&folder.folder_id))),
        Block::Facts(vec![
            ("Order".into(), folder.folder_id.to_string()),
            ("Company".into(), company.unwrap_or_else(|| "-".into())),
            ("Created by".into(), who(folder.user_id)),
            ("Created".into(), utc_us(folder.time_created)),
            ("Updated".into(), utc_us(folder.time_updated)),
            ("Status".into(), folder.resolution_status.to_string()),
            ("Report made".into(), utc_us(crate::store::now_us())),
        ]),
    ];

    // media with thumbnails
    let mut thumbs_left = MAX_THUMBS;
    let uploads: Vec<&MediaRow> = media
        .iter()
        .filter(|m| !best_shots.contains(&m.media_id))
        .collect();
    blocks.push(Block::Heading(format!("Media ({})", uploads.len())));
    if uploads.is_empty() {
        blocks.push(Block::Note("No media.".into()));
    } else {
        blocks.push(Block::Images(
            thumbs(st, &uploads, false, &liveness, &mut thumbs_left).await,
        ));
    }
    let shots: Vec<&MediaRow> = media
        .iter()
        .filter(|m| best_shots.contains(&m.media_id))
        .collect();
    if !shots.is_empty() {
        blocks.push(Block::Heading(format!("Best shots ({})", shots.len())));
        blocks.push(Block::Images(
            thumbs(st, &shots, true, &liveness, &mut thumbs_left).await,
        ));
    }

    // analyses
    blocks.push(Block::Heading(format!("Analyses ({})", analyses.len())));
    if analyses.is_empty() {
        blocks.push(Block::Note("No analyses were ordered.".into()));
    }
    let mut people: HashMap<Uuid, String> = HashMap::new();
    let mut aliases: HashMap<Uuid, String> = HashMap::new();
    for a in &analyses {
        blocks.push(Block::Subheading(format!(
            "{} {}: {}",
            type_label(a.kind),
            short(&a.analysis_id),
            a.resolution_status
        )));
        blocks.push(Block::Note(format!(
            "state {} · ordered {} by {} · updated {}",
            a.state,
            utc_us(a.time_created),
            who(a.user_id),
            utc_us(a.time_updated)
        )));
        if let Some(e) = &a.error {
            blocks.push(Block::Text(format!("Error: {e}")));
        }
        let d = &a.results_data;
        let results: Vec<&Value> = a.results_media.as_array().into_iter().flatten().collect();
        match a.kind {
            AnalysisType::Quality => {
                let rows = results
                    .iter()
                    .map(|rm| {
                        let r = &rm["results_data"];
                        let mut details: Vec<String> = Vec::new();
                        if let Some(g) = gesture_text(&r["gesture"]) {
                            details.push(g);
                        }
                        if let Some(msg) = rm["error"]["message"].as_str() {
                            details.push(msg.to_string());
                        }
                        vec![
                            name_of(&rm["source_media_id"]),
                            text(rm.get("resolution_status")),
                            num(r.get("confidence_spoofing"), 4),
                            num(r.get("threshold"), 4),
                            details.join("; "),
                        ]
                    })
                    .collect();
                blocks.push(Block::Table {
                    headers: vec![
                        "File".into(),
                        "Result".into(),
                        "Spoofing score".into(),
                        "Threshold (declines from)".into(),
                        "Details".into(),
                    ],
                    widths: vec![2.4, 1.6, 1.4, 1.6, 3.0],
                    rows,
                });
            }
            AnalysisType::Biometry => {
                blocks.push(Block::Text(format!(
                    "least similar pair {} (decides), most similar {}; success from {}, declined below {}",
                    num(d.get("min_confidence"), 4),
                    num(d.get("max_confidence"), 4),
                    num(d.get("threshold_max"), 4),
                    num(d.get("threshold_min"), 4),
                )));
                let rows: Vec<Vec<String>> = d["pairs"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|p| {
                        let ids = p["media_ids"].as_array().cloned().unwrap_or_default();
                        vec![
                            ids.first().map(name_of).unwrap_or_default(),
                            ids.get(1).map(name_of).unwrap_or_default(),
                            num(p.get("confidence"), 4),
                            num(p.get("similarity"), 4),
                        ]
                    })
                    .collect();
                if !rows.is_empty() {
                    blocks.push(Block::Table {
                        headers: vec![
                            "File".into(),
                            "Compared with".into(),
                            "Confidence".into(),
                            "Similarity".into(),
                        ],
                        widths: vec![3.0, 3.0, 1.5, 1.5],
                        rows,
                    });
                }
                let problems: Vec<String> = results
                    .iter()
                    .filter_map(|rm| {
                        rm["error"]["message"]
                            .as_str()
                            .map(|m| format!("{}: {m}", name_of(&rm["source_media_id"])))
                    })
                    .collect();
                for p in problems {
                    blocks.push(Block::Text(p));
                }
            }
            AnalysisType::Collection => {
                for c in d["collections"].as_array().into_iter().flatten() {
                    if let (Some(id), Some(alias)) = (
                        c["collection_id"]
                            .as_str()
                            .and_then(|s| s.parse::<Uuid>().ok()),
                        c["alias"].as_str(),
                    ) {
                        aliases.insert(id, alias.to_string());
                    }
                }
                let mut rows = Vec::new();
                for rm in &results {
                    let r = &rm["results_data"];
                    let matches = r["matches"].as_array().cloned().unwrap_or_default();
                    if matches.is_empty() {
                        rows.push(vec![
                            name_of(&rm["source_media_id"]),
                            text(rm.get("resolution_status")),
                            rm["error"]["message"]
                                .as_str()
                                .unwrap_or("no match")
                                .to_string(),
                            "-".into(),
                            num(r.get("threshold").or(d.get("threshold")), 4),
                        ]);
                    }
                    for m in matches {
                        let pid = m["person_id"].as_str().and_then(|s| s.parse::<Uuid>().ok());
                        let cid = m["collection_id"]
                            .as_str()
                            .and_then(|s| s.parse::<Uuid>().ok());
                        let mut person = "-".to_string();
                        if let Some(pid) = pid {
                            if let Entry::Vacant(slot) = people.entry(pid) {
                                // the matched person, if it is still enrolled in this company's list
                                let name = match st.store.person_get(pid).await? {
                                    Some(p) if Some(p.collection_id) == cid => {
                                        person_name(&p.meta_data)
                                    }
                                    _ => format!("removed person {}", short(&pid)),
                                };
                                slot.insert(name);
                            }
                            person = people[&pid].clone();
                        }
                        let coll = cid
                            .map(|c| aliases.get(&c).cloned().unwrap_or_else(|| short(&c)))
                            .unwrap_or_default();
                        rows.push(vec![
                            name_of(&rm["source_media_id"]),
                            text(rm.get("resolution_status")),
                            format!("{person} (collection {coll})"),
                            num(m.get("confidence"), 4),
                            num(r.get("threshold").or(d.get("threshold")), 4),
                        ]);
                    }
                }
                blocks.push(Block::Table {
                    headers: vec![
                        "File".into(),
                        "Result".into(),
                        "Match".into(),
                        "Confidence".into(),
                        "Threshold".into(),
                    ],
                    widths: vec![2.4, 1.6, 3.4, 1.2, 1.2],
                    rows,
                });
            }
            AnalysisType::Documents => {
                for rm in &results {
                    blocks.push(Block::Text(format!(
                        "{}: {}",
                        name_of(&rm["source_media_id"]),
                        text(rm.get("resolution_status"))
                    )));
                }
            }
        }
        if a.params.as_object().is_some_and(|p| !p.is_empty()) {
            blocks.push(Block::Note(format!("parameters: {}", a.params)));
        }
    }

    // audit trail
    blocks.push(Block::Heading("Operator decisions (audit trail)".into()));
    if decisions.is_empty() {
        blocks.push(Block::Note("No operator decisions.".into()));
    } else {
        let kind_of: HashMap<Uuid, AnalysisType> =
            analyses.iter().map(|a| (a.analysis_id, a.kind)).collect();
        let mut sorted: Vec<_> = decisions.iter().collect();
        sorted.sort_by(|x, y| x.time_created.total_cmp(&y.time_created));
        blocks.push(Block::Table {
            headers: vec![
                "When".into(),
                "Who".into(),
                "Analysis".into(),
                "Change".into(),
                "Reason".into(),
            ],
            widths: vec![1.6, 2.0, 1.3, 2.6, 3.0],
            rows: sorted
                .iter()
                .map(|d| {
                    vec![
                        utc_secs(d.time_created),
                        who(Some(d.user_id)),
                        format!(
                            "{} {}",
                            kind_of
                                .get(&d.analysis_id)
                                .map(|k| type_label(*k))
                                .unwrap_or("-"),
                            short(&d.analysis_id)
                        ),
                        format!("{} to {}", d.before, d.after),
                        d.comment.clone(),
                    ]
                })
                .collect(),
        });
    }

    // metadata
    if let Some(meta) = folder.meta_data.as_object().filter(|m| !m.is_empty()) {
        blocks.push(Block::Heading("Metadata".into()));
        blocks.push(Block::Table {
            headers: vec!["Key".into(), "Value".into()],
            widths: vec![1.0, 3.0],
            rows: meta
                .iter()
                .map(|(k, v)| vec![k.clone(), text(Some(v))])
                .collect(),
        });
    }

    let footer = format!("faceproof order report {}", folder.folder_id);
    let title = format!("Order report {}", folder.folder_id);
    tokio::task::spawn_blocking(move || pdf::render(&title, &footer, &blocks))
        .await
        .map_err(crate::errors::ApiError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates() {
        assert_eq!(utc_secs(0.0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc_secs(951_782_400.0), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc_secs(1_796_694_245.5), "2026-12-08 01:44:05 UTC");
    }
}
