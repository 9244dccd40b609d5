//! Delivery from a worker's clone to the git remote (docs/scale-out.md):
//! the run's branch is pushed once, and the target branch moves only as a
//! fast-forward, by compare-and-swap, from the commit the gates saw.

use super::super::git::{self, remote};
use super::super::{Ctx, RunFailure, state};
use super::gates;
use factory_types::roles::ReviewerOutput;

fn fail(e: git::GitError) -> RunFailure {
    RunFailure::Failed(e.to_string())
}

/// Bring the remote's target up to the run's `tip` (held under the target
/// lock). Ok(Ok(commit)): the target is at a commit with the change (the
/// one it already had, if the run was delivered before). Ok(Err(why)): it
/// stays a draft.
pub async fn into_target(
    ctx: &Ctx,
    review: &Option<ReviewerOutput>,
    tip: &str,
) -> Result<Result<String, String>, RunFailure> {
    let target = &ctx.target;
    let Some(seen) = remote::fetch_branch(&ctx.repo, target).map_err(fail)? else {
        return Ok(Err(format!("the remote has no branch {target}")));
    };
    // A second delivery of the same run (a worker took it over after the
    // push) finds the run's own commit there, and does nothing.
    if let Some(c) = remote::run_commit_in(&ctx.repo, &seen, &ctx.run_id).map_err(fail)? {
        ctx.note(
            state::DELIVER,
            "deliver",
            "ok",
            format!("already delivered: the remote's {target} has the run's commit"),
            c.clone(),
        );
        return Ok(Ok(seen));
    }
    let mut tip = tip.to_string();
    if !git::is_ancestor(&ctx.work, &seen, &tip) {
        // The target moved on the remote since the run's base: merge it in
        // and check the gates again on what would be delivered.
        tip = match super::merge::up_to(ctx, &seen, &tip).map_err(fail)? {
            Ok(t) => t,
            Err(why) => return Ok(Err(why)),
        };
        ctx.note(
            state::DELIVER,
            "note",
            "ok",
            format!("{target} moved on the remote; the gates check the merge with it again"),
            seen.clone(),
        );
        let again = gates::check(ctx, review, &tip, true).await?;
        if !again.gates_pass {
            return Ok(Err(format!(
                "{target} moved on the remote and a gate fails on the merge with it"
            )));
        }
    }
    // The right to deliver (a worker's lease), checked at the last moment.
    if let Err(why) = crate::guard::check(&ctx.run_id).await {
        return Err(RunFailure::Failed(format!("not delivered: {why}")));
    }
    match remote::push_fast_forward(&ctx.repo, target, &seen, &tip) {
        Ok(_) => Ok(Ok(tip)),
        Err(e) => Ok(Err(e.message)),
    }
}

/// Push the run's branch at its tip, once: a draft is visible on the
/// remote, and a merged run's branch shows what was merged.
pub async fn push_branch(ctx: &Ctx) -> Result<(), RunFailure> {
    let tip = git::head(&ctx.work).map_err(fail)?;
    if let Err(why) = crate::guard::check(&ctx.run_id).await {
        return Err(RunFailure::Failed(format!("not pushed: {why}")));
    }
    let how = match remote::push_new_branch(&ctx.repo, &ctx.branch, &tip).map_err(fail)? {
        remote::Pushed::Moved => "pushed",
        remote::Pushed::Already => "already on the remote",
    };
    ctx.note(
        state::DELIVER,
        "push",
        "ok",
        format!("{} {how}", ctx.branch),
        tip,
    );
    Ok(())
}
