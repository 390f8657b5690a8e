//! A read-only view of one pipeline: its stages with their paths and the fields every rule
//! looks at. Built once per pipeline so that each rule does not re-walk odd shapes; the
//! shape problems themselves are reported by `pipeline.rs`, not here.

use super::path;
use serde_json::{Map, Value};
use std::ops::ControlFlow;

pub struct PipelineView<'a> {
    /// `pipelines[i]`
    pub path: String,
    pub pipeline: &'a Map<String, Value>,
    /// The stages that are objects; the others cannot be checked further.
    pub stages: Vec<StageView<'a>>,
}

pub struct StageView<'a> {
    /// `pipelines[i].stages[j]`
    pub path: String,
    pub stage: &'a Map<String, Value>,
}

impl<'a> PipelineView<'a> {
    pub fn new(index: usize, pipeline: &'a Map<String, Value>) -> Self {
        let path = path::index("pipelines", index);
        let stages_path = path::key(&path, "stages");
        let stages = match pipeline.get("stages") {
            Some(Value::Array(items)) => items
                .iter()
                .enumerate()
                .filter_map(|(j, s)| {
                    s.as_object().map(|stage| StageView {
                        path: path::index(&stages_path, j),
                        stage,
                    })
                })
                .collect(),
            _ => Vec::new(),
        };
        Self {
            path,
            pipeline,
            stages,
        }
    }

    /// The first stage with this (exact) name; Orca's `#stage('name')` also takes the first.
    pub fn stage_named(&self, name: &str) -> Option<&StageView<'a>> {
        self.stages.iter().find(|s| s.name() == Some(name))
    }

    pub fn stage_with_ref_id(&self, ref_id: &str) -> Option<&StageView<'a>> {
        self.stages.iter().find(|s| s.ref_id() == Some(ref_id))
    }
}

impl<'a> StageView<'a> {
    pub fn str_field(&self, key: &str) -> Option<&'a str> {
        self.stage.get(key).and_then(Value::as_str)
    }

    pub fn stage_type(&self) -> Option<&'a str> {
        self.str_field("type")
    }

    pub fn name(&self) -> Option<&'a str> {
        self.str_field("name")
    }

    pub fn ref_id(&self) -> Option<&'a str> {
        self.str_field("refId")
    }

    /// `name` for messages: the stage's name, or its path when it has none.
    pub fn label(&self) -> String {
        match self.name() {
            Some(n) => quote(n),
            None => self.path.clone(),
        }
    }

    pub fn field_path(&self, key: &str) -> String {
        path::key(&self.path, key)
    }
}

pub use crate::describe::{kind_of, quote};

/// What a required, non-empty string field holds, for messages: `Ok(s)` when usable.
pub enum Field<'a> {
    Ok(&'a str),
    Missing,
    Blank,
    NotAString(&'static str),
}

pub fn string_field<'a>(obj: &'a Map<String, Value>, key: &str) -> Field<'a> {
    match obj.get(key) {
        None | Some(Value::Null) => Field::Missing,
        Some(Value::String(s)) if s.trim().is_empty() => Field::Blank,
        Some(Value::String(s)) => Field::Ok(s),
        Some(other) => Field::NotAString(kind_of(other)),
    }
}

impl Field<'_> {
    /// Where to point for this field's problem: at the field itself, except when it is
    /// missing, then at the object that lacks it.
    pub fn path(&self, container: &str, key: &str) -> String {
        match self {
            Field::Missing => container.to_string(),
            _ => path::key(container, key),
        }
    }

    /// The problem in words, `None` when the field is fine.
    pub fn problem(&self, key: &str) -> Option<String> {
        match self {
            Field::Ok(_) => None,
            Field::Missing => Some(format!("missing `{key}`")),
            Field::Blank => Some(format!("`{key}` is empty")),
            Field::NotAString(kind) => Some(format!("`{key}` must be a string, got {kind}")),
        }
    }
}

/// One step from a value into one of its children.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

/// `base` followed by `steps`, as [`path`] writes paths.
pub fn path_of(base: &str, steps: &[Step]) -> String {
    let mut out = base.to_string();
    for step in steps {
        match step {
            Step::Key(k) => path::push_key(&mut out, k),
            Step::Index(i) => path::push_index(&mut out, *i),
        }
    }
    out
}

/// Calls `f` on every string inside `value`, in document order, with the steps that lead
/// to it, until `f` breaks. The steps become a path ([`path_of`]) only where a check has
/// something to say: writing one for every string of a bundle was a third of the checks'
/// time.
pub fn visit_strings<'a>(
    value: &'a Value,
    f: &mut impl FnMut(&[Step<'a>], &'a str) -> ControlFlow<()>,
) -> ControlFlow<()> {
    fn walk<'a>(
        value: &'a Value,
        steps: &mut Vec<Step<'a>>,
        f: &mut impl FnMut(&[Step<'a>], &'a str) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        match value {
            Value::String(s) => f(steps, s)?,
            Value::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    steps.push(Step::Index(i));
                    let flow = walk(v, steps, f);
                    steps.pop();
                    flow?;
                }
            }
            Value::Object(map) => {
                for (k, v) in map {
                    steps.push(Step::Key(k));
                    let flow = walk(v, steps, f);
                    steps.pop();
                    flow?;
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
    walk(value, &mut Vec::new(), f)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_are_visited_in_document_order_with_their_paths() {
        let v = json!({"a": ["x", {"b c": "y", "n": 1}], "d": "z"});
        let mut seen = Vec::new();
        let _ = visit_strings(&v, &mut |steps, s| {
            seen.push((path_of("m", steps), s.to_string()));
            ControlFlow::Continue(())
        });
        assert_eq!(
            seen,
            [
                ("m.a[0]".to_string(), "x".to_string()),
                (r#"m.a[1]["b c"]"#.to_string(), "y".to_string()),
                ("m.d".to_string(), "z".to_string()),
            ]
        );
        let mut count = 0;
        let flow = visit_strings(&v, &mut |_, s| {
            count += 1;
            if s == "y" {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert_eq!((flow, count), (ControlFlow::Break(()), 2));
    }
}
