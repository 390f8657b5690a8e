//! RBAC as the API server evaluates a Role's rules (plugin/pkg/auth/authorizer/rbac,
//! pkg/apis/rbac/v1/evaluation_helpers.go) and the 403 it answers
//! (apiserver/pkg/endpoints/handlers/responsewriters/errors.go, apimachinery's
//! `NewForbidden`).

use serde_json::Value;

/// One entry of a Role's `rules`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Rule {
    pub api_groups: Vec<String>,
    /// `rollouts`, `rollouts/status`, `*`, `*/status`.
    pub resources: Vec<String>,
    /// Empty: every name.
    pub resource_names: Vec<String>,
    pub verbs: Vec<String>,
}

/// What the authorizer sees of a resource request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attributes<'a> {
    pub user: &'a str,
    pub verb: &'a str,
    pub group: &'a str,
    pub resource: &'a str,
    pub subresource: &'a str,
    pub namespace: &'a str,
    pub name: &'a str,
}

fn strings(v: Option<&Value>, field: &str, i: usize) -> Result<Vec<String>, String> {
    match v {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|s| {
                s.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("rules[{i}].{field}: {s} is not a string"))
            })
            .collect(),
        Some(other) => Err(format!("rules[{i}].{field}: {other} is not a list")),
    }
}

/// The rules of a Role (or ClusterRole) manifest.
pub fn rules_of_role(role: &Value) -> Result<Vec<Rule>, String> {
    let kind = role.get("kind").and_then(Value::as_str).unwrap_or("");
    if kind != "Role" && kind != "ClusterRole" {
        return Err(format!("expected a Role manifest, got kind {kind:?}"));
    }
    let rules = match role.get("rules") {
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(Value::Array(r)) => r,
        Some(other) => return Err(format!("rules: {other} is not a list")),
    };
    rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            Ok(Rule {
                api_groups: strings(r.get("apiGroups"), "apiGroups", i)?,
                resources: strings(r.get("resources"), "resources", i)?,
                resource_names: strings(r.get("resourceNames"), "resourceNames", i)?,
                verbs: strings(r.get("verbs"), "verbs", i)?,
            })
        })
        .collect()
}

impl Rule {
    pub fn allows(&self, a: &Attributes) -> bool {
        let combined = if a.subresource.is_empty() {
            a.resource.to_string()
        } else {
            format!("{}/{}", a.resource, a.subresource)
        };
        let verb = self.verbs.iter().any(|v| v == "*" || v == a.verb);
        let group = self.api_groups.iter().any(|g| g == "*" || g == a.group);
        let resource = self.resources.iter().any(|r| {
            r == "*"
                || *r == combined
                || (!a.subresource.is_empty() && r.strip_prefix("*/") == Some(a.subresource))
        });
        let name =
            self.resource_names.is_empty() || self.resource_names.iter().any(|n| n == a.name);
        verb && group && resource && name
    }
}

pub fn allowed(rules: &[Rule], a: &Attributes) -> bool {
    rules.iter().any(|r| r.allows(a))
}

/// The message of the API server's 403 for a namespaced resource request, e.g.
/// `rollouts.argoproj.io "web" is forbidden: User "system:serviceaccount:ns:sa" cannot
/// patch resource "rollouts/status" in API group "argoproj.io" in the namespace "ns"`.
pub fn forbidden_message(a: &Attributes) -> String {
    let resource = if a.subresource.is_empty() {
        a.resource.to_string()
    } else {
        format!("{}/{}", a.resource, a.subresource)
    };
    let scope = if a.namespace.is_empty() {
        "at the cluster scope".to_string()
    } else {
        format!("in the namespace {:?}", a.namespace)
    };
    let why = format!(
        "User {:?} cannot {} resource {:?} in API group {:?} {scope}",
        a.user, a.verb, resource, a.group
    );
    // The API server escapes what could read as HTML; quotes stay.
    let why = why
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    let qualified = if a.group.is_empty() {
        a.resource.to_string()
    } else {
        format!("{}.{}", a.resource, a.group)
    };
    if a.name.is_empty() {
        format!("{qualified} is forbidden: {why}")
    } else {
        format!("{qualified} {:?} is forbidden: {why}", a.name)
    }
}
