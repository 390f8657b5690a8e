//! The Gate calls kujira-gen makes, typed, with clear errors.
//!
//! GETs retry by themselves (connection errors, 429, 5xx; see [`RetryPolicy`]), except the
//! bulk reads, whose caller falls back to per-application reads instead. Writes are
//! single attempts: whether and how to retry a write is the caller's decision, because it
//! must re-read first (see `plan::apply`).
//!
//! An answer counts only when it is what Gate answers: a success status with a body of
//! the expected shape. A 2xx HTML page (a single-sign-on proxy's login page), an empty
//! body where JSON is due, or JSON of another shape is an error, never a success.

use crate::gate::GateError;
use crate::gate::auth::{Credential, Secret, certificates};
use crate::gate::config::Settings;
use crate::gate::retry::{Backoff, RetryPolicy, human_duration, parse_retry_after};
use crate::gate::{encode_form_value, encode_segment};
use serde::de::{Deserializer as _, SeqAccess, Visitor};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};
use ureq::tls::{RootCerts, TlsConfig};

/// Where notices about retries go (stderr in the CLI).
pub type NoticeSink = Arc<dyn Fn(&str) + Send + Sync>;

/// Largest answer to one request (an application with hundreds of big pipelines). An
/// answer over it is an error that is not retried: it would be as large the next time.
pub const BODY_LIMIT: u64 = 64 * 1024 * 1024;

/// How much of an answer that is not JSON is read, for the excerpt in the message.
const EXCERPT_LIMIT: u64 = 64 * 1024;

/// Answers up to this size are read whole before they are parsed; larger ones are parsed
/// as they arrive.
const STREAM_ABOVE: u64 = 8 * 1024 * 1024;

pub struct Client {
    agent: ureq::Agent,
    endpoint: String,
    headers: Vec<(String, Secret)>,
    credential: Credential,
    credential_description: String,
    secrets: Vec<String>,
    cookies: Mutex<BTreeMap<String, String>>,
    policy: RetryPolicy,
    notices: Option<NoticeSink>,
    body_limit: u64,
}

/// The final status of an application task and why it failed, if it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskStatus {
    pub status: String,
    pub error: Option<String>,
}

pub const TERMINAL_TASK_STATUSES: &[&str] = &[
    "SUCCEEDED",
    "TERMINAL",
    "STOPPED",
    "CANCELED",
    "FAILED_CONTINUE",
    "SKIPPED",
];

/// What came back besides the body.
struct Head {
    status: u16,
    location: Option<String>,
    retry_after: Option<Duration>,
    content_type: Option<String>,
}

struct Answer {
    head: Head,
    body: String,
}

/// Elements of a JSON array of objects, kept or dropped one by one as they are parsed.
pub struct Listed<T> {
    /// Elements in the answer.
    pub total: usize,
    pub kept: Vec<T>,
}

impl Client {
    /// Builds the HTTP agent (TLS settings, client certificate) and, for LDAP, logs in.
    pub fn connect(settings: &Settings, policy: RetryPolicy) -> Result<Self, GateError> {
        let mut tls = TlsConfig::builder();
        if settings.insecure {
            tls = tls.disable_verification(true);
        }
        if let Some(ca) = &settings.ca_cert {
            let pem = fs::read(ca).map_err(|e| {
                GateError::Config(format!(
                    "cannot read the CA certificate {}: {e}",
                    ca.display()
                ))
            })?;
            let certs = certificates(&pem, &ca.display().to_string()).map_err(GateError::Config)?;
            tls = tls.root_certs(RootCerts::new_with_certs(&certs));
        }
        if let Some(cert) = &settings.client_cert {
            tls = tls.client_cert(Some(cert.load().map_err(GateError::Config)?));
        }
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .max_redirects(0)
            .user_agent(format!("kujira-gen/{}", env!("CARGO_PKG_VERSION")))
            .timeout_global(Some(policy.request_timeout))
            .timeout_connect(Some(policy.connect_timeout))
            .tls_config(tls.build())
            .build();
        let mut headers = settings.credential.headers();
        headers.extend(settings.headers.iter().cloned());
        let client = Self {
            agent: config.into(),
            endpoint: settings.endpoint.clone(),
            headers,
            credential: settings.credential.clone(),
            credential_description: settings.describe_credentials(),
            secrets: settings.secrets(),
            cookies: Mutex::new(BTreeMap::new()),
            policy,
            notices: None,
            body_limit: answer_limit()?,
        };
        if let Credential::Ldap { .. } = client.credential {
            client.retrying("POST /login", || client.ldap_login())?;
        }
        Ok(client)
    }

    /// Sends a line to `sink` whenever a request is retried.
    pub fn with_notices(mut self, sink: NoticeSink) -> Self {
        self.notices = Some(sink);
        self
    }

    /// The largest answer read, in bytes.
    pub fn with_body_limit(mut self, bytes: u64) -> Self {
        self.body_limit = bytes;
        self
    }

    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// Replaces every secret in `text` with `***`: for text that came from Gate.
    pub fn scrub(&self, text: &str) -> String {
        scrub(text, &self.secrets)
    }

    pub fn notice(&self, text: &str) {
        if let Some(n) = &self.notices {
            n(&self.scrub(text));
        }
    }

    // ---- typed calls ----

    /// `GET /version`.
    pub fn version(&self) -> Result<String, GateError> {
        let request = "GET /version".to_string();
        let a = self.retrying(&request, || self.call("GET", "/version", None))?;
        let v: Value = self.json(&request, &a)?;
        Ok(v.get("version")
            .and_then(Value::as_str)
            .unwrap_or("unknown")
            .to_string())
    }

    /// `GET /auth/user`: the user Gate sees (`username`, `roles`...); `None` when Gate
    /// answers 401, 403 or 404 (no user: the credentials were refused, or security off
    /// without the endpoint).
    pub fn auth_user(&self) -> Result<Option<Value>, GateError> {
        let request = "GET /auth/user".to_string();
        match self.retrying(&request, || self.call("GET", "/auth/user", None)) {
            Ok(a) => Ok(Some(self.json(&request, &a)?)),
            Err(GateError::Status {
                status: 401 | 403 | 404,
                ..
            }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `GET /credentials`: the accounts Clouddriver has (as Gate lists them to this user:
    /// `name`, `type`, and `permissions` when Fiat guards them).
    pub fn credentials(&self) -> Result<Vec<Value>, GateError> {
        let request = "GET /credentials".to_string();
        let a = self.retrying(&request, || self.call("GET", "/credentials", None))?;
        match self.json(&request, &a)? {
            Value::Array(accounts) => Ok(accounts),
            _ => Err(GateError::BadBody {
                request,
                status: a.head.status,
                detail: "expected a list of accounts".into(),
            }),
        }
    }

    /// `GET /applications/{app}/pipelineConfigs`: every pipeline of an application (an
    /// unknown application has none).
    pub fn list_pipelines(&self, app: &str) -> Result<Vec<Map<String, Value>>, GateError> {
        Ok(self.list_pipelines_with(app, &Some)?.kept)
    }

    /// Like [`Client::list_pipelines`], turning each pipeline into what `keep` makes of
    /// it as it is parsed, so that a large answer is never held as a whole tree.
    pub fn list_pipelines_with<T>(
        &self,
        app: &str,
        keep: &dyn Fn(Map<String, Value>) -> Option<T>,
    ) -> Result<Listed<T>, GateError> {
        let path = format!("/applications/{}/pipelineConfigs", encode_segment(app));
        let request = format!("GET {path}");
        self.retrying(&request, || {
            self.list(&request, &path, self.body_limit, keep)
        })
    }

    /// `GET /applications`: every application Gate knows, from the cache Gate refreshes
    /// every few seconds (an application created moments ago may be missing). One
    /// attempt, at most `limit` bytes: the caller falls back to per-application reads.
    pub fn list_applications_with<T>(
        &self,
        limit: u64,
        keep: &dyn Fn(Map<String, Value>) -> Option<T>,
    ) -> Result<Listed<T>, GateError> {
        self.list("GET /applications", "/applications", limit, keep)
    }

    /// `GET /pipelineConfigs`: every pipeline of every application. One attempt, at most
    /// `limit` bytes: the caller falls back to per-application reads.
    pub fn list_all_pipelines_with<T>(
        &self,
        limit: u64,
        keep: &dyn Fn(Map<String, Value>) -> Option<T>,
    ) -> Result<Listed<T>, GateError> {
        self.list("GET /pipelineConfigs", "/pipelineConfigs", limit, keep)
    }

    /// [`Client::list_all_pipelines_with`] with the usual retries, for a read that nothing
    /// takes over from (`diff --undeclared`).
    pub fn list_all_pipelines_retrying<T>(
        &self,
        limit: u64,
        keep: &dyn Fn(Map<String, Value>) -> Option<T>,
    ) -> Result<Listed<T>, GateError> {
        self.retrying("GET /pipelineConfigs", || {
            self.list("GET /pipelineConfigs", "/pipelineConfigs", limit, keep)
        })
    }

    /// `GET /applications/{app}/pipelineConfigs/{name}`; `None` when absent (404, or the
    /// empty 200 of Spinnaker 1.20 and older).
    pub fn get_pipeline(
        &self,
        app: &str,
        name: &str,
    ) -> Result<Option<Map<String, Value>>, GateError> {
        let (path, request) = pipeline_path(app, name);
        self.retrying(&request, || self.get_pipeline_once(&path, &request))
    }

    /// [`Client::get_pipeline`] without retries: for a check inside an operation that
    /// retries as a whole.
    pub fn get_pipeline_once_by_name(
        &self,
        app: &str,
        name: &str,
    ) -> Result<Option<Map<String, Value>>, GateError> {
        let (path, request) = pipeline_path(app, name);
        self.get_pipeline_once(&path, &request)
    }

    fn get_pipeline_once(
        &self,
        path: &str,
        request: &str,
    ) -> Result<Option<Map<String, Value>>, GateError> {
        match self.call("GET", path, None) {
            Ok(a) if a.body.trim().is_empty() || a.body.trim() == "null" => {
                self.expect_not_html(request, &a)?;
                Ok(None)
            }
            Ok(a) => match self.json(request, &a)? {
                Value::Object(p) if p.is_empty() => Ok(None),
                Value::Object(p) => Ok(Some(p)),
                _ => Err(GateError::BadBody {
                    request: request.into(),
                    status: a.head.status,
                    detail: "expected a pipeline object".into(),
                }),
            },
            Err(GateError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST /pipelines`: creates or overwrites (by `id`) one pipeline. One attempt. Gate
    /// answers a saved pipeline with an empty 200; anything else with a 2xx status (a
    /// login page) is an error, because the save may not have happened.
    pub fn save_pipeline(&self, pipeline: &Map<String, Value>) -> Result<(), GateError> {
        let body = serde_json::to_string(pipeline).map_err(|e| GateError::BadBody {
            request: "POST /pipelines".into(),
            status: 0,
            detail: e.to_string(),
        })?;
        self.save_pipeline_json(&body)
    }

    /// [`Client::save_pipeline`] of a pipeline already serialised (a JSON object).
    pub fn save_pipeline_json(&self, pipeline: &str) -> Result<(), GateError> {
        let a = self.call(
            "POST",
            "/pipelines",
            Some(("application/json", pipeline.as_bytes().to_vec())),
        )?;
        self.expect_gate_void("POST /pipelines", &a)
    }

    /// `DELETE /pipelines/{app}/{name}`: 200 also when it does not exist. One attempt.
    ///
    /// Gate deletes by name: it takes the first pipeline of the application whose trimmed
    /// name matches ignoring case, and Front50 deletes the first one whose name matches
    /// (see docs/diff-and-push.md, "Duplicates"). Call it only for a name no other
    /// pipeline of the application has.
    pub fn delete_pipeline(&self, app: &str, name: &str) -> Result<(), GateError> {
        let path = format!(
            "/pipelines/{}/{}",
            encode_segment(app),
            encode_segment(name)
        );
        let request = format!("DELETE {path}");
        let a = self.call("DELETE", &path, None)?;
        self.expect_gate_void(&request, &a)
    }

    /// `GET /applications/{app}`: the application's attributes, `None` when it does not
    /// exist (404). Accepts `{name, attributes: {...}}` and the bare attributes (with a
    /// `name`); any other answer is an error, so that no write follows a misread.
    pub fn get_application(&self, app: &str) -> Result<Option<Map<String, Value>>, GateError> {
        // `expand=true` (Gate's default): with `expand=false` Gate merges its cached
        // application list into the answer (gate-web `ApplicationService.getApplication`),
        // so an application deleted in Front50 moments ago would still be found and
        // pipelines saved into it.
        let path = format!("/applications/{}?expand=true", encode_segment(app));
        let request = format!("GET /applications/{}", encode_segment(app));
        let a = match self.retrying(&request, || self.call("GET", &path, None)) {
            Ok(a) => a,
            Err(GateError::Status { status: 404, .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let bad = |detail: &str| GateError::BadBody {
            request: request.clone(),
            status: a.head.status,
            detail: detail.into(),
        };
        match self.json(&request, &a)? {
            Value::Object(mut m) => match m.remove("attributes") {
                Some(Value::Object(attrs)) => Ok(Some(attrs)),
                Some(_) => Err(bad("`attributes` is not an object")),
                None if m.get("name").is_some_and(Value::is_string) => Ok(Some(m)),
                None => Err(bad("expected an application object with a name")),
            },
            _ => Err(bad("expected an application object")),
        }
    }

    /// `POST /tasks`: starts an orchestration task, returns its id. One attempt.
    pub fn submit_task(&self, task: &Value) -> Result<String, GateError> {
        let request = "POST /tasks".to_string();
        let body = serde_json::to_vec(task).map_err(|e| GateError::BadBody {
            request: request.clone(),
            status: 0,
            detail: e.to_string(),
        })?;
        let a = self.call("POST", "/tasks", Some(("application/json", body)))?;
        let v: Value = self.json(&request, &a)?;
        v.get("ref")
            .and_then(Value::as_str)
            .and_then(|r| r.rsplit('/').next())
            .filter(|id| !id.is_empty())
            .map(str::to_string)
            .ok_or_else(|| GateError::BadBody {
                request,
                status: a.head.status,
                detail: "expected {\"ref\": \"/tasks/<id>\"}".into(),
            })
    }

    /// `GET /tasks/{id}`, retried until `deadline` at the latest.
    pub fn task_status(&self, id: &str, deadline: Instant) -> Result<TaskStatus, GateError> {
        let path = format!("/tasks/{}", encode_segment(id));
        let request = format!("GET {path}");
        let a = self.retrying_until(&request, deadline, || self.call("GET", &path, None))?;
        let v: Value = self.json(&request, &a)?;
        let Some(status) = v.get("status").and_then(Value::as_str) else {
            return Err(GateError::BadBody {
                request,
                status: a.head.status,
                detail: "expected a task object with a status".into(),
            });
        };
        Ok(TaskStatus {
            status: status.to_string(),
            error: task_error(&v).map(|e| self.scrub(&e)),
        })
    }

    /// Polls a task until it reaches a terminal status; `Ok` only for SUCCEEDED. Gives up
    /// at `deadline` (the operation's retry budget): no answer makes it wait longer.
    pub fn wait_task(
        &self,
        id: &str,
        description: &str,
        deadline: Instant,
    ) -> Result<(), GateError> {
        let started = Instant::now();
        let mut polls = 0u32;
        loop {
            let t = self
                .task_status(id, deadline)
                .map_err(|e| GateError::Task {
                    description: description.to_string(),
                    detail: format!("task {id}: {e}"),
                })?;
            if TERMINAL_TASK_STATUSES.contains(&t.status.as_str()) {
                if t.status == "SUCCEEDED" {
                    return Ok(());
                }
                return Err(GateError::Task {
                    description: description.to_string(),
                    detail: match t.error {
                        Some(e) => format!("task {id} ended {}: {e}", t.status),
                        None => format!("task {id} ended {}", t.status),
                    },
                });
            }
            let wait = self.policy.delay(polls).min(Duration::from_secs(2));
            if Instant::now() + wait > deadline {
                return Err(GateError::Task {
                    description: description.to_string(),
                    detail: format!(
                        "task {id} is still {} after {}",
                        t.status,
                        human_duration(started.elapsed())
                    ),
                });
            }
            std::thread::sleep(wait);
            polls += 1;
        }
    }

    // ---- plumbing ----

    /// Runs `op` until it succeeds, fails for good, or the retry budget is spent.
    fn retrying<T>(
        &self,
        request: &str,
        op: impl FnMut() -> Result<T, GateError>,
    ) -> Result<T, GateError> {
        self.retrying_until(request, Instant::now() + self.policy.budget, op)
    }

    fn retrying_until<T>(
        &self,
        request: &str,
        deadline: Instant,
        mut op: impl FnMut() -> Result<T, GateError>,
    ) -> Result<T, GateError> {
        let mut backoff = Backoff::until(&self.policy, deadline);
        loop {
            match op() {
                Ok(v) => return Ok(v),
                Err(e) if e.is_retryable() => match backoff.next_delay(e.retry_after()) {
                    Some(d) => {
                        self.notice(&format!("{e}; retrying in {}", human_duration(d)));
                        std::thread::sleep(d);
                    }
                    None => {
                        return Err(gave_up(e, backoff.attempts(), backoff.elapsed(), request));
                    }
                },
                Err(e) => return Err(e),
            }
        }
    }

    fn ldap_login(&self) -> Result<(), GateError> {
        let Credential::Ldap {
            username, password, ..
        } = &self.credential
        else {
            return Ok(());
        };
        let body = format!(
            "username={}&password={}&submit=Login",
            encode_form_value(username),
            encode_form_value(password.expose())
        );
        let request = "POST /login";
        let a = self.send(
            "POST",
            "/login",
            Some(("application/x-www-form-urlencoded", body.into_bytes())),
        )?;
        let failed = match (a.head.status, &a.head.location) {
            (300..=399, Some(l)) => l.contains("error"),
            (200..=299, _) => false,
            _ => true,
        };
        let has_session = self.cookies.lock().map(|c| !c.is_empty()).unwrap_or(false);
        if failed || !has_session {
            if (500..=599).contains(&a.head.status) || a.head.status == 429 {
                return Err(self.refusal(request, &a.head, &a.body));
            }
            return Err(GateError::Denied {
                request: request.into(),
                status: 401,
                credential: self.credential_description.clone(),
                message: Some("the LDAP login was refused".into()),
            });
        }
        Ok(())
    }

    /// One request, its answer read as text; non-2xx answers become errors.
    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Answer, GateError> {
        let request = request_name(method, path);
        let a = self.send(method, path, body)?;
        match a.head.status {
            200..=299 => Ok(a),
            _ => Err(self.refusal(&request, &a.head, &a.body)),
        }
    }

    /// The error for a non-2xx answer.
    fn refusal(&self, request: &str, head: &Head, body: &str) -> GateError {
        match head.status {
            300..=399 => GateError::LoginRedirect {
                request: request.into(),
                location: head
                    .location
                    .as_ref()
                    .map(|l| excerpt(&self.scrub(l), 120))
                    .unwrap_or_else(|| "no Location".into()),
                credential: self.credential_description.clone(),
            },
            401 | 403 => GateError::Denied {
                request: request.into(),
                status: head.status,
                credential: self.credential_description.clone(),
                message: Some(self.error_message(body)).filter(|m| !m.is_empty()),
            },
            status => GateError::Status {
                request: request.into(),
                status,
                message: self.error_message(body),
                retry_after: head.retry_after,
            },
        }
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Answer, GateError> {
        let request = request_name(method, path);
        let (head, mut response) = self.send_raw(method, path, body)?;
        let body = response
            .body_mut()
            .with_config()
            .limit(self.body_limit)
            .read_to_string()
            .map_err(|e| self.transport_error(&request, e))?;
        Ok(Answer { head, body })
    }

    /// Sends one request; the answer's body is left to read.
    fn send_raw(
        &self,
        method: &str,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<(Head, ureq::http::Response<ureq::Body>), GateError> {
        let url = format!("{}{}", self.endpoint, path);
        let request = request_name(method, path);
        let mut builder = ureq::http::Request::builder()
            .method(method)
            .uri(&url)
            .header("Accept", "application/json");
        for (k, v) in &self.headers {
            builder = builder.header(k.as_str(), v.expose());
        }
        let cookie = self.cookie_header();
        if !cookie.is_empty() {
            builder = builder.header("Cookie", cookie);
        }
        let result = match body {
            Some((content_type, bytes)) => builder
                .header("Content-Type", content_type)
                .body(bytes)
                .map_err(|e| self.bad_request(&request, &e.to_string()))
                .and_then(|r| {
                    self.agent
                        .run(r)
                        .map_err(|e| self.transport_error(&request, e))
                }),
            None => builder
                .body(())
                .map_err(|e| self.bad_request(&request, &e.to_string()))
                .and_then(|r| {
                    self.agent
                        .run(r)
                        .map_err(|e| self.transport_error(&request, e))
                }),
        };
        let response = result?;
        let headers = response.headers();
        let text = |name: &str| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let head = Head {
            status: response.status().as_u16(),
            location: text("location"),
            retry_after: text("retry-after").and_then(|v| parse_retry_after(&v, SystemTime::now())),
            content_type: text("content-type"),
        };
        self.store_cookies(
            headers
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok()),
        );
        Ok((head, response))
    }

    /// A GET of a JSON array of objects: the bytes (at most `limit`), then the elements
    /// one by one, `keep` deciding what is kept of each. One attempt.
    fn list<T>(
        &self,
        request: &str,
        path: &str,
        limit: u64,
        keep: &dyn Fn(Map<String, Value>) -> Option<T>,
    ) -> Result<Listed<T>, GateError> {
        let (head, mut response) = self.send_raw("GET", path, None)?;
        let body = response.body_mut().with_config().limit(limit).reader();
        let mut reader = BufReader::with_capacity(64 * 1024, body);
        if !(200..=299).contains(&head.status) {
            let text = read_excerpt(&mut reader);
            return Err(self.refusal(request, &head, &text));
        }
        let first = reader
            .fill_buf()
            .map_err(|e| self.io_error(request, e, limit))?
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .copied();
        if is_html(&head) || first.is_some_and(|b| b != b'[') {
            let text = read_excerpt(&mut reader);
            return Err(GateError::BadBody {
                request: request.into(),
                status: head.status,
                detail: format!(
                    "expected a JSON array, got {}",
                    self.describe_body(&head, &text)
                ),
            });
        }
        // A small answer is read whole, then parsed from memory (several times faster than
        // from a reader). A large one is parsed element by element as it arrives: holding
        // it as bytes would cost its size and more (a growing buffer doubles), for every
        // large answer read at once (three 60 MB pipeline lists read in parallel would
        // take some 600 MB).
        let mut bytes = Vec::new();
        (&mut reader)
            .take(STREAM_ABOVE + 1)
            .read_to_end(&mut bytes)
            .map_err(|e| self.io_error(request, e, limit))?;
        let listed = if bytes.len() as u64 <= STREAM_ABOVE {
            let mut de = serde_json::Deserializer::from_slice(&bytes);
            de.deserialize_seq(ListVisitor { keep })
                .and_then(|l| de.end().map(|()| l))
        } else {
            let stream =
                BufReader::with_capacity(256 * 1024, std::io::Cursor::new(bytes).chain(reader));
            let mut de = serde_json::Deserializer::from_reader(stream);
            de.deserialize_seq(ListVisitor { keep })
                .and_then(|l| de.end().map(|()| l))
        };
        listed.map_err(|e| {
            if e.is_io() {
                self.io_error(request, std::io::Error::from(e), limit)
            } else if e.is_eof() {
                GateError::Interrupted {
                    request: request.into(),
                    detail: "the answer ended before its JSON did".into(),
                }
            } else {
                GateError::BadBody {
                    request: request.into(),
                    status: head.status,
                    detail: format!("expected a JSON array of objects: {e}"),
                }
            }
        })
    }

    /// An I/O error while reading an answer: too large, or cut short.
    fn io_error(&self, request: &str, e: std::io::Error, limit: u64) -> GateError {
        let too_large = e
            .get_ref()
            .and_then(|i| i.downcast_ref::<ureq::Error>())
            .is_some_and(|u| matches!(u, ureq::Error::BodyExceedsLimit(_)));
        if too_large {
            return GateError::TooLarge {
                request: request.into(),
                limit,
            };
        }
        self.transport_error(request, ureq::Error::Io(e))
    }

    /// Gate answers a save or a delete with an empty 200 (or, in some versions, JSON).
    fn expect_gate_void(&self, request: &str, a: &Answer) -> Result<(), GateError> {
        self.expect_not_html(request, a)?;
        let body = a.body.trim();
        if body.is_empty() || serde_json::from_str::<Value>(body).is_ok() {
            return Ok(());
        }
        Err(self.not_gates_answer(request, a))
    }

    fn expect_not_html(&self, request: &str, a: &Answer) -> Result<(), GateError> {
        if !is_html(&a.head) && !a.body.trim_start().starts_with('<') {
            return Ok(());
        }
        Err(self.not_gates_answer(request, a))
    }

    fn not_gates_answer(&self, request: &str, a: &Answer) -> GateError {
        GateError::BadBody {
            request: request.into(),
            status: a.head.status,
            detail: format!(
                "not Gate's answer: {}",
                self.describe_body(&a.head, &a.body)
            ),
        }
    }

    /// "an HTML page (a login page in front of Gate?): Sign in ..." or "`...`".
    fn describe_body(&self, head: &Head, body: &str) -> String {
        let text = excerpt(&self.scrub(body), 120);
        if is_html(head) || body.trim_start().starts_with('<') {
            let lower = body.to_ascii_lowercase();
            let login = ["password", "sign in", "log in"]
                .iter()
                .any(|w| lower.contains(w));
            if login {
                format!("a login page (a single-sign-on proxy in front of Gate?): {text}")
            } else {
                format!("an HTML page: {text}")
            }
        } else if text.is_empty() {
            "an empty body".into()
        } else {
            format!("`{text}`")
        }
    }

    fn bad_request(&self, request: &str, detail: &str) -> GateError {
        GateError::Config(format!(
            "{request}: cannot build the request: {}",
            self.scrub(detail)
        ))
    }

    fn transport_error(&self, request: &str, e: ureq::Error) -> GateError {
        use ureq::Error as E;
        let endpoint = self.endpoint.clone();
        let unreachable = |detail: String| GateError::Unreachable {
            endpoint: endpoint.clone(),
            detail,
        };
        match e {
            E::HostNotFound => unreachable("host not found".into()),
            E::ConnectionFailed => unreachable("connection failed".into()),
            E::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => unreachable(format!(
                "no connection within {}",
                human_duration(self.policy.connect_timeout)
            )),
            E::Timeout(_) => GateError::Interrupted {
                request: request.into(),
                detail: format!(
                    "no complete answer within {}",
                    human_duration(self.policy.request_timeout)
                ),
            },
            E::Tls(m) => GateError::Tls {
                endpoint,
                detail: m.to_string(),
            },
            E::Rustls(e) => GateError::Tls {
                endpoint,
                detail: e.to_string(),
            },
            E::Pem(e) => GateError::Config(format!("bad PEM data: {e}")),
            E::BodyExceedsLimit(limit) => GateError::TooLarge {
                request: request.into(),
                limit,
            },
            E::Io(io) => {
                use std::io::ErrorKind as K;
                // rustls reports handshake failures as I/O errors wrapping its own error.
                let inner = io.get_ref().map(|i| i.to_string());
                match io.kind() {
                    K::ConnectionRefused => unreachable("connection refused".into()),
                    K::InvalidData if inner.is_some() => GateError::Tls {
                        endpoint,
                        detail: inner.unwrap_or_default(),
                    },
                    K::TimedOut => GateError::Interrupted {
                        request: request.into(),
                        detail: format!(
                            "no complete answer within {}",
                            human_duration(self.policy.request_timeout)
                        ),
                    },
                    K::UnexpectedEof
                    | K::ConnectionReset
                    | K::ConnectionAborted
                    | K::BrokenPipe => GateError::Interrupted {
                        request: request.into(),
                        detail: "the connection closed before a complete answer".into(),
                    },
                    _ => GateError::Interrupted {
                        request: request.into(),
                        detail: self.scrub(&io.to_string()),
                    },
                }
            }
            other => GateError::Interrupted {
                request: request.into(),
                detail: self.scrub(&other.to_string()),
            },
        }
    }

    fn json(&self, request: &str, a: &Answer) -> Result<Value, GateError> {
        serde_json::from_str(&a.body).map_err(|_| GateError::BadBody {
            request: request.into(),
            status: a.head.status,
            detail: if a.body.trim().is_empty() {
                "empty body where JSON was expected".into()
            } else {
                format!("not JSON: {}", self.describe_body(&a.head, &a.body))
            },
        })
    }

    /// Gate's `{"message": ...}`, else a short excerpt of whatever came back (a proxy's
    /// HTML page), secrets scrubbed.
    fn error_message(&self, body: &str) -> String {
        if let Ok(Value::Object(m)) = serde_json::from_str::<Value>(body) {
            for k in ["message", "error"] {
                if let Some(Value::String(s)) = m.get(k)
                    && !s.is_empty()
                {
                    return self.scrub(s);
                }
            }
        }
        excerpt(&self.scrub(body), 120)
    }

    // A cookie jar of one host, by hand: Gate's LDAP login sets one session cookie for its
    // own endpoint. ureq's `cookies` feature (cookie_store) would add domain and expiry
    // rules, and their dependencies, that a single endpoint never needs.
    fn cookie_header(&self) -> String {
        match self.cookies.lock() {
            Ok(c) => c
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
            Err(_) => String::new(),
        }
    }

    fn store_cookies<'a>(&self, set_cookies: impl Iterator<Item = &'a str>) {
        let Ok(mut jar) = self.cookies.lock() else {
            return;
        };
        for sc in set_cookies {
            let pair = sc.split(';').next().unwrap_or("");
            if let Some((k, v)) = pair.split_once('=') {
                let (k, v) = (k.trim(), v.trim());
                if k.is_empty() {
                    continue;
                }
                if v.is_empty() {
                    jar.remove(k);
                } else {
                    jar.insert(k.to_string(), v.to_string());
                }
            }
        }
    }
}

/// `GET /applications/x` for `GET /applications/x?expand=false`.
fn request_name(method: &str, path: &str) -> String {
    format!("{method} {}", path.split('?').next().unwrap_or(path))
}

fn pipeline_path(app: &str, name: &str) -> (String, String) {
    let path = format!(
        "/applications/{}/pipelineConfigs/{}",
        encode_segment(app),
        encode_segment(name)
    );
    let request = format!("GET {path}");
    (path, request)
}

fn is_html(head: &Head) -> bool {
    head.content_type
        .as_deref()
        .is_some_and(|c| c.to_ascii_lowercase().contains("html"))
}

/// The start of an answer that is not what was expected, for the message.
fn read_excerpt(reader: &mut impl Read) -> String {
    let mut buf = Vec::new();
    let _ = reader.take(EXCERPT_LIMIT).read_to_end(&mut buf);
    String::from_utf8_lossy(&buf).into_owned()
}

struct ListVisitor<'k, T> {
    keep: &'k dyn Fn(Map<String, Value>) -> Option<T>,
}

impl<'de, T> Visitor<'de> for ListVisitor<'_, T> {
    type Value = Listed<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON array of objects")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Listed<T>, A::Error> {
        let mut listed = Listed {
            total: 0,
            kept: Vec::new(),
        };
        while let Some(element) = seq.next_element::<Map<String, Value>>()? {
            listed.total += 1;
            if let Some(k) = (self.keep)(element) {
                listed.kept.push(k);
            }
        }
        Ok(listed)
    }
}

fn gave_up(e: GateError, attempts: u32, elapsed: Duration, request: &str) -> GateError {
    let note = format!(
        " (gave up after {attempts} attempts in {})",
        human_duration(elapsed)
    );
    match e {
        GateError::Unreachable { endpoint, detail } => GateError::Unreachable {
            endpoint,
            detail: detail + &note,
        },
        GateError::Interrupted { request, detail } => GateError::Interrupted {
            request,
            detail: detail + &note,
        },
        GateError::Status {
            request,
            status,
            message,
            retry_after,
        } => GateError::Status {
            request,
            status,
            message: if message.is_empty() {
                note.trim().to_string()
            } else {
                message + &note
            },
            retry_after,
        },
        other => GateError::Interrupted {
            request: request.into(),
            detail: other.to_string() + &note,
        },
    }
}

/// The first error Orca recorded for a task (`variables[exception].details.errors[0]`).
fn task_error(task: &Value) -> Option<String> {
    let vars = task.get("variables")?.as_array()?;
    let exception = vars
        .iter()
        .find(|v| v.get("key").and_then(Value::as_str) == Some("exception"))?
        .get("value")?;
    let details = exception.get("details")?;
    details
        .get("errors")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
        .and_then(Value::as_str)
        .or_else(|| details.get("error").and_then(Value::as_str))
        .map(str::to_string)
}

/// The largest answer read, from `KUJIRA_GATE_ANSWER_LIMIT` (MiB, 1 to 4096) or 64 MiB:
/// an application whose pipeline list is larger cannot be read, and this raises the bound
/// for it. Read here, where the bound is used, so that every command talking to Gate
/// honours it.
fn answer_limit() -> Result<u64, GateError> {
    let Ok(raw) = std::env::var("KUJIRA_GATE_ANSWER_LIMIT") else {
        return Ok(BODY_LIMIT);
    };
    match raw.trim().parse::<u64>() {
        _ if raw.trim().is_empty() => Ok(BODY_LIMIT),
        Ok(mib) if (1..=4096).contains(&mib) => Ok(mib * 1024 * 1024),
        _ => Err(GateError::Config(format!(
            "KUJIRA_GATE_ANSWER_LIMIT must be a number of MiB between 1 and 4096, got `{raw}`"
        ))),
    }
}

/// Replaces each secret with `***`, in any mix of encodings: every byte of it may appear
/// as is, percent-encoded (`%2F` or `%2f`), percent-encoded twice (`%252F`), or for a
/// space as `+`. A proxy chooses which characters it encodes (some leave `/` or `+` as
/// they are), so the forms cannot be listed in advance.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if !s.is_empty() {
            out = scrub_one(&out, s.as_bytes());
        }
    }
    out
}

fn scrub_one(text: &str, secret: &[u8]) -> String {
    let t = text.as_bytes();
    let mut out = Vec::with_capacity(t.len());
    let mut i = 0;
    while i < t.len() {
        match secret_at(t, i, secret) {
            Some(end) => {
                out.extend_from_slice(b"***");
                i = end;
            }
            None => {
                out.push(t[i]);
                i += 1;
            }
        }
    }
    match String::from_utf8(out) {
        Ok(s) => s,
        Err(e) => String::from_utf8_lossy(e.as_bytes()).into_owned(),
    }
}

/// Where `secret` ends when it starts at `i` in `t`, in whatever encoding each byte has.
fn secret_at(t: &[u8], mut i: usize, secret: &[u8]) -> Option<usize> {
    for &b in secret {
        i = byte_at(t, i, b)?;
    }
    Some(i)
}

fn byte_at(t: &[u8], i: usize, b: u8) -> Option<usize> {
    let c = *t.get(i)?;
    if c == b || (b == b' ' && c == b'+') {
        return Some(i + 1);
    }
    if c != b'%' {
        return None;
    }
    if hex_byte(t, i + 1) == Some(b) {
        return Some(i + 3);
    }
    (hex_byte(t, i + 1) == Some(b'%') && hex_byte(t, i + 3) == Some(b)).then_some(i + 5)
}

fn hex_byte(t: &[u8], i: usize) -> Option<u8> {
    let h = t.get(i..i + 2)?;
    if !h.iter().all(u8::is_ascii_hexdigit) {
        return None;
    }
    u8::from_str_radix(std::str::from_utf8(h).ok()?, 16).ok()
}

/// Whitespace collapsed, tags of an HTML page dropped, at most `max` characters.
///
/// Hand-written on purpose: a crate that renders HTML as text (html2text and the like)
/// brings an HTML parser for what is a 120-character hint in an error message.
pub fn excerpt(text: &str, max: usize) -> String {
    let mut plain = String::new();
    let mut in_tag = false;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                plain.push(' ');
            }
            _ if !in_tag => plain.push(c),
            _ => {}
        }
    }
    let words: Vec<&str> = plain.split_whitespace().collect();
    let joined = words.join(" ");
    if joined.chars().count() > max {
        let cut: String = joined.chars().take(max).collect();
        format!("{cut}...")
    } else {
        joined
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn excerpts_strip_html_and_shorten() {
        let html = "<html><head><title>502 Bad Gateway</title></head>\n<body><h1>Bad   Gateway</h1></body></html>";
        assert_eq!(excerpt(html, 120), "502 Bad Gateway Bad Gateway");
        assert_eq!(excerpt("abcdef", 3), "abc...");
    }

    #[test]
    fn scrub_replaces_every_secret() {
        assert_eq!(
            scrub("token abc and abc", &["abc".into(), String::new()]),
            "token *** and ***"
        );
    }

    #[test]
    fn task_errors_come_from_the_exception_variable() {
        let t = json!({"status": "TERMINAL", "variables": [
            {"key": "application", "value": "a"},
            {"key": "exception", "value": {"details": {"errors": ["email is required"]}}}
        ]});
        assert_eq!(task_error(&t).as_deref(), Some("email is required"));
        assert_eq!(task_error(&json!({"status": "TERMINAL"})), None);
    }
}
