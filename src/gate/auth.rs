//! Credentials: what is sent to Gate, and how it is named in messages without its value.

use std::fmt;
use std::fs;
use std::path::PathBuf;
use ureq::tls::{Certificate, ClientCert, PemItem, PrivateKey};

/// A password, token or key. Its `Debug` never shows the value; only [`Secret::expose`]
/// does, at the point where it is sent.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Self(s.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(***)")
    }
}

/// How requests authenticate, besides a TLS client certificate. `origin` says where the
/// credential came from (`auth.basic in /home/ci/.spin/config`, `KUJIRA_GATE_TOKEN`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credential {
    None,
    /// HTTP basic authentication on every request.
    Basic {
        username: String,
        password: Secret,
        origin: String,
    },
    /// `Authorization: Bearer` (an OAuth2 access token).
    Bearer {
        token: Secret,
        origin: String,
    },
    /// `X-Spinnaker-Token`.
    ApiToken {
        token: Secret,
        origin: String,
    },
    /// A form login (`POST /login`) once; the session cookie authenticates the rest.
    Ldap {
        username: String,
        password: Secret,
        origin: String,
    },
}

impl Credential {
    /// Names the credential for messages; never includes the secret.
    pub fn describe(&self) -> String {
        match self {
            Credential::None => crate::gate::error::NO_CREDENTIALS.into(),
            Credential::Basic {
                username, origin, ..
            } => format!("HTTP basic auth as `{username}` ({origin})"),
            Credential::Bearer { origin, .. } => format!("a bearer token ({origin})"),
            Credential::ApiToken { origin, .. } => {
                format!("an API token in X-Spinnaker-Token ({origin})")
            }
            Credential::Ldap {
                username, origin, ..
            } => format!("an LDAP login as `{username}` ({origin})"),
        }
    }

    /// The headers sent with every request.
    pub fn headers(&self) -> Vec<(String, Secret)> {
        match self {
            Credential::Basic {
                username, password, ..
            } => vec![(
                "Authorization".into(),
                Secret::new(format!(
                    "Basic {}",
                    base64(format!("{username}:{}", password.expose()).as_bytes())
                )),
            )],
            Credential::Bearer { token, .. } => vec![(
                "Authorization".into(),
                Secret::new(format!("Bearer {}", token.expose())),
            )],
            Credential::ApiToken { token, .. } => {
                vec![("X-Spinnaker-Token".into(), token.clone())]
            }
            Credential::None | Credential::Ldap { .. } => Vec::new(),
        }
    }

    /// Every string that must never be printed: the secret and every encoding of it that
    /// an answer could echo (see [`forms_of`]).
    pub fn secrets(&self) -> Vec<String> {
        let raw: Vec<String> = match self {
            Credential::Basic {
                username, password, ..
            } => vec![
                password.expose().to_string(),
                base64(format!("{username}:{}", password.expose()).as_bytes()),
                base64(password.expose().as_bytes()),
            ],
            Credential::Ldap { password, .. } => vec![password.expose().to_string()],
            Credential::Bearer { token, .. } | Credential::ApiToken { token, .. } => {
                vec![token.expose().to_string()]
            }
            Credential::None => Vec::new(),
        };
        let mut out: Vec<String> = raw
            .iter()
            .filter(|s| !s.is_empty())
            .flat_map(|s| forms_of(s))
            .collect();
        out.sort();
        out.dedup();
        out
    }
}

/// Where a TLS client certificate (x509 authentication) comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientCertSource {
    Files {
        cert: PathBuf,
        key: PathBuf,
    },
    /// PEM text inline in the spin config (`auth.x509.cert`, `auth.x509.key`).
    Inline {
        cert: String,
        key: Secret,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClientCertificate {
    pub source: ClientCertSource,
    pub origin: String,
}

impl ClientCertificate {
    pub fn describe(&self) -> String {
        match &self.source {
            ClientCertSource::Files { cert, .. } => {
                format!(
                    "the x509 client certificate {} ({})",
                    cert.display(),
                    self.origin
                )
            }
            ClientCertSource::Inline { .. } => {
                format!("the inline x509 client certificate ({})", self.origin)
            }
        }
    }

    pub fn secrets(&self) -> Vec<String> {
        match &self.source {
            ClientCertSource::Inline { key, .. } if !key.is_empty() => {
                vec![key.expose().to_string()]
            }
            _ => Vec::new(),
        }
    }

    /// Reads and parses the certificate chain and its (unencrypted) key.
    pub fn load(&self) -> Result<ClientCert, String> {
        let (cert_pem, key_pem, cert_name, key_name) = match &self.source {
            ClientCertSource::Files { cert, key } => (
                fs::read(cert).map_err(|e| format!("cannot read {}: {e}", cert.display()))?,
                Secret::new(
                    String::from_utf8(
                        fs::read(key).map_err(|e| format!("cannot read {}: {e}", key.display()))?,
                    )
                    .map_err(|_| format!("{} is not a PEM file", key.display()))?,
                ),
                cert.display().to_string(),
                key.display().to_string(),
            ),
            ClientCertSource::Inline { cert, key } => (
                cert.as_bytes().to_vec(),
                key.clone(),
                format!("auth.x509.cert ({})", self.origin),
                format!("auth.x509.key ({})", self.origin),
            ),
        };
        let chain = certificates(&cert_pem, &cert_name)?;
        let key = private_key(key_pem.expose().as_bytes(), &key_name)?;
        Ok(ClientCert::new_with_certs(&chain, key))
    }
}

/// Every certificate in a PEM file (a chain, or a CA bundle).
pub fn certificates(pem: &[u8], name: &str) -> Result<Vec<Certificate<'static>>, String> {
    let mut out = Vec::new();
    for item in ureq::tls::parse_pem(pem) {
        match item {
            Ok(PemItem::Certificate(c)) => out.push(c),
            Ok(_) => {}
            Err(e) => return Err(format!("{name}: not a valid PEM file: {e}")),
        }
    }
    if out.is_empty() {
        return Err(format!("{name} holds no PEM certificate"));
    }
    Ok(out)
}

fn private_key(pem: &[u8], name: &str) -> Result<PrivateKey<'static>, String> {
    for item in ureq::tls::parse_pem(pem) {
        match item {
            Ok(PemItem::PrivateKey(k)) => return Ok(k),
            Ok(_) => {}
            // The parser's message does not quote the input.
            Err(e) => return Err(format!("{name}: not a valid PEM file: {e}")),
        }
    }
    Err(format!(
        "{name} holds no unencrypted PEM private key (PKCS#8, PKCS#1 or SEC1)"
    ))
}

/// Standard base64 with padding (RFC 4648), for HTTP basic authentication.
pub fn base64(input: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(input)
}

/// Every form in which `secret` could come back in an answer: as is, percent-encoded
/// (path and form style, upper- and lower-case hex), and for `encoded` secrets (base64)
/// without their `=` padding too, since a truncated or re-encoded token still gives the
/// rest away.
pub fn forms_of(secret: &str) -> Vec<String> {
    let mut out = vec![secret.to_string()];
    let unpadded = secret.trim_end_matches('=');
    if unpadded.len() != secret.len() && unpadded.len() >= 8 {
        out.push(unpadded.to_string());
    }
    for s in out.clone() {
        for encoded in [
            crate::gate::encode_segment(&s),
            crate::gate::encode_form_value(&s),
        ] {
            out.push(lower_hex(&encoded));
            out.push(encoded);
        }
    }
    out.retain(|s| !s.is_empty());
    out.sort();
    out.dedup();
    out
}

/// `%2F` -> `%2f`.
fn lower_hex(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut after_percent = 0;
    for c in s.chars() {
        if c == '%' {
            after_percent = 2;
            out.push(c);
        } else if after_percent > 0 {
            after_percent -= 1;
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_matches_rfc_4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(base64(plain.as_bytes()), encoded);
        }
    }

    #[test]
    fn basic_auth_header() {
        let c = Credential::Basic {
            username: "Aladdin".into(),
            password: Secret::new("open sesame"),
            origin: "auth.basic in c".into(),
        };
        let h = c.headers();
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].0, "Authorization");
        assert_eq!(h[0].1.expose(), "Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==");
        assert_eq!(
            c.describe(),
            "HTTP basic auth as `Aladdin` (auth.basic in c)"
        );
        for form in [
            "open sesame",
            "open%20sesame",
            "open+sesame",
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ==",
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ%3D%3D",
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ%3d%3d",
            "QWxhZGRpbjpvcGVuIHNlc2FtZQ",
        ] {
            assert!(c.secrets().contains(&form.to_string()), "{form}");
        }
    }

    #[test]
    fn token_headers() {
        let bearer = Credential::Bearer {
            token: Secret::new("t0k"),
            origin: "KUJIRA_GATE_TOKEN".into(),
        };
        assert_eq!(bearer.headers()[0].1.expose(), "Bearer t0k");
        assert_eq!(bearer.describe(), "a bearer token (KUJIRA_GATE_TOKEN)");
        let api = Credential::ApiToken {
            token: Secret::new("t0k"),
            origin: "o".into(),
        };
        assert_eq!(api.headers()[0].0, "X-Spinnaker-Token");
        assert_eq!(api.headers()[0].1.expose(), "t0k");
        let ldap = Credential::Ldap {
            username: "u".into(),
            password: Secret::new("p w"),
            origin: "o".into(),
        };
        assert!(
            ldap.headers().is_empty(),
            "LDAP logs in once, then uses a cookie"
        );
        assert_eq!(ldap.secrets(), vec!["p w", "p%20w", "p+w"]);
    }

    #[test]
    fn secret_forms_cover_percent_encodings_and_unpadded_base64() {
        assert_eq!(forms_of("a/b"), vec!["a%2Fb", "a%2fb", "a/b"]);
        let f = forms_of("Y2k6cA==");
        for form in ["Y2k6cA==", "Y2k6cA%3D%3D", "Y2k6cA%3d%3d"] {
            assert!(f.contains(&form.to_string()), "{f:?}");
        }
        assert!(
            !f.contains(&"Y2k6cA".to_string()),
            "too short to mask alone: {f:?}"
        );
    }

    #[test]
    fn debug_never_shows_a_secret() {
        let c = Credential::Bearer {
            token: Secret::new("hunter2"),
            origin: "o".into(),
        };
        assert!(!format!("{c:?}").contains("hunter2"));
    }

    #[test]
    fn bad_pem_is_reported_without_its_content() {
        let c = ClientCertificate {
            source: ClientCertSource::Inline {
                cert: "not a certificate".into(),
                key: Secret::new("SECRETKEY"),
            },
            origin: "cfg".into(),
        };
        let e = c.load().unwrap_err();
        assert_eq!(e, "auth.x509.cert (cfg) holds no PEM certificate");
    }
}
