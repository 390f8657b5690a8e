//! The built-in templates, compiled into the binary so that an installed `kujira-gen`
//! works from any directory.

/// How embedded files are named in messages: `<embedded>/lib/stages.libsonnet` is
/// `templates/lib/stages.libsonnet` in kujira-gen's repository.
pub const DISPLAY_PREFIX: &str = "<embedded>/";

macro_rules! embed {
    ($($path:literal),* $(,)?) => {
        const FILES: &[(&str, &str)] = &[
            $(($path, include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/templates/", $path)))),*
        ];
    };
}

// Every file under templates/ must be listed (a test below checks it).
embed!(
    "main.jsonnet",
    "slo-status.jsonnet",
    "config.libsonnet",
    "lib/artifacts.libsonnet",
    "lib/kube.libsonnet",
    "lib/notifications.libsonnet",
    "lib/pipeline.libsonnet",
    "lib/stages.libsonnet",
    "lib/triggers.libsonnet",
    "release/jobs.libsonnet",
    "release/manifests.libsonnet",
    "release/pipeline.libsonnet",
    "release/slo.libsonnet",
    "release/slo_rules.libsonnet",
    "release/values.libsonnet",
    "slo-platform.libsonnet",
);

/// The entry point: evaluates to `function(values) {application, pipelines}` (and
/// `sloRules` for teams with SLOs).
pub const ENTRY: &str = "main.jsonnet";

/// The entry point of `slo status`: the same input as [`ENTRY`], evaluates to what each
/// environment's SLOs measure (the budget gate's queries).
pub const SLO_STATUS_ENTRY: &str = "slo-status.jsonnet";

/// Every embedded file's logical path.
pub fn paths() -> impl Iterator<Item = &'static str> {
    FILES.iter().map(|(p, _)| *p)
}

pub fn get(logical: &str) -> Option<&'static str> {
    FILES
        .iter()
        .find(|(p, _)| *p == logical)
        .map(|(_, text)| *text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_file_is_embedded() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("templates");
        let mut on_disk: Vec<String> = walkdir::WalkDir::new(&root)
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| {
                e.path()
                    .strip_prefix(&root)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/")
            })
            .collect();
        on_disk.sort();
        let mut embedded: Vec<String> = FILES.iter().map(|(p, _)| p.to_string()).collect();
        embedded.sort();
        assert_eq!(on_disk, embedded);
    }
}
