//! `kujira-gen completions SHELL` and `kujira-gen man`: both generated from the clap
//! definition, so they list exactly the commands and flags the binary accepts.

use crate::Outcome;
use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

pub fn completions(shell: clap_complete::Shell, cmd: &mut clap::Command) -> Result<Outcome> {
    // Generated into memory first: clap_complete panics on a write error, such as the
    // closed pipe of `kujira-gen completions bash | head`.
    let mut script = Vec::new();
    clap_complete::generate(shell, cmd, "kujira-gen", &mut script);
    if shell == clap_complete::Shell::Bash {
        script = bash_fixed(&script);
    }
    let mut out = std::io::stdout().lock();
    match out.write_all(&script).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Outcome::Ok),
        other => {
            other?;
            Ok(Outcome::Ok)
        }
    }
}

/// clap_complete (4.6) names a subcommand's state in bash's word loop after the binary
/// (`kujira__gen__subcmd__validate`) but its case arm after the command path, where the
/// binary's `-` became a subcommand separator too (`kujira__subcmd__gen__subcmd__validate`):
/// no arm matched and completion stopped after the first word. The arms are renamed to
/// the loop's spelling.
fn bash_fixed(script: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(script)
        .replace("kujira__subcmd__gen", "kujira__gen")
        .into_bytes()
}

/// The page of `kujira-gen` itself on stdout, or with `dir` one page per command:
/// `kujira-gen.1`, `kujira-gen-build.1`...
pub fn man(cmd: &clap::Command, dir: Option<&Path>) -> Result<Outcome> {
    let Some(dir) = dir else {
        let mut out = std::io::stdout().lock();
        clap_mangen::Man::new(cmd.clone()).render(&mut out)?;
        out.flush()?;
        return Ok(Outcome::Ok);
    };
    std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let mut written = 0;
    // Built, so that clap's own `help` subcommands exist: each page's SEE ALSO names the
    // pages of its subcommands, `help` included, and every page named is written
    // (`kujira-gen-slo-status.1` too).
    let mut top = cmd.clone().name("kujira-gen");
    top.build();
    let mut pages = Vec::new();
    let mut todo = vec![("kujira-gen".to_string(), top)];
    while let Some((name, page)) = todo.pop() {
        for sub in page.get_subcommands() {
            let sub_name = format!("{name}-{}", sub.get_name());
            todo.push((sub_name.clone(), sub.clone().name(sub_name)));
        }
        pages.push((name, page));
    }
    for (name, page) in pages {
        let path = dir.join(format!("{name}.1"));
        let mut buf = Vec::new();
        clap_mangen::Man::new(page).render(&mut buf)?;
        std::fs::write(&path, buf).with_context(|| format!("cannot write {}", path.display()))?;
        written += 1;
    }
    eprintln!("wrote {written} man pages to {}", dir.display());
    Ok(Outcome::Ok)
}
