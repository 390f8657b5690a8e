//! The API resources the fake serves, and the discovery documents kubectl reads to map
//! `rollout`, `ro` or `rollouts.argoproj.io` to a URL.

use serde_json::{Value, json};

/// When a write bumps `metadata.generation`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Generation {
    /// No generation at all (ConfigMap, Service, Role, and Pod before Kubernetes 1.33).
    None,
    /// A change of `spec` (ReplicaSet, Job).
    Spec,
    /// A change of `spec` or of `metadata.annotations` (Deployment: its annotations are
    /// copied to its ReplicaSets; registry/apps/deployment/strategy.go).
    SpecOrAnnotations,
    /// A change of anything but `metadata` (and `status`, which a custom resource with the
    /// status subresource never takes from the main resource): the custom resource rule.
    NotMetadata,
}

#[derive(Debug, PartialEq, Eq)]
pub struct ResourceType {
    pub group: &'static str,
    pub version: &'static str,
    /// The plural, lower-case name used in URLs and in RBAC rules.
    pub resource: &'static str,
    pub singular: &'static str,
    pub kind: &'static str,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    /// False for namespaces, the one cluster-scoped resource served.
    pub namespaced: bool,
    /// `/status` exists: the main resource ignores status changes and `/status` only
    /// takes status changes.
    pub status: bool,
    /// `/scale` is listed in discovery (not served).
    pub scale: bool,
    /// Served by the apiextensions server: no strategic merge patch.
    pub custom: bool,
    pub generation: Generation,
}

impl ResourceType {
    /// `apps/v1`, or `v1` for the core group.
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// `rollouts.argoproj.io`, or `pods` for the core group: how the API server names a
    /// resource in its messages (schema.GroupResource.String()).
    pub fn qualified(&self) -> String {
        if self.group.is_empty() {
            self.resource.to_string()
        } else {
            format!("{}.{}", self.resource, self.group)
        }
    }

    /// The patch media types the server accepts, in the order its 415 message lists them.
    pub fn patch_types(&self) -> &'static [&'static str] {
        if self.custom {
            &[
                "application/json-patch+json",
                "application/merge-patch+json",
                "application/apply-patch+yaml",
            ]
        } else {
            &[
                "application/json-patch+json",
                "application/merge-patch+json",
                "application/strategic-merge-patch+json",
                "application/apply-patch+yaml",
            ]
        }
    }
}

const ALL: &[&str] = &["all"];
const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const SUBRESOURCE_VERBS: &[&str] = &["get", "patch", "update"];

/// A built-in resource of `apps/v1`-like shape; the table overrides what differs.
const BUILTIN: ResourceType = ResourceType {
    group: "",
    version: "v1",
    resource: "",
    singular: "",
    kind: "",
    short_names: &[],
    categories: &[],
    namespaced: true,
    status: false,
    scale: false,
    custom: false,
    generation: Generation::None,
};

/// Argo Rollouts' CRDs (manifests/crds/*.yaml, v1.9): only rollouts has the status and
/// scale subresources; none lists a category.
const ARGO: ResourceType = ResourceType {
    group: "argoproj.io",
    version: "v1alpha1",
    custom: true,
    generation: Generation::NotMetadata,
    ..BUILTIN
};

const RBAC: &str = "rbac.authorization.k8s.io";

pub static RESOURCES: &[ResourceType] = &[
    // Served read-only, derived from the objects (see api.rs): kubectl asks whether the
    // namespace exists when a get finds nothing.
    ResourceType {
        resource: "namespaces",
        singular: "namespace",
        kind: "Namespace",
        short_names: &["ns"],
        namespaced: false,
        status: true,
        ..BUILTIN
    },
    ResourceType {
        resource: "pods",
        singular: "pod",
        kind: "Pod",
        short_names: &["po"],
        categories: ALL,
        status: true,
        ..BUILTIN
    },
    ResourceType {
        resource: "services",
        singular: "service",
        kind: "Service",
        short_names: &["svc"],
        categories: ALL,
        status: true,
        ..BUILTIN
    },
    ResourceType {
        resource: "configmaps",
        singular: "configmap",
        kind: "ConfigMap",
        short_names: &["cm"],
        ..BUILTIN
    },
    ResourceType {
        resource: "serviceaccounts",
        singular: "serviceaccount",
        kind: "ServiceAccount",
        short_names: &["sa"],
        ..BUILTIN
    },
    ResourceType {
        group: "apps",
        resource: "deployments",
        singular: "deployment",
        kind: "Deployment",
        short_names: &["deploy"],
        categories: ALL,
        status: true,
        scale: true,
        generation: Generation::SpecOrAnnotations,
        ..BUILTIN
    },
    ResourceType {
        group: "apps",
        resource: "replicasets",
        singular: "replicaset",
        kind: "ReplicaSet",
        short_names: &["rs"],
        categories: ALL,
        status: true,
        scale: true,
        generation: Generation::Spec,
        ..BUILTIN
    },
    ResourceType {
        group: "batch",
        resource: "jobs",
        singular: "job",
        kind: "Job",
        categories: ALL,
        status: true,
        generation: Generation::Spec,
        ..BUILTIN
    },
    ResourceType {
        group: RBAC,
        resource: "roles",
        singular: "role",
        kind: "Role",
        ..BUILTIN
    },
    ResourceType {
        group: RBAC,
        resource: "rolebindings",
        singular: "rolebinding",
        kind: "RoleBinding",
        ..BUILTIN
    },
    ResourceType {
        resource: "rollouts",
        singular: "rollout",
        kind: "Rollout",
        short_names: &["ro"],
        status: true,
        scale: true,
        ..ARGO
    },
    ResourceType {
        resource: "analysisruns",
        singular: "analysisrun",
        kind: "AnalysisRun",
        short_names: &["ar"],
        ..ARGO
    },
    ResourceType {
        resource: "analysistemplates",
        singular: "analysistemplate",
        kind: "AnalysisTemplate",
        short_names: &["at"],
        ..ARGO
    },
    ResourceType {
        resource: "experiments",
        singular: "experiment",
        kind: "Experiment",
        short_names: &["exp"],
        ..ARGO
    },
];

/// The groups in the order discovery lists them (the core group first).
const GROUPS: &[&str] = &["", "apps", "batch", RBAC, "argoproj.io"];

/// The resource served at `/{api|apis/group}/{version}/.../{resource}`.
pub fn by_path(group: &str, version: &str, resource: &str) -> Option<&'static ResourceType> {
    RESOURCES
        .iter()
        .find(|r| r.group == group && r.version == version && r.resource == resource)
}

/// A resource by what a test calls it: `rollouts`, `rollout`, `ro`, `Rollout` or
/// `rollouts.argoproj.io`.
pub fn lookup(name: &str) -> Option<&'static ResourceType> {
    let (name, group) = match name.split_once('.') {
        Some((n, g)) => (n, Some(g)),
        None => (name, None),
    };
    RESOURCES.iter().find(|r| {
        group.is_none_or(|g| g == r.group)
            && (r.resource == name
                || r.singular == name
                || r.kind == name
                || r.short_names.contains(&name))
    })
}

/// The resource of a manifest, from its `apiVersion` and `kind`.
pub fn by_kind(api_version: &str, kind: &str) -> Option<&'static ResourceType> {
    RESOURCES
        .iter()
        .find(|r| r.api_version() == api_version && r.kind == kind)
}

/// What `/version` answers: kubectl (and Google's kubectl dispatcher, which picks the
/// client binary by the server's minor version) read it.
pub fn version() -> Value {
    json!({
        "major": "1",
        "minor": "32",
        "gitVersion": "v1.32.4",
        "gitCommit": "59526cd4867447956156ae3a602fcbac10a2c335",
        "gitTreeState": "clean",
        "buildDate": "2025-04-22T16:02:27Z",
        "goVersion": "go1.23.6",
        "compiler": "gc",
        "platform": "linux/amd64"
    })
}

/// The media type of aggregated discovery (Kubernetes >= 1.30 answers `/api` and `/apis`
/// with it when the client asks for it first in `Accept`, as kubectl 1.32 does).
pub const AGGREGATED: &str = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";

fn resource_discovery(r: &ResourceType) -> Value {
    let kind = json!({"group": "", "version": "", "kind": r.kind});
    let mut subresources = Vec::new();
    if r.status {
        subresources.push(json!({"subresource": "status", "responseKind": kind,
            "verbs": SUBRESOURCE_VERBS}));
    }
    if r.scale {
        subresources.push(json!({"subresource": "scale",
            "responseKind": {"group": "autoscaling", "version": "v1", "kind": "Scale"},
            "verbs": SUBRESOURCE_VERBS}));
    }
    let mut d = json!({
        "resource": r.resource,
        "responseKind": kind,
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": VERBS,
    });
    if !r.short_names.is_empty() {
        d["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        d["categories"] = json!(r.categories);
    }
    if !subresources.is_empty() {
        d["subresources"] = json!(subresources);
    }
    d
}

/// `APIGroupDiscoveryList` for `/api` (`core`: the core group only) or `/apis` (the rest).
pub fn aggregated(core: bool) -> Value {
    let items: Vec<Value> = GROUPS
        .iter()
        .filter(|g| g.is_empty() == core)
        .map(|g| {
            let resources: Vec<Value> = RESOURCES
                .iter()
                .filter(|r| r.group == *g)
                .map(resource_discovery)
                .collect();
            let version = RESOURCES
                .iter()
                .find(|r| r.group == *g)
                .map_or("v1", |r| r.version);
            json!({
                "metadata": {"name": g, "creationTimestamp": null},
                "versions": [{"version": version, "resources": resources, "freshness": "Current"}]
            })
        })
        .collect();
    json!({
        "kind": "APIGroupDiscoveryList",
        "apiVersion": "apidiscovery.k8s.io/v2",
        "metadata": {},
        "items": items
    })
}

/// Legacy discovery: `APIVersions` for `/api`.
pub fn legacy_core_versions(server: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server}]
    })
}

/// Legacy discovery: `APIGroupList` for `/apis`.
pub fn legacy_groups() -> Value {
    let groups: Vec<Value> = GROUPS
        .iter()
        .filter(|g| !g.is_empty())
        .filter_map(|g| group(g))
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// Legacy discovery: the `APIGroup` at `/apis/{group}`.
pub fn group(name: &str) -> Option<Value> {
    let r = RESOURCES.iter().find(|r| r.group == name)?;
    let gv = json!({"groupVersion": r.api_version(), "version": r.version});
    Some(json!({"kind": "APIGroup", "apiVersion": "v1", "name": name,
        "versions": [gv], "preferredVersion": gv}))
}

/// Legacy discovery: the `APIResourceList` at `/api/v1` or `/apis/{group}/{version}`.
pub fn legacy_resources(group: &str, version: &str) -> Option<Value> {
    let mut list = Vec::new();
    for r in RESOURCES
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let mut d = json!({
            "name": r.resource,
            "singularName": r.singular,
            "namespaced": r.namespaced,
            "kind": r.kind,
            "verbs": VERBS,
        });
        if !r.short_names.is_empty() {
            d["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            d["categories"] = json!(r.categories);
        }
        list.push(d);
        if r.status {
            list.push(
                json!({"name": format!("{}/status", r.resource), "singularName": "",
                "namespaced": r.namespaced, "kind": r.kind, "verbs": SUBRESOURCE_VERBS}),
            );
        }
        if r.scale {
            list.push(
                json!({"name": format!("{}/scale", r.resource), "singularName": "",
                "namespaced": true, "group": "autoscaling", "version": "v1", "kind": "Scale",
                "verbs": SUBRESOURCE_VERBS}),
            );
        }
    }
    if list.is_empty() {
        return None;
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv,
        "resources": list}),
    )
}

/// `/openapi/v3`: where each group version's document is.
pub fn openapi_root() -> Value {
    let mut paths = serde_json::Map::new();
    for r in RESOURCES {
        let prefix = if r.group.is_empty() { "api" } else { "apis" };
        let gv = format!("{prefix}/{}", r.api_version());
        paths.insert(
            gv.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{gv}?hash=fake")}),
        );
    }
    json!({"paths": paths})
}

/// `/openapi/v3/{api/v1|apis/group/version}`: no schemas, only each kind's PATCH
/// operation with the `fieldValidation` parameter, which is what kubectl looks for
/// before it sends `fieldValidation=Strict` instead of validating on its side
/// (cli-runtime's query_param_verifier_v3.go).
pub fn openapi_group_version(path: &str) -> Option<Value> {
    let mut paths = serde_json::Map::new();
    for r in RESOURCES {
        let prefix = if r.group.is_empty() { "api" } else { "apis" };
        if path != format!("{prefix}/{}", r.api_version()) {
            continue;
        }
        let url = if r.namespaced {
            format!("/{path}/namespaces/{{namespace}}/{}/{{name}}", r.resource)
        } else {
            format!("/{path}/{}/{{name}}", r.resource)
        };
        paths.insert(
            url,
            json!({"patch": {
                "x-kubernetes-group-version-kind":
                    {"group": r.group, "version": r.version, "kind": r.kind},
                "parameters": [{"name": "fieldValidation", "in": "query",
                    "schema": {"type": "string"}}]
            }}),
        );
    }
    if paths.is_empty() {
        return None;
    }
    Some(
        json!({"openapi": "3.0.0", "info": {"title": "Kubernetes", "version": "v1.32.4"},
        "paths": paths}),
    )
}
