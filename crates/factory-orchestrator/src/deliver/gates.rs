//! The gates, evaluated by the host from evidence it gathered itself (its
//! own test run on the commit, the reviewer's verdict, git's diff); each
//! decision is journaled with its evidence. Used at delivery and again when
//! a human approves a draft (against the target branch as it is then).

use super::super::state::{self, Phase};
use super::super::{Ctx, RunFailure, git};
use crate::journal::EventRecord;
use factory_types::glob;
use factory_types::roles::{ReviewerOutput, Verdict};
use std::path::PathBuf;

pub use super::super::outcome::GateResult;

/// What the gates found, with the change they looked at.
pub struct Checked {
    pub gates: Vec<GateResult>,
    pub gates_pass: bool,
    /// Files the change touches (against `ctx.base`).
    pub changed: Vec<String>,
    /// The whole change, written by git.
    pub patch: PathBuf,
    pub lines: u64,
}

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

/// Evaluate every configured gate on `tip` (a commit of the integration
/// worktree) against `ctx.base`. `merging`: the change is about to be
/// merged, so the tests-not-weakened gate applies too.
pub async fn check(
    ctx: &Ctx,
    review: &Option<ReviewerOutput>,
    tip: &str,
    merging: bool,
) -> Result<Checked, RunFailure> {
    let fail = |e: git::GitError| RunFailure::Failed(e.to_string());
    let changed = git::changed_files(&ctx.work, &ctx.base, tip).map_err(fail)?;
    // The change, written by git to its file and counted from there.
    let patch = ctx.dir.join("change.patch");
    let (bytes, lines) = git::write_diff(&ctx.work, &ctx.base, tip, &patch).map_err(fail)?;
    let g = &ctx.cfg.gates;
    let mut gates = Vec::new();
    if changed.is_empty() {
        return Err(RunFailure::Failed("the run produced no change".into()));
    }
    // The host's own run on the commit it delivers; the tester's report is
    // shown beside it, never taken for it.
    let verified = if g.tests_pass || (g.tests_not_weakened && merging) {
        Some(ctx.verify_tests(tip).await?)
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
    if let (true, true, Some(after)) = (g.tests_not_weakened, merging, &verified) {
        let before = ctx.verify_base().await?;
        let touched: Vec<String> = git::modified_or_deleted(&ctx.work, &ctx.base, tip)
            .map_err(fail)?
            .into_iter()
            .filter(|f| glob::any(&crate::verify::test_files(), f))
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
    Ok(Checked {
        gates,
        gates_pass,
        changed,
        patch,
        lines,
    })
}
