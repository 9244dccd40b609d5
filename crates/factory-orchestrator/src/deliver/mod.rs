//! Gates and delivery. The gates are evaluated by the host from evidence
//! it gathered itself (the final test run, the reviewer's verdict, git's
//! diff); each decision is journaled with its evidence. The run's trust
//! level then decides the stopping point: a patch, a pull-request record,
//! a merge (auto-merge: low-risk paths only; scoped: inside the task's
//! scope), a merge and a deploy.

use super::config::Reach;
use super::state;
use super::steps::{Access, Kind};
use super::{Ctx, RunFailure, git};
use factory_types::glob;
use factory_types::roles::{DeployerInput, DeployerOutput, ReviewerOutput};
use factory_types::task::in_scope;
use serde_json::json;

pub use super::outcome::GateResult;

mod gates;
pub mod merge;
mod remote;
use super::outcome::{Delivery, RunResult};
pub use gates::check;

pub async fn gates_and_deliver(
    ctx: &Ctx,
    review: Option<ReviewerOutput>,
) -> Result<(), RunFailure> {
    let fail = |e: git::GitError| RunFailure::Failed(e.to_string());
    let tip = git::head(&ctx.work).map_err(fail)?;
    let gates::Checked {
        gates,
        gates_pass,
        changed,
        patch,
        lines,
    } = gates::check(ctx, &review, &tip, ctx.trust >= Reach::AutoMerge).await?;
    let g = &ctx.cfg.gates;
    // A worker's clone: delivery goes to the git remote.
    let remote = git::remote::is_clone(&ctx.repo);

    // Write the evidence whatever happens next (the patch is written).
    let pr = pull_request(ctx, &review, &gates, &changed, lines, &tip);
    let pr_path = ctx.dir.join("pull-request.json");
    let _ = std::fs::write(
        &pr_path,
        serde_json::to_string_pretty(&pr).unwrap_or_default(),
    );

    let mut result = RunResult {
        trust: ctx.trust.name().to_string(),
        gates_pass,
        gates,
        changed,
        patch: patch.clone(),
        branch: ctx.branch.clone(),
        tip: tip.clone(),
        delivery: Delivery::Patch,
        merged_into: None,
        merge_commit: None,
        pull_request: None,
        not_merged: None,
        deploy: None,
        decision: None,
    };
    let changed = &result.changed;
    let merge_ok = |why_not: Option<String>| -> (bool, String) {
        match why_not {
            None if gates_pass => (true, String::new()),
            None => (false, "a gate failed".into()),
            Some(w) => (false, w),
        }
    };
    let (merge, why_not) = match ctx.trust {
        Reach::ReadOnly | Reach::Draft => (
            false,
            format!("trust {} stops before merging", ctx.trust.name()),
        ),
        Reach::AutoMerge => {
            let risky: Vec<&String> = changed
                .iter()
                .filter(|f| !glob::any(&g.low_risk_paths, f))
                .collect();
            merge_ok(
                (!risky.is_empty())
                    .then(|| format!("not low-risk: {}", super::subtask::join(&risky))),
            )
        }
        Reach::Scoped | Reach::Full => {
            // Inside the task's scope, or low-risk (what auto-merge, the
            // level below, would merge anyway).
            let scope = &ctx.task.scope;
            let outside: Vec<&String> = changed
                .iter()
                .filter(|f| {
                    !scope.iter().any(|s| in_scope(f, s)) && !glob::any(&g.low_risk_paths, f)
                })
                .collect();
            merge_ok(if scope.is_empty() {
                Some("the task declares no scope".into())
            } else {
                (!outside.is_empty()).then(|| {
                    format!(
                        "outside the task's scope: {}",
                        super::subtask::join(&outside)
                    )
                })
            })
        }
    };
    if ctx.trust == Reach::ReadOnly {
        result.delivery = Delivery::Patch;
        ctx.note(
            state::DELIVER,
            "deliver",
            "ok",
            format!("suggested patch written to {}", patch.display()),
            String::new(),
        );
        // Nothing of a read-only run stays in the repository.
        git::worktree_remove(&ctx.repo, &ctx.work);
        let _ = git::git(&ctx.repo, &["branch", "-D", &ctx.branch]);
    } else if merge {
        let _serial = merge::lock_target(&ctx.repo, &ctx.target).await;
        let merged = if remote {
            remote::into_target(ctx, &review, &tip).await?
        } else {
            merge::into_target(ctx, &tip).map_err(fail)?
        };
        match merged {
            Ok(commit) => {
                result.delivery = Delivery::Merged;
                result.merged_into = Some(ctx.target.clone());
                result.merge_commit = Some(commit.clone());
                ctx.note(
                    state::DELIVER,
                    "deliver",
                    "ok",
                    format!("merged into {}", ctx.target),
                    commit,
                );
            }
            Err(why) => {
                result.delivery = Delivery::Draft;
                result.not_merged = Some(why.clone());
                ctx.note(
                    state::DELIVER,
                    "deliver",
                    "draft",
                    format!("left as a draft: {why}"),
                    String::new(),
                );
            }
        }
    } else {
        result.delivery = Delivery::Draft;
        result.pull_request = Some(pr_path.clone());
        result.not_merged = Some(why_not.clone());
        ctx.note(
            state::DELIVER,
            "deliver",
            "draft",
            format!("pull-request record for {}: {why_not}", ctx.branch),
            String::new(),
        );
    }
    if remote && ctx.trust != Reach::ReadOnly {
        remote::push_branch(ctx).await?;
    }
    if ctx.trust == Reach::Full && result.delivery == Delivery::Merged {
        let out = deploy(ctx).await?;
        let ok = out.deployed && out.healthy;
        let rolled_back = out.rolled_back;
        result.deploy = Some(out);
        let _ = ctx.store.set_result(&ctx.run_id, &result);
        if !ok {
            return Err(RunFailure::Failed(format!(
                "the deploy failed its health check{}",
                if rolled_back { "; rolled back" } else { "" }
            )));
        }
    }
    let _ = ctx.store.set_result(&ctx.run_id, &result);
    Ok(())
}

fn pull_request(
    ctx: &Ctx,
    review: &Option<ReviewerOutput>,
    gates: &[GateResult],
    changed: &[String],
    lines: u64,
    tip: &str,
) -> serde_json::Value {
    let mut body = format!("{}\n\n", ctx.task.intent);
    if !ctx.task.acceptance_criteria.is_empty() {
        body.push_str("## Acceptance criteria\n");
        for c in &ctx.task.acceptance_criteria {
            body.push_str(&format!("- {c}\n"));
        }
        body.push('\n');
    }
    body.push_str("## Evidence\n");
    for g in gates {
        body.push_str(&format!(
            "- {} {}: {}\n",
            if g.passed { "✅" } else { "❌" },
            g.name,
            g.evidence
        ));
    }
    if let Some(r) = review {
        body.push_str(&format!("\n## Review\n{}\n", r.summary));
    }
    body.push_str(&format!("\nOpened by factory run {}.\n", ctx.run_id));
    json!({
        "title": ctx.task.title,
        "body": body,
        "head": ctx.branch,
        "head_sha": tip,
        "base": ctx.target,
        "changed_files": changed,
        "changed_lines": lines,
        "labels": ctx.task.labels,
        "source": ctx.task.source,
    })
}

async fn deploy(ctx: &Ctx) -> Result<DeployerOutput, RunFailure> {
    let Some(d) = &ctx.cfg.deploy else {
        return Err(RunFailure::Failed("no [deploy] table".into()));
    };
    let scratch = ctx.scratch(state::DEPLOY);
    let argv = |c: &str| super::config::argv(c, &scratch);
    let input = DeployerInput {
        workdir: ctx.repo.display().to_string(),
        deploy: argv(&d.command),
        health: argv(&d.health),
        rollback: argv(&d.rollback),
        timeout_ms: Some(
            ctx.cfg
                .pipeline
                .step_timeout
                .as_millis()
                .min(u32::MAX as u128) as u32,
        ),
    };
    let mut exec: Vec<String> = Vec::new();
    for c in [&input.deploy, &input.health, &input.rollback] {
        if let Some(p) = c.first()
            && !exec.contains(p)
        {
            exec.push(p.clone());
        }
    }
    let access = Access {
        workdir: ctx.repo.clone(),
        scratch: Some(scratch),
        exec,
    };
    Ok(ctx
        .step(state::DEPLOY, Kind::Deployer, 1, &input, &access)
        .await?)
}
