//! The `kujira-gen` command: parses arguments, runs one command, maps the outcome to an
//! exit code. Everything else lives in the library; each command's wiring is in `cmd/`.

mod cmd;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// See Cargo.toml: measured against glibc's allocator in README, "Performance".
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `0.1.0 (commit 0123456789ab)`, or `0.1.0` when built outside a git checkout (build.rs).
const VERSION: &str = env!("KUJIRA_GEN_VERSION");

/// The end of `kujira-gen --help`.
const AFTER_HELP: &str = "\
Examples:
  kujira-gen init                                   start a value.json in a new team's directory
  kujira-gen validate teams/                        check every team, report every problem
  kujira-gen build teams/sample/value.json          print the application and its pipelines
  kujira-gen build teams/ -o out/                   write out/<app>/<pipeline>.json
  kujira-gen diff teams/                            compare with Spinnaker
  kujira-gen push teams/                            make Spinnaker match
  kujira-gen impact teams/ --old main:platform/templates --new platform/templates
                                                    which teams a template change affects
  kujira-gen graph teams/sample/value.json          draw the stage graph (Mermaid)
  kujira-gen slo status teams/                      every team's error budgets, worst first

Exit codes:
  0  success (diff, impact: no differences)
  1  an error: invalid input, a failed check, Gate unreachable or refusing, a failed write
  2  usage error (unknown flag, missing argument)
  3  diff, impact: differences found; slo status: an error budget is exhausted";

/// Exit codes, the same for every command (see README, "Exit codes").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Success; for `diff`, also "in sync"; for `impact`, "no team changes".
    Ok = 0,
    /// Invalid input, a failed check, an unreachable Gate, a failed write.
    Failed = 1,
    // 2 is usage errors, printed by clap itself.
    /// `diff` or `impact` found differences; `slo status` found an exhausted budget.
    Differences = 3,
}

#[derive(Parser)]
#[command(
    name = "kujira-gen",
    version = VERSION,
    about = "Validates team value files and compiles them into Spinnaker blue-green pipelines",
    after_help = AFTER_HELP,
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Compile value files into Spinnaker pipelines (prints JSON, or writes files with -o)
    #[command(after_help = "\
Examples:
  kujira-gen build teams/sample/value.json
  kujira-gen build teams/ -o out/
  kujira-gen build value.json --templates platform/templates")]
    Build(BuildArgs),
    /// Check value files and everything they render to; report every problem
    #[command(after_help = "\
Examples:
  kujira-gen validate teams/
  kujira-gen validate --strict --format github teams/     (in a GitHub Actions job)
  kujira-gen validate --changed teams/a/scenario.json     (what a pre-commit hook runs)

Exit codes: 0 no errors (warnings allowed unless --strict), 1 problems found, 2 usage error")]
    Validate(ValidateArgs),
    /// Print the JSON Schema of value.json (as this platform applies it), or of the
    /// platform's defaults.json or policy.json
    Schema(SchemaArgs),
    /// Compare every team's pipelines under two template sets, grouped by identical change
    #[command(after_help = "\
A template SET is `builtin` (the templates in this binary), a directory of overrides (like
--templates), or REV:DIR, a directory as it is in a git revision (read with git, no
checkout; DIR from the repository root, or from the current directory with ./).

Examples:
  kujira-gen impact teams/ --old main:platform/templates --new platform/templates
  kujira-gen impact teams/ --old builtin --new platform/templates --format markdown

Exit codes: 0 no team changes, 1 an error (the new templates fail for a team, invalid
value files), 2 usage error, 3 some teams change")]
    Impact(ImpactArgs),
    /// Draw each pipeline's stage graph as a Mermaid flowchart, conditions in words
    #[command(after_help = "\
Examples:
  kujira-gen graph teams/sample/value.json > release.mmd
  kujira-gen graph teams/sample/value.json --format markdown >> README.md")]
    Graph(GraphArgs),
    /// Write a value.json for a new team (in the current directory by default)
    #[command(after_help = "\
Examples:
  mkdir teams/billing && cd teams/billing && kujira-gen init
  kujira-gen init teams/billing --email billing@example.com --account gke-production")]
    Init(InitArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish, powershell)
    #[command(after_help = "\
Examples:
  kujira-gen completions bash > /etc/bash_completion.d/kujira-gen
  kujira-gen completions zsh > \"${fpath[1]}/_kujira-gen\"
  kujira-gen completions fish > ~/.config/fish/completions/kujira-gen.fish")]
    Completions(CompletionsArgs),
    /// Print the man page (roff), or write one page per command with -o DIR
    #[command(after_help = "\
Examples:
  kujira-gen man | man -l -
  kujira-gen man -o /usr/local/share/man/man1")]
    Man(ManArgs),
    /// Compare the pipelines in Spinnaker with what the value files declare
    Diff(DiffArgs),
    /// Make Spinnaker's pipelines equal to what the value files declare
    Push(PushArgs),
    /// Check the Spinnaker the value files release to: Gate answers, authentication, the
    /// accounts they deploy to, the version, Fiat (docs/installation.md)
    #[command(after_help = "\
Examples:
  kujira-gen doctor teams/
  KUJIRA_GATE_ENDPOINT=https://gate.example.com kujira-gen doctor teams/

Exit codes: 0 nothing wrong found, 1 something would make a release fail (or Gate does not answer)")]
    Doctor(DoctorArgs),
    /// Service level objectives: what the error budgets look like now
    #[command(subcommand)]
    Slo(SloCommand),
}

#[derive(Subcommand)]
enum SloCommand {
    /// Every team's error budgets, worst first: budget spent over each SLO's window, the
    /// burn rate over the last hour, and whether the budget gate would block a release now
    #[command(after_help = "\
Queries the platform's metric provider (provider.address in the platform's slo.json) with
the budget gate's own PromQL, for every value file under PATH and every environment that
has SLOs. BUDGET SPENT is (1 - SLI) / (1 - objective) over the SLO's window; BURN (1h) is
the error ratio of the last hour divided by the allowed one (1 spends the budget exactly
over the window); RELEASE is what the budget gate would do now (blocked when SLI <= the
objective; `gate off` where the environment turned it off). A row whose queries failed
says why in NOTE.

Authentication: auth.type none sends nothing; bearer sends `Authorization: Bearer
$KUJIRA_PROMETHEUS_TOKEN` (required); gcpWorkloadIdentity queries the address as is,
with $KUJIRA_PROMETHEUS_TOKEN as a bearer token when set (e.g. `gcloud auth
print-access-token`). --prometheus URL replaces the address (e.g. a kubectl port-forward).

Examples:
  kujira-gen slo status teams/
  kujira-gen slo status teams/ --prometheus http://localhost:9090 --format markdown
  KUJIRA_PROMETHEUS_TOKEN=$(cat token) kujira-gen slo status --format json teams/

Exit codes: 0 every SLO measured, no budget exhausted; 1 a query failed or a value file
has errors (the rest is still reported); 2 usage error; 3 every SLO measured and at least
one budget is exhausted (whether or not its gate is on)")]
    Status(SloStatusArgs),
}

/// `slo status --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum StatusFormat {
    /// a table, worst first, and a summary
    Human,
    /// one JSON document (see docs/slo-status.md)
    Json,
    /// a Markdown table (a pull-request comment, a wiki page)
    Markdown,
}

#[derive(Args)]
pub struct SloStatusArgs {
    #[command(flatten)]
    pub compile: CompileArgs,

    /// How to print the report
    #[arg(long, value_enum, default_value_t = StatusFormat::Human)]
    pub format: StatusFormat,

    /// Query this Prometheus HTTP API instead of each provider's address
    #[arg(long, value_name = "URL", env = "KUJIRA_PROMETHEUS_ADDRESS")]
    pub prometheus: Option<String>,

    /// Give up on a query after this many seconds (connecting included)
    #[arg(long, value_name = "SECONDS", default_value_t = 30, value_parser = clap::value_parser!(u16).range(1..=3600))]
    pub timeout: u16,

    /// How many queries at once
    #[arg(long, value_name = "N", default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub parallel: u16,
}

/// Where the inputs are; shared by every command that compiles.
#[derive(Args, Clone, Debug)]
pub struct InputArgs {
    /// value.json files, or directories searched for files named value.json
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,

    /// Add a Jsonnet library search path (repeatable), e.g. a vendored sponnet
    #[arg(short = 'J', long = "jpath", value_name = "DIR")]
    pub jpath: Vec<PathBuf>,

    /// Repository root that source paths in the output are relative to [default: the
    /// nearest directory above the value file that holds .git, else the current directory]
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,

    /// The platform team's settings: DIR/defaults.json (value defaults), DIR/policy.json
    /// (release policy), DIR/slo.json [default: the nearest .kujira above each value file,
    /// up to the repository root]
    #[arg(long, value_name = "DIR", env = "KUJIRA_PLATFORM")]
    pub platform: Option<PathBuf>,

    /// Compile with N threads [default: one per core]
    #[arg(short = 'j', long = "jobs", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub jobs: Option<u16>,

    /// Treat warnings as errors
    #[arg(long)]
    pub strict: bool,

    /// A directory PATH without any value.json is not an error
    #[arg(long)]
    pub allow_empty: bool,

    /// Say, for each value file, which platform directory and template set it was
    /// compiled with (a note; in the JSON of `validate --format json` too)
    #[arg(short, long)]
    pub verbose: bool,
}

/// Where the inputs are and which templates render them.
#[derive(Args, Clone, Debug)]
pub struct CompileArgs {
    #[command(flatten)]
    pub inputs: InputArgs,

    /// Use the templates in DIR (entry: DIR/main.jsonnet); imports not found there fall
    /// back to the built-in library [default: templates/ in each value file's platform
    /// directory, when it exists]
    #[arg(long, value_name = "DIR", env = "KUJIRA_TEMPLATES")]
    pub templates: Option<PathBuf>,
}

#[derive(Args)]
struct SchemaArgs {
    /// Which file's schema
    #[arg(value_enum, default_value_t = cmd::schema::Which::Value)]
    which: cmd::schema::Which,

    /// The platform's settings directory [default: .kujira in the repository root]
    #[arg(long, value_name = "DIR", env = "KUJIRA_PLATFORM")]
    platform: Option<PathBuf>,
}

#[derive(Args)]
struct BuildArgs {
    #[command(flatten)]
    compile: CompileArgs,

    /// Write DIR/<application>/application.json, DIR/<application>/<pipeline>.json and,
    /// for teams with SLOs, the Prometheus rule file DIR/<application>/slo-rules.yaml,
    /// instead of printing (required for more than one PATH)
    #[arg(short, long, value_name = "DIR")]
    output: Option<PathBuf>,
}

/// `validate --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ValidateFormat {
    /// file:line:col: severity: message, on stderr (in colour on a terminal)
    Human,
    /// a JSON array of {file, line, column, severity, path, message} on stdout
    Json,
    /// GitHub Actions workflow commands (::error file=...,line=...,col=...::) on stdout
    Github,
}

/// `impact --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum ReportFormat {
    /// a summary per group of teams with the same change, then one unified diff per group
    Human,
    /// one JSON document (see docs/templates.md)
    Json,
    /// a pull-request comment: a summary table, the diffs folded below it
    Markdown,
}

#[derive(Args)]
pub struct ImpactArgs {
    #[command(flatten)]
    pub inputs: InputArgs,

    /// The template set before the change: builtin, DIR, or REV:DIR
    #[arg(long, value_name = "SET")]
    pub old: String,

    /// The template set after the change: builtin, DIR, or REV:DIR
    #[arg(long, value_name = "SET")]
    pub new: String,

    /// How to print the report
    #[arg(long, value_enum, default_value_t = ReportFormat::Human)]
    pub format: ReportFormat,
}

/// `graph --format`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum GraphFormat {
    /// Mermaid flowchart text (one pipeline; see --pipeline)
    Mermaid,
    /// Markdown: a heading and a ```mermaid block per pipeline (GitHub draws them)
    Markdown,
}

#[derive(Args)]
pub struct GraphArgs {
    #[command(flatten)]
    pub compile: CompileArgs,

    /// Only the pipeline of this name [default: the only one]
    #[arg(long, value_name = "NAME")]
    pub pipeline: Option<String>,

    #[arg(long, value_enum, default_value_t = GraphFormat::Mermaid)]
    pub format: GraphFormat,
}

#[derive(Args)]
pub struct InitArgs {
    /// The team's directory [default: the current directory]
    #[arg(value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// The Spinnaker application [default: the directory's name]
    #[arg(long, value_name = "NAME")]
    pub application: Option<String>,

    /// The owner's email address
    #[arg(long, value_name = "ADDRESS")]
    pub email: Option<String>,

    /// The Spinnaker Kubernetes account to deploy to
    #[arg(long, value_name = "ACCOUNT")]
    pub account: Option<String>,

    /// The image repository, without tag
    #[arg(long, value_name = "IMAGE")]
    pub image: Option<String>,

    /// The Slack channel [default: <application>-releases]
    #[arg(long, value_name = "CHANNEL")]
    pub channel: Option<String>,

    /// What to write as "$schema" [default: the relative path to value.schema.json at the
    /// repository root]
    #[arg(long, value_name = "PATH_OR_URL")]
    pub schema: Option<String>,

    /// Repository root [default: the nearest directory above DIR that holds .git]
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

#[derive(Args)]
pub struct CompletionsArgs {
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Args)]
pub struct ManArgs {
    /// Write kujira-gen.1 and kujira-gen-<command>.1 into DIR instead of printing
    #[arg(short, long, value_name = "DIR")]
    pub output: Option<PathBuf>,
}

#[derive(Args)]
struct ValidateArgs {
    #[command(flatten)]
    compile: CompileArgs,

    /// How to print problems
    #[arg(long, value_enum, default_value_t = ValidateFormat::Human)]
    format: ValidateFormat,

    /// The PATHs are changed files (what a pre-commit hook passes): validate those that
    /// are value files (named value.json) and the value files that name the others
    /// (a Postman collection or environment)
    #[arg(long)]
    changed: bool,
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
struct DoctorArgs {
    #[command(flatten)]
    compile: CompileArgs,
    #[command(flatten)]
    gate: GateArgs,
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

    /// Also list the pipelines kujira-gen generated for applications none of the value
    /// files given declares (a team removed from the repository; one more request, Gate's
    /// whole pipeline list). Only a report: push never deletes them
    #[arg(long)]
    undeclared: bool,

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

/// Usage mistakes clap cannot express: printed like clap's own (with the subcommand's
/// usage line), exit 2.
fn usage_error(subcommand: &str, message: &str) -> ! {
    let mut cli = Cli::command();
    cli.build();
    let mut cmd = match cli.find_subcommand_mut(subcommand) {
        Some(sub) => sub.clone(),
        None => cli,
    };
    cmd.error(clap::error::ErrorKind::ArgumentConflict, message)
        .exit()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Build(a) => {
            if a.output.is_none() && a.compile.inputs.paths.len() > 1 {
                usage_error(
                    "build",
                    "build prints one value file; give -o DIR to build several",
                );
            }
            cmd::build::run(&a.compile, a.output.as_deref())
        }
        Command::Validate(a) => cmd::validate::run(&a.compile, a.format, a.changed),
        Command::Schema(a) => cmd::schema::run(a.which, a.platform.as_deref()),
        Command::Impact(a) => cmd::impact::run(&a),
        Command::Graph(a) => cmd::graph::run(&a),
        Command::Init(a) => cmd::init::run(&a),
        Command::Completions(a) => cmd::completions::completions(a.shell, &mut Cli::command()),
        Command::Man(a) => cmd::completions::man(&Cli::command(), a.output.as_deref()),
        Command::Doctor(a) => cmd::doctor::run(&a.compile, &a.gate),
        Command::Diff(a) => cmd::diff::run(
            &a.compile,
            &a.gate,
            &cmd::diff::Flags {
                summary: a.summary,
                prune: a.prune,
                undeclared: a.undeclared,
                parallel: usize::from(a.parallel),
                format: a.format,
            },
        ),
        Command::Slo(SloCommand::Status(a)) => cmd::slo::status(&a),
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
