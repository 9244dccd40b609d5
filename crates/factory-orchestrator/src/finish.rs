//! After the subtasks, on the run's integration worktree: the integration
//! tests (failures go back to a coder), the review (requested changes go
//! back to a coder, then the tests and the review run again), the docs.

use super::phases::phase;
use super::state::{Phase, TaskStatus};
use super::steps::{Access, Kind};
use super::store::TaskRow;
use super::subtask::test_feedback;
use super::{Ctx, RunFailure, git};
use factory_types::Subtask;
use factory_types::glob;
use factory_types::roles::{
    CoderInput, CoderOutput, DocumenterInput, DocumenterOutput, Feedback, ReviewChecks,
    ReviewerInput, ReviewerOutput, Verdict,
};
use serde_json::json;

/// Coder work on the integration worktree (test fixes, review changes).
async fn fix_on_work(ctx: &Ctx, t: &TaskRow, title: &str) -> Result<(), RunFailure> {
    let feedback: Vec<Feedback> =
        serde_json::from_value(t.data["feedback"].clone()).unwrap_or_default();
    let sub = Subtask {
        id: t.id.trim_start_matches('@').into(),
        title: title.into(),
        instructions: "Address the feedback below on the run's combined change.".into(),
        scope: ctx.task.scope.clone(),
        depends_on: vec![],
    };
    let input = CoderInput {
        task: ctx.task.clone(),
        subtask: sub,
        workdir: ctx.work.display().to_string(),
        attempt: t.attempts,
        feedback,
        max_turns: ctx.cfg.pipeline.max_turns,
    };
    let access = Access {
        workdir: ctx.work.clone(),
        scratch: None,
        exec: vec![],
    };
    let out: CoderOutput = ctx
        .step(&t.id, Kind::Coder, t.attempts, &input, &access)
        .await?;
    git::commit_all(
        &ctx.work,
        &ctx.with_trailer(format!("{title}\n\n{}", out.summary)),
    )
    .map_err(|e| RunFailure::Failed(e.to_string()))?;
    Ok(())
}

/// Test the merged run branch; failures go back to a coder on it.
pub async fn integrate(ctx: &Ctx) -> Result<(), RunFailure> {
    let mut t = phase(ctx, Phase::Integrate);
    if t.status == TaskStatus::Done {
        return Ok(());
    }
    loop {
        ctx.begin_attempt(&mut t)?;
        if t.attempts > 1 {
            fix_on_work(ctx, &t, "fix integration test failures").await?;
        }
        match ctx
            .test(Phase::Integrate.id(), t.attempts, &ctx.work)
            .await?
        {
            Some(r) if !r.passed => {
                t.data["passed"] = json!(false);
                let fb = test_feedback(&r);
                let edge = ctx.cfg.pipeline.on_test_failure;
                ctx.on_failure(edge, "on_test_failure", "tests fail", &mut t, &fb)?;
                ctx.next_round(&mut t, fb, r.report.signature())?;
            }
            r => {
                t.data["passed"] = json!(r.is_some());
                t.data["tests"] = serde_json::to_value(&r).unwrap_or_default();
                ctx.complete(&mut t)?;
                return Ok(());
            }
        }
    }
}

/// Review the run's change; requested changes go back to a coder, then
/// the tests and the review run again.
/// The most of the diff a reviewer is sent.
pub const REVIEW_WINDOW: usize = 200_000;

pub async fn review(ctx: &Ctx) -> Result<Option<ReviewerOutput>, RunFailure> {
    let mut t = phase(ctx, Phase::Review);
    if !ctx.cfg.pipeline.review {
        return Ok(None);
    }
    if t.status == TaskStatus::Done {
        return Ok(serde_json::from_value(t.data["review"].clone()).ok());
    }
    loop {
        ctx.begin_attempt(&mut t)?;
        if t.attempts > 1 {
            fix_on_work(ctx, &t, "address review comments").await?;
            if let Some(r) = ctx.test(Phase::Review.id(), t.attempts, &ctx.work).await?
                && !r.passed
            {
                let fb = test_feedback(&r);
                let edge = ctx.cfg.pipeline.on_test_failure;
                ctx.on_failure(edge, "on_test_failure", "tests fail", &mut t, &fb)?;
                ctx.next_round(&mut t, fb, r.report.signature())?;
                continue;
            }
        }
        let (mut diff, changed, truncated) = change(ctx, REVIEW_WINDOW)?;
        t.data["truncated"] = json!(truncated);
        // Tests the change edits or removes are a fact the reviewer is told.
        let tip = git::head(&ctx.work).map_err(|e| RunFailure::Failed(e.to_string()))?;
        let tests_touched: Vec<String> = git::modified_or_deleted(&ctx.work, &ctx.base, &tip)
            .map_err(|e| RunFailure::Failed(e.to_string()))?
            .into_iter()
            .filter(|f| glob::any(&super::verify::test_files(), f))
            .collect();
        if !tests_touched.is_empty() {
            diff = format!(
                "[factory: this change modifies or removes existing tests: {}. Approve only if \
                 no test was weakened, skipped or deleted to make the change pass.]\n\n{diff}",
                tests_touched.join(", ")
            );
        }
        t.data["tests_touched"] = json!(tests_touched);
        let input = ReviewerInput {
            task: ctx.task.clone(),
            workdir: ctx.work.display().to_string(),
            diff,
            changed,
            checks: ReviewChecks {
                max_diff_lines: ctx.cfg.gates.max_diff_lines,
                forbidden_paths: ctx.cfg.gates.forbidden_paths.clone(),
            },
        };
        let access = Access {
            workdir: ctx.work.clone(),
            scratch: None,
            exec: vec![],
        };
        let out: ReviewerOutput = ctx
            .step(
                Phase::Review.id(),
                Kind::Reviewer,
                t.attempts,
                &input,
                &access,
            )
            .await?;
        if out.verdict == Verdict::Approve {
            t.data["review"] = serde_json::to_value(&out).unwrap_or_default();
            ctx.complete(&mut t)?;
            return Ok(Some(out));
        }
        let mut details = String::new();
        for c in &out.comments {
            let at = match (&c.path, c.line) {
                (Some(p), Some(l)) => format!("{p}:{l}: "),
                (Some(p), None) => format!("{p}: "),
                _ => String::new(),
            };
            details.push_str(&format!("- {at}{} [{}]\n", c.message, c.source));
        }
        let mut sig: Vec<String> = out.comments.iter().map(|c| c.message.clone()).collect();
        sig.sort();
        let fb = Feedback {
            from: "reviewer".into(),
            summary: out.summary.clone(),
            details,
        };
        let edge = ctx.cfg.pipeline.on_changes_requested;
        ctx.on_failure(
            edge,
            "on_changes_requested",
            "the reviewer requested changes",
            &mut t,
            &fb,
        )?;
        ctx.next_round(&mut t, fb, sig.join("\n"))?;
    }
}

pub async fn docs(ctx: &Ctx) -> Result<(), RunFailure> {
    let mut t = phase(ctx, Phase::Docs);
    if !ctx.cfg.pipeline.docs || t.status == TaskStatus::Done {
        return Ok(());
    }
    ctx.begin_attempt(&mut t)?;
    let (diff, changed, _) = change(ctx, 100_000)?;
    let input = DocumenterInput {
        task: ctx.task.clone(),
        workdir: ctx.work.display().to_string(),
        diff,
        changed,
        max_turns: ctx.cfg.pipeline.max_turns,
    };
    let access = Access {
        workdir: ctx.work.clone(),
        scratch: None,
        exec: vec![],
    };
    let fail = |e: git::GitError| RunFailure::Failed(e.to_string());
    let before = git::head(&ctx.work).map_err(fail)?;
    let out: DocumenterOutput = ctx
        .step(
            Phase::Docs.id(),
            Kind::Documenter,
            t.attempts,
            &input,
            &access,
        )
        .await?;
    if let Some(after) = git::commit_all(
        &ctx.work,
        &ctx.with_trailer(format!("docs: {}", out.summary)),
    )
    .map_err(fail)?
    {
        // The documenter runs after the tests and the review: it may touch
        // documentation only, or its change is dropped whole.
        let changed = git::changed_files(&ctx.work, &before, &after).map_err(fail)?;
        let code: Vec<&String> = changed
            .iter()
            .filter(|f| !glob::any(&super::config::doc_paths(), f))
            .collect();
        if !code.is_empty() {
            git::git(&ctx.work, &["reset", "-q", "--hard", &before]).map_err(fail)?;
            ctx.note(
                Phase::Docs.id(),
                "docs",
                "failed",
                format!("the documenter's change was dropped: it touched {code:?}, which is not documentation"),
                format!("documentation paths: {:?}", super::config::doc_paths()),
            );
        }
    }
    ctx.complete(&mut t)?;
    Ok(())
}

/// The run's change so far: its diff (at most `cap` bytes, and then it
/// says so at its end) and the changed files; with what was cut, if any.
fn change(ctx: &Ctx, cap: usize) -> Result<(String, Vec<String>, Option<String>), RunFailure> {
    let fail = |e: git::GitError| RunFailure::Failed(e.to_string());
    let tip = git::head(&ctx.work).map_err(fail)?;
    let diff = git::diff(&ctx.work, &ctx.base, &tip).map_err(fail)?;
    let changed = git::changed_files(&ctx.work, &ctx.base, &tip).map_err(fail)?;
    if diff.len() <= cap {
        return Ok((diff, changed, None));
    }
    let end = diff.floor_char_boundary(cap);
    // Files whose part of the diff does not end before the cut.
    let mut cut = Vec::new();
    let mut starts: Vec<(usize, &str)> = diff
        .match_indices("diff --git a/")
        .filter(|(i, _)| *i == 0 || diff.as_bytes()[i - 1] == b'\n')
        .map(|(i, _)| {
            let line = diff[i..].lines().next().unwrap_or("");
            let name = line
                .strip_prefix("diff --git a/")
                .and_then(|r| r.split(" b/").next())
                .unwrap_or(line);
            (i, name)
        })
        .collect();
    starts.push((diff.len(), ""));
    for w in starts.windows(2) {
        if w[1].0 > end {
            cut.push(w[0].1.to_string());
        }
    }
    let note = format!(
        "{end} of {} bytes of the diff were shown; not shown in full: {}",
        diff.len(),
        cut.join(", ")
    );
    let shown = format!(
        "{}\n\n[factory: the diff is truncated here. {note}. Read those files with the tools; \
         a review of a truncated diff cannot approve the change.]\n",
        &diff[..end]
    );
    Ok((shown, changed, Some(note)))
}
