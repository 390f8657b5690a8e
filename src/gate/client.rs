//! The Gate calls kujira-gen makes, typed, with clear errors.
//!
//! GETs retry by themselves (connection errors, 429, 5xx; see [`RetryPolicy`]). Writes are
//! single attempts: whether and how to retry a write is the caller's decision, because
//! it must re-read first (see `plan::apply`).

use crate::gate::GateError;
use crate::gate::auth::{Credential, Secret, certificates};
use crate::gate::config::Settings;
use crate::gate::retry::{Backoff, RetryPolicy, human_duration};
use crate::gate::{encode_form_value, encode_segment};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use std::fs;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use ureq::tls::{RootCerts, TlsConfig};

/// Where notices about retries go (stderr in the CLI).
pub type NoticeSink = Arc<dyn Fn(&str) + Send + Sync>;

/// Largest answer read (an application with hundreds of big pipelines).
const BODY_LIMIT: u64 = 256 * 1024 * 1024;

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

struct Answer {
    status: u16,
    body: String,
    location: Option<String>,
    retry_after: Option<Duration>,
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

    /// `GET /applications/{app}/pipelineConfigs`: every pipeline of an application (an
    /// unknown application has none).
    pub fn list_pipelines(&self, app: &str) -> Result<Vec<Map<String, Value>>, GateError> {
        let path = format!("/applications/{}/pipelineConfigs", encode_segment(app));
        let request = format!("GET {path}");
        let a = self.retrying(&request, || self.call("GET", &path, None))?;
        match self.json(&request, &a)? {
            Value::Array(items) => items
                .into_iter()
                .map(|p| match p {
                    Value::Object(p) => Ok(p),
                    _ => Err(GateError::BadBody {
                        request: request.clone(),
                        status: a.status,
                        detail: "a pipeline in the list is not an object".into(),
                    }),
                })
                .collect(),
            Value::Null => Ok(Vec::new()),
            _ => Err(GateError::BadBody {
                request,
                status: a.status,
                detail: "expected a JSON array of pipelines".into(),
            }),
        }
    }

    /// `GET /applications/{app}/pipelineConfigs/{name}`; `None` when absent (404, or the
    /// empty 200 of Spinnaker 1.20 and older).
    pub fn get_pipeline(
        &self,
        app: &str,
        name: &str,
    ) -> Result<Option<Map<String, Value>>, GateError> {
        let path = format!(
            "/applications/{}/pipelineConfigs/{}",
            encode_segment(app),
            encode_segment(name)
        );
        let request = format!("GET {path}");
        match self.retrying(&request, || self.call("GET", &path, None)) {
            Ok(a) if a.body.trim().is_empty() || a.body.trim() == "null" => Ok(None),
            Ok(a) => match self.json(&request, &a)? {
                Value::Object(p) if p.is_empty() => Ok(None),
                Value::Object(p) => Ok(Some(p)),
                _ => Err(GateError::BadBody {
                    request,
                    status: a.status,
                    detail: "expected a pipeline object".into(),
                }),
            },
            Err(GateError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// `POST /pipelines`: creates or overwrites (by `id`) one pipeline. One attempt.
    pub fn save_pipeline(&self, pipeline: &Map<String, Value>) -> Result<(), GateError> {
        let body = serde_json::to_vec(pipeline).map_err(|e| GateError::BadBody {
            request: "POST /pipelines".into(),
            status: 0,
            detail: e.to_string(),
        })?;
        self.call("POST", "/pipelines", Some(("application/json", body)))?;
        Ok(())
    }

    /// `DELETE /pipelines/{app}/{name}`: 200 also when it does not exist. One attempt.
    pub fn delete_pipeline(&self, app: &str, name: &str) -> Result<(), GateError> {
        let path = format!(
            "/pipelines/{}/{}",
            encode_segment(app),
            encode_segment(name)
        );
        self.call("DELETE", &path, None)?;
        Ok(())
    }

    /// `GET /applications/{app}`: the application's attributes, `None` when it does not
    /// exist. Accepts both `{name, attributes: {...}}` and the bare attributes.
    pub fn get_application(&self, app: &str) -> Result<Option<Map<String, Value>>, GateError> {
        let path = format!("/applications/{}?expand=false", encode_segment(app));
        let request = format!("GET /applications/{}", encode_segment(app));
        match self.retrying(&request, || self.call("GET", &path, None)) {
            Ok(a) if a.body.trim().is_empty() => Ok(None),
            Ok(a) => match self.json(&request, &a)? {
                Value::Object(mut m) => match m.remove("attributes") {
                    Some(Value::Object(attrs)) => Ok(Some(attrs)),
                    _ => Ok(Some(m)),
                },
                _ => Err(GateError::BadBody {
                    request,
                    status: a.status,
                    detail: "expected an application object".into(),
                }),
            },
            Err(GateError::Status { status: 404, .. }) => Ok(None),
            Err(e) => Err(e),
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
                status: a.status,
                detail: "expected {\"ref\": \"/tasks/<id>\"}".into(),
            })
    }

    /// `GET /tasks/{id}`.
    pub fn task_status(&self, id: &str) -> Result<TaskStatus, GateError> {
        let path = format!("/tasks/{}", encode_segment(id));
        let request = format!("GET {path}");
        let a = self.retrying(&request, || self.call("GET", &path, None))?;
        let v: Value = self.json(&request, &a)?;
        let status = v
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or("UNKNOWN")
            .to_string();
        Ok(TaskStatus {
            error: task_error(&v).map(|e| self.scrub(&e)),
            status,
        })
    }

    /// Polls a task until it reaches a terminal status; `Ok` only for SUCCEEDED.
    pub fn wait_task(&self, id: &str, description: &str) -> Result<(), GateError> {
        let started = Instant::now();
        let mut polls = 0u32;
        loop {
            let t = self.task_status(id)?;
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
            if started.elapsed() + wait > self.policy.task_timeout {
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
        mut op: impl FnMut() -> Result<T, GateError>,
    ) -> Result<T, GateError> {
        let mut backoff = Backoff::new(&self.policy);
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
        let failed = match (a.status, &a.location) {
            (300..=399, Some(l)) => l.contains("error"),
            (200..=299, _) => false,
            _ => true,
        };
        let has_session = self.cookies.lock().map(|c| !c.is_empty()).unwrap_or(false);
        if failed || !has_session {
            if (500..=599).contains(&a.status) || a.status == 429 {
                return Err(GateError::Status {
                    request: request.into(),
                    status: a.status,
                    message: self.error_message(&a.body),
                    retry_after: a.retry_after,
                });
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

    /// One request; non-2xx answers become errors.
    fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Answer, GateError> {
        let request = format!("{method} {}", path.split('?').next().unwrap_or(path));
        let a = self.send(method, path, body)?;
        match a.status {
            200..=299 => Ok(a),
            300..=399 => Err(GateError::LoginRedirect {
                request,
                location: a
                    .location
                    .map(|l| excerpt(&self.scrub(&l), 120))
                    .unwrap_or_else(|| "no Location".into()),
                credential: self.credential_description.clone(),
            }),
            401 | 403 => Err(GateError::Denied {
                request,
                status: a.status,
                credential: self.credential_description.clone(),
                message: Some(self.error_message(&a.body)).filter(|m| !m.is_empty()),
            }),
            status => Err(GateError::Status {
                request,
                status,
                message: self.error_message(&a.body),
                retry_after: a.retry_after,
            }),
        }
    }

    fn send(
        &self,
        method: &str,
        path: &str,
        body: Option<(&str, Vec<u8>)>,
    ) -> Result<Answer, GateError> {
        let url = format!("{}{}", self.endpoint, path);
        let request = format!("{method} {}", path.split('?').next().unwrap_or(path));
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
        let mut response = result?;
        let status = response.status().as_u16();
        let headers = response.headers();
        let location = headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let retry_after = headers
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        self.store_cookies(
            headers
                .get_all("set-cookie")
                .iter()
                .filter_map(|v| v.to_str().ok()),
        );
        let body = response
            .body_mut()
            .with_config()
            .limit(BODY_LIMIT)
            .read_to_string()
            .map_err(|e| self.transport_error(&request, e))?;
        Ok(Answer {
            status,
            body,
            location,
            retry_after,
        })
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
            status: a.status,
            detail: if a.body.trim().is_empty() {
                "empty body where JSON was expected".into()
            } else {
                format!("not JSON: {}", excerpt(&self.scrub(&a.body), 120))
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

/// Replaces each secret with `***`.
pub fn scrub(text: &str, secrets: &[String]) -> String {
    let mut out = text.to_string();
    for s in secrets {
        if !s.is_empty() && out.contains(s.as_str()) {
            out = out.replace(s.as_str(), "***");
        }
    }
    out
}

/// Whitespace collapsed, tags of an HTML page dropped, at most `max` characters.
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
