//! The few calls `slo status` makes to a Prometheus HTTP API: instant queries that answer
//! one sample (every generated SLI query does: docs/slo.md, "Queries").
//!
//! Every failure comes back as one line for the report's row, never a panic: the provider
//! unreachable, no answer in time, an HTTP error, an answer that is not Prometheus'.

use super::targets::{Auth, Provider};
use std::time::Duration;
use ureq::tls::TlsConfig;

/// The environment variable holding the token for `auth.type: bearer` (and, optionally,
/// an access token for `gcpWorkloadIdentity`): the budget job reads the platform's
/// Secret, which a person or CI job running `slo status` does not have.
pub const TOKEN_VARIABLE: &str = "KUJIRA_PROMETHEUS_TOKEN";

/// The most of an unexpected answer a message quotes.
const QUOTED_CHARS: usize = 120;

/// An instant query's one sample.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Sample {
    /// The SLI.
    Value(f64),
    /// The queries' `-1`: no series, or no requests.
    NoData,
}

/// One provider, ready to query.
pub struct Client {
    agent: ureq::Agent,
    /// `address` without a trailing `/`.
    base: String,
    /// The `Authorization` header's value, when one is sent.
    authorization: Option<String>,
    /// Why no query can be made (a token missing), said in every row.
    unusable: Option<String>,
    timeout: Duration,
}

impl Client {
    /// A client for `provider` (its address replaced by `address` when given), reading a
    /// token from `token` (the value of [`TOKEN_VARIABLE`]).
    pub fn new(
        provider: &Provider,
        address: Option<&str>,
        token: Option<&str>,
        timeout: Duration,
    ) -> Self {
        let token = token.map(str::trim).filter(|t| !t.is_empty());
        let (authorization, unusable) = match (&provider.auth, token) {
            (Auth::None, _) => (None, None),
            (Auth::Bearer { .. } | Auth::GcpWorkloadIdentity { .. }, Some(t)) => {
                (Some(format!("Bearer {t}")), None)
            }
            (Auth::Bearer { secret, key }, None) => (
                None,
                Some(format!(
                    "the provider wants a bearer token (auth.type bearer: Secret {secret}, key {key}); set {TOKEN_VARIABLE}"
                )),
            ),
            // As documented: the address as is (the frontend proxy, or Google's API with an
            // access token in the variable).
            (Auth::GcpWorkloadIdentity { .. }, None) => (None, None),
        };
        let tls = TlsConfig::builder()
            .disable_verification(provider.insecure)
            .build();
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(timeout))
            .tls_config(tls)
            .build()
            .into();
        Self {
            agent,
            base: address
                .unwrap_or(&provider.address)
                .trim_end_matches('/')
                .to_string(),
            authorization,
            unusable,
            timeout,
        }
    }

    /// The address queried, as messages name it.
    pub fn address(&self) -> &str {
        &self.base
    }

    /// `POST /api/v1/query` at the provider's "now".
    pub fn query(&self, promql: &str) -> Result<Sample, String> {
        self.scrub(self.ask(promql))
    }

    fn ask(&self, promql: &str) -> Result<Sample, String> {
        if let Some(why) = &self.unusable {
            return Err(why.clone());
        }
        let url = format!("{}/api/v1/query", self.base);
        let mut request = self.agent.post(&url);
        if let Some(value) = &self.authorization {
            request = request.header("Authorization", value);
        }
        let mut response = request
            .send_form([("query", promql)])
            .map_err(|e| self.transport_error(&e))?;
        let status = response.status().as_u16();
        let body = response
            .body_mut()
            .read_to_string()
            .map_err(|e| self.transport_error(&e))?;
        parse(status, &body)
    }

    fn transport_error(&self, e: &ureq::Error) -> String {
        use ureq::Error as E;
        let at = &self.base;
        match e {
            E::HostNotFound => format!("cannot reach {at}: host not found"),
            E::ConnectionFailed => format!("cannot reach {at}: connection failed"),
            E::Timeout(_) => format!("no answer from {at} within {}s", self.timeout.as_secs_f64()),
            E::Io(io) => match io.kind() {
                std::io::ErrorKind::ConnectionRefused => {
                    format!("cannot reach {at}: connection refused")
                }
                std::io::ErrorKind::TimedOut => {
                    format!("no answer from {at} within {}s", self.timeout.as_secs_f64())
                }
                _ => format!("{at}: {io}"),
            },
            other => format!("{at}: {other}"),
        }
    }

    /// A token never appears in a message (an echoing proxy could quote it).
    fn scrub(&self, result: Result<Sample, String>) -> Result<Sample, String> {
        match (&self.authorization, result) {
            (Some(header), Err(m)) => {
                let token = header.trim_start_matches("Bearer ");
                Err(m.replace(token, "***"))
            }
            (_, r) => r,
        }
    }
}

/// Reads an answer of the query API: exactly one sample, `-1` meaning no data.
pub fn parse(status: u16, body: &str) -> Result<Sample, String> {
    let json: serde_json::Value = match serde_json::from_str(body) {
        Ok(j) => j,
        Err(_) if !(200..300).contains(&status) => {
            return Err(format!("HTTP {status}: {}", quote(body)));
        }
        Err(_) => return Err(format!("not a Prometheus answer: {}", quote(body))),
    };
    if json["status"] != "success" {
        let kind = json["errorType"].as_str().unwrap_or("error");
        return match json["error"].as_str() {
            Some(error) => Err(format!("HTTP {status}: Prometheus says {kind}: {error}")),
            None => Err(format!(
                "HTTP {status}: not a Prometheus answer: {}",
                quote(body)
            )),
        };
    }
    let data = &json["data"];
    let value = match (data["resultType"].as_str(), &data["result"]) {
        (Some("vector"), serde_json::Value::Array(samples)) => match samples.as_slice() {
            [one] => &one["value"],
            more => {
                return Err(format!(
                    "the query answered {} samples instead of one",
                    more.len()
                ));
            }
        },
        (Some("scalar"), value) => value,
        (kind, _) => {
            return Err(format!(
                "the query answered a {} instead of one sample",
                kind.unwrap_or("malformed result")
            ));
        }
    };
    // [<time>, "<value>"]; the value is a string, also for NaN and infinities.
    let number = value[1]
        .as_str()
        .and_then(|v| v.parse::<f64>().ok())
        .filter(|v| v.is_finite())
        .ok_or_else(|| format!("not a number in the answer: {}", quote(&value.to_string())))?;
    Ok(if number < 0.0 {
        Sample::NoData
    } else {
        Sample::Value(number)
    })
}

/// The start of a text on one line, for a message.
fn quote(text: &str) -> String {
    let line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if line.is_empty() {
        return "(empty)".into();
    }
    match line.char_indices().nth(QUOTED_CHARS) {
        Some((cut, _)) => format!("`{}...`", &line[..cut]),
        None => format!("`{line}`"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_and_their_problems() {
        let one = r#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1767225600,"0.9985"]}]}}"#;
        assert_eq!(parse(200, one), Ok(Sample::Value(0.9985)));
        let none = one.replace("0.9985", "-1");
        assert_eq!(parse(200, &none), Ok(Sample::NoData));
        let two = r#"{"status":"success","data":{"resultType":"vector","result":[{"value":[1,"1"]},{"value":[1,"2"]}]}}"#;
        assert_eq!(
            parse(200, two),
            Err("the query answered 2 samples instead of one".into())
        );
        let nan = one.replace("0.9985", "NaN");
        assert_eq!(
            parse(200, &nan),
            Err(r#"not a number in the answer: `[1767225600,"NaN"]`"#.into())
        );
        let bad = r#"{"status":"error","errorType":"bad_data","error":"parse error"}"#;
        assert_eq!(
            parse(400, bad),
            Err("HTTP 400: Prometheus says bad_data: parse error".into())
        );
        assert_eq!(
            parse(500, "<html>\n  oops </html>"),
            Err("HTTP 500: `<html> oops </html>`".into())
        );
        assert_eq!(
            parse(200, "hello"),
            Err("not a Prometheus answer: `hello`".into())
        );
        assert_eq!(parse(502, ""), Err("HTTP 502: (empty)".into()));
        let matrix = r#"{"status":"success","data":{"resultType":"matrix","result":[]}}"#;
        assert_eq!(
            parse(200, matrix),
            Err("the query answered a matrix instead of one sample".into())
        );
        let long = "x".repeat(500);
        assert_eq!(
            parse(200, &long),
            Err(format!("not a Prometheus answer: `{}...`", "x".repeat(120)))
        );
    }
}
