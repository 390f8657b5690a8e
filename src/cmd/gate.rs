//! From `GateArgs` and the environment to a connected Gate client, shared by `diff` and
//! `push`.

use crate::GateArgs;
use anyhow::{Result, anyhow};
use kujira_gen::gate::client::scrub;
use kujira_gen::gate::config::{self, ConnectionInputs, Settings};
use kujira_gen::gate::{Client, RetryPolicy};
use kujira_gen::plan::read::{DEFAULT_BULK_LIMIT, ReadOptions};
use std::io::IsTerminal;
use std::sync::Arc;

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

/// Where Gate is and how to authenticate; no network yet.
pub fn settings(args: &GateArgs) -> Result<Settings> {
    let inputs = ConnectionInputs {
        gate: args.gate.clone(),
        spin_config: args.spin_config.clone(),
        insecure: args.insecure,
        ca_cert: args.ca_cert.clone(),
        headers: args.headers.clone(),
    };
    Ok(config::resolve(&inputs, &env)?)
}

/// `--parallel`, and `KUJIRA_GATE_BULK_LIMIT` (MiB; 0 turns the bulk reads off).
pub fn read_options(parallel: usize) -> Result<ReadOptions> {
    let bulk_limit = match env("KUJIRA_GATE_BULK_LIMIT").as_deref().map(str::trim) {
        None | Some("") => DEFAULT_BULK_LIMIT,
        Some(raw) => match raw.parse::<u64>() {
            Ok(mib) if mib <= 4096 => mib * 1024 * 1024,
            _ => {
                return Err(anyhow!(
                    "KUJIRA_GATE_BULK_LIMIT must be a number of MiB between 0 and 4096, got `{raw}`"
                ));
            }
        },
    };
    Ok(ReadOptions {
        parallel,
        bulk_limit,
    })
}

/// Connects (and logs in, for LDAP). Retries are reported on stderr as notes.
pub fn client(settings: &Settings) -> Result<Client> {
    let policy = RetryPolicy::from_env(&env).map_err(|e| anyhow!(e))?;
    let client = Client::connect(settings, policy).map_err(|e| secret_free(e.into(), settings))?;
    // On a terminal, clear a progress line first so that the note starts on its own line
    // (the progress line is redrawn at the next write).
    let clear = if std::io::stderr().is_terminal() {
        "\r\x1b[2K"
    } else {
        ""
    };
    Ok(client.with_notices(Arc::new(move |note: &str| {
        eprintln!("{clear}kujira-gen: note: {note}")
    })))
}

/// The error with every secret replaced by `***`: the last line of defence for text
/// that came from elsewhere (Gate's answers, TLS libraries).
pub fn secret_free(e: anyhow::Error, settings: &Settings) -> anyhow::Error {
    anyhow!(scrub(&format!("{e:#}"), &settings.secrets()))
}
