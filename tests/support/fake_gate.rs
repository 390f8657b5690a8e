//! An in-process fake of Spinnaker's Gate (and the Front50 behind it) on 127.0.0.1, for
//! the tests of `diff` and `push`.
//!
//! It answers like Gate 1.30 as described in the reference (see tests/fixtures/gate):
//! - `GET /applications/{app}/pipelineConfigs`: the application's pipelines, `index`
//!   renumbered, server fields set; `[]` for an unknown application.
//! - `GET /applications/{app}/pipelineConfigs/{name}`: exact name; 404 when absent, or
//!   the empty 200 of Spinnaker <= 1.20 with [`FakeGate::legacy_empty_200`].
//! - `POST /pipelines`: Front50's save: a new id when none is given, upsert by id, names
//!   trimmed (Java's `trim()`: everything up to U+0020), a name that another stored
//!   pipeline of the application has (Java's `equalsIgnoreCase`, the stored name not
//!   trimmed: front50-web `PipelineController.checkForDuplicatePipeline`) with a different
//!   or missing id is rejected with Gate's real 400 body. 200 with an empty body on
//!   success.
//! - `DELETE /pipelines/{app}/{name}`: by name, in two steps like Gate, Orca and Front50:
//!   Gate takes the *first* pipeline whose Java-trimmed name `equalsIgnoreCase` the path's
//!   name (gate-web `PipelineController.deletePipeline`), Orca passes that pipeline's
//!   stored name on, and Front50 deletes the *first* pipeline whose name
//!   `equalsIgnoreCase` it (front50-core `DefaultPipelineDAO.getPipelineId`): one
//!   pipeline, whichever comes first; 200 also when absent.
//! - `GET /applications/{app}`: 404, or `{name, attributes, clusters}` with
//!   `cloudproviders` as a list the way Gate merges it. With `expand=false` Gate merges
//!   its cached application list in first (gate-web `ApplicationService.getApplication`),
//!   so an application deleted moments ago is still found
//!   ([`FakeGate::delete_application`]); with `expand=true` (Gate's default) it is not.
//! - Bulk reads: `GET /applications` (every application's attributes, served from a
//!   cache refreshed every [`FakeGate::app_cache_interval`], 5 s by default like Gate's
//!   `services.front50.applicationRefreshIntervalMs`: an application created by a task
//!   shows up late) and `GET /pipelineConfigs` (every pipeline of every application;
//!   stale for [`FakeGate::pipeline_cache_interval`] when set, and leaving out what
//!   [`FakeGate::hide_from_bulk`] names, as Fiat's filter of front50's
//!   `PipelineController.list` does).
//! - `POST /tasks` (createApplication) and `GET /tasks/{id}`, RUNNING for a configurable
//!   number of polls, then SUCCEEDED (or TERMINAL with an exception).
//! - Authentication: basic, bearer, `X-Spinnaker-Token`, LDAP form login with a session
//!   cookie, a redirect to a login page, x509 client certificates over TLS, required
//!   headers.
//! - Faults, deterministic: "the next N matching requests" get latency, a status, a 429
//!   with `Retry-After`, a dropped connection (before or after the request took effect),
//!   an HTML page (also a 2xx single-sign-on login page), any body at all, a redirect
//!   that echoes the credentials, another writer's save right after ours, or Gate's ~32 s
//!   "did not succeed (status: RUNNING)" 400, landed or not.
//! - Latency on every request ([`FakeGate::latency`]) and a count of requests by kind
//!   ([`FakeGate::requests_by_kind`]), for the scale benchmark (benches/push_scale.rs).
//!
//! The HTTP/1.1 server is written by hand (one request per connection, `Connection:
//! close`) so that a fault can close a connection without an answer, which tiny_http
//! cannot do.

use serde_json::{Map, Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};

/// How the fake authenticates requests.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    None,
    Basic {
        user: String,
        password: String,
    },
    Bearer(String),
    ApiToken(String),
    /// Form login at `POST /login`; unauthenticated calls are redirected to `/login`.
    Ldap {
        user: String,
        password: String,
    },
    /// Every call is redirected to an OAuth login page (Gate set up for browsers only).
    LoginRedirect,
    /// A TLS client certificate signed by the test CA (needs [`FakeGate::start_tls`]).
    ClientCert,
}

/// Which requests a fault applies to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Target {
    Any,
    /// Every GET.
    Get,
    /// `GET .../pipelineConfigs` (the list).
    List,
    /// `GET .../pipelineConfigs/{name}` (one pipeline).
    GetOne,
    /// `POST /pipelines`.
    Save,
    /// `DELETE /pipelines/...`.
    Delete,
    /// `POST /tasks`.
    Task,
    /// `GET /applications/{app}`.
    GetApplication,
    /// `GET /applications` (the bulk list).
    ListApplications,
    /// `GET /pipelineConfigs` (every pipeline).
    ListAll,
    /// `GET /tasks/{id}`.
    TaskStatus,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Fault {
    /// Answer with this status and Gate's JSON error body; the request has no effect.
    Status(u16),
    /// Carry out the request, then answer with this status anyway.
    StatusAfter(u16),
    /// 429 with an optional `Retry-After` (seconds).
    TooMany(Option<u64>),
    /// Close the connection without an answer; the request has no effect.
    Drop,
    /// Carry out the request, then close the connection without an answer.
    DropAfter,
    /// Wait, then answer normally.
    Delay(Duration),
    /// Gate's answer when it stops waiting for the save task (~32 s): 400 "Pipeline save
    /// operation did not succeed: ID (status: RUNNING)". `lands`: the save takes effect.
    SaveTimeout { lands: bool },
    /// A proxy's HTML error page with this status.
    Html(u16),
    /// A single-sign-on login page (HTML) with this status, typically 200: what a proxy
    /// in front of Gate answers a request without a browser session. No effect.
    LoginPage(u16),
    /// Carry out the request, then answer with the login page anyway.
    LoginPageAfter(u16),
    /// Exactly this answer (status, `Content-Type`, body); the request has no effect.
    Body {
        status: u16,
        content_type: String,
        body: String,
    },
    /// A 302 to a login page whose `Location` carries the request's `Authorization`
    /// header, percent-encoded (as some SSO proxies put it in a `state` parameter).
    RedirectEchoingCredentials,
    /// Like `RedirectEchoingCredentials`, leaving these characters unencoded (a proxy
    /// that keeps `/` as it is, say).
    RedirectEchoingCredentialsKeeping(String),
    /// Carry out the save and answer 200; then another writer sets `key` to `value` in
    /// the same pipeline (a concurrent push of another version, landing just after ours).
    OtherWriterAfter { key: String, value: Value },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    pub method: String,
    pub path: String,
    /// 0 when the connection was dropped without an answer.
    pub status: u16,
}

#[derive(Debug)]
struct Task {
    polls_left: usize,
    outcome: Result<(), String>,
}

struct State {
    auth: Auth,
    required_headers: Vec<(String, String)>,
    legacy_empty_200: bool,
    forbidden_apps: Vec<String>,
    apps: BTreeMap<String, Map<String, Value>>,
    pipelines: Vec<Map<String, Value>>,
    tasks: BTreeMap<String, Task>,
    task_polls: usize,
    fail_next_task: Option<String>,
    /// Target, fault, how many more times, how many matching requests to let by first.
    faults: Vec<(Target, Fault, usize, usize)>,
    log: Vec<Logged>,
    sessions: BTreeSet<String>,
    saves_in_flight: usize,
    max_saves_in_flight: usize,
    gets_in_flight: usize,
    max_gets_in_flight: usize,
    /// GETs wait until this many are in flight (or a second has passed).
    gather_gets: usize,
    counter: u64,
    seen_headers: Vec<BTreeMap<String, String>>,
    latency: Duration,
    /// What `GET /applications` serves, and when it was last refreshed from `apps`.
    app_cache: BTreeMap<String, Map<String, Value>>,
    app_cache_at: Instant,
    app_cache_interval: Duration,
    /// What `GET /pipelineConfigs` serves, and when it was last refreshed.
    pipeline_cache: Vec<Map<String, Value>>,
    pipeline_cache_at: Instant,
    pipeline_cache_interval: Duration,
    /// Ids that `GET /pipelineConfigs` leaves out.
    hidden_from_bulk: BTreeSet<String>,
    /// What `GET /credentials` serves (Clouddriver's accounts), and `GET /auth/user`.
    accounts: Vec<Value>,
    user: Option<Value>,
}

pub struct FakeGate {
    pub url: String,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    port: u16,
}

struct Request {
    method: String,
    path: String,
    query: String,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
    client_cert: bool,
}

struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Response {
    fn json(status: u16, v: &Value) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".into(), "application/json".into())],
            body: v.to_string(),
        }
    }

    fn empty(status: u16) -> Self {
        Self {
            status,
            headers: Vec::new(),
            body: String::new(),
        }
    }

    /// Gate's error body: `{"error", "message", "status", "timestamp"}`.
    fn error(status: u16, message: &str) -> Self {
        Self::json(
            status,
            &json!({"error": reason(status), "message": message, "status": status,
                "timestamp": 1549378739199u64}),
        )
    }

    fn redirect(location: &str) -> Self {
        Self {
            status: 302,
            headers: vec![("Location".into(), location.into())],
            body: String::new(),
        }
    }
}

fn reason(status: u16) -> &'static str {
    match status {
        200 => "OK",
        302 => "Found",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Unknown",
    }
}

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

impl FakeGate {
    pub fn start() -> Self {
        Self::start_with(Auth::None)
    }

    pub fn start_with(auth: Auth) -> Self {
        Self::spawn(auth, None)
    }

    /// HTTPS with the test certificates in tests/fixtures/tls (CA `ca.pem`, server cert
    /// for 127.0.0.1 and localhost). Client certificates signed by the CA are verified
    /// when sent; [`Auth::ClientCert`] requires one.
    pub fn start_tls(auth: Auth) -> Self {
        Self::spawn(auth, Some(tls::server_config()))
    }

    fn spawn(auth: Auth, tls: Option<Arc<rustls::ServerConfig>>) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("local address").port();
        let scheme = if tls.is_some() { "https" } else { "http" };
        let state = Arc::new(Mutex::new(State {
            auth,
            required_headers: Vec::new(),
            legacy_empty_200: false,
            forbidden_apps: Vec::new(),
            accounts: vec![json!({"name": "gke", "type": "kubernetes", "permissions": {}})],
            user: Some(json!({"username": "anonymous", "roles": []})),
            apps: BTreeMap::new(),
            pipelines: Vec::new(),
            tasks: BTreeMap::new(),
            task_polls: 1,
            fail_next_task: None,
            faults: Vec::new(),
            log: Vec::new(),
            sessions: BTreeSet::new(),
            saves_in_flight: 0,
            max_saves_in_flight: 0,
            gets_in_flight: 0,
            max_gets_in_flight: 0,
            gather_gets: 0,
            counter: 0,
            seen_headers: Vec::new(),
            latency: Duration::ZERO,
            app_cache: BTreeMap::new(),
            app_cache_at: Instant::now(),
            app_cache_interval: Duration::from_secs(5),
            pipeline_cache: Vec::new(),
            pipeline_cache_at: Instant::now(),
            pipeline_cache_interval: Duration::ZERO,
            hidden_from_bulk: BTreeSet::new(),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        let url = format!("{scheme}://127.0.0.1:{port}");
        let base = url.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                if sp.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = conn else { continue };
                let (st, base, tls) = (st.clone(), base.clone(), tls.clone());
                thread::spawn(move || match tls {
                    None => serve(stream, false, &st, &base),
                    Some(cfg) => tls::serve(stream, cfg, &st, &base),
                });
            }
        });
        Self {
            url,
            state,
            stop,
            port,
        }
    }

    // ---- set-up ----

    pub fn set_auth(&self, auth: Auth) {
        lock(&self.state).auth = auth;
    }

    /// Answer 403 (as a proxy would) unless the header is sent with this value.
    pub fn require_header(&self, name: &str, value: &str) {
        lock(&self.state)
            .required_headers
            .push((name.to_ascii_lowercase(), value.into()));
    }

    /// A missing pipeline is a 200 with an empty body (Spinnaker <= 1.20), not a 404.
    pub fn legacy_empty_200(&self, on: bool) {
        lock(&self.state).legacy_empty_200 = on;
    }

    /// The accounts `GET /credentials` lists (default: `gke`, Kubernetes, no Fiat).
    pub fn set_accounts(&self, accounts: Vec<Value>) {
        lock(&self.state).accounts = accounts;
    }

    /// The user `GET /auth/user` answers (`None`: 401).
    pub fn set_user(&self, user: Option<Value>) {
        lock(&self.state).user = user;
    }

    /// Every call about this application is denied with 403.
    pub fn forbid_app(&self, app: &str) {
        lock(&self.state).forbidden_apps.push(app.to_lowercase());
    }

    /// Application tasks stay RUNNING for `n` polls before they finish.
    pub fn task_polls(&self, n: usize) {
        lock(&self.state).task_polls = n;
    }

    /// The next application task ends TERMINAL with this error.
    pub fn fail_next_task(&self, error: &str) {
        lock(&self.state).fail_next_task = Some(error.into());
    }

    pub fn add_application(&self, attributes: Value) {
        let attrs = attributes.as_object().cloned().unwrap_or_default();
        let name = attrs
            .get("name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_lowercase();
        // An application that exists before the test starts: in the cache too.
        let mut s = lock(&self.state);
        s.app_cache.insert(name.clone(), attrs.clone());
        s.apps.insert(name, attrs);
    }

    /// How often `GET /applications` refreshes its cache from the stored applications
    /// (Gate: `services.front50.applicationRefreshIntervalMs`, 5 s). `Duration::ZERO`:
    /// always fresh.
    pub fn app_cache_interval(&self, every: Duration) {
        lock(&self.state).app_cache_interval = every;
    }

    /// Deletes an application in Front50 (as `spin application delete` would); Gate's
    /// cached list still names it until its next refresh.
    pub fn delete_application(&self, app: &str) {
        lock(&self.state).apps.remove(&app.to_lowercase());
    }

    /// `GET /pipelineConfigs` serves a copy of the pipelines refreshed this often
    /// (`Duration::ZERO`, the default: always fresh).
    pub fn pipeline_cache_interval(&self, every: Duration) {
        let mut s = lock(&self.state);
        s.pipeline_cache_interval = every;
        s.pipeline_cache = s.pipelines.clone();
        s.pipeline_cache_at = Instant::now();
    }

    /// `GET /pipelineConfigs` leaves the pipeline with this id out (Fiat filters the bulk
    /// list by the pipeline's name taken as an application name).
    pub fn hide_from_bulk(&self, id: &str) {
        lock(&self.state).hidden_from_bulk.insert(id.to_string());
    }

    /// Every request waits this long before it is handled (network and Gate's own time).
    pub fn latency(&self, latency: Duration) {
        lock(&self.state).latency = latency;
    }

    /// Stores a pipeline as if it had been saved through Front50 (no duplicate check).
    pub fn add_pipeline(&self, pipeline: Value) -> String {
        let mut p = pipeline.as_object().cloned().unwrap_or_default();
        let mut s = lock(&self.state);
        s.counter += 1;
        let n = s.counter;
        let id = p
            .get("id")
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_else(|| fake_uuid(n));
        p.insert("id".into(), json!(id));
        stored_fields(&mut p, n, "anonymous");
        s.pipelines.retain(|q| q.get("id") != Some(&json!(id)));
        s.pipelines.push(p);
        id
    }

    /// Moves the pipeline with this id to the front of the store: it comes first in every
    /// list, and a delete by a name it shares reaches it first.
    pub fn move_to_front(&self, id: &str) {
        let mut s = lock(&self.state);
        if let Some(i) = s
            .pipelines
            .iter()
            .position(|p| p.get("id") == Some(&json!(id)))
        {
            let p = s.pipelines.remove(i);
            s.pipelines.insert(0, p);
        }
    }

    /// Changes a stored pipeline in place, like an edit in Deck.
    pub fn edit_pipeline(&self, app: &str, name: &str, edit: impl FnOnce(&mut Map<String, Value>)) {
        let mut s = lock(&self.state);
        s.counter += 1;
        let n = s.counter;
        let p = s
            .pipelines
            .iter_mut()
            .find(|p| app_of(p).eq_ignore_ascii_case(app) && name_of(p) == name)
            .expect("the pipeline to edit exists");
        edit(p);
        p.insert(
            "updateTs".into(),
            json!(format!("{}", 1_700_000_000_000u64 + n)),
        );
        p.insert("lastModifiedBy".into(), json!("someone@example.com"));
    }

    /// Queues a fault for the next `times` requests that match `target`.
    pub fn inject(&self, target: Target, fault: Fault, times: usize) {
        self.inject_after(0, target, fault, times);
    }

    /// Like [`FakeGate::inject`], after `skip` matching requests were answered normally.
    pub fn inject_after(&self, skip: usize, target: Target, fault: Fault, times: usize) {
        lock(&self.state).faults.push((target, fault, times, skip));
    }

    // ---- inspection ----

    /// The stored pipelines of an application, as Front50 holds them.
    pub fn pipelines(&self, app: &str) -> Vec<Map<String, Value>> {
        lock(&self.state)
            .pipelines
            .iter()
            .filter(|p| app_of(p).eq_ignore_ascii_case(app))
            .cloned()
            .collect()
    }

    pub fn pipeline(&self, app: &str, name: &str) -> Option<Map<String, Value>> {
        self.pipelines(app)
            .into_iter()
            .find(|p| name_of(p).eq_ignore_ascii_case(name))
    }

    pub fn application(&self, app: &str) -> Option<Map<String, Value>> {
        lock(&self.state).apps.get(&app.to_lowercase()).cloned()
    }

    pub fn log(&self) -> Vec<Logged> {
        lock(&self.state).log.clone()
    }

    /// Requests with this method whose path starts with `prefix`.
    pub fn count(&self, method: &str, prefix: &str) -> usize {
        lock(&self.state)
            .log
            .iter()
            .filter(|l| l.method == method && l.path.starts_with(prefix))
            .count()
    }

    /// The requests received, by kind: `GET /applications/{app}/pipelineConfigs` and so
    /// on, names of applications, pipelines and tasks replaced by placeholders.
    pub fn requests_by_kind(&self) -> BTreeMap<String, usize> {
        let mut out = BTreeMap::new();
        for l in &lock(&self.state).log {
            *out.entry(kind_of(&l.method, &l.path)).or_insert(0) += 1;
        }
        out
    }

    /// Calls that change something: saves, deletes, tasks.
    pub fn writes(&self) -> usize {
        self.count("POST", "/pipelines")
            + self.count("DELETE", "/pipelines")
            + self.count("POST", "/tasks")
    }

    /// Saves being handled right now (a delayed one may outlive the client).
    pub fn saves_in_flight(&self) -> usize {
        lock(&self.state).saves_in_flight
    }

    /// The most GETs that were being handled at the same time.
    pub fn max_concurrent_gets(&self) -> usize {
        lock(&self.state).max_gets_in_flight
    }

    /// Each GET waits until `n` GETs are being handled at once (at most a second), so
    /// that a client sending `n` at a time is seen doing so, whatever the machine's load.
    pub fn gather_gets(&self, n: usize) {
        lock(&self.state).gather_gets = n;
    }

    /// The most saves that were being handled at the same time.
    pub fn max_concurrent_saves(&self) -> usize {
        lock(&self.state).max_saves_in_flight
    }

    /// The headers of every request received, lower-cased names.
    pub fn seen_headers(&self) -> Vec<BTreeMap<String, String>> {
        lock(&self.state).seen_headers.clone()
    }

    pub fn port(&self) -> u16 {
        self.port
    }
}

impl Drop for FakeGate {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

fn app_of(p: &Map<String, Value>) -> &str {
    p.get("application").and_then(Value::as_str).unwrap_or("")
}

fn name_of(p: &Map<String, Value>) -> &str {
    p.get("name").and_then(Value::as_str).unwrap_or("")
}

/// `GET /applications/{app}/pipelineConfigs` for `GET /applications/sample/pipelineConfigs`.
pub fn kind_of(method: &str, path: &str) -> String {
    let segs: Vec<&str> = path.trim_matches('/').split('/').collect();
    let shape = match segs.as_slice() {
        ["applications", _] => "/applications/{app}".to_string(),
        ["applications", _, "pipelineConfigs"] => "/applications/{app}/pipelineConfigs".into(),
        ["applications", _, "pipelineConfigs", _] => {
            "/applications/{app}/pipelineConfigs/{name}".into()
        }
        ["pipelines", _, _] => "/pipelines/{app}/{name}".into(),
        ["tasks", _] => "/tasks/{id}".into(),
        _ => path.to_string(),
    };
    format!("{method} {shape}")
}

fn fake_uuid(n: u64) -> String {
    format!("00000000-0000-4000-8000-{n:012x}")
}

/// What Front50 sets on every save.
fn stored_fields(p: &mut Map<String, Value>, n: u64, user: &str) {
    p.insert(
        "updateTs".into(),
        json!(format!("{}", 1_700_000_000_000u64 + n)),
    );
    p.insert("lastModifiedBy".into(), json!(user));
    p.insert("schema".into(), json!("1"));
    p.remove("index");
    if let Some(Value::Array(triggers)) = p.get_mut("triggers") {
        for (i, t) in triggers.iter_mut().enumerate() {
            if let Value::Object(t) = t
                && t.get("type").and_then(Value::as_str) == Some("cron")
            {
                t.insert("id".into(), json!(format!("cron-{n}-{i}")));
            }
        }
    }
}

/// Serves one request on `stream`, then closes it.
fn serve<S: Read + Write>(stream: S, client_cert: bool, state: &Mutex<State>, base: &str) {
    serve_stream(stream, |_| client_cert, state, base);
}

fn serve_stream<S: Read + Write>(
    stream: S,
    client_cert: impl Fn(&S) -> bool,
    state: &Mutex<State>,
    base: &str,
) {
    let mut reader = BufReader::new(stream);
    let Some(mut req) = read_request(&mut reader) else {
        return;
    };
    req.client_cert = client_cert(reader.get_ref());
    let mut stream = reader.into_inner();
    let (response, drop_connection) = handle(&req, state, base);
    {
        let mut s = lock(state);
        s.log.push(Logged {
            method: req.method.clone(),
            path: req.path.clone(),
            status: if drop_connection { 0 } else { response.status },
        });
    }
    if drop_connection {
        return;
    }
    let mut head = format!(
        "HTTP/1.1 {} {}\r\n",
        response.status,
        reason(response.status)
    );
    for (k, v) in &response.headers {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        response.body.len()
    ));
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(response.body.as_bytes());
    let _ = stream.flush();
}

fn read_request<R: Read>(reader: &mut BufReader<R>) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).ok()?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut h = String::new();
        reader.read_line(&mut h).ok()?;
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
        }
    }
    let len: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).ok()?;
    let (path, query) = match target.split_once('?') {
        Some((p, q)) => (p.to_string(), q.to_string()),
        None => (target, String::new()),
    };
    Some(Request {
        method,
        path,
        query,
        headers,
        body,
        client_cert: false,
    })
}

fn percent_decode(s: &str) -> String {
    percent_encoding::percent_decode_str(s)
        .decode_utf8_lossy()
        .into_owned()
}

/// Everything but RFC 3986's unreserved characters, like a proxy building a URL.
fn percent_encode(s: &str) -> String {
    const RESERVED: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~');
    percent_encoding::utf8_percent_encode(s, RESERVED).to_string()
}

fn form_decode(s: &str) -> BTreeMap<String, String> {
    form_urlencoded::parse(s.as_bytes()).into_owned().collect()
}

fn target_of(req: &Request) -> Vec<Target> {
    let mut t = vec![Target::Any];
    let segs: Vec<&str> = req.path.trim_matches('/').split('/').collect();
    match (req.method.as_str(), segs.as_slice()) {
        ("GET", ["applications", _, "pipelineConfigs"]) => t.extend([Target::Get, Target::List]),
        ("GET", ["applications", _, "pipelineConfigs", _]) => {
            t.extend([Target::Get, Target::GetOne])
        }
        ("GET", ["applications", _]) => t.extend([Target::Get, Target::GetApplication]),
        ("GET", ["applications"]) => t.extend([Target::Get, Target::ListApplications]),
        ("GET", ["pipelineConfigs"]) => t.extend([Target::Get, Target::ListAll]),
        ("GET", ["tasks", _]) => t.extend([Target::Get, Target::TaskStatus]),
        ("GET", _) => t.push(Target::Get),
        ("POST", ["pipelines"]) => t.push(Target::Save),
        ("DELETE", ["pipelines", ..]) => t.push(Target::Delete),
        ("POST", ["tasks"]) => t.push(Target::Task),
        _ => {}
    }
    t
}

/// The response and whether to drop the connection instead of answering.
fn handle(req: &Request, state: &Mutex<State>, base: &str) -> (Response, bool) {
    let is_save = req.method == "POST" && req.path == "/pipelines";
    let is_get = req.method == "GET";
    if is_save {
        let mut s = lock(state);
        s.saves_in_flight += 1;
        s.max_saves_in_flight = s.max_saves_in_flight.max(s.saves_in_flight);
    }
    if is_get {
        let gather = {
            let mut s = lock(state);
            s.gets_in_flight += 1;
            s.max_gets_in_flight = s.max_gets_in_flight.max(s.gets_in_flight);
            s.gather_gets
        };
        let deadline = Instant::now() + Duration::from_secs(1);
        while gather > 0 && lock(state).max_gets_in_flight < gather && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(2));
        }
    }
    let result = handle_inner(req, state, base);
    if is_save {
        lock(state).saves_in_flight -= 1;
    }
    if is_get {
        lock(state).gets_in_flight -= 1;
    }
    result
}

fn handle_inner(req: &Request, state: &Mutex<State>, base: &str) -> (Response, bool) {
    let latency = {
        let mut s = lock(state);
        s.seen_headers.push(req.headers.clone());
        s.latency
    };
    if !latency.is_zero() {
        thread::sleep(latency);
    }
    if let Some(r) = authenticate(req, state, base) {
        return (r, false);
    }
    // Faults: the first queued one that matches, consumed (or counted down while it
    // still lets requests by).
    let targets = target_of(req);
    let fault = {
        let mut s = lock(state);
        let mut found = None;
        for i in 0..s.faults.len() {
            let (t, _, n, skip) = &mut s.faults[i];
            if *n == 0 || !targets.contains(t) {
                continue;
            }
            if *skip > 0 {
                *skip -= 1;
                break;
            }
            *n -= 1;
            found = Some(s.faults[i].1.clone());
            if s.faults[i].2 == 0 {
                s.faults.remove(i);
            }
            break;
        }
        found
    };
    match fault {
        None => (route(req, state), false),
        Some(Fault::Delay(d)) => {
            thread::sleep(d);
            (route(req, state), false)
        }
        Some(Fault::Status(code)) => (Response::error(code, reason(code)), false),
        Some(Fault::StatusAfter(code)) => {
            let _ = route(req, state);
            (Response::error(code, reason(code)), false)
        }
        Some(Fault::TooMany(after)) => {
            let mut r = Response::error(429, "Too Many Requests");
            if let Some(a) = after {
                r.headers.push(("Retry-After".into(), a.to_string()));
            }
            (r, false)
        }
        Some(Fault::Drop) => (Response::empty(0), true),
        Some(Fault::DropAfter) => {
            let _ = route(req, state);
            (Response::empty(0), true)
        }
        Some(Fault::SaveTimeout { lands }) => {
            if lands {
                let _ = route(req, state);
            }
            let id = {
                let mut s = lock(state);
                s.counter += 1;
                format!("01FAKETASK{:06}", s.counter)
            };
            (
                Response::error(
                    400,
                    &format!("Pipeline save operation did not succeed: {id} (status: RUNNING)"),
                ),
                false,
            )
        }
        Some(Fault::LoginPage(code)) => (login_page(code), false),
        Some(Fault::LoginPageAfter(code)) => {
            let _ = route(req, state);
            (login_page(code), false)
        }
        Some(Fault::Body {
            status,
            content_type,
            body,
        }) => (
            Response {
                status,
                headers: vec![("Content-Type".into(), content_type)],
                body,
            },
            false,
        ),
        Some(Fault::RedirectEchoingCredentials) => {
            let auth = req
                .headers
                .get("authorization")
                .cloned()
                .unwrap_or_default();
            (
                Response::redirect(&format!(
                    "https://sso.example.com/login?state={}&next=%2Fgate",
                    percent_encode(&auth)
                )),
                false,
            )
        }
        Some(Fault::RedirectEchoingCredentialsKeeping(keep)) => {
            let auth = req
                .headers
                .get("authorization")
                .cloned()
                .unwrap_or_default();
            let mut encoded = String::new();
            for c in auth.chars() {
                if keep.contains(c) {
                    encoded.push(c);
                } else {
                    encoded.push_str(&percent_encode(&c.to_string()));
                }
            }
            (
                Response::redirect(&format!(
                    "https://sso.example.com/login?state={encoded}&next=%2Fgate"
                )),
                false,
            )
        }
        Some(Fault::OtherWriterAfter { key, value }) => {
            let r = route(req, state);
            if r.status == 200
                && let Ok(Value::Object(p)) = serde_json::from_slice::<Value>(&req.body)
            {
                let mut s = lock(state);
                s.counter += 1;
                let n = s.counter;
                if let Some(q) = s.pipelines.iter_mut().find(|q| q.get("id") == p.get("id")) {
                    q.insert(key, value);
                    stored_fields(q, n, "other-writer@example.com");
                }
            }
            (r, false)
        }
        Some(Fault::Html(code)) => (
            Response {
                status: code,
                headers: vec![("Content-Type".into(), "text/html".into())],
                body: format!(
                    "<html><head><title>{code} {}</title></head><body><center><h1>{code} {}</h1></center><hr><center>nginx</center></body></html>",
                    reason(code),
                    reason(code)
                ),
            },
            false,
        ),
    }
}

/// A single-sign-on proxy's login form.
fn login_page(status: u16) -> Response {
    Response {
        status,
        headers: vec![("Content-Type".into(), "text/html;charset=UTF-8".into())],
        body: "<!DOCTYPE html><html><head><title>Sign in - Example SSO</title></head><body><form method=\"post\" action=\"/sso/login\"><input name=\"username\"><input type=\"password\" name=\"password\"><button>Sign in</button></form></body></html>".into(),
    }
}

/// `Some(answer)` when the request is not authenticated.
fn authenticate(req: &Request, state: &Mutex<State>, base: &str) -> Option<Response> {
    let mut s = lock(state);
    for (k, v) in &s.required_headers {
        if req.headers.get(k) != Some(v) {
            return Some(Response::error(403, "Forbidden"));
        }
    }
    let unauthorized = || {
        let mut r = Response::error(
            401,
            "Full authentication is required to access this resource",
        );
        r.headers.push((
            "WWW-Authenticate".into(),
            "Basic realm=\"Spinnaker\"".into(),
        ));
        r
    };
    let auth = s.auth.clone();
    match auth {
        Auth::None => None,
        Auth::Basic { user, password } => {
            let expected = format!("Basic {}", base64(format!("{user}:{password}").as_bytes()));
            (req.headers.get("authorization") != Some(&expected)).then(unauthorized)
        }
        Auth::Bearer(token) => (req.headers.get("authorization")
            != Some(&format!("Bearer {token}")))
        .then(unauthorized),
        Auth::ApiToken(token) => {
            (req.headers.get("x-spinnaker-token") != Some(&token)).then(unauthorized)
        }
        Auth::ClientCert => (!req.client_cert).then(unauthorized),
        Auth::LoginRedirect => Some(Response::redirect(
            "https://login.example.com/oauth2/authorize?client_id=gate&state=xyz",
        )),
        Auth::Ldap { user, password } => {
            if req.method == "POST" && req.path == "/login" {
                let form = form_decode(&String::from_utf8_lossy(&req.body));
                if form.get("username") == Some(&user) && form.get("password") == Some(&password) {
                    s.counter += 1;
                    let session = format!("fake-session-{}", s.counter);
                    s.sessions.insert(session.clone());
                    let mut r = Response::redirect(&format!("{base}/"));
                    r.headers.push((
                        "Set-Cookie".into(),
                        format!("SESSION={session}; Path=/; HttpOnly"),
                    ));
                    return Some(r);
                }
                return Some(Response::redirect(&format!("{base}/login?error")));
            }
            let session = req.headers.get("cookie").and_then(|c| {
                c.split(';')
                    .filter_map(|kv| kv.trim().split_once('='))
                    .find(|(k, _)| *k == "SESSION")
                    .map(|(_, v)| v.to_string())
            });
            match session {
                Some(sess) if s.sessions.contains(&sess) => None,
                _ => Some(Response::redirect(&format!("{base}/login"))),
            }
        }
    }
}

fn user_of(state: &State) -> String {
    match &state.auth {
        Auth::Basic { user, .. } | Auth::Ldap { user, .. } => user.clone(),
        Auth::ClientCert => "kujira-ci".into(),
        _ => "anonymous".into(),
    }
}

fn route(req: &Request, state: &Mutex<State>) -> Response {
    let segs: Vec<String> = req
        .path
        .trim_matches('/')
        .split('/')
        .map(percent_decode)
        .collect();
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let mut s = lock(state);
    if let Some(app) = match segs.as_slice() {
        ["applications", app, ..] | ["pipelines", app, _] => Some(app.to_lowercase()),
        _ => None,
    } && s.forbidden_apps.contains(&app)
    {
        return Response::error(403, "Access is denied");
    }
    match (req.method.as_str(), segs.as_slice()) {
        ("GET", ["version"]) => Response::json(200, &json!({"version": "1.30.0-fake"})),
        ("GET", ["credentials"]) => Response::json(200, &Value::Array(s.accounts.clone())),
        ("GET", ["auth", "user"]) => match &s.user {
            Some(u) => Response::json(200, u),
            None => Response::error(401, "Unauthorized"),
        },
        ("GET", ["applications"]) => {
            if s.app_cache_at.elapsed() >= s.app_cache_interval {
                s.app_cache = s.apps.clone();
                s.app_cache_at = Instant::now();
            }
            // Gate's list: each application's merged attributes, names lower-cased.
            let list: Vec<Value> = s
                .app_cache
                .iter()
                .map(|(name, stored)| {
                    let mut attrs = stored.clone();
                    if let Some(Value::String(cp)) = attrs.remove("cloudProviders") {
                        attrs.insert(
                            "cloudproviders".into(),
                            json!(cp.split(',').map(str::trim).collect::<Vec<_>>()),
                        );
                    }
                    attrs.insert("name".into(), json!(name));
                    attrs.insert("createTs".into(), json!("1527261941734"));
                    attrs.insert("updateTs".into(), json!("1527261941735"));
                    attrs.insert("lastModifiedBy".into(), json!("anonymous"));
                    attrs.insert("user".into(), json!("anonymous"));
                    Value::Object(attrs)
                })
                .collect();
            Response::json(200, &Value::Array(list))
        }
        ("GET", ["pipelineConfigs"]) => {
            if s.pipeline_cache_interval.is_zero()
                || s.pipeline_cache_at.elapsed() >= s.pipeline_cache_interval
            {
                s.pipeline_cache = s.pipelines.clone();
                s.pipeline_cache_at = Instant::now();
            }
            let list: Vec<Value> = s
                .pipeline_cache
                .iter()
                .filter(|p| {
                    p.get("id")
                        .and_then(Value::as_str)
                        .is_none_or(|id| !s.hidden_from_bulk.contains(id))
                })
                .cloned()
                .map(Value::Object)
                .collect();
            Response::json(200, &Value::Array(list))
        }
        ("GET", ["applications", app]) => {
            let key = app.to_lowercase();
            // gate-web ApplicationService.getApplication: without expansion, the cached
            // list's entry goes first and Front50's attributes override it.
            let merged = if req.query.contains("expand=false") {
                match (s.app_cache.get(&key), s.apps.get(&key)) {
                    (None, None) => None,
                    (cached, stored) => {
                        let mut m = cached.cloned().unwrap_or_default();
                        for (k, v) in stored.cloned().unwrap_or_default() {
                            m.insert(k, v);
                        }
                        Some(m)
                    }
                }
            } else {
                s.apps.get(&key).cloned()
            };
            match merged {
                None => Response::error(404, &format!("Application not found (id: {app})")),
                Some(stored) => {
                    let mut attrs = stored.clone();
                    // Gate merges Front50's comma-separated string into a list.
                    if let Some(Value::String(cp)) = attrs.remove("cloudProviders") {
                        attrs.insert(
                            "cloudproviders".into(),
                            json!(cp.split(',').map(str::trim).collect::<Vec<_>>()),
                        );
                    }
                    attrs.insert("createTs".into(), json!("1527261941734"));
                    attrs.insert("updateTs".into(), json!("1527261941735"));
                    attrs.insert("lastModifiedBy".into(), json!("anonymous"));
                    attrs.insert("user".into(), json!("anonymous"));
                    Response::json(
                        200,
                        &json!({"name": app.to_lowercase(), "attributes": attrs, "clusters": {}}),
                    )
                }
            }
        }
        ("GET", ["applications", app, "pipelineConfigs"]) => {
            let list: Vec<Value> = s
                .pipelines
                .iter()
                .filter(|p| app_of(p).eq_ignore_ascii_case(app))
                .enumerate()
                .map(|(i, p)| {
                    let mut p = p.clone();
                    p.insert("index".into(), json!(i));
                    Value::Object(p)
                })
                .collect();
            Response::json(200, &Value::Array(list))
        }
        ("GET", ["applications", app, "pipelineConfigs", name]) => {
            let found = s
                .pipelines
                .iter()
                .filter(|p| app_of(p).eq_ignore_ascii_case(app))
                .enumerate()
                .find(|(_, p)| name_of(p) == *name)
                .map(|(i, p)| {
                    let mut p = p.clone();
                    p.insert("index".into(), json!(i));
                    p
                });
            match found {
                Some(p) => Response::json(200, &Value::Object(p)),
                None if s.legacy_empty_200 => Response::empty(200),
                None => Response::error(404, &format!("Pipeline config (id: {name}) not found")),
            }
        }
        ("POST", ["pipelines"]) => {
            let Ok(Value::Object(mut p)) = serde_json::from_slice::<Value>(&req.body) else {
                return Response::error(400, "Required request body is missing");
            };
            let app = app_of(&p).to_string();
            let name = java_trim(name_of(&p)).to_string();
            if app.is_empty() || name.is_empty() {
                return Response::error(
                    400,
                    "Pipeline save operation did not succeed: 01FAKE (status: TERMINAL)",
                );
            }
            p.insert("name".into(), json!(name));
            let id = p.get("id").and_then(Value::as_str).map(str::to_string);
            let duplicate = s.pipelines.iter().any(|q| {
                app_of(q).eq_ignore_ascii_case(&app)
                    && java_equals_ignore_case(name_of(q), &name)
                    && q.get("id").and_then(Value::as_str) != id.as_deref()
            });
            if duplicate {
                return Response::error(
                    400,
                    &format!("A pipeline with name {name} already exists in application {app}"),
                );
            }
            s.counter += 1;
            let n = s.counter;
            let id = id.unwrap_or_else(|| fake_uuid(n));
            p.insert("id".into(), json!(id));
            let user = user_of(&s);
            stored_fields(&mut p, n, &user);
            match s
                .pipelines
                .iter_mut()
                .find(|q| q.get("id") == Some(&json!(id)))
            {
                Some(q) => *q = p,
                None => s.pipelines.push(p),
            }
            Response::empty(200)
        }
        ("DELETE", ["pipelines", app, name]) => {
            // Gate (PipelineController.deletePipeline) takes the first pipeline of the
            // application whose trimmed name matches, ignoring case, and Front50 deletes
            // the first one whose name matches: one pipeline, whichever comes first.
            let found = s
                .pipelines
                .iter()
                .find(|p| {
                    app_of(p).eq_ignore_ascii_case(app)
                        && java_equals_ignore_case(java_trim(name_of(p)), name)
                })
                .map(|p| name_of(p).to_string());
            if let Some(stored_name) = found
                && let Some(i) = s.pipelines.iter().position(|p| {
                    app_of(p).eq_ignore_ascii_case(app)
                        && java_equals_ignore_case(name_of(p), &stored_name)
                })
            {
                s.pipelines.remove(i);
            }
            Response::empty(200)
        }
        ("POST", ["tasks"]) => {
            let Ok(task) = serde_json::from_slice::<Value>(&req.body) else {
                return Response::error(400, "Required request body is missing");
            };
            let job = &task["job"][0];
            if job["type"] != "createApplication" {
                return Response::error(400, "unsupported task in the fake Gate");
            }
            let attrs = job["application"].as_object().cloned().unwrap_or_default();
            s.counter += 1;
            let id = format!("01FAKETASK{:06}", s.counter);
            let email_ok = attrs
                .get("email")
                .and_then(Value::as_str)
                .is_some_and(|e| !e.is_empty());
            let outcome = match s.fail_next_task.take() {
                Some(e) => Err(e),
                None if !email_ok => Err("Application must have an email".to_string()),
                None => Ok(()),
            };
            if outcome.is_ok() {
                let key = attrs
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_lowercase();
                let entry = s.apps.entry(key).or_default();
                for (k, v) in attrs {
                    entry.insert(k, v);
                }
            }
            let polls = s.task_polls;
            s.tasks.insert(
                id.clone(),
                Task {
                    polls_left: polls,
                    outcome,
                },
            );
            Response::json(200, &json!({"ref": format!("/tasks/{id}")}))
        }
        ("GET", ["tasks", id]) => match s.tasks.get_mut(*id) {
            None => Response::error(404, "Task not found"),
            Some(t) if t.polls_left > 0 => {
                t.polls_left -= 1;
                Response::json(
                    200,
                    &json!({"id": id, "status": "RUNNING", "variables": []}),
                )
            }
            Some(t) => match &t.outcome {
                Ok(()) => Response::json(
                    200,
                    &json!({"id": id, "status": "SUCCEEDED", "variables": []}),
                ),
                Err(e) => Response::json(
                    200,
                    &json!({"id": id, "status": "TERMINAL", "variables": [
                        {"key": "exception", "value": {"details": {"errors": [e]}}}]}),
                ),
            },
        },
        _ => Response::error(404, "No handler found"),
    }
}

/// Java's `String.trim()`: every character up to U+0020 off both ends.
fn java_trim(s: &str) -> &str {
    s.trim_matches(|c: char| c <= ' ')
}

/// Java's `String.equalsIgnoreCase`: the same length in UTF-16 units, and each pair of
/// characters equal, or equal after `Character.toUpperCase`, or after
/// `Character.toLowerCase` of those (single-character mappings only, as in Java).
fn java_equals_ignore_case(a: &str, b: &str) -> bool {
    fn one(c: char, up: bool) -> char {
        let mut m: Vec<char> = if up {
            c.to_uppercase().collect()
        } else {
            c.to_lowercase().collect()
        };
        if m.len() == 1 { m.remove(0) } else { c }
    }
    a.encode_utf16().count() == b.encode_utf16().count()
        && a.chars().zip(b.chars()).all(|(x, y)| {
            let (ux, uy) = (one(x, true), one(y, true));
            x == y || ux == uy || one(ux, false) == one(uy, false)
        })
}

fn base64(input: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(input)
}

/// The path of a file in tests/fixtures.
pub fn fixture(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(path)
}

mod tls {
    use super::{State, fixture, serve_stream};
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use rustls::server::WebPkiClientVerifier;
    use rustls::{RootCertStore, ServerConfig, ServerConnection, StreamOwned};
    use std::net::TcpStream;
    use std::sync::{Arc, Mutex};

    pub fn server_config() -> Arc<ServerConfig> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = RootCertStore::empty();
        for c in CertificateDer::pem_file_iter(fixture("tls/ca.pem")).expect("read ca.pem") {
            roots.add(c.expect("CA certificate")).expect("add the CA");
        }
        let verifier =
            WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .allow_unauthenticated()
                .build()
                .expect("client verifier");
        let certs: Vec<CertificateDer<'static>> =
            CertificateDer::pem_file_iter(fixture("tls/server.pem"))
                .expect("read server.pem")
                .map(|c| c.expect("server certificate"))
                .collect();
        let key = PrivateKeyDer::from_pem_file(fixture("tls/server.key")).expect("server key");
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(certs, key)
            .expect("server config");
        Arc::new(config)
    }

    pub fn serve(tcp: TcpStream, config: Arc<ServerConfig>, state: &Mutex<State>, base: &str) {
        let Ok(conn) = ServerConnection::new(config) else {
            return;
        };
        let stream = StreamOwned::new(conn, tcp);
        serve_stream(
            stream,
            |s: &StreamOwned<ServerConnection, TcpStream>| s.conn.peer_certificates().is_some(),
            state,
            base,
        );
    }
}
