//! Rules about a value file that its JSON Schema cannot express.

use super::ValueFile;
use crate::diag::{Diagnostic, is_secret_key};
use serde_json::Value;

pub fn check(file: &ValueFile) -> Vec<Diagnostic> {
    let v = &file.value;
    let mut out = Vec::new();

    // Argo Rollouts would switch traffic before the test or the judgment could stop it.
    if v.get("AutoPromotion") == Some(&Value::Bool(true)) {
        if v.get("ScenarioTest").is_some() {
            out.push(file.diagnostic(
                "/AutoPromotion",
                false,
                "cannot be true together with ScenarioTest: the test must pass before traffic is switched",
            ));
        }
        if v.get("ManualJudgment")
            .is_some_and(|j| j != &Value::Bool(false))
        {
            out.push(file.diagnostic(
                "/AutoPromotion",
                false,
                "cannot be true together with ManualJudgment: the judgment must come before traffic is switched",
            ));
        }
    }

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
