//! The run's phases, each recorded as a task row so a resumed run skips
//! what is done: `@plan`, the subtasks (in parallel waves, merged into the
//! run branch), then `finish` (`@integrate`, `@review`, `@docs`), gates and
//! delivery.

use super::state::{self, Phase, RunStatus, TaskStatus};
use super::steps::{Access, Kind};
use super::store::TaskRow;
use super::subtask::Ended;
use super::{Ctx, RunFailure, RunSummary, git};
use factory_types::roles::{ArchitectInput, Feedback};
use factory_types::{Plan, Subtask};
use serde_json::json;
use std::sync::Arc;

/// Where the plan's subtasks sit among the tasks: after the plan, before
/// integration (see [`Phase::seq`]).
const SUBTASK_SEQ: i64 = 10;

/// A phase's task, as stored (or new).
pub fn phase(ctx: &Ctx, p: Phase) -> TaskRow {
    task_row(ctx, p.id(), p.seq(), p.title())
}

/// A task as stored, or a new pending one; an interrupted attempt is not
/// counted.
fn task_row(ctx: &Ctx, id: &str, seq: i64, title: &str) -> TaskRow {
    let mut t = ctx
        .store
        .task(&ctx.run_id, id)
        .ok()
        .flatten()
        .unwrap_or(TaskRow {
            id: id.into(),
            seq,
            title: title.into(),
            status: TaskStatus::Pending,
            attempts: 0,
            reason: String::new(),
            data: json!({}),
        });
    uncount_interrupted(&mut t);
    t
}

/// A task found in flight was interrupted (the process died): its last
/// attempt did not finish, so it is not counted; it is redone from its start.
pub fn uncount_interrupted(t: &mut TaskRow) {
    if t.status == TaskStatus::InFlight {
        t.attempts = t.attempts.saturating_sub(1);
        t.status = TaskStatus::Pending;
    }
}

/// Drive the run to its end; the summary of how it ended.
pub async fn drive(ctx: Arc<Ctx>) -> RunSummary {
    // The wall budget holds while host code runs too: the phases are cut
    // off when it runs out (whatever they await), and a watchdog thread
    // ends the process if host work stops yielding past it.
    let max_wall = ctx.cfg.budget.max_wall;
    let left = max_wall.saturating_sub(ctx.started.elapsed());
    let watchdog = super::watchdog::Watchdog::arm(&ctx, left + super::watchdog::GRACE);
    let outcome = match tokio::time::timeout(left, phases(&ctx)).await {
        Ok(o) => o,
        Err(_) => Err(RunFailure::Budget(format!(
            "the run's wall time ({}) ran out",
            humantime::format_duration(max_wall)
        ))),
    };
    watchdog.disarm();
    let (status, reason) = match &outcome {
        Ok(()) => (RunStatus::Done, String::new()),
        Err(RunFailure::Blocked(m)) => (RunStatus::Blocked, m.clone()),
        Err(RunFailure::Budget(m)) => (RunStatus::Failed, format!("budget: {m}")),
        Err(RunFailure::Failed(m)) => (RunStatus::Failed, m.clone()),
    };
    if let Err(e) = ctx.store.set_run_status(&ctx.run_id, status, &reason) {
        tracing::error!("cannot record the run's end: {e}");
    }
    // The tasks the failure stopped mid-step failed with it (a killed
    // process leaves them in flight instead, for resume to redo).
    if outcome.is_err() {
        for mut t in ctx.store.tasks(&ctx.run_id).unwrap_or_default() {
            if t.status == TaskStatus::InFlight {
                t.status = TaskStatus::Failed;
                t.reason = reason.clone();
                ctx.save(&t);
            }
        }
    }
    ctx.note(
        state::RUN,
        "note",
        status.as_str(),
        if reason.is_empty() {
            format!("run {status}")
        } else {
            format!("run {status}: {reason}")
        },
        String::new(),
    );
    ctx.host.journal().flush();
    let report = ctx.dir.join("report.html");
    if let Err(e) = super::report::write_html(&ctx.host, &ctx.run_id, &report) {
        tracing::error!("cannot write the report: {e}");
    }
    // Worktrees are scratch; the branches keep the work.
    if status == RunStatus::Done {
        if let Ok(tasks) = ctx.store.tasks(&ctx.run_id) {
            for t in tasks.iter().filter(|t| !t.id.starts_with('@')) {
                git::worktree_remove(&ctx.repo, &ctx.subtask_dir(&t.id));
            }
        }
        git::worktree_remove(&ctx.repo, &ctx.work);
    }
    let spent = ctx.budget.spent();
    let run = ctx.store.run(&ctx.run_id).ok().flatten();
    RunSummary {
        id: ctx.run_id.clone(),
        status,
        reason,
        result: run.and_then(|r| r.result),
        report,
        tokens: spent.tokens,
        cost_usd: spent.cost_micro_usd as f64 / 1e6,
    }
}

fn check_wall(ctx: &Ctx) -> Result<(), RunFailure> {
    if ctx.started.elapsed() > ctx.cfg.budget.max_wall {
        return Err(RunFailure::Budget(format!(
            "the run's wall-time budget of {} is used up",
            humantime::format_duration(ctx.cfg.budget.max_wall)
        )));
    }
    Ok(())
}

async fn phases(ctx: &Arc<Ctx>) -> Result<(), RunFailure> {
    let plan = plan(ctx).await?;
    check_wall(ctx)?;
    subtasks(ctx, &plan).await?;
    check_wall(ctx)?;
    super::finish::integrate(ctx).await?;
    check_wall(ctx)?;
    let review = super::finish::review(ctx).await?;
    check_wall(ctx)?;
    super::finish::docs(ctx).await?;
    super::deliver::gates_and_deliver(ctx, review).await
}

async fn plan(ctx: &Ctx) -> Result<Plan, RunFailure> {
    let mut t = phase(ctx, Phase::Plan);
    if t.status == TaskStatus::Done
        && let Some(plan) = ctx
            .store
            .run(&ctx.run_id)
            .ok()
            .flatten()
            .and_then(|r| r.plan)
        && let Ok(p) = serde_json::from_value(plan)
    {
        return Ok(p);
    }
    ctx.begin_attempt(&mut t)?;
    let input = ArchitectInput {
        task: ctx.task.clone(),
        workdir: ctx.work.display().to_string(),
    };
    let access = Access {
        workdir: ctx.work.clone(),
        scratch: None,
        exec: vec![],
    };
    let plan: Plan = ctx
        .step(
            Phase::Plan.id(),
            Kind::Architect,
            t.attempts,
            &input,
            &access,
        )
        .await?;
    // The guest checked its plan; the host checks it again.
    let problems = plan.problems(&ctx.task.scope);
    if !problems.is_empty() {
        return Err(RunFailure::Failed(format!(
            "the architect's plan is invalid: {}",
            problems.join("; ")
        )));
    }
    let _ = ctx.store.set_plan(
        &ctx.run_id,
        &serde_json::to_value(&plan).unwrap_or_default(),
    );
    for (i, s) in plan.subtasks.iter().enumerate() {
        if ctx.store.task(&ctx.run_id, &s.id).ok().flatten().is_none() {
            ctx.save(&TaskRow {
                id: s.id.clone(),
                seq: SUBTASK_SEQ + i as i64,
                title: s.title.clone(),
                status: TaskStatus::Pending,
                attempts: 0,
                reason: String::new(),
                data: json!({"scope": s.scope, "depends_on": s.depends_on}),
            });
        }
    }
    ctx.complete(&mut t)?;
    Ok(plan)
}

/// Run the subtasks in waves: each wave takes the ready subtasks whose
/// scopes do not overlap, runs them at once, then merges the ones that
/// passed into the run branch. A merge conflict sends the subtask back to
/// the coder, redone on top of the merged work.
async fn subtasks(ctx: &Arc<Ctx>, plan: &Plan) -> Result<(), RunFailure> {
    let rows = |ctx: &Ctx| {
        ctx.store
            .tasks(&ctx.run_id)
            .map_err(|e| RunFailure::Failed(e.to_string()))
    };
    loop {
        // Merge what passed before (also after a resume).
        for r in rows(ctx)?.iter().filter(|r| r.status == TaskStatus::Passed) {
            if let Some(s) = plan.subtasks.iter().find(|s| s.id == r.id) {
                merge(ctx, s)?;
            }
        }
        let rows = rows(ctx)?;
        let status = |id: &str| {
            rows.iter()
                .find(|r| r.id == id)
                .map(|r| r.status)
                .unwrap_or(TaskStatus::Pending)
        };
        if let Some(b) = plan
            .subtasks
            .iter()
            .find(|s| matches!(status(&s.id), TaskStatus::Blocked | TaskStatus::Failed))
        {
            let r = rows
                .iter()
                .find(|r| r.id == b.id)
                .map(|r| r.reason.clone())
                .unwrap_or_default();
            return Err(RunFailure::Blocked(r));
        }
        let mut wave: Vec<Subtask> = Vec::new();
        for s in &plan.subtasks {
            let st = status(&s.id);
            let ready = matches!(st, TaskStatus::Pending | TaskStatus::InFlight)
                && s.depends_on.iter().all(|d| status(d) == TaskStatus::Done);
            if ready
                && wave.len() < ctx.cfg.pipeline.parallel
                && wave.iter().all(|w| Plan::independent(w, s))
            {
                wave.push(s.clone());
            }
        }
        if wave.is_empty() {
            return if plan
                .subtasks
                .iter()
                .all(|s| status(&s.id) == TaskStatus::Done)
            {
                Ok(())
            } else {
                Err(RunFailure::Failed(
                    "the plan's remaining subtasks cannot start (dependencies not done)".into(),
                ))
            };
        }
        ctx.note(
            state::RUN,
            "wave",
            "ok",
            match wave.len() {
                1 => format!("starting {}", wave[0].id),
                n => format!(
                    "starting {n} subtasks in parallel: {}",
                    wave.iter()
                        .map(|s| s.id.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            },
            String::new(),
        );
        let mut set = tokio::task::JoinSet::new();
        for s in wave {
            let c = ctx.clone();
            let others = plan.subtasks.clone();
            set.spawn(async move { c.run_subtask(&s, &others).await });
        }
        let mut stop = None;
        while let Some(r) = set.join_next().await {
            match r {
                Ok(Ended::Passed) => {}
                Ok(Ended::Stopped(f)) => stop = stop.or(Some(f)),
                Err(e) => {
                    stop = stop.or(Some(RunFailure::Failed(format!("a subtask panicked: {e}"))))
                }
            }
        }
        if let Some(f) = stop {
            // Let the others' passes be merged on resume; stop now.
            return Err(f);
        }
        check_wall(ctx)?;
    }
}

/// Merge a passed subtask's branch into the run branch.
fn merge(ctx: &Ctx, s: &Subtask) -> Result<(), RunFailure> {
    let mut t = task_row(ctx, &s.id, SUBTASK_SEQ, &s.title);
    let branch = ctx.subtask_branch(&s.id);
    let fail = |e: git::GitError| RunFailure::Failed(e.to_string());
    match git::merge(
        &ctx.work,
        &branch,
        &ctx.with_trailer(format!("merge {}: {}", s.id, s.title)),
    )
    .map_err(fail)?
    {
        Ok(head) => {
            ctx.note(
                &s.id,
                "merge",
                "ok",
                format!("merged {branch} into {}", ctx.branch),
                head,
            );
            ctx.complete(&mut t)?;
            git::worktree_remove(&ctx.repo, &ctx.subtask_dir(&s.id));
            let _ = git::git(&ctx.repo, &["branch", "-D", &branch]);
            Ok(())
        }
        Err(files) => {
            let list = files.join(", ");
            ctx.note(
                &s.id,
                "merge",
                "conflict",
                format!("merge conflict in {list}: back to the coder"),
                String::new(),
            );
            let fb = Feedback {
                from: "merge".into(),
                summary: format!("your change conflicted with other subtasks' changes in {list}"),
                details: "Your working tree now holds the merged work of the other subtasks. Make your change again on top of it.".into(),
            };
            ctx.next_round(&mut t, fb, format!("conflict: {list}"))?;
            t.status = TaskStatus::Pending;
            ctx.save(&t);
            Ok(())
        }
    }
}
