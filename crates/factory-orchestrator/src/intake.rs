//! Intake: choose the adapter (by `--format`, or the most confident one),
//! run it in the sandbox with no grants, and check the task it returns (an
//! adapter is untrusted code: its output is validated like any input).

use crate::registry::World;
use crate::runtime::{Host, Outcome, ToolFailure};
use factory_types::Task;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum IntakeError {
    #[error("the input is empty; expected {expected}")]
    Empty { expected: String },
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    #[error("unknown format `{0}`; installed intake formats: {1}")]
    UnknownFormat(String, String),
    #[error("cannot tell what this input is; expected {expected} (or pass --format)")]
    Undetected { expected: String },
    #[error("not a valid {format} input: {message}")]
    Invalid { format: String, message: String },
    #[error("intake adapter `{adapter}` failed: {message}")]
    Adapter { adapter: String, message: String },
    #[error("intake adapter `{adapter}` returned an invalid task: {problems}")]
    BadTask { adapter: String, problems: String },
    #[error(transparent)]
    Invoke(#[from] crate::runtime::InvokeError),
    #[error(transparent)]
    Registry(#[from] crate::registry::RegistryError),
}

/// What intake produced.
pub struct Intaken {
    pub task: Task,
    pub adapter: String,
    pub format: String,
}

/// (adapter name, format, description) of every installed intake adapter.
pub fn adapters(host: &Host) -> Result<Vec<(String, String, String)>, IntakeError> {
    Ok(host
        .registry()
        .list()?
        .into_iter()
        .filter(|r| r.world == World::Intake)
        .map(|r| (r.name, r.kind, r.description))
        .collect())
}

fn expected(list: &[(String, String, String)]) -> String {
    list.iter()
        .map(|(_, f, d)| format!("{f} ({})", d.trim_end_matches('.')))
        .collect::<Vec<_>>()
        .join("; ")
}

/// Turn `input` into a task. `format`: None or `auto` to detect.
pub async fn intake(
    host: &Host,
    input: &str,
    source: &str,
    format: Option<&str>,
) -> Result<Intaken, IntakeError> {
    let list = adapters(host)?;
    if input.trim().is_empty() {
        return Err(IntakeError::Empty {
            expected: expected(&list),
        });
    }
    let (adapter, format) = match format.filter(|f| *f != "auto") {
        Some(f) => {
            let (name, fmt, _) = list.iter().find(|(_, k, _)| k == f).ok_or_else(|| {
                IntakeError::UnknownFormat(
                    f.to_string(),
                    list.iter()
                        .map(|(_, k, _)| k.as_str())
                        .collect::<Vec<_>>()
                        .join(", "),
                )
            })?;
            (name.clone(), fmt.clone())
        }
        None => {
            let mut best: Option<(u8, &String, &String)> = None;
            for (name, fmt, _) in &list {
                let score = host.intake_detect(name, input).await?;
                if score > 0 && best.is_none_or(|(b, _, _)| score > b) {
                    best = Some((score, name, fmt));
                }
            }
            let (_, name, fmt) = best.ok_or_else(|| IntakeError::Undetected {
                expected: expected(&list),
            })?;
            (name.clone(), fmt.clone())
        }
    };
    let inv = host.intake_parse(&adapter, input, source).await?;
    let json = match inv.outcome {
        Outcome::Ok(j) => j,
        Outcome::ToolError(ToolFailure::InvalidInput(message)) => {
            return Err(IntakeError::Invalid { format, message });
        }
        Outcome::ToolError(f) => {
            return Err(IntakeError::Adapter {
                adapter,
                message: super::failure_text(&f),
            });
        }
        Outcome::Limit(k, m) => {
            return Err(IntakeError::Adapter {
                adapter,
                message: format!("sandbox limit ({k}): {m}"),
            });
        }
    };
    let task: Task = serde_json::from_str(&json).map_err(|e| IntakeError::BadTask {
        adapter: adapter.clone(),
        problems: e.to_string(),
    })?;
    let problems = task.problems();
    if !problems.is_empty() {
        return Err(IntakeError::BadTask {
            adapter,
            problems: problems.join("; "),
        });
    }
    Ok(Intaken {
        task,
        adapter,
        format,
    })
}

/// Read a spec file (`-`: standard input) into a task. A file that already
/// holds a `factory.task/v1` document is taken as is (after validation).
pub async fn read_spec(
    host: &Host,
    path: &Path,
    format: Option<&str>,
) -> Result<Task, IntakeError> {
    let shown = path.display().to_string();
    let text = if shown == "-" {
        let mut s = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut s)
            .map_err(|e| IntakeError::Read(shown.clone(), e))?;
        s
    } else {
        std::fs::read_to_string(path).map_err(|e| IntakeError::Read(shown.clone(), e))?
    };
    if format.is_none_or(|f| f == "auto" || f == "task")
        && let Ok(task) = serde_json::from_str::<Task>(&text)
    {
        let problems = task.problems();
        if !problems.is_empty() {
            return Err(IntakeError::Invalid {
                format: "factory.task/v1".into(),
                message: problems.join("; "),
            });
        }
        return Ok(task);
    }
    Ok(intake(host, &text, &shown, format).await?.task)
}

/// Keep a spec that arrived as text (over MCP, a webhook, the API) as the
/// file `dir/stem.json` when it is JSON, else `dir/stem.md`: a run
/// records the path of its spec. Returns the path, or a message naming it.
pub fn write_spec(dir: &Path, stem: &str, text: &str) -> Result<PathBuf, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let ext = if serde_json::from_str::<serde_json::Value>(text).is_ok() {
        "json"
    } else {
        "md"
    };
    let path = dir.join(format!("{stem}.{ext}"));
    std::fs::write(&path, text).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    Ok(path)
}
