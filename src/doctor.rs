//! `kujira-gen doctor`: what can be checked of an installation from its Gate, before the
//! first release finds out (docs/installation.md): Gate answers, the caller is
//! authenticated, every account the repository deploys to exists and is a Kubernetes
//! account, the Spinnaker version is in the supported range, and whether Fiat guards the
//! accounts. The checks are pure functions of Gate's answers; `cmd/doctor.rs` asks.

use serde_json::Value;
use std::collections::BTreeMap;

/// How one finding reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Note,
    Error,
}

impl Level {
    pub fn word(self) -> &'static str {
        match self {
            Level::Ok => "ok",
            Level::Note => "note",
            Level::Error => "error",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub level: Level,
    pub message: String,
}

fn finding(level: Level, message: impl Into<String>) -> Finding {
    Finding {
        level,
        message: message.into(),
    }
}

/// The oldest Spinnaker release kujira-gen supports (docs/installation.md, "Versions").
pub const OLDEST_MINOR: u64 = 30;

/// The version Gate reports, judged against the supported range: `1.N.x` with N at least
/// [`OLDEST_MINOR`], or a calendar version (`2025.0.0`: Spinnaker's numbering since
/// 2025). Anything else cannot be judged: a note.
pub fn version(endpoint: &str, version: &str) -> Finding {
    let parts: Vec<u64> = version
        .split(['.', '-'])
        .take(2)
        .map_while(|p| p.parse().ok())
        .collect();
    match parts.as_slice() {
        [1, minor] if *minor >= OLDEST_MINOR => finding(
            Level::Ok,
            format!(
                "Gate at {endpoint} answers: Spinnaker {version} (supported: 1.{OLDEST_MINOR} and newer)"
            ),
        ),
        [1, _] => finding(
            Level::Error,
            format!(
                "Gate at {endpoint} answers: Spinnaker {version}, older than the supported 1.{OLDEST_MINOR} (docs/installation.md, \"Versions\")"
            ),
        ),
        [year, _] if *year >= 2025 => finding(
            Level::Ok,
            format!("Gate at {endpoint} answers: Spinnaker {version}"),
        ),
        _ => finding(
            Level::Note,
            format!(
                "Gate at {endpoint} answers, with version {version:?}, which says nothing about the Spinnaker release: check it is 1.{OLDEST_MINOR} or newer"
            ),
        ),
    }
}

/// The user Gate sees (`GET /auth/user`), or none (401, 403, 404).
pub fn user(user: Option<&Value>) -> Finding {
    match user.and_then(|u| u.get("username")).and_then(Value::as_str) {
        Some("anonymous") | None => finding(
            Level::Note,
            "not authenticated (Gate sees no user, or `anonymous`): with authentication on, set KUJIRA_GATE_TOKEN, --header, or the spin config's auth",
        ),
        Some(name) => finding(Level::Ok, format!("authenticated as {name}")),
    }
}

/// The repository's accounts (account -> the value files deploying to it) against
/// Clouddriver's (`GET /credentials`).
pub fn accounts(declared: &BTreeMap<String, Vec<String>>, credentials: &[Value]) -> Vec<Finding> {
    let known: BTreeMap<&str, &str> = credentials
        .iter()
        .filter_map(|a| {
            let name = a.get("name")?.as_str()?;
            let kind = a
                .get("type")
                .or_else(|| a.get("cloudProvider"))
                .and_then(Value::as_str)
                .unwrap_or("?");
            Some((name, kind))
        })
        .collect();
    let mut out = Vec::new();
    for (account, files) in declared {
        let used_by = files.join(", ");
        match known.get(account.as_str()) {
            Some(&"kubernetes") => out.push(finding(
                Level::Ok,
                format!("account `{account}` is a Kubernetes account ({used_by})"),
            )),
            Some(kind) => out.push(finding(
                Level::Error,
                format!("account `{account}` is a `{kind}` account, not a Kubernetes one: Deploy would fail ({used_by})"),
            )),
            None => {
                let names: Vec<&str> = known
                    .iter()
                    .filter(|(_, k)| **k == "kubernetes")
                    .map(|(n, _)| *n)
                    .collect();
                out.push(finding(
                    Level::Error,
                    format!(
                        "account `{account}` does not exist in Spinnaker, or this user may not see it ({used_by}); Kubernetes accounts: {}",
                        if names.is_empty() { "none".to_string() } else { names.join(", ") }
                    ),
                ));
            }
        }
    }
    out
}

/// Whether Fiat guards the accounts: with authorization on, Clouddriver's accounts carry
/// `permissions` (READ, WRITE, EXECUTE groups).
pub fn fiat(credentials: &[Value]) -> Finding {
    let guarded = credentials.iter().any(|a| {
        a.get("permissions")
            .and_then(Value::as_object)
            .is_some_and(|p| !p.is_empty())
    });
    if guarded {
        finding(
            Level::Note,
            "Fiat: the accounts carry permissions, so authorization is on: triggers need a service account with EXECUTE (RunAsUser, docs/installation.md \"Fiat\")",
        )
    } else {
        finding(
            Level::Note,
            "Fiat: no account carries permissions: authorization looks off (nothing to set)",
        )
    }
}

/// Every `account` a pipeline's stages name.
pub fn stage_accounts(pipeline: &serde_json::Map<String, Value>) -> Vec<String> {
    let mut out = Vec::new();
    for stage in pipeline
        .get("stages")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        for key in ["account", "credentials"] {
            if let Some(a) = stage.get(key).and_then(Value::as_str)
                && !a.contains("${")
                && !out.iter().any(|x| x == a)
            {
                out.push(a.to_string());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn versions_in_and_out_of_range() {
        assert_eq!(version("g", "1.35.2").level, Level::Ok);
        assert_eq!(version("g", "1.29.0").level, Level::Error);
        assert_eq!(version("g", "2025.1.0").level, Level::Ok);
        assert_eq!(version("g", "unknown").level, Level::Note);
    }

    #[test]
    fn accounts_must_exist_and_be_kubernetes() {
        let declared: BTreeMap<String, Vec<String>> = [
            ("gke".to_string(), vec!["a/value.json".to_string()]),
            ("docker".to_string(), vec!["b/value.json".to_string()]),
            ("nope".to_string(), vec!["c/value.json".to_string()]),
        ]
        .into_iter()
        .collect();
        let credentials = vec![
            json!({"name": "gke", "type": "kubernetes"}),
            json!({"name": "docker", "type": "dockerRegistry"}),
        ];
        let levels: Vec<(Level, bool)> = accounts(&declared, &credentials)
            .into_iter()
            .map(|f| (f.level, f.message.contains("Kubernetes accounts: gke")))
            .collect();
        // Sorted by account: docker, gke, nope.
        assert_eq!(
            levels,
            vec![
                (Level::Error, false),
                (Level::Ok, false),
                (Level::Error, true)
            ]
        );
    }

    #[test]
    fn fiat_shows_in_the_accounts_permissions() {
        assert!(
            fiat(&[json!({"name": "a", "permissions": {"WRITE": ["team"]}})])
                .message
                .contains("authorization is on")
        );
        assert!(
            fiat(&[json!({"name": "a", "permissions": {}})])
                .message
                .contains("looks off")
        );
    }
}
