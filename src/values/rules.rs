//! Rules about a value file that its JSON Schema cannot express.

use super::ValueFile;
use super::environments::{Environment, Origin};
use crate::diag::{Diagnostic, is_secret_key};
use serde_json::Value;

pub fn check(file: &ValueFile, environments: &[Environment]) -> Vec<Diagnostic> {
    let v = &file.value;
    let mut out = Vec::new();

    // The pipeline promotes right after the preview is ready: no room for a test or a
    // judgment. Checked on each environment's values, reported where AutoPromotion is set.
    for env in environments {
        if env.values.get("AutoPromotion") != Some(&Value::Bool(true)) {
            continue;
        }
        let Some(Origin::File(at)) = env.origin_of("AutoPromotion", None) else {
            continue;
        };
        let scope = env
            .name
            .as_ref()
            .map(|n| format!(" in environment `{n}`"))
            .unwrap_or_default();
        if env.values.contains_key("ScenarioTest") {
            out.push(file.diagnostic(
                &at,
                false,
                format!("cannot be true together with ScenarioTest{scope}: the test must pass before traffic is switched"),
            ));
        }
        if env
            .values
            .get("ManualJudgment")
            .is_some_and(|j| j != &Value::Bool(false))
        {
            out.push(file.diagnostic(
                &at,
                false,
                format!("cannot be true together with ManualJudgment{scope}: the judgment must come before traffic is switched"),
            ));
        }
    }
    // The same AutoPromotion may clash in several environments in the same words.
    let mut seen = std::collections::HashSet::new();
    out.retain(|d| seen.insert((d.line, d.column, d.message.clone())));

    check_environments(file, environments, &mut out);

    // A literal secret in Env would be readable by everyone with Spinnaker access.
    if let Some(Value::Object(env)) = v.get("Env") {
        for (name, value) in env {
            if is_secret_key(name) && value.as_str().is_some_and(|s| !s.is_empty()) {
                let pointer = format!("/Env/{}", super::parse::escape_pointer(name));
                let mut d = file.diagnostic(
                    &pointer,
                    false,
                    format!(
                        "`{name}` looks like a secret: its value would be readable by everyone with Spinnaker access; \
                         use {{\"Secret\": \"<secret name>\", \"Key\": \"<key>\"}}"
                    ),
                );
                d.severity = crate::diag::Severity::Warning;
                out.push(d);
            }
        }
    }
    out
}

/// Environment names are unique (they name pipelines), and no two environments deploy to
/// the same namespace of the same account (their objects have the same names).
fn check_environments(file: &ValueFile, environments: &[Environment], out: &mut Vec<Diagnostic>) {
    let application = file
        .value
        .get("Application")
        .and_then(Value::as_str)
        .unwrap_or_default();
    for (i, env) in environments.iter().enumerate() {
        let Some(Origin::File(at)) = &env.declared else {
            continue;
        };
        let Some(name) = &env.name else { continue };
        if !env.values.contains_key("Account") {
            out.push(file.diagnostic(
                at,
                false,
                format!("environment `{name}` has no `Account` (the Spinnaker Kubernetes account to deploy to): set it here, or at the top level for every environment"),
            ));
        }
        if let Some(first) = environments[..i]
            .iter()
            .find(|e| e.name.as_ref() == Some(name))
        {
            let first_at = match &first.declared {
                Some(Origin::File(p)) => {
                    let (l, c) = file.position(p, false);
                    format!(" (first at {l}:{c})")
                }
                _ => String::new(),
            };
            out.push(file.diagnostic(
                &format!("{at}/Name"),
                false,
                format!("a second environment named `{name}`{first_at}: names must be unique, each names a pipeline"),
            ));
            continue;
        }
        let place = |e: &Environment| {
            let account = e
                .values
                .get("Account")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            let namespace = e
                .values
                .get("Namespace")
                .and_then(Value::as_str)
                .unwrap_or(application)
                .to_string();
            (account, namespace)
        };
        let here = place(env);
        if let Some(other) = environments[..i].iter().find(|e| place(e) == here) {
            out.push(file.diagnostic(
                at,
                false,
                format!(
                    "environment `{name}` deploys to namespace `{}` of account `{}`, like environment `{}`: their Rollouts, Services and jobs would be the same objects; give one of them another `Namespace` or `Account`",
                    here.1,
                    here.0,
                    other.name.as_deref().unwrap_or("?")
                ),
            ));
        }
    }
}

/// Values under secret-looking keys: scrubbed from every message about this file.
pub fn secrets(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    collect_secrets(v, false, &mut out);
    out
}

fn collect_secrets(v: &Value, secret: bool, out: &mut Vec<String>) {
    match v {
        // Short strings would scrub ordinary words out of messages; they are not secrets anyway.
        Value::String(s) if secret && s.len() >= 4 => out.push(s.clone()),
        Value::Object(m) => m
            .iter()
            .for_each(|(k, x)| collect_secrets(x, secret || is_secret_key(k), out)),
        Value::Array(a) => a.iter().for_each(|x| collect_secrets(x, secret, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn secrets_are_collected_under_secret_keys_only() {
        let v = json!({"Env": {"DB_PASSWORD": "hunter22", "LOG": "debug", "API_TOKEN": {"Secret": "s-name", "Key": "k"}}});
        // Objects iterate in key order: API_TOKEN (its Secret name) before DB_PASSWORD.
        assert_eq!(secrets(&v), vec!["s-name", "hunter22"]);
    }
}
