//! `kujira-gen validate`: every problem in every file, in one run.

use crate::{CompileArgs, Outcome, ValidateFormat};
use anyhow::Result;
use kujira_gen::term::{self, Palette};
use kujira_gen::{compile, diag, values};
use std::io::Write;
use std::path::PathBuf;

pub fn run(args: &CompileArgs, format: ValidateFormat, changed: bool) -> Result<Outcome> {
    let mut removed = Vec::new();
    let paths = if changed {
        let mut given = args.inputs.paths.clone();
        // pre-commit passes only the files that exist: the deletions staged in the commit
        // come from git (a deleted Postman collection must fail the team naming it).
        given.extend(values::discover::staged_deletions());
        removed = values::discover::deleted_value_files(&given);
        values::discover::affected_by(
            &given,
            args.inputs.platform.as_deref(),
            args.templates.as_deref(),
        )
    } else {
        args.inputs.paths.clone()
    };
    let mut units = compile::validate(&paths, &args.options())?;
    if changed {
        // The applications of the unchanged teams count too.
        compile::check_across_repository(&mut units);
    }
    let notes = removed_teams(&removed, &units);
    units.extend(notes);
    let diagnostics = super::collect_diagnostics(&units, args.inputs.strict);
    let errors = diag::count_errors(&diagnostics);
    let mut stdout = std::io::stdout().lock();
    match format {
        ValidateFormat::Json => stdout.write_all(diag::render_json(&diagnostics).as_bytes())?,
        ValidateFormat::Human | ValidateFormat::Github => {
            if format == ValidateFormat::Github {
                stdout.write_all(diag::render_github(&diagnostics).as_bytes())?;
            } else {
                let palette = Palette::new(term::stderr_color());
                eprint!("{}", diag::render_styled(&diagnostics, &palette));
            }
            if errors > 0 {
                eprintln!(
                    "{}",
                    super::failure_summary(&units, &diagnostics, args.inputs.strict)
                );
            } else {
                let warnings = diag::count_warnings(&diagnostics);
                let files = units.iter().filter(|u| u.compiled).count();
                let mut line = format!("{files} file{} ok", super::plural(files));
                if warnings > 0 {
                    line.push_str(&format!(" ({warnings} warning{})", super::plural(warnings)));
                }
                writeln!(stdout, "{line}")?;
            }
        }
    }
    Ok(if errors > 0 {
        Outcome::Failed
    } else {
        Outcome::Ok
    })
}

/// A team removed in this change is not an error, but what it leaves behind is worth
/// saying: a note for each deleted value file, unless its application moved to a value
/// file of this change (`git mv teams/a teams/b`). The application comes from the
/// file's committed version (the pre-commit hook); a CI job naming a file its commit
/// deleted cannot know it, and says so.
fn removed_teams(removed: &[PathBuf], units: &[compile::Unit]) -> Vec<compile::Unit> {
    let stays = "pipelines stay in Spinnaker until they are deleted there (push acts only on applications a value file declares; diff --undeclared lists them)";
    removed
        .iter()
        .filter_map(|p| {
            let message = match values::discover::application_at_head(p) {
                Some(app) => {
                    let moved = units.iter().any(|u| {
                        u.application
                            .as_ref()
                            .is_some_and(|(a, _)| a.eq_ignore_ascii_case(&app))
                    });
                    if moved {
                        return None;
                    }
                    format!(
                        "deleted: nothing to validate. No value file declares application `{app}` any more: its {stays}"
                    )
                }
                None => format!(
                    "deleted: nothing to validate. Unless another value file declares its application, that application's {stays}"
                ),
            };
            Some(compile::Unit::problem(diag::Diagnostic::note(
                p.display().to_string(),
                message,
            )))
        })
        .collect()
}
