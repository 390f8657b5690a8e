//! `kujira-gen schema [value|defaults|policy|slo]`: the JSON Schemas of the files kujira-gen
//! reads, for editors and other tools. The value file's schema is the one this platform
//! applies: with platform defaults, the keys they set are not required and carry the
//! platform's value as their `default`.

use crate::Outcome;
use anyhow::Result;
use clap::ValueEnum;
use kujira_gen::platform::{self, defaults, policy, slo};
use kujira_gen::values::schema::{SCHEMA_TEXT, ValueSchema};
use std::io::Write;
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Which {
    /// A team's value.json
    Value,
    /// The platform's .kujira/defaults.json
    Defaults,
    /// The platform's .kujira/policy.json
    Policy,
    /// The platform's .kujira/slo.json (metric provider, query templates)
    Slo,
}

pub fn run(which: Which, platform_dir: Option<&Path>) -> Result<Outcome> {
    let text = match which {
        Which::Policy => policy::SCHEMA_TEXT.to_string(),
        Which::Slo => slo::SCHEMA_TEXT.to_string(),
        Which::Defaults => {
            let value: serde_json::Value = serde_json::from_str(SCHEMA_TEXT)?;
            kujira_gen::bundle::to_pretty(&defaults::schema_for_defaults(&value))
        }
        Which::Value => {
            // The repository's own: its platform directory found from here as from a
            // value file here (platform::resolve); outside a repository, the built-in
            // schema.
            use platform::resolve::{self, Found};
            let dir = match platform_dir {
                Some(d) if !d.is_dir() => {
                    anyhow::bail!("--platform {}: not a directory", d.display())
                }
                Some(d) => Some(d.to_path_buf()),
                None => match resolve::find(Path::new(".")) {
                    Found::Dir(d) => Some(d),
                    Found::Two(near, outer) => anyhow::bail!(
                        "governed by two platform directories, {} and {}: a repository has one (merge them, or pass --platform DIR)",
                        near.display(),
                        outer.display()
                    ),
                    Found::None | Found::OutsideRepository => None,
                },
            };
            let schema = ValueSchema::new()?;
            let (p, problems) = platform::load(dir.as_deref(), &schema, &platform::today()?);
            eprint!(
                "{}",
                kujira_gen::diag::render_human(
                    &problems
                        .into_iter()
                        .filter(|d| d.is_error())
                        .collect::<Vec<_>>()
                )
            );
            match p.defaults {
                Some(d) => {
                    kujira_gen::bundle::to_pretty(&defaults::annotate_schema(schema.schema(), &d))
                }
                None => SCHEMA_TEXT.to_string(),
            }
        }
    };
    std::io::stdout().write_all(text.as_bytes())?;
    Ok(Outcome::Ok)
}
