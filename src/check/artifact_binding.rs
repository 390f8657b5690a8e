//! `docker/image` artifacts checked against where Clouddriver really puts them
//! (`upstream::artifact_replacer`, docs/spinnaker-rules.md "Artifact binding"):
//! - every artifact a Deploy (Manifest) stage requires must bind into one of its
//!   manifests, or Clouddriver fails the stage;
//! - every image artifact a trigger supplies must reach a container: bound by a Deploy
//!   stage, or resolved by an expression such as
//!   `${#triggerResolvedArtifactByType('docker/image')['reference']}`;
//! - a Rollout's own container image is never replaced, whatever it is named;
//! - a Docker Hub image is named `index.docker.io/<org>/<repo>` by Spinnaker (echo-model
//!   `AbstractOCIRegistryEvent.getName`: registry + "/" + repository, the registry being
//!   the account's address without its scheme): an expected artifact named `org/app`,
//!   `app` or `docker.io/org/app` never matches a trigger's artifact.
//!
//! The binding mode is the installation's `kubernetes.artifact-binding.docker-image`;
//! kujira-gen's templates record the one they wrote a manifest for in its annotation
//! [`BINDING_ANNOTATION`] (absent: the default mode), and each manifest is checked in it.

use super::Report;
use super::path;
use super::view::{PipelineView, StageView, quote, visit_strings};
use crate::upstream::artifact_replacer::{self, Binding, image_name};
use serde_json::{Map, Value};
use std::ops::ControlFlow;

const DOCKER_IMAGE: &str = "docker/image";

/// The annotation in which the templates say for which binding mode a manifest's images
/// were written (`ArtifactBinding` in the value file or the platform's defaults).
pub const BINDING_ANNOTATION: &str = "kujira-gen.io/artifact-binding";

/// The binding mode a manifest was written for.
fn binding_of(manifest: &Value) -> Binding {
    manifest
        .pointer("/metadata/annotations")
        .and_then(|a| a.get(BINDING_ANNOTATION))
        .and_then(Value::as_str)
        .map_or(Binding::NameAndTag, Binding::from_setting)
}

fn binds(manifest: &Value, name: &str) -> bool {
    artifact_replacer::binds_in(manifest, name, binding_of(manifest))
}

/// What Spinnaker names a Docker Hub image written `name`, when `name` is one.
fn docker_hub_name(name: &str) -> Option<String> {
    let (first, rest) = name.split_once('/').unwrap_or(("", name));
    let has_host =
        !first.is_empty() && (first.contains('.') || first.contains(':') || first == "localhost");
    let path = if !has_host {
        name
    } else if first == "docker.io" || first == "index.docker.io" {
        rest
    } else {
        return None;
    };
    let canonical = if path.contains('/') {
        format!("index.docker.io/{path}")
    } else {
        format!("index.docker.io/library/{path}")
    };
    (canonical != name).then_some(canonical)
}

/// An expected artifact of type docker/image.
struct ImageArtifact<'a> {
    id: &'a str,
    name: &'a str,
}

pub fn check(view: &PipelineView, report: &mut Report) {
    let artifacts: Vec<ImageArtifact> = match view.pipeline.get("expectedArtifacts") {
        Some(Value::Array(items)) => items.iter().filter_map(image_artifact).collect(),
        _ => Vec::new(),
    };
    let deploys: Vec<&StageView> = view
        .stages
        .iter()
        .filter(|s| s.stage_type() == Some("deployManifest"))
        .filter(|s| s.str_field("source") != Some("artifact"))
        .collect();
    check_docker_hub_names(view, report);
    for stage in &deploys {
        check_required(stage, &artifacts, report);
    }
    check_triggers(view, &deploys, &artifacts, report);
    check_rollout_images(&deploys, &artifacts, report);
}

/// Expected artifacts named as a person writes a Docker Hub image.
fn check_docker_hub_names(view: &PipelineView, report: &mut Report) {
    let Some(Value::Array(items)) = view.pipeline.get("expectedArtifacts") else {
        return;
    };
    let list = path::key(&view.path, "expectedArtifacts");
    for (i, item) in items.iter().enumerate() {
        let Some(a) = image_artifact(item) else {
            continue;
        };
        if let Some(canonical) = docker_hub_name(a.name) {
            report.error(
                path::key(&path::key(&path::index(&list, i), "matchArtifact"), "name"),
                format!(
                    "{} is a Docker Hub image, which Spinnaker names {} (the registry account's host and the repository, echo AbstractOCIRegistryEvent): a trigger's artifact never matches {}, so the trigger is skipped and Deploy finds no artifact to bind; name the artifact and the pod template's image {} (the built-in templates do so for any way of writing `Image`)",
                    quote(a.name),
                    quote(&canonical),
                    quote(a.name),
                    quote(&canonical),
                ),
            );
        }
    }
}

fn image_artifact(v: &Value) -> Option<ImageArtifact<'_>> {
    let id = v.get("id")?.as_str()?;
    let m = v.get("matchArtifact")?;
    if m.get("type")?.as_str()? != DOCKER_IMAGE {
        return None;
    }
    Some(ImageArtifact {
        id,
        name: m.get("name")?.as_str()?,
    })
}

fn manifests<'a>(stage: &StageView<'a>) -> &'a [Value] {
    match stage.stage.get("manifests") {
        Some(Value::Array(items)) => items,
        _ => &[],
    }
}

fn check_required(stage: &StageView, artifacts: &[ImageArtifact], report: &mut Report) {
    let Some(Value::Array(ids)) = stage.stage.get("requiredArtifactIds") else {
        return;
    };
    let list_path = stage.field_path("requiredArtifactIds");
    for (i, id) in ids.iter().enumerate() {
        let Some(id) = id.as_str() else { continue };
        let at = path::index(&list_path, i);
        let Some(artifact) = artifacts.iter().find(|a| a.id == id) else {
            continue;
        };
        if manifests(stage).iter().any(|m| binds(m, artifact.name)) {
            continue;
        }
        report.error(
            at,
            format!(
                "required artifact {} ({DOCKER_IMAGE} {}) binds into none of this stage's manifests, so Clouddriver fails the stage (\"The following required artifacts could not be bound\"): {}",
                quote(id),
                quote(artifact.name),
                why_unbound(manifests(stage), artifact.name)
            ),
        );
    }
}

/// Why no manifest binds `name`, in words.
fn why_unbound(manifests: &[Value], name: &str) -> String {
    for m in manifests {
        let kind = m.get("kind").and_then(Value::as_str).unwrap_or("?");
        if artifact_replacer::BINDING_KINDS.contains(&kind) {
            for image in artifact_replacer::replaceable_images(m) {
                if binding_of(m) == Binding::NameOnly && image_name(image.image) == name {
                    return format!(
                        "the {kind} is written for `{}`, where the image must equal the artifact's name exactly, and {} has a tag; write {}",
                        Binding::NameOnly.setting(),
                        quote(image.image),
                        quote(name)
                    );
                }
                if image.image.starts_with(name) && image_name(image.image) != name {
                    return format!(
                        "Clouddriver reads the name of image {} in the {kind} as {} (the part before the last `:`); give it a tag, e.g. `{name}:placeholder`",
                        quote(image.image),
                        quote(image_name(image.image))
                    );
                }
            }
        } else if pod_images(m).iter().any(|i| image_name(i) == name) {
            return format!(
                "its image is in a {kind}, and Clouddriver binds images only into Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob and Pod containers (a {kind} has no artifact replacer); put the pod template in a Deployment{}",
                if kind == "Rollout" {
                    " that the Rollout references with `spec.workloadRef`"
                } else {
                    ""
                }
            );
        }
    }
    format!(
        "no container of a Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob or Pod has the image {}",
        quote(name)
    )
}

/// Every container image under a pod template or pod spec of any kind.
fn pod_images(manifest: &Value) -> Vec<&str> {
    let mut out = Vec::new();
    for pointer in ["/spec/template/spec", "/spec"] {
        if let Some(spec) = manifest.pointer(pointer) {
            for list in ["containers", "initContainers"] {
                if let Some(Value::Array(cs)) = spec.get(list) {
                    out.extend(cs.iter().filter_map(|c| c.get("image")?.as_str()));
                }
            }
        }
    }
    out
}

fn check_triggers(
    view: &PipelineView,
    deploys: &[&StageView],
    artifacts: &[ImageArtifact],
    report: &mut Report,
) {
    let Some(Value::Array(triggers)) = view.pipeline.get("triggers") else {
        return;
    };
    let by_type = format!("#triggerResolvedArtifactByType('{DOCKER_IMAGE}')");
    let resolved_by_expression = |name: &str| {
        let by_name = format!("#triggerResolvedArtifact('{name}')");
        view.pipeline.iter().any(|(_, v)| {
            visit_strings(v, &mut |_, s| {
                if s.contains("${") && (s.contains(&by_type) || s.contains(&by_name)) {
                    ControlFlow::Break(())
                } else {
                    ControlFlow::Continue(())
                }
            })
            .is_break()
        })
    };
    let triggers_path = path::key(&view.path, "triggers");
    for (t, trigger) in triggers.iter().enumerate() {
        let Some(Value::Array(ids)) = trigger.get("expectedArtifactIds") else {
            continue;
        };
        for (i, id) in ids.iter().enumerate() {
            let Some(artifact) = id
                .as_str()
                .and_then(|id| artifacts.iter().find(|a| a.id == id))
            else {
                continue;
            };
            // A required artifact is reported by `check_required`.
            let required = deploys.iter().any(|s| {
                s.stage
                    .get("requiredArtifactIds")
                    .and_then(Value::as_array)
                    .is_some_and(|ids| ids.iter().any(|i| i.as_str() == Some(artifact.id)))
            });
            let bound = required
                || deploys
                    .iter()
                    .any(|s| manifests(s).iter().any(|m| binds(m, artifact.name)));
            if bound || resolved_by_expression(artifact.name) {
                continue;
            }
            let at = path::index(
                &path::key(&path::index(&triggers_path, t), "expectedArtifactIds"),
                i,
            );
            report.error(
                at,
                format!(
                    "the trigger supplies image {} (artifact {}), but it reaches no container: no Deploy (Manifest) stage binds it ({}) and no expression resolves it",
                    quote(artifact.name),
                    quote(artifact.id),
                    deploys
                        .iter()
                        .map(|s| why_unbound(manifests(s), artifact.name))
                        .next()
                        .unwrap_or_else(|| "the pipeline deploys no manifests".to_string())
                ),
            );
        }
    }
}

fn check_rollout_images(deploys: &[&StageView], artifacts: &[ImageArtifact], report: &mut Report) {
    for stage in deploys {
        let list_path = stage.field_path("manifests");
        for (i, m) in manifests(stage).iter().enumerate() {
            if m.get("kind").and_then(Value::as_str) != Some("Rollout") {
                continue;
            }
            let Some(spec) = m.pointer("/spec/template/spec").and_then(Value::as_object) else {
                continue;
            };
            for (list, j, image) in containers(spec) {
                if image.contains("${") {
                    continue;
                }
                if let Some(a) = artifacts.iter().find(|a| image_name(image) == a.name) {
                    let at = format!(
                        "{}.spec.template.spec.{list}[{j}].image",
                        path::index(&list_path, i)
                    );
                    report.error(
                        at,
                        format!(
                            "the Rollout runs image {}, the name of artifact {}, but Clouddriver never binds artifacts into a Rollout (a custom resource without artifact replacers): it would deploy {} as written, not the trigger's image; put the pod template in a Deployment that the Rollout references with `spec.workloadRef`",
                            quote(image),
                            quote(a.id),
                            quote(image)
                        ),
                    );
                }
            }
        }
    }
}

fn containers(spec: &Map<String, Value>) -> Vec<(&'static str, usize, &str)> {
    let mut out = Vec::new();
    for list in ["containers", "initContainers"] {
        if let Some(Value::Array(cs)) = spec.get(list) {
            for (j, c) in cs.iter().enumerate() {
                if let Some(image) = c.get("image").and_then(Value::as_str) {
                    out.push((list, j, image));
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod docker_hub_tests {
    use super::docker_hub_name;

    #[test]
    fn docker_hub_names_as_spinnaker_names_them() {
        let canonical = |n: &str| docker_hub_name(n);
        assert_eq!(
            canonical("myorg/app").as_deref(),
            Some("index.docker.io/myorg/app")
        );
        assert_eq!(
            canonical("app").as_deref(),
            Some("index.docker.io/library/app")
        );
        assert_eq!(
            canonical("docker.io/myorg/app").as_deref(),
            Some("index.docker.io/myorg/app")
        );
        assert_eq!(
            canonical("docker.io/app").as_deref(),
            Some("index.docker.io/library/app")
        );
        assert_eq!(canonical("index.docker.io/myorg/app"), None);
        assert_eq!(canonical("gcr.io/p/app"), None);
        assert_eq!(canonical("localhost/app"), None);
        assert_eq!(canonical("registry.example.com:5000/team/app"), None);
    }
}
