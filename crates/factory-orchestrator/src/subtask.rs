//! One subtask's loop, in its own worktree and branch: the coder works, the
//! host commits and checks the scope, the tester tests; failures go back
//! to the coder as feedback until the tests pass, the attempts run out, or
//! the same failure comes back twice (blocked: a loop, not progress).

use super::state::TaskStatus;
use super::steps::{Access, Kind};
use super::store::TaskRow;
use super::{Ctx, RunFailure, git};
use factory_types::roles::{CoderInput, CoderOutput, Feedback, TesterInput, TesterOutput};
use factory_types::task::in_scope;
use factory_types::{Subtask, TestReport};
use serde_json::json;
use std::path::PathBuf;

/// How a subtask's loop ended.
pub enum Ended {
    /// Tests pass on its branch; ready to merge.
    Passed,
    Stopped(RunFailure),
}

/// Feedback text for a failing test report.
pub fn test_feedback(out: &TesterOutput) -> Feedback {
    let r: &TestReport = &out.report;
    let mut details = String::new();
    for f in &r.failures {
        let at = match (&f.file, f.line) {
            (Some(file), Some(l)) => format!(" ({file}:{l})"),
            _ => String::new(),
        };
        details.push_str(&format!("- {}{at}: {}\n", f.name, f.message));
        if !f.output.is_empty() {
            details.push_str(&format!("{}\n", super::cap_text(&f.output, 1500)));
        }
    }
    if r.failures.is_empty() {
        details.push_str(&out.output_tail);
    }
    Feedback {
        from: "tester".into(),
        summary: format!("{} of {} tests fail", r.failed, r.total.max(r.failed)),
        details,
    }
}

impl Ctx {
    pub fn subtask_dir(&self, id: &str) -> PathBuf {
        self.dir.join("tasks").join(id)
    }

    pub fn scratch(&self, id: &str) -> PathBuf {
        let p = self.dir.join("scratch").join(id);
        let _ = std::fs::create_dir_all(&p);
        p
    }

    pub fn subtask_branch(&self, id: &str) -> String {
        format!("{}-{id}", self.branch)
    }

    /// The test step on `workdir`. None when no test command is configured.
    pub async fn test(
        &self,
        task_id: &str,
        attempt: u32,
        workdir: &std::path::Path,
    ) -> Result<Option<TesterOutput>, RunFailure> {
        if self.cfg.test.command.trim().is_empty() {
            return Ok(None);
        }
        let scratch = self.scratch(task_id);
        let argv = super::config::argv(&self.cfg.test.command, &scratch);
        let input = TesterInput {
            workdir: workdir.display().to_string(),
            command: argv.clone(),
            format: self.cfg.test.format.clone(),
            junit_path: self
                .cfg
                .test
                .junit
                .as_ref()
                .map(|j| super::config::argv(j, &scratch).join(" ")),
            timeout_ms: Some(self.cfg.test.timeout.as_millis().min(u32::MAX as u128) as u32),
        };
        let access = Access {
            workdir: workdir.to_path_buf(),
            scratch: Some(scratch),
            exec: argv.first().cloned().into_iter().collect(),
        };
        Ok(Some(
            self.step(task_id, Kind::Tester, attempt, &input, &access)
                .await?,
        ))
    }

    /// A failure on a configured feedback edge: `Coder` goes on (the
    /// caller sends the feedback round with [`Ctx::next_round`]); `Stop`
    /// saves the task blocked, says which setting stopped it, and ends the
    /// run. The one place subtasks, integration and review honour the edge.
    pub fn on_failure(
        &self,
        edge: super::config::FeedbackEdge,
        setting: &str,
        what: &str,
        t: &mut TaskRow,
        fb: &Feedback,
    ) -> Result<(), RunFailure> {
        if edge == super::config::FeedbackEdge::Coder {
            return Ok(());
        }
        let why = format!(
            "{}: {what} ({}); [pipeline] {setting} = \"stop\"",
            t.id, fb.summary
        );
        self.note(&t.id, "loop", "blocked", why.clone(), String::new());
        t.status = TaskStatus::Blocked;
        t.reason = why.clone();
        self.save(t);
        Err(RunFailure::Blocked(why))
    }

    /// Record a failure and decide: go round again (Ok, with the feedback
    /// stored for the next attempt), or stop (the task is saved blocked,
    /// with the reason).
    pub fn next_round(
        &self,
        t: &mut TaskRow,
        fb: Feedback,
        signature: String,
    ) -> Result<(), RunFailure> {
        let max = self.cfg.budget.max_attempts;
        let why = if t.data["signature"].as_str() == Some(signature.as_str()) {
            Some(format!(
                "{}: the same failure came back after a retry ({}); stopping instead of looping",
                t.id, fb.summary
            ))
        } else if t.attempts >= max {
            Some(format!(
                "{}: still failing after {max} attempts ({})",
                t.id, fb.summary
            ))
        } else {
            None
        };
        if let Some(why) = why {
            self.note(&t.id, "loop", "blocked", why.clone(), signature);
            t.status = TaskStatus::Blocked;
            t.reason = why.clone();
            self.save(t);
            return Err(RunFailure::Blocked(why));
        }
        t.data["signature"] = json!(signature);
        t.data["feedback"] = json!([fb]);
        Ok(())
    }

    pub fn save(&self, t: &TaskRow) {
        if let Err(e) = self.store.upsert_task(&self.run_id, t) {
            tracing::error!("cannot save task {}: {e}", t.id);
        }
    }

    /// Run the subtask's code/test loop from its stored state.
    /// `others` are the plan's other subtasks: a change to a file one of
    /// them declares is sent back; a change to a file no subtask declares
    /// (a changelog, a shared module list) is allowed and noted, and may
    /// conflict at merge time.
    pub async fn run_subtask(&self, sub: &Subtask, others: &[Subtask]) -> Ended {
        let mut t = match self.store.task(&self.run_id, &sub.id) {
            Ok(Some(t)) => t,
            _ => {
                return Ended::Stopped(RunFailure::Failed(format!(
                    "subtask {} is not in the run's state",
                    sub.id
                )));
            }
        };
        super::phases::uncount_interrupted(&mut t);
        let dir = self.subtask_dir(&sub.id);
        let branch = self.subtask_branch(&sub.id);
        // Every attempt of a subtask starts from the run branch's tip, so a
        // redo after a merge conflict sees the other subtasks' work.
        let start = match git::rev(&self.work, "HEAD") {
            Ok(s) => s,
            Err(e) => return Ended::Stopped(RunFailure::Failed(e.to_string())),
        };
        if let Err(e) = git::worktree_add(&self.repo, &dir, &branch, &start) {
            return Ended::Stopped(RunFailure::Failed(e.to_string()));
        }
        loop {
            if let Err(e) = self.begin_attempt(&mut t) {
                return Ended::Stopped(e);
            }
            let feedback: Vec<Feedback> =
                serde_json::from_value(t.data["feedback"].clone()).unwrap_or_default();
            let input = CoderInput {
                task: self.task.clone(),
                subtask: sub.clone(),
                workdir: dir.display().to_string(),
                attempt: t.attempts,
                feedback,
                max_turns: self.cfg.pipeline.max_turns,
            };
            let access = Access {
                workdir: dir.clone(),
                scratch: None,
                exec: vec![],
            };
            let out: CoderOutput = match self
                .step(&sub.id, Kind::Coder, t.attempts, &input, &access)
                .await
            {
                Ok(o) => o,
                Err(e) => return Ended::Stopped(e.into()),
            };
            let message =
                self.with_trailer(format!("{}: {}\n\n{}", sub.id, sub.title, out.summary));
            let committed = match git::commit_all(&dir, &message) {
                Ok(c) => c,
                Err(e) => return Ended::Stopped(RunFailure::Failed(e.to_string())),
            };
            let changed = git::changed_files(&dir, &start, "HEAD").unwrap_or_default();
            let outside: Vec<&String> = changed
                .iter()
                .filter(|f| !sub.scope.is_empty() && !sub.scope.iter().any(|s| in_scope(f, s)))
                .collect();
            let (outside, unowned): (Vec<&String>, Vec<&String>) =
                outside.into_iter().partition(|f| {
                    others
                        .iter()
                        .any(|o| o.id != sub.id && o.scope.iter().any(|s| in_scope(f, s)))
                });
            if !unowned.is_empty() {
                let list = join(&unowned);
                self.note(
                    &sub.id,
                    "scope",
                    "ok",
                    format!("also changed files no subtask declares: {list}"),
                    String::new(),
                );
            }
            let problem = if committed.is_none() && changed.is_empty() {
                Some((
                    Feedback {
                        from: "orchestrator".into(),
                        summary: "the attempt changed no file".into(),
                        details: "Make the change the subtask asks for.".into(),
                    },
                    "no-change".to_string(),
                ))
            } else if !outside.is_empty() {
                let list = join(&outside);
                self.note(
                    &sub.id,
                    "scope",
                    "failed",
                    format!("changed files another subtask owns: {list}"),
                    String::new(),
                );
                Some((
                    Feedback {
                        from: "orchestrator".into(),
                        summary: format!(
                            "you changed files that belong to another subtask: {list} (your scope: {})",
                            sub.scope.join(", ")
                        ),
                        details: "Revert those files; change only files in your scope.".into(),
                    },
                    format!("scope: {list}"),
                ))
            } else {
                match self.test(&sub.id, t.attempts, &dir).await {
                    Err(f) => return Ended::Stopped(f),
                    Ok(None) => None,
                    Ok(Some(r)) if r.passed => None,
                    Ok(Some(r)) => {
                        let edge = self.cfg.pipeline.on_test_failure;
                        if let Err(stop) = self.on_failure(
                            edge,
                            "on_test_failure",
                            "tests fail",
                            &mut t,
                            &test_feedback(&r),
                        ) {
                            return Ended::Stopped(stop);
                        }
                        Some((test_feedback(&r), r.report.signature()))
                    }
                }
            };
            match problem {
                None => {
                    t.status = TaskStatus::Passed;
                    t.data["branch"] = json!(branch);
                    t.data["head"] = json!(git::head(&dir).unwrap_or_default());
                    t.data["feedback"] = json!([]);
                    self.save(&t);
                    return Ended::Passed;
                }
                Some((fb, sig)) => {
                    if let Err(stop) = self.next_round(&mut t, fb, sig) {
                        return Ended::Stopped(stop);
                    }
                    self.save(&t);
                }
            }
        }
    }
}

/// Paths as one comma-separated list.
pub fn join(paths: &[&String]) -> String {
    paths
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
