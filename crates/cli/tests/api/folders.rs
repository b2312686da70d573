//! Folders, media and metadata with real photos and videos from ../shared/data: uploads, tags,
//! URLs, filters and paging, access control, and every upload error — on SQLite and PostgreSQL.

use crate::common::*;
use reqwest::Method;
use serde_json::{json, Value};

fn ids(v: &Value) -> Vec<String> {
    v["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["folder_id"].as_str().unwrap().to_string())
        .collect()
}

/// The list of folders with the query `q`, as `who` sees it.
fn list(s: &Server, q: &str, who: &str) -> Value {
    let (st, v) = s.call(Method::GET, &format!("/api/folders/?{q}"), Some(who), None);
    assert_eq!(st, 200, "{q}: {v}");
    v
}

fn get_bytes(s: &Server, url: &str, token: Option<&str>) -> (u16, Vec<u8>, String) {
    let mut r = s.client.get(url);
    if let Some(t) = token {
        r = r.header("X-Forensic-Access-Token", t);
    }
    let resp = r.send().unwrap();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (resp.status().as_u16(), resp.bytes().unwrap().to_vec(), ct)
}

/// What every test of this module starts from: two companies, their users, and a folder of
/// Alpha's CLIENT with a photo and a video, tags and metadata.
struct World {
    photos: Vec<std::path::PathBuf>,
    mp4: std::path::PathBuf,
    mov: std::path::PathBuf,
    admin: String,
    a: String,
    client_id: String,
    client: String,
    colleague: String,
    cadmin: String,
    cop: String,
    client_b: String,
    op: String,
    /// The folder as its upload answered.
    folder: Value,
    fid: String,
    /// The folder's photo.
    photo_id: String,
}

/// The [`World`]; `None` without the shared data.
fn world(s: &Server) -> Option<World> {
    let data = shared_data()?;
    let photos = photos(&data, 12);
    let mp4 = video(&data, "mp4");
    let mov = video(&data, "mov");
    let admin = s.admin();
    let a = s.company(&admin, "Alpha");
    let b = s.company(&admin, "Beta");
    let (client_id, client) = s.user(&admin, "client@a.example", "CLIENT", Some(&a));
    let (_, colleague) = s.user(&admin, "colleague@a.example", "CLIENT", Some(&a));
    let (_, cadmin) = s.user(&admin, "cadmin@a.example", "CLIENT ADMIN", Some(&a));
    let (_, cop) = s.user(&admin, "cop@a.example", "CLIENT OPERATOR", Some(&a));
    let (_, client_b) = s.user(&admin, "client@b.example", "CLIENT", Some(&b));
    let (_, op) = s.user(&admin, "operator@example.com", "OPERATOR", None);

    // A folder with a photo and a video, tags and metadata.
    let payload = json!({
        "media:tags": {"photo1": ["photo_selfie"], "video1": ["video_selfie", "video_selfie_blank", "orientation_portrait"]},
        "folder:meta_data": {"transaction_id": "tx-1", "person_info": {"first_name": "Ann"}},
        "media:meta_data": {"photo1": {"side": "front"}},
    });
    let (st, folder) = s.upload(
        "/api/folders/",
        &client,
        &[("photo1", &photos[0]), ("video1", &mp4)],
        Some(payload),
    );
    assert_eq!(st, 201, "{folder}");
    let fid = folder["folder_id"].as_str().unwrap().to_string();
    let photo_id = folder["media"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["media_type"] == "IMAGE_FOLDER")
        .expect("an image")["media_id"]
        .as_str()
        .unwrap()
        .to_string();
    Some(World {
        photos,
        mp4,
        mov,
        admin,
        a,
        client_id,
        client,
        colleague,
        cadmin,
        cop,
        client_b,
        op,
        folder,
        fid,
        photo_id,
    })
}

/// A MOV video and a ZIP of frames added to the world's folder (4 media then); the answer.
fn add_media(s: &Server, w: &World) -> Vec<Value> {
    let World {
        photos,
        mov,
        client,
        fid,
        ..
    } = w;
    let zip = zip::files(&photos[1..4]);
    let form = reqwest::blocking::multipart::Form::new()
        .part("v2", reqwest::blocking::multipart::Part::file(mov).unwrap())
        .part("shots", reqwest::blocking::multipart::Part::bytes(zip).file_name("frames.zip"))
        .text("payload", json!({"media:tags": {"v2": ["video_selfie", "video_selfie_smile"], "shots": ["video_selfie_blank"]}}).to_string());
    let (st, added) = s.upload_form(&format!("/api/folders/{fid}/media/"), client, form);
    assert_eq!(st, 201, "{added}");
    added.as_array().unwrap().clone()
}

/// Three more folders of the world's CLIENT (tx-2, tx-3, tx-3); every folder id, oldest first.
fn more_folders(s: &Server, w: &World) -> Vec<String> {
    let World {
        photos,
        client,
        fid,
        ..
    } = w;
    let mut created = vec![fid.clone()];
    for (i, tx) in ["tx-2", "tx-3", "tx-3"].iter().enumerate() {
        let p = json!({"media:tags": {"img": ["photo_selfie"]}, "folder:meta_data": {"transaction_id": tx, "n": i}});
        let (st, v) = s.upload("/api/folders", client, &[("img", &photos[4 + i])], Some(p));
        assert_eq!(st, 201, "{v}");
        created.push(v["folder_id"].as_str().unwrap().to_string());
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    created
}

/// The upload is answered with the folder: its owner and company, each medium with its tags,
/// metadata, original name and kind.
fn upload_keeps_tags_and_metadata(s: &Server) {
    let Some(w) = world(s) else { return };
    let World {
        photos,
        a,
        client_id,
        folder,
        ..
    } = w;
    assert_eq!(folder["resolution_status"], "INITIAL");
    assert_eq!(folder["meta_data"]["transaction_id"], "tx-1");
    assert_eq!(folder["company_id"], a.as_str());
    assert_eq!(folder["user_id"], client_id.as_str());
    let media = folder["media"].as_array().unwrap();
    assert_eq!(media.len(), 2);
    let photo = media
        .iter()
        .find(|m| m["media_type"] == "IMAGE_FOLDER")
        .expect("an image");
    let vid = media
        .iter()
        .find(|m| m["media_type"] == "VIDEO_FOLDER")
        .expect("a video");
    assert_eq!(photo["tags"], json!(["photo_selfie"]));
    assert_eq!(photo["meta_data"], json!({"side": "front"}));
    assert_eq!(
        photo["original_name"],
        photos[0].file_name().unwrap().to_str().unwrap()
    );
    assert!(photo["video_url"].is_null() && photo["preview_url"].is_null());
    assert_eq!(
        vid["tags"],
        json!(["video_selfie", "video_selfie_blank", "orientation_portrait"])
    );
    assert_eq!(vid["media_kind"], "VIDEO");
    assert!(vid["info"]["width"].as_i64().unwrap() > 0);
}

/// Media URLs are served with the same checks as the folder.
fn media_urls_are_served_with_the_same_checks(s: &Server) {
    let Some(w) = world(s) else { return };
    let World {
        photos,
        mp4,
        client,
        colleague,
        cadmin,
        client_b,
        op,
        folder,
        ..
    } = w;
    let media = folder["media"].as_array().unwrap();
    let photo = media
        .iter()
        .find(|m| m["media_type"] == "IMAGE_FOLDER")
        .expect("an image");
    let vid = media
        .iter()
        .find(|m| m["media_type"] == "VIDEO_FOLDER")
        .expect("a video");
    let (st, bytes, ct) = get_bytes(s, photo["original_url"].as_str().unwrap(), Some(&client));
    assert_eq!((st, ct.as_str()), (200, "image/jpeg"));
    assert_eq!(bytes, std::fs::read(&photos[0]).unwrap());
    let (st, bytes, _) = get_bytes(s, photo["thumb_url"].as_str().unwrap(), Some(&cadmin));
    assert_eq!(st, 200);
    assert_eq!(&bytes[..2], &[0xFF, 0xD8]);
    let (st, bytes, ct) = get_bytes(s, vid["video_url"].as_str().unwrap(), Some(&op));
    assert_eq!(st, 200);
    assert!(
        ct.starts_with("video/"),
        "{ct} (the type comes from the content, not the .mp4 name)"
    );
    assert_eq!(bytes.len() as u64, std::fs::metadata(&mp4).unwrap().len());
    assert_eq!(
        get_bytes(s, vid["preview_url"].as_str().unwrap(), Some(&client)).0,
        200
    );
    let (_, thumb, _) = get_bytes(s, vid["thumb_url"].as_str().unwrap(), Some(&client));
    assert_eq!(&thumb[..2], &[0xFF, 0xD8]);
    // The URL as given is a signed link (it opens without the token, see `compat`); without
    // its signature the token is required.
    let url = photo["original_url"].as_str().unwrap();
    assert_eq!(get_bytes(s, url, None).0, 200);
    assert_eq!(get_bytes(s, url.split('?').next().unwrap(), None).0, 401);
    assert_eq!(
        get_bytes(s, photo["original_url"].as_str().unwrap(), Some(&client_b)).0,
        404
    );
    assert_eq!(
        get_bytes(s, photo["original_url"].as_str().unwrap(), Some(&colleague)).0,
        403
    );
}

/// Media added to a folder (a MOV video and a ZIP of frames, a SHOTS_SET) are answered as an
/// array; the folder's detail flags add its analyses, user and company.
fn media_added_and_detail_flags(s: &Server) {
    let Some(w) = world(s) else { return };
    let added = add_media(s, &w);
    let World { client, fid, .. } = w;
    assert_eq!(added.len(), 2);
    assert_eq!(added[0]["media_type"], "VIDEO_FOLDER");
    assert_eq!(
        added[0]["tags"],
        json!(["video_selfie", "video_selfie_smile"])
    );
    assert_eq!(added[1]["media_type"], "SHOTS_SET_FOLDER");
    assert_eq!(added[1]["media_kind"], "SHOTS_SET");
    assert!(added[1]["video_url"].is_string() && added[1]["thumb_url"].is_string());

    // Folder detail flags.
    let (st, v) = s.call(
        Method::GET,
        &format!("/api/folders/{fid}?with_analyses=true&with_user=true&with_company=true"),
        Some(&client),
        None,
    );
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["analyses"], json!([]));
    assert_eq!(v["user"]["email"], "client@a.example");
    assert_eq!(v["company"]["name"], "Alpha");
    assert_eq!(v["media"].as_array().unwrap().len(), 4);
    let (_, v) = s.call(
        Method::GET,
        &format!("/api/folders/{fid}/"),
        Some(&client),
        None,
    );
    assert!(v.get("analyses").is_none() && v.get("user").is_none());
}

/// Media tags: replaced, unknown ones refused, cleared; others' media not found or forbidden.
fn media_tags(s: &Server) {
    let Some(w) = world(s) else { return };
    let World {
        client,
        cop,
        client_b,
        photo_id,
        ..
    } = w;
    let path = format!("/api/media/{photo_id}");
    let (st, v) = s.call(
        Method::PATCH,
        &path,
        Some(&client),
        Some(json!({"tags": ["photo_id", "photo_id_front"]})),
    );
    assert_eq!(
        (st, &v["tags"]),
        (200, &json!(["photo_id", "photo_id_front"]))
    );
    assert_error(
        s.call(
            Method::PATCH,
            &path,
            Some(&client),
            Some(json!({"tags": ["selfie_of_doom"]})),
        ),
        400,
        4,
    );
    assert_error(
        s.call(
            Method::PATCH,
            &path,
            Some(&client),
            Some(json!({"tags": "photo_id"})),
        ),
        400,
        5,
    );
    assert_error(
        s.call(
            Method::PATCH,
            &path,
            Some(&client_b),
            Some(json!({"tags": []})),
        ),
        404,
        10,
    );
    assert_error(
        s.call(Method::PATCH, &path, Some(&cop), Some(json!({"tags": []}))),
        403,
        9,
    );
    let (st, v) = s.call(
        Method::PATCH,
        &format!("{path}/"),
        Some(&client),
        Some(json!({"tags": []})),
    );
    assert_eq!((st, &v["tags"]), (200, &json!([])));
}

/// Folder metadata merged by PATCH and read back (two spellings); media metadata replaced.
fn folder_and_media_metadata(s: &Server) {
    let Some(w) = world(s) else { return };
    let World {
        client,
        colleague,
        cop,
        client_b,
        fid,
        photo_id,
        ..
    } = w;
    let meta = format!("/api/folders/{fid}/meta_data");
    let (st, v) = s.call(
        Method::PATCH,
        &meta,
        Some(&client),
        Some(json!({"client_iin": "770101"})),
    );
    assert_eq!(st, 200);
    assert_eq!(v["client_iin"], "770101");
    assert_eq!(v["transaction_id"], "tx-1");
    assert_eq!(
        s.call(
            Method::GET,
            &format!("/api/folders/{fid}/metadata"),
            Some(&cop),
            None
        )
        .1,
        v
    );
    assert_error(s.call(Method::GET, &meta, Some(&client_b), None), 404, 10);
    assert_error(
        s.call(
            Method::PATCH,
            &meta,
            Some(&colleague),
            Some(json!({"a": 1})),
        ),
        403,
        9,
    );
    let (_, v) = s.call(
        Method::GET,
        &format!("/api/media/{photo_id}/meta_data"),
        Some(&client),
        None,
    );
    assert_eq!(v, json!({"side": "front"}));
    let (st, _) = s.call(
        Method::POST,
        &format!("/api/media/{photo_id}/metadata/"),
        Some(&client),
        Some(json!({"q": 0.9})),
    );
    assert_eq!(st, 200);
    assert_eq!(
        s.call(
            Method::GET,
            &format!("/api/media/{photo_id}/meta_data"),
            Some(&client),
            None
        )
        .1,
        json!({"q": 0.9})
    );
}

/// The folder list: metadata filters, sorting and paging, time and status filters, analyses
/// with the list, and the documented errors for bad parameters.
fn list_filters_sorting_and_paging(s: &Server) {
    let Some(w) = world(s) else { return };
    add_media(s, &w);
    let created = more_folders(s, &w);
    let client = &w.client;
    let v = list(s, "meta_data=transaction_id==tx-3", client);
    assert_eq!(v["total"], 2);
    assert_eq!(v["items"][0]["meta_data"]["transaction_id"], "tx-3");
    assert_eq!(
        list(s, "meta_data=transaction_id!=tx-3", client)["total"],
        2
    );
    assert_eq!(
        list(s, "meta_data=transaction_id==tx-3&meta_data=n==2", client)["total"],
        1
    );
    assert_eq!(
        list(s, "meta_data=person_info==nothing", client)["total"],
        0
    );
    let v = list(s, "sorting=time_created{asc}&limit=2", client);
    assert_eq!(
        (v["total"].as_i64(), ids(&v)),
        (Some(4), created[..2].to_vec())
    );
    let v = list(s, "sorting=time_created{asc}&limit=2&offset=2", client);
    assert_eq!(ids(&v), created[2..].to_vec());
    let v = list(s, "sorting=time_created{desc}&limit=1", client);
    assert_eq!(ids(&v), vec![created[3].clone()]);
    assert_eq!(
        list(s, "limit=1", client)["items"][0]["folder_id"],
        created[3].as_str(),
        "newest first by default"
    );
    let v = list(s, "sorting=time_updated{desc}&limit=1", client);
    assert_eq!(ids(&v).len(), 1);
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    assert_eq!(
        list(s, &format!("time_created.min={}", now + 1000), client)["total"],
        0
    );
    assert_eq!(
        list(
            s,
            &format!(
                "time_created.min={}&time_created.max={}",
                now - 1000,
                now + 1000
            ),
            client
        )["total"],
        4
    );
    assert_eq!(
        list(s, &format!("time_updated.max={}", now - 1000), client)["total"],
        0
    );
    assert_eq!(list(s, "resolution_status=INITIAL", client)["total"], 4);
    assert_eq!(
        list(s, "resolution_status=SUCCESS,DECLINED", client)["total"],
        0
    );
    let v = list(
        s,
        "with_analyses=true&meta_data=transaction_id==tx-1",
        client,
    );
    assert_eq!(v["items"][0]["analyses"], json!([]));
    assert_eq!(v["items"][0]["media"].as_array().unwrap().len(), 4);
    assert_error(
        s.call(Method::GET, "/api/folders?sorting=name", Some(client), None),
        400,
        4,
    );
    assert_error(
        s.call(
            Method::GET,
            "/api/folders?meta_data=oops",
            Some(client),
            None,
        ),
        400,
        4,
    );
    assert_error(
        s.call(
            Method::GET,
            "/api/folders?time_created.min=yesterday",
            Some(client),
            None,
        ),
        400,
        5,
    );
    assert_error(
        s.call(
            Method::GET,
            "/api/folders?resolution_status=MAYBE",
            Some(client),
            None,
        ),
        400,
        4,
    );
}

/// Who sees the four folders of Alpha's CLIENT.
fn visibility_per_role(s: &Server) {
    let Some(w) = world(s) else { return };
    more_folders(s, &w);
    let World {
        admin,
        colleague,
        cadmin,
        cop,
        client_b,
        op,
        ..
    } = w;
    assert_eq!(list(s, "", &colleague)["total"], 0);
    assert_eq!(list(s, "", &cadmin)["total"], 4);
    assert_eq!(list(s, "", &cop)["total"], 4);
    assert_eq!(list(s, "", &client_b)["total"], 0);
    assert_eq!(list(s, "", &op)["total"], 4);
    assert_eq!(list(s, "", &admin)["total"], 4);
}

/// Reading, deleting and adding to one folder, by role and company.
fn access_to_one_folder(s: &Server) {
    let Some(w) = world(s) else { return };
    let World {
        photos,
        admin,
        colleague,
        cop,
        client_b,
        op,
        fid,
        photo_id,
        ..
    } = w;
    let one = format!("/api/folders/{fid}");
    assert_error(s.call(Method::GET, &one, Some(&colleague), None), 403, 9);
    assert_error(s.call(Method::GET, &one, Some(&client_b), None), 404, 10);
    assert_eq!(s.call(Method::GET, &one, Some(&cop), None).0, 200);
    assert_eq!(s.call(Method::GET, &one, Some(&op), None).0, 200);
    assert_error(s.call(Method::DELETE, &one, Some(&cop), None), 403, 9);
    assert_error(s.call(Method::DELETE, &one, Some(&client_b), None), 404, 10);
    assert_error(s.call(Method::DELETE, &one, Some(&op), None), 403, 9);
    assert_error(
        s.upload(
            &format!("{one}/media"),
            &client_b,
            &[("x", &photos[0])],
            None,
        ),
        404,
        10,
    );
    assert_error(
        s.upload("/api/folders", &op, &[("x", &photos[0])], None),
        403,
        9,
    );
    assert_error(
        s.call(
            Method::GET,
            &format!("/api/media/{photo_id}"),
            Some(&client_b),
            None,
        ),
        404,
        10,
    );
    assert_error(
        s.call(
            Method::GET,
            "/api/folders/00000000-0000-4000-8000-000000000000",
            Some(&admin),
            None,
        ),
        404,
        10,
    );
}

/// Every upload error is the documented one and leaves nothing behind: no file, no folder, no
/// media row.
fn upload_errors_store_nothing(s: &Server) {
    let Some(w) = world(s) else { return };
    // 4 media: seven more are over the limit of 10 per folder.
    add_media(s, &w);
    let World {
        photos,
        admin,
        client,
        fid,
        ..
    } = w;
    let one = format!("/api/folders/{fid}");
    let files_before = s.media_files();
    let total_before = list(s, "", &admin)["total"].clone();
    let media_before = s
        .call(Method::GET, &format!("{one}/media"), Some(&client), None)
        .1
        .as_array()
        .unwrap()
        .len();
    let bad_tag = json!({"media:tags": {"img": ["photo_selfie", "video_selfie_moonwalk"]}});
    let v = assert_error(
        s.upload(
            "/api/folders",
            &client,
            &[("img", &photos[8])],
            Some(bad_tag),
        ),
        400,
        4,
    );
    assert!(v["error_message"]
        .as_str()
        .unwrap()
        .contains("video_selfie_moonwalk"));
    let mut form = reqwest::blocking::multipart::Form::new().part(
        "img",
        reqwest::blocking::multipart::Part::file(&photos[8]).unwrap(),
    );
    form = form.text("payload", "{\"media:tags\": ");
    assert_error(s.upload_form("/api/folders", &client, form), 400, 3);
    let bad_shape = json!({"folder:meta_data": "not an object"});
    assert_error(
        s.upload(
            "/api/folders",
            &client,
            &[("img", &photos[8])],
            Some(bad_shape),
        ),
        400,
        3,
    );
    let jpeg = std::fs::read(&photos[9]).unwrap();
    let truncated = jpeg[..jpeg.len() / 3].to_vec();
    // A good photo first, then a truncated one: the good one must not be stored either.
    let form = reqwest::blocking::multipart::Form::new()
        .part(
            "good",
            reqwest::blocking::multipart::Part::file(&photos[10]).unwrap(),
        )
        .part(
            "bad",
            reqwest::blocking::multipart::Part::bytes(truncated.clone()).file_name("cut.jpg"),
        );
    let v = assert_error(s.upload_form("/api/folders", &client, form), 400, 4);
    assert_eq!(v["details"]["media_key"], "bad");
    assert_error(
        s.upload_bytes(
            &format!("{one}/media"),
            &client,
            "bad",
            "cut.jpg",
            truncated,
            None,
        ),
        400,
        4,
    );
    assert_error(
        s.upload_bytes(
            "/api/folders",
            &client,
            "v",
            "v.mp4",
            b"\0\0\0\x20ftypisom\0\0\0\0garbage".to_vec(),
            None,
        ),
        400,
        4,
    );
    assert_error(
        s.upload_bytes(
            "/api/folders",
            &client,
            "doc",
            "notes.jpg",
            b"just some text, not a picture".to_vec(),
            None,
        ),
        415,
        5,
    );
    let big = vec![0xFFu8; 11 * 1024 * 1024];
    assert_error(
        s.upload_bytes("/api/folders", &client, "big", "big.jpg", big, None),
        413,
        4,
    );
    let eleven: Vec<(String, std::path::PathBuf)> = (0..11)
        .map(|i| (format!("f{i}"), photos[i % photos.len()].clone()))
        .collect();
    let refs: Vec<(&str, &std::path::Path)> = eleven
        .iter()
        .map(|(k, p)| (k.as_str(), p.as_path()))
        .collect();
    assert_error(s.upload("/api/folders", &client, &refs, None), 400, 4);
    assert_error(
        s.upload(&format!("{one}/media"), &client, &refs[..7], None),
        400,
        4,
    );
    let empty = reqwest::blocking::multipart::Form::new().text("payload", "{}");
    assert_error(
        s.upload_form(&format!("{one}/media"), &client, empty),
        400,
        4,
    );
    let not_multipart = s.call(
        Method::POST,
        "/api/folders",
        Some(&client),
        Some(json!({"media": []})),
    );
    assert_error(not_multipart, 400, 3);
    // a single request whose order cannot be placed (biometry needs two media) stores nothing
    let analyses = json!({"analyses": [{"type": "biometry"}]});
    assert_error(
        s.upload(
            "/api/folders",
            &client,
            &[("img", &photos[8])],
            Some(analyses),
        ),
        400,
        4,
    );
    assert_eq!(s.media_files(), files_before, "no orphan files");
    assert_eq!(list(s, "", &admin)["total"], total_before, "no folder");
    let media_after = s
        .call(Method::GET, &format!("{one}/media"), Some(&client), None)
        .1
        .as_array()
        .unwrap()
        .len();
    assert_eq!(media_after, media_before, "no media row");
}

/// An empty folder is allowed (legacy Oz).
fn empty_folder_is_allowed(s: &Server) {
    let Some(w) = world(s) else { return };
    let client = w.client;
    let (st, v) = s.upload_form(
        "/api/folders",
        &client,
        reqwest::blocking::multipart::Form::new().text("payload", "{}"),
    );
    assert_eq!((st, v["media"].as_array().map(Vec::len)), (201, Some(0)));
}

/// Deleting a medium, then the folder, removes their files (original and thumbnail).
fn deletion_removes_files(s: &Server) {
    let Some(w) = world(s) else { return };
    let added = add_media(s, &w);
    let World {
        client,
        colleague,
        cadmin,
        fid,
        photo_id,
        ..
    } = w;
    let one = format!("/api/folders/{fid}");
    let files = s.media_files();
    assert_error(
        s.call(
            Method::DELETE,
            &format!("/api/media/{photo_id}"),
            Some(&colleague),
            None,
        ),
        403,
        9,
    );
    assert_eq!(
        s.call(
            Method::DELETE,
            &format!("/api/media/{photo_id}/"),
            Some(&cadmin),
            None
        )
        .0,
        204
    );
    assert_error(
        s.call(
            Method::GET,
            &format!("/api/media/{photo_id}"),
            Some(&client),
            None,
        ),
        404,
        10,
    );
    assert_eq!(s.media_files(), files - 2, "original and thumbnail removed");
    let other = added[0]["media_id"].as_str().unwrap();
    assert_eq!(
        s.call(
            Method::DELETE,
            &format!("{one}/media/{other}"),
            Some(&cadmin),
            None
        )
        .0,
        204
    );
    assert_eq!(s.call(Method::DELETE, &one, Some(&cadmin), None).0, 204);
    assert_error(s.call(Method::GET, &one, Some(&client), None), 404, 10);
    assert_eq!(
        s.media_files(),
        files - 8,
        "the folder's 4 media × (file + thumbnail)"
    );
}

on_both_databases!(
    upload_keeps_tags_and_metadata,
    media_urls_are_served_with_the_same_checks,
    media_added_and_detail_flags,
    media_tags,
    folder_and_media_metadata,
    list_filters_sorting_and_paging,
    visibility_per_role,
    access_to_one_folder,
    upload_errors_store_nothing,
    empty_folder_is_allowed,
    deletion_removes_files,
);
