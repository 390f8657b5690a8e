//! `diff` and `push` from compiled bundles to printed results: read Gate, plan, print,
//! and for `push`, write.

use crate::bundle::Bundle;
use crate::gate::{Client, GateError};
use crate::plan::apply::apply;
use crate::plan::planner::{DesiredApp, Flags, Plan, RemoteApp, desired_state, plan};
use crate::plan::render;
use crate::term::Palette;
use anyhow::{Result, anyhow};
use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How a `diff` or `push` ended; the CLI maps it to an exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Spinnaker matches the declaration (after the push, for `push`).
    InSync,
    /// `diff` found differences.
    Differences,
    /// Something was not written, or would not be.
    Failed,
}

/// How many applications are read at once.
const READ_PARALLELISM: usize = 4;

pub struct DiffOptions {
    pub summary_only: bool,
    pub prune: bool,
}

pub struct PushOptions {
    pub flags: Flags,
    pub dry_run: bool,
    pub parallel: usize,
}

/// Validates the bundles as one declaration; the errors, one per line.
pub fn declared(bundles: &[Bundle]) -> Result<Vec<DesiredApp>> {
    desired_state(bundles).map_err(|errors| {
        anyhow!(
            "the value files cannot be pushed together:\n  {}",
            errors.join("\n  ")
        )
    })
}

/// Reads every declared application and its pipelines: one application read and one
/// pipeline list per application, a few applications at a time.
pub fn fetch_remote(client: &Client, apps: &[DesiredApp]) -> Result<Vec<RemoteApp>, GateError> {
    let results: Mutex<Vec<Option<Result<RemoteApp, GateError>>>> =
        Mutex::new((0..apps.len()).map(|_| None).collect());
    let next = AtomicUsize::new(0);
    std::thread::scope(|scope| {
        for _ in 0..READ_PARALLELISM.min(apps.len()) {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::SeqCst);
                    let Some(app) = apps.get(i) else { break };
                    let r = client.get_application(&app.name).and_then(|attributes| {
                        Ok(RemoteApp {
                            name: app.name.clone(),
                            attributes,
                            pipelines: client.list_pipelines(&app.name)?,
                        })
                    });
                    if let Ok(mut results) = results.lock() {
                        results[i] = Some(r);
                    }
                }
            });
        }
    });
    let results = results.into_inner().unwrap_or_default();
    let mut out = Vec::with_capacity(results.len());
    for r in results {
        match r {
            Some(r) => out.push(r?),
            None => {
                return Err(GateError::Config(
                    "internal error: an application was not read".into(),
                ));
            }
        }
    }
    Ok(out)
}

/// `kujira-gen diff`: prints the plan with diffs (or only the plan lines) and a summary.
pub fn diff(
    client: &Client,
    bundles: &[Bundle],
    opts: &DiffOptions,
    out: &mut dyn Write,
    pal: &Palette,
) -> Result<Status> {
    let apps = declared(bundles)?;
    let remote = fetch_remote(client, &apps)?;
    let p = plan(
        &apps,
        &remote,
        Flags {
            prune: opts.prune,
            adopt: false,
            force: false,
        },
    );
    let body = if opts.summary_only {
        render::plan_lines(&p, pal)
    } else {
        render::plan_with_diffs(&p, pal)
    };
    write!(out, "{body}{}", render::plan_summary(&p))?;
    Ok(if p.has_differences() {
        Status::Differences
    } else {
        Status::InSync
    })
}

/// `kujira-gen push`. `confirm` is asked before the first write (the CLI answers it on a
/// terminal, or always yes); `progress(done, total)` follows the pipeline writes.
pub fn push(
    client: &Client,
    bundles: &[Bundle],
    opts: &PushOptions,
    out: &mut dyn Write,
    pal: &Palette,
    confirm: &mut dyn FnMut(&Plan) -> Result<bool>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Status> {
    let apps = declared(bundles)?;
    let remote = fetch_remote(client, &apps)?;
    let p = plan(&apps, &remote, opts.flags);
    write!(
        out,
        "{}{}",
        render::plan_lines(&p, pal),
        render::plan_summary(&p)
    )?;
    let blocked = p.counts().conflict > 0;
    if opts.dry_run {
        writeln!(out, "Dry run: nothing was written.")?;
        return Ok(if blocked {
            Status::Failed
        } else {
            Status::InSync
        });
    }
    if p.writes() == 0 && !blocked {
        writeln!(out, "Nothing to write: Spinnaker already matches.")?;
        return Ok(Status::InSync);
    }
    out.flush()?;
    if p.writes() > 0 && !confirm(&p)? {
        writeln!(out, "Aborted: nothing was written.")?;
        return Ok(Status::Failed);
    }
    out.flush()?;
    let report = apply(client, &p, opts.parallel, progress);
    write!(out, "{}", render::report(&report, &p, pal))?;
    Ok(if report.all_succeeded() {
        Status::InSync
    } else {
        Status::Failed
    })
}
