//! Kubernetes RBAC as the API server decides it for one namespaced request
//! (kubernetes `pkg/apis/rbac/v1/evaluation_helper.go`: `VerbMatches`, `APIGroupMatches`,
//! `ResourceMatches`, `ResourceNameMatches`).
//!
//! A request is allowed when one rule of a Role bound to the caller matches all of:
//! - a verb in `verbs`, or `*`;
//! - its API group in `apiGroups` (`""` is the core group), or `*`;
//! - its resource in `resources`, written `resource/subresource` for a subresource, or
//!   `*`, or `*/subresource` for that subresource of any resource;
//! - its object name in `resourceNames`, or an empty `resourceNames`. Requests without a
//!   name (list, watch, create, deletecollection) match only rules without names.

use serde_json::Value;

/// One API request, in RBAC's terms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    pub verb: &'a str,
    pub group: &'a str,
    /// `rollouts`, or `rollouts/status` for the status subresource.
    pub resource: &'a str,
    pub name: Option<&'a str>,
}

/// Whether any of `rules` (a Role's `rules` array) allows `request`. Rules of a shape the
/// API server would reject allow nothing.
pub fn allows<'r>(rules: impl IntoIterator<Item = &'r Value>, request: &Request) -> bool {
    rules.into_iter().any(|rule| rule_allows(rule, request))
}

/// The strings of the list `rule[key]` (an absent list is empty).
fn strings<'a>(rule: &'a Value, key: &str) -> impl Iterator<Item = &'a str> {
    rule.get(key)
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
}

fn rule_allows(rule: &Value, r: &Request) -> bool {
    let verb_ok = || strings(rule, "verbs").any(|v| v == "*" || v == r.verb);
    let group_ok = || strings(rule, "apiGroups").any(|g| g == "*" || g == r.group);
    let resource_ok = || {
        strings(rule, "resources").any(|res| {
            res == "*"
                || res == r.resource
                || r.resource
                    .split_once('/')
                    .is_some_and(|(_, sub)| res.strip_prefix("*/") == Some(sub))
        })
    };
    let name_ok = || {
        let mut names = strings(rule, "resourceNames").peekable();
        names.peek().is_none() || r.name.is_some_and(|n| names.any(|x| x == n))
    };
    verb_ok() && group_ok() && resource_ok() && name_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn req<'a>(verb: &'a str, group: &'a str, resource: &'a str) -> Request<'a> {
        Request {
            verb,
            group,
            resource,
            name: Some("app"),
        }
    }

    #[test]
    fn verbs_groups_and_resources_must_all_match() {
        let rules = [
            json!({"apiGroups": ["argoproj.io"], "resources": ["rollouts"], "verbs": ["get", "patch"]}),
        ];
        assert!(allows(&rules, &req("get", "argoproj.io", "rollouts")));
        assert!(!allows(&rules, &req("list", "argoproj.io", "rollouts")));
        assert!(!allows(&rules, &req("get", "apps", "rollouts")));
        // The status subresource is a resource of its own.
        assert!(!allows(
            &rules,
            &req("patch", "argoproj.io", "rollouts/status")
        ));
    }

    #[test]
    fn wildcards() {
        let rules = [json!({"apiGroups": ["*"], "resources": ["*/status"], "verbs": ["*"]})];
        assert!(allows(
            &rules,
            &req("patch", "argoproj.io", "rollouts/status")
        ));
        assert!(!allows(&rules, &req("patch", "argoproj.io", "rollouts")));
        let rules = [json!({"apiGroups": [""], "resources": ["*"], "verbs": ["list"]})];
        assert!(allows(&rules, &req("list", "", "pods")));
        assert!(!allows(&rules, &req("list", "apps", "replicasets")));
    }

    #[test]
    fn resource_names_restrict_named_requests_only() {
        let rules = [
            json!({"apiGroups": ["apps"], "resources": ["deployments"], "resourceNames": ["app"], "verbs": ["get", "list"]}),
        ];
        assert!(allows(&rules, &req("get", "apps", "deployments")));
        let mut other = req("get", "apps", "deployments");
        other.name = Some("other");
        assert!(!allows(&rules, &other));
        let mut list = req("list", "apps", "deployments");
        list.name = None;
        assert!(!allows(&rules, &list));
    }
}
