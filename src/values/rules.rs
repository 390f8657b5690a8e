//! Rules about a value file that its JSON Schema cannot express.

use super::ValueFile;
use super::environments::{Environment, Origin};
use crate::diag::{Diagnostic, is_secret_key};
use serde_json::Value;

pub fn check(file: &ValueFile, environments: &[Environment]) -> Vec<Diagnostic> {
    let v = &file.value;
    let mut out = Vec::new();

    // Kubernetes refuses a container whose request exceeds its limit ("must be less than
    // or equal to cpu limit": k8s.io/kubernetes pkg/apis/core/validation
    // ValidateResourceRequirements); Deploy would fail on it after the merge.
    for env in environments {
        let Some(Value::Object(r)) = env.values.get("Resources") else {
            continue;
        };
        let Some(Origin::File(at)) = env.origin_of("Resources", None) else {
            continue;
        };
        let scope = in_environment(env);
        for (request, limit, default) in [
            ("Cpu", "CpuLimit", "100m"),
            ("Memory", "MemoryLimit", "128Mi"),
        ] {
            let text = |k: &str| r.get(k).and_then(Value::as_str);
            let (Some(wanted), Some(cap)) = (text(request).or(Some(default)), text(limit)) else {
                continue;
            };
            if let (Some(w), Some(c)) = (quantity(wanted), quantity(cap))
                && w > c
            {
                let key = if r.contains_key(request) {
                    request
                } else {
                    limit
                };
                out.push(file.diagnostic(
                    &format!("{at}/{key}"),
                    false,
                    format!("{request} {wanted} is more than {limit} {cap}{scope}: Kubernetes refuses a request above its limit, so Deploy would fail; raise {limit} or lower {request}"),
                ));
            }
        }
    }

    // The pipeline promotes right after the preview is ready: no room for a test or a
    // judgment. Checked on each environment's values, reported where AutoPromotion is set.
    for env in environments {
        if env.values.get("AutoPromotion") != Some(&Value::Bool(true)) {
            continue;
        }
        let Some(Origin::File(at)) = env.origin_of("AutoPromotion", None) else {
            continue;
        };
        let scope = in_environment(env);
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
        // Without an account the missing `Account` is the error; comparing places says nothing.
        if let Some(other) = environments[..i]
            .iter()
            .find(|e| !here.0.is_empty() && place(e) == here)
        {
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

/// Whether the platform has set a metric provider for SLOs (`.kujira/slo.json`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SloProvider {
    /// Set; with the data retention the platform declares for it (`provider.retention`,
    /// in seconds), and the settings file, for messages.
    Configured {
        retention: Option<(String, u64)>,
        place: String,
    },
    /// None is set; the string says where the platform team sets it.
    Missing(String),
    /// The settings file has errors (reported in that file).
    Invalid(String),
}

/// Keys that state a fact of the Spinnaker installation rather than a team's choice:
/// `ArtifactBinding` is Clouddriver's `kubernetes.artifact-binding.docker-image`, one
/// setting for every pipeline it deploys (docs/platform.md).
pub const INSTALLATION_KEYS: &[&str] = &["ArtifactBinding"];

/// A value file that contradicts an installation fact the platform's defaults state (see
/// [`INSTALLATION_KEYS`]): its pod templates would be written for another installation,
/// and Deploy (Manifest) would not put the triggering image in them when the image's
/// registry has a port (docs/spinnaker-rules.md, "Artifact binding"). An error even for
/// other images: the file states something false of the installation, and a later image
/// change would find it. Setting the same value, or one the platform does not state, is
/// the team's to do.
pub fn check_installation_facts(
    file: &ValueFile,
    defaults: Option<&serde_json::Map<String, Value>>,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for key in INSTALLATION_KEYS {
        let (Some(own), Some(platform)) =
            (file.value.get(*key), defaults.and_then(|d| d.get(*key)))
        else {
            continue;
        };
        if own != platform {
            out.push(file.diagnostic(
                &format!("/{key}"),
                false,
                format!(
                    "a setting of the Spinnaker installation, which the platform's defaults state as {platform}: remove it from this file (pod templates written for {own} do not bind an image whose registry has a port on that installation)"
                ),
            ));
        }
    }
    out
}

/// Rules about `SLO` and `Canary` that their schema cannot express: a metric provider the
/// platform must configure, exact decimals, increasing weights, and the settings a canary
/// release or a preview analysis cannot work with. docs/slo.md explains each.
pub fn check_slo(
    file: &ValueFile,
    environments: &[Environment],
    provider: &SloProvider,
) -> Vec<Diagnostic> {
    let v = &file.value;
    let mut out = Vec::new();
    let file_slo = v.get("SLO").is_some_and(Value::is_object);
    let any_slo = environments.iter().any(|e| e.values.contains_key("SLO"));

    if any_slo {
        let message = match provider {
            SloProvider::Configured { .. } => None,
            SloProvider::Missing(place) => Some(format!(
                "these SLOs cannot be measured: the platform has no metric provider. The platform team must set `provider` (the `address` of the Prometheus HTTP API and its `auth`) in {place} (docs/slo.md, \"Platform settings\")"
            )),
            SloProvider::Invalid(place) => Some(format!(
                "these SLOs cannot be measured: the platform's SLO settings ({place}) have errors, reported there; no metric provider is configured until they are fixed"
            )),
        };
        if let Some(m) = message {
            out.push(file.diagnostic(if file_slo { "/SLO" } else { "" }, file_slo, m));
        }
    }

    // A window longer than the data the provider keeps would measure less than it says
    // (rate over 28d on a Prometheus keeping 15d ignores the first 13 days).
    if let SloProvider::Configured {
        retention: Some((retention, kept)),
        place,
    } = provider
        && let Some(Value::Object(objectives)) = v.pointer("/SLO/Objectives")
    {
        for (name, o) in objectives {
            let window = o.get("Window").and_then(Value::as_str).unwrap_or("28d");
            if let Some(seconds) = crate::platform::slo_rules::seconds(window)
                && seconds > *kept
            {
                let present = o.get("Window").is_some();
                let pointer = format!(
                    "/SLO/Objectives/{}{}",
                    super::parse::escape_pointer(name),
                    if present { "/Window" } else { "" }
                );
                out.push(file.diagnostic(
                    &pointer,
                    !present,
                    format!(
                        "the error budget over {window}{} needs {window} of data, but the platform's metric provider keeps {retention} (provider.retention in {place}): use a Window of at most {retention}, or have the platform keep more",
                        if present { "" } else { " (the default Window)" }
                    ),
                ));
            }
        }
    }

    // Exact decimals: the templates turn objectives into thresholds by integer arithmetic
    // (99.9 / 100 in floating point is 0.9990000000000001, which a measured 0.999 fails).
    if let Some(Value::Object(objectives)) = v.pointer("/SLO/Objectives") {
        for (name, o) in objectives {
            for (key, most) in [("Objective", 4), ("ThresholdSeconds", 6)] {
                let Some(x) = o.get(key).and_then(Value::as_f64) else {
                    continue;
                };
                let text = format!("{x}");
                let decimals = text.split_once('.').map_or(0, |(_, d)| d.len());
                if decimals > most {
                    let pointer = format!(
                        "/SLO/Objectives/{}/{key}",
                        super::parse::escape_pointer(name)
                    );
                    out.push(file.diagnostic(
                        &pointer,
                        false,
                        format!("may have at most {most} decimals, got {text}"),
                    ));
                }
            }
        }
    }

    let canary = v.get("Canary").is_some_and(Value::is_object);
    if let Some(Value::Array(steps)) = v.pointer("/Canary/Steps") {
        let weights: Vec<Option<i64>> = steps
            .iter()
            .map(|s| s.get("Weight").and_then(Value::as_i64))
            .collect();
        for i in 1..weights.len() {
            if let (Some(before), Some(w)) = (weights[i - 1], weights[i])
                && w <= before
            {
                out.push(file.diagnostic(
                    &format!("/Canary/Steps/{i}/Weight"),
                    false,
                    format!("must be greater than the weight of the step before ({before}): each step gives the new version more of the traffic, got {w}"),
                ));
            }
        }
    }
    if canary {
        for (key, why) in [
            (
                "AutoPromotion",
                "the canary steps promote the new version by themselves; the pipeline only holds the first step for a ScenarioTest or a ManualJudgment",
            ),
            (
                "ScaleDownDelaySeconds",
                "it is the blue-green strategy's delay before the previous version is scaled down; a canary release scales it down step by step",
            ),
        ] {
            for env in environments {
                if let Some(Origin::File(at)) = env.origin_of(key, None)
                    && env
                        .values
                        .get(key)
                        .is_some_and(|x| x != &Value::Bool(false))
                {
                    out.push(file.diagnostic(
                        &at,
                        true,
                        format!("cannot be set together with Canary: {why}"),
                    ));
                }
            }
        }
        for env in environments {
            if let Some(Origin::File(at)) = env.origin_of("SLO", Some("PostPromotionAnalysis"))
                && env
                    .values
                    .get("SLO")
                    .and_then(|s| s.get("PostPromotionAnalysis"))
                    == Some(&Value::Bool(true))
            {
                out.push(file.diagnostic(
                    &at,
                    false,
                    "cannot be true together with Canary: a post-promotion analysis belongs to the blue-green strategy; a canary release is analysed between its weights (Canary.Analysis)",
                ));
            }
        }
        if v.pointer("/Canary/Analysis").is_some() && !any_slo {
            let mut d = file.diagnostic(
                "/Canary/Analysis",
                true,
                "has no effect without SLO: there is nothing to analyse, the steps only change the weights and pause",
            );
            d.severity = crate::diag::Severity::Warning;
            out.push(d);
        }
    }

    // The blue-green preview receives no production traffic: only what the scenario test
    // sends it. Without a test the preview analysis measures nothing.
    if !canary {
        for env in environments {
            let Some(slo) = env.values.get("SLO") else {
                continue;
            };
            if slo.get("PreviewAnalysis") == Some(&Value::Bool(false))
                || env.values.contains_key("ScenarioTest")
            {
                continue;
            }
            let at = match env.origin_of("SLO", Some("PreviewAnalysis")) {
                Some(Origin::File(p)) => p,
                _ if file_slo => "/SLO".to_string(),
                _ => continue,
            };
            let scope = in_environment(env);
            let mut d = file.diagnostic(
                &at,
                at == "/SLO",
                format!("the preview analysis{scope} measures the preview's own requests, and without a ScenarioTest nothing sends it any (the preview Service gets no production traffic): with no requests to judge it ends Inconclusive and every release rolls back. Add a ScenarioTest, or set SLO.PreviewAnalysis to false"),
            );
            d.severity = crate::diag::Severity::Warning;
            out.push(d);
        }
    }

    // An environment's SLO gates need the application's objectives.
    if let Some(Value::Array(list)) = v.get("Environments") {
        for (i, e) in list.iter().enumerate() {
            if e.get("SLO").is_some_and(Value::is_object)
                && environments
                    .iter()
                    .find(|env| env.declared == Some(Origin::File(format!("/Environments/{i}"))))
                    .is_some_and(|env| !env.values.contains_key("SLO"))
            {
                let name = e.get("Name").and_then(Value::as_str).unwrap_or("?");
                out.push(file.diagnostic(
                    &format!("/Environments/{i}/SLO"),
                    true,
                    format!("sets SLO gates for environment `{name}`, but the application declares no SLO: its `Objectives` belong in the top-level `SLO`"),
                ));
            }
        }
    }

    let mut seen = std::collections::HashSet::new();
    out.retain(|d| seen.insert((d.line, d.column, d.message.clone())));
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

/// ` in environment `staging``, or nothing for a file without environments: how a
/// message names the environment whose values it judged.
fn in_environment(env: &Environment) -> String {
    env.name
        .as_ref()
        .map(|n| format!(" in environment `{n}`"))
        .unwrap_or_default()
}

/// A Kubernetes quantity as a number (`500m` = 0.5, `1Gi` = 2^30, `1e3` = 1000); `None`
/// for what the schema's pattern does not allow anyway.
fn quantity(text: &str) -> Option<f64> {
    let suffixes: [(&str, f64); 13] = [
        ("Ki", 1024.0),
        ("Mi", 1024f64.powi(2)),
        ("Gi", 1024f64.powi(3)),
        ("Ti", 1024f64.powi(4)),
        ("Pi", 1024f64.powi(5)),
        ("Ei", 1024f64.powi(6)),
        ("m", 1e-3),
        ("k", 1e3),
        ("M", 1e6),
        ("G", 1e9),
        ("T", 1e12),
        ("P", 1e15),
        ("E", 1e18),
    ];
    let (number, factor) = suffixes
        .iter()
        .find_map(|(s, f)| text.strip_suffix(s).map(|n| (n, *f)))
        .unwrap_or((text, 1.0));
    number.parse::<f64>().ok().map(|n| n * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantities_compare_as_kubernetes_reads_them() {
        assert_eq!(quantity("500m"), Some(0.5));
        assert_eq!(quantity("2"), Some(2.0));
        assert_eq!(quantity("1Gi"), Some(1073741824.0));
        assert_eq!(quantity("128Mi"), Some(134217728.0));
        assert!(quantity("1G") < quantity("1Gi"));
        assert_eq!(quantity("x"), None);
    }
    use serde_json::json;

    #[test]
    fn secrets_are_collected_under_secret_keys_only() {
        let v = json!({"Env": {"DB_PASSWORD": "hunter22", "LOG": "debug", "API_TOKEN": {"Secret": "s-name", "Key": "k"}}});
        // Objects iterate in key order: API_TOKEN (its Secret name) before DB_PASSWORD.
        assert_eq!(secrets(&v), vec!["s-name", "hunter22"]);
    }
}
