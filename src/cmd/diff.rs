use crate::{CompileArgs, GateArgs, Outcome};
use anyhow::Result;
use clap::ValueEnum;
use kujira_gen::plan::planner;
use kujira_gen::plan::run::{self, DiffOptions, Format, Status};
use kujira_gen::term::{self, Palette};

/// How `diff` prints the plan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// The plan with unified diffs (colour on a terminal)
    Human,
    /// One JSON document: per application and pipeline the action, the reason and the
    /// changed paths
    Json,
    /// A pull-request comment: a summary table, the diffs folded below it
    Markdown,
}

pub struct Flags {
    pub summary: bool,
    pub prune: bool,
    pub undeclared: bool,
    pub parallel: usize,
    pub format: DiffFormat,
}

pub fn run(args: &CompileArgs, gate: &GateArgs, flags: &Flags) -> Result<Outcome> {
    let settings = super::gate::settings(gate)?;
    let read = super::gate::read_options(flags.parallel)?;
    let declarations = match super::compile_or_report_keeping(args, planner::declare) {
        Ok(b) => b,
        Err(outcome) => return Ok(outcome),
    };
    let client = super::gate::client(&settings)?;
    let options = DiffOptions {
        summary_only: flags.summary,
        prune: flags.prune,
        undeclared: flags.undeclared,
        format: match flags.format {
            DiffFormat::Human => Format::Human,
            DiffFormat::Json => Format::Json,
            DiffFormat::Markdown => Format::Markdown,
        },
        read,
    };
    let palette = Palette::new(flags.format == DiffFormat::Human && term::stdout_color());
    let mut out = std::io::stdout().lock();
    let status = run::diff(&client, declarations, &options, &mut out, &palette)
        .map_err(|e| super::gate::secret_free(e, &settings))?;
    Ok(match status {
        Status::InSync => Outcome::Ok,
        Status::Differences => Outcome::Differences,
        Status::Failed => Outcome::Failed,
    })
}
