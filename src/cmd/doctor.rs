//! `kujira-gen doctor PATH...`: checks the installation the value files release to, from
//! its Gate (see `kujira_gen::doctor`). Exit 1 when something would make a release fail.

use crate::{CompileArgs, GateArgs, Outcome};
use anyhow::Result;
use kujira_gen::doctor::{self, Finding, Level};
use std::collections::BTreeMap;

pub fn run(args: &CompileArgs, gate: &GateArgs) -> Result<Outcome> {
    let settings = super::gate::settings(gate)?;
    let bundles = match super::compile_or_report(args) {
        Ok(b) => b,
        Err(outcome) => return Ok(outcome),
    };
    let mut declared: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for b in &bundles {
        for p in &b.pipelines {
            for account in doctor::stage_accounts(p) {
                let files = declared.entry(account).or_default();
                if !files.contains(&b.source) {
                    files.push(b.source.clone());
                }
            }
        }
    }
    let client = super::gate::client(&settings)?;
    let endpoint = client.endpoint().to_string();
    let mut findings: Vec<Finding> = Vec::new();
    let fail = |what: &str, e: &dyn std::fmt::Display| Finding {
        level: Level::Error,
        message: client.scrub(&format!("{what}: {e}")),
    };
    match client.version() {
        Ok(v) => findings.push(doctor::version(&endpoint, &v)),
        Err(e) => {
            findings.push(fail(&format!("Gate at {endpoint} does not answer"), &e));
            print(&findings);
            return Ok(Outcome::Failed);
        }
    }
    match client.auth_user() {
        Ok(u) => findings.push(doctor::user(u.as_ref())),
        Err(e) => findings.push(fail("GET /auth/user", &e)),
    }
    match client.credentials() {
        Ok(accounts) => {
            findings.extend(doctor::accounts(&declared, &accounts));
            findings.push(doctor::fiat(&accounts));
        }
        Err(e) => findings.push(fail("GET /credentials", &e)),
    }
    print(&findings);
    Ok(if findings.iter().any(|f| f.level == Level::Error) {
        Outcome::Failed
    } else {
        Outcome::Ok
    })
}

fn print(findings: &[Finding]) {
    for f in findings {
        println!("{:<5}  {}", f.level.word(), f.message);
    }
}
