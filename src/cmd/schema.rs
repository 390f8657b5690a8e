use crate::Outcome;
use anyhow::Result;

pub fn run() -> Result<Outcome> {
    anyhow::bail!("schema: not implemented yet")
}
