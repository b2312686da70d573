//! The role × endpoint matrix, generated from the OpenAPI document: every documented operation ×
//! every role × an object of the caller's own company and of another company, plus no, garbage
//! and expired tokens. The expected outcome of each cell comes from one place — the server's
//! policy function (`auth::policy::authorize`), asked about the same objects the requests name —
//! and the table below only says which resource and action each operation is. An operation
//! missing from the table fails the test, so a new route cannot skip the matrix (and
//! `every_route_is_documented` in the server keeps routes and document in step).
//!
//! Runs on SQLite and PostgreSQL.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::*;
use faceproof_server::auth::policy::{
    authorize, authorize_collection_role, list_scope, Action, AnalysisKind, Denial, Object,
    Resource, Scope,
};
use faceproof_server::auth::{Actor, Role};
use reqwest::blocking::multipart;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

/// What a path parameter set names.
#[derive(Clone, Copy, Debug, PartialEq)]
enum Target {
    Company,
    User,
    Folder,
    Media,
    Analysis,
    Collection,
    Person,
    Image,
}

#[derive(Clone, Copy, Debug)]
enum Body {
    None,
    Json(fn(&str) -> Value),
    /// A selfie as multipart (key `photo`, tagged `photo_selfie`).
    Photo,
}

#[derive(Clone, Copy, Debug)]
enum Rule {
    /// Needs no token.
    Public,
    /// The Lite API: its own key (tested in api_lite), not the token matrix.
    Lite,
    /// Ends the caller's sessions: checked with bad tokens only (api_sessions covers the rest).
    SignOut,
    /// A list: every role may ask; the answer holds only what the role may see.
    List(Resource),
    /// The policy decides `action` on the object the path names.
    On(Target, Action, Body),
    /// Creates an object of `Resource` in the company named by the body (`company_id`).
    CreateIn(Resource, Body),
    /// Creates an object in the caller's own company (folders, Instant).
    CreateOwn(Body),
}

fn rule(method: &str, path: &str) -> Option<Rule> {
    use Action::*;
    use Rule::*;
    use Target::*;
    let name = |_: &str| json!({"first_name": "Matrix"});
    Some(match (method, path) {
        ("GET", "/api/version") | ("POST", "/api/authorize/auth") => Public,
        ("GET", "/api/config") | ("GET", "/api/event_sessions") => Public,
        ("POST", "/api/authorize/refresh") | ("GET", "/api/openapi.json") => Public,
        ("GET", "/api/postman.json") => Public,
        ("GET", "/api/docs") | ("GET", "/api/docs/{file}") => Public,
        // The web plugin's own calls carry the session token or key, not an access token
        // (api_web_sdk tests them); minting a session token is creating a folder's worth.
        ("GET", "/plugin_liveness.php") => Public,
        (_, p) if p.starts_with("/web-sdk/") => Public,
        ("GET", "/api/authorize/session_token") => CreateOwn(Body::None),
        ("GET", "/console") | ("GET", "/console/{path}") => Public,
        ("GET", "/health/live") | ("GET", "/health/ready") | ("GET", "/metrics") => Public,
        ("GET", "/api/statistics/summary") | ("GET", "/api/statistics/timeseries") => {
            List(Resource::Folder)
        }
        ("POST", "/api/authorize/logout") | ("POST", "/api/authorize/logout_all") => SignOut,
        (_, p) if p == "/version" || p.starts_with("/v1/") => Lite,

        ("GET", "/api/companies") => List(Resource::Company),
        ("POST", "/api/companies") => {
            CreateIn(Resource::Company, Body::Json(|_| json!({"name": "m"})))
        }
        ("GET", "/api/companies/{company_id}") => On(Company, Read, Body::None),
        ("PATCH", "/api/companies/{company_id}") => On(
            Company,
            Update,
            Body::Json(|_| json!({"meta_data": {"k": 1}})),
        ),
        ("DELETE", "/api/companies/{company_id}") => On(Company, Delete, Body::None),
        ("GET", "/api/companies/{company_id}/settings") => On(Company, Configure, Body::None),
        ("PATCH", "/api/companies/{company_id}/settings") => {
            On(Company, Configure, Body::Json(|_| json!({})))
        }

        ("GET", "/api/users") | ("GET", "/api/users/me") => List(Resource::User),
        ("POST", "/api/users") => CreateIn(
            Resource::User,
            Body::Json(|company| {
                json!({"email": format!("{}@matrix.test", Uuid::new_v4()), "password": "password-123",
                   "user_type": "CLIENT", "company_id": company})
            }),
        ),
        ("GET", "/api/users/{user_id}") => On(User, Read, Body::None),
        ("PATCH", "/api/users/{user_id}") => On(User, Update, Body::Json(name)),
        ("DELETE", "/api/users/{user_id}") => On(User, Delete, Body::None),

        ("GET", "/api/folders") => List(Resource::Folder),
        ("POST", "/api/folders") | ("POST", "/api/instant/folders") => CreateOwn(Body::Photo),
        ("GET", "/api/folders/{folder_id}") => On(Folder, Read, Body::None),
        ("GET", "/api/folders/{folder_id}/report.pdf") => On(Folder, Read, Body::None),
        ("DELETE", "/api/folders/{folder_id}") => On(Folder, Delete, Body::None),
        ("POST", "/api/folders/{folder_id}/media") => On(Folder, Update, Body::Photo),
        ("GET", "/api/folders/{folder_id}/media") => On(Folder, Read, Body::None),
        ("DELETE", "/api/folders/{folder_id}/media/{media_id}") => On(Media, Delete, Body::None),
        ("GET", "/api/folders/{folder_id}/analyses") => On(Folder, Read, Body::None),
        ("POST", "/api/folders/{folder_id}/analyses") => On(
            Folder,
            StartAnalysis(AnalysisKind::Quality),
            Body::Json(|_| json!({"analyses": [{"type": "quality"}]})),
        ),
        ("GET", "/api/folders/{folder_id}/webhooks") => On(Folder, Read, Body::None),
        ("GET", "/api/analyses/{analysis_id}") => On(Analysis, Read, Body::None),
        ("PATCH", "/api/analyses/{analysis_id}") => On(
            Analysis,
            Decide,
            Body::Json(|_| json!({"resolution_status": "SUCCESS", "comment": "matrix"})),
        ),
        ("GET", "/api/media/{media_id}")
        | ("GET", "/api/media/{media_id}/file")
        | ("GET", "/api/media/{media_id}/thumb")
        | ("GET", "/api/media/{media_id}/preview")
        | ("GET", "/api/media/{media_id}/frames/{index}") => On(Media, Read, Body::None),
        ("PATCH", "/api/media/{media_id}") => On(
            Media,
            Update,
            Body::Json(|_| json!({"meta_data": {"k": 1}})),
        ),
        ("DELETE", "/api/media/{media_id}") => On(Media, Delete, Body::None),

        (m, p) if p.ends_with("/meta_data") => {
            let target = match p.split('/').nth(2) {
                Some("users") => User,
                Some("folders") => Folder,
                Some("media") => Media,
                Some("analyses") => Analysis,
                Some("collections") => Collection,
                _ => return None,
            };
            match m {
                "GET" => On(target, Read, Body::None),
                "DELETE" => On(target, Update, Body::None),
                _ => On(target, Update, Body::Json(|_| json!({"matrix": true}))),
            }
        }

        ("GET", "/api/collections") => List(Resource::Collection),
        ("POST", "/api/collections") => CreateIn(
            Resource::Collection,
            Body::Json(|company| json!({"alias": "m", "company_id": company})),
        ),
        ("GET", "/api/collections/{collection_id}") => On(Collection, Read, Body::None),
        ("DELETE", "/api/collections/{collection_id}") => On(Collection, Delete, Body::None),
        ("POST", "/api/collections/{collection_id}/persons") => On(Collection, Update, Body::Photo),
        ("GET", "/api/collections/{collection_id}/persons") => On(Collection, Read, Body::None),
        ("POST", "/api/collections/{collection_id}/search") => On(Collection, Read, Body::Photo),
        ("GET", "/api/collections/{collection_id}/persons/{person_id}") => {
            On(Person, Read, Body::None)
        }
        ("DELETE", "/api/collections/{collection_id}/persons/{person_id}") => {
            On(Person, Delete, Body::None)
        }
        ("POST", "/api/collections/{collection_id}/persons/{person_id}/images") => {
            On(Person, Update, Body::Photo)
        }
        ("GET", "/api/collections/{collection_id}/persons/{person_id}/images") => {
            On(Person, Read, Body::None)
        }
        (
            "GET",
            "/api/collections/{collection_id}/persons/{person_id}/images/{person_image_id}",
        )
        | (
            "GET",
            "/api/collections/{collection_id}/persons/{person_id}/images/{person_image_id}/file",
        )
        | (
            "GET",
            "/api/collections/{collection_id}/persons/{person_id}/images/{person_image_id}/thumb",
        ) => On(Image, Read, Body::None),
        (
            "DELETE",
            "/api/collections/{collection_id}/persons/{person_id}/images/{person_image_id}",
        ) => On(Image, Delete, Body::None),
        _ => return None,
    })
}

/// The objects of one company the requests name.
#[derive(Clone, Debug)]
struct Fixture {
    company: String,
    owner: String,
    user: String,
    folder: String,
    media: String,
    analysis: String,
    collection: String,
    person: String,
    image: String,
}

struct World<'a> {
    s: &'a Server,
    photo: &'a Path,
    root: String,
    /// CLIENT ADMIN token per company (enrols persons).
    admins: BTreeMap<String, String>,
    /// CLIENT token per company (owns the folders).
    owners: BTreeMap<String, String>,
}

impl World<'_> {
    fn send(
        &self,
        method: &Method,
        path: &str,
        token: Option<&str>,
        body: Body,
        company: &str,
    ) -> (u16, Value) {
        let mut r = self.s.req(method.clone(), path, token);
        match body {
            Body::None => {}
            Body::Json(f) => r = r.json(&f(company)),
            Body::Photo => {
                let form = multipart::Form::new()
                    .part(
                        "photo",
                        multipart::Part::bytes(std::fs::read(self.photo).unwrap())
                            .file_name("selfie.jpg"),
                    )
                    .text(
                        "payload",
                        json!({"media:tags": {"photo": ["photo_selfie"]}}).to_string(),
                    );
                r = r.multipart(form);
            }
        }
        let resp = r.send().unwrap();
        let status = resp.status().as_u16();
        (status, resp.json().unwrap_or(Value::Null))
    }

    fn upload(&self, path: &str, token: &str) -> Value {
        let (st, v) = self.send(&Method::POST, path, Some(token), Body::Photo, "");
        assert_eq!(st, 201, "{path}: {v}");
        v
    }

    fn folder(&self, company: &str) -> (String, String) {
        let v = self.upload("/api/folders/", &self.owners[company]);
        (
            v["folder_id"].as_str().unwrap().to_string(),
            v["media"][0]["media_id"].as_str().unwrap().to_string(),
        )
    }

    fn person(&self, company: &str, collection: &str) -> (String, String) {
        let v = self.upload(
            &format!("/api/collections/{collection}/persons/"),
            &self.admins[company],
        );
        let person = v["person_id"].as_str().unwrap().to_string();
        let image = v["images"][0]["person_image_id"]
            .as_str()
            .unwrap_or_else(|| panic!("an image id in {v}"))
            .to_string();
        (person, image)
    }

    fn collection(&self, company: &str) -> String {
        let (st, v) = self.s.call(
            Method::POST,
            "/api/collections/",
            Some(&self.root),
            Some(json!({"alias": "matrix", "company_id": company})),
        );
        assert_eq!(st, 201, "{v}");
        v["collection_id"].as_str().unwrap().to_string()
    }

    fn fixture(&self, company: &str, owner: &str) -> Fixture {
        let (folder, media) = self.folder(company);
        let (st, v) = self.s.call(
            Method::POST,
            &format!("/api/folders/{folder}/analyses/"),
            Some(&self.owners[company]),
            Some(json!({"analyses": [{"type": "quality"}]})),
        );
        assert_eq!(st, 201, "{v}");
        let analysis = v[0]["analysis_id"]
            .as_str()
            .or(v["analysis_id"].as_str())
            .unwrap_or_else(|| panic!("analysis id in {v}"))
            .to_string();
        let collection = self.collection(company);
        let (person, image) = self.person(company, &collection);
        let (user, _) = self.s.user(
            &self.root,
            &format!("{}@matrix.test", Uuid::new_v4()),
            "CLIENT",
            Some(company),
        );
        Fixture {
            company: company.into(),
            owner: owner.into(),
            user,
            folder,
            media,
            analysis,
            collection,
            person,
            image,
        }
    }

    /// Objects for a destructive call: made anew, so each cell acts on its own.
    fn fresh(&self, base: &Fixture, target: Target) -> Fixture {
        let mut f = base.clone();
        let c = &base.company;
        match target {
            Target::Company => f.company = self.s.company(&self.root, "disposable"),
            Target::User => {
                f.user = self
                    .s
                    .user(
                        &self.root,
                        &format!("{}@matrix.test", Uuid::new_v4()),
                        "CLIENT",
                        Some(c),
                    )
                    .0
            }
            Target::Folder | Target::Media => (f.folder, f.media) = self.folder(c),
            Target::Collection => f.collection = self.collection(c),
            Target::Person | Target::Image => {
                (f.person, f.image) = self.person(c, &base.collection)
            }
            Target::Analysis => {}
        }
        f
    }
}

fn fill(path: &str, f: &Fixture) -> String {
    path.replace("{company_id}", &f.company)
        .replace("{user_id}", &f.user)
        .replace("{folder_id}", &f.folder)
        .replace("{media_id}", &f.media)
        .replace("{analysis_id}", &f.analysis)
        .replace("{collection_id}", &f.collection)
        .replace("{person_id}", &f.person)
        .replace("{person_image_id}", &f.image)
}

fn uuid(s: &str) -> Uuid {
    s.parse().unwrap()
}

/// The object the policy is asked about, as the handlers describe it.
fn object(target: Target, f: &Fixture) -> Object {
    let company = Some(uuid(&f.company));
    match target {
        Target::Company => Object::company(uuid(&f.company)),
        Target::User => Object::user(uuid(&f.user), company, Role::Client),
        Target::Folder | Target::Media | Target::Analysis => {
            Object::folder(company, Some(uuid(&f.owner)))
        }
        Target::Collection | Target::Person | Target::Image => Object::collection(company),
    }
}

#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Outcome {
    Allowed,
    Forbidden,
    Hidden,
}

fn expected(actor: &Actor, target: Target, action: Action, f: &Fixture) -> Outcome {
    if matches!(target, Target::Collection | Target::Person | Target::Image) {
        if let Err(d) = authorize_collection_role(actor, action) {
            return from(Err(d));
        }
    }
    from(authorize(actor, action, &object(target, f)))
}

fn from(r: Result<(), Denial>) -> Outcome {
    match r {
        Ok(()) => Outcome::Allowed,
        Err(Denial::Forbidden) => Outcome::Forbidden,
        Err(Denial::Hidden) => Outcome::Hidden,
    }
}

fn observed(status: u16, body: &Value) -> Result<Outcome, String> {
    match (status, body["error_code"].as_i64()) {
        (401, _) => Err(format!("401 for a valid token: {body}")),
        (403, Some(9)) => Ok(Outcome::Forbidden),
        // The policy's "unknown object" answer; other 404s (a photo has no preview) come after
        // the access check passed.
        (404, Some(10)) if body["error_message"] == "Object not found" => Ok(Outcome::Hidden),
        (500..=599, _) if status != 501 => Err(format!("server error {status}: {body}")),
        _ => Ok(Outcome::Allowed),
    }
}

struct Who {
    role: Role,
    token: String,
    actor: Actor,
}

fn matrix(backend: Backend) {
    let Some(data) = shared_data() else { return };
    let photo = photos(&data, 1).remove(0);
    on(backend, &[], |s| {
        let root = s.admin();
        let a = s.company(&root, "Own Co");
        let b = s.company(&root, "Other Co");
        let mut world = World {
            s,
            photo: &photo,
            root: root.clone(),
            admins: BTreeMap::new(),
            owners: BTreeMap::new(),
        };
        let mut owners = BTreeMap::new();
        for c in [&a, &b] {
            let (_, admin) = s.user(&root, &format!("admin@{c}.test"), "CLIENT ADMIN", Some(c));
            let (owner_id, owner) = s.user(&root, &format!("owner@{c}.test"), "CLIENT", Some(c));
            world.admins.insert(c.clone(), admin);
            world.owners.insert(c.clone(), owner);
            owners.insert(c.clone(), owner_id);
        }
        let own = world.fixture(&a, &owners[&a]);
        let other = world.fixture(&b, &owners[&b]);

        // The callers: ADMIN, OPERATOR and every client role of company A (its CLIENT owns
        // A's folder, so "own" and "colleague's" objects both occur).
        let me = |token: &str| s.call(Method::GET, "/api/users/me", Some(token), None).1;
        let (_, operator) = s.user(&root, "operator@matrix.test", "OPERATOR", None);
        let mut callers = vec![(Role::Admin, root.clone()), (Role::Operator, operator)];
        callers.push((Role::ClientAdmin, world.admins[&a].clone()));
        callers.push((Role::Client, world.owners[&a].clone()));
        for role in ["CLIENT OPERATOR", "CLIENT SERVICE"] {
            let (_, t) = s.user(
                &root,
                &format!("{}@matrix.test", Uuid::new_v4()),
                role,
                Some(&a),
            );
            callers.push((Role::parse(role).unwrap(), t));
        }
        let callers: Vec<Who> = callers
            .into_iter()
            .map(|(role, token)| {
                let u = me(&token);
                Who {
                    role,
                    actor: Actor {
                        user_id: uuid(u["user_id"].as_str().unwrap()),
                        company_id: u["company_id"].as_str().map(uuid),
                        role,
                        session_id: Uuid::nil(),
                    },
                    token,
                }
            })
            .collect();
        let expired = s.login(&format!("owner@{a}.test"), "password-123");
        s.expire_token(&expired);

        let (_, doc) = s.call(Method::GET, "/api/openapi.json", None, None);
        let mut operations = Vec::new();
        for (path, item) in doc["paths"].as_object().unwrap() {
            for method in item.as_object().unwrap().keys() {
                operations.push((method.to_uppercase(), path.clone()));
            }
        }
        // Destructive calls last, so the shared fixtures live through the rest.
        operations.sort_by_key(|(m, p)| (m == "DELETE", p.clone()));
        assert!(operations.len() >= 70, "{} operations", operations.len());

        let mut failures = Vec::new();
        let mut cells = 0;
        for (method, path) in &operations {
            let Some(rule) = rule(method, path) else {
                failures.push(format!("{method} {path}: no entry in the matrix table"));
                continue;
            };
            let m = Method::from_bytes(method.as_bytes()).unwrap();
            let body_of = |r: Rule| match r {
                Rule::On(_, _, b) | Rule::CreateIn(_, b) | Rule::CreateOwn(b) => b,
                _ => Body::None,
            };
            // Tokens: none, garbage, expired — before any role, on the shared fixture.
            if !matches!(rule, Rule::Public | Rule::Lite) {
                let url = fill(path, &own);
                for (token, code) in [
                    (None, 6),
                    (Some("garbage-token"), 7),
                    (Some(expired.as_str()), 8),
                ] {
                    let (st, v) = world.send(&m, &url, token, body_of(rule), &a);
                    cells += 1;
                    if (st, v["error_code"].as_i64()) != (401, Some(code)) {
                        failures.push(format!(
                            "{method} {path} with token {token:?}: {st} {v}, expected 401/{code}"
                        ));
                    }
                }
            }
            for who in &callers {
                for (variant, f) in [("own", &own), ("other", &other)] {
                    let (expect, url, company) = match rule {
                        Rule::Public | Rule::Lite | Rule::SignOut => continue,
                        Rule::List(resource) => {
                            if variant == "other" {
                                continue;
                            }
                            let scope = list_scope(&who.actor, resource);
                            let expect = match (resource, scope) {
                                (Resource::Collection, Scope::Own(_) | Scope::Nothing) => {
                                    Outcome::Forbidden
                                }
                                _ => Outcome::Allowed,
                            };
                            (expect, path.clone(), f.company.clone())
                        }
                        Rule::CreateOwn(_) => {
                            if variant == "other" {
                                continue;
                            }
                            let o = Object::folder(who.actor.company_id, Some(who.actor.user_id));
                            (
                                from(authorize(&who.actor, Action::Create, &o)),
                                path.clone(),
                                String::new(),
                            )
                        }
                        Rule::CreateIn(resource, _) => {
                            let company = Some(uuid(&f.company));
                            let o = match resource {
                                Resource::User => Object::user(Uuid::nil(), company, Role::Client),
                                Resource::Collection => Object::collection(company),
                                _ => Object::company(Uuid::new_v4()),
                            };
                            (
                                from(authorize(&who.actor, Action::Create, &o)),
                                path.clone(),
                                f.company.clone(),
                            )
                        }
                        Rule::On(target, action, _) => {
                            let f = if action == Action::Delete {
                                world.fresh(f, target)
                            } else {
                                f.clone()
                            };
                            (
                                expected(&who.actor, target, action, &f),
                                fill(path, &f),
                                f.company.clone(),
                            )
                        }
                    };
                    let (st, v) = world.send(&m, &url, Some(&who.token), body_of(rule), &company);
                    cells += 1;
                    match observed(st, &v) {
                        Err(e) => failures.push(format!("{method} {path} as {:?} ({variant}): {e}", who.role)),
                        Ok(got) if got != expect => failures.push(format!(
                            "{method} {path} as {:?} ({variant}): got {got:?} ({st} {v}), policy says {expect:?}",
                            who.role
                        )),
                        Ok(_) => {}
                    }
                    // Lists never show another company's objects to a client role.
                    if matches!(rule, Rule::List(_)) && who.actor.company_id.is_some() {
                        let text = v.to_string();
                        for id in [
                            &other.company,
                            &other.folder,
                            &other.user,
                            &other.collection,
                        ] {
                            if text.contains(id.as_str()) {
                                failures.push(format!(
                                    "{method} {path} as {:?} shows {id} of another company",
                                    who.role
                                ));
                            }
                        }
                    }
                }
            }
        }
        eprintln!(
            "role matrix: {} operations, {cells} cells checked",
            operations.len()
        );
        assert!(
            failures.is_empty(),
            "{} cells disagree with the policy:\n{}",
            failures.len(),
            failures.join("\n")
        );
    });
}

#[test]
fn role_matrix_sqlite() {
    matrix(Backend::Sqlite);
}

#[test]
fn role_matrix_postgres() {
    matrix(Backend::Postgres);
}
