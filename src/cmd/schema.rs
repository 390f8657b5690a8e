//! `kujira-gen schema`: the value file's JSON Schema, for editors and other tools.

use crate::Outcome;
use anyhow::Result;
use std::io::Write;

pub fn run() -> Result<Outcome> {
    std::io::stdout().write_all(kujira_gen::values::schema::SCHEMA_TEXT.as_bytes())?;
    Ok(Outcome::Ok)
}
