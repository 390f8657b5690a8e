//! Errors from talking to Gate, phrased so that a person can act on them.
//!
//! No variant ever holds a secret: requests are named by method and path (never the full
//! URL with a query), credentials by [`crate::gate::auth::Credential::describe`], and text
//! taken from a response body is scrubbed by the client before it gets here.

use std::fmt;
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateError {
    /// Bad settings: no endpoint, an unreadable spin config, a bad certificate file.
    Config(String),
    /// No connection could be made (DNS, refused, connect timeout).
    Unreachable { endpoint: String, detail: String },
    /// The TLS handshake failed (untrusted certificate, wrong host name, client
    /// certificate refused).
    Tls { endpoint: String, detail: String },
    /// The request may have been sent, but no complete answer came back (connection
    /// dropped, timed out): Gate may or may not have acted on it.
    Interrupted { request: String, detail: String },
    /// 401 or 403.
    Denied {
        request: String,
        status: u16,
        credential: String,
        message: Option<String>,
    },
    /// Gate redirected to a login page instead of answering the API call.
    LoginRedirect {
        request: String,
        location: String,
        credential: String,
    },
    /// Any other answer that is not a success.
    Status {
        request: String,
        status: u16,
        message: String,
        retry_after: Option<Duration>,
    },
    /// A success status with a body that is not what the endpoint returns (a proxy's
    /// login page, an empty body where JSON is due, JSON of another shape). Never a
    /// success: after a write, its outcome is unknown.
    BadBody {
        request: String,
        status: u16,
        detail: String,
    },
    /// The answer is larger than kujira-gen reads; asking again would not help.
    TooLarge { request: String, limit: u64 },
    /// An application task failed or did not finish in time.
    Task { description: String, detail: String },
}

/// How [`crate::gate::auth::Credential::describe`] names the absence of credentials; a
/// note may follow it.
pub const NO_CREDENTIALS: &str = "no credentials";

const WHERE_CREDENTIALS_GO: &str =
    "set them in the auth section of the spin config, or KUJIRA_GATE_TOKEN";

/// Task statuses that are not final: a save Gate gave up waiting for may still land.
const PENDING_STATUSES: &[&str] = &["NOT_STARTED", "RUNNING", "PAUSED", "SUSPENDED", "BUFFERED"];

impl GateError {
    /// Worth trying again: the failure is likely to be temporary (connection problems,
    /// 429, 5xx). Saves also retry after [`Self::is_save_pending`].
    pub fn is_retryable(&self) -> bool {
        match self {
            GateError::Unreachable { .. } | GateError::Interrupted { .. } => true,
            GateError::Status { status, .. } => *status == 429 || (500..=599).contains(status),
            _ => false,
        }
    }

    /// Gate's "Pipeline save operation did not succeed: ID (status: RUNNING)" 400: Gate
    /// stopped waiting for the save task (~32 s), which may still land.
    pub fn is_save_pending(&self) -> bool {
        match self {
            GateError::Status {
                status: 400,
                message,
                ..
            } => {
                message.contains("operation did not succeed")
                    && PENDING_STATUSES
                        .iter()
                        .any(|s| message.contains(&format!("(status: {s})")))
            }
            _ => false,
        }
    }

    /// Front50's "A pipeline with name X already exists in application Y".
    pub fn is_duplicate_name(&self) -> bool {
        matches!(self, GateError::Status { status: 400, message, .. }
            if message.contains("already exists in application"))
    }

    /// The outcome of the request is unknown: it may have been carried out.
    pub fn is_uncertain(&self) -> bool {
        matches!(self, GateError::Interrupted { .. })
            || self.is_save_pending()
            || matches!(self, GateError::Status { status, .. } if (500..=599).contains(status))
    }

    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            GateError::Status { retry_after, .. } => *retry_after,
            _ => None,
        }
    }
}

pub fn reason_phrase(status: u16) -> &'static str {
    match status {
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        204 => "No Content",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        413 => "Payload Too Large",
        422 => "Unprocessable Entity",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "",
    }
}

fn status_text(status: u16) -> String {
    match reason_phrase(status) {
        "" => status.to_string(),
        r => format!("{status} {r}"),
    }
}

impl fmt::Display for GateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            GateError::Config(m) => f.write_str(m),
            GateError::Unreachable { endpoint, detail } => {
                write!(f, "cannot reach Gate at {endpoint}: {detail}")
            }
            GateError::Tls { endpoint, detail } => write!(
                f,
                "TLS connection to Gate at {endpoint} failed: {detail} (--ca-cert PATH trusts a private CA; --insecure skips verification)"
            ),
            GateError::Interrupted { request, detail } => write!(f, "{request}: {detail}"),
            GateError::Denied {
                request,
                status,
                credential,
                message,
            } => {
                let anonymous = credential.strip_prefix(NO_CREDENTIALS);
                let what = match (*status == 401, anonymous) {
                    (true, None) => format!("Gate did not accept {credential}"),
                    (true, Some(note)) => format!(
                        "Gate requires credentials and none were given ({WHERE_CREDENTIALS_GO}{note})"
                    ),
                    (false, None) => format!("{credential} is not allowed to do this"),
                    (false, Some(_)) => "not allowed without credentials".to_string(),
                };
                write!(f, "{request}: {}: {what}", status_text(*status))?;
                match message {
                    Some(m) if !m.is_empty() => write!(f, " (Gate says: {m})"),
                    _ => Ok(()),
                }
            }
            GateError::LoginRedirect {
                request,
                location,
                credential,
            } => {
                write!(
                    f,
                    "{request}: Gate redirected to a login page ({location}) instead of answering: "
                )?;
                if let Some(note) = credential.strip_prefix(NO_CREDENTIALS) {
                    write!(
                        f,
                        "it needs credentials for API calls and none were given ({WHERE_CREDENTIALS_GO}{note})"
                    )
                } else {
                    write!(
                        f,
                        "it does not accept {credential} for API calls (Gate needs an API authentication method such as basic, x509, OAuth bearer tokens or LDAP)"
                    )
                }
            }
            GateError::Status {
                request,
                status,
                message,
                ..
            } => {
                write!(f, "{request}: {}", status_text(*status))?;
                if !message.is_empty() {
                    write!(f, ": {message}")?;
                }
                Ok(())
            }
            GateError::BadBody {
                request,
                status,
                detail,
            } => write!(
                f,
                "{request}: unexpected answer ({}): {detail}",
                status_text(*status)
            ),
            GateError::Task {
                description,
                detail,
            } => write!(f, "{description}: {detail}"),
            GateError::TooLarge { request, limit } if *limit < 1024 * 1024 => write!(
                f,
                "{request}: the answer is larger than {} KiB, more than kujira-gen reads",
                limit.div_ceil(1024)
            ),
            GateError::TooLarge { request, limit } => write!(
                f,
                "{request}: the answer is larger than {} MiB, more than kujira-gen reads",
                limit.div_ceil(1024 * 1024)
            ),
        }
    }
}

impl std::error::Error for GateError {}

#[cfg(test)]
mod tests {
    use super::*;

    fn status(code: u16, message: &str) -> GateError {
        GateError::Status {
            request: "POST /pipelines".into(),
            status: code,
            message: message.into(),
            retry_after: None,
        }
    }

    #[test]
    fn classifies_the_save_timeout_400() {
        let e = status(
            400,
            "Pipeline save operation did not succeed: 01HX (status: RUNNING)",
        );
        assert!(e.is_save_pending());
        assert!(e.is_uncertain());
        assert!(!e.is_retryable());
        let terminal = status(
            400,
            "Pipeline save operation did not succeed: 01HX (status: TERMINAL)",
        );
        assert!(!terminal.is_save_pending());
    }

    #[test]
    fn classifies_duplicates_and_server_errors() {
        let dup = status(
            400,
            "A pipeline with name p already exists in application a",
        );
        assert!(dup.is_duplicate_name());
        assert!(!dup.is_retryable());
        assert!(status(503, "").is_retryable());
        assert!(status(429, "").is_retryable());
        assert!(!status(404, "").is_retryable());
    }

    #[test]
    fn answers_too_large_are_not_retried() {
        let e = GateError::TooLarge {
            request: "GET /pipelineConfigs".into(),
            limit: 64 * 1024 * 1024,
        };
        assert!(!e.is_retryable());
        assert_eq!(
            e.to_string(),
            "GET /pipelineConfigs: the answer is larger than 64 MiB, more than kujira-gen reads"
        );
    }

    #[test]
    fn denied_names_the_credential_not_its_value() {
        let e = GateError::Denied {
            request: "GET /applications/a/pipelineConfigs".into(),
            status: 401,
            credential: "HTTP basic auth as `ci`".into(),
            message: None,
        };
        assert_eq!(
            e.to_string(),
            "GET /applications/a/pipelineConfigs: 401 Unauthorized: Gate did not accept HTTP basic auth as `ci`"
        );
    }
}
