use crate::{CompileArgs, Outcome};
use anyhow::Result;
use std::path::Path;

pub fn run(_args: &CompileArgs, _output: Option<&Path>) -> Result<Outcome> {
    anyhow::bail!("build: not implemented yet")
}
