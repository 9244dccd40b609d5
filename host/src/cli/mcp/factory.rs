//! `factory mcp --factory`: the factory itself as three tools, so an
//! assistant can hand a whole task over. `factory_run` starts a run on a
//! repository the operator listed (`--factory-repo`) and returns its id at
//! once; the run goes on in the server. `factory_runs` and
//! `factory_run_show` only read. A run started here has at most
//! `--factory-max-trust` (default draft), whatever the repository's
//! factory.toml or the operator's policy would allow.

use factory_host::Host;
use factory_host::orchestrator::config::Reach;
use factory_host::orchestrator::progress::{Progress, ProgressSink, RunEvent};
use factory_host::orchestrator::{self, RunOptions, report};
use rmcp::model::{CallToolResult, ContentBlock, Tool, ToolAnnotations};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

pub const RUN: &str = "factory_run";
pub const RUNS: &str = "factory_runs";
pub const SHOW: &str = "factory_run_show";

pub struct FactoryTools {
    /// The repositories runs may be started on (canonical paths).
    repos: Vec<PathBuf>,
    max_trust: Reach,
}

fn schema(v: Value) -> Arc<serde_json::Map<String, Value>> {
    match v {
        Value::Object(m) => Arc::new(m),
        _ => unreachable!("the schemas below are objects"),
    }
}

impl FactoryTools {
    pub fn new(repos: Vec<PathBuf>, max_trust: Reach) -> FactoryTools {
        FactoryTools { repos, max_trust }
    }

    fn repo_list(&self) -> String {
        self.repos
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The three tools, with their schemas and hints.
    pub fn tools(&self) -> Vec<Tool> {
        let run = Tool::new(
            RUN,
            format!(
                "Start a factory run on a task: the factory plans, codes, tests and reviews a change on its own branch, at most at trust `{}` (a draft for a human to merge). Returns the run id at once; follow it with {SHOW}. Repositories: {}.",
                self.max_trust.name(),
                self.repo_list()
            ),
            schema(json!({
                "type": "object",
                "properties": {
                    "spec": {"type": "string", "description": "The task: a markdown brief, or a GitHub issue as JSON."},
                    "repo": {"type": "string", "description": format!("The repository, one of: {}. May be left out when there is only one.", self.repo_list())},
                },
                "required": ["spec"],
                "additionalProperties": false,
            })),
        )
        .annotate(
            ToolAnnotations::new()
                .read_only(false)
                .destructive(false)
                .open_world(true),
        );
        let runs = Tool::new(
            RUNS,
            "List the latest factory runs: id, status, trust, title.",
            schema(json!({
                "type": "object",
                "properties": {"limit": {"type": "integer", "minimum": 1, "maximum": 200}},
                "additionalProperties": false,
            })),
        )
        .annotate(ToolAnnotations::new().read_only(true).open_world(false));
        let show = Tool::new(
            SHOW,
            "Show one factory run: status, tasks, timeline with costs, denials and result.",
            schema(json!({
                "type": "object",
                "properties": {"run_id": {"type": "string"}},
                "required": ["run_id"],
                "additionalProperties": false,
            })),
        )
        .annotate(ToolAnnotations::new().read_only(true).open_world(false));
        vec![run, runs, show]
    }

    /// Answer a call of one of the three (arguments already fit its schema).
    pub async fn call(&self, host: &Host, name: &str, args: &Value) -> CallToolResult {
        let out = match name {
            RUN => self.run(host, args).await,
            RUNS => runs(host, args["limit"].as_u64().unwrap_or(20) as usize),
            SHOW => show(host, args["run_id"].as_str().unwrap_or_default()),
            _ => Err(format!("no tool named `{name}`")),
        };
        match out {
            Ok(v) => CallToolResult::structured(v),
            Err(e) => CallToolResult::error(vec![ContentBlock::text(format!("{name}: {e}"))]),
        }
    }

    fn repo(&self, asked: Option<&str>) -> Result<PathBuf, String> {
        let Some(asked) = asked else {
            return match self.repos.as_slice() {
                [one] => Ok(one.clone()),
                _ => Err(format!("name the repository: one of {}", self.repo_list())),
            };
        };
        let want = std::fs::canonicalize(asked).unwrap_or_else(|_| PathBuf::from(asked));
        self.repos
            .iter()
            .find(|r| **r == want)
            .cloned()
            .ok_or_else(|| {
                format!(
                    "`{asked}` is not a repository this server may run on; the operator listed: {}",
                    self.repo_list()
                )
            })
    }

    async fn run(&self, host: &Host, args: &Value) -> Result<Value, String> {
        let repo = self.repo(args["repo"].as_str())?;
        let spec_text = args["spec"].as_str().unwrap_or_default();
        if spec_text.trim().is_empty() {
            return Err("the spec is empty".into());
        }
        let spec = orchestrator::intake::write_spec(
            &host.home().root().join("mcp-specs"),
            &factory_sandbox::new_call_id(),
            spec_text,
        )?;
        let (tx, rx) = tokio::sync::oneshot::channel();
        let opts = RunOptions {
            repo,
            spec,
            format: Some("auto".into()),
            max_trust: Some(self.max_trust),
            progress: ProgressSink::to(Arc::new(StartedOnce(Mutex::new(Some(tx))))),
            ..Default::default()
        };
        let host = host.clone();
        // The run goes on after this call returns, in this server. If the
        // server stops first, `factory resume ID` takes it up.
        let run = tokio::spawn(async move { orchestrator::start(&host, opts).await });
        match rx.await {
            Ok((run_id, trust)) => Ok(json!({
                "run_id": run_id,
                "status": "running",
                "trust": trust,
                "follow": format!("call {SHOW} with this run_id, or run `factory runs show {run_id}`"),
            })),
            // It ended before it started: a bad spec, a repository it
            // cannot work on, a configuration the operator refuses.
            Err(_) => match run.await {
                Ok(Err(e)) => Err(format!(
                    "the run did not start: {e:#}",
                    e = anyhow::Error::from(e)
                )),
                Ok(Ok(s)) => Ok(json!({"run_id": s.id, "status": s.status.to_string()})),
                Err(e) => Err(format!("the run did not start: {e}")),
            },
        }
    }
}

/// Hands the run id over once the run exists.
struct StartedOnce(Mutex<Option<tokio::sync::oneshot::Sender<(String, String)>>>);

impl Progress for StartedOnce {
    fn event(&self, e: &RunEvent<'_>) {
        if let RunEvent::Started { run_id, trust } = e
            && let Some(tx) = self.0.lock().ok().and_then(|mut t| t.take())
        {
            let _ = tx.send((run_id.to_string(), trust.to_string()));
        }
    }
}

fn runs(host: &Host, limit: usize) -> Result<Value, String> {
    let store = orchestrator::store::Store::open(&host.home().db_path())
        .map_err(|e| format!("cannot open the run store: {e}"))?;
    let rows = store
        .runs(limit)
        .map_err(|e| format!("cannot read the runs: {e}"))?;
    let runs: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "run_id": r.id,
                "created": factory_host::db::format_ms(r.created),
                "status": r.status.to_string(),
                "trust": r.trust,
                "repo": r.repo,
                "title": r.task["title"],
            })
        })
        .collect();
    Ok(json!({ "runs": runs }))
}

fn show(host: &Host, id: &str) -> Result<Value, String> {
    let view = report::view(host, id)
        .map_err(|e| format!("cannot read run `{id}`: {e}"))?
        .ok_or_else(|| format!("no run `{id}` (see {RUNS})"))?;
    let mut v = serde_json::to_value(&view).map_err(|e| e.to_string())?;
    // The status first, where a client polling for it looks.
    v["status"] = json!(view.run.status.to_string());
    Ok(v)
}
