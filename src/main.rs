//! The `kujira-gen` command: parses arguments, runs one command, maps the outcome to an
//! exit code. Everything else lives in the library; each command's wiring is in `cmd/`.

mod cmd;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit codes, the same for every command (see README, "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Success; for `diff`, also "in sync".
    Ok = 0,
    /// Invalid input, a failed check, an unreachable Gate, a failed write.
    Failed = 1,
    // 2 is usage errors, printed by clap itself.
    /// `diff` found differences.
    Differences = 3,
}

#[derive(Parser)]
#[command(
    name = "kujira-gen",
    version,
    about = "Validates team value files and compiles them into Spinnaker blue-green pipelines",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile value files into Spinnaker pipelines (prints JSON, or writes files with -o)
    Build(BuildArgs),
    /// Check value files and everything they render to; report every problem
    Validate(ValidateArgs),
    /// Print the JSON Schema of value.json
    Schema,
    /// Compare the pipelines in Spinnaker with what the value files declare
    Diff(DiffArgs),
    /// Make Spinnaker's pipelines equal to what the value files declare
    Push(PushArgs),
}

/// Where the inputs are and which templates render them; shared by every command that
/// compiles.
#[derive(Args, Clone, Debug)]
pub struct CompileArgs {
    /// value.json files, or directories searched for files named value.json
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Use the templates in DIR (entry: DIR/main.jsonnet); imports not found there fall
    /// back to the built-in library
    #[arg(long, value_name = "DIR", env = "KUJIRA_TEMPLATES")]
    pub templates: Option<PathBuf>,

    /// Add a Jsonnet library search path (repeatable), e.g. a vendored sponnet
    #[arg(short = 'J', long = "jpath", value_name = "DIR")]
    pub jpath: Vec<PathBuf>,

    /// Repository root that source paths in the output are relative to [default: the
    /// nearest directory above the value file that holds .git, else the current directory]
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// Compile with N threads [default: one per core]
    #[arg(short = 'j', long = "jobs", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,
}

#[derive(Args)]
struct BuildArgs {
    #[command(flatten)]
    compile: CompileArgs,

    /// Write DIR/<application>/application.json and DIR/<application>/<pipeline>.json
    /// instead of printing (required for more than one value file)
    #[arg(short, long, value_name = "DIR")]
    output: Option<PathBuf>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Json,
}

#[derive(Args)]
struct ValidateArgs {
    #[command(flatten)]
    compile: CompileArgs,

    /// How to print problems: `human` (file:line:col: severity: message, on stderr) or
    /// `json` (an array on stdout)
    #[arg(long, value_enum, default_value_t = Format::Human)]
    format: Format,
}

/// How to reach and authenticate to Gate.
#[derive(Args, Clone, Debug)]
pub struct GateArgs {
    /// Gate URL [default: $KUJIRA_GATE_ENDPOINT, else gate.endpoint of the spin config]
    #[arg(long, value_name = "URL", env = "KUJIRA_GATE_ENDPOINT")]
    pub gate: Option<String>,

    /// spin's config file (YAML; $VARS are expanded)
    #[arg(long, value_name = "PATH", env = "KUJIRA_SPIN_CONFIG")]
    pub spin_config: Option<PathBuf>,

    /// Do not verify Gate's TLS certificate (also auth.ignoreCertErrors in the spin config)
    #[arg(long)]
    pub insecure: bool,

    /// Trust this CA certificate (PEM) for Gate's TLS
    #[arg(long, value_name = "PATH")]
    pub ca_cert: Option<PathBuf>,

    /// Extra header sent with every request, K=V (repeatable), like spin's --default-headers
    #[arg(long = "header", value_name = "K=V")]
    pub headers: Vec<String>,
}

#[derive(Args)]
struct DiffArgs {
    #[command(flatten)]
    compile: CompileArgs,
    #[command(flatten)]
    gate: GateArgs,

    /// Print only the plan (one line per pipeline) and the summary (with --format
    /// markdown: the table without the diffs)
    #[arg(long)]
    summary: bool,

    /// Also list generated pipelines that are no longer declared (they would be pruned)
    #[arg(long)]
    prune: bool,

    /// How many requests to Gate at once
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    parallel: u16,

    /// How to print the plan: `human`, `json` (for CI; see docs/diff-and-push.md) or
    /// `markdown` (a pull-request comment)
    #[arg(long, value_enum, default_value_t = cmd::diff::DiffFormat::Human)]
    format: cmd::diff::DiffFormat,
}

#[derive(Args)]
struct PushArgs {
    #[command(flatten)]
    compile: CompileArgs,
    #[command(flatten)]
    gate: GateArgs,

    /// Delete generated pipelines of the pushed applications that are no longer declared
    #[arg(long)]
    prune: bool,

    /// Take over pipelines of the same name that kujira-gen did not create
    #[arg(long)]
    adopt: bool,

    /// Overwrite generated pipelines that were changed in Spinnaker since the last push
    #[arg(long)]
    force: bool,

    /// Print the plan and write nothing
    #[arg(long)]
    dry_run: bool,

    /// Do not ask for confirmation on a terminal
    #[arg(short, long)]
    yes: bool,

    /// How many requests to Gate at once (reads and writes)
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    parallel: u16,

    /// How to print the plan and the results: `human`, or `json` (one document at the
    /// end, for CI; see docs/diff-and-push.md)
    #[arg(long, value_enum, default_value_t = cmd::push::PushFormat::Human)]
    format: cmd::push::PushFormat,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build(a) => cmd::build::run(&a.compile, a.output.as_deref()),
        Command::Validate(a) => cmd::validate::run(&a.compile, a.format),
        Command::Schema => cmd::schema::run(),
        Command::Diff(a) => cmd::diff::run(
            &a.compile,
            &a.gate,
            &cmd::diff::Flags {
                summary: a.summary,
                prune: a.prune,
                parallel: usize::from(a.parallel),
                format: a.format,
            },
        ),
        Command::Push(a) => cmd::push::run(
            &a.compile,
            &a.gate,
            &cmd::push::Flags {
                prune: a.prune,
                adopt: a.adopt,
                force: a.force,
                dry_run: a.dry_run,
                yes: a.yes,
                parallel: usize::from(a.parallel),
                format: a.format,
            },
        ),
    };
    match result {
        Ok(outcome) => ExitCode::from(outcome as u8),
        Err(e) => {
            // `{:#}` prints the whole context chain on one line: "cannot read x: No such file".
            eprintln!("kujira-gen: error: {e:#}");
            ExitCode::from(Outcome::Failed as u8)
        }
    }
}
