//! Spinnaker's side as data: an application and its pipelines as Gate returned them,
//! kept small.
//!
//! A pipeline read from Gate is reduced on arrival to what the plan decides on (name, id,
//! marker, a digest of its content). Its full JSON is kept, as compact text, only when
//! something may need it later (a diff, a save, a rename); a pipeline that is exactly what
//! a value file declares keeps no body at all. A no-op push of a thousand teams so holds a
//! few hundred bytes per remote pipeline instead of its whole tree.

use crate::marker;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;

/// One application as Gate has it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RemoteApp {
    pub name: String,
    /// `None` when the application does not exist.
    pub attributes: Option<Map<String, Value>>,
    pub pipelines: Vec<RemotePipeline>,
}

/// One pipeline as Gate has it.
#[derive(Debug, Clone, PartialEq)]
pub struct RemotePipeline {
    pub name: String,
    pub application: String,
    /// Front50's id as stored (a string, unless someone stored something else).
    pub id: Option<Value>,
    /// The kujira-gen marker, when it has one.
    pub marker: Option<Map<String, Value>>,
    /// [`marker::digest`] of the pipeline as read: equal digests, equal content.
    pub digest: String,
    /// Generated, but no longer matching its own marker: edited in Spinnaker.
    pub drifted: bool,
    pub last_modified_by: Option<String>,
    pub update_ts: Option<String>,
    /// The whole pipeline as compact JSON, unless it was left out as not needed.
    json: Option<Arc<str>>,
}

impl RemotePipeline {
    /// Everything kept.
    pub fn from_map(pipeline: Map<String, Value>) -> Self {
        Self::read(pipeline, &|_| true)
    }

    /// Keeps the body only when `keep_body` says so, seeing the pipeline's facts.
    pub fn read(pipeline: Map<String, Value>, keep_body: &dyn Fn(&RemotePipeline) -> bool) -> Self {
        let text = |k: &str| match pipeline.get(k) {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            _ => None,
        };
        let digest = marker::digest(&pipeline);
        let marker = marker::marker_of(&pipeline).cloned();
        let drifted = match marker
            .as_ref()
            .map(|m| m.get("digest").and_then(Value::as_str))
        {
            Some(Some(recorded)) => recorded != digest,
            Some(None) => true,
            None => false,
        };
        let mut r = Self {
            name: text("name").unwrap_or_default(),
            application: text("application").unwrap_or_default(),
            id: pipeline.get("id").cloned().filter(|v| !v.is_null()),
            marker,
            digest,
            drifted,
            last_modified_by: text("lastModifiedBy"),
            update_ts: text("updateTs"),
            json: None,
        };
        if keep_body(&r) {
            r.json = serde_json::to_string(&pipeline).ok().map(Arc::from);
        }
        r
    }

    pub fn is_generated(&self) -> bool {
        self.marker.is_some()
    }

    /// The pipeline as Gate returned it, when its body was kept.
    pub fn body(&self) -> Option<Map<String, Value>> {
        let text = self.json.as_deref()?;
        match serde_json::from_str(text) {
            Ok(Value::Object(m)) => Some(m),
            _ => None,
        }
    }

    /// Sets the body left out on reading, from a pipeline known to have this content.
    pub fn set_body(&mut self, pipeline: &Map<String, Value>) {
        self.json = serde_json::to_string(pipeline).ok().map(Arc::from);
    }

    pub fn has_body(&self) -> bool {
        self.json.is_some()
    }

    /// The id for messages.
    pub fn id_text(&self) -> String {
        match &self.id {
            Some(Value::String(s)) => s.clone(),
            Some(other) => other.to_string(),
            None => "no id".into(),
        }
    }

    /// Exactly what a pipeline with this marker and content digest would leave behind.
    pub fn matches(&self, marker: Option<&Map<String, Value>>, digest: &str) -> bool {
        self.digest == digest && self.marker.as_ref() == marker
    }
}

/// What each declared (or written) pipeline should look like in Spinnaker, by application
/// and name: a remote pipeline that matches needs no body.
#[derive(Debug, Default)]
pub struct Expected {
    by_key: HashMap<(String, String), Looks>,
    /// Keep no body at all: nothing will show a diff (a push printing its plan lines).
    no_bodies: bool,
}

/// A pipeline's marker and content digest.
type Looks = (Option<Map<String, Value>>, String);

impl Expected {
    pub fn insert(
        &mut self,
        app: &str,
        name: &str,
        marker: Option<Map<String, Value>>,
        digest: String,
    ) {
        self.by_key.insert(key(app, name), (marker, digest));
    }

    /// Whether `p` is exactly what is expected of its application and name.
    pub fn is_met_by(&self, app: &str, p: &RemotePipeline) -> bool {
        self.by_key
            .get(&key(app, &p.name))
            .is_some_and(|(m, d)| p.matches(m.as_ref(), d))
    }

    /// Keeps no body of any pipeline read: what is read will not be diffed.
    pub fn without_bodies(mut self) -> Self {
        self.no_bodies = true;
        self
    }

    /// Reads a pipeline of `app`, keeping its body only when a diff could show it: not
    /// when it is what is expected, nor for a pipeline kujira-gen did not create whose
    /// name nothing declares (never planned, never shown; an application's hand-made
    /// pipelines can be large).
    pub fn read(&self, app: &str, pipeline: Map<String, Value>) -> RemotePipeline {
        RemotePipeline::read(pipeline, &|p| {
            !self.no_bodies
                && !self.is_met_by(app, p)
                && (p.is_generated() || self.by_key.contains_key(&key(app, &p.name)))
        })
    }

    pub fn is_empty(&self) -> bool {
        self.by_key.is_empty()
    }
}

fn key(app: &str, name: &str) -> (String, String) {
    (
        app.trim().to_lowercase(),
        crate::plan::compare::name_key(name),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn obj(v: Value) -> Map<String, Value> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn facts_and_body() {
        let mut p = obj(json!({"name": "r", "application": "a", "stages": []}));
        marker::stamp(&mut p, "t/value.json");
        p.insert("id".into(), json!("x1"));
        p.insert("updateTs".into(), json!("17"));
        let r = RemotePipeline::from_map(p.clone());
        assert_eq!(r.name, "r");
        assert_eq!(r.id_text(), "x1");
        assert!(r.is_generated() && !r.drifted);
        assert_eq!(r.update_ts.as_deref(), Some("17"));
        assert_eq!(r.body(), Some(p.clone()));

        p.insert("stages".into(), json!([{"refId": "1"}]));
        assert!(RemotePipeline::from_map(p).drifted, "edited after stamping");
    }

    #[test]
    fn what_is_expected_keeps_no_body() {
        let mut p = obj(json!({"name": "Release", "application": "a"}));
        marker::stamp(&mut p, "t/value.json");
        let mut expected = Expected::default();
        expected.insert(
            "A",
            "release",
            marker::marker_of(&p).cloned(),
            marker::digest(&p),
        );
        let r = expected.read("a", p.clone());
        assert!(!r.has_body());
        p.insert("description".into(), json!("edited"));
        assert!(expected.read("a", p).has_body());
    }

    #[test]
    fn bodies_only_where_a_diff_could_show_them() {
        let expected = Expected::default();
        // Hand-made, and no declared pipeline has its name: never planned or shown.
        let foreign =
            obj(json!({"name": "made-in-deck", "application": "a", "description": "big"}));
        assert!(!expected.read("a", foreign.clone()).has_body());
        let mut generated = foreign.clone();
        marker::stamp(&mut generated, "t/value.json");
        generated.insert("description".into(), json!("edited"));
        assert!(expected.read("a", generated.clone()).has_body());
        assert!(
            !Expected::default()
                .without_bodies()
                .read("a", generated)
                .has_body()
        );
    }
}
