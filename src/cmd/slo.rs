//! `kujira-gen slo status`: every team's error budgets now (src/slo_status/).

use crate::{Outcome, SloStatusArgs, StatusFormat};
use anyhow::Result;
use kujira_gen::diag;
use kujira_gen::slo_status::measure::{self, Budget, Settings};
use kujira_gen::slo_status::{prometheus, report, targets};
use kujira_gen::term::{self, Palette};
use std::io::Write;
use std::time::Duration;

pub fn status(args: &SloStatusArgs) -> Result<Outcome> {
    let found = targets::collect(&args.compile.inputs.paths, &args.compile.options())?;
    let mut diagnostics = found.diagnostics;
    if args.compile.inputs.strict {
        super::strictly(&mut diagnostics);
    }
    // Warnings are about releases (`validate` reports them); here only what stops a value
    // file from being measured.
    diagnostics.retain(|d| d.is_error());
    let palette = Palette::new(term::stderr_color());
    eprint!("{}", diag::render_styled(&diagnostics, &palette));
    let settings = Settings {
        address: args.prometheus.clone(),
        token: std::env::var(prometheus::TOKEN_VARIABLE).ok(),
        timeout: Duration::from_secs(u64::from(args.timeout)),
        parallel: usize::from(args.parallel),
    };
    let mut rows = measure::measure(found.targets, &settings);
    report::sort(&mut rows);
    let text = match args.format {
        StatusFormat::Human => report::human(&rows, found.without_slo.len()),
        StatusFormat::Json => report::json(&rows, &found.without_slo),
        StatusFormat::Markdown => report::markdown(&rows, found.without_slo.len()),
    };
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())?;
    out.flush()?;
    let failed = diag::count_errors(&diagnostics) > 0 || rows.iter().any(|r| !r.errors.is_empty());
    Ok(if failed {
        Outcome::Failed
    } else if rows.iter().any(|r| r.budget == Budget::Exhausted) {
        Outcome::Differences
    } else {
        Outcome::Ok
    })
}
