use crate::{CompileArgs, GateArgs, Outcome};
use anyhow::Result;

pub struct Flags {
    pub prune: bool,
    pub adopt: bool,
    pub force: bool,
    pub dry_run: bool,
    pub yes: bool,
    pub parallel: usize,
}

pub fn run(_args: &CompileArgs, _gate: &GateArgs, _flags: &Flags) -> Result<Outcome> {
    anyhow::bail!("push: not implemented yet")
}
