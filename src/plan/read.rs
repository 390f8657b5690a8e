//! Reading what Gate holds for the declared applications, with as few requests as it
//! takes.
//!
//! - Up to `parallel` applications: per application, `GET /applications/{app}` and
//!   `GET /applications/{app}/pipelineConfigs`, `parallel` applications at a time.
//! - More: the bulk reads, `GET /applications` (every application's attributes) and
//!   `GET /pipelineConfigs` (every pipeline), each parsed element by element, keeping only
//!   the declared applications, and abandoned past `bulk_limit` bytes. Then per
//!   application only what the bulk reads cannot settle:
//!   - an application missing from Gate's list is read on its own before anyone concludes
//!     that it does not exist: Gate serves the list from a cache it refreshes every few
//!     seconds (`ApplicationService.refreshApplicationsCache`,
//!     `services.front50.applicationRefreshIntervalMs`, 5 s by default);
//!   - an application whose declared pipelines are not all in the bulk list has its
//!     pipelines read on their own: Front50 filters `GET /pipelines` through Fiat (by
//!     pipeline *name* as an application name), so the bulk list may leave pipelines out,
//!     and only the per-application list is complete (an application that does not exist
//!     yet too: Front50 keeps pipelines whose application is gone);
//!   - when Spinnaker holds more than [`SHARED_FACTOR`] times as many applications as
//!     declared, the bulk pipeline list is not read at all (most of it would be thrown
//!     away); nor when it is larger than `bulk_limit` or fails: then every application's
//!     pipelines are read on their own.

use crate::gate::client::Listed;
use crate::gate::{Client, GateError};
use crate::plan::compare::same_name;
use crate::plan::parallel;
use crate::plan::remote::{Expected, RemoteApp, RemotePipeline};
use serde_json::{Map, Value};
use std::collections::HashMap;

/// Default bound of a bulk answer.
pub const DEFAULT_BULK_LIMIT: u64 = 64 * 1024 * 1024;

/// Above this many Spinnaker applications per declared one, the bulk pipeline list is
/// not worth reading.
pub const SHARED_FACTOR: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadOptions {
    /// Requests in flight at once.
    pub parallel: usize,
    /// Largest bulk answer read, in bytes; 0: no bulk reads.
    pub bulk_limit: u64,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self {
            parallel: 4,
            bulk_limit: DEFAULT_BULK_LIMIT,
        }
    }
}

/// An application to read, and the names of the pipelines it should have.
#[derive(Debug, Clone)]
pub struct Wanted {
    pub app: String,
    pub pipelines: Vec<String>,
}

/// What a read found, and whether the bulk pipeline list served it.
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    pub apps: Vec<RemoteApp>,
    /// `GET /pipelineConfigs` was read (not skipped, not failed): worth reading again for
    /// the read-back after a push.
    pub bulk_pipelines: bool,
    /// Per application (as in `apps`): something about it came from a bulk read, which
    /// Gate or Front50 may serve from a cache (`GET /applications` up to ~5 s old) or
    /// filter: worth reading on its own before writing to it.
    pub from_bulk: Vec<bool>,
    /// Per application: why it could not be read (an answer over the size limit), so
    /// that it is left out of the plan while the others go ahead.
    pub unreadable: Vec<Option<GateError>>,
}

/// Reads the applications in `wanted` (attributes and pipelines), in that order.
/// `expected` drops the bodies of pipelines that are exactly as declared.
pub fn applications(
    client: &Client,
    wanted: &[Wanted],
    expected: &Expected,
    opts: &ReadOptions,
) -> Result<Fetched, GateError> {
    read(client, wanted, expected, opts, true)
}

/// Reads only the pipelines of the applications in `wanted` (attributes left `None`):
/// the read-back after a push.
pub fn pipelines(
    client: &Client,
    wanted: &[Wanted],
    expected: &Expected,
    opts: &ReadOptions,
) -> Result<Vec<RemoteApp>, GateError> {
    let fetched = read(client, wanted, expected, opts, false)?;
    // The read-back must see every application it checks.
    if let Some(e) = fetched.unreadable.into_iter().flatten().next() {
        return Err(e);
    }
    Ok(fetched.apps)
}

/// What is known about one application after the bulk reads.
#[derive(Default)]
struct Known {
    /// Found in Gate's list (absent: not known yet).
    attributes: Option<Map<String, Value>>,
    pipelines: Option<Vec<RemotePipeline>>,
}

fn read(
    client: &Client,
    wanted: &[Wanted],
    expected: &Expected,
    opts: &ReadOptions,
    with_attributes: bool,
) -> Result<Fetched, GateError> {
    let mut known: Vec<Known> = wanted.iter().map(|_| Known::default()).collect();
    let mut bulk_pipelines = false;
    if opts.bulk_limit > 0 && wanted.len() > opts.parallel {
        bulk_pipelines = bulk(client, wanted, expected, opts, with_attributes, &mut known)?;
    }
    // Whatever the bulk reads left open, per application.
    let results = parallel::map(wanted.len(), opts.parallel, |i| {
        one(client, &wanted[i], &known[i], expected, with_attributes)
    });
    let from_bulk = known
        .iter()
        .map(|k| k.attributes.is_some() || k.pipelines.is_some())
        .collect();
    let mut apps = Vec::with_capacity(results.len());
    let mut unreadable = Vec::with_capacity(results.len());
    for r in results {
        let (app, why) = r?;
        apps.push(app);
        unreadable.push(why);
    }
    Ok(Fetched {
        apps,
        bulk_pipelines,
        from_bulk,
        unreadable,
    })
}

/// Fills `known` from `GET /applications` and `GET /pipelineConfigs`; whether the latter
/// was read. Errors that per-application reads would meet too (credentials, TLS) end the
/// read; others are a note, and the per-application reads take over.
fn bulk(
    client: &Client,
    wanted: &[Wanted],
    expected: &Expected,
    opts: &ReadOptions,
    with_attributes: bool,
    known: &mut [Known],
) -> Result<bool, GateError> {
    let index: HashMap<String, usize> = wanted
        .iter()
        .enumerate()
        .map(|(i, w)| (w.app.trim().to_lowercase(), i))
        .collect();
    let slot = |name: &str| index.get(&name.trim().to_lowercase()).copied();

    let mut total_apps = None;
    if with_attributes {
        let keep = |attrs: Map<String, Value>| {
            let name = attrs.get("name").and_then(Value::as_str)?;
            slot(name).map(|i| (i, attrs))
        };
        match client.list_applications_with(opts.bulk_limit, &keep) {
            Ok(Listed { total, kept }) => {
                total_apps = Some(total);
                for (i, attrs) in kept {
                    known[i].attributes = Some(attrs);
                }
            }
            Err(e) if ends_the_read(&e) => return Err(e),
            Err(e) => {
                client.notice(&format!("{e}; reading each application instead"));
                return Ok(false);
            }
        }
    }
    if total_apps.is_some_and(|t| t > SHARED_FACTOR * wanted.len()) {
        return Ok(false);
    }
    let keep = |p: Map<String, Value>| {
        let app = p.get("application").and_then(Value::as_str)?.to_string();
        let i = slot(&app)?;
        Some((i, expected.read(&wanted[i].app, p)))
    };
    match client.list_all_pipelines_with(opts.bulk_limit, &keep) {
        Ok(Listed { kept, .. }) => {
            let mut by_app: Vec<Vec<RemotePipeline>> = wanted.iter().map(|_| Vec::new()).collect();
            for (i, p) in kept {
                by_app[i].push(p);
            }
            for ((k, w), found) in known.iter_mut().zip(wanted).zip(by_app) {
                let complete = w
                    .pipelines
                    .iter()
                    .all(|name| found.iter().any(|p| same_name(&p.name, name)));
                if complete && !w.pipelines.is_empty() {
                    k.pipelines = Some(found);
                }
            }
            Ok(true)
        }
        Err(e) if ends_the_read(&e) => Err(e),
        Err(e) => {
            client.notice(&format!(
                "{e}; reading each application's pipelines instead"
            ));
            Ok(false)
        }
    }
}

/// Failures the per-application reads would meet as well.
fn ends_the_read(e: &GateError) -> bool {
    matches!(
        e,
        GateError::Denied { status: 401, .. }
            | GateError::LoginRedirect { .. }
            | GateError::Tls { .. }
            | GateError::Config(_)
    )
}

/// Completes one application with per-application reads. An answer over the size limit
/// concerns this application only: it comes back as the reason it cannot be planned
/// (the others go ahead), not as an error that stops every application.
fn one(
    client: &Client,
    w: &Wanted,
    known: &Known,
    expected: &Expected,
    with_attributes: bool,
) -> Result<(RemoteApp, Option<GateError>), GateError> {
    let mut remote = RemoteApp {
        name: w.app.clone(),
        attributes: None,
        pipelines: Vec::new(),
    };
    let too_large = |e: GateError| match e {
        GateError::TooLarge { .. } => Ok(e),
        e => Err(e),
    };
    remote.attributes = match (&known.attributes, with_attributes) {
        (_, false) => None,
        (Some(a), true) => Some(a.clone()),
        (None, true) => match client.get_application(&w.app) {
            Ok(a) => a,
            Err(e) => return Ok((remote, Some(too_large(e)?))),
        },
    };
    // Read even for an application that does not exist: Front50 keeps pipelines whose
    // application is gone (it never checks), and they count for names and ids.
    remote.pipelines = match &known.pipelines {
        Some(p) => p.clone(),
        None => {
            let keep = |p: Map<String, Value>| Some(expected.read(&w.app, p));
            match client.list_pipelines_with(&w.app, &keep) {
                Ok(l) => l.kept,
                Err(e) => return Ok((remote, Some(too_large(e)?))),
            }
        }
    };
    Ok((remote, None))
}
