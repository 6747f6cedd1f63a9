//! `harness`: a stand-in for `kwctl run` / `kwctl bench` on the same waPC runtime.

mod bench;
mod host;
mod input;
mod log;
mod metadata;
mod replay;
mod response;
mod runtime;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand};

use crate::host::{Host, ResourceAccess};
use crate::input::{AdmissionRequest, Settings};
use crate::log::{Level, Logger};
use crate::replay::{Matching, Session};
use crate::runtime::Policy;

// policy-server, the engine this policy runs in, links jemalloc as its global allocator: the
// host-side work of an evaluation (request serialization, the patch diff) costs what it would
// there, not what glibc's allocator makes it cost (feature `jemalloc`, which `make bench` sets).
#[cfg(all(unix, feature = "jemalloc"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// Runs a Kubewarden waPC policy offline, with kwctl's inputs, outputs and exit codes.
#[derive(Parser)]
#[command(name = "harness", version, about)]
struct Cli {
    /// Accepted for kwctl compatibility; the harness never colours its output.
    #[arg(long, global = true)]
    no_color: bool,

    /// Also show DEBUG lines, policy logs included.
    #[arg(short, long, global = true)]
    verbose: bool,

    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Evaluate one request and print the AdmissionResponse as one JSON line (like `kwctl run`).
    Run(RunArgs),
    /// Time repeated evaluations of one request on a single policy instance.
    Bench(BenchArgs),
    /// Evaluate every request of a JSON-lines file (`--request-path`) on one loaded policy,
    /// printing one AdmissionResponse line per request (a trap reloads the module, as the
    /// policy-server does). For robustness tests that need thousands of evaluations.
    Batch(RunArgs),
}

#[derive(Args, Clone)]
struct RunArgs {
    /// Policy settings as a JSON object.
    #[arg(long, value_name = "JSON")]
    settings_json: Option<String>,

    /// File with the policy settings, YAML or JSON; wins over --settings-json.
    #[arg(short = 's', long, value_name = "FILE")]
    settings_path: Option<PathBuf>,

    /// The AdmissionRequest or AdmissionReview (JSON); `-` reads stdin.
    #[arg(short = 'r', long, value_name = "FILE")]
    request_path: String,

    /// kwctl replay session answering the policy's Kubernetes host calls.
    #[arg(long, value_name = "FILE")]
    replay_host_capabilities_interactions: Option<PathBuf>,

    /// Let the policy read Kubernetes resources (those in its metadata, if annotated).
    #[arg(long)]
    allow_context_aware: bool,

    /// Replay as kwctl does: in order, each call consuming the next exchange, all fields compared.
    #[arg(long)]
    strict_replay: bool,

    /// Accepted for kwctl compatibility and ignored: the harness never contacts Sigstore.
    #[arg(long, value_name = "FILE")]
    sigstore_trust_config: Option<PathBuf>,

    /// The policy module (.wasm, annotated or not).
    #[arg(value_name = "POLICY.wasm")]
    policy: PathBuf,
}

#[derive(Args)]
struct BenchArgs {
    #[command(flatten)]
    run: RunArgs,

    /// Timed evaluations.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    iterations: u32,

    /// Untimed evaluations first (at least one always runs, and shows its logs).
    #[arg(long, default_value_t = 50)]
    warmup: u32,

    /// Print one JSON line instead of text.
    #[arg(long)]
    json: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let logger = Logger::new(cli.verbose, std::env::var("RUST_LOG").ok().as_deref());
    let outcome = match cli.command {
        Command::Run(args) => run(&args, logger),
        Command::Bench(args) => bench(&args, logger),
        Command::Batch(args) => batch(&args, logger),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("Error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Everything an evaluation needs, read and checked before the first call.
struct Loaded {
    policy: Policy,
    host: Arc<Host>,
    request: AdmissionRequest,
    settings: Settings,
}

fn load(args: &RunArgs, logger: Logger) -> Result<Loaded> {
    let settings =
        input::load_settings(args.settings_json.as_deref(), args.settings_path.as_deref())?;
    let request = input::load_request(&args.request_path)?;
    load_with(args, logger, request, settings)
}

fn load_with(
    args: &RunArgs,
    logger: Logger,
    request: AdmissionRequest,
    settings: Settings,
) -> Result<Loaded> {
    let wasm = std::fs::read(&args.policy)
        .with_context(|| format!("Cannot read policy file {}", args.policy.display()))?;
    let access = resource_access(&wasm, args.allow_context_aware, &args.policy, logger)?;
    let matching = if args.strict_replay {
        Matching::Strict
    } else {
        Matching::ByContent
    };
    let session = match &args.replay_host_capabilities_interactions {
        Some(path) => Session::load(path, matching)?,
        None => Session::none(matching),
    };
    let host = Arc::new(Host::new(session, access, logger));
    let policy = Policy::load(&wasm, Arc::clone(&host))
        .with_context(|| format!("Cannot load policy {}", args.policy.display()))?;
    let verdict = policy.validate_settings(&settings);
    if !verdict.valid {
        bail!(
            "Provided settings are not valid: {}",
            verdict.message.unwrap_or_default()
        );
    }
    Ok(Loaded {
        policy,
        host,
        request,
        settings,
    })
}

/// kwctl's context-aware gating, relaxed for policies that carry no metadata.
fn resource_access(
    wasm: &[u8],
    allowed: bool,
    path: &Path,
    logger: Logger,
) -> Result<ResourceAccess> {
    let declared = metadata::context_aware_resources(wasm)
        .with_context(|| format!("Cannot read the metadata of {}", path.display()))?;
    Ok(match (allowed, declared) {
        (false, declared) => {
            if declared.is_some_and(|resources| !resources.is_empty()) {
                logger.emit(
                    Level::Warn,
                    "harness",
                    "Policy requires access to Kubernetes resources at evaluation time. During this execution the access to Kubernetes resources is denied. This can cause the policy to not behave properly",
                    &[],
                );
            }
            ResourceAccess::Denied
        }
        (true, Some(resources)) => ResourceAccess::Listed(resources),
        (true, None) => ResourceAccess::Any,
    })
}

fn batch(args: &RunArgs, logger: Logger) -> Result<()> {
    let lines = std::fs::read_to_string(&args.request_path)
        .with_context(|| format!("Error opening request file {}", args.request_path))?;
    let single = RunArgs {
        request_path: "-".to_owned(),
        ..args.clone()
    };
    let settings =
        input::load_settings(args.settings_json.as_deref(), args.settings_path.as_deref())?;
    let mut loaded: Option<Loaded> = None;
    for (number, line) in lines
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let value: serde_json::Value =
            serde_json::from_str(line).with_context(|| format!("line {}: not JSON", number + 1))?;
        let request = input::parse_request(value)
            .with_context(|| format!("line {}: not an AdmissionRequest", number + 1))?;
        if loaded.is_none() {
            loaded = Some(load_with(
                &single,
                logger,
                request.clone(),
                settings.clone(),
            )?);
        }
        let Some(current) = loaded.as_ref() else {
            bail!("the policy could not be loaded");
        };
        let response = current.policy.validate(&request, &current.settings);
        let line = response.to_line()?;
        println!("{line}");
        if line.contains("internal server error") {
            // A trapped instance is not reused: load a fresh one, as the policy-server does.
            loaded = None;
        }
    }
    Ok(())
}

fn run(args: &RunArgs, logger: Logger) -> Result<()> {
    let loaded = load(args, logger)?;
    let response = loaded.policy.validate(&loaded.request, &loaded.settings);
    loaded.host.warn_about_leftovers();
    println!("{}", response.to_line()?);
    Ok(())
}

fn bench(args: &BenchArgs, logger: Logger) -> Result<()> {
    let loaded = load(&args.run, logger)?;
    let (first, samples) = bench::run(
        &loaded.policy,
        &loaded.host,
        &loaded.request,
        &loaded.settings,
        usize::try_from(args.warmup)?,
        usize::try_from(args.iterations)?,
    );
    logger.emit(
        Level::Info,
        "harness::bench",
        "response of the first evaluation",
        &[("response", &first.to_line()?)],
    );
    loaded.host.warn_about_leftovers();
    let Some(report) = bench::Report::from_samples(&samples) else {
        bail!("no evaluation was timed");
    };
    if args.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!("{}", report.to_text());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn accepts_kwctl_style_invocations() {
        let cli = Cli::try_parse_from([
            "harness",
            "--no-color",
            "run",
            "--settings-json",
            "{}",
            "-r",
            "req.json",
            "--allow-context-aware",
            "--replay-host-capabilities-interactions",
            "session.yml",
            "policy.wasm",
        ])
        .expect("parses");
        let Command::Run(args) = cli.command else {
            panic!("run expected")
        };
        assert_eq!(args.request_path, "req.json");
        assert!(args.allow_context_aware && !args.strict_replay);

        let cli = Cli::try_parse_from([
            "harness",
            "bench",
            "-r",
            "-",
            "--json",
            "--iterations",
            "5",
            "p.wasm",
        ])
        .expect("parses");
        let Command::Bench(args) = cli.command else {
            panic!("bench expected")
        };
        assert_eq!((args.iterations, args.warmup, args.json), (5, 50, true));
    }

    #[test]
    fn usage_errors_are_rejected() {
        assert!(Cli::try_parse_from(["harness", "run", "p.wasm"]).is_err());
        assert!(
            Cli::try_parse_from(["harness", "bench", "-r", "r", "--iterations", "0", "p.wasm"])
                .is_err()
        );
    }
}
