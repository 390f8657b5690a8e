use crate::{CompileArgs, GateArgs, Outcome};
use anyhow::Result;

pub fn run(_args: &CompileArgs, _gate: &GateArgs, _summary: bool, _prune: bool) -> Result<Outcome> {
    anyhow::bail!("diff: not implemented yet")
}
