//! Where Gate is and how to authenticate: `--gate`/`KUJIRA_GATE_ENDPOINT`, spin's config
//! file (`~/.spin/config`, YAML, `$VARS` expanded), `KUJIRA_GATE_TOKEN`, `--insecure`,
//! `--ca-cert`, `--header`.
//!
//! The spin config is read into a generic tree and picked apart by hand, so that no error
//! message can quote a value (a mistyped password would otherwise appear in "invalid type:
//! ..."). Unknown keys are ignored: the file is spin's, and spin has more settings.

use crate::gate::GateError;
use crate::gate::auth::{ClientCertSource, ClientCertificate, Credential, Secret, forms_of};
use serde_json::Value;
use std::fs;
use std::path::{Path, PathBuf};

/// The settings kujira-gen reads from a spin config file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SpinConfig {
    pub endpoint: Option<String>,
    pub ignore_cert_errors: bool,
    /// `auth.enabled` is true. Like spin, credentials are ignored otherwise.
    pub auth_enabled: bool,
    pub basic: Option<(String, Secret)>,
    pub ldap: Option<(String, Secret)>,
    pub x509: Option<ClientCertSource>,
    pub oauth2_token: Option<Secret>,
    pub api_token: Option<Secret>,
    /// Authentication methods spin knows and kujira-gen does not (`iap`,
    /// `google_service_account`), when configured.
    pub unsupported: Vec<String>,
    /// Methods configured while `auth.enabled` is not true.
    pub ignored: Vec<String>,
}

/// The flags and environment that decide the connection (see `GateArgs` in main.rs).
#[derive(Debug, Clone, Default)]
pub struct ConnectionInputs {
    /// `--gate`, or `KUJIRA_GATE_ENDPOINT` (clap reads both).
    pub gate: Option<String>,
    /// `--spin-config` or `KUJIRA_SPIN_CONFIG`.
    pub spin_config: Option<PathBuf>,
    pub insecure: bool,
    pub ca_cert: Option<PathBuf>,
    /// `--header K=V`, unparsed.
    pub headers: Vec<String>,
}

/// Everything needed to connect, resolved.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Base URL without a trailing slash (`https://gate.example.com:8084`).
    pub endpoint: String,
    /// Where the endpoint came from, for messages.
    pub endpoint_origin: String,
    pub credential: Credential,
    pub client_cert: Option<ClientCertificate>,
    pub insecure: bool,
    pub ca_cert: Option<PathBuf>,
    pub headers: Vec<(String, Secret)>,
    /// Why configured credentials are not used (`auth.enabled` is not true).
    pub ignored_auth: Option<String>,
}

impl Settings {
    /// A connection without credentials (tests, and the simplest CLI use).
    pub fn plain(endpoint: &str) -> Self {
        Self {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            endpoint_origin: "--gate".into(),
            credential: Credential::None,
            client_cert: None,
            insecure: false,
            ca_cert: None,
            headers: Vec::new(),
            ignored_auth: None,
        }
    }

    /// Every string that must never be printed, in every encoding an answer could echo,
    /// longest first (so that masking a short one never leaves part of a longer one).
    pub fn secrets(&self) -> Vec<String> {
        let mut out = self.credential.secrets();
        if let Some(c) = &self.client_cert {
            out.extend(c.secrets());
        }
        out.extend(
            self.headers
                .iter()
                .filter(|(k, v)| header_is_secret(k, v.expose()))
                .flat_map(|(_, v)| forms_of(v.expose())),
        );
        out.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        out.dedup();
        out
    }

    /// What authenticates the requests, for messages: "HTTP basic auth as `ci` (...)".
    pub fn describe_credentials(&self) -> String {
        match (&self.credential, &self.client_cert) {
            (Credential::None, None) => match &self.ignored_auth {
                Some(note) => format!("{}; {note}", Credential::None.describe()),
                None => Credential::None.describe(),
            },
            (c, None) => c.describe(),
            (Credential::None, Some(cert)) => cert.describe(),
            (c, Some(cert)) => format!("{} and {}", c.describe(), cert.describe()),
        }
    }
}

/// Resolves the connection. `env` reads environment variables (injected for tests).
pub fn resolve(
    inputs: &ConnectionInputs,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Settings, GateError> {
    let home = env("HOME").filter(|h| !h.is_empty()).map(PathBuf::from);
    let (config_path, explicit) = match &inputs.spin_config {
        Some(p) => (Some(expand_home(p, home.as_deref())), true),
        None => (home.as_ref().map(|h| h.join(".spin").join("config")), false),
    };
    let mut spin = SpinConfig::default();
    let mut config_name = String::from("the spin config");
    if let Some(path) = &config_path {
        config_name = path.display().to_string();
        match fs::read_to_string(path) {
            Ok(text) => {
                spin = parse_spin_config(&text, env, home.as_deref())
                    .map_err(|e| GateError::Config(format!("{}: {e}", path.display())))?;
            }
            Err(e) if !explicit && e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(GateError::Config(format!(
                    "cannot read the spin config {}: {e}",
                    path.display()
                )));
            }
        }
    }

    let (raw_endpoint, endpoint_origin) = match inputs.gate.as_deref().map(str::trim) {
        Some(g) if !g.is_empty() => {
            let origin = if env("KUJIRA_GATE_ENDPOINT").as_deref().map(str::trim) == Some(g) {
                "KUJIRA_GATE_ENDPOINT"
            } else {
                "--gate"
            };
            (g.to_string(), origin.to_string())
        }
        _ => match spin.endpoint.as_deref().map(str::trim) {
            Some(e) if !e.is_empty() => (e.to_string(), format!("gate.endpoint in {config_name}")),
            _ => {
                return Err(GateError::Config(format!(
                    "no Gate endpoint: pass --gate URL, set KUJIRA_GATE_ENDPOINT, or set gate.endpoint in {config_name}"
                )));
            }
        },
    };
    let endpoint = validate_endpoint(&raw_endpoint, &endpoint_origin)?;

    let origin = |what: &str| format!("{what} in {config_name}");
    let credential = if let Some(t) = env("KUJIRA_GATE_TOKEN").filter(|t| !t.trim().is_empty()) {
        Credential::Bearer {
            token: Secret::new(t.trim()),
            origin: "KUJIRA_GATE_TOKEN".into(),
        }
    } else if let Some(token) = spin.oauth2_token.clone() {
        Credential::Bearer {
            token,
            origin: origin("auth.oauth2.cachedToken"),
        }
    } else if let Some(token) = spin.api_token.clone() {
        Credential::ApiToken {
            token,
            origin: origin("auth.apiToken"),
        }
    } else if let Some((username, password)) = spin.basic.clone() {
        Credential::Basic {
            username,
            password,
            origin: origin("auth.basic"),
        }
    } else if let Some((username, password)) = spin.ldap.clone() {
        Credential::Ldap {
            username,
            password,
            origin: origin("auth.ldap"),
        }
    } else {
        Credential::None
    };
    let client_cert = spin.x509.clone().map(|source| ClientCertificate {
        source,
        origin: origin("auth.x509"),
    });
    if credential == Credential::None
        && client_cert.is_none()
        && let Some(method) = spin.unsupported.first()
    {
        {
            return Err(GateError::Config(format!(
                "auth.{method} in {config_name} is not supported by kujira-gen; set KUJIRA_GATE_TOKEN to a bearer token Gate accepts, or configure basic, x509, oauth2.cachedToken, apiToken or ldap"
            )));
        }
    }

    let mut headers = Vec::new();
    for h in &inputs.headers {
        headers.push(parse_header(h)?);
    }
    Ok(Settings {
        endpoint,
        endpoint_origin,
        credential,
        client_cert,
        insecure: inputs.insecure || spin.ignore_cert_errors,
        ca_cert: inputs
            .ca_cert
            .as_ref()
            .map(|p| expand_home(p, home.as_deref())),
        headers,
        ignored_auth: (!spin.ignored.is_empty()).then(|| {
            format!(
                "auth.{} in {config_name} is ignored because auth.enabled is not true",
                spin.ignored.join(", auth.")
            )
        }),
    })
}

/// Whether an extra header's value is kept out of every message: by its name
/// (`Authorization`, `X-Api-Key`, `Cookie`...) or because it is long enough to be a token.
/// Short ordinary values (`X-Env=prod`) are not, or scrubbing would mangle messages.
fn header_is_secret(name: &str, value: &str) -> bool {
    let n = name.to_ascii_lowercase();
    !value.is_empty()
        && (crate::diag::is_secret_key(&n)
            || ["key", "cookie", "session", "signature"]
                .iter()
                .any(|w| n.contains(w))
            || value.len() >= 12)
}

fn validate_endpoint(raw: &str, origin: &str) -> Result<String, GateError> {
    let bad = |why: &str| GateError::Config(format!("the Gate endpoint from {origin} {why}"));
    if !(raw.starts_with("https://") || raw.starts_with("http://")) {
        return Err(bad("must start with https:// or http://"));
    }
    // url's messages never quote the input, which may hold a password.
    let url = url::Url::parse(raw).map_err(|e| match e {
        url::ParseError::EmptyHost => bad("has no host"),
        e => bad(&format!("is not a valid URL: {e}")),
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        // Never echo it: the part before '@' is a password.
        return Err(bad(
            "must not contain credentials; put them in the spin config (auth.basic) or KUJIRA_GATE_TOKEN",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    Ok(raw.trim_end_matches('/').to_string())
}

/// `K=V` from `--header`. The value is never echoed: it may be a secret.
pub fn parse_header(raw: &str) -> Result<(String, Secret), GateError> {
    let Some((k, v)) = raw.split_once('=') else {
        return Err(GateError::Config(
            "--header expects K=V (the value given has no `=`)".into(),
        ));
    };
    let k = k.trim();
    if ureq::http::HeaderName::from_bytes(k.as_bytes()).is_err() {
        // Not echoed either: a mistyped `Authorization: Bearer x=` would put the secret
        // in the name.
        return Err(GateError::Config(
            "--header: the part before `=` is not a valid header name".into(),
        ));
    }
    if ureq::http::HeaderValue::from_str(v.trim()).is_err() {
        return Err(GateError::Config(format!(
            "--header {k}: the value must be visible ASCII or spaces, without line breaks"
        )));
    }
    Ok((k.to_string(), Secret::new(v.trim())))
}

/// `~/x` -> `$HOME/x`, like spin (go-homedir's `Expand`); `~user/x` is left alone.
///
/// Hand-written on purpose: `shellexpand::tilde` would do the same, but it is one
/// `strip_prefix`, and the crate would bring `dirs` for a home directory we already have.
pub fn expand_home(p: &Path, home: Option<&Path>) -> PathBuf {
    match (p.strip_prefix("~"), home) {
        (Ok(rest), Some(h)) => h.join(rest),
        _ => p.to_path_buf(),
    }
}

/// Replaces `$NAME` and `${NAME}` with the environment variable's value exactly as spin
/// does: spin runs Go's `os.ExpandEnv` over its config file (cmd/gateclient/client.go,
/// `userConfig`), so a config that works with spin means the same here.
///
/// Hand-written on purpose: `shellexpand` follows shell rules that differ from Go's in
/// ways that change what a password means. Go replaces an unset variable by nothing
/// (shellexpand keeps `$NAME`), reads `${A:-x}` as the variable `A:-x` (shellexpand: a
/// default value), takes one character after `$` for `$$`, `$1`, `$@` (shellexpand keeps
/// `$$`, reads `$1AB` as one name), drops a malformed `${` or `${}`, and accepts only ASCII
/// names (shellexpand: any Unicode letter).
pub fn expand_vars(s: &str, env: &dyn Fn(&str) -> Option<String>) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut copied = 0;
    let mut j = 0;
    while j < b.len() {
        if b[j] == b'$' && j + 1 < b.len() {
            out.push_str(&s[copied..j]);
            let (name, width) = shell_name(&s[j + 1..]);
            match (name, width) {
                // Bad syntax (`${`, `${}`): Go drops the characters.
                ("", w) if w > 0 => {}
                // Not followed by a name: the `$` stays.
                ("", _) => out.push('$'),
                (name, _) => out.push_str(&env(name).unwrap_or_default()),
            }
            j += width;
            copied = j + 1;
        }
        j += 1;
    }
    out.push_str(&s[copied..]);
    out
}

/// Go's `getShellName`: the variable name after a `$` and how many bytes it spans.
fn shell_name(s: &str) -> (&str, usize) {
    let b = s.as_bytes();
    let special = |c: u8| b"*#$@!?-".contains(&c) || c.is_ascii_digit();
    if b[0] == b'{' {
        if b.len() > 2 && special(b[1]) && b[2] == b'}' {
            return (&s[1..2], 3);
        }
        return match b.iter().skip(1).position(|&c| c == b'}') {
            Some(0) => ("", 2),
            Some(i) => (&s[1..=i], i + 2),
            None => ("", 1),
        };
    }
    if special(b[0]) {
        return (&s[0..1], 1);
    }
    let len = b
        .iter()
        .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
        .count();
    (&s[..len], len)
}

/// Parses the text of a spin config file.
pub fn parse_spin_config(
    text: &str,
    env: &dyn Fn(&str) -> Option<String>,
    home: Option<&Path>,
) -> Result<SpinConfig, String> {
    // No snippet: the lines around a syntax error may hold a password.
    let options = serde_saphyr::options! { with_snippet: false };
    let tree: Value = if text.trim().is_empty() {
        Value::Null
    } else {
        serde_saphyr::from_str_with_options(text, options)
            .map_err(|e| format!("not valid YAML: {}", first_line(&e.to_string())))?
    };
    let t = Tree { root: &tree, env };
    let mut c = SpinConfig {
        endpoint: t.string(&["gate", "endpoint"])?,
        ..SpinConfig::default()
    };
    if t.get(&["auth"]).is_none() {
        return Ok(c);
    }
    c.ignore_cert_errors = t.bool(&["auth", "ignoreCertErrors"])?.unwrap_or(false);
    c.auth_enabled = t.bool(&["auth", "enabled"])?.unwrap_or(false);

    let mut configured = Vec::new();
    let user_pass = |method: &str| -> Result<Option<(String, Secret)>, String> {
        if t.get(&["auth", method]).is_none() {
            return Ok(None);
        }
        let user = t.string(&["auth", method, "username"])?.unwrap_or_default();
        let pass = t.string(&["auth", method, "password"])?.unwrap_or_default();
        if user.is_empty() {
            return Err(format!("auth.{method}.username is missing or empty"));
        }
        Ok(Some((user, Secret::new(pass))))
    };
    let basic = user_pass("basic")?;
    let ldap = user_pass("ldap")?;
    let x509 = if t.get(&["auth", "x509"]).is_some() {
        let path = |k: &str| -> Result<Option<PathBuf>, String> {
            Ok(t.string(&["auth", "x509", k])?
                .filter(|s| !s.trim().is_empty())
                .map(|s| expand_home(Path::new(s.trim()), home)))
        };
        let inline = |k: &str| -> Result<Option<String>, String> {
            Ok(t.string(&["auth", "x509", k])?
                .filter(|s| !s.trim().is_empty()))
        };
        match (
            path("certPath")?,
            path("keyPath")?,
            inline("cert")?,
            inline("key")?,
        ) {
            (Some(cert), Some(key), _, _) => Some(ClientCertSource::Files { cert, key }),
            (_, _, Some(cert), Some(key)) => Some(ClientCertSource::Inline {
                cert,
                key: Secret::new(key),
            }),
            _ => {
                return Err(
                    "auth.x509 needs certPath and keyPath, or cert and key (PEM text)".into(),
                );
            }
        }
    } else {
        None
    };
    let oauth2_token = t
        .string(&["auth", "oauth2", "cachedToken", "access_token"])?
        .filter(|s| !s.trim().is_empty())
        .map(|s| Secret::new(s.trim()));
    let api_token = match t.get(&["auth", "apiToken"]) {
        Some(Value::Object(_)) => t.string(&["auth", "apiToken", "token"])?,
        Some(_) => t.string(&["auth", "apiToken"])?,
        None => None,
    }
    .filter(|s| !s.trim().is_empty())
    .map(|s| Secret::new(s.trim()));

    for (name, present) in [
        ("basic", basic.is_some()),
        ("ldap", ldap.is_some()),
        ("x509", x509.is_some()),
        ("oauth2", oauth2_token.is_some()),
        ("apiToken", api_token.is_some()),
    ] {
        if present {
            configured.push(name.to_string());
        }
    }
    let unsupported: Vec<String> = ["iap", "google_service_account"]
        .iter()
        .filter(|m| t.get(&["auth", m]).is_some_and(|v| !v.is_null()))
        .map(|m| m.to_string())
        .collect();

    if c.auth_enabled {
        c.basic = basic;
        c.ldap = ldap;
        c.x509 = x509;
        c.oauth2_token = oauth2_token;
        c.api_token = api_token;
        c.unsupported = unsupported;
    } else {
        configured.extend(unsupported);
        c.ignored = configured;
    }
    Ok(c)
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

struct Tree<'a> {
    root: &'a Value,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Tree<'_> {
    fn get(&self, path: &[&str]) -> Option<&Value> {
        let mut v = self.root;
        for k in path {
            v = v.as_object()?.get(*k)?;
        }
        (!v.is_null()).then_some(v)
    }

    /// A scalar as text, `$VARS` expanded. Never quotes the value in an error.
    fn string(&self, path: &[&str]) -> Result<Option<String>, String> {
        match self.get(path) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(expand_vars(s, self.env))),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(Value::Bool(b)) => Ok(Some(b.to_string())),
            Some(_) => Err(format!("{} must be a text value", path.join("."))),
        }
    }

    fn bool(&self, path: &[&str]) -> Result<Option<bool>, String> {
        match self.get(path) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(Value::String(s)) => match expand_vars(s, self.env).trim() {
                "true" | "True" | "TRUE" => Ok(Some(true)),
                "false" | "False" | "FALSE" | "" => Ok(Some(false)),
                _ => Err(format!("{} must be true or false", path.join("."))),
            },
            Some(_) => Err(format!("{} must be true or false", path.join("."))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k: &str| m.get(k).cloned()
    }

    #[test]
    fn expands_vars_like_go() {
        // The expected values are what Go's os.ExpandEnv gives.
        let env = env_of(&[("USER", "ci"), ("PW", "s3cr$t"), ("1", "one")]);
        assert_eq!(expand_vars("$USER:${PW}", &env), "ci:s3cr$t");
        assert_eq!(expand_vars("a $UNSET b", &env), "a  b");
        assert_eq!(expand_vars("${USER}x$USERx", &env), "cix");
        assert_eq!(expand_vars("cost $1 and $", &env), "cost one and $");
        assert_eq!(expand_vars("pa$$word", &env), "paword");
        assert_eq!(expand_vars("a$%b $ c", &env), "a$%b $ c");
        assert_eq!(expand_vars("${unterminated", &env), "unterminated");
        assert_eq!(expand_vars("x${}y", &env), "xy");
        assert_eq!(expand_vars("${USER:-default}", &env), "");
        assert_eq!(expand_vars("${1}0 ${@}", &env), "one0 ");
        assert_eq!(expand_vars("naïve$USERé", &env), "naïvecié");
    }

    #[test]
    fn parses_the_spin_example_with_every_method() {
        let text = include_str!("../../tests/fixtures/gate/spin-config-example.yaml");
        let env = env_of(&[("HOME", "/home/ci")]);
        let c = parse_spin_config(text, &env, Some(Path::new("/home/ci"))).unwrap();
        assert_eq!(
            c.endpoint.as_deref(),
            Some("https://my-spinnaker-gate:8084")
        );
        assert!(c.auth_enabled);
        assert_eq!(
            c.x509,
            Some(ClientCertSource::Files {
                cert: PathBuf::from("/home/ci/.spin/certpath"),
                key: PathBuf::from("/home/ci/.spin/keypath"),
            })
        );
        assert_eq!(c.oauth2_token, Some(Secret::new("<token>")));
        assert_eq!(c.unsupported, vec!["iap".to_string()]);
    }

    #[test]
    fn merge_keys_and_vars() {
        let text = r#"
defaults: &defaults
  username: ci-bot
  password: $GATE_PASSWORD
gate:
  endpoint: ${GATE_URL}/api
auth:
  enabled: true
  basic:
    <<: *defaults
"#;
        let env = env_of(&[("GATE_PASSWORD", "pw"), ("GATE_URL", "https://gate")]);
        let c = parse_spin_config(text, &env, None).unwrap();
        assert_eq!(c.endpoint.as_deref(), Some("https://gate/api"));
        assert_eq!(c.basic, Some(("ci-bot".into(), Secret::new("pw"))));
    }

    #[test]
    fn disabled_auth_is_ignored_but_remembered() {
        let text = "auth:\n  basic:\n    username: u\n    password: p\n";
        let c = parse_spin_config(text, &env_of(&[]), None).unwrap();
        assert_eq!(c.basic, None);
        assert_eq!(c.ignored, vec!["basic".to_string()]);
    }

    #[test]
    fn type_errors_never_quote_values() {
        let text = "auth:\n  enabled: true\n  basic:\n    username: u\n    password: [hunter2]\n";
        let e = parse_spin_config(text, &env_of(&[]), None).unwrap_err();
        assert_eq!(e, "auth.basic.password must be a text value");
        let text =
            "auth:\n  enabled: true\n  basic:\n    username: u\n    password: hunter2\n   bad: [\n";
        let e = parse_spin_config(text, &env_of(&[]), None).unwrap_err();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(e.starts_with("not valid YAML"), "{e}");
    }

    #[test]
    fn api_token_and_inline_x509() {
        let text = "auth:\n  enabled: true\n  apiToken:\n    token: abc\n  x509:\n    cert: |\n      -----BEGIN CERTIFICATE-----\n    key: K\n";
        let c = parse_spin_config(text, &env_of(&[]), None).unwrap();
        assert_eq!(c.api_token, Some(Secret::new("abc")));
        assert!(matches!(c.x509, Some(ClientCertSource::Inline { .. })));
    }

    fn write_config(dir: &Path, text: &str) -> PathBuf {
        let p = dir.join("config");
        fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn endpoint_precedence() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = write_config(dir.path(), "gate:\n  endpoint: https://from-config/\n");
        let env = env_of(&[]);
        let mut inputs = ConnectionInputs {
            spin_config: Some(cfg),
            ..Default::default()
        };
        let s = resolve(&inputs, &env).unwrap();
        assert_eq!(s.endpoint, "https://from-config");
        assert_eq!(
            s.endpoint_origin,
            format!("gate.endpoint in {}", dir.path().join("config").display())
        );
        inputs.gate = Some("http://from-flag:8084".into());
        let s = resolve(&inputs, &env).unwrap();
        assert_eq!(s.endpoint, "http://from-flag:8084");
        assert_eq!(s.endpoint_origin, "--gate");
        let env = env_of(&[("KUJIRA_GATE_ENDPOINT", "http://from-flag:8084")]);
        assert_eq!(
            resolve(&inputs, &env).unwrap().endpoint_origin,
            "KUJIRA_GATE_ENDPOINT"
        );
    }

    #[test]
    fn missing_default_config_is_fine_but_an_explicit_one_is_not() {
        let dir = tempfile::tempdir().unwrap();
        let home = dir.path().to_string_lossy().to_string();
        let env = env_of(&[("HOME", &home)]);
        let e = resolve(&ConnectionInputs::default(), &env).unwrap_err();
        assert_eq!(
            e.to_string(),
            format!(
                "no Gate endpoint: pass --gate URL, set KUJIRA_GATE_ENDPOINT, or set gate.endpoint in {}",
                dir.path().join(".spin/config").display()
            )
        );
        let inputs = ConnectionInputs {
            gate: Some("https://g".into()),
            spin_config: Some(dir.path().join("nope")),
            ..Default::default()
        };
        let e = resolve(&inputs, &env).unwrap_err().to_string();
        assert!(e.starts_with("cannot read the spin config"), "{e}");
    }

    #[test]
    fn credential_precedence_token_env_first() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = write_config(
            dir.path(),
            "auth:\n  enabled: true\n  basic:\n    username: u\n    password: p\n",
        );
        let inputs = ConnectionInputs {
            gate: Some("https://g".into()),
            spin_config: Some(cfg),
            ..Default::default()
        };
        let s = resolve(&inputs, &env_of(&[])).unwrap();
        assert!(matches!(s.credential, Credential::Basic { .. }));
        let s = resolve(&inputs, &env_of(&[("KUJIRA_GATE_TOKEN", "tok")])).unwrap();
        assert_eq!(
            s.credential.describe(),
            "a bearer token (KUJIRA_GATE_TOKEN)"
        );
        assert_eq!(s.secrets(), vec!["tok".to_string()]);
        let inputs = ConnectionInputs {
            headers: vec!["X-Api-Key=k/1 2".into()],
            ..inputs
        };
        let s = resolve(&inputs, &env_of(&[])).unwrap();
        assert!(
            s.secrets().starts_with(&["k%2F1%202".to_string()]),
            "{:?}",
            s.secrets()
        );
        assert!(s.secrets().contains(&"k/1 2".to_string()));
    }

    #[test]
    fn unsupported_only_methods_are_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = write_config(
            dir.path(),
            "auth:\n  enabled: true\n  iap:\n    iapClientId: x\n",
        );
        let inputs = ConnectionInputs {
            gate: Some("https://g".into()),
            spin_config: Some(cfg),
            ..Default::default()
        };
        let e = resolve(&inputs, &env_of(&[])).unwrap_err().to_string();
        assert!(e.starts_with("auth.iap in "), "{e}");
        assert!(e.contains("is not supported by kujira-gen"), "{e}");
    }

    #[test]
    fn endpoints_with_credentials_are_refused_without_echo() {
        let inputs = ConnectionInputs {
            gate: Some("https://u:hunter2@gate".into()),
            ..Default::default()
        };
        let e = resolve(&inputs, &env_of(&[])).unwrap_err().to_string();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(e.contains("must not contain credentials"), "{e}");
        for (endpoint, why) in [
            ("https://", "has no host"),
            (
                "https://gate:99999",
                "is not a valid URL: invalid port number",
            ),
            ("https://gate/?q=1", "must not have a query or fragment"),
        ] {
            let inputs = ConnectionInputs {
                gate: Some(endpoint.into()),
                ..Default::default()
            };
            assert_eq!(
                resolve(&inputs, &env_of(&[])).unwrap_err().to_string(),
                format!("the Gate endpoint from --gate {why}")
            );
        }
        let inputs = ConnectionInputs {
            gate: Some("https://u@gate".into()),
            ..Default::default()
        };
        assert!(
            resolve(&inputs, &env_of(&[]))
                .unwrap_err()
                .to_string()
                .contains("must not contain credentials")
        );
        let inputs = ConnectionInputs {
            gate: Some("gate:8084".into()),
            ..Default::default()
        };
        assert_eq!(
            resolve(&inputs, &env_of(&[])).unwrap_err().to_string(),
            "the Gate endpoint from --gate must start with https:// or http://"
        );
    }

    #[test]
    fn secret_headers_are_recognised() {
        assert!(header_is_secret("Authorization", "Bearer x"));
        assert!(header_is_secret("X-Api-Key", "k"));
        assert!(header_is_secret("X-Team", "0123456789abcdef"));
        assert!(!header_is_secret("X-Env", "prod"));
    }

    #[test]
    fn headers() {
        let (k, v) = parse_header("X-Team=kujira").unwrap();
        assert_eq!((k.as_str(), v.expose()), ("X-Team", "kujira"));
        let e = parse_header("Authorization: Bearer hunter2")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("hunter2"), "{e}");
        assert!(parse_header("Bad Name=x").is_err());
        assert!(parse_header("X=a\r\nb").is_err());
    }
}
