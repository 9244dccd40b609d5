//! `factory intake`.

use super::{EXIT_TOOL_ERROR, EXIT_USAGE, Failure, fail, open_host, print_json};
use anyhow::anyhow;
use clap::Args;
use factory_host::orchestrator::intake::{self, IntakeError};
use std::path::PathBuf;

#[derive(Args)]
pub struct IntakeArgs {
    /// The input file, or `-` for standard input.
    file: PathBuf,
    /// The input's format: auto (ask every installed intake adapter),
    /// github-issue, markdown, test-output, chat, or an installed adapter's.
    #[arg(long, default_value = "auto")]
    format: String,
    /// Print the task as JSON (schema factory.task/v1).
    #[arg(long)]
    json: bool,
}

pub async fn run(a: IntakeArgs) -> Result<(), Failure> {
    let shown = a.file.display().to_string();
    let text = if shown == "-" {
        std::io::read_to_string(std::io::stdin())
            .map_err(|e| anyhow!("cannot read standard input: {e}"))?
    } else {
        std::fs::read_to_string(&a.file).map_err(|e| anyhow!("cannot read {shown}: {e}"))?
    };
    let host = open_host()?;
    let result = intake::intake(&host, &text, &shown, Some(&a.format)).await;
    host.journal().flush();
    let out = result.map_err(|e| {
        let code = match e {
            IntakeError::Adapter { .. } | IntakeError::BadTask { .. } => EXIT_TOOL_ERROR,
            _ => EXIT_USAGE,
        };
        fail(code, e.into())
    })?;
    if a.json {
        return print_json(&out.task);
    }
    let t = &out.task;
    println!("{}", t.title);
    println!("  format:    {} (adapter {})", out.format, out.adapter);
    println!("  priority:  {:?}", t.priority);
    if !t.scope.is_empty() {
        println!("  scope:     {}", t.scope.join(", "));
    }
    if !t.labels.is_empty() {
        println!("  labels:    {}", t.labels.join(", "));
    }
    let src = &t.source;
    println!(
        "  source:    {}{}{}",
        src.reference,
        src.id
            .as_deref()
            .map(|i| format!(" {i}"))
            .unwrap_or_default(),
        src.url
            .as_deref()
            .map(|u| format!(" <{u}>"))
            .unwrap_or_default()
    );
    println!("\n{}", t.intent);
    if !t.acceptance_criteria.is_empty() {
        println!("\nAcceptance criteria:");
        for c in &t.acceptance_criteria {
            println!("  - {c}");
        }
    }
    Ok(())
}
