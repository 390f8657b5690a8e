//! `diff` and `push` from compiled bundles to printed results: read Gate, plan, print,
//! and for `push`, write and read back.

use crate::gate::{Client, GateError};
use crate::plan::apply::apply;
use crate::plan::planner::{Declaration, DesiredApp, Flags, Plan, desired_state, plan};
use crate::plan::read::{self, Fetched, ReadOptions, Wanted};
use crate::plan::remote::{Expected, RemoteApp};
use crate::plan::{json, markdown, render};
use crate::term::Palette;
use anyhow::{Result, anyhow};
use std::io::Write;

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

/// How the plan and the results are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    #[default]
    Human,
    /// One JSON document on stdout (docs/diff-and-push.md, "Machine output").
    Json,
    /// A pull-request comment (`diff` only).
    Markdown,
}

#[derive(Debug, Clone, Default)]
pub struct DiffOptions {
    pub summary_only: bool,
    pub prune: bool,
    /// Also list generated pipelines of applications nothing declares ([`undeclared`]).
    pub undeclared: bool,
    pub format: Format,
    pub read: ReadOptions,
}

#[derive(Debug, Clone, Default)]
pub struct PushOptions {
    pub flags: Flags,
    pub dry_run: bool,
    pub format: Format,
    /// `read.parallel` bounds reads and writes alike.
    pub read: ReadOptions,
}

/// Validates the value files' declarations (or bundles, declared here) as one; the
/// errors, one per line.
pub fn declared<D: Into<Declaration>>(
    declarations: impl IntoIterator<Item = D>,
) -> Result<Vec<DesiredApp>> {
    desired_state(declarations.into_iter().map(Into::into).collect()).map_err(|errors| {
        anyhow!(
            "the value files cannot be pushed together:\n  {}",
            errors.join("\n  ")
        )
    })
}

/// Reads every declared application and its pipelines (see [`read`] for how), keeping
/// no body of a pipeline that is exactly as declared.
pub fn fetch_remote(
    client: &Client,
    apps: &[DesiredApp],
    opts: &ReadOptions,
) -> Result<Vec<RemoteApp>, GateError> {
    let fetched = fetch(client, apps, opts)?;
    // For callers that plan everything at once: an application that could not be read
    // is an error here (diff and push leave it out and go on with the others).
    if let Some(e) = fetched.unreadable.into_iter().flatten().next() {
        return Err(e);
    }
    Ok(fetched.apps)
}

fn fetch(client: &Client, apps: &[DesiredApp], opts: &ReadOptions) -> Result<Fetched, GateError> {
    fetch_keeping(client, apps, opts, true)
}

/// `bodies`: whether pipelines that differ keep their JSON for a diff.
fn fetch_keeping(
    client: &Client,
    apps: &[DesiredApp],
    opts: &ReadOptions,
    bodies: bool,
) -> Result<Fetched, GateError> {
    let mut expected = Expected::default();
    if !bodies {
        expected = expected.without_bodies();
    }
    let wanted: Vec<Wanted> = apps
        .iter()
        .map(|a| {
            for p in &a.pipelines {
                expected.insert(
                    &a.name,
                    &p.name,
                    p.pipeline.marker().cloned(),
                    p.digest.clone(),
                );
            }
            Wanted {
                app: a.name.clone(),
                pipelines: a.pipelines.iter().map(|p| p.name.clone()).collect(),
            }
        })
        .collect();
    read::applications(client, &wanted, &expected, opts)
}

/// Reads Gate and plans. An application whose plan from the bulk reads is not "nothing to
/// do" is read again on its own, and planned from that fresh read: Gate caches `GET
/// /applications` (attributes a push just changed look unchanged, an application just
/// deleted looks present), and `GET /pipelineConfigs` can be stale or filtered (a copy
/// missing, a pipeline edited in Deck looking untouched, so that its drift would go
/// unnoticed). Deciding a write on such a read could overwrite an edit or save into a
/// deleted application; a no-op push still takes only the bulk reads. Also returns whether
/// the bulk pipeline list was read (the read-back reads the same way).
fn fetch_and_plan(
    client: &Client,
    apps: Vec<DesiredApp>,
    opts: &ReadOptions,
    flags: Flags,
    bodies: bool,
) -> Result<(Plan, bool), GateError> {
    let fetched = fetch_keeping(client, &apps, opts, bodies)?;
    let mut parts: Vec<Option<Plan>> = Vec::with_capacity(apps.len());
    let mut again: Vec<DesiredApp> = Vec::new();
    let mut again_at: Vec<usize> = Vec::new();
    let mut unreadable = Vec::new();
    for (((d, r), from_bulk), why) in apps
        .into_iter()
        .zip(fetched.apps)
        .zip(fetched.from_bulk)
        .zip(fetched.unreadable)
    {
        if let Some(e) = why {
            unreadable.push((d.name.clone(), unreadable_reason(&d.name, &e)));
            continue;
        }
        if !from_bulk {
            parts.push(Some(plan(vec![d], vec![r], flags)));
            continue;
        }
        let trial = plan(vec![d.clone()], vec![r], flags);
        if trial.has_differences() || !trial.orphans.is_empty() {
            again_at.push(parts.len());
            parts.push(None);
            again.push(d);
        } else {
            parts.push(Some(trial));
        }
    }
    if !again.is_empty() {
        let fresh = fetch_keeping(
            client,
            &again,
            &ReadOptions {
                bulk_limit: 0,
                ..*opts
            },
            bodies,
        )?;
        for (((d, r), at), why) in again
            .into_iter()
            .zip(fresh.apps)
            .zip(again_at)
            .zip(fresh.unreadable)
        {
            match why {
                Some(e) => unreadable.push((d.name.clone(), unreadable_reason(&d.name, &e))),
                None => parts[at] = Some(plan(vec![d], vec![r], flags)),
            }
        }
    }
    let mut out = Plan {
        unreadable,
        ..Plan::default()
    };
    for p in parts.into_iter().flatten() {
        out.apps.extend(p.apps);
        out.steps.extend(p.steps);
        out.orphans.extend(p.orphans);
    }
    Ok((out, fetched.bulk_pipelines))
}

/// The generated pipelines (those with the kujira-gen marker) of the applications not in
/// `declared`, from Gate's whole pipeline list (`GET /pipelineConfigs`), sorted. What Fiat
/// does not let this user read is not in that list. Only a report: which of them this
/// repository made cannot be told (the marker names a value file, not a repository), so
/// nothing deletes them.
fn undeclared(
    client: &Client,
    declared: &[String],
    opts: &ReadOptions,
) -> Result<Vec<crate::plan::planner::Orphan>, GateError> {
    use crate::plan::compare::name_key;
    let declared: std::collections::HashSet<String> =
        declared.iter().map(|n| name_key(n)).collect();
    let keep = |p: serde_json::Map<String, serde_json::Value>| {
        let app = p.get("application")?.as_str()?;
        if declared.contains(&name_key(app)) {
            return None;
        }
        let marker = crate::marker::marker_of(&p)?;
        Some(crate::plan::planner::Orphan {
            app: app.to_string(),
            name: p.get("name")?.as_str()?.to_string(),
            source: marker
                .get("source")
                .and_then(serde_json::Value::as_str)
                .map(str::to_string),
        })
    };
    let limit = match opts.bulk_limit {
        0 => read::DEFAULT_BULK_LIMIT,
        n => n,
    };
    let mut found = client.list_all_pipelines_retrying(limit, &keep)?.kept;
    found.sort_by(|a, b| (name_key(&a.app), &a.name).cmp(&(name_key(&b.app), &b.name)));
    Ok(found)
}

/// Why an application is left out, and how to get it read.
fn unreadable_reason(app: &str, e: &GateError) -> String {
    format!(
        "{e} (KUJIRA_GATE_ANSWER_LIMIT, in MiB, raises the limit); nothing of application {app} is compared or written"
    )
}

/// `kujira-gen diff`: prints the plan with diffs (or only the plan lines) and a summary.
pub fn diff<D: Into<Declaration>>(
    client: &Client,
    declarations: impl IntoIterator<Item = D>,
    opts: &DiffOptions,
    out: &mut dyn Write,
    pal: &Palette,
) -> Result<Status> {
    let apps = declared(declarations)?;
    let names: Vec<String> = apps.iter().map(|a| a.name.clone()).collect();
    let (mut p, _) = fetch_and_plan(
        client,
        apps,
        &opts.read,
        Flags {
            prune: opts.prune,
            adopt: false,
            force: false,
        },
        true,
    )?;
    if opts.undeclared {
        p.undeclared = Some(undeclared(client, &names, &opts.read)?);
    }
    match opts.format {
        Format::Human => {
            let body = if opts.summary_only {
                render::plan_lines(&p, pal)
            } else {
                render::plan_with_diffs(&p, pal)
            };
            write!(out, "{body}{}", render::plan_summary(&p))?;
        }
        Format::Json => print_json(out, &json::diff(&p, client.endpoint()))?,
        Format::Markdown => write!(out, "{}", markdown::diff(&p, opts.summary_only))?,
    }
    Ok(if !p.unreadable.is_empty() {
        Status::Failed
    } else if p.has_differences() {
        Status::Differences
    } else {
        Status::InSync
    })
}

/// `kujira-gen push`. `confirm` is asked before the first write (the CLI answers it on a
/// terminal, or always yes); `progress(done, total)` follows the pipeline writes.
pub fn push<D: Into<Declaration>>(
    client: &Client,
    declarations: impl IntoIterator<Item = D>,
    opts: &PushOptions,
    out: &mut dyn Write,
    pal: &Palette,
    confirm: &mut dyn FnMut(&Plan) -> Result<bool>,
    progress: &mut dyn FnMut(usize, usize),
) -> Result<Status> {
    let apps = declared(declarations)?;
    // Printed as plan lines, a push shows no diff: no pipeline read keeps its JSON
    // (`--format json` lists changed paths, so it does).
    let bodies = opts.format == Format::Json;
    let (p, bulk_pipelines) = fetch_and_plan(client, apps, &opts.read, opts.flags, bodies)?;
    // The read-back reads the way this read could: a Spinnaker too large for the bulk
    // pipeline list now is too large for it after the writes.
    let read_back = ReadOptions {
        bulk_limit: if bulk_pipelines {
            opts.read.bulk_limit
        } else {
            0
        },
        ..opts.read
    };
    let human = opts.format != Format::Json;
    let endpoint = client.endpoint();
    if human {
        write!(
            out,
            "{}{}",
            render::plan_lines(&p, pal),
            render::plan_summary(&p)
        )?;
    }
    let blocked = p.counts().conflict > 0 || !p.unreadable.is_empty();
    let not_written = |out: &mut dyn Write, line: &str, status: Status| -> Result<Status> {
        if human {
            writeln!(out, "{line}")?;
        } else {
            print_json(out, &json::push(&p, endpoint, None, opts.dry_run))?;
        }
        Ok(status)
    };
    if opts.dry_run {
        let status = if blocked {
            Status::Failed
        } else {
            Status::InSync
        };
        return not_written(out, "Dry run: nothing was written.", status);
    }
    if p.writes() == 0 && !p.unreadable.is_empty() {
        return not_written(
            out,
            "Nothing written: the applications that could be read already match.",
            Status::Failed,
        );
    }
    if p.writes() == 0 && !blocked {
        return not_written(
            out,
            "Nothing to write: Spinnaker already matches.",
            Status::InSync,
        );
    }
    out.flush()?;
    if p.writes() > 0 && !confirm(&p)? {
        return not_written(out, "Aborted: nothing was written.", Status::Failed);
    }
    out.flush()?;
    let report = apply(client, &p, &read_back, progress);
    if human {
        write!(out, "{}", render::report(&report, &p, pal))?;
    } else {
        print_json(out, &json::push(&p, endpoint, Some(&report), false))?;
    }
    Ok(if report.all_succeeded() && p.unreadable.is_empty() {
        Status::InSync
    } else {
        Status::Failed
    })
}

fn print_json(out: &mut dyn Write, v: &serde_json::Value) -> Result<()> {
    serde_json::to_writer_pretty(&mut *out, v)?;
    writeln!(out)?;
    Ok(())
}
