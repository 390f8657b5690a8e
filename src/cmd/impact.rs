//! `kujira-gen impact`: which teams' pipelines a template change changes, and how.

use crate::{ImpactArgs, Outcome, ReportFormat};
use anyhow::{Result, anyhow};
use kujira_gen::diag;
use kujira_gen::impact::{self, report};
use kujira_gen::render::TemplateSource;
use kujira_gen::term::{self, Palette};
use std::io::Write;

pub fn run(args: &ImpactArgs) -> Result<Outcome> {
    let old = TemplateSource::parse(&args.old).map_err(|e| anyhow!("--old {e}"))?;
    let new = TemplateSource::parse(&args.new).map_err(|e| anyhow!("--new {e}"))?;
    let options = args.inputs.options();
    let teams = impact::compare(&args.inputs.paths, &options, &old, &new)?;

    let all = teams.iter().flat_map(|t| t.diagnostics.iter().cloned());
    let mut diagnostics = diag::merge_repeated(all.collect());
    if args.inputs.strict {
        super::strictly(&mut diagnostics);
    }
    let counts = impact::counts(&teams, &diagnostics);
    let groups = impact::group(&teams);
    let report = report::build(
        old.label(),
        new.label(),
        &teams,
        &groups,
        counts,
        diagnostics,
    );

    let mut out = std::io::stdout().lock();
    match args.format {
        ReportFormat::Human => {
            let palette = Palette::new(term::stderr_color());
            eprint!("{}", diag::render_styled(&report.diagnostics, &palette));
            let palette = Palette::new(term::stdout_color());
            out.write_all(report::human(&report, &palette).as_bytes())?;
        }
        ReportFormat::Json => out.write_all(report::json(&report).as_bytes())?,
        ReportFormat::Markdown => {
            eprint!("{}", diag::render_human(&report.diagnostics));
            out.write_all(report::markdown(&report).as_bytes())?;
        }
    }
    out.flush()?;
    Ok(if counts.errors > 0 {
        Outcome::Failed
    } else if counts.changed > 0 {
        Outcome::Differences
    } else {
        Outcome::Ok
    })
}
