//! Clouddriver's binding of `docker/image` artifacts into manifests
//! (clouddriver-kubernetes `artifact/Replacer.java`, `artifact/ArtifactReplacer.java`, the
//! handlers in `op/handler/`, `op/manifest/KubernetesDeployManifestOperation.java`).
//!
//! - Only the handlers of these kinds declare a docker image replacer: Deployment,
//!   ReplicaSet, StatefulSet, DaemonSet, Job, CronJob (`Replacer.dockerImage()`: every
//!   `image` under `$..spec.template.spec.containers` / `initContainers`, at any depth, so
//!   a CronJob's job template counts) and Pod (`Replacer.podDockerImage()`:
//!   `spec.containers` / `spec.initContainers`). Every other kind, a `Rollout` among
//!   them (`KubernetesUnregisteredCustomResourceHandler`), binds nothing.
//! - A container's image is replaced by the artifact's `reference` when the image's name
//!   equals the artifact's `name`. The name of an image reference is the part before `@`
//!   when it has a digest, else the part before its last `:`, else all of it. So
//!   `gcr.io/p/app`, `gcr.io/p/app:1` and `gcr.io/p/app@sha256:..` all bind an artifact
//!   named `gcr.io/p/app`, but `localhost:5000/app` is read as `localhost` and binds
//!   nothing (give such an image a placeholder tag).
//! - With `kubernetes.artifact-binding.docker-image: match-name-only` (Clouddriver
//!   `KubernetesHandler`; default `match-name-and-tag`) the image must equal the
//!   artifact's name exactly, without a tag ([`Binding`]).
//! - With artifact binding on (the default, `enableArtifactBinding`), a required artifact
//!   that binds into no manifest of the stage fails it: "The following required artifacts
//!   could not be bound".

use serde_json::Value;

/// The kinds whose Clouddriver handler binds `docker/image` artifacts.
pub const BINDING_KINDS: &[&str] = &[
    "Deployment",
    "ReplicaSet",
    "StatefulSet",
    "DaemonSet",
    "Job",
    "CronJob",
    "Pod",
];

/// The name Clouddriver reads from an image reference (`Replacer.DOCKER_IMAGE`'s
/// `nameFromReference`).
pub fn image_name(reference: &str) -> &str {
    if let Some(at) = reference.find('@') {
        return &reference[..at];
    }
    match reference.rfind(':') {
        Some(colon) => &reference[..colon],
        None => reference,
    }
}

/// One container image Clouddriver would consider, with its JSON pointer in the manifest.
#[derive(Debug, Clone, PartialEq)]
pub struct Image<'a> {
    pub pointer: String,
    pub image: &'a str,
}

/// The container images of `manifest` that Clouddriver may replace, or none when its kind
/// binds nothing.
pub fn replaceable_images(manifest: &Value) -> Vec<Image<'_>> {
    let kind = manifest.get("kind").and_then(Value::as_str).unwrap_or("");
    let mut out = Vec::new();
    if kind == "Pod" {
        if let Some(spec) = manifest.get("spec") {
            containers_of(spec, "/spec", &mut out);
        }
    } else if BINDING_KINDS.contains(&kind) {
        templates(manifest, "", &mut out);
    }
    out
}

/// Every image that `$..spec.template.spec[containers|initContainers][*].image` selects.
fn templates<'a>(value: &'a Value, at: &str, out: &mut Vec<Image<'a>>) {
    match value {
        Value::Object(map) => {
            if let Some(pod_spec) = map
                .get("spec")
                .and_then(|s| s.get("template"))
                .and_then(|t| t.get("spec"))
            {
                containers_of(pod_spec, &format!("{at}/spec/template/spec"), out);
            }
            for (k, v) in map {
                templates(v, &format!("{at}/{}", escape(k)), out);
            }
        }
        Value::Array(items) => {
            for (i, v) in items.iter().enumerate() {
                templates(v, &format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

fn containers_of<'a>(pod_spec: &'a Value, at: &str, out: &mut Vec<Image<'a>>) {
    for list in ["containers", "initContainers"] {
        if let Some(Value::Array(items)) = pod_spec.get(list) {
            for (i, c) in items.iter().enumerate() {
                if let Some(image) = c.get("image").and_then(Value::as_str) {
                    let pointer = format!("{at}/{list}/{i}/image");
                    if !out.iter().any(|x| x.pointer == pointer) {
                        out.push(Image { pointer, image });
                    }
                }
            }
        }
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Clouddriver's `kubernetes.artifact-binding.docker-image` setting (`KubernetesHandler`,
/// default `match-name-and-tag`), as `Replacer.replaceIfPossible` applies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Binding {
    /// `match-name-and-tag`: the image's name ([`image_name`]) equals the artifact's name,
    /// whatever its tag (`replacePathFromPlaceholder`).
    NameAndTag,
    /// `match-name-only`: the image equals the artifact's name exactly, so an image with a
    /// tag or digest binds nothing (`legacyReplaceFilter`: `image == name`).
    NameOnly,
}

impl Binding {
    /// The setting's value; anything but `match-name-only` is the default mode, as in
    /// Clouddriver.
    pub fn from_setting(value: &str) -> Binding {
        if value == "match-name-only" {
            Binding::NameOnly
        } else {
            Binding::NameAndTag
        }
    }

    pub fn setting(self) -> &'static str {
        match self {
            Binding::NameAndTag => "match-name-and-tag",
            Binding::NameOnly => "match-name-only",
        }
    }

    /// Whether Clouddriver binds an artifact named `name` into a container with `image`.
    pub fn matches(self, image: &str, name: &str) -> bool {
        match self {
            Binding::NameAndTag => image_name(image) == name,
            Binding::NameOnly => image == name,
        }
    }
}

/// Whether an artifact named `name` binds into `manifest` (the default binding mode).
pub fn binds(manifest: &Value, name: &str) -> bool {
    binds_in(manifest, name, Binding::NameAndTag)
}

/// Whether an artifact named `name` binds into `manifest` in `binding` mode.
pub fn binds_in(manifest: &Value, name: &str, binding: Binding) -> bool {
    replaceable_images(manifest)
        .iter()
        .any(|i| binding.matches(i.image, name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_two_binding_modes() {
        let by_tag = Binding::NameAndTag;
        let exact = Binding::NameOnly;
        assert!(by_tag.matches("gcr.io/p/app", "gcr.io/p/app"));
        assert!(exact.matches("gcr.io/p/app", "gcr.io/p/app"));
        assert!(by_tag.matches("gcr.io/p/app:1", "gcr.io/p/app"));
        assert!(!exact.matches("gcr.io/p/app:1", "gcr.io/p/app"));
        // A registry port: the placeholder tag binds in one mode only, the plain name in
        // the other only.
        assert!(by_tag.matches("h:5000/app:from-trigger", "h:5000/app"));
        assert!(!exact.matches("h:5000/app:from-trigger", "h:5000/app"));
        assert!(exact.matches("h:5000/app", "h:5000/app"));
        assert!(!by_tag.matches("h:5000/app", "h:5000/app"));
        assert_eq!(Binding::from_setting("match-name-only"), exact);
        assert_eq!(Binding::from_setting("anything else"), by_tag);
    }

    #[test]
    fn image_names_as_clouddriver_reads_them() {
        assert_eq!(image_name("gcr.io/p/app"), "gcr.io/p/app");
        assert_eq!(image_name("gcr.io/p/app:1.2"), "gcr.io/p/app");
        assert_eq!(image_name("gcr.io/p/app@sha256:abc"), "gcr.io/p/app");
        assert_eq!(image_name("gcr.io/p/app:1@sha256:abc"), "gcr.io/p/app:1");
        // A registry port without a tag is read as a tag.
        assert_eq!(image_name("localhost:5000/app"), "localhost");
        assert_eq!(image_name("localhost:5000/app:v1"), "localhost:5000/app");
    }

    fn pod_template(image: &str) -> Value {
        json!({"spec": {"containers": [{"name": "a", "image": image}],
                        "initContainers": [{"name": "i", "image": "busybox"}]}})
    }

    #[test]
    fn workloads_bind_rollouts_and_services_do_not() {
        let deployment =
            json!({"kind": "Deployment", "spec": {"template": pod_template("gcr.io/p/app")}});
        assert!(binds(&deployment, "gcr.io/p/app"));
        assert!(binds(&deployment, "busybox"));
        let rollout =
            json!({"kind": "Rollout", "spec": {"template": pod_template("gcr.io/p/app")}});
        assert!(!binds(&rollout, "gcr.io/p/app"));
        assert_eq!(replaceable_images(&rollout), vec![]);
    }

    #[test]
    fn a_cron_jobs_nested_template_and_a_pods_own_spec_bind() {
        let cron = json!({"kind": "CronJob", "spec": {"jobTemplate": {"spec": {"template": pod_template("x/y:1")}}}});
        assert_eq!(
            replaceable_images(&cron)
                .iter()
                .map(|i| i.pointer.as_str())
                .collect::<Vec<_>>(),
            vec![
                "/spec/jobTemplate/spec/template/spec/containers/0/image",
                "/spec/jobTemplate/spec/template/spec/initContainers/0/image"
            ]
        );
        assert!(binds(&cron, "x/y"));
        let pod = json!({"kind": "Pod", "spec": {"containers": [{"image": "x/y"}]}});
        assert!(binds(&pod, "x/y"));
    }
}
