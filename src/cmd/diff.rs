use crate::{CompileArgs, GateArgs, Outcome};
use anyhow::Result;
use kujira_gen::plan::run::{self, DiffOptions, Status};
use kujira_gen::term::{self, Palette};

pub fn run(args: &CompileArgs, gate: &GateArgs, summary: bool, prune: bool) -> Result<Outcome> {
    let settings = super::gate::settings(gate)?;
    let bundles = match super::compile_or_report(args) {
        Ok(b) => b,
        Err(outcome) => return Ok(outcome),
    };
    let client = super::gate::client(&settings)?;
    let options = DiffOptions {
        summary_only: summary,
        prune,
    };
    let palette = Palette::new(term::stdout_color());
    let mut out = std::io::stdout().lock();
    let status = run::diff(&client, &bundles, &options, &mut out, &palette)
        .map_err(|e| super::gate::secret_free(e, &settings))?;
    Ok(match status {
        Status::InSync => Outcome::Ok,
        Status::Differences => Outcome::Differences,
        Status::Failed => Outcome::Failed,
    })
}
