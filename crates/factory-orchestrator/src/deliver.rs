//! Gates and delivery. The gates are evaluated by the host from evidence
//! it gathered itself (the final test run, the reviewer's verdict, git's
//! diff); each decision is journaled with its evidence. The run's trust
//! level then decides the stopping point: a patch, a pull-request record,
//! a merge (auto-merge: low-risk paths only; scoped: inside the task's
//! scope), a merge and a deploy.

use super::config::Reach;
use super::state::{self, Phase};
use super::steps::{Access, Kind};
use super::{Ctx, RunFailure, git};
use crate::journal::EventRecord;
use factory_types::glob;
use factory_types::roles::{DeployerInput, DeployerOutput, ReviewerOutput, Verdict};
use factory_types::task::in_scope;
use serde_json::json;

pub use super::outcome::GateResult;
use super::outcome::{Delivery, RunResult};

fn gate(ctx: &Ctx, name: &str, passed: bool, evidence: String) -> GateResult {
    let status = if passed { "passed" } else { "failed" };
    ctx.note(
        state::GATES,
        "gate",
        status,
        format!("{name}: {status}"),
        evidence.clone(),
    );
    ctx.host.journal().event(EventRecord {
        run_id: Some(ctx.run_id.clone()),
        capability: "gate".into(),
        target: name.into(),
        ..EventRecord::new(
            "orchestrator",
            "gate",
            format!("gate {name} {status}: {evidence}"),
        )
    });
    GateResult {
        name: name.into(),
        passed,
        evidence,
    }
}

pub async fn gates_and_deliver(
    ctx: &Ctx,
    review: Option<ReviewerOutput>,
) -> Result<(), RunFailure> {
    let fail = |e: git::GitError| RunFailure::Failed(e.to_string());
    let tip = git::head(&ctx.work).map_err(fail)?;
    let changed = git::changed_files(&ctx.work, &ctx.base, &tip).map_err(fail)?;
    // The change, written by git to its file and counted from there.
    let patch = ctx.dir.join("change.patch");
    let (bytes, lines) = git::write_diff(&ctx.work, &ctx.base, &tip, &patch).map_err(fail)?;
    let g = &ctx.cfg.gates;
    let mut gates = Vec::new();
    if changed.is_empty() {
        return Err(RunFailure::Failed("the run produced no change".into()));
    }
    // The host's own run on the commit it delivers; the tester's report is
    // shown beside it, never taken for it.
    let may_merge = ctx.trust >= Reach::AutoMerge;
    let verified = if g.tests_pass || (g.tests_not_weakened && may_merge) {
        Some(ctx.verify_tests(&tip).await?)
    } else {
        None
    };
    if let (true, Some(verified)) = (g.tests_pass, &verified) {
        let integrate = ctx
            .store
            .task(&ctx.run_id, Phase::Integrate.id())
            .ok()
            .flatten();
        let reported = match integrate.as_ref().map(|t| &t.data["tests"]) {
            Some(v) if !v.is_null() => format!(
                " (the tester reported {} passed, {} failed)",
                v.pointer("/report/passed")
                    .and_then(|x| x.as_u64())
                    .unwrap_or(0),
                v.pointer("/report/failed")
                    .and_then(|x| x.as_u64())
                    .unwrap_or(0)
            ),
            _ => String::new(),
        };
        gates.push(gate(
            ctx,
            "tests-pass",
            verified.passed,
            format!("{}{reported}", verified.evidence),
        ));
    }
    let review_task = ctx
        .store
        .task(&ctx.run_id, Phase::Review.id())
        .ok()
        .flatten();
    if let (true, true, Some(after)) = (g.tests_not_weakened, may_merge, &verified) {
        let before = ctx.verify_base().await?;
        let touched: Vec<String> = git::modified_or_deleted(&ctx.work, &ctx.base, &tip)
            .map_err(fail)?
            .into_iter()
            .filter(|f| glob::any(&super::verify::test_files(), f))
            .collect();
        // Approved by a reviewer who saw the whole diff, with these very
        // files named to it as edited tests.
        let told: Vec<String> = review_task
            .as_ref()
            .and_then(|t| serde_json::from_value(t.data["tests_touched"].clone()).ok())
            .unwrap_or_default();
        let reviewed = review
            .as_ref()
            .is_some_and(|r| r.verdict == Verdict::Approve)
            && review_task
                .as_ref()
                .is_some_and(|t| t.data["truncated"].is_null())
            && touched.iter().all(|f| told.contains(f));
        // By name where the output lists names: every test that passed
        // before still exists and passes (a deleted failing test replaced
        // by a trivial one keeps the count, not the names).
        let passing_after: std::collections::HashSet<&String> =
            after.passing_names.iter().collect();
        let lost: Vec<&String> = before
            .passing_names
            .iter()
            .filter(|n| !passing_after.contains(n))
            .collect();
        let (passed, evidence) = match (before.passing, after.passing) {
            (Some(b), Some(a)) if !lost.is_empty() => (
                false,
                format!(
                    "{b} tests passed before the change, {a} after; {} that passed before no longer pass{}: {}",
                    lost.len(),
                    if after.passing_names.is_empty() { " (the output after the change names no test)" } else { " or are gone" },
                    lost.iter().take(20).map(|n| n.as_str()).collect::<Vec<_>>().join(", ")
                ),
            ),
            (Some(b), Some(a)) if a < b => (
                false,
                format!("{b} tests passed before the change, {a} after: tests were lost"),
            ),
            (Some(b), Some(a)) if !touched.is_empty() && !reviewed => (
                false,
                format!(
                    "{b} tests passed before, {a} after; the change edits existing tests ({}) and no approving review saw that stated",
                    touched.join(", ")
                ),
            ),
            (Some(b), Some(a)) => (
                true,
                if touched.is_empty() {
                    format!("{b} tests passed before the change, {a} after; no existing test changed")
                } else {
                    format!(
                        "{b} tests passed before, {a} after; the review approved the edits to {} with that stated",
                        touched.join(", ")
                    )
                },
            ),
            _ => (
                false,
                "the host could not count the passing tests before and after the change ([test] format)".into(),
            ),
        };
        gates.push(gate(ctx, "tests-not-weakened", passed, evidence));
    }
    if g.review_approved {
        // A review of a cut diff approves only what the reviewer saw.
        let truncated = review_task
            .as_ref()
            .and_then(|t| t.data["truncated"].as_str().map(str::to_string));
        let (passed, evidence) = match (&review, truncated) {
            (Some(_), Some(cut)) => (
                false,
                format!(
                    "the reviewer saw a truncated diff ({cut}); its approval does not cover the rest"
                ),
            ),
            (Some(r), None) => (
                r.verdict == Verdict::Approve,
                format!("{:?}: {}", r.verdict, r.summary),
            ),
            (None, _) => (false, "no review ran ([pipeline] review = false)".into()),
        };
        gates.push(gate(ctx, "review-approved", passed, evidence));
    }
    if g.max_diff_lines > 0 || g.max_diff_bytes > 0 {
        let lines_ok = g.max_diff_lines == 0 || lines <= g.max_diff_lines as u64;
        let bytes_ok = g.max_diff_bytes == 0 || bytes <= g.max_diff_bytes;
        let files_ok = g.max_changed_files == 0 || changed.len() <= g.max_changed_files as usize;
        gates.push(gate(
            ctx,
            "diff-size",
            lines_ok && bytes_ok && files_ok,
            format!(
                "{lines} changed lines, limit {}; {bytes} bytes of diff, limit {}; {} changed files, limit {}",
                g.max_diff_lines,
                g.max_diff_bytes,
                changed.len(),
                g.max_changed_files
            ),
        ));
    }
    let forbidden: Vec<&String> = changed
        .iter()
        .filter(|f| glob::any(&g.forbidden_paths, f))
        .collect();
    gates.push(gate(
        ctx,
        "forbidden-paths",
        forbidden.is_empty(),
        if forbidden.is_empty() {
            format!("{} files changed, none forbidden", changed.len())
        } else {
            format!("touched {forbidden:?}")
        },
    ));
    let gates_pass = gates.iter().all(|g| g.passed);

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
        let merged = merge_into_target(ctx, &tip).map_err(fail)?;
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

/// Bring the target branch up to the run's tip: a fast-forward, after
/// merging the target into the run branch if it moved. Ok(Err(why)) when
/// it cannot be done safely (a conflict, a dirty checkout).
fn merge_into_target(ctx: &Ctx, tip: &str) -> Result<Result<String, String>, git::GitError> {
    let target_tip = git::rev(&ctx.repo, &ctx.target)?;
    let mut tip = tip.to_string();
    if !git::is_ancestor(&ctx.work, &target_tip, &tip) {
        match git::merge(
            &ctx.work,
            &target_tip,
            &format!("merge {} into {}", ctx.target, ctx.branch),
        )? {
            Ok(t) => tip = t,
            Err(files) => {
                return Ok(Err(format!(
                    "{} moved and conflicts with the change in {}",
                    ctx.target,
                    files.join(", ")
                )));
            }
        }
    }
    if git::current_branch(&ctx.repo).as_deref() == Some(ctx.target.as_str()) {
        if git::dirty(&ctx.repo) {
            return Ok(Err(format!(
                "{} is checked out with uncommitted changes",
                ctx.target
            )));
        }
        git::git(&ctx.repo, &["merge", "--ff-only", "-q", &tip])?;
    } else {
        git::git(
            &ctx.repo,
            &[
                "update-ref",
                &format!("refs/heads/{}", ctx.target),
                &tip,
                &target_tip,
            ],
        )?;
    }
    Ok(Ok(tip))
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
