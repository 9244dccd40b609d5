//! `factory run`, `factory resume`, `factory runs`, `factory report`.

use super::{EXIT_INTERNAL, EXIT_TOOL_ERROR, EXIT_USAGE, Failure, fail, open_host, print_json};
use anyhow::anyhow;
use clap::{Args, Subcommand};
use factory_host::orchestrator::outcome::Delivery;
use factory_host::orchestrator::progress::{ProgressSink, Terminal};
use factory_host::orchestrator::state::RunStatus;
use factory_host::orchestrator::{self, RunError, RunOptions, RunSummary, config::Reach, report};
use std::path::PathBuf;

#[derive(Args)]
pub struct RunArgs {
    /// The spec: a GitHub issue (JSON), a markdown brief, test output, a
    /// Slack message (JSON), or a factory.task/v1 document; `-` for stdin.
    spec: PathBuf,
    /// The git repository to work on.
    #[arg(long, default_value = ".")]
    repo: PathBuf,
    /// The spec's format (default: detected).
    #[arg(long, default_value = "auto")]
    format: String,
    /// Override factory.toml's trust: read-only, draft, auto-merge, scoped, full.
    #[arg(long, value_parser = parse_trust)]
    trust: Option<Reach>,
    /// Play model replies back from this recording instead of calling a model.
    #[arg(long, value_name = "FILE")]
    replay: Option<PathBuf>,
    /// Replay leniently: play the recorded replies even where the live
    /// requests (tool results included) differ from the recorded ones. For
    /// hand-written sessions; by default a difference stops the run.
    #[arg(long)]
    replay_lenient: bool,
    /// Append every model exchange to this recording (for later --replay).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Print the outcome as JSON.
    #[arg(long)]
    json: bool,
    /// Show each step on standard error as it starts and ends, even when
    /// it is not a terminal (on a terminal it is on unless --json).
    #[arg(long)]
    progress: bool,
}

pub fn parse_trust(s: &str) -> Result<Reach, String> {
    Reach::parse(s).ok_or_else(|| {
        format!("unknown trust `{s}`; one of read-only, draft, auto-merge, scoped, full")
    })
}

#[derive(Args)]
pub struct ResumeArgs {
    /// The run (see `factory runs`).
    id: String,
    /// Append model exchanges to this recording.
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    #[arg(long)]
    json: bool,
    /// Show each step on standard error as it starts and ends, even when
    /// it is not a terminal (on a terminal it is on unless --json).
    #[arg(long)]
    progress: bool,
}

#[derive(Subcommand)]
pub enum RunsCommand {
    /// Show one run: tasks, timeline with costs, denials, result.
    Show {
        id: String,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Args)]
pub struct RunsArgs {
    #[command(subcommand)]
    command: Option<RunsCommand>,
    /// How many runs to list.
    #[arg(long, default_value_t = 20)]
    limit: usize,
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ReportArgs {
    /// The run.
    id: String,
    /// Write a self-contained HTML report to this file.
    #[arg(long, value_name = "FILE")]
    html: PathBuf,
}

fn run_error(e: RunError) -> Failure {
    let e = anyhow::Error::from(e);
    fail(super::exit_code_of(&e), e)
}

fn finish(s: RunSummary, json: bool) -> Result<(), Failure> {
    if json {
        print_json(&s)?;
    } else {
        println!(
            "run {}: {}{}",
            s.id,
            s.status,
            if s.reason.is_empty() {
                String::new()
            } else {
                format!(": {}", s.reason)
            }
        );
        if let Some(r) = &s.result {
            let why = r.not_merged.as_deref().unwrap_or("");
            match r.delivery {
                Delivery::Merged => println!(
                    "  merged into {} ({})",
                    r.merged_into.as_deref().unwrap_or(""),
                    r.merge_commit.as_deref().unwrap_or("")
                ),
                Delivery::Draft => println!(
                    "  draft: branch {}, pull-request record {} ({why})",
                    r.branch,
                    r.pull_request
                        .as_ref()
                        .map_or("-".into(), |p| p.display().to_string()),
                ),
                Delivery::Patch => println!("  suggested patch: {}", r.patch.display()),
            }
        }
        println!("  {} tokens, ${:.4}", s.tokens, s.cost_usd);
        println!("  timeline: factory runs show {}", s.id);
        println!("  report:   {}", s.report.display());
        if s.status != RunStatus::Done {
            println!("  continue: factory resume {}", s.id);
        }
    }
    if s.status == RunStatus::Done {
        Ok(())
    } else {
        Err(fail(EXIT_TOOL_ERROR, anyhow!("run {} {}", s.id, s.status)))
    }
}

pub async fn run(a: RunArgs) -> Result<(), Failure> {
    let host = open_host()?;
    let opts = RunOptions {
        repo: a.repo,
        spec: a.spec,
        format: Some(a.format),
        trust: a.trust,
        max_trust: None,
        replay: a.replay,
        replay_lenient: a.replay_lenient,
        record: a.record,
        progress: progress_sink(a.progress, a.json),
        run_id: None,
    };
    run_with(&host, opts, a.json).await
}

pub async fn run_with(
    host: &factory_host::Host,
    opts: RunOptions,
    json: bool,
) -> Result<(), Failure> {
    let s = orchestrator::start(host, opts).await.map_err(run_error)?;
    finish(s, json)
}

/// Live progress on standard error: asked for, or on a terminal without
/// --json (whose standard output is for machines, its errors for people).
pub fn progress_sink(asked: bool, json: bool) -> ProgressSink {
    use std::io::IsTerminal;
    if asked || (!json && std::io::stderr().is_terminal()) {
        ProgressSink::to(std::sync::Arc::new(Terminal::new()))
    } else {
        ProgressSink::default()
    }
}

pub async fn resume(a: ResumeArgs) -> Result<(), Failure> {
    let host = open_host()?;
    let progress = progress_sink(a.progress, a.json);
    let s = orchestrator::resume(&host, &a.id, a.record.as_deref(), progress)
        .await
        .map_err(run_error)?;
    finish(s, a.json)
}

pub fn runs(a: RunsArgs) -> Result<(), Failure> {
    let host = open_host()?;
    match a.command {
        Some(RunsCommand::Show { id, json }) => {
            let v = report::view(&host, &id)
                .map_err(|e| fail(EXIT_INTERNAL, e.into()))?
                .ok_or_else(|| fail(EXIT_USAGE, anyhow!("no run `{id}` (see `factory runs`)")))?;
            if json {
                return print_json(&v);
            }
            print!("{}", report::text(&v));
            Ok(())
        }
        None => {
            let store = orchestrator::store::Store::open(&host.home().db_path())
                .map_err(|e| fail(EXIT_INTERNAL, e.into()))?;
            let rows = store
                .runs(a.limit)
                .map_err(|e| fail(EXIT_INTERNAL, e.into()))?;
            if a.json {
                return print_json(&rows);
            }
            if rows.is_empty() {
                println!("no runs yet (start one with `factory run SPEC --repo PATH`)");
            }
            for r in rows {
                println!(
                    "{}  {}  {:<8} {:<10} {}",
                    r.id,
                    factory_host::db::format_ms(r.created)
                        .get(..19)
                        .unwrap_or(""),
                    r.status,
                    r.trust,
                    r.task["title"].as_str().unwrap_or("")
                );
            }
            Ok(())
        }
    }
}

pub fn report(a: ReportArgs) -> Result<(), Failure> {
    let host = open_host()?;
    report::write_html(&host, &a.id, &a.html).map_err(|e| {
        fail(
            EXIT_USAGE,
            anyhow!("cannot write the report of {}: {e}", a.id),
        )
    })?;
    println!("{}", a.html.display());
    Ok(())
}
