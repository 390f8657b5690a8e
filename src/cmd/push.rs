use crate::{CompileArgs, GateArgs, Outcome};
use anyhow::Result;
use clap::ValueEnum;
use kujira_gen::plan::planner::{self, Flags as PlanFlags};
use kujira_gen::plan::run::{self, Format, PushOptions, Status};
use kujira_gen::term::{self, Palette, Progress};

/// How `push` prints the plan and the results.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum PushFormat {
    /// The plan, then one line per write and a summary
    Human,
    /// One JSON document at the end: the plan with each item's result
    Json,
}

pub struct Flags {
    pub prune: bool,
    pub adopt: bool,
    pub force: bool,
    pub dry_run: bool,
    pub yes: bool,
    pub parallel: usize,
    pub format: PushFormat,
}

pub fn run(args: &CompileArgs, gate: &GateArgs, flags: &Flags) -> Result<Outcome> {
    let settings = super::gate::settings(gate)?;
    let read = super::gate::read_options(flags.parallel)?;
    let declarations = match super::compile_or_report_keeping(args, planner::declare) {
        Ok(b) => b,
        Err(outcome) => return Ok(outcome),
    };
    let client = super::gate::client(&settings)?;
    let options = PushOptions {
        flags: PlanFlags {
            prune: flags.prune,
            adopt: flags.adopt,
            force: flags.force,
        },
        dry_run: flags.dry_run,
        format: match flags.format {
            PushFormat::Human => Format::Human,
            PushFormat::Json => Format::Json,
        },
        read,
    };
    // Ask only when a person is there to answer; CI never waits for input.
    let ask = !flags.yes && term::interactive();
    let endpoint = client.endpoint().to_string();
    let mut confirm = |plan: &kujira_gen::plan::planner::Plan| -> Result<bool> {
        if !ask {
            return Ok(true);
        }
        Ok(term::confirm(&format!(
            "Make {} writes to Gate at {endpoint}?",
            plan.writes()
        ))?)
    };
    let mut progress_line: Option<Progress> = None;
    let mut progress = |done: usize, total: usize| {
        progress_line
            .get_or_insert_with(|| Progress::new(total))
            .update(done, total);
        if done == total
            && let Some(p) = progress_line.as_mut()
        {
            p.finish();
        }
    };
    let palette = Palette::new(flags.format == PushFormat::Human && term::stdout_color());
    let mut out = std::io::stdout().lock();
    let status = run::push(
        &client,
        declarations,
        &options,
        &mut out,
        &palette,
        &mut confirm,
        &mut progress,
    )
    .map_err(|e| super::gate::secret_free(e, &settings))?;
    Ok(match status {
        Status::InSync => Outcome::Ok,
        Status::Differences | Status::Failed => Outcome::Failed,
    })
}
