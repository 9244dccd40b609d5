//! `factory trust report`.

use super::{EXIT_INTERNAL, Failure, fail, open_host, print_json};
use clap::Subcommand;
use factory_host::orchestrator::track;

#[derive(Subcommand)]
pub enum TrustCommand {
    /// Each role plugin's track record (runs, merges, reverts, failed
    /// gates) and which could be promoted. Promotion is never automatic:
    /// the report prints the command for a human to run.
    Report {
        #[arg(long)]
        json: bool,
    },
}

pub fn run(cmd: TrustCommand) -> Result<(), Failure> {
    let TrustCommand::Report { json } = cmd;
    let host = open_host()?;
    let recs = track::report(&host).map_err(|e| fail(EXIT_INTERNAL, e.into()))?;
    if json {
        return print_json(&recs);
    }
    if recs.is_empty() {
        println!("no runs yet: track records start with `factory run`");
        return Ok(());
    }
    println!(
        "{:<14} {:<18} {:>5} {:>9} {:>7} {:>7} {:>12}",
        "PLUGIN", "TRUST", "RUNS", "STEPS OK", "MERGES", "REVERTS", "FAILED GATES"
    );
    for r in &recs {
        let trust = r.trust.map_or("(removed)".to_string(), |t| {
            format!("{} ({})", t.name(), t.number())
        });
        println!(
            "{:<14} {:<18} {:>5} {:>5}/{:<3} {:>7} {:>7} {:>12}",
            r.plugin,
            trust,
            r.runs,
            r.steps_ok,
            r.steps_ok + r.steps_failed,
            r.merges,
            r.reverts,
            r.failed_gates
        );
    }
    let promotable: Vec<_> = recs
        .iter()
        .filter_map(|r| r.promote.as_ref().map(|c| (r, c)))
        .collect();
    println!();
    if promotable.is_empty() {
        println!(
            "No promotion suggested (needs {} runs, no reverts, no failed gates, at most 1 failed step in 5).",
            track::MIN_RUNS
        );
    }
    for (r, cmd) in promotable {
        println!("{} could be promoted: {cmd}", r.plugin);
    }
    Ok(())
}
