//! `factory log`.

use super::{Failure, print_json};
use anyhow::Context;
use clap::Args;
use factory_host::journal::{self, Entry};

#[derive(Args)]
pub struct LogArgs {
    /// Only this plugin's entries.
    #[arg(long)]
    plugin: Option<String>,
    /// Only the entries of this factory run.
    #[arg(long)]
    run: Option<String>,
    /// Print JSON (an array of entries) instead of text.
    #[arg(long)]
    json: bool,
    /// How many of the latest entries.
    #[arg(long, default_value_t = 100)]
    limit: usize,
}

pub fn run(a: LogArgs) -> Result<(), Failure> {
    let home = factory_host::Home::from_env().context("cannot use the factory home")?;
    let conn = factory_host::db::open(&home.db_path()).context("cannot open the journal")?;
    let entries = journal::query(&conn, a.plugin.as_deref(), a.run.as_deref(), a.limit)
        .context("cannot read the journal")?;
    if a.json {
        return print_json(&entries);
    }
    for e in &entries {
        match e {
            Entry::Invocation {
                time, record: r, ..
            } => println!(
                "{time} {:<14} call {} {} in {:.1} ms (cpu {:.1} ms, mem {} KiB, in {} B, out {} B, trust {}){}",
                r.plugin,
                r.call_id,
                r.outcome,
                r.duration_us as f64 / 1000.0,
                r.cpu_us as f64 / 1000.0,
                r.peak_memory / 1024,
                r.input_bytes,
                r.output_bytes,
                r.trust,
                if r.detail.is_empty() {
                    String::new()
                } else {
                    format!(": {}", r.detail)
                }
            ),
            Entry::Event {
                time, record: r, ..
            } => println!("{time} {:<14} {}: {}", r.plugin, r.kind, r.message),
        }
    }
    if entries.is_empty() {
        eprintln!(
            "(the journal is empty{})",
            a.plugin.map(|p| format!(" for `{p}`")).unwrap_or_default()
        );
    }
    Ok(())
}
