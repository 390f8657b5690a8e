//! Jsonnet errors as diagnostics: `template:line:col: error: message`, then the trace.

use super::RenderError;
use crate::diag::Diagnostic;
use jrsonnet_evaluator::Span;
use jrsonnet_evaluator::analyze::DiagLevel;
use jrsonnet_evaluator::error::ErrorKind;

/// Frames beyond this are summarised; a deep trace helps nobody.
const MAX_FRAMES: usize = 12;

/// File, line, column.
type Location = (String, usize, usize);

fn locate(span: &Span) -> Location {
    let [start] = span.0.map_source_locations(&[span.1]);
    (span.0.source_path().to_string(), start.line, start.column)
}

/// The diagnostic for a failed render of `value_file`. It points at the template line
/// where evaluation failed; the trace and the value file being rendered follow as notes.
pub fn to_diagnostic(err: &RenderError, value_file: &str) -> Diagnostic {
    let e = &err.0;
    let (primary, message) = match e.error() {
        ErrorKind::ImportSyntaxError { path, error } => {
            let offset =
                u32::try_from((error.location.1 as usize).min(path.code().len())).unwrap_or(0);
            let [loc] = path.map_source_locations(&[offset]);
            (
                Some((path.source_path().to_string(), loc.line, loc.column)),
                format!("syntax error: {}", error.message),
            )
        }
        ErrorKind::StaticAnalysisError(ds) => {
            // Only the errors: jrsonnet's lint warnings (unused locals...) are noise here.
            let errors: Vec<_> = ds
                .iter()
                .filter(|d| matches!(d.level, DiagLevel::Error))
                .collect();
            let first = errors.iter().find_map(|d| d.span.as_ref()).map(locate);
            let text = errors
                .iter()
                .map(|d| d.message.lines().collect::<Vec<_>>().join(" ("))
                .map(|m| if m.contains(" (") { format!("{m})") } else { m })
                .collect::<Vec<_>>()
                .join("; ");
            (first, text)
        }
        ErrorKind::RuntimeError(m) => (None, m.to_string()),
        other => (None, other.to_string()),
    };
    let frames: Vec<(Option<Location>, &str)> = e
        .trace()
        .0
        .iter()
        .map(|f| (f.location.as_ref().map(locate), f.desc.as_str()))
        .collect();
    let primary = primary.or_else(|| frames.iter().find_map(|(l, _)| l.clone()));

    let mut d = match &primary {
        Some((file, line, col)) => Diagnostic::error(file.clone(), message).at(Some((*line, *col))),
        // jrsonnet loses the location of some errors (e.g. `no such field` in 0.5.0-pre98):
        // name the value file, the trace below still says where.
        None => {
            let d = Diagnostic::error(value_file, format!("template error: {message}"));
            match message.strip_prefix("no such field: ") {
                Some(field) => d.with_note(format!(
                    "the templates read a field that is not there; look for `.{field}` or `['{field}']` in them"
                )),
                None => d,
            }
        }
    };
    for (loc, desc) in frames.iter().take(MAX_FRAMES) {
        d = match loc {
            Some((file, line, col)) => d.with_note(
                format!("at {file}:{line}:{col}: {desc}")
                    .trim_end_matches([' ', ':'])
                    .to_string(),
            ),
            None if !desc.is_empty() => d.with_note(desc.to_string()),
            None => d,
        };
    }
    if frames.len() > MAX_FRAMES {
        d = d.with_note(format!("... {} more frames", frames.len() - MAX_FRAMES));
    }
    if primary.is_some() {
        // The same error in a template is met by every team it affects: reported once.
        d.affects.push(value_file.to_string());
    }
    d
}

#[cfg(test)]
mod tests {
    use crate::render::{Renderer, Resolver};
    use serde_json::json;

    fn render_error(main: &str) -> String {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("main.jsonnet"), main).unwrap();
        let r = Renderer::new(Resolver::new(Some(dir.path()), &[]));
        let Err(e) = r.render(&json!({"A": 1})) else {
            panic!("expected an error")
        };
        let mut d = super::to_diagnostic(&e, "teams/a/value.json");
        // The temp dir differs per run.
        let root = dir.path().to_string_lossy().into_owned();
        d.file = d.file.replace(&root, "DIR");
        d.notes = d.notes.iter().map(|n| n.replace(&root, "DIR")).collect();
        d.human()
    }

    #[test]
    fn runtime_errors_point_at_the_template_line() {
        insta::assert_snapshot!(render_error(
            "function(values)\n  { a: error 'boom ' + values.A }"
        ));
    }

    #[test]
    fn syntax_errors_point_at_the_template_line() {
        insta::assert_snapshot!(render_error("function(values) {\n  a: ,\n}"));
    }

    #[test]
    fn unknown_variables_are_reported_with_their_location() {
        insta::assert_snapshot!(render_error("function(values)\n  { a: valuez.A }"));
    }

    #[test]
    fn missing_fields_are_reported() {
        insta::assert_snapshot!(render_error("function(values)\n  { a: values.Nope }"));
    }
}
