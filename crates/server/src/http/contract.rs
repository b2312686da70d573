//! What each operation of the API takes and answers, for the OpenAPI document (`http::docs`):
//! its request body (a `ToSchema` type of `views::schema`, a multipart form with file fields, or
//! raw bytes), its success answer, its query parameters (every filter the handler reads from
//! [`super::QueryPairs`]), its tag and which error answers it can give. Enumerated values come
//! from the domain's own lists (`FolderStatus::ALL`, …), so they cannot drift from what the
//! handlers accept.
//!
//! Kept beside the handlers' routers rather than on each handler: most handlers read free JSON
//! (`ApiJson<Value>`, accepting the several spellings Oz clients send) and raw query pairs, so
//! the shapes are declared here once, and the tests in `http::docs` hold this table to the
//! routers (every route and method documented, every POST/PATCH/PUT with a body unless listed
//! as bodiless here).

use serde_json::{json, Value};

use crate::auth::Role;
use crate::domain::{AnalysisState, AnalysisTypeFilter, FolderStatus, Resolution};

/// How an operation's success answer is encoded.
pub enum Answer {
    /// No body (204).
    Empty,
    /// JSON of this schema (a `$ref` or an inline schema).
    Json(Value),
    /// Bytes of one of these types.
    Bytes(&'static [&'static str]),
    /// A page, a script or a style sheet.
    Text(&'static str),
}

/// The request body of an operation.
pub enum Body {
    None,
    /// JSON of this schema.
    Json(Value),
    /// `multipart/form-data` described by this schema (file fields are `format: binary`).
    Form(&'static str),
    /// The raw bytes of one of these types (Lite).
    Raw(&'static [&'static str]),
}

pub struct Contract {
    pub body: Body,
    pub answer: Answer,
    pub query: Vec<Value>,
}

/// POSTs that take no body (the token alone says what to do).
pub const BODILESS: &[(&str, &str)] = &[
    ("post", "/api/authorize/logout"),
    ("post", "/api/authorize/logout_all"),
];

pub fn schema(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

fn array_of(name: &str) -> Value {
    json!({ "type": "array", "items": schema(name) })
}

fn object(example: Value) -> Value {
    json!({ "type": "object", "additionalProperties": true, "example": example })
}

fn words<W: crate::domain::Word>(all: &[W]) -> Vec<&'static str> {
    all.iter().map(|w| w.as_str()).collect()
}

fn param(name: &str, description: &str, schema: Value) -> Value {
    json!({ "name": name, "in": "query", "required": false, "description": description, "schema": schema })
}

fn q_int(name: &str, description: &str, default: i64, max: Option<i64>) -> Value {
    let mut s = json!({ "type": "integer", "minimum": 0, "default": default });
    if let Some(m) = max {
        s["maximum"] = json!(m);
    }
    param(name, description, s)
}

fn q_str(name: &str, description: &str) -> Value {
    param(name, description, json!({ "type": "string" }))
}

fn q_bool(name: &str, description: &str) -> Value {
    param(
        name,
        description,
        json!({ "type": "boolean", "default": false }),
    )
}

fn q_uuid(name: &str, description: &str) -> Value {
    param(
        name,
        description,
        json!({ "type": "string", "format": "uuid" }),
    )
}

fn q_time(name: &str, description: &str) -> Value {
    param(
        name,
        &format!("{description} (UNIX seconds, milliseconds or microseconds, inclusive)"),
        json!({ "type": "number", "example": 1764000000 }),
    )
}

fn q_enum(name: &str, description: &str, values: &[&str]) -> Value {
    param(
        name,
        description,
        json!({ "type": "string", "enum": values }),
    )
}

/// A repeatable parameter; each value may also be a comma list.
fn q_list(name: &str, description: &str, values: Option<Vec<&str>>) -> Value {
    let items = match values {
        Some(v) => json!({ "type": "string", "enum": v }),
        None => json!({ "type": "string", "format": "uuid" }),
    };
    let mut p = param(
        name,
        &format!("{description} Repeat the parameter, or give a comma list."),
        json!({ "type": "array", "items": items }),
    );
    p["style"] = json!("form");
    p["explode"] = json!(true);
    p
}

fn paging() -> Vec<Value> {
    vec![
        q_int("offset", "Items to skip.", 0, None),
        q_int("limit", "Items to answer (at most 1000).", 100, Some(1000)),
    ]
}

fn stats_filters() -> Vec<Value> {
    vec![
        q_uuid("company_id", "Orders of this company."),
        q_uuid("user_id", "Orders created by this user."),
        q_time("time_created.min", "Rows created at or after"),
        q_time("time_created.max", "Rows created at or before"),
        q_enum("format", "`csv` answers text/csv.", &["json", "csv"]),
    ]
}

/// The signed-link parameters every media URL in an answer carries (then no token is needed).
fn signed_link() -> Vec<Value> {
    vec![
        q_str("exp", "Signed link: expiry (UNIX seconds)."),
        q_str("c", "Signed link: the company."),
        q_str("sig", "Signed link: HMAC-SHA256 signature."),
    ]
}

const IMAGES: &[&str] = &["image/jpeg", "image/png"];
const FILES: &[&str] = &["application/octet-stream"];

/// The contract of `method path` (lower-case method, the path as documented).
pub fn contract(method: &str, path: &str) -> Contract {
    use Answer::{Bytes, Empty, Json, Text};
    let c = |body: Body, answer: Answer, query: Vec<Value>| Contract {
        body,
        answer,
        query,
    };
    let j = |name: &str| Body::Json(schema(name));
    let free = || {
        Body::Json(object(
            json!({ "external_id": "order-42", "channel": "web" }),
        ))
    };
    let any = || Json(object(json!({})));
    let is_meta = path.ends_with("/meta_data");
    if is_meta {
        return match method {
            "get" => c(Body::None, any(), vec![]),
            "delete" => c(Body::None, Empty, vec![]),
            _ => c(free(), any(), vec![]),
        };
    }
    match (method, path) {
        ("post", "/api/authorize/auth") => c(j("LoginRequest"), Json(schema("Tokens")), vec![]),
        ("post", "/api/authorize/refresh") => {
            c(j("RefreshRequest"), Json(schema("Tokens")), vec![])
        }
        ("post", "/api/authorize/logout" | "/api/authorize/logout_all") => {
            c(Body::None, Empty, vec![])
        }
        ("get", "/api/authorize/session_token") => {
            c(Body::None, Json(schema("SessionToken")), vec![])
        }
        ("post", "/api/companies") => c(j("CompanyBody"), Json(schema("Company")), vec![]),
        ("get", "/api/companies") => {
            let mut q = vec![q_str("search_text", "Part of the name.")];
            q.extend(paging());
            c(Body::None, Json(schema("CompanyPage")), q)
        }
        ("get", "/api/companies/{company_id}") => c(Body::None, Json(schema("Company")), vec![]),
        ("patch", "/api/companies/{company_id}") => {
            c(j("CompanyBody"), Json(schema("Company")), vec![])
        }
        ("delete", "/api/companies/{company_id}") => c(
            Body::None,
            Empty,
            vec![q_bool(
                "cascade",
                "Remove the company's users, folders and collections too.",
            )],
        ),
        ("patch", "/api/companies/{company_id}/settings") => c(
            Body::Json(object(
                json!({ "liveness_threshold": 0.5, "biometry_threshold": 0.85 }),
            )),
            any(),
            vec![],
        ),
        ("post", "/api/users") => c(j("UserBody"), Json(schema("User")), vec![]),
        ("get", "/api/users") => {
            let roles: Vec<&str> = Role::ALL.iter().map(|r| r.as_str()).collect();
            let mut q = vec![
                q_uuid("company_id", "Users of this company."),
                q_enum("user_type", "Users of this role.", &roles),
                q_str("search_text", "Part of the email or name."),
            ];
            q.extend(paging());
            c(Body::None, Json(schema("UserPage")), q)
        }
        ("get", "/api/users/me" | "/api/users/{user_id}") => {
            c(Body::None, Json(schema("User")), vec![])
        }
        ("patch", "/api/users/{user_id}") => c(j("UserBody"), Json(schema("User")), vec![]),
        ("post", "/api/folders") | ("post", "/api/instant/folders") => c(
            Body::Form("FolderUpload"),
            Json(schema("FolderView")),
            vec![],
        ),
        ("get", "/api/folders") => {
            let mut q = paging();
            q.extend([
                q_enum(
                    "sorting",
                    "Order of the list (default time_created{desc}); `time_created` and `time_updated` \
                     (ascending) and `-time_created`, `-time_updated` (descending) are read too.",
                    &[
                        "time_created{desc}",
                        "time_created{asc}",
                        "time_updated{desc}",
                        "time_updated{asc}",
                    ],
                ),
                q_time("time_created.min", "Folders created at or after"),
                q_time("time_created.max", "Folders created at or before"),
                q_time("time_updated.min", "Folders updated at or after"),
                q_time("time_updated.max", "Folders updated at or before"),
                {
                    let mut p = param(
                        "meta_data",
                        "`key==value` or `key!=value` on the folder's metadata (repeatable; the key is the text \
                         before the first `==` or `!=`; values compared as text; `!=` also matches folders \
                         without the key).",
                        json!({ "type": "array", "items": { "type": "string", "example": "external_id==order-42" } }),
                    );
                    p["style"] = json!("form");
                    p["explode"] = json!(true);
                    p
                },
                q_list(
                    "resolution_status",
                    "Folders with this status.",
                    Some(words(FolderStatus::ALL)),
                ),
                q_list("folder_id", "These folders.", None),
                q_uuid("user_id", "Folders created by this user."),
                q_uuid("company_id", "Folders of this company."),
                q_list(
                    "analysis_type",
                    "Folders with an analysis of this type.",
                    Some(words(AnalysisTypeFilter::ALL)),
                ),
                q_list(
                    "analysis_resolution",
                    "Folders with an analysis of this result.",
                    Some(words(Resolution::ALL)),
                ),
                q_bool("with_analyses", "Embed each folder's analyses."),
            ]);
            c(Body::None, Json(schema("FolderPage")), q)
        }
        ("get", "/api/folders/{folder_id}") => c(
            Body::None,
            Json(schema("FolderView")),
            vec![
                q_bool("with_analyses", "Embed the folder's analyses, oldest first."),
                q_bool("with_user", "Embed the creator."),
                q_bool("with_company", "Embed the creator's company."),
            ],
        ),
        ("post", "/api/folders/{folder_id}/media") => c(
            Body::Form("FolderUpload"),
            Json(array_of("MediaView")),
            vec![],
        ),
        ("get", "/api/folders/{folder_id}/media") => {
            c(Body::None, Json(array_of("MediaView")), vec![])
        }
        ("get", "/api/folders/{folder_id}/analyses") => c(
            Body::None,
            Json(array_of("AnalysisView")),
            vec![
                q_list("analysis_id", "These analyses.", None),
                q_list("analyse_id", "These analyses (older spelling).", None),
                q_list("analysis_id.exclude", "Not these analyses.", None),
                q_list("analyse_id.exclude", "Not these analyses (older spelling).", None),
                q_list("type", "Analyses of this type.", Some(words(AnalysisTypeFilter::ALL))),
                q_list("state", "Analyses in this state.", Some(words(AnalysisState::ALL))),
                q_list(
                    "resolution_status",
                    "Analyses with this result.",
                    Some(words(Resolution::ALL)),
                ),
                q_time("time_created.min", "Analyses created at or after"),
                q_time("time_created.max", "Analyses created at or before"),
            ],
        ),
        ("post", "/api/folders/{folder_id}/analyses") => c(
            j("StartAnalyses"),
            Json(array_of("AnalysisView")),
            vec![],
        ),
        ("get", "/api/analyses/{analysis_id}") => {
            c(Body::None, Json(schema("AnalysisView")), vec![])
        }
        ("patch", "/api/analyses/{analysis_id}") => {
            c(j("DecisionBody"), Json(schema("AnalysisView")), vec![])
        }
        ("get", "/api/media/{media_id}") => c(Body::None, Json(schema("MediaView")), vec![]),
        ("patch", "/api/media/{media_id}") => {
            c(j("MediaTags"), Json(schema("MediaView")), vec![])
        }
        ("get", "/api/media/{media_id}/file" | "/api/media/{media_id}/frames/{index}") => {
            c(Body::None, Bytes(FILES), signed_link())
        }
        ("get", "/api/media/{media_id}/thumb") => {
            c(Body::None, Bytes(&["image/jpeg"]), signed_link())
        }
        ("get", "/api/media/{media_id}/preview") => {
            c(Body::None, Bytes(&["video/mp4"]), signed_link())
        }
        ("post", "/api/collections") => c(
            j("CollectionBody"),
            Json(schema("CollectionView")),
            vec![],
        ),
        ("get", "/api/collections") => {
            let mut q = paging();
            q.push(q_bool("paged", "Answer `{items, total}` instead of an array."));
            q.push(q_uuid("company_id", "Collections of this company (ADMIN)."));
            c(Body::None, Json(array_of("CollectionView")), q)
        }
        ("get", "/api/collections/{collection_id}") => {
            c(Body::None, Json(schema("CollectionView")), vec![])
        }
        ("post", "/api/collections/{collection_id}/persons") => c(
            Body::Form("PersonUpload"),
            Json(schema("PersonView")),
            vec![],
        ),
        ("get", "/api/collections/{collection_id}/persons") => {
            c(Body::None, Json(schema("PersonPage")), paging())
        }
        ("get", "/api/collections/{collection_id}/persons/{person_id}") => {
            c(Body::None, Json(schema("PersonView")), vec![])
        }
        ("post", "/api/collections/{collection_id}/persons/{person_id}/images") => c(
            Body::Form("PersonUpload"),
            Json(array_of("PersonImageView")),
            vec![],
        ),
        ("get", "/api/collections/{collection_id}/persons/{person_id}/images") => {
            c(Body::None, Json(array_of("PersonImageView")), vec![])
        }
        (
            "get",
            "/api/collections/{collection_id}/persons/{person_id}/images/{person_image_id}",
        ) => c(Body::None, Json(schema("PersonImageView")), vec![]),
        (
            "get",
            "/api/collections/{collection_id}/persons/{person_id}/images/{person_image_id}/file",
        ) => c(Body::None, Bytes(IMAGES), vec![]),
        (
            "get",
            "/api/collections/{collection_id}/persons/{person_id}/images/{person_image_id}/thumb",
        ) => c(Body::None, Bytes(&["image/jpeg"]), vec![]),
        ("post", "/api/collections/{collection_id}/search") => c(
            Body::Form("SearchUpload"),
            any(),
            vec![
                param(
                    "threshold",
                    "Confidence a hit needs (0..1; default: the company's, else scaled with the collection's size).",
                    json!({ "type": "number", "minimum": 0, "maximum": 1 }),
                ),
                q_int("limit", "Hits to answer at most.", 10, None),
            ],
        ),
        ("get", "/api/statistics/summary") => c(Body::None, any(), stats_filters()),
        ("get", "/api/statistics/timeseries") => {
            let mut q = stats_filters();
            q.push(q_enum("interval", "Bucket size (UTC).", &["day", "week"]));
            c(Body::None, any(), q)
        }
        ("post", "/v1/face/pattern/extract") => c(Body::Raw(IMAGES), Bytes(FILES), vec![]),
        ("post", "/v1/face/liveness/detect") => c(Body::Raw(IMAGES), any(), vec![]),
        ("post", "/v1/face/pattern/compare") => c(Body::Form("LiteCompare"), any(), vec![]),
        ("post", "/v1/face/pattern/verify") => c(Body::Form("LiteVerify"), any(), vec![]),
        ("post", "/v1/face/pattern/extract_and_compare") => {
            c(Body::Form("LiteImages"), any(), vec![])
        }
        ("post", "/web-sdk/session") => c(j("WebSdkStart"), any(), vec![]),
        ("post", "/web-sdk/session/{session_id}/frame") => {
            c(Body::Form("WebSdkFrame"), any(), vec![])
        }
        ("post", "/web-sdk/session/{session_id}/capture") => {
            c(Body::Form("WebSdkCapture"), any(), vec![])
        }
        (
            "post",
            "/web-sdk/session/{session_id}/result"
            | "/web-sdk/session/{session_id}/retry"
            | "/web-sdk/session/{session_id}/handoff",
        ) => c(j("SessionKey"), any(), vec![]),
        ("post", "/web-sdk/handoff") => c(j("HandoffRedeem"), any(), vec![]),
        ("get", "/metrics") => c(Body::None, Text("text/plain"), vec![]),
        ("get", "/plugin_liveness.php" | "/web-sdk/plugin.js") => {
            c(Body::None, Text("text/javascript"), vec![])
        }
        ("get", "/web-sdk/plugin.css") => c(Body::None, Text("text/css"), vec![]),
        ("get", "/console" | "/api/docs" | "/web-sdk/continue" | "/web-sdk/demo") => {
            c(Body::None, Text("text/html"), vec![])
        }
        (
            "get",
            "/console/{path}" | "/api/docs/{file}" | "/web-sdk/continue/{file}"
            | "/web-sdk/demo/{file}",
        ) => c(Body::None, Bytes(&["text/javascript", "text/css"]), vec![]),
        ("delete", _) => c(Body::None, Empty, vec![]),
        (_, _) => c(Body::None, any(), vec![]),
    }
}

/// The resource an operation belongs to (its tag).
pub fn tag(path: &str) -> &'static str {
    let p = path;
    if p.ends_with("/meta_data") {
        "Metadata"
    } else if p.starts_with("/api/authorize/session_token")
        || p.starts_with("/web-sdk")
        || p == "/plugin_liveness.php"
    {
        "Web plugin"
    } else if p.starts_with("/api/authorize") {
        "Authorization"
    } else if p.ends_with("/settings") {
        "Settings"
    } else if p.starts_with("/api/companies") {
        "Companies"
    } else if p.starts_with("/api/users") {
        "Users"
    } else if p.starts_with("/api/analyses") || p.ends_with("/analyses") || p.ends_with("/webhooks")
    {
        "Analyses"
    } else if p.starts_with("/api/folders") {
        "Folders"
    } else if p.starts_with("/api/instant") {
        "Instant"
    } else if p.starts_with("/api/media") || p == "/api/event_sessions" {
        "Media"
    } else if p.starts_with("/api/collections") {
        "Collections"
    } else if p.starts_with("/api/statistics") {
        "Statistics"
    } else if p.starts_with("/v1/") || p == "/version" {
        "Lite"
    } else if p.starts_with("/console") {
        "Console"
    } else if p.starts_with("/api/docs") || p == "/api/openapi.json" || p == "/api/postman.json" {
        "Reference"
    } else {
        "Service"
    }
}

/// The tags in the order the reference shows them, with what each covers.
pub const TAGS: &[(&str, &str)] = &[
    ("Authorization", "Sign in, refresh, sign out: the access token every other call sends."),
    ("Folders", "Folders (orders) with their media: upload, list with filters, read, delete."),
    ("Analyses", "Start QUALITY, BIOMETRY, COLLECTION, DOCUMENTS analyses; read results; operator decisions; webhook deliveries."),
    ("Media", "A folder's media: read, tag, files, thumbnails, previews."),
    ("Metadata", "Free metadata of users, folders, media, analyses and collections."),
    ("Collections", "Collections (blacklists) of persons and their photos; 1:N search."),
    ("Instant", "Analyses of uploaded media without storing anything."),
    ("Companies", "Companies (tenants)."),
    ("Settings", "A company's thresholds and policies."),
    ("Users", "Accounts and roles."),
    ("Statistics", "Counts, pass rates and processing times."),
    ("Web plugin", "The web plugin (Oz Web SDK compatible) and its session endpoints."),
    ("Lite", "Oz API Lite: stateless face templates and liveness."),
    ("Service", "Version, configuration, health and metrics."),
    ("Console", "The operator console (HTML)."),
    ("Reference", "This document, its reference page and the Postman collection."),
];
