//! An in-process fake Kubernetes API server on 127.0.0.1 that the REAL kubectl talks to,
//! so that the shell scripts of the generated Jobs run in tests as they run in a pod:
//! `/bin/sh`, kubectl, a ServiceAccount's token, and RBAC from the generated Role.
//!
//! ```ignore
//! let kube = FakeKube::start_as("shop", "release"); // system:serviceaccount:shop:release
//! kube.set_role(&generated_role)?;                  // enforced; no rules: all allowed
//! kube.put(rollout_manifest);                        // status and all
//! kube.set_hook(|req, store| { /* on the 3rd get: store.merge(...) */ });
//! kube.fake_sleep(true);                             // `sleep` returns at once
//! let out = kube.run_script(script, &[("ROLLOUT", "web")], Duration::from_secs(30));
//! assert_eq!(kube.count("get", "rollouts"), 3);
//! ```
//!
//! Each server has its own directory: the kubeconfig it writes (HTTPS URL, the test CA,
//! a bearer token for the ServiceAccount, the namespace), a HOME, kubectl's discovery
//! cache (`KUBECACHEDIR`), and a `bin/` with a link to kubectl. Scripts run with exactly
//! PATH, HOME, KUBECONFIG and KUBECACHEDIR plus what the test passes.
//!
//! Served: core/v1 pods, services, configmaps, serviceaccounts (and namespaces, read-only,
//! derived from the objects); apps/v1 deployments, replicasets; batch/v1 jobs;
//! rbac.authorization.k8s.io/v1 roles, rolebindings; argoproj.io/v1alpha1 rollouts (with
//! /status), analysisruns, analysistemplates, experiments. Verbs get, list (label
//! selectors with `=`, `==`, `!=`, `in`, `notin`, exists, `!`; field selectors on
//! `metadata.name` and `metadata.namespace`), watch, create, update, patch (merge, JSON,
//! strategic), delete, deletecollection.
//!
//! # What kubectl 1.32 needs from a server (found with `-v=8` and strace against this one)
//!
//! - HTTPS. kubectl's clientcmd applies the kubeconfig's credentials only to an `https`
//!   server: against `http` it sends no `Authorization` header at all and fails with
//!   "You must be logged in to the server". The fake serves TLS with the fake Gate's test
//!   certificates (tests/fixtures/tls), the CA named in the kubeconfig.
//! - `/version`. `/usr/bin/kubectl` here is Google Cloud CLI's dispatcher
//!   (`v1.32.4-dispatcher`): before every command it GETs `/version?timeout=5s` (with the
//!   token) and runs the `kubectl.1.NN` that matches the server's minor version. The fake
//!   says v1.32.4, so the dispatcher runs its own 1.32 in-process (one execve).
//! - Discovery. kubectl GETs `/api`, then `/apis`, with `Accept:
//!   application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,
//!   application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,
//!   application/json`. The answer's Content-Type decides: the first type gets one
//!   `APIGroupDiscoveryList` per request ([`Discovery::Aggregated`], the default, as a
//!   1.30+ server does); plain `application/json` is legacy discovery
//!   ([`Discovery::Legacy`]): `APIVersions` at `/api`, `APIGroupList` at `/apis`, then
//!   an `APIResourceList` from `/api/v1` and each `/apis/<group>/<version>`, with
//!   `<resource>/status` entries for subresources. Both are cached under `KUBECACHEDIR`
//!   (`discovery/127.0.0.1_<port>/`, `http/`), so later calls skip them.
//! - A named get that finds nothing is followed by `GET /api/v1/namespaces/<ns>`: a
//!   missing namespace prints `namespaces "x" not found` instead; a denied check prints
//!   the object's NotFound. Hence the read-only namespaces.
//! - `kubectl patch` GETs the object first (of the subresource, with `--subresource`: a
//!   status patch needs `get` on `rollouts/status` as well as `patch`), and prints
//!   "patched (no change)" when the answer equals what it read. `annotate` and `label`
//!   GET, then send a merge patch. Without `--type` the patch is strategic, which a custom
//!   resource refuses with 415, and kubectl prints its own "... is not supported by
//!   argoproj.io/v1alpha1, Kind=Rollout: ..." around the server's message.
//! - `kubectl delete` DELETEs, then GETs the object until it is 404 (`--wait`).
//! - `kubectl create -f` validates first: it looks in `/openapi/v3` for the kind's PATCH
//!   operation taking `fieldValidation`, and fails ("failed to download openapi") without
//!   one. The fake serves just that (no schemas); kubectl then sends
//!   `fieldValidation=Strict`, which the fake does not enforce.
//! - kubectl's generators for built-in kinds (`create configmap`, `create job`, ...) POST
//!   protobuf (`application/vnd.kubernetes.protobuf`) and do not fall back to JSON on a
//!   415: the fake speaks JSON only, so they fail; `create -f` with a manifest works.
//!   Everything else above sends JSON.
//! - `kubectl wait --for=jsonpath=...` lists with `fieldSelector=metadata.name=NAME`, then
//!   watches from the list's resourceVersion; a watch here is a real stream (below).
//! - A 401 to discovery: five tries, five klog lines, then "error: You must be logged in
//!   to the server (the server has asked for the client to provide credentials)".
//! - A response written in two TCP segments waited for kubectl's delayed ACK, 40 ms a
//!   request: responses go out in one write, with TCP_NODELAY, on kept-alive connections.
//!
//! None of this needs a network or a cluster: every command above runs here against the
//! fake alone (the suite also passes in a network namespace with only loopback). One call
//! costs what starting kubectl costs: medians 0.14-0.17 s on the loaded 2-core machine,
//! the same as `kubectl version --client` within noise (`cargo bench --profile dev
//! --bench kubectl_call`).
//!
//! # Semantics, and what is approximate
//!
//! - Authentication: the kubeconfig's token is the ServiceAccount; any other token, or
//!   none, is 401 (`/version` is open). Discovery, `/version` and `/openapi` are always
//!   allowed, as RBAC's `system:discovery` role allows them.
//! - RBAC: the rules of one Role, evaluated as the API server does (verbs with `*`,
//!   apiGroups, resources with `res/sub` and `*/sub`, resourceNames, which also match a
//!   list or watch by `metadata.name` field selector); the verb comes from the method and
//!   URL as in the API server's RequestInfoFactory. A denial is the API server's 403
//!   `Status` and message. No bindings: the Role applies to the kubeconfig's user.
//! - resourceVersion: one counter for the store, bumped by every write that changes an
//!   object; a write that changes nothing keeps it (etcd is not written).
//! - generation: 1 on create, then as the registries bump it: Rollout and the other
//!   custom resources on any change outside metadata (status never reaches the main
//!   resource of one with /status), ReplicaSet and Job on spec changes, Deployment on
//!   spec or annotation changes; none for Pod (before 1.33), Service, ConfigMap and the
//!   others.
//! - /status: a write to it takes `status` and nothing else; a write to the main
//!   resource of a kind with /status keeps the stored status. Create drops status there.
//! - Strategic merge patch (built-in kinds only, as on a real server) is applied as a JSON
//!   merge patch: lists are replaced rather than merged by key, `$patch` directives are
//!   not understood. Server-side apply is refused with 415. JSON patch failures are 422
//!   with the json-patch library's wording, approximately.
//! - Bodies are not validated against schemas, nothing is defaulted, there are no
//!   managedFields, finalizers, owner references or garbage collection: delete is
//!   immediate and answers a `Status` Success. `/scale` is listed, not served. No server-
//!   side printing (`as=Table`): kubectl's default output shows NAME and AGE only.
//! - Watch: events from the store's log after the requested resourceVersion (the current
//!   objects as ADDED first when there is none), streamed until `timeoutSeconds`, the
//!   client hangs up or the server is dropped. History is never compacted (no 410 Gone);
//!   bookmarks only for `sendInitialEvents=true`.
//! - The hook runs for every request, discovery and denied ones included, before the
//!   answer, holding the server's lock: change state through its `&mut Store`, never
//!   through the [`FakeKube`] (that would deadlock). Store writes act as a controller's:
//!   the object as given, status included, a new resourceVersion, no generation rule.

pub mod api;
pub mod http;
pub mod patch;
pub mod rbac;
pub mod resources;
pub mod script;
pub mod selector;
pub mod store;

pub use api::ApiRequest;
pub use rbac::Rule;
pub use script::ScriptOutput;
pub use store::Store;

use api::{Reply, Selection, status_error};
use http::{HttpRequest, HttpResponse};
use resources::ResourceType;
use serde_json::{Value, json};
use std::io::{BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::thread;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// How the server answers discovery (`/api`, `/apis`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Discovery {
    /// One `APIGroupDiscoveryList` for `/api` and one for `/apis` when the client asks
    /// for it (Kubernetes >= 1.30, and what kubectl 1.32 asks for first).
    Aggregated,
    /// `APIVersions`, `APIGroupList`, then one `APIResourceList` per group version, as a
    /// server before aggregated discovery answers (kubectl falls back to it).
    Legacy,
}

/// One request, as recorded for assertions.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Logged {
    pub method: String,
    pub path: String,
    /// The authorization verb (see [`ApiRequest::verb`]).
    pub verb: String,
    pub group: String,
    pub resource: String,
    pub subresource: String,
    pub namespace: String,
    pub name: String,
    /// What RBAC decided (true for non-resource requests and when no rules are set).
    pub allowed: bool,
    pub status: u16,
}

type Hook = Box<dyn FnMut(&ApiRequest, &mut Store) + Send>;

struct State {
    store: Store,
    rules: Option<Vec<Rule>>,
    hook: Option<Hook>,
    log: Vec<Logged>,
    discovery: Discovery,
}

struct Shared {
    state: Mutex<State>,
    /// Notified after every write, for watches.
    changed: Condvar,
    stop: AtomicBool,
    token: String,
    user: String,
    url: String,
}

fn lock(shared: &Shared) -> MutexGuard<'_, State> {
    shared.state.lock().unwrap_or_else(|e| e.into_inner())
}

pub struct FakeKube {
    pub url: String,
    shared: Arc<Shared>,
    port: u16,
    dir: TempDir,
    namespace: String,
    fake_sleep: AtomicBool,
}

impl FakeKube {
    /// A server whose kubeconfig authenticates as the ServiceAccount `default` of the
    /// namespace `default`.
    pub fn start() -> Self {
        Self::start_as("default", "default")
    }

    /// A server whose kubeconfig authenticates as
    /// `system:serviceaccount:<namespace>:<service_account>`, with `namespace` as the
    /// context's namespace (a pod's kubectl defaults to its own namespace).
    pub fn start_as(namespace: &str, service_account: &str) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("local address").port();
        let url = format!("https://127.0.0.1:{port}");
        let dir = tempfile::tempdir().expect("create a temporary directory");
        let shared = Arc::new(Shared {
            state: Mutex::new(State {
                store: Store::default(),
                rules: None,
                hook: None,
                log: Vec::new(),
                discovery: Discovery::Aggregated,
            }),
            changed: Condvar::new(),
            stop: AtomicBool::new(false),
            token: format!("fake-token-{port}-{service_account}"),
            user: format!("system:serviceaccount:{namespace}:{service_account}"),
            url: url.clone(),
        });
        let kube = FakeKube {
            url,
            shared: shared.clone(),
            port,
            dir,
            namespace: namespace.to_string(),
            fake_sleep: AtomicBool::new(false),
        };
        kube.write_files();
        let tls = tls_config();
        thread::spawn(move || {
            for conn in listener.incoming() {
                if shared.stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = conn else { continue };
                let (shared, tls) = (shared.clone(), tls.clone());
                thread::spawn(move || serve(stream, tls, &shared));
            }
        });
        kube
    }

    fn write_files(&self) {
        let d = self.dir.path();
        for sub in ["home", "cache", "bin", "sleep-bin"] {
            std::fs::create_dir_all(d.join(sub)).expect("create a directory");
        }
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\n    certificate-authority: {}\ncontexts:\n- name: fake\n  context:\n    cluster: fake\n    user: {}\n    namespace: {}\ncurrent-context: fake\nusers:\n- name: {}\n  user:\n    token: {}\n",
            self.url,
            tls_fixture("ca.pem").display(),
            self.shared.user,
            self.namespace,
            self.shared.user,
            self.shared.token
        );
        std::fs::write(self.kubeconfig(), kubeconfig).expect("write the kubeconfig");
        if let Some(kubectl) = script::find_kubectl() {
            let real = std::fs::canonicalize(&kubectl).unwrap_or(kubectl);
            let _ = std::os::unix::fs::symlink(real, d.join("bin/kubectl"));
        }
        // A `sleep` that returns at once, notes its argument and moves a clock on by it,
        // and a `date +%s` that reads that clock: polling loops that measure elapsed time
        // (the job scripts) see time pass as they sleep, without waiting for it.
        let clock = d.join("clock");
        std::fs::write(&clock, format!("{}\n", fake_epoch())).expect("write the clock");
        script::write_executable(
            &d.join("sleep-bin/sleep"),
            &format!(
                "#!/bin/sh\necho \"$*\" >> '{log}'\nnow=$(cat '{clock}')\necho $((now + $1)) > '{clock}'\n",
                log = d.join("sleeps.log").display(),
                clock = clock.display(),
            ),
        );
        script::write_executable(
            &d.join("sleep-bin/date"),
            &format!(
                "#!/bin/sh\nif [ \"$*\" = +%s ]; then cat '{clock}'; else exec /bin/date \"$@\"; fi\n",
                clock = clock.display(),
            ),
        );
    }

    // ---- files and environment ----

    /// The kubeconfig the server wrote: its URL and the ServiceAccount's bearer token.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    /// kubectl's discovery cache for this server (also `$KUBECACHEDIR` and
    /// `$HOME/.kube/cache` in [`FakeKube::env`]).
    pub fn cache_dir(&self) -> PathBuf {
        self.dir.path().join("cache")
    }

    pub fn token(&self) -> &str {
        &self.shared.token
    }

    /// `system:serviceaccount:<namespace>:<service account>`.
    pub fn user(&self) -> &str {
        &self.shared.user
    }

    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The server's directory (kubeconfig, home, cache, bin): scripts run in it.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// Put a `sleep` that returns at once first on PATH for the scripts run from now on
    /// (it records its arguments: [`FakeKube::sleeps`]).
    pub fn fake_sleep(&self, on: bool) {
        self.fake_sleep.store(on, Ordering::SeqCst);
    }

    /// The fake clock (Unix seconds) that the fake `sleep` moves on and the fake `date +%s`
    /// reads.
    pub fn clock(&self) -> i64 {
        std::fs::read_to_string(self.dir.path().join("clock"))
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or_else(fake_epoch)
    }

    /// Moves the fake clock on by `seconds` (a job that takes that long).
    pub fn advance_clock(&self, seconds: i64) {
        self.set_clock(self.clock() + seconds);
    }

    /// Sets the fake clock (Unix seconds); [`FAKE_EPOCH`] is where it starts.
    pub fn set_clock(&self, now: i64) {
        std::fs::write(self.dir.path().join("clock"), format!("{now}\n")).expect("write the clock");
    }

    /// The arguments of every call of the fake `sleep`, in order.
    pub fn sleeps(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("sleeps.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// The environment of a script or kubectl call, and nothing else: PATH (the fake
    /// `sleep` when on, kubectl, the system), HOME, KUBECONFIG, KUBECACHEDIR.
    pub fn env(&self) -> Vec<(String, String)> {
        let d = self.dir.path();
        let mut path = Vec::new();
        if self.fake_sleep.load(Ordering::SeqCst) {
            path.push(d.join("sleep-bin").display().to_string());
        }
        path.push(d.join("bin").display().to_string());
        path.push("/usr/local/bin:/usr/bin:/bin".to_string());
        vec![
            ("PATH".into(), path.join(":")),
            ("HOME".into(), d.join("home").display().to_string()),
            ("KUBECONFIG".into(), self.kubeconfig().display().to_string()),
            (
                "KUBECACHEDIR".into(),
                self.cache_dir().display().to_string(),
            ),
        ]
    }

    /// Runs `script` with `/bin/sh -c`, as a Job's container would, with [`FakeKube::env`]
    /// plus `env`; kills it and everything it started at `timeout`.
    pub fn run_script(
        &self,
        script: &str,
        env: &[(&str, &str)],
        timeout: Duration,
    ) -> ScriptOutput {
        let mut all = self.env();
        all.extend(env.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        let mut cmd = Command::new("/bin/sh");
        cmd.arg("-c").arg(script).current_dir(self.dir.path());
        script::run(cmd, &all, timeout)
    }

    /// Runs kubectl itself with these arguments (killed after 60 s).
    pub fn kubectl(&self, args: &[&str]) -> ScriptOutput {
        let mut cmd = Command::new(self.dir.path().join("bin/kubectl"));
        cmd.args(args).current_dir(self.dir.path());
        script::run(cmd, &self.env(), Duration::from_secs(60))
    }

    // ---- behaviour ----

    pub fn set_discovery(&self, discovery: Discovery) {
        lock(&self.shared).discovery = discovery;
    }

    /// Enforces these RBAC rules for the ServiceAccount (replacing any).
    pub fn set_rules(&self, rules: Vec<Rule>) {
        lock(&self.shared).rules = Some(rules);
    }

    /// Enforces the rules of a Role manifest (JSON, as kujira-gen generates it).
    pub fn set_role(&self, role: &Value) -> Result<(), String> {
        let rules = rbac::rules_of_role(role)?;
        self.set_rules(rules);
        Ok(())
    }

    /// No rules: every request is allowed (the default).
    pub fn allow_all(&self) {
        lock(&self.shared).rules = None;
    }

    /// Called for every request (discovery included, denied ones included: see
    /// [`ApiRequest::allowed`]) before it is answered, with the store to change.
    pub fn set_hook(&self, hook: impl FnMut(&ApiRequest, &mut Store) + Send + 'static) {
        lock(&self.shared).hook = Some(Box::new(hook));
    }

    pub fn clear_hook(&self) {
        lock(&self.shared).hook = None;
    }

    // ---- objects ----

    /// Runs `f` on the store; what it changes is seen by watches.
    pub fn with_store<T>(&self, f: impl FnOnce(&mut Store) -> T) -> T {
        let out = f(&mut lock(&self.shared).store);
        self.shared.changed.notify_all();
        out
    }

    /// Stores a manifest as it is (see [`Store::put`]); returns the stored object.
    pub fn put(&self, manifest: Value) -> Value {
        self.with_store(|s| s.put(manifest))
    }

    pub fn get(&self, resource: &str, namespace: &str, name: &str) -> Option<Value> {
        self.with_store(|s| s.get(resource, namespace, name).cloned())
    }

    /// A controller's change to a stored object (see [`Store::update`]).
    pub fn update(
        &self,
        resource: &str,
        namespace: &str,
        name: &str,
        change: impl FnOnce(&mut Value),
    ) -> bool {
        self.with_store(|s| s.update(resource, namespace, name, change))
    }

    /// A controller's merge patch of a stored object, status included.
    pub fn merge(&self, resource: &str, namespace: &str, name: &str, patch: Value) -> bool {
        self.with_store(|s| s.merge(resource, namespace, name, patch))
    }

    // ---- the record ----

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<Logged> {
        lock(&self.shared).log.clone()
    }

    /// The resource requests only (no discovery), in order.
    pub fn api_requests(&self) -> Vec<Logged> {
        self.requests()
            .into_iter()
            .filter(|l| !l.resource.is_empty())
            .collect()
    }

    /// How many resource requests had this verb on this resource (`rollouts`,
    /// `rollouts/status`).
    pub fn count(&self, verb: &str, resource: &str) -> usize {
        self.api_requests()
            .iter()
            .filter(|l| {
                let r = if l.subresource.is_empty() {
                    l.resource.clone()
                } else {
                    format!("{}/{}", l.resource, l.subresource)
                };
                l.verb == verb && r == resource
            })
            .count()
    }
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        self.shared.changed.notify_all();
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

// ---- serving ----

fn json_response(reply: Reply) -> HttpResponse {
    HttpResponse {
        status: reply.status,
        content_type: "application/json".into(),
        body: reply.body.to_string(),
    }
}

/// The fake Gate's test certificates (tests/fixtures/tls): kubectl sends a bearer
/// token only over HTTPS.
fn tls_config() -> Arc<rustls::ServerConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(tls_fixture("server.pem"))
            .expect("read server.pem")
            .map(|c| c.expect("server certificate"))
            .collect();
    let key = PrivateKeyDer::from_pem_file(tls_fixture("server.key")).expect("server key");
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("protocol versions")
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .expect("server config");
    Arc::new(config)
}

fn tls_fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// Answers the requests of one connection until the client closes it (kubectl keeps
/// connections alive) or a watch ends it.
fn serve(tcp: TcpStream, tls: Arc<rustls::ServerConfig>, shared: &Shared) {
    let Ok(conn) = rustls::ServerConnection::new(tls) else {
        return;
    };
    let _ = tcp.set_nodelay(true);
    let mut reader = BufReader::new(rustls::StreamOwned::new(conn, tcp));
    while let Some(http) = http::read_request(&mut reader) {
        if !answer(&http, reader.get_mut(), shared) {
            return;
        }
    }
}

/// Answers one request; false when the connection is done (after a watch).
fn answer<S: Write>(http: &HttpRequest, stream: &mut S, shared: &Shared) -> bool {
    let mut req = ApiRequest::new(
        &http.method,
        &http.path,
        http.query.clone(),
        http.header("content-type"),
        http.body.clone(),
    );
    let authenticated = http.header("authorization") == format!("Bearer {}", shared.token).as_str();
    if authenticated {
        req.user = shared.user.clone();
    }
    let mut state = lock(shared);
    req.allowed = !req.is_resource
        || state
            .rules
            .as_ref()
            .is_none_or(|rules| rbac::allowed(rules, &attributes(&req)));
    if let Some(mut hook) = state.hook.take() {
        hook(&req, &mut state.store);
        if state.hook.is_none() {
            state.hook = Some(hook);
        }
    }
    let rt = api::resource_of(&req);
    let answer = if !authenticated && http.path != "/version" {
        Answer::Json(status_error(401, "Unauthorized", "Unauthorized", None))
    } else if !req.allowed {
        Answer::Json(status_error(
            403,
            "Forbidden",
            &rbac::forbidden_message(&attributes(&req)),
            Some(forbidden_details(&req)),
        ))
    } else if !req.is_resource {
        Answer::Http(discovery(&req, http, state.discovery, &shared.url))
    } else {
        match rt {
            None => Answer::Json(status_error(
                404,
                "NotFound",
                "the server could not find the requested resource",
                None,
            )),
            Some(rt) if req.verb == "watch" => Answer::Watch(rt),
            Some(rt) => Answer::Json(api::handle(&req, rt, &mut state.store)),
        }
    };
    let status = match &answer {
        Answer::Http(r) => r.status,
        Answer::Json(r) => r.status,
        Answer::Watch(_) => 200,
    };
    state.log.push(Logged {
        method: req.method.clone(),
        path: req.path.clone(),
        verb: req.verb.clone(),
        group: req.group.clone(),
        resource: req.resource.clone(),
        subresource: req.subresource.clone(),
        namespace: req.namespace.clone(),
        name: req.name.clone(),
        allowed: req.allowed,
        status,
    });
    drop(state);
    shared.changed.notify_all();
    match answer {
        Answer::Http(response) => http::write_response(stream, &response),
        Answer::Json(reply) => http::write_response(stream, &json_response(reply)),
        Answer::Watch(rt) => {
            stream_watch(stream, &req, rt, shared);
            return false;
        }
    }
    true
}

enum Answer {
    Http(HttpResponse),
    Json(Reply),
    Watch(&'static ResourceType),
}

fn attributes(req: &ApiRequest) -> rbac::Attributes<'_> {
    rbac::Attributes {
        user: &req.user,
        verb: &req.verb,
        group: &req.group,
        resource: &req.resource,
        subresource: &req.subresource,
        namespace: &req.namespace,
        name: &req.name,
    }
}

fn forbidden_details(req: &ApiRequest) -> Value {
    let mut d = json!({"kind": req.resource});
    if !req.name.is_empty() {
        d["name"] = json!(req.name);
    }
    if !req.group.is_empty() {
        d["group"] = json!(req.group);
    }
    d
}

/// `/version` and discovery.
fn discovery(req: &ApiRequest, http: &HttpRequest, mode: Discovery, url: &str) -> HttpResponse {
    let path = req.path.trim_end_matches('/');
    let aggregated = mode == Discovery::Aggregated
        && http
            .header("accept")
            .split(',')
            .next()
            .is_some_and(|first| first.trim().replace(' ', "") == resources::AGGREGATED);
    let body = match path {
        "/version" => resources::version(),
        "/api" | "/apis" if aggregated => {
            return HttpResponse {
                status: 200,
                content_type: resources::AGGREGATED.into(),
                body: resources::aggregated(path == "/api").to_string(),
            };
        }
        "/api" => resources::legacy_core_versions(url),
        "/openapi/v3" => resources::openapi_root(),
        "/apis" => resources::legacy_groups(),
        _ => {
            let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
            let found = match parts.as_slice() {
                ["api", version] => resources::legacy_resources("", version),
                ["apis", group] => resources::group(group),
                ["apis", group, version] => resources::legacy_resources(group, version),
                ["openapi", "v3", gv @ ..] => resources::openapi_group_version(&gv.join("/")),
                _ => None,
            };
            match found {
                Some(v) => v,
                None => {
                    return json_response(status_error(
                        404,
                        "NotFound",
                        "the server could not find the requested resource",
                        None,
                    ));
                }
            }
        }
    };
    json_response(Reply { status: 200, body })
}

/// A watch: the events after the requested resourceVersion (all current objects as
/// ADDED first when there is none, or `0`), then every change as it happens, until
/// `timeoutSeconds`, the client hangs up, or the server stops.
fn stream_watch<S: Write>(
    stream: &mut S,
    req: &ApiRequest,
    rt: &'static ResourceType,
    shared: &Shared,
) {
    let selection = match Selection::from_query(&req.query) {
        Ok(s) => s,
        Err(reply) => {
            http::write_response(stream, &json_response(reply));
            return;
        }
    };
    let matches = |obj: &Value| {
        (req.namespace.is_empty()
            || obj["metadata"]["namespace"].as_str() == Some(req.namespace.as_str()))
            && selection.matches(obj)
    };
    let deadline = req
        .query
        .get("timeoutSeconds")
        .and_then(|s| s.parse::<u64>().ok())
        .map(|s| Instant::now() + Duration::from_secs(s));
    let requested = req
        .query
        .get("resourceVersion")
        .and_then(|s| s.parse::<u64>().ok())
        .filter(|rv| *rv > 0);
    let initial_events = req
        .query
        .get("sendInitialEvents")
        .is_some_and(|v| v == "true");
    let mut lines = Vec::new();
    let mut seen = {
        let state = lock(shared);
        let seen = match requested {
            Some(rv) if !initial_events => rv,
            _ => {
                for obj in state.store.list_typed(rt, &req.namespace) {
                    if matches(obj) {
                        lines.push(json!({"type": "ADDED", "object": obj}));
                    }
                }
                state.store.revision()
            }
        };
        if initial_events {
            lines.push(json!({"type": "BOOKMARK", "object": {
                "kind": rt.kind, "apiVersion": rt.api_version(),
                "metadata": {"resourceVersion": seen.to_string(),
                    "annotations": {"k8s.io/initial-events-end": "true"}}}}));
        }
        seen
    };
    if !http::write_stream_head(stream, "application/json") {
        return;
    }
    loop {
        for line in lines.drain(..) {
            if writeln!(stream, "{line}")
                .and_then(|_| stream.flush())
                .is_err()
            {
                return;
            }
        }
        if shared.stop.load(Ordering::SeqCst) || deadline.is_some_and(|d| Instant::now() >= d) {
            return;
        }
        let state = lock(shared);
        let (state, _) = shared
            .changed
            .wait_timeout_while(state, Duration::from_millis(200), |s| {
                s.store.revision() == seen && !shared.stop.load(Ordering::SeqCst)
            })
            .unwrap_or_else(|e| e.into_inner());
        for e in state.store.events_after(seen) {
            if !std::ptr::eq(e.resource, rt) {
                continue;
            }
            let was = e.old.as_ref().is_some_and(&matches);
            let is = matches(&e.new);
            let kind = match e.kind {
                store::EventType::Deleted if is => "DELETED",
                store::EventType::Added if is => "ADDED",
                store::EventType::Modified if was && is => "MODIFIED",
                store::EventType::Modified if is => "ADDED",
                store::EventType::Modified if was => "DELETED",
                _ => continue,
            };
            lines.push(json!({"type": kind, "object": e.new}));
        }
        seen = state.store.revision();
    }
}

/// Where the fake clock starts: 2026-01-01T00:00:00Z.
pub const FAKE_EPOCH: i64 = 1_767_225_600;

fn fake_epoch() -> i64 {
    FAKE_EPOCH
}
