//! `kujira-gen build`: print one bundle, or write all of them as files with `-o`.

use crate::{CompileArgs, Outcome};
use anyhow::{Result, bail};
use kujira_gen::bundle;
use std::io::Write;
use std::path::Path;

pub fn run(args: &CompileArgs, output: Option<&Path>) -> Result<Outcome> {
    let bundles = match super::compile_or_report(args) {
        Ok(b) => b,
        Err(outcome) => return Ok(outcome),
    };
    match output {
        Some(dir) => {
            let files = bundle::output_files(&bundles, dir)?;
            bundle::write_files(&files)?;
            eprintln!(
                "wrote {} file{} for {} application{} to {}",
                files.len(),
                super::plural(files.len()),
                bundles.len(),
                super::plural(bundles.len()),
                dir.display()
            );
        }
        None => {
            let [one] = bundles.as_slice() else {
                bail!(
                    "{} value files compiled; printing needs exactly one (write them all with -o DIR)",
                    bundles.len()
                );
            };
            let mut out = std::io::stdout().lock();
            out.write_all(bundle::to_pretty(&one.to_json()).as_bytes())?;
            out.flush()?;
        }
    }
    Ok(Outcome::Ok)
}
