//! DOCUMENTS through the HTTP API, on SQLite and PostgreSQL: a passport and an ID card read
//! (MRZ fields, check digits, expiry, portrait), the order shape Oz's SDK sends, the document's
//! portrait as BIOMETRY's ID side, and bad inputs (a selfie tagged as an ID, a page upside down,
//! two documents in one photo, the company's setting for unreadable documents). Real specimens
//! of `shared/data/documents`; composed images are made at test time.

use std::path::Path;

use crate::common::{assert_error, shared_data, tenant, Server};
use reqwest::Method;
use serde_json::{json, Value};

const PASSPORT: &str = "documents/100_pass-uto.jpg";
const CARD_BACK: &str = "documents/100_id-che.jpg";
const OTHER_PASSPORT: &str = "documents/100_pass-fin.png";
const SELFIE: &str = "verification/Tony_Blair/Tony_Blair_0002.jpg";

fn read(data: &Path, rel: &str) -> Vec<u8> {
    std::fs::read(data.join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn png(image: &image::RgbImage) -> Vec<u8> {
    let mut out = std::io::Cursor::new(Vec::new());
    image.write_to(&mut out, image::ImageFormat::Png).unwrap();
    out.into_inner()
}

/// A folder with one file per (key, bytes, tags); the media ids by key.
fn folder(s: &Server, token: &str, files: &[(&str, Vec<u8>, &[&str])]) -> (String, Vec<String>) {
    let mut form = reqwest::blocking::multipart::Form::new();
    let mut tags = serde_json::Map::new();
    for (key, bytes, t) in files {
        form = form.part(
            key.to_string(),
            reqwest::blocking::multipart::Part::bytes(bytes.clone())
                .file_name(format!("{key}.png")),
        );
        tags.insert(key.to_string(), json!(t));
    }
    let form = form.text("payload", json!({ "media:tags": tags }).to_string());
    let (st, f) = s.upload_form("/api/folders/", token, form);
    assert_eq!(st, 201, "{f}");
    let ids = files
        .iter()
        .map(|(key, _, _)| {
            f["media"]
                .as_array()
                .unwrap()
                .iter()
                .find(|m| m["original_name"] == format!("{key}.png"))
                .map(|m| m["media_id"].as_str().unwrap().to_string())
                .unwrap_or_default()
        })
        .collect();
    (f["folder_id"].as_str().unwrap().to_string(), ids)
}

/// Order `analyses` on the folder and wait for each; the finished analyses.
fn order(s: &Server, token: &str, fid: &str, analyses: Value) -> Vec<Value> {
    let (st, v) = s.call(
        Method::POST,
        &format!("/api/folders/{fid}/analyses"),
        Some(token),
        Some(json!({ "analyses": analyses })),
    );
    assert_eq!(st, 201, "{v}");
    v.as_array()
        .unwrap()
        .iter()
        .map(|a| s.wait_analysis(token, a["analysis_id"].as_str().unwrap(), 300))
        .collect()
}

/// A passport beside a selfie: DOCUMENTS reads only the document, the TD3 zone with every field
/// and check digit, DECLINED because the specimen expired in 2012; BIOMETRY takes its portrait.
fn passport_and_portrait(s: &Server) {
    let Some(data) = shared_data() else { return };
    let t = tenant(s, "docs");
    let (fid, ids) = folder(
        s,
        &t.client,
        &[
            (
                "passport",
                read(&data, PASSPORT),
                &["photo_id", "photo_id_front"],
            ),
            ("selfie", read(&data, SELFIE), &["photo_selfie"]),
        ],
    );
    let done = order(
        s,
        &t.client,
        &fid,
        json!([{"type": "documents"}, {"type": "biometry"}]),
    );
    let docs = &done[0];
    assert_eq!(docs["state"], "FINISHED", "{docs}");
    assert_eq!(docs["resolution_status"], "DECLINED", "{docs}");
    let media = docs["results_media"].as_array().unwrap();
    assert_eq!(media.len(), 1, "only the document is read: {docs}");
    assert_eq!(media[0]["source_media_id"], json!(ids[0]));
    let rd = &docs["results_data"];
    assert_eq!(rd["status"], "EXPIRED", "{rd}");
    let mrz = &rd["mrz"];
    assert_eq!(mrz["type"], "TD3", "{rd}");
    assert_eq!(mrz["check_digits_valid"], true, "{rd}");
    assert_eq!(mrz["expired"], true, "{rd}");
    assert_eq!(mrz["lines"].as_array().unwrap().len(), 2);
    let fields = &mrz["fields"];
    assert_eq!(fields["document_number"]["value"], "L898902C3", "{fields}");
    assert_eq!(fields["document_number"]["check_digit_valid"], true);
    assert_eq!(fields["surname"]["value"], "ERIKSSON");
    assert_eq!(fields["given_names"]["value"], "ANNA MARIA");
    assert_eq!(fields["birth_date"]["value"], "1974-08-12");
    assert_eq!(fields["expiry_date"]["value"], "2012-04-15");
    assert_eq!(fields["issuing_state"]["value"], "UTO");
    for (name, f) in fields.as_object().unwrap() {
        let c = f["confidence"].as_f64().unwrap_or(-1.0);
        assert!((0.0..=1.0).contains(&c), "{name}: {f}");
    }
    assert_eq!(rd["portrait"]["found"], true, "{rd}");
    assert!(rd["portrait"]["width"].as_u64().unwrap() >= 20, "{rd}");
    assert!(!rd["text_fields"].as_array().unwrap().is_empty());
    assert_eq!(media[0]["results_data"]["mrz"], *mrz);

    // BIOMETRY: the passport's side reports its portrait.
    let bio = &done[1];
    assert_eq!(bio["state"], "FINISHED", "{bio}");
    let id_side = bio["results_media"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["source_media_id"] == json!(ids[0]))
        .unwrap_or_else(|| panic!("{bio}"));
    assert_eq!(id_side["results_data"]["portrait"]["found"], true, "{bio}");
    assert!(
        id_side["results_data"]["portrait"]["width"]
            .as_f64()
            .unwrap()
            >= 20.0
    );
}

/// The order Oz's SDK sends (`type: documents`, `source_media`, `params.capabilities`), on an ID
/// card's back (TD1).
fn sdk_order_shape(s: &Server) {
    let Some(data) = shared_data() else { return };
    let t = tenant(s, "docsdk");
    let (fid, ids) = folder(
        s,
        &t.client,
        &[(
            "back",
            read(&data, CARD_BACK),
            &["photo_id", "photo_id_back"],
        )],
    );
    let done = order(
        s,
        &t.client,
        &fid,
        json!([{"type": "documents", "source_media": [ids[0]], "params": {"capabilities": 492}}]),
    );
    let docs = &done[0];
    assert_eq!(docs["state"], "FINISHED", "{docs}");
    assert_eq!(docs["params"]["capabilities"], 492);
    let mrz = &docs["results_data"]["mrz"];
    assert_eq!(mrz["type"], "TD1", "{docs}");
    assert_eq!(mrz["lines"].as_array().unwrap().len(), 3);
    assert_eq!(mrz["check_digits_valid"], true, "{docs}");
    assert_eq!(mrz["fields"]["issuing_state"]["value"], "CHE");
    // Valid but expired (2013): DECLINED, saying so.
    assert_eq!(docs["resolution_status"], "DECLINED", "{docs}");
    assert_eq!(docs["results_data"]["status"], "EXPIRED");
    assert_eq!(
        docs["results_data"]["portrait"]["found"], false,
        "a card back: {docs}"
    );
}

/// A selfie tagged as an ID, a passport upside down or turned by 90°, an empty table, glare over
/// the zone, two passports in one photo, the company's choice for unreadable documents, and
/// orders that cannot run.
fn bad_inputs(s: &Server) {
    let Some(data) = shared_data() else { return };
    let t = tenant(s, "docbad");
    let passport = image::load_from_memory(&read(&data, PASSPORT))
        .unwrap()
        .to_rgb8();
    let other = image::load_from_memory(&read(&data, OTHER_PASSPORT))
        .unwrap()
        .to_rgb8();
    let upside_down = png(&image::imageops::rotate180(&passport));
    let mut two = image::RgbImage::from_pixel(
        passport.width() + other.width() + 40,
        passport.height().max(other.height()),
        image::Rgb([255, 255, 255]),
    );
    image::imageops::replace(&mut two, &passport, 0, 0);
    image::imageops::replace(&mut two, &other, (passport.width() + 40) as i64, 0);

    // A selfie tagged as an ID: no MRZ, an operator decides (the default), the face is reported.
    let (fid, _) = folder(
        s,
        &t.client,
        &[("selfie", read(&data, SELFIE), &["photo_id_front"])],
    );
    let docs = &order(s, &t.client, &fid, json!([{"type": "documents"}]))[0];
    assert_eq!(docs["state"], "FINISHED", "{docs}");
    assert_eq!(docs["resolution_status"], "OPERATOR_REQUIRED", "{docs}");
    assert_eq!(docs["results_data"]["status"], "MRZ_NOT_FOUND");
    assert_eq!(docs["results_data"]["mrz"], Value::Null);
    assert_eq!(docs["results_data"]["portrait"]["found"], true);
    assert!(docs["results_data"]["message"].is_string());

    // The company declines unreadable documents instead.
    let path = format!("/api/companies/{}/settings", t.company);
    let (st, v) = s.call(
        Method::PATCH,
        &path,
        Some(&t.admin),
        Some(json!({"documents_unreadable": "DECLINED"})),
    );
    assert_eq!(
        (st, &v["documents_unreadable"]),
        (200, &json!("DECLINED")),
        "{v}"
    );
    assert_error(
        s.call(
            Method::PATCH,
            &path,
            Some(&t.admin),
            Some(json!({"documents_unreadable": "MAYBE"})),
        ),
        400,
        4,
    );
    let docs = &order(s, &t.client, &fid, json!([{"type": "documents"}]))[0];
    assert_eq!(docs["resolution_status"], "DECLINED", "{docs}");
    assert_eq!(docs["results_data"]["status"], "MRZ_NOT_FOUND");
    let (st, v) = s.call(
        Method::PATCH,
        &path,
        Some(&t.admin),
        Some(json!({"documents_unreadable": null})),
    );
    assert_eq!(
        (st, &v["documents_unreadable"]),
        (200, &json!("OPERATOR_REQUIRED")),
        "{v}"
    );

    // Upside down: read all the same, and the turn reported.
    let (fid, _) = folder(s, &t.client, &[("flipped", upside_down, &["photo_id"])]);
    let docs = &order(s, &t.client, &fid, json!([{"type": "documents"}]))[0];
    assert_eq!(
        docs["results_data"]["mrz"]["check_digits_valid"], true,
        "{docs}"
    );
    assert_eq!(
        docs["results_data"]["mrz"]["fields"]["document_number"]["value"],
        "L898902C3"
    );
    assert_eq!(
        docs["results_media"][0]["results_data"]["rotation"], 180,
        "{docs}"
    );

    // Turned by 90° (a phone held sideways): read, and the quarter turn reported.
    let sideways = png(&image::imageops::rotate90(&passport));
    let (fid, _) = folder(s, &t.client, &[("sideways", sideways, &["photo_id"])]);
    let docs = &order(s, &t.client, &fid, json!([{"type": "documents"}]))[0];
    assert_eq!(docs["state"], "FINISHED", "{docs}");
    assert_eq!(
        docs["results_data"]["mrz"]["fields"]["document_number"]["value"], "L898902C3",
        "{docs}"
    );
    assert_eq!(
        docs["results_media"][0]["results_data"]["rotation"], 90,
        "{docs}"
    );

    // No document at all (an empty table): no MRZ, no portrait, an operator decides.
    let table = png(&image::RgbImage::from_pixel(
        800,
        600,
        image::Rgb([58, 63, 71]),
    ));
    let (fid, _) = folder(s, &t.client, &[("table", table, &["photo_id_back"])]);
    let docs = &order(s, &t.client, &fid, json!([{"type": "documents"}]))[0];
    assert_eq!(docs["state"], "FINISHED", "{docs}");
    assert_eq!(docs["resolution_status"], "OPERATOR_REQUIRED", "{docs}");
    assert_eq!(docs["results_data"]["status"], "MRZ_NOT_FOUND", "{docs}");
    assert_eq!(docs["results_data"]["portrait"]["found"], false, "{docs}");

    // Glare: a white blotch over the whole zone. Nothing is read from under it — never a
    // zone that passes its checks with other values than the document's.
    let mut glare = passport.clone();
    let (w, h) = (glare.width(), glare.height());
    for y in h * 3 / 4..h {
        for x in w / 8..w * 7 / 8 {
            glare.put_pixel(x, y, image::Rgb([255, 255, 255]));
        }
    }
    let (fid, _) = folder(s, &t.client, &[("glare", png(&glare), &["photo_id"])]);
    let docs = &order(s, &t.client, &fid, json!([{"type": "documents"}]))[0];
    assert_eq!(docs["state"], "FINISHED", "{docs}");
    assert_eq!(docs["resolution_status"], "OPERATOR_REQUIRED", "{docs}");
    assert_eq!(docs["results_data"]["status"], "MRZ_NOT_FOUND", "{docs}");
    assert!(docs["results_data"]["message"].is_string(), "{docs}");

    // Two passports in one photo: an operator looks.
    let (fid, _) = folder(s, &t.client, &[("two", png(&two), &["photo_id"])]);
    let docs = &order(s, &t.client, &fid, json!([{"type": "documents"}]))[0];
    assert_eq!(docs["resolution_status"], "OPERATOR_REQUIRED", "{docs}");
    assert_eq!(
        docs["results_data"]["status"], "MULTIPLE_DOCUMENTS",
        "{docs}"
    );
    assert!(
        docs["results_media"][0]["results_data"]["documents_found"]
            .as_u64()
            .unwrap()
            >= 2
    );

    // Media of another folder, and a folder without photos: refused before anything runs.
    assert_error(
        s.call(
            Method::POST,
            &format!("/api/folders/{fid}/analyses"),
            Some(&t.client),
            Some(json!({"analyses": [{"type": "documents", "source_media": [uuid_like()]}]})),
        ),
        400,
        4,
    );
}

fn uuid_like() -> &'static str {
    "00000000-0000-4000-8000-000000000000"
}

on_both_databases!(passport_and_portrait, sdk_order_shape, bad_inputs);
