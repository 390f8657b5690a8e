//! Resource requests: what a URL and method mean to the API server (its
//! RequestInfoFactory), and the answers to get, list, create, update, patch and delete.

use super::patch::{json_patch, merge_patch};
use super::resources::{self, Generation, ResourceType};
use super::selector::{self, FieldTerm, Requirement};
use super::store::Store;
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// A request as the API server's authorizer and the test's hook see it.
#[derive(Clone, Debug)]
pub struct ApiRequest {
    pub method: String,
    /// Percent-decoded.
    pub path: String,
    pub query: BTreeMap<String, String>,
    /// The authorization verb: `get`, `list`, `watch`, `create`, `update`, `patch`,
    /// `delete`, `deletecollection`; for a non-resource request (discovery, `/version`)
    /// the lower-case method.
    pub verb: String,
    /// False for discovery, `/version` and other non-resource paths.
    pub is_resource: bool,
    pub group: String,
    pub version: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    /// The object's name; for a list or watch with `fieldSelector=metadata.name=x`, `x`
    /// (the API server authorizes such a request as one for that name).
    pub name: String,
    /// Without parameters (`application/merge-patch+json`).
    pub content_type: String,
    pub body: Vec<u8>,
    /// `system:serviceaccount:<ns>:<sa>`, or empty when not authenticated.
    pub user: String,
    pub allowed: bool,
}

impl ApiRequest {
    /// Parses the method and path the way k8s.io/apiserver/pkg/endpoints/request's
    /// RequestInfoFactory does.
    pub fn new(
        method: &str,
        path: &str,
        query: BTreeMap<String, String>,
        content_type: &str,
        body: Vec<u8>,
    ) -> Self {
        let mut r = ApiRequest {
            method: method.to_string(),
            path: path.to_string(),
            query,
            verb: method.to_ascii_lowercase(),
            is_resource: false,
            group: String::new(),
            version: String::new(),
            resource: String::new(),
            subresource: String::new(),
            namespace: String::new(),
            name: String::new(),
            content_type: content_type
                .split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_string(),
            body,
            user: String::new(),
            allowed: true,
        };
        let parts: Vec<&str> = path.trim_matches('/').split('/').collect();
        let mut rest: &[&str] = match parts.as_slice() {
            ["api", version, rest @ ..] if !rest.is_empty() => {
                r.version = version.to_string();
                rest
            }
            ["apis", group, version, rest @ ..] if !rest.is_empty() => {
                r.group = group.to_string();
                r.version = version.to_string();
                rest
            }
            _ => return r,
        };
        r.is_resource = true;
        if rest.first() == Some(&"watch") && rest.len() >= 2 {
            r.verb = "watch".into();
            rest = &rest[1..];
        } else {
            r.verb = match method {
                "POST" => "create",
                "GET" | "HEAD" => "get",
                "PUT" => "update",
                "PATCH" => "patch",
                "DELETE" => "delete",
                _ => "",
            }
            .into();
        }
        if rest.first() == Some(&"namespaces") && rest.len() > 1 {
            r.namespace = rest[1].to_string();
            if rest.len() > 2 && rest[2] != "status" && rest[2] != "finalize" {
                rest = &rest[2..];
            }
        }
        if let Some(res) = rest.first() {
            r.resource = res.to_string();
        }
        if let Some(name) = rest.get(1) {
            r.name = name.to_string();
        }
        if let Some(sub) = rest.get(2) {
            r.subresource = sub.to_string();
        }
        if r.name.is_empty() && r.verb == "get" {
            let watch = r
                .query
                .get("watch")
                .is_some_and(|w| !matches!(w.to_ascii_lowercase().as_str(), "false" | "0" | ""));
            r.verb = if watch { "watch" } else { "list" }.into();
            if let Some(fs) = r.query.get("fieldSelector")
                && let Ok(terms) = selector::parse_fields(fs)
                && let Some(name) = selector::exact_name(&terms)
                && !name.is_empty()
                && !name.contains('/')
                && name != "."
                && name != ".."
            {
                r.name = name.to_string();
            }
        }
        if r.name.is_empty() && r.verb == "delete" {
            r.verb = "deletecollection".into();
        }
        r
    }

    /// `verb` on `resource` (plural, e.g. `rollouts`) named `name` (`""`: any name).
    pub fn is(&self, verb: &str, resource: &str, name: &str) -> bool {
        self.verb == verb
            && self.resource == resource
            && self.subresource.is_empty()
            && (name.is_empty() || self.name == name)
    }
}

/// An answer: a status and a JSON body.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

/// A `Status` with `status: Failure`, as the API server writes errors.
pub fn status_error(code: u16, reason: &str, message: &str, details: Option<Value>) -> Reply {
    let mut body = json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    });
    if let Some(d) = details {
        body["details"] = d;
    }
    Reply { status: code, body }
}

fn details(rt: &ResourceType, name: &str) -> Value {
    let mut d = json!({"name": name, "kind": rt.resource});
    if !rt.group.is_empty() {
        d["group"] = json!(rt.group);
    }
    d
}

pub fn not_found(rt: &ResourceType, name: &str) -> Reply {
    status_error(
        404,
        "NotFound",
        &format!("{} {name:?} not found", rt.qualified()),
        Some(details(rt, name)),
    )
}

fn bad_request(message: &str) -> Reply {
    status_error(400, "BadRequest", message, None)
}

fn conflict(rt: &ResourceType, name: &str) -> Reply {
    status_error(
        409,
        "Conflict",
        &format!(
            "Operation cannot be fulfilled on {} {name:?}: the object has been modified; please apply your changes to the latest version and try again",
            rt.qualified()
        ),
        Some(details(rt, name)),
    )
}

/// What a list or watch selects.
pub struct Selection {
    pub labels: Vec<Requirement>,
    pub fields: Vec<FieldTerm>,
}

impl Selection {
    pub fn from_query(query: &BTreeMap<String, String>) -> Result<Self, Reply> {
        let labels = selector::parse_labels(query.get("labelSelector").map_or("", String::as_str))
            .map_err(|e| bad_request(&e))?;
        let fields = selector::parse_fields(query.get("fieldSelector").map_or("", String::as_str))
            .map_err(|e| bad_request(&e))?;
        Ok(Selection { labels, fields })
    }

    pub fn matches(&self, obj: &Value) -> bool {
        selector::labels_match(&self.labels, obj) && selector::fields_match(&self.fields, obj)
    }
}

fn parse_body(req: &ApiRequest) -> Result<Value, Reply> {
    if req.content_type == "application/vnd.kubernetes.protobuf" {
        // kubectl's typed clients (`create configmap`, `create job`) send protobuf; the
        // fake speaks JSON only, as a custom resource's endpoint does.
        return Err(status_error(
            415,
            "UnsupportedMediaType",
            "the body of the request was in an unknown format - accepted media types include: application/json, application/yaml",
            None,
        ));
    }
    serde_json::from_slice(&req.body).map_err(|e| {
        bad_request(&format!(
            "the object provided is unrecognized or could not be decoded: {e}"
        ))
    })
}

/// Answers a resource request other than watch.
pub fn handle(req: &ApiRequest, rt: &'static ResourceType, store: &mut Store) -> Reply {
    match req.subresource.as_str() {
        "" => {}
        "status" if rt.status => {}
        _ => return not_found(rt, &req.name),
    }
    if !rt.namespaced {
        return namespaces(req, rt, store);
    }
    if req.namespace.is_empty() && req.verb != "list" {
        return status_error(
            404,
            "NotFound",
            "the server could not find the requested resource",
            None,
        );
    }
    match req.verb.as_str() {
        "get" => match store.get_typed(rt, &req.namespace, &req.name) {
            Some(obj) => Reply {
                status: 200,
                body: obj.clone(),
            },
            None => not_found(rt, &req.name),
        },
        "list" => list(req, rt, store),
        "create" if req.subresource.is_empty() => create(req, rt, store),
        "update" => parse_body(req)
            .and_then(|body| replace(req, rt, store, |_| Ok(body.clone())))
            .unwrap_or_else(|e| e),
        "patch" => patch(req, rt, store),
        "delete" if req.subresource.is_empty() => delete(req, rt, store),
        "deletecollection" => delete_collection(req, rt, store),
        _ => status_error(
            405,
            "MethodNotAllowed",
            "the server does not allow this method on the requested resource",
            None,
        ),
    }
}

/// Namespaces exist where objects are, plus `default`, `kube-system`, `kube-public` and
/// the ServiceAccount's; they are read-only.
fn namespaces(req: &ApiRequest, rt: &'static ResourceType, store: &Store) -> Reply {
    let mut names = store.namespaces();
    for ns in [
        "default",
        "kube-system",
        "kube-public",
        req.user.split(':').nth(2).unwrap_or(""),
    ] {
        if !ns.is_empty() {
            names.insert(ns.to_string());
        }
    }
    let object = |name: &str| {
        json!({"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {"kubernetes.io/metadata.name": name}},
            "spec": {"finalizers": ["kubernetes"]}, "status": {"phase": "Active"}})
    };
    match req.verb.as_str() {
        "get" if names.contains(&req.name) => Reply {
            status: 200,
            body: object(&req.name),
        },
        "get" => not_found(rt, &req.name),
        "list" => Reply {
            status: 200,
            body: json!({"kind": "NamespaceList", "apiVersion": "v1",
                "metadata": {"resourceVersion": store.revision().to_string()},
                "items": names.iter().map(|n| object(n)).collect::<Vec<_>>()}),
        },
        _ => status_error(
            405,
            "MethodNotAllowed",
            "the fake API server serves namespaces read-only",
            None,
        ),
    }
}

fn list(req: &ApiRequest, rt: &'static ResourceType, store: &Store) -> Reply {
    let selection = match Selection::from_query(&req.query) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let items: Vec<Value> = store
        .list_typed(rt, &req.namespace)
        .into_iter()
        .filter(|o| selection.matches(o))
        .cloned()
        .collect();
    Reply {
        status: 200,
        body: json!({
            "kind": format!("{}List", rt.kind),
            "apiVersion": rt.api_version(),
            "metadata": {"resourceVersion": store.revision().to_string()},
            "items": items,
        }),
    }
}

fn create(req: &ApiRequest, rt: &'static ResourceType, store: &mut Store) -> Reply {
    let mut obj = match parse_body(req) {
        Ok(v) if v.is_object() => v,
        Ok(_) => return bad_request("the object provided is not a JSON object"),
        Err(e) => return e,
    };
    obj["apiVersion"] = json!(rt.api_version());
    obj["kind"] = json!(rt.kind);
    if !obj["metadata"].is_object() {
        obj["metadata"] = json!({});
    }
    match obj["metadata"]["namespace"].as_str() {
        Some(ns) if ns != req.namespace => {
            return bad_request(
                "the namespace of the provided object does not match the namespace sent on the request",
            );
        }
        _ => obj["metadata"]["namespace"] = json!(req.namespace),
    }
    let name = match (
        obj["metadata"]["name"].as_str(),
        obj["metadata"]["generateName"].as_str(),
    ) {
        (Some(n), _) if !n.is_empty() => n.to_string(),
        (_, Some(prefix)) if !prefix.is_empty() => {
            // Five characters from the API server's alphabet (no vowels), from the
            // revision so that names are stable within a test.
            const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
            let mut n = store.revision() + 7919;
            let suffix: String = (0..5)
                .map(|_| {
                    let c = ALPHABET[(n % ALPHABET.len() as u64) as usize] as char;
                    n = n / ALPHABET.len() as u64 + 31;
                    c
                })
                .collect();
            format!("{prefix}{suffix}")
        }
        _ => {
            return status_error(
                422,
                "Invalid",
                &format!(
                    "{}.{} \"\" is invalid: metadata.name: Required value: name or generateName is required",
                    rt.kind, rt.group
                ),
                None,
            );
        }
    };
    obj["metadata"]["name"] = json!(name);
    if store.get_typed(rt, &req.namespace, &name).is_some() {
        return status_error(
            409,
            "AlreadyExists",
            &format!("{} {name:?} already exists", rt.qualified()),
            Some(details(rt, &name)),
        );
    }
    if let Some(m) = obj["metadata"].as_object_mut() {
        for server_field in ["uid", "resourceVersion", "generation", "creationTimestamp"] {
            m.remove(server_field);
        }
    }
    if rt.status
        && let Some(m) = obj.as_object_mut()
    {
        m.remove("status");
    }
    store.fill_create_fields(rt, &mut obj);
    match store.write(rt, &req.namespace, &name, Some(obj)) {
        Some(stored) => Reply {
            status: 201,
            body: stored,
        },
        None => status_error(500, "InternalError", "the object was not stored", None),
    }
}

/// Update (PUT) and patch: `change` computes the object the client asks for from the
/// stored one; the subresource rules, the server-managed fields and the generation rule
/// then decide what is stored.
fn replace(
    req: &ApiRequest,
    rt: &'static ResourceType,
    store: &mut Store,
    change: impl FnOnce(&Value) -> Result<Value, Reply>,
) -> Result<Reply, Reply> {
    let old = store
        .get_typed(rt, &req.namespace, &req.name)
        .cloned()
        .ok_or_else(|| not_found(rt, &req.name))?;
    let asked = change(&old)?;
    if !asked.is_object() {
        return Err(bad_request("the object provided is not a JSON object"));
    }
    if let Some(name) = asked["metadata"]["name"].as_str()
        && name != req.name
    {
        return Err(bad_request(&format!(
            "the name of the object ({name}) does not match the name on the URL ({})",
            req.name
        )));
    }
    if let Some(rv) = asked["metadata"]["resourceVersion"].as_str()
        && !rv.is_empty()
        && Some(rv) != old["metadata"]["resourceVersion"].as_str()
    {
        return Err(conflict(rt, &req.name));
    }
    let mut new = if req.subresource == "status" {
        // The status subresource takes the status and nothing else.
        let mut n = old.clone();
        match asked.get("status") {
            Some(s) => n["status"] = s.clone(),
            None => {
                if let Some(m) = n.as_object_mut() {
                    m.remove("status");
                }
            }
        }
        n
    } else {
        let mut n = asked;
        if rt.status {
            // The main resource keeps the stored status.
            match old.get("status") {
                Some(s) => n["status"] = s.clone(),
                None => {
                    if let Some(m) = n.as_object_mut() {
                        m.remove("status");
                    }
                }
            }
        }
        n
    };
    new["apiVersion"] = json!(rt.api_version());
    new["kind"] = json!(rt.kind);
    for field in [
        "name",
        "namespace",
        "uid",
        "creationTimestamp",
        "generation",
    ] {
        match old["metadata"].get(field) {
            Some(v) => new["metadata"][field] = v.clone(),
            None => {
                if let Some(m) = new["metadata"].as_object_mut() {
                    m.remove(field);
                }
            }
        }
    }
    if req.subresource.is_empty() && bumps_generation(rt.generation, &old, &new) {
        let g = old["metadata"]["generation"].as_u64().unwrap_or(0);
        new["metadata"]["generation"] = json!(g + 1);
    }
    new["metadata"]["resourceVersion"] = old["metadata"]["resourceVersion"].clone();
    let stored = store
        .write(rt, &req.namespace, &req.name, Some(new))
        .unwrap_or(Value::Null);
    Ok(Reply {
        status: 200,
        body: stored,
    })
}

fn bumps_generation(rule: Generation, old: &Value, new: &Value) -> bool {
    let field = |v: &Value, f: &str| v.get(f).cloned().unwrap_or(Value::Null);
    match rule {
        Generation::None => false,
        Generation::Spec => field(old, "spec") != field(new, "spec"),
        Generation::SpecOrAnnotations => {
            field(old, "spec") != field(new, "spec")
                || old["metadata"].get("annotations") != new["metadata"].get("annotations")
        }
        Generation::NotMetadata => {
            let strip = |v: &Value| {
                let mut v = v.clone();
                if let Some(m) = v.as_object_mut() {
                    m.remove("metadata");
                }
                v
            };
            strip(old) != strip(new)
        }
    }
}

fn patch(req: &ApiRequest, rt: &'static ResourceType, store: &mut Store) -> Reply {
    let patch_type = req.content_type.as_str();
    if !rt.patch_types().contains(&patch_type) {
        return status_error(
            415,
            "UnsupportedMediaType",
            &format!(
                "the body of the request was in an unknown format - accepted media types include: {}",
                rt.patch_types().join(", ")
            ),
            None,
        );
    }
    if patch_type == "application/apply-patch+yaml" {
        return status_error(
            415,
            "UnsupportedMediaType",
            "server-side apply is not implemented by the fake API server",
            None,
        );
    }
    let body = match parse_body(req) {
        Ok(b) => b,
        Err(e) => return e,
    };
    let result = replace(req, rt, store, |old| {
        if patch_type == "application/json-patch+json" {
            json_patch(old, &body).map_err(|e| {
                status_error(
                    422,
                    "Invalid",
                    &format!("the server rejected our request due to an error in our request: {e}"),
                    None,
                )
            })
        } else {
            // Merge patch; a strategic merge patch is read as one (see the module docs).
            if !body.is_object() {
                return Err(bad_request("a merge patch must be a JSON object"));
            }
            let mut new = old.clone();
            merge_patch(&mut new, &body);
            Ok(new)
        }
    });
    result.unwrap_or_else(|e| e)
}

fn delete(req: &ApiRequest, rt: &'static ResourceType, store: &mut Store) -> Reply {
    match store.remove(rt, &req.namespace, &req.name) {
        Some(old) => {
            let mut d = details(rt, &req.name);
            d["uid"] = old["metadata"]["uid"].clone();
            Reply {
                status: 200,
                body: json!({"kind": "Status", "apiVersion": "v1", "metadata": {},
                    "status": "Success", "details": d}),
            }
        }
        None => not_found(rt, &req.name),
    }
}

fn delete_collection(req: &ApiRequest, rt: &'static ResourceType, store: &mut Store) -> Reply {
    let selection = match Selection::from_query(&req.query) {
        Ok(s) => s,
        Err(e) => return e,
    };
    let names: Vec<String> = store
        .list_typed(rt, &req.namespace)
        .into_iter()
        .filter(|o| selection.matches(o))
        .filter_map(|o| o["metadata"]["name"].as_str().map(str::to_string))
        .collect();
    let items: Vec<Value> = names
        .iter()
        .filter_map(|n| store.remove(rt, &req.namespace, n))
        .collect();
    Reply {
        status: 200,
        body: json!({
            "kind": format!("{}List", rt.kind),
            "apiVersion": rt.api_version(),
            "metadata": {"resourceVersion": store.revision().to_string()},
            "items": items,
        }),
    }
}

/// The resource a request is for, when the fake serves it.
pub fn resource_of(req: &ApiRequest) -> Option<&'static ResourceType> {
    resources::by_path(&req.group, &req.version, &req.resource)
}
