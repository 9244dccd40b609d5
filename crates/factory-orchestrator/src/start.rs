//! Starting a run (repository, config, roles, intake, model, branch and
//! worktree, budget) and resuming one from its stored state.

use super::config::{Config, Reach};
use super::state::{self, RunStatus, TaskStatus};
use super::store::{RunRow, Store};
use super::{Ctx, RunError, RunOptions, RunSummary, git, intake, phases};
use crate::budget::{Allowance, Budget, Spent};
use crate::runtime::Host;
use factory_types::Task;
use std::collections::HashMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

pub(crate) fn budget_from(cfg: &Config, spent: Spent, by_role: HashMap<String, Spent>) -> Budget {
    let micro = |usd: Option<f64>| usd.map(|u| (u * 1e6).round() as u64);
    let roles = cfg
        .budget
        .roles
        .iter()
        .map(|(k, r)| {
            (
                k.clone(),
                Allowance {
                    max_tokens: r.max_tokens,
                    max_cost_micro_usd: micro(r.max_cost_usd),
                },
            )
        })
        .collect();
    Budget::new(
        Allowance {
            max_tokens: cfg.budget.max_tokens,
            max_cost_micro_usd: micro(cfg.budget.max_cost_usd),
        },
        roles,
        (spent, by_role),
    )
}

/// A new run id: sortable by time, unique.
pub fn new_run_id() -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("r{:x}{:04x}", now.as_secs(), now.subsec_nanos() >> 16)
}

/// A run id as the host makes them: `r` and up to 40 letters or digits
/// (it names a branch and a directory).
pub fn valid_run_id(id: &str) -> bool {
    id.len() <= 41
        && id.starts_with('r')
        && id.len() > 1
        && id.chars().all(|c| c.is_ascii_alphanumeric())
}

/// Register the configured model provider; the model name roles are granted.
/// `spec`: where the spec was read from, as the task records it and as
/// stored (both are normalised away in recordings).
fn setup_model(
    host: &Host,
    cfg: &Config,
    repo: &Path,
    spec: [&str; 2],
    record: Option<&Path>,
) -> Result<Option<String>, RunError> {
    let Some(m) = &cfg.model else { return Ok(None) };
    let normalizer = crate::models::normalize::Normalizer::new(repo, host.home().root())
        .with(spec[0], "<spec>")
        .with(spec[1], "<spec>");
    let provider = m.provider(repo, record, normalizer)?;
    host.models().register(&m.name, provider);
    Ok(Some(m.name.clone()))
}

/// Start a run of `opts.spec` on `opts.repo` and drive it to its end.
pub async fn start(host: &Host, opts: RunOptions) -> Result<RunSummary, RunError> {
    let repo = git::open_repo(&opts.repo)
        .map_err(|e| RunError::NotARepo(opts.repo.display().to_string(), e.message))?;
    let mut cfg = Config::load(&repo)?;
    if let Some(t) = opts.trust {
        cfg.trust = t;
        if t == Reach::Full && cfg.deploy.is_none() {
            return Err(RunError::Setup(
                "--trust full deploys, so factory.toml needs a [deploy] table".into(),
            ));
        }
    }
    if let Some(r) = &opts.replay {
        let m = cfg.model.get_or_insert_with(|| crate::models::ModelConfig {
            provider: crate::models::ProviderKind::Replay,
            name: "replay".into(),
            base_url: None,
            api_key_env: None,
            replay: None,
            lenient: false,
            timeout: None,
            max_retries: None,
            input_per_mtok: None,
            output_per_mtok: None,
        });
        m.provider = crate::models::ProviderKind::Replay;
        m.replay = Some(std::path::absolute(r).unwrap_or(r.clone()));
    }
    if opts.replay_lenient {
        match cfg.model.as_mut() {
            Some(m) if m.provider == crate::models::ProviderKind::Replay => m.lenient = true,
            _ => {
                return Err(RunError::Setup(
                    "--replay-lenient needs a replayed model: --replay FILE, or provider = \"replay\" in factory.toml's [model]".into(),
                ));
            }
        }
    }
    // The repository proposes; the operator's policy decides.
    let policy = super::operator::Policy::load(host.home().root())
        .map_err(|e| RunError::Setup(e.to_string()))?;
    let limits = policy.effective(&repo);
    let mut policy_notes = super::operator::apply(&mut cfg, &limits, &repo, opts.trust.is_some())
        .map_err(RunError::Setup)?;
    if let Some(max) = opts.max_trust
        && cfg.trust > max
    {
        policy_notes.push(format!(
            "trust {} capped at {} by the caller (factory mcp --factory-max-trust)",
            cfg.trust.name(),
            max.name()
        ));
        cfg.trust = max;
    }
    super::pipeline::check_roles(host, &cfg)?;
    // Intake first: a bad spec creates no run.
    let task = intake::read_spec(host, &opts.spec, opts.format.as_deref()).await?;
    let spec = opts.spec.display().to_string();
    let model = setup_model(
        host,
        &cfg,
        &repo,
        [&task.source.reference, &spec],
        opts.record.as_deref(),
    )?;

    // A worker's clone of a remote: the remote's default branch as it was
    // just fetched (its checkout is detached; delivery pushes).
    let clone = git::remote::is_clone(&repo);
    let target = match &cfg.target_branch {
        Some(t) => t.clone(),
        None if clone => git::remote::default_branch(&repo)?,
        None => git::current_branch(&repo).ok_or_else(|| {
            RunError::Setup(
                "the repository has no branch checked out; set target_branch in factory.toml"
                    .into(),
            )
        })?,
    };
    let base = if clone {
        git::remote::remote_tip(&repo, &target)?
    } else {
        git::rev(&repo, &target)?
    };
    let id = match opts.run_id.clone() {
        Some(id) if valid_run_id(&id) => id,
        Some(id) => {
            return Err(RunError::Setup(format!(
                "`{id}` is not a run id (r and letters or digits)"
            )));
        }
        None => new_run_id(),
    };
    let store = Arc::new(Store::open(&host.home().db_path())?);
    if store.run(&id)?.is_some() {
        return Err(RunError::Setup(format!(
            "run {id} exists already; resume it"
        )));
    }
    let branch = format!("factory/{id}");
    let dir = host.home().root().join("runs").join(&id);
    std::fs::create_dir_all(&dir)
        .map_err(|e| RunError::Setup(format!("cannot create {}: {e}", dir.display())))?;
    let now = crate::db::now_ms();
    store.insert_run(&RunRow {
        id: id.clone(),
        created: now,
        updated: now,
        repo: repo.display().to_string(),
        spec: std::path::absolute(&opts.spec)
            .unwrap_or(opts.spec.clone())
            .display()
            .to_string(),
        task: serde_json::to_value(&task).unwrap_or_default(),
        config: serde_json::to_value(&cfg).unwrap_or_default(),
        trust: cfg.trust.name().into(),
        target: target.clone(),
        base: base.clone(),
        branch: branch.clone(),
        status: RunStatus::Running,
        reason: String::new(),
        plan: None,
        result: None,
    })?;
    let work = dir.join("work");
    git::worktree_add(&repo, &work, &branch, &base)?;
    let ctx = Arc::new(Ctx {
        budget: Arc::new(budget_from(&cfg, Spent::default(), HashMap::new())),
        host: host.clone(),
        store,
        run_id: id,
        trust: cfg.trust,
        cfg,
        task,
        repo,
        dir,
        work,
        branch,
        base,
        target,
        model,
        started: Instant::now(),
        progress: opts.progress.clone(),
    });
    ctx.progress.emit(&super::progress::RunEvent::Started {
        run_id: &ctx.run_id,
        trust: ctx.trust.name(),
    });
    ctx.note(
        state::RUN,
        "note",
        "ok",
        format!("run started at trust {}", ctx.trust.name()),
        String::new(),
    );
    for n in policy_notes {
        tracing::warn!("{n}");
        ctx.note(
            state::RUN,
            "policy",
            "ok",
            n,
            format!("policy: {}", limits.source),
        );
    }
    Ok(phases::drive(ctx).await)
}

/// The configuration and task a run started with.
pub(crate) fn stored(run: &RunRow) -> Result<(Config, Task), RunError> {
    let id = &run.id;
    let cfg: Config = serde_json::from_value(run.config.clone()).map_err(|e| {
        RunError::Setup(format!(
            "the stored configuration of {id} is unreadable: {e}"
        ))
    })?;
    let task: Task = serde_json::from_value(run.task.clone())
        .map_err(|e| RunError::Setup(format!("the stored task of {id} is unreadable: {e}")))?;
    Ok((cfg, task))
}

/// The run's directory and its integration worktree, recreated at the run
/// branch if it is gone, else reset to its commit.
pub(crate) fn integration_worktree(
    host: &Host,
    repo: &Path,
    run: &RunRow,
) -> Result<(std::path::PathBuf, std::path::PathBuf), RunError> {
    let dir = host.home().root().join("runs").join(&run.id);
    let work = dir.join("work");
    if !work.join(".git").exists() {
        // A run stopped before its branch was made starts it at its base.
        let tip = git::rev(repo, &run.branch).unwrap_or_else(|_| run.base.clone());
        git::worktree_add(repo, &work, &run.branch, &tip)?;
    } else {
        git::reset_hard(&work)?;
    }
    Ok((dir, work))
}

/// Resume a run that was interrupted (killed, crashed) or stopped blocked
/// or failed, with the configuration it started with. Steps already done
/// are not done again; a step that was in flight is redone from its start.
pub async fn resume(
    host: &Host,
    id: &str,
    record: Option<&Path>,
    progress: super::progress::ProgressSink,
) -> Result<RunSummary, RunError> {
    let store = Arc::new(Store::open(&host.home().db_path())?);
    let run = store
        .run(id)?
        .ok_or_else(|| RunError::UnknownRun(id.to_string()))?;
    if run.status == RunStatus::Done {
        return Err(RunError::Finished(id.to_string(), run.status));
    }
    let repo = git::open_repo(Path::new(&run.repo))
        .map_err(|e| RunError::NotARepo(run.repo.clone(), e.message))?;
    let (cfg, task) = stored(&run)?;
    // The roles it started with must still be there, and still be roles.
    super::pipeline::check_roles(host, &cfg)?;
    let model = setup_model(
        host,
        &cfg,
        &repo,
        [&task.source.reference, &run.spec],
        record,
    )?;
    let mut by_role: HashMap<String, Spent> = HashMap::new();
    let mut total = Spent::default();
    for (role, tokens, cost, calls) in store.usage(id)? {
        let s = Spent {
            tokens,
            cost_micro_usd: cost,
            calls,
        };
        total.tokens += tokens;
        total.cost_micro_usd += cost;
        total.calls += calls;
        by_role.insert(role, s);
    }
    let (dir, work) = integration_worktree(host, &repo, &run)?;
    // A blocked or failed task gets one more try: its loop detector is
    // reset and it has one attempt left.
    for mut t in store.tasks(id)? {
        if t.status == TaskStatus::Blocked || t.status == TaskStatus::Failed {
            t.status = TaskStatus::Pending;
            t.reason.clear();
            t.data["signature"] = serde_json::Value::Null;
            t.attempts = t.attempts.min(cfg.budget.max_attempts.saturating_sub(1));
            store.upsert_task(id, &t)?;
        }
    }
    store.set_run_status(id, RunStatus::Running, "")?;
    let ctx = Arc::new(Ctx {
        budget: Arc::new(budget_from(&cfg, total, by_role)),
        host: host.clone(),
        store,
        run_id: id.to_string(),
        trust: Reach::parse(&run.trust).unwrap_or(cfg.trust),
        cfg,
        task,
        repo,
        dir,
        work,
        branch: run.branch,
        base: run.base,
        target: run.target,
        model,
        started: Instant::now(),
        progress,
    });
    ctx.note(
        state::RUN,
        "note",
        "ok",
        "run resumed".into(),
        String::new(),
    );
    Ok(phases::drive(ctx).await)
}
