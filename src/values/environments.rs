//! A value file's environments, each with the values that apply to it, and where each
//! value came from (for messages that point at the line that set it).
//!
//! Four layers, the more specific winning: the environment's entry in the value file, the
//! platform's entry for an environment of the same name, the value file's top level, the
//! platform's top level (`.kujira/defaults.json`). `Env` maps are merged variable by
//! variable across the layers, and `SLO` key by key (an environment changes its gates, the
//! objectives are the application's); every other key is replaced whole. An environment
//! that sets `ScenarioTest: false` has no test, `SLO: false` no SLO gate; an `SLO` left
//! without `Objectives` (switches an environment sets for an application that declares no
//! SLO) is no SLO. A value file without `Environments` has one unnamed environment
//! (pipeline `release`), unless the platform lists default environments.

use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// The keys an environment may set.
pub const ENVIRONMENT_KEYS: &[&str] = &[
    "Account",
    // Per environment: production's triggers may run as another service account (Fiat).
    "RunAsUser",
    "Namespace",
    "Replicas",
    "Resources",
    "Env",
    "ScenarioTest",
    "ManualJudgment",
    "Notification",
    "ScaleDownDelaySeconds",
    "AutoPromotion",
    "SLO",
];

/// Keys whose object value is merged key by key over the layer below (the origin of each
/// entry is kept as `KEY/entry`), rather than replaced.
const MERGED_KEYS: &[&str] = &["Env", "SLO"];

/// Which layer set a key, with its JSON pointer in that layer's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The value file.
    File(String),
    /// The platform's defaults file.
    Platform(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Environment {
    /// `None` for the single environment of a file without `Environments`.
    pub name: Option<String>,
    /// Where the environment is declared: `/Environments/1` in the value file, or in the
    /// platform's file; `None` for the implicit single environment.
    pub declared: Option<Origin>,
    /// The top-level keys with the environment's keys applied (no `Environments`).
    pub values: Map<String, Value>,
    /// Where each key of `values` came from (for `Env`, the map as a whole: see
    /// [`Environment::origin_of`]).
    pub origins: BTreeMap<String, Origin>,
}

impl Environment {
    /// Where the value at `key` (and, for `Env`, `sub` = the variable) came from.
    pub fn origin_of(&self, key: &str, sub: Option<&str>) -> Option<Origin> {
        match sub {
            Some(var) => self.origins.get(&format!("{key}/{var}")).cloned(),
            None => self.origins.get(key).cloned(),
        }
    }
}

fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Adds `layer`'s keys (those in `keys`, or every key when `None`) over `values`.
fn apply(
    values: &mut Map<String, Value>,
    origins: &mut BTreeMap<String, Origin>,
    layer: &Map<String, Value>,
    keys: Option<&[&str]>,
    origin: &dyn Fn(String) -> Origin,
    base: &str,
) {
    for (k, v) in layer {
        if k == "Environments" || k == "Name" || keys.is_some_and(|ks| !ks.contains(&k.as_str())) {
            continue;
        }
        let pointer = format!("{base}/{}", escape(k));
        if let (true, Value::Object(vars)) = (MERGED_KEYS.contains(&k.as_str()), v) {
            // Entry by entry, over what the layers below set.
            let merged = values
                .entry(k.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if !merged.is_object() {
                *merged = Value::Object(Map::new());
            }
            for (var, value) in vars {
                if let Value::Object(m) = merged {
                    m.insert(var.clone(), value.clone());
                }
                origins.insert(
                    format!("{k}/{var}"),
                    origin(format!("{pointer}/{}", escape(var))),
                );
            }
            origins.insert(k.clone(), origin(pointer));
            continue;
        }
        values.insert(k.clone(), v.clone());
        origins.insert(k.clone(), origin(pointer));
    }
}

/// The file's values with the platform's top-level defaults under them: what the templates
/// receive as `values` (without `_kujira`).
pub fn top_level(
    file: &Map<String, Value>,
    platform: Option<&Map<String, Value>>,
) -> Map<String, Value> {
    let (mut values, _) = top_layers(file, platform);
    if let Some(envs) = file
        .get("Environments")
        .or_else(|| platform.and_then(|p| p.get("Environments")))
    {
        values.insert("Environments".into(), envs.clone());
    }
    values
}

/// The two top-level layers: the platform's defaults, the file's keys over them.
fn top_layers(
    file: &Map<String, Value>,
    platform: Option<&Map<String, Value>>,
) -> (Map<String, Value>, BTreeMap<String, Origin>) {
    let mut values = Map::new();
    let mut origins = BTreeMap::new();
    if let Some(p) = platform {
        apply(
            &mut values,
            &mut origins,
            p,
            None,
            &|ptr| Origin::Platform(ptr),
            "",
        );
    }
    apply(
        &mut values,
        &mut origins,
        file,
        None,
        &|ptr| Origin::File(ptr),
        "",
    );
    (values, origins)
}

/// The environments of a value file, in order.
pub fn expand(
    file: &Map<String, Value>,
    platform: Option<&Map<String, Value>>,
) -> Vec<Environment> {
    let platform_envs: Vec<&Map<String, Value>> = platform
        .and_then(|p| p.get("Environments"))
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_object).collect())
        .unwrap_or_default();
    let name_of =
        |e: &Map<String, Value>| e.get("Name").and_then(Value::as_str).map(str::to_string);
    // (name, the file's entry and its pointer, the platform's entry and its pointer)
    type Entry<'a> = (
        Option<String>,
        Option<(&'a Map<String, Value>, String)>,
        Option<(&'a Map<String, Value>, String)>,
    );
    let entries: Vec<Entry> = match file.get("Environments").and_then(Value::as_array) {
        Some(list) => list
            .iter()
            .enumerate()
            .filter_map(|(i, e)| e.as_object().map(|e| (i, e)))
            .map(|(i, e)| {
                let name = name_of(e);
                let from_platform = platform_envs
                    .iter()
                    .enumerate()
                    .find(|(_, p)| name.is_some() && name_of(p) == name)
                    .map(|(j, p)| (*p, format!("/Environments/{j}")));
                (name, Some((e, format!("/Environments/{i}"))), from_platform)
            })
            .collect(),
        None if !platform_envs.is_empty() => platform_envs
            .iter()
            .enumerate()
            .map(|(j, p)| (name_of(p), None, Some((*p, format!("/Environments/{j}")))))
            .collect(),
        None => vec![(None, None, None)],
    };
    entries
        .into_iter()
        .map(|(name, own, from_platform)| {
            let (mut values, mut origins) = top_layers(file, platform);
            if let Some((p, at)) = &from_platform {
                apply(
                    &mut values,
                    &mut origins,
                    p,
                    Some(ENVIRONMENT_KEYS),
                    &|ptr| Origin::Platform(ptr),
                    at,
                );
            }
            if let Some((e, at)) = &own {
                apply(
                    &mut values,
                    &mut origins,
                    e,
                    Some(ENVIRONMENT_KEYS),
                    &|ptr| Origin::File(ptr),
                    at,
                );
            }
            if values.get("ScenarioTest") == Some(&Value::Bool(false)) {
                values.remove("ScenarioTest");
            }
            if values
                .get("SLO")
                .is_some_and(|s| s.get("Objectives").is_none())
            {
                values.remove("SLO");
            }
            values.remove("Environments");
            let declared = match (&own, &from_platform) {
                (Some((_, at)), _) => Some(Origin::File(at.clone())),
                (None, Some((_, at))) => Some(Origin::Platform(at.clone())),
                (None, None) => None,
            };
            Environment {
                name,
                declared,
                values,
                origins,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn without_environments_there_is_one_unnamed_one() {
        let file = obj(json!({"Application": "a", "Account": "k", "Replicas": 3}));
        let envs = expand(&file, None);
        assert_eq!(envs.len(), 1);
        assert_eq!(envs[0].name, None);
        assert_eq!(envs[0].values["Replicas"], json!(3));
        assert_eq!(
            envs[0].origin_of("Replicas", None),
            Some(Origin::File("/Replicas".into()))
        );
    }

    #[test]
    fn the_more_specific_layer_wins_and_env_is_merged() {
        let platform = obj(json!({
            "Account": "gke-default", "Image": "gcr.io/acme/{Application}",
            "Environments": [{"Name": "production", "Account": "gke-prod", "ManualJudgment": true}]
        }));
        let file = obj(json!({
            "Application": "a", "Account": "gke-team", "Env": {"A": "1", "B": "1"},
            "ScenarioTest": {"Collection": "c.json"},
            "Environments": [
                {"Name": "staging", "Env": {"B": "2"}},
                {"Name": "production", "ScenarioTest": false, "Replicas": 4}
            ]
        }));
        let envs = expand(&file, Some(&platform));
        assert_eq!(envs.len(), 2);
        let (staging, prod) = (&envs[0], &envs[1]);
        assert_eq!(staging.values["Account"], json!("gke-team"));
        assert_eq!(staging.values["Env"], json!({"A": "1", "B": "2"}));
        assert_eq!(
            staging.origin_of("Env", Some("B")),
            Some(Origin::File("/Environments/0/Env/B".into()))
        );
        assert_eq!(
            staging.origin_of("Env", Some("A")),
            Some(Origin::File("/Env/A".into()))
        );
        assert!(staging.values.contains_key("ScenarioTest"));
        // The platform's production entry beats the file's top level...
        assert_eq!(prod.values["Account"], json!("gke-prod"));
        assert_eq!(
            prod.origin_of("Account", None),
            Some(Origin::Platform("/Environments/0/Account".into()))
        );
        assert_eq!(prod.values["ManualJudgment"], json!(true));
        // ... and the file's production entry beats everything.
        assert_eq!(prod.values["Replicas"], json!(4));
        assert!(!prod.values.contains_key("ScenarioTest"));
        assert_eq!(prod.declared, Some(Origin::File("/Environments/1".into())));
        assert!(!prod.values.contains_key("Environments"));
    }

    #[test]
    fn the_platform_may_list_the_environments() {
        let platform = obj(
            json!({"Environments": [{"Name": "staging"}, {"Name": "production", "Replicas": 3}]}),
        );
        let file = obj(json!({"Application": "a"}));
        let envs = expand(&file, Some(&platform));
        let names: Vec<_> = envs.iter().map(|e| e.name.clone().unwrap()).collect();
        assert_eq!(names, vec!["staging", "production"]);
        assert_eq!(
            envs[1].declared,
            Some(Origin::Platform("/Environments/1".into()))
        );
        assert_eq!(
            top_level(&file, Some(&platform))["Environments"],
            platform["Environments"]
        );
    }
}
