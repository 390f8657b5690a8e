//! A declared pipeline as `diff` and `push` hold it between the compile and the save: its
//! compact JSON text, with the two fields the planner reads for every pipeline (the id and
//! the kujira-gen marker) beside it.
//!
//! Why: a pipeline parsed into a `serde_json::Value` tree takes about eight times the
//! bytes of its compact text (a team's 17.6 KB release pipeline is about 150 KB of
//! nodes), and a push of 1,000 teams holds every declared pipeline from the compile until
//! its read-back. Most of them are never looked into again (in sync: the digest and the
//! marker decide), so the tree is rebuilt only for a pipeline that is saved or diffed.

use crate::bundle::{MAX_DEPTH, too_deep};
use crate::marker;
use serde_json::{Map, Value};

#[derive(Debug, Clone, PartialEq)]
pub struct PackedPipeline {
    /// Compact JSON of the whole pipeline, id and marker included.
    text: Box<str>,
    id: Option<Value>,
    marker: Option<Map<String, Value>>,
}

impl PackedPipeline {
    /// Packs a pipeline no deeper than [`MAX_DEPTH`] (see [`too_deep`]): a deeper one is
    /// refused, so that unpacking gives back exactly this map.
    pub fn pack(pipeline: &Map<String, Value>) -> Result<Self, String> {
        if too_deep(pipeline) {
            return Err(format!(
                "is nested more than {MAX_DEPTH} levels deep (objects and arrays within each other)"
            ));
        }
        Ok(Self::pack_checked(pipeline))
    }

    fn pack_checked(pipeline: &Map<String, Value>) -> Self {
        Self {
            // Serialising a map of JSON values cannot fail.
            text: serde_json::to_string(pipeline)
                .unwrap_or_default()
                .into_boxed_str(),
            id: pipeline.get("id").cloned(),
            marker: marker::marker_of(pipeline).cloned(),
        }
    }

    /// The pipeline as a map again, exactly as packed (serde_json is built with
    /// `float_roundtrip`, so numbers read back bit for bit).
    pub fn unpack(&self) -> Map<String, Value> {
        // The text is serde_json's own output of a map within the depth limit: it parses.
        serde_json::from_str(&self.text).unwrap_or_default()
    }

    pub fn id(&self) -> Option<&Value> {
        self.id.as_ref()
    }

    /// The `kujiraGen` marker (source and digest).
    pub fn marker(&self) -> Option<&Map<String, Value>> {
        self.marker.as_ref()
    }

    /// The same pipeline under another id (the one Spinnaker already gave it): repacked
    /// only when the id really changes.
    pub fn set_id(&mut self, id: Value) {
        if self.id.as_ref() == Some(&id) {
            return;
        }
        let mut p = self.unpack();
        p.insert("id".into(), id);
        *self = Self::pack_checked(&p);
    }

    /// Compact JSON, as it is saved.
    pub fn text(&self) -> &str {
        &self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => unreachable!("an object"),
        }
    }

    #[test]
    fn unpacks_exactly_what_was_packed() {
        let p = map(json!({
            "id": "abc", "name": "release", "limit": 0.1, "big": 18446744073709551615u64,
            "neg": -9007199254740993i64, "tiny": 5e-324, "text": "\u{1f}é\"\\",
            "floats": [0.30000000000000004, 1.7976931348623157e308, 2.2250738585072014e-308,
                       123456789.12345679, -0.0, 1e-7],
            "kujiraGen": {"source": "teams/a/value.json", "digest": "d1"},
            "stages": [{"refId": "1", "nested": [[[]]], "empty": {}}]
        }));
        let packed = PackedPipeline::pack(&p).unwrap();
        assert_eq!(packed.unpack(), p);
        assert_eq!(packed.id(), Some(&json!("abc")));
        assert_eq!(
            packed.marker(),
            Some(&map(
                json!({"source": "teams/a/value.json", "digest": "d1"})
            ))
        );
        assert_eq!(packed.text(), serde_json::to_string(&p).unwrap());
    }

    #[test]
    fn set_id_changes_the_text_only_when_the_id_differs() {
        let p = map(json!({"id": "abc", "name": "release"}));
        let mut packed = PackedPipeline::pack(&p).unwrap();
        packed.set_id(json!("abc"));
        assert_eq!(packed.unpack(), p);
        packed.set_id(json!("front50-uuid"));
        assert_eq!(packed.id(), Some(&json!("front50-uuid")));
        assert_eq!(packed.unpack()["id"], json!("front50-uuid"));
        assert_eq!(packed.unpack()["name"], json!("release"));
    }

    /// `{"a": [[...[1]...]]}` with `levels` containers, the pipeline itself included.
    fn nested(levels: usize) -> Map<String, Value> {
        let mut v = json!(1);
        for _ in 0..levels - 1 {
            v = json!([v]);
        }
        map(json!({ "a": v }))
    }

    #[test]
    fn the_deepest_pipeline_allowed_reads_back_and_a_deeper_one_is_refused() {
        let deepest = nested(MAX_DEPTH);
        assert!(!too_deep(&deepest));
        let packed = PackedPipeline::pack(&deepest).unwrap();
        assert_eq!(packed.unpack(), deepest);
        let deeper = nested(MAX_DEPTH + 1);
        assert!(too_deep(&deeper));
        let e = PackedPipeline::pack(&deeper).unwrap_err();
        assert!(e.contains("nested more than 120 levels"), "{e}");
        // Where serde_json's own limit is: what the bound keeps us under.
        let text = serde_json::to_string(&nested(129)).unwrap();
        assert!(serde_json::from_str::<Value>(&text).is_err());
    }
}
