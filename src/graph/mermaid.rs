//! A pipeline's stage graph as a Mermaid flowchart.

use super::{Stage, spel};
use std::fmt::Write as _;

/// `flowchart TD` with one node per stage (name, type, condition in words, whether the
/// pipeline goes on when it fails, a judgment's choices) and an arrow from each stage to
/// the stages that wait for it.
pub fn flowchart(stages: &[Stage]) -> String {
    let mut out = String::from("flowchart TD\n");
    let id = |k: usize| format!("s{k}");
    for (k, s) in stages.iter().enumerate() {
        let mut lines = vec![escape(if s.name.is_empty() {
            &s.ref_id
        } else {
            &s.name
        })];
        if !s.kind.is_empty() {
            lines.push(format!("<i>{}</i>", escape(&s.kind)));
        }
        if let Some(c) = &s.condition {
            lines.push(format!("only if {}", escape(&spel::in_words(c))));
        }
        if s.continues_on_failure {
            lines.push("the pipeline goes on if it fails".to_string());
        }
        if !s.choices.is_empty() {
            lines.push(format!("choices: {}", escape(&s.choices.join(", "))));
        }
        let _ = writeln!(out, "    {}[\"{}\"]", id(k), lines.join("<br/>"));
    }
    for (k, s) in stages.iter().enumerate() {
        for r in &s.requisites {
            // A dangling requisite is the output checks' business; the picture skips it.
            if let Some(from) = stages.iter().position(|x| &x.ref_id == r) {
                let _ = writeln!(out, "    {} --> {}", id(from), id(k));
            }
        }
    }
    out
}

/// Text inside a quoted Mermaid label: Mermaid's entity codes for the characters that
/// would end the label or be read as HTML (`#` first: the codes start with it).
fn escape(s: &str) -> String {
    s.replace('#', "#35;")
        .replace('"', "#quot;")
        .replace('<', "#lt;")
        .replace('>', "#gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stage(ref_id: &str, name: &str, requisites: &[&str], condition: Option<&str>) -> Stage {
        Stage {
            ref_id: ref_id.into(),
            name: name.into(),
            kind: "wait".into(),
            requisites: requisites.iter().map(|r| r.to_string()).collect(),
            condition: condition.map(str::to_string),
            continues_on_failure: false,
            choices: Vec::new(),
        }
    }

    #[test]
    fn nodes_edges_and_conditions() {
        let mut b = stage(
            "b",
            "Check \"it\"",
            &["a", "missing"],
            Some("#judgment('a') == 'Go'"),
        );
        b.continues_on_failure = true;
        b.choices = vec!["Go".into(), "Stop".into()];
        let chart = flowchart(&[stage("a", "A", &[], None), b]);
        assert_eq!(
            chart,
            "flowchart TD\n    s0[\"A<br/><i>wait</i>\"]\n    \
             s1[\"Check #quot;it#quot;<br/><i>wait</i><br/>only if #quot;a#quot; was answered #quot;Go#quot;<br/>the pipeline goes on if it fails<br/>choices: Go, Stop\"]\n    \
             s0 --> s1\n"
        );
    }
}
