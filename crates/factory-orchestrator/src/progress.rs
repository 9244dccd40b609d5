//! Live progress of a run: each step as it starts and as it is recorded
//! (the same row the timeline stores), with the run's tokens and cost so
//! far. The CLI prints it on a terminal; nothing listens otherwise.

use super::store::StepRow;
use std::io::Write;
use std::sync::Arc;
use std::time::Instant;

/// What a run reports as it goes.
pub enum RunEvent<'a> {
    /// The run exists (its id is final) and its work begins.
    Started { run_id: &'a str, trust: &'a str },
    /// A role step is starting.
    StepStarted {
        task_id: &'a str,
        role: &'a str,
        attempt: u32,
    },
    /// A step or a note was recorded in the run's timeline.
    Recorded {
        row: &'a StepRow,
        tokens: u64,
        cost_usd: f64,
    },
}

pub trait Progress: Send + Sync {
    fn event(&self, e: &RunEvent<'_>);
}

/// Where a run's progress goes, if anywhere.
#[derive(Clone, Default)]
pub struct ProgressSink(Option<Arc<dyn Progress>>);

impl std::fmt::Debug for ProgressSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(if self.0.is_some() {
            "ProgressSink(on)"
        } else {
            "ProgressSink(off)"
        })
    }
}

impl ProgressSink {
    pub fn to(p: Arc<dyn Progress>) -> ProgressSink {
        ProgressSink(Some(p))
    }

    pub fn emit(&self, e: &RunEvent<'_>) {
        if let Some(p) = &self.0 {
            p.event(e);
        }
    }
}

/// Lines on standard error: `[  12.3s] fix-mean  coder #1  ok  2.1s  …`.
pub struct Terminal {
    started: Instant,
}

impl Terminal {
    pub fn new() -> Terminal {
        Terminal {
            started: Instant::now(),
        }
    }

    fn line(&self, text: &str) {
        let t = self.started.elapsed().as_secs_f64();
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "[{t:7.1}s] {text}");
    }
}

impl Default for Terminal {
    fn default() -> Self {
        Terminal::new()
    }
}

fn short(s: &str, max: usize) -> String {
    let s = s.lines().next().unwrap_or("");
    if s.chars().count() <= max {
        return s.to_string();
    }
    let cut: String = s.chars().take(max).collect();
    format!("{cut}…")
}

impl Progress for Terminal {
    fn event(&self, e: &RunEvent<'_>) {
        match e {
            RunEvent::Started { run_id, trust } => {
                self.line(&format!("run {run_id} started at trust {trust}"))
            }
            RunEvent::StepStarted {
                task_id,
                role,
                attempt,
            } => self.line(&format!("{task_id}  {role} #{attempt}  started")),
            RunEvent::Recorded {
                row,
                tokens,
                cost_usd,
            } => {
                let who = if row.kind == "role" {
                    format!("{} #{}", row.role, row.attempt)
                } else {
                    row.kind.clone()
                };
                let took = if row.kind == "role" {
                    format!("  {:.1}s", row.duration_ms as f64 / 1000.0)
                } else {
                    String::new()
                };
                self.line(&format!(
                    "{}  {who}  {}{took}  {}  [{tokens} tokens, ${cost_usd:.4}]",
                    row.task_id,
                    row.status,
                    short(&row.summary, 100)
                ));
            }
        }
    }
}
