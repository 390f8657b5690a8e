use crate::{CompileArgs, Format, Outcome};
use anyhow::Result;

pub fn run(_args: &CompileArgs, _format: Format) -> Result<Outcome> {
    anyhow::bail!("validate: not implemented yet")
}
